package auth_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/streamauth/streamauth/auth"
	"github.com/streamauth/streamauth/cluster"
	"github.com/streamauth/streamauth/keys"
	"github.com/streamauth/streamauth/store"
)

// Bounds of the drawn histories of TestSnapshotProperty: kept short so that
// the default 100 checks, each applying two snapshots on three backends,
// run in well under 30 s on two shared cores.
const (
	spMaxOpsBefore = 20 // operations before the first export
	spMaxOpsAfter  = 15 // operations between the first and second export
)

// SCRAM logins are checked for at most two live credentials per check of
// an agent (the oldest and the newest, with both mechanisms), and one
// refused SCRAM-SHA-256 login: the client side of each costs a PBKDF2 of
// 4096 iterations. PLAIN, cheap here, covers every credential.

// TestSnapshotProperty: on a control plane, a random history of clusters,
// agent, application and account keys, credentials, deletions and SASL
// policy changes; then a live BYOC cluster X is exported and its snapshot
// applied on an agent of X over a fresh store of every backend. Each agent
// must answer exactly as the control plane stood at the export:
//
//   - an agent key live at export, bound to X or workspace-wide in X's
//     workspace, authenticates with its principal;
//   - a live agent key bound to another cluster of X's workspace is
//     ErrPermissionDenied;
//   - every other secret ever issued (deleted keys, application and
//     account keys, agent keys of another workspace) is ErrUnauthenticated;
//   - every credential of X live at export logs in with PLAIN and both
//     SCRAMs (SCRAM for the oldest and newest only); every other credential
//     ever issued fails PLAIN with ErrUnauthenticated (and one of them
//     SCRAM-SHA-256 too);
//   - AllowUnauthenticated is X's SASL policy at export being off.
//
// The history then goes on (deleting things live at the first export
// among others), X is exported again and the second snapshot applied on
// the same agents, which have by then logged in with PLAIN every
// credential of the first (so remembered logins must go) and authenticated
// every key: the property must hold for the second export. Applying the
// first snapshot again is ErrSnapshotRollback and changes nothing.
func TestSnapshotProperty(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	rapid.Check(t, func(rt *rapid.T) {
		h := newSnapHistory(rt, priv)
		defer h.st.Close()
		h.setup(rt)
		h.run(rt, "before", rapid.IntRange(0, spMaxOpsBefore).Draw(rt, "opsBefore"), nil)
		x := h.pickX(rt)
		exp1 := h.export(rt, x)

		agents := make([]*spAgent, 0, len(backends))
		for _, be := range backends {
			dir, err := os.MkdirTemp(root, be.name)
			if err != nil {
				rt.Fatal(err)
			}
			defer os.RemoveAll(dir)
			s, err := be.open(dir)
			if err != nil {
				rt.Fatalf("%s: open: %v", be.name, err)
			}
			defer s.Close()
			ag, err := auth.NewAgent(h.ctx, s, auth.AgentOptions{
				Cluster: x.id,
				Trusted: []ed25519.PublicKey{pub},
				Engine:  auth.Options{PasswordHash: auth.CheapArgon2, Now: func() time.Time { return h.now }},
			})
			if err != nil {
				rt.Fatalf("%s: NewAgent: %v", be.name, err)
			}
			agents = append(agents, &spAgent{name: be.name, ag: ag})
		}

		for _, a := range agents {
			if err := a.ag.Apply(h.ctx, exp1.snap); err != nil {
				rt.Fatalf("%s: apply of the first export: %v", a.name, err)
			}
			h.check(rt, a, exp1, "first export")
		}

		// The history goes on; X stays (the agents serve it).
		h.now = h.now.Add(time.Minute) // well within RememberPlain's 5 minutes
		h.run(rt, "after", rapid.IntRange(1, spMaxOpsAfter).Draw(rt, "opsAfter"), x)
		// The agents still serve the first snapshot, and remember a PLAIN
		// login of each of its credentials, deleted since or not.
		for _, a := range agents {
			for _, c := range exp1.creds {
				if c.ok {
					if _, err := a.ag.AuthenticatePlain(h.ctx, plainMsg(c.c.issued)); err != nil {
						rt.Fatalf("%s: PLAIN of %s before the second apply: %v", a.name, c.c, err)
					}
				}
			}
		}
		exp2 := h.export(rt, x)
		for _, a := range agents {
			if err := a.ag.Apply(h.ctx, exp2.snap); err != nil {
				rt.Fatalf("%s: apply of the second export: %v", a.name, err)
			}
			h.check(rt, a, exp2, "second export")
		}
		for _, a := range agents {
			if err := a.ag.Apply(h.ctx, exp1.snap); !errors.Is(err, auth.ErrSnapshotRollback) {
				rt.Fatalf("%s: first export applied after the second: %v, want ErrSnapshotRollback", a.name, err)
			}
			h.check(rt, a, exp2, "second export, after a refused rollback")
		}
	})
}

