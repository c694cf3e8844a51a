package auth_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	xdg "github.com/xdg-go/scram"
	"pgregory.net/rapid"

	"github.com/streamauth/streamauth/auth"
	"github.com/streamauth/streamauth/cluster"
	"github.com/streamauth/streamauth/keys"
	"github.com/streamauth/streamauth/store"
	"github.com/streamauth/streamauth/store/badgerstore"
	"github.com/streamauth/streamauth/store/memstore"
	"github.com/streamauth/streamauth/store/pebblestore"
)

// backends lists every store the property tests run on. A new backend is
// one line here. The durable ones run without sync: these tests are about
// the rules; the crash tests are about durability.
var backends = []struct {
	name string
	open func(dir string) (store.Store, error)
}{
	{"mem", func(string) (store.Store, error) { return memstore.New(), nil }},
	{"pebble", func(dir string) (store.Store, error) { return pebblestore.Open(dir, pebblestore.Options{NoSync: true}) }},
	{"badger", func(dir string) (store.Store, error) { return badgerstore.Open(dir, badgerstore.Options{NoSync: true}) }},
}

// TestRules checks rules 1–9 of DESIGN.md on every backend: a random history
// of creates, deletes, authentications, authorizations and SASL logins, run
// against the engine and against a plain model, with every rule checked
// after every step (and the slowest checks once, at the end of the history).
func TestRules(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			rapid.Check(t, func(rt *rapid.T) {
				dir, err := os.MkdirTemp(t.TempDir(), "")
				if err != nil {
					rt.Fatal(err)
				}
				st, err := be.open(dir)
				if err != nil {
					rt.Fatal(err)
				}
				defer os.RemoveAll(dir)
				m := newMachine(rt, st)
				defer m.close()
				rt.Repeat(m.actions())
				m.finalCheck(rt)
			})
		})
	}
}

// The model: plain records of what should exist.
type (
	mCluster struct {
		id      keys.ClusterID
		ws      int // index into machine.ws
		typ     cluster.Type
		name    string
		sasl    cluster.SASLPolicy
		deleted bool
	}
	mKey struct {
		id         keys.KeyID
		secret     string
		raw        []byte // the secret's 32 bytes, for rule 7
		kind       auth.Kind
		acct       int // index into machine.accts
		ws         int // index into machine.ws; -1 for account keys
		cluster    keys.ClusterID
		anyCluster bool
		expires    time.Time
		deleted    bool
	}
)

type machine struct {
	t     *rapid.T
	ctx   context.Context
	st    store.Store
	e     *auth.Engine
	now   time.Time
	accts []keys.AccountID
	ws    []keys.WorkspaceID
	wsAcc []int // account index of each workspace
	cls   []*mCluster
	keys  []*mKey
	creds []*mCred

	strayCluster keys.ClusterID            // a cluster id never created
	ghost        string                    // a well-formed username never issued
	scramClients map[[3]string]*xdg.Client // by mechanism, username, password
	badLogin     string                    // the error text of a failed login
}

var clusterNames = []string{"orders", "payments", "logs"}

func newMachine(t *rapid.T, st store.Store) *machine {
	m := &machine{t: t, ctx: context.Background(), st: st, now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		scramClients: map[[3]string]*xdg.Client{}}
	// RememberPlain stays at its default: a remembered PLAIN login must
	// fail once its credential is deleted.
	e, err := auth.New(m.ctx, st, auth.Options{Now: func() time.Time { return m.now }, PasswordHash: auth.CheapArgon2})
	if err != nil {
		t.Fatal(err)
	}
	m.e = e
	if m.strayCluster, err = keys.NewClusterID(); err != nil {
		t.Fatal(err)
	}
	ghost, err := keys.NewUsername()
	if err != nil {
		t.Fatal(err)
	}
	m.ghost = string(ghost)
	// Two accounts; three workspaces, two in the first account.
	for i := range 2 {
		a, err := e.CreateAccount(m.ctx, fmt.Sprintf("account %d", i))
		if err != nil {
			t.Fatal(err)
		}
		m.accts = append(m.accts, a.ID)
	}
	for i, acct := range []int{0, 0, 1} {
		w, err := e.CreateWorkspace(m.ctx, m.accts[acct], fmt.Sprintf("workspace %d", i))
		if err != nil {
			t.Fatal(err)
		}
		m.ws = append(m.ws, w.ID)
		m.wsAcc = append(m.wsAcc, acct)
	}
	return m
}