// The model of the control plane's history.
type (
	spCluster struct {
		id      keys.ClusterID
		name    string
		ws      int // index into spHistory.ws
		typ     cluster.Type
		sasl    cluster.SASLPolicy
		deleted bool
	}
	spKey struct {
		id      keys.KeyID
		secret  string
		kind    auth.Kind
		acct    int            // index into spHistory.accts
		ws      int            // index into spHistory.ws; -1 for an account key
		cluster keys.ClusterID // an agent key's one cluster; zero otherwise
		any     bool           // an agent key of every BYOC cluster of its workspace
		deleted bool
	}
	spCred struct {
		issued   auth.IssuedCredential
		cl       *spCluster
		imported bool
		deleted  bool
	}
)

func (k *spKey) String() string {
	state := "live"
	if k.deleted {
		state = "deleted"
	}
	scope := "bound to " + k.cluster.String()
	if k.any {
		scope = "workspace-wide"
	}
	if k.kind != auth.KindAgent {
		scope = ""
	}
	return fmt.Sprintf("%s %s key %s of workspace %d %s", state, k.kind, k.id, k.ws, scope)
}

func (c *spCred) String() string {
	state := "live"
	if c.deleted {
		state = "deleted"
	}
	how := "generated"
	if c.imported {
		how = "imported"
	}
	return fmt.Sprintf("%s credential %s (%s password) of cluster %s", state, c.issued.Credential.ID, how, c.cl.id)
}

type spHistory struct {
	ctx     context.Context
	st      store.Store
	cp      *auth.Engine
	now     time.Time
	priv    ed25519.PrivateKey
	accts   []keys.AccountID
	ws      []keys.WorkspaceID
	wsAcct  []int
	cls     []*spCluster
	keys    []*spKey
	creds   []*spCred
	named   int        // clusters named so far: names are unique
	favored *spCluster // a BYOC cluster of the setup, given more credentials
	// exports of X so far: the version of the next is one more
	exports uint64
}

func newSnapHistory(t *rapid.T, priv ed25519.PrivateKey) *spHistory {
	h := &spHistory{ctx: context.Background(), now: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), priv: priv}
	s, err := backends[0].open("") // memstore
	if err != nil {
		t.Fatal(err)
	}
	if !store.IsInMemory(s) {
		t.Fatalf("backends[0] is not the memory store")
	}
	h.st = s
	h.cp, err = auth.New(h.ctx, s, auth.Options{PasswordHash: auth.CheapArgon2, Now: func() time.Time { return h.now }})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// setup creates one or two workspaces (the second in the same account or