func (m *machine) close() { m.st.Close() }

func (m *machine) actions() map[string]func(*rapid.T) {
	return map[string]func(*rapid.T){
		"createCluster":    m.createCluster,
		"deleteCluster":    m.deleteCluster,
		"setSASL":          m.setSASL,
		"createAppKey":     m.createAppKey,
		"createAgentKey":   m.createAgentKey,
		"createAccountKey": m.createAccountKey,
		"deleteKey":        m.deleteKey,
		"advanceClock":     m.advanceClock,
		"authenticate":     m.authenticate,
		"authorizeAgent":   m.authorizeAgent,
		"authorizeAPI":     m.authorizeAPI,
		"createCredential": m.createCredential,
		"deleteCredential": m.deleteCredential,
		"plainLogin":       m.plainLogin,
		"scramLogin":       m.scramLogin,
		"":                 m.check,
	}
}

// --- actions ---

func (m *machine) createCluster(t *rapid.T) {
	w := rapid.IntRange(0, len(m.ws)-1).Draw(t, "ws")
	typ := rapid.SampledFrom([]cluster.Type{cluster.BYOC, cluster.Serverless, cluster.BYOCSchemaRegistry}).Draw(t, "type")
	name := rapid.SampledFrom(clusterNames).Draw(t, "name")
	// Zero: the type's default; 3 is no policy at all.
	sasl := rapid.SampledFrom([]cluster.SASLPolicy{0, 0, cluster.SASLOff, cluster.SASLRequired, 3}).Draw(t, "sasl")
	got, err := m.e.CreateCluster(m.ctx, m.ws[w], auth.ClusterSpec{Name: name, Type: typ, SASL: sasl})
	if sasl == 3 || (sasl == cluster.SASLOff && !typ.IsBYOC()) { // rule 9
		m.expect("CreateCluster with an invalid SASL policy", err, auth.ErrInvalidArgument)
		return
	}
	if slices.ContainsFunc(m.cls, func(c *mCluster) bool { return !c.deleted && c.ws == w && c.name == name }) {
		if !errors.Is(err, auth.ErrAlreadyExists) {
			t.Fatalf("duplicate cluster name: got %v, want ErrAlreadyExists", err)
		}
		return
	}
	if err != nil {
		t.Fatalf("CreateCluster: %v", err)
	}
	wantSASL := sasl
	if sasl == 0 { // rule 9: off by default for BYOC, required for serverless
		wantSASL = cluster.SASLRequired
		if typ.IsBYOC() {
			wantSASL = cluster.SASLOff
		}
	}
	c := &mCluster{id: got.Cluster.ID, ws: w, typ: typ, name: name, sasl: wantSASL}
	m.cls = append(m.cls, c)
	if got.Cluster.SASL != wantSASL || got.Cluster.Workspace != m.ws[w] || got.Cluster.Account != m.accts[m.wsAcc[w]] {
		t.Fatalf("CreateCluster returned %+v", got.Cluster)
	}
	// Rule 3: exactly one agent key for BYOC, none for serverless.
	if !typ.IsBYOC() {
		if got.AgentKey != nil {
			t.Fatalf("serverless cluster came with an agent key")
		}
		return
	}
	if got.AgentKey == nil {
		t.Fatalf("BYOC cluster came without an agent key")
	}
	k := got.AgentKey
	if k.Key.Grant != (auth.Grant{Workspace: m.ws[w], Principal: auth.KindAgent, Resource: auth.VirtualCluster, ResourceID: c.id.String()}) {
		t.Fatalf("agent key grant %+v", k.Key.Grant)
	}
	m.addKey(k, auth.KindAgent, m.wsAcc[w], w, c.id, false, time.Time{})
}