// another), 1 to 3 BYOC clusters and maybe a serverless one.
func (h *spHistory) setup(t *rapid.T) {
	h.accts = append(h.accts, must(h.cp.CreateAccount(h.ctx, "acme")).ID)
	nws := rapid.IntRange(1, 2).Draw(t, "workspaces")
	for i := range nws {
		a := 0
		if i > 0 && rapid.Bool().Draw(t, "otherAccount") {
			h.accts = append(h.accts, must(h.cp.CreateAccount(h.ctx, "globex")).ID)
			a = 1
		}
		h.ws = append(h.ws, must(h.cp.CreateWorkspace(h.ctx, h.accts[a], fmt.Sprintf("ws%d", i))).ID)
		h.wsAcct = append(h.wsAcct, a)
	}
	var byoc []*spCluster
	for range rapid.IntRange(1, 3).Draw(t, "byocClusters") {
		byoc = append(byoc, h.createCluster(t, rapid.SampledFrom([]cluster.Type{cluster.BYOC, cluster.BYOC, cluster.BYOCSchemaRegistry}).Draw(t, "type")))
	}
	h.favored = rapid.SampledFrom(byoc).Draw(t, "favored")
	if rapid.Bool().Draw(t, "serverless") {
		h.createCluster(t, cluster.Serverless)
	}
}

var spOps = []string{
	"createBYOC", "createServerless", "deleteCluster", "setSASL",
	"createAgentKey", "createAnyAgentKey", "createAppKey", "createAccountKey", "deleteKey",
	"createCredential", "createCredential", "createCredential", "deleteCredential", "deleteCredential",
}

// spOpsKeep adds, once X is chosen, operations on X itself: its
// credentials and keys, and deletions of what its first export holds.
var spOpsKeep = append([]string{"createCredentialX", "deleteCredentialX", "deleteCredentialX", "deleteAgentKeyX"}, spOps...)

// spOpsFavored adds, before X is chosen, credentials and agent keys of one
// BYOC cluster of the setup, so that X (often that one) has some.
var spOpsFavored = append([]string{"createCredentialF", "createCredentialF", "createAgentKeyF"}, spOps...)

// run draws and runs n operations; keep, if not nil, is never deleted.
func (h *spHistory) run(t *rapid.T, label string, n int, keep *spCluster) {
	ops := spOpsFavored
	if keep != nil {
		ops = spOpsKeep
	}
	for range n {
		switch op := rapid.SampledFrom(ops).Draw(t, label); op {
		case "createCredentialF":
			if !h.favored.deleted {
				h.createCredential(t, h.favored)
			}
		case "createAgentKeyF":
			if c := h.favored; !c.deleted {
				k := must(h.cp.CreateAgentKey(h.ctx, h.ws[c.ws], c.id, "akn_agent2", time.Time{}))
				h.addKey(t, k, auth.KindAgent, c.ws, c.id, false)
			}
		case "createCredentialX":
			h.createCredential(t, keep)
		case "deleteCredentialX":
			h.deleteCredential(t, func(c *spCred) bool { return c.cl == keep })
		case "deleteAgentKeyX":
			h.deleteKey(t, func(k *spKey) bool { return k.kind == auth.KindAgent && k.ws == keep.ws })
		case "createBYOC":
			h.createCluster(t, rapid.SampledFrom([]cluster.Type{cluster.BYOC, cluster.BYOCSchemaRegistry}).Draw(t, "type"))
		case "createServerless":
			h.createCluster(t, cluster.Serverless)
		case "deleteCluster":
			c, ok := h.pickCluster(t, func(c *spCluster) bool { return c != keep })
			if !ok {
				continue
			}
			if err := h.cp.DeleteCluster(h.ctx, c.id); err != nil {
				t.Fatalf("DeleteCluster: %v", err)
			}
			c.deleted = true
			for _, k := range h.keys {
				if k.cluster == c.id {
					k.deleted = true
				}
			}
			for _, cr := range h.creds {
				if cr.cl == c {
					cr.deleted = true
				}
			}
		case "setSASL":
			c, ok := h.pickCluster(t, func(c *spCluster) bool { return c.typ.IsBYOC() })
			if !ok {
				continue
			}
			p := rapid.SampledFrom([]cluster.SASLPolicy{cluster.SASLOff, cluster.SASLRequired}).Draw(t, "policy")
			if _, err := h.cp.SetClusterSASL(h.ctx, c.id, p); err != nil {
				t.Fatalf("SetClusterSASL: %v", err)
			}
			c.sasl = p
		case "createAgentKey":
			c, ok := h.pickCluster(t, func(c *spCluster) bool { return c.typ.IsBYOC() })
			if !ok {
				continue
			}
			k := must(h.cp.CreateAgentKey(h.ctx, h.ws[c.ws], c.id, "akn_agent2", time.Time{}))
			h.addKey(t, k, auth.KindAgent, c.ws, c.id, false)
		case "createAnyAgentKey":
			w := rapid.IntRange(0, len(h.ws)-1).Draw(t, "ws")
			k := must(h.cp.CreateKey(h.ctx, auth.KeySpec{Name: "akn_fleet",
				Grant: auth.Grant{Workspace: h.ws[w], Principal: auth.KindAgent, Resource: auth.VirtualCluster, ResourceID: auth.AnyID}}))
			h.addKey(t, k, auth.KindAgent, w, keys.ClusterID{}, true)
		case "createAppKey":
			w := rapid.IntRange(0, len(h.ws)-1).Draw(t, "ws")
			h.addKey(t, must(h.cp.CreateApplicationKey(h.ctx, h.ws[w], "akn_app", time.Time{})), auth.KindApplication, w, keys.ClusterID{}, false)
		case "createAccountKey":
			a := rapid.IntRange(0, len(h.accts)-1).Draw(t, "acct")
			k := must(h.cp.CreateAccountKey(h.ctx, h.accts[a], "akn_ops", time.Time{}))
			h.keys = append(h.keys, &spKey{id: k.Key.ID, secret: k.Secret.Reveal(), kind: auth.KindAccount, acct: a, ws: -1})
		case "deleteKey":
			h.deleteKey(t, func(*spKey) bool { return true })
		case "createCredential":
			if c, ok := h.pickCluster(t, func(*spCluster) bool { return true }); ok {
				h.createCredential(t, c)
			}
		case "deleteCredential":
			h.deleteCredential(t, func(*spCred) bool { return true })
		default:
			t.Fatalf("unknown operation %q", op)
		}
	}
}

// deleteKey deletes a drawn live key that ok accepts, if any.
func (h *spHistory) deleteKey(t *rapid.T, ok func(*spKey) bool) {
	var live []*spKey
	for _, k := range h.keys {
		if !k.deleted && ok(k) {
			live = append(live, k)
		}
	}
	if len(live) == 0 {
		return
	}
	k := rapid.SampledFrom(live).Draw(t, "key")
	if err := h.cp.DeleteKey(h.ctx, k.id); err != nil {
		t.Fatalf("DeleteKey: %v", err)
	}
	k.deleted = true
}

// createCredential creates a credential of c, with a generated or an
// imported password.
func (h *spHistory) createCredential(t *rapid.T, c *spCluster) {
	spec := auth.CredentialSpec{Name: "app", Superuser: rapid.Bool().Draw(t, "superuser")}
	imported := rapid.Bool().Draw(t, "imported")
	if imported {
		spec.Password = must(keys.ImportPassword(drawPassword(t, "password")))
	}
	ic := must(h.cp.CreateCredential(h.ctx, c.id, spec))
	h.creds = append(h.creds, &spCred{issued: ic, cl: c, imported: imported})
}

// deleteCredential deletes a drawn live credential that ok accepts, if
// any.
func (h *spHistory) deleteCredential(t *rapid.T, ok func(*spCred) bool) {
	var live []*spCred
	for _, cr := range h.creds {
		if !cr.deleted && ok(cr) {
			live = append(live, cr)
		}
	}
	if len(live) == 0 {
		return
	}
	cr := rapid.SampledFrom(live).Draw(t, "credential")
	if err := h.cp.DeleteCredential(h.ctx, cr.issued.Credential.ID); err != nil {
		t.Fatalf("DeleteCredential: %v", err)
	}
	cr.deleted = true
}