func (m *machine) deleteCluster(t *rapid.T) {
	c, ok := m.pickCluster(t)
	if !ok {
		return
	}
	err := m.e.DeleteCluster(m.ctx, c.id)
	if c.deleted {
		if !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("DeleteCluster of a deleted cluster: got %v, want ErrNotFound", err)
		}
		return
	}
	if err != nil {
		t.Fatalf("DeleteCluster: %v", err)
	}
	c.deleted = true
	for _, k := range m.keys {
		if k.cluster == c.id {
			k.deleted = true // rule 6: its agent keys go with it
		}
	}
	for _, cr := range m.creds {
		if cr.cl == c && !cr.deleted {
			cr.deleted = true // and its credentials, remembered logins and all
			m.checkPlain("PLAIN login of a deleted cluster's credential", c.id, cr.username, cr.password, false, nil)
		}
	}
}

func (m *machine) setSASL(t *rapid.T) {
	c, ok := m.pickCluster(t)
	if !ok {
		return
	}
	p := rapid.SampledFrom([]cluster.SASLPolicy{cluster.SASLOff, cluster.SASLRequired, 0, 3}).Draw(t, "policy")
	got, err := m.e.SetClusterSASL(m.ctx, c.id, p)
	switch {
	case c.deleted:
		if !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("SetClusterSASL on a deleted cluster: got %v", err)
		}
	case !p.Valid():
		if !errors.Is(err, auth.ErrInvalidArgument) {
			t.Fatalf("SetClusterSASL to policy %d: got %v, want ErrInvalidArgument", p, err)
		}
	case !c.typ.IsBYOC() && p == cluster.SASLOff: // rule 9: serverless always requires SASL
		if !errors.Is(err, auth.ErrInvalidArgument) {
			t.Fatalf("SASL off on serverless: got %v, want ErrInvalidArgument", err)
		}
	case err != nil:
		t.Fatalf("SetClusterSASL: %v", err)
	case got.SASL != p:
		t.Fatalf("SetClusterSASL returned policy %v, want %v", got.SASL, p)
	default:
		c.sasl = p
	}
}

func (m *machine) drawExpiry(t *rapid.T) time.Time {
	if rapid.Bool().Draw(t, "expires") {
		return m.now.Add(time.Duration(rapid.IntRange(1, 120).Draw(t, "ttlMinutes")) * time.Minute)
	}
	return time.Time{}
}

func (m *machine) createAppKey(t *rapid.T) {
	w := rapid.IntRange(0, len(m.ws)-1).Draw(t, "ws")
	exp := m.drawExpiry(t)
	k, err := m.e.CreateApplicationKey(m.ctx, m.ws[w], "akn_app", exp)
	if err != nil {
		t.Fatalf("CreateApplicationKey: %v", err)
	}
	m.addKey(&k, auth.KindApplication, m.wsAcc[w], w, keys.ClusterID{}, false, exp)
}

func (m *machine) createAgentKey(t *rapid.T) {
	w := rapid.IntRange(0, len(m.ws)-1).Draw(t, "ws")
	exp := m.drawExpiry(t)
	if rapid.Bool().Draw(t, "anyCluster") {
		k, err := m.e.CreateKey(m.ctx, auth.KeySpec{
			Name:      "akn_fleet",
			Grant:     auth.Grant{Workspace: m.ws[w], Principal: auth.KindAgent, Resource: auth.VirtualCluster, ResourceID: auth.AnyID},
			ExpiresAt: exp,
		})
		if err != nil {
			t.Fatalf("CreateKey(agent, *): %v", err)
		}
		m.addKey(&k, auth.KindAgent, m.wsAcc[w], w, keys.ClusterID{}, true, exp)
		return
	}
	c, ok := m.pickCluster(t)
	if !ok {
		return
	}
	k, err := m.e.CreateAgentKey(m.ctx, m.ws[w], c.id, "akn_agent2", exp)
	switch {
	case c.deleted || c.ws != w: // rule 1: the cluster must exist in the key's workspace
		if !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("agent key for a cluster not in the workspace: got %v, want ErrNotFound", err)
		}
	case !c.typ.IsBYOC(): // rule 2
		if !errors.Is(err, auth.ErrUnsupported) {
			t.Fatalf("agent key for a serverless cluster: got %v, want ErrUnsupported", err)
		}
	case err != nil:
		t.Fatalf("CreateAgentKey: %v", err)
	default:
		m.addKey(&k, auth.KindAgent, m.wsAcc[w], w, c.id, false, exp)
	}
}

func (m *machine) createAccountKey(t *rapid.T) {
	a := rapid.IntRange(0, len(m.accts)-1).Draw(t, "acct")
	exp := m.drawExpiry(t)
	k, err := m.e.CreateAccountKey(m.ctx, m.accts[a], "akn_ops", exp)
	if err != nil {
		t.Fatalf("CreateAccountKey: %v", err)
	}
	m.addKey(&k, auth.KindAccount, a, -1, keys.ClusterID{}, false, exp)
}

func (m *machine) deleteKey(t *rapid.T) {
	k, ok := m.pickKey(t)
	if !ok {
		return
	}
	err := m.e.DeleteKey(m.ctx, k.id)
	if k.deleted {
		if !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("DeleteKey of a deleted key: got %v, want ErrNotFound", err)
		}
		return
	}
	if err != nil {
		t.Fatalf("DeleteKey: %v", err)
	}
	k.deleted = true
	// Rule 6: refused as soon as DeleteKey returns.
	if _, err := m.e.Authenticate(m.ctx, k.secret); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Fatalf("revoked key: got %v, want ErrUnauthenticated", err)
	}
}

func (m *machine) advanceClock(t *rapid.T) {
	m.now = m.now.Add(time.Duration(rapid.IntRange(1, 90).Draw(t, "minutes")) * time.Minute)
}

func (m *machine) authenticate(t *rapid.T) {
	switch rapid.IntRange(0, 3).Draw(t, "secretKind") {
	case 0: // an issued key
		k, ok := m.pickKey(t)
		if ok {
			m.checkAuthenticate(k)
		}
	case 1: // a well-formed secret never issued
		s, err := keys.NewSecret()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.e.Authenticate(m.ctx, s.Reveal()); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Fatalf("unknown secret: got %v", err)
		}
	default: // an issued key with one character changed
		k, ok := m.pickKey(t)
		if !ok {
			return
		}
		i := rapid.IntRange(0, len(k.secret)-1).Draw(t, "pos")
		b := []byte(k.secret)
		b[i] ^= byte(rapid.IntRange(1, 127).Draw(t, "xor"))
		_, err := m.e.Authenticate(m.ctx, string(b))
		if !errors.Is(err, auth.ErrUnauthenticated) {
			t.Fatalf("mutated secret: got %v, want ErrUnauthenticated", err)
		}
	}
}

func (m *machine) authorizeAgent(t *rapid.T) {
	k, ok := m.pickKey(t)
	if !ok {
		return
	}
	if c, ok := m.pickCluster(t); ok {
		m.checkAgent(k, c)
	}
}

// checkAgent checks rules 1, 2 and 5 for one key on one cluster.
func (m *machine) checkAgent(k *mKey, c *mCluster) {
	_, err := m.e.AuthenticateAgent(m.ctx, k.secret, c.id)
	var want error
	switch {
	case !m.live(k):
		want = auth.ErrUnauthenticated
	case k.kind != auth.KindAgent, // rule 5
		c.deleted, c.ws != k.ws, !c.typ.IsBYOC(), // rules 1 and 2
		!k.anyCluster && k.cluster != c.id:
		want = auth.ErrPermissionDenied
	}
	m.expect("AuthenticateAgent", err, want)
}

func (m *machine) authorizeAPI(t *rapid.T) {
	k, ok := m.pickKey(t)
	if !ok {
		return
	}
	switch rapid.IntRange(0, 2).Draw(t, "target") {
	case 0:
		m.checkAPI(k, m.accountTarget(rapid.IntRange(0, len(m.accts)-1).Draw(t, "acct")))
	case 1:
		m.checkAPI(k, m.workspaceTarget(rapid.IntRange(0, len(m.ws)-1).Draw(t, "ws")))
	default:
		if c, ok := m.pickCluster(t); ok {
			m.checkAPI(k, m.clusterTarget(c))
		}
	}
}

// apiTarget is a public-API target with the model's view of it.
type apiTarget struct {
	target auth.Target
	acct   int  // the target's account
	ws     int  // the target's workspace; -1 for an account-level action
	exists bool // false for a deleted cluster
}

func (m *machine) accountTarget(a int) apiTarget {
	return apiTarget{target: auth.Target{Account: m.accts[a]}, acct: a, ws: -1, exists: true}
}