func (h *spHistory) createCluster(t *rapid.T, typ cluster.Type) *spCluster {
	w := rapid.IntRange(0, len(h.ws)-1).Draw(t, "ws")
	sasl := typ.DefaultSASL()
	if typ.IsBYOC() {
		sasl = rapid.SampledFrom([]cluster.SASLPolicy{0, cluster.SASLOff, cluster.SASLRequired}).Draw(t, "sasl")
	}
	name := fmt.Sprintf("c%d", h.named)
	h.named++
	cc := must(h.cp.CreateCluster(h.ctx, h.ws[w], auth.ClusterSpec{Name: name, Type: typ, SASL: sasl}))
	if sasl == 0 {
		sasl = typ.DefaultSASL()
	}
	c := &spCluster{id: cc.Cluster.ID, name: name, ws: w, typ: typ, sasl: sasl}
	h.cls = append(h.cls, c)
	if cc.AgentKey != nil {
		h.addKey(t, *cc.AgentKey, auth.KindAgent, w, c.id, false)
	}
	return c
}

func (h *spHistory) addKey(t *rapid.T, k auth.IssuedKey, kind auth.Kind, ws int, cl keys.ClusterID, anyCluster bool) {
	if k.Key.Grant.Principal != kind {
		t.Fatalf("issued a %v key, want %v", k.Key.Grant.Principal, kind)
	}
	h.keys = append(h.keys, &spKey{id: k.Key.ID, secret: k.Secret.Reveal(), kind: kind, acct: h.wsAcct[ws], ws: ws, cluster: cl, any: anyCluster})
}

// pickCluster draws a live cluster that ok accepts.
func (h *spHistory) pickCluster(t *rapid.T, ok func(*spCluster) bool) (*spCluster, bool) {
	var cs []*spCluster
	for _, c := range h.cls {
		if !c.deleted && ok(c) {
			cs = append(cs, c)
		}
	}
	if len(cs) == 0 {
		return nil, false
	}
	return rapid.SampledFrom(cs).Draw(t, "cluster"), true
}

// pickX draws the live BYOC cluster to export, creating one if the history
// deleted them all.
func (h *spHistory) pickX(t *rapid.T) *spCluster {
	if c, ok := h.pickCluster(t, func(c *spCluster) bool { return c.typ.IsBYOC() }); ok {
		return c
	}
	return h.createCluster(t, cluster.BYOC)
}

// spExport is an export of X with what an agent of X must answer for it.
type spExport struct {
	snap      []byte
	x         *spCluster
	version   uint64
	allowAnon bool
	keys      []spKeyWant  // every key issued so far
	creds     []spCredWant // every credential issued so far
}

type spKeyWant struct {
	k    *spKey
	want error // nil: authenticates as p
	p    auth.Principal
}

type spCredWant struct {
	c  *spCred
	ok bool
}

func (h *spHistory) export(t *rapid.T, x *spCluster) *spExport {
	snap, err := h.cp.ExportSnapshot(h.ctx, x.id, h.priv, time.Hour)
	if err != nil {
		t.Fatalf("ExportSnapshot: %v", err)
	}
	h.exports++
	e := &spExport{snap: snap, x: x, version: h.exports, allowAnon: x.sasl.AllowsUnauthenticated()}
	for _, k := range h.keys {
		w := spKeyWant{k: k}
		switch {
		case k.deleted, k.kind != auth.KindAgent, k.ws != x.ws:
			w.want = auth.ErrUnauthenticated
		case !k.any && k.cluster != x.id:
			w.want = auth.ErrPermissionDenied
		default:
			w.p = auth.Principal{Key: k.id, Kind: auth.KindAgent, Account: h.accts[k.acct], Workspace: h.ws[k.ws], Cluster: k.cluster, AnyCluster: k.any}
		}
		e.keys = append(e.keys, w)
	}
	for _, c := range h.creds {
		e.creds = append(e.creds, spCredWant{c: c, ok: !c.deleted && c.cl == x})
	}
	return e
}

type spAgent struct {
	name string
	ag   *auth.Agent
}

// check checks that agent a answers as export e says.
func (h *spHistory) check(t *rapid.T, a *spAgent, e *spExport, when string) {
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%s, %s: %s", a.name, when, fmt.Sprintf(format, args...))
	}
	ctx := h.ctx
	if v := a.ag.Version(); v != e.version {
		fail("version %d, want %d", v, e.version)
	}
	if ok, err := a.ag.AllowUnauthenticated(ctx); err != nil || ok != e.allowAnon {
		fail("AllowUnauthenticated = %v, %v; X's policy at export is %v", ok, err, e.x.sasl)
	}
	for _, w := range e.keys {
		p, err := a.ag.AuthenticateAgent(ctx, w.k.secret)
		if errors.Is(err, auth.ErrUnauthenticated) && errors.Is(err, auth.ErrPermissionDenied) {
			fail("%s: %v is both refusals", w.k, err)
		}
		switch {
		case w.want == nil && err != nil:
			fail("%s: %v, want it authenticated", w.k, err)
		case w.want == nil && p != w.p:
			fail("%s: principal %+v, want %+v", w.k, p, w.p)
		case w.want != nil && !errors.Is(err, w.want):
			fail("%s: %v, want %v", w.k, err, w.want)
		}
	}
	unknown := must(keys.NewSecret())
	if _, err := a.ag.AuthenticateAgent(ctx, unknown.Reveal()); !errors.Is(err, auth.ErrUnauthenticated) {
		fail("a secret never issued: %v", err)
	}

	var live, other []*spCred
	for _, w := range e.creds {
		p, err := a.ag.AuthenticatePlain(ctx, plainMsg(w.c.issued))
		if !w.ok {
			other = append(other, w.c)
			if !errors.Is(err, auth.ErrUnauthenticated) {
				fail("PLAIN of %s: %v, want ErrUnauthenticated", w.c, err)
			}
			continue
		}
		live = append(live, w.c)
		want := auth.CredentialPrincipal{Credential: w.c.issued.Credential.ID, Cluster: e.x.id, Username: w.c.issued.Credential.Username, Superuser: w.c.issued.Credential.Superuser}
		if err != nil {
			fail("PLAIN of %s: %v", w.c, err)
		}
		if p != want {
			fail("PLAIN of %s: principal %+v, want %+v", w.c, p, want)
		}
	}
	// A live user with another credential's password.
	if len(live) > 0 && len(e.creds) > 1 {
		u := live[0]
		for _, w := range e.creds {
			if w.c != u && w.c.issued.Password.Reveal() != u.issued.Password.Reveal() {
				msg := []byte("\x00" + string(u.issued.Credential.Username) + "\x00" + w.c.issued.Password.Reveal())
				if _, err := a.ag.AuthenticatePlain(ctx, msg); !errors.Is(err, auth.ErrUnauthenticated) {
					fail("PLAIN of %s with another password: %v", u, err)
				}
				break
			}
		}
	}
	start := func(m string) (*auth.SCRAMExchange, error) { return a.ag.StartSCRAM(ctx, m) }
	scramLive := live
	if len(live) > 2 {
		scramLive = []*spCred{live[0], live[len(live)-1]}
	}
	for _, c := range scramLive {
		for _, mech := range []string{auth.MechanismSCRAMSHA256, auth.MechanismSCRAMSHA512} {
			if err := scramLogin(ctx, start, mech, string(c.issued.Credential.Username), c.issued.Password.Reveal()); err != nil {
				fail("%s of %s: %v", mech, c, err)
			}
		}
	}
	// One other credential (the last issued: often one deleted since the
	// previous export) fails SCRAM too.
	if len(other) > 0 {
		c := other[len(other)-1]
		mech := auth.MechanismSCRAMSHA256
		if err := scramLogin(ctx, start, mech, string(c.issued.Credential.Username), c.issued.Password.Reveal()); !errors.Is(err, auth.ErrUnauthenticated) {
			fail("%s of %s: %v, want ErrUnauthenticated", mech, c, err)
		}
	}
}