func (m *machine) workspaceTarget(w int) apiTarget {
	return apiTarget{target: auth.Target{Workspace: m.ws[w]}, acct: m.wsAcc[w], ws: w, exists: true}
}

func (m *machine) clusterTarget(c *mCluster) apiTarget {
	return apiTarget{target: auth.Target{Cluster: c.id}, acct: m.wsAcc[c.ws], ws: c.ws, exists: !c.deleted}
}

// checkAPI checks rules 4 and 5 for one key on one public-API target.
func (m *machine) checkAPI(k *mKey, t apiTarget) {
	_, err := m.e.AuthenticateAPI(m.ctx, k.secret, t.target)
	var want error
	switch {
	case !m.live(k):
		want = auth.ErrUnauthenticated
	case !t.exists, k.kind == auth.KindAgent: // rule 5
		want = auth.ErrPermissionDenied
	case k.kind == auth.KindApplication && (t.ws < 0 || t.ws != k.ws): // rule 4
		want = auth.ErrPermissionDenied
	case k.kind == auth.KindAccount && t.acct != k.acct: // rule 4
		want = auth.ErrPermissionDenied
	}
	m.expect("AuthenticateAPI", err, want)
}

// --- invariants, after every step ---

func (m *machine) check(t *rapid.T) {
	for _, k := range m.keys {
		m.checkAuthenticate(k) // rule 6: exactly the live keys authenticate
		for _, c := range m.cls {
			m.checkAgent(k, c)
			m.checkAPI(k, m.clusterTarget(c))
		}
		for a := range m.accts {
			m.checkAPI(k, m.accountTarget(a))
		}
		for w := range m.ws {
			m.checkAPI(k, m.workspaceTarget(w))
		}
	}
	m.checkListings(t)
	m.checkCredentials(t)    // rules 6, 8 and 9
	m.checkNoSecretStored(t) // rule 7
}

func (m *machine) checkAuthenticate(k *mKey) {
	p, err := m.e.Authenticate(m.ctx, k.secret)
	if !m.live(k) {
		m.expect("Authenticate of a revoked or expired key", err, auth.ErrUnauthenticated)
		return
	}
	if err != nil {
		m.t.Fatalf("Authenticate of a live key: %v", err)
	}
	want := auth.Principal{Key: k.id, Kind: k.kind, Account: m.accts[k.acct], Cluster: k.cluster, AnyCluster: k.anyCluster, ExpiresAt: k.expires}
	if k.ws >= 0 {
		want.Workspace = m.ws[k.ws]
	}
	if p != want {
		m.t.Fatalf("principal %+v, want %+v", p, want)
	}
}

func (m *machine) checkListings(t *rapid.T) {
	for w, wsID := range m.ws {
		cs, err := m.e.ListClusters(m.ctx, wsID)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, c := range m.cls {
			if !c.deleted && c.ws == w {
				want = append(want, c.id.String()+" "+c.typ.String()+" "+c.name+" "+c.sasl.String())
			}
		}
		got := make([]string, 0, len(cs))
		for _, c := range cs {
			got = append(got, c.ID.String()+" "+c.Type.String()+" "+c.Name+" "+c.SASL.String())
		}
		m.diff("ListClusters", got, want)
		m.diffKeys(auth.KeyFilter{Workspace: wsID}, func(k *mKey) bool { return k.ws == w })
		m.diffKeys(auth.KeyFilter{Workspace: wsID, Kind: auth.KindAgent}, func(k *mKey) bool { return k.ws == w && k.kind == auth.KindAgent })
	}
	for a, acctID := range m.accts {
		m.diffKeys(auth.KeyFilter{Account: acctID}, func(k *mKey) bool { return k.kind == auth.KindAccount && k.acct == a })
	}
	for _, c := range m.cls {
		if c.deleted {
			continue
		}
		m.diffKeys(auth.KeyFilter{Cluster: c.id}, func(k *mKey) bool { return k.cluster == c.id })
	}
}

// diffKeys compares ListKeys with the model's undeleted keys that match.
// Expired keys are still listed: expiry refuses a key, it does not delete it.
func (m *machine) diffKeys(f auth.KeyFilter, match func(*mKey) bool) {
	ks, err := m.e.ListKeys(m.ctx, f)
	if err != nil {
		m.t.Fatalf("ListKeys(%+v): %v", f, err)
	}
	got := make([]string, 0, len(ks))
	for _, k := range ks {
		got = append(got, k.ID.String()+" "+k.Grant.Principal.String()+" "+k.Grant.ResourceID)
	}
	var want []string
	for _, k := range m.keys {
		if !k.deleted && match(k) {
			rid := auth.AnyID
			if !k.cluster.IsZero() {
				rid = k.cluster.String()
			}
			want = append(want, k.id.String()+" "+k.kind.String()+" "+rid)
		}
	}
	m.diff(fmt.Sprintf("ListKeys(%+v)", f), got, want)
}

func (m *machine) diff(what string, got, want []string) {
	slices.Sort(want) // listings are ordered by id; ids print in byte order
	if want == nil {
		want = []string{}
	}
	if d := cmp.Diff(want, got); d != "" {
		m.t.Fatalf("%s mismatch (-want +got):\n%s", what, d)
	}
}

// checkNoSecretStored checks rule 7: no stored key or value holds a
// secret or a password, as text or as its random bytes.
func (m *machine) checkNoSecretStored(t *rapid.T) {
	err := m.st.Scan(m.ctx, nil, func(k, v []byte) error {
		for _, key := range m.keys {
			for _, needle := range [][]byte{[]byte(key.secret), []byte(key.secret[len(keys.SecretPrefix):]), key.raw} {
				if bytes.Contains(k, needle) || bytes.Contains(v, needle) {
					return fmt.Errorf("store holds secret material of key %s", key.id)
				}
			}
		}
		for _, cr := range m.creds {
			needles := [][]byte{[]byte(cr.password)}
			if cr.raw != nil { // generated: its hex digits and its bytes too
				needles = append(needles, []byte(cr.password[len(keys.PasswordPrefix):]), cr.raw)
			}
			for _, needle := range needles {
				if bytes.Contains(k, needle) || bytes.Contains(v, needle) {
					return fmt.Errorf("store holds the password of credential %s", cr.id)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// --- helpers ---

func (m *machine) addKey(k *auth.IssuedKey, kind auth.Kind, acct, ws int, c keys.ClusterID, any bool, exp time.Time) {
	secret := k.Secret.Reveal()
	raw, err := hex.DecodeString(secret[len(keys.SecretPrefix):])
	if err != nil {
		m.t.Fatal(err)
	}
	if k.Key.Grant.Principal != kind || k.Key.Account != m.accts[acct] || !k.Key.ExpiresAt.Equal(exp) {
		m.t.Fatalf("issued key metadata %+v", k.Key)
	}
	m.keys = append(m.keys, &mKey{id: k.Key.ID, secret: secret, raw: raw, kind: kind, acct: acct, ws: ws, cluster: c, anyCluster: any, expires: exp})
}

func (m *machine) live(k *mKey) bool {
	return !k.deleted && (k.expires.IsZero() || m.now.Before(k.expires))
}

func (m *machine) pickCluster(t *rapid.T) (*mCluster, bool) {
	if len(m.cls) == 0 {
		return nil, false
	}
	return m.cls[rapid.IntRange(0, len(m.cls)-1).Draw(t, "cluster")], true
}

func (m *machine) pickKey(t *rapid.T) (*mKey, bool) {
	if len(m.keys) == 0 {
		return nil, false
	}
	return m.keys[rapid.IntRange(0, len(m.keys)-1).Draw(t, "key")], true
}

// expect fails unless err matches want (nil: no error), and checks that the
// two refusals never both match.
func (m *machine) expect(what string, err, want error) {
	m.t.Helper()
	if errors.Is(err, auth.ErrUnauthenticated) && errors.Is(err, auth.ErrPermissionDenied) {
		m.t.Fatalf("%s: %v matches both ErrUnauthenticated and ErrPermissionDenied", what, err)
	}
	if want == nil {
		if err != nil {
			m.t.Fatalf("%s: unexpected error %v", what, err)
		}
		return
	}
	if !errors.Is(err, want) {
		m.t.Fatalf("%s: got %v, want %v", what, err, want)
	}
}
