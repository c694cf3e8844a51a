package auth_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/streamauth/streamauth/auth"
	"github.com/streamauth/streamauth/cluster"
	"github.com/streamauth/streamauth/internal/record"
	"github.com/streamauth/streamauth/keys"
	"github.com/streamauth/streamauth/store"
	"github.com/streamauth/streamauth/store/faultstore"
	"github.com/streamauth/streamauth/store/memstore"
)

// The fault-injection tests run a fixed workload against a store that fails
// chosen calls, then check the inner store with a fault-free engine: no
// injected failure is swallowed, the keyspace is consistent, and every
// operation either happened fully or not at all.

// Status of an entity in the model of what the workload did.
type ftStatus int

const (
	ftLive      ftStatus = iota // created and not deleted
	ftDeleted                   // its delete succeeded
	ftUncertain                 // its delete failed: present or absent, but whole
)

type ftCluster struct {
	id     keys.ClusterID
	ws     keys.WorkspaceID
	name   string
	typ    cluster.Type
	status ftStatus
}

type ftKey struct {
	id      keys.KeyID
	kind    auth.Kind
	account keys.AccountID
	ws      keys.WorkspaceID
	cluster keys.ClusterID
	any     bool
	name    string
	secret  keys.Secret
	status  ftStatus
	// withCluster: made uncertain by a failed DeleteCluster, so present if
	// and only if its cluster is.
	withCluster bool
}

type ftCred struct {
	id        keys.CredentialID
	cluster   keys.ClusterID
	name      string
	username  keys.Username
	superuser bool
	password  keys.Password
	status    ftStatus
	// withCluster: made uncertain by a failed DeleteCluster, so present if
	// and only if its cluster is.
	withCluster bool
}

// ftPending is a create that failed: nothing of it, or all of it, may be in
// the store, under an id the workload never learnt.
type ftPending struct {
	what    string // "account", "workspace", "cluster", "key", "credential"
	name    string
	account keys.AccountID   // workspace: its account; account key: its account
	ws      keys.WorkspaceID // cluster, application and agent keys
	cluster keys.ClusterID   // bound agent key; credential
	super   bool             // credential
	kind    auth.Kind
	any     bool
	typ     cluster.Type
}

// ftModel is what the workload knows it did.
type ftModel struct {
	accounts   map[keys.AccountID]string
	workspaces map[keys.WorkspaceID]keys.AccountID
	clusters   map[keys.ClusterID]*ftCluster
	keys       map[keys.KeyID]*ftKey
	creds      map[keys.CredentialID]*ftCred
	pending    []ftPending
	failedOps  []string
}

func newFTModel() *ftModel {
	return &ftModel{
		accounts:   map[keys.AccountID]string{},
		workspaces: map[keys.WorkspaceID]keys.AccountID{},
		clusters:   map[keys.ClusterID]*ftCluster{},
		keys:       map[keys.KeyID]*ftKey{},
		creds:      map[keys.CredentialID]*ftCred{},
	}
}

func (m *ftModel) addKey(ik auth.IssuedKey) {
	k := ik.Key
	fk := &ftKey{id: k.ID, kind: k.Grant.Principal, account: k.Account, ws: k.Grant.Workspace, name: string(k.Name), secret: ik.Secret}
	if k.Grant.Principal == auth.KindAgent {
		if k.Grant.ResourceID == auth.AnyID {
			fk.any = true
		} else {
			c, err := keys.ParseClusterID(k.Grant.ResourceID)
			if err != nil {
				panic(err)
			}
			fk.cluster = c
		}
	}
	m.keys[k.ID] = fk
}

// ftRunner runs the workload's operations against an engine over a fault
// store, and records each outcome in the model.
type ftRunner struct {
	t      *testing.T
	ctx    context.Context
	fs     *faultstore.Store
	e      *auth.Engine
	m      *ftModel
	stopAt bool // stop at the first error (sweep); else go on (probabilistic)
	err    error
	// named entities, so that later operations can refer to earlier ones
	accts map[string]keys.AccountID
	wss   map[string]keys.WorkspaceID
	cls   map[string]keys.ClusterID
	ks    map[string]keys.KeyID
	crs   map[string]keys.CredentialID
}

// ftOptions are the engines' options: argon2id made cheap, for a workload
// that hashes passwords on every run of a sweep.
var ftOptions = auth.Options{PasswordHash: auth.CheapArgon2}

// do runs op; it reports whether op succeeded. An error is checked to wrap
// ErrInjected; an injected failure during op that op did not report is a
// swallowed failure.
func (r *ftRunner) do(desc string, op func() error, onFail func()) bool {
	r.t.Helper()
	if r.stopAt && r.err != nil {
		return false
	}
	before := r.fs.Failures()
	err := op()
	injected := r.fs.Failures() > before
	switch {
	case err == nil && injected:
		r.t.Fatalf("%s: an injected failure was swallowed (calls %d, failures %d)", desc, r.fs.Calls(), r.fs.Failures())
	case err != nil && !errors.Is(err, faultstore.ErrInjected):
		r.t.Fatalf("%s: error %v does not wrap faultstore.ErrInjected", desc, err)
	case err != nil && !injected:
		r.t.Fatalf("%s: error %v with no injected failure", desc, err)
	}
	if err != nil {
		r.err = err
		r.m.failedOps = append(r.m.failedOps, desc)
		if onFail != nil {
			onFail()
		}
		return false
	}
	return true
}

func (r *ftRunner) newEngine() bool {
	for range 20 {
		ok := r.do("New", func() error {
			e, err := auth.New(r.ctx, r.fs, ftOptions)
			r.e = e
			return err
		}, nil)
		if ok {
			return true
		}
		if r.stopAt {
			return false
		}
	}
	return false
}

func (r *ftRunner) createAccount(name string) {
	r.do("CreateAccount "+name, func() error {
		a, err := r.e.CreateAccount(r.ctx, name)
		if err == nil {
			r.accts[name] = a.ID
			r.m.accounts[a.ID] = name
		}
		return err
	}, func() { r.m.pending = append(r.m.pending, ftPending{what: "account", name: name}) })
}

func (r *ftRunner) createWorkspace(acct, name string) {
	a, ok := r.accts[acct]
	if !ok {
		return
	}
	r.do("CreateWorkspace "+name, func() error {
		w, err := r.e.CreateWorkspace(r.ctx, a, name)
		if err == nil {
			r.wss[name] = w.ID
			r.m.workspaces[w.ID] = a
		}
		return err
	}, func() { r.m.pending = append(r.m.pending, ftPending{what: "workspace", name: name, account: a}) })
}

func (r *ftRunner) createCluster(wsName, name string, typ cluster.Type) {
	ws, ok := r.wss[wsName]
	if !ok {
		return
	}
	r.do("CreateCluster "+name, func() error {
		c, err := r.e.CreateCluster(r.ctx, ws, auth.ClusterSpec{Name: name, Type: typ})
		if err != nil {
			return err
		}
		if (c.AgentKey != nil) != typ.HasAgents() {
			r.t.Fatalf("CreateCluster %s (%s): agent key %v", name, typ, c.AgentKey != nil)
		}
		r.cls[name] = c.Cluster.ID
		r.m.clusters[c.Cluster.ID] = &ftCluster{id: c.Cluster.ID, ws: ws, name: name, typ: typ}
		if c.AgentKey != nil {
			r.m.addKey(*c.AgentKey)
			r.ks[name+"/agent"] = c.AgentKey.Key.ID
		}
		return nil
	}, func() { r.m.pending = append(r.m.pending, ftPending{what: "cluster", name: name, ws: ws, typ: typ}) })
}

func (r *ftRunner) createKey(label string, create func() (auth.IssuedKey, error), p ftPending) {
	r.do("CreateKey "+label, func() error {
		ik, err := create()
		if err == nil {
			r.m.addKey(ik)
			r.ks[label] = ik.Key.ID
		}
		return err
	}, func() { p.what = "key"; r.m.pending = append(r.m.pending, p) })
}

func (r *ftRunner) appKey(wsName, name string) {
	ws, ok := r.wss[wsName]
	if !ok {
		return
	}
	r.createKey(name, func() (auth.IssuedKey, error) {
		return r.e.CreateApplicationKey(r.ctx, ws, keys.KeyName(name), time.Time{})
	}, ftPending{name: name, ws: ws, kind: auth.KindApplication})
}

func (r *ftRunner) agentKey(wsName, clName, name string) {
	ws, ok := r.wss[wsName]
	if !ok {
		return
	}
	if clName == "*" {
		r.createKey(name, func() (auth.IssuedKey, error) {
			return r.e.CreateKey(r.ctx, auth.KeySpec{
				Name:  keys.KeyName(name),
				Grant: auth.Grant{Workspace: ws, Principal: auth.KindAgent, Resource: auth.VirtualCluster, ResourceID: auth.AnyID},
			})
		}, ftPending{name: name, ws: ws, kind: auth.KindAgent, any: true})
		return
	}
	c, ok := r.cls[clName]
	if !ok || r.m.clusters[c].status != ftLive {
		return
	}
	r.createKey(name, func() (auth.IssuedKey, error) {
		return r.e.CreateAgentKey(r.ctx, ws, c, keys.KeyName(name), time.Time{})
	}, ftPending{name: name, ws: ws, cluster: c, kind: auth.KindAgent})
}

func (r *ftRunner) accountKey(acct, name string) {
	a, ok := r.accts[acct]
	if !ok {
		return
	}
	r.createKey(name, func() (auth.IssuedKey, error) {
		return r.e.CreateAccountKey(r.ctx, a, keys.KeyName(name), time.Time{})
	}, ftPending{name: name, account: a, kind: auth.KindAccount})
}

func (r *ftRunner) authenticate(label string) {
	id, ok := r.ks[label]
	if !ok || r.m.keys[id].status != ftLive {
		return
	}
	k := r.m.keys[id]
	r.do("Authenticate "+label, func() error {
		p, err := r.e.Authenticate(r.ctx, k.secret.Reveal())
		if err == nil && p.Key != id {
			r.t.Fatalf("Authenticate %s: principal of key %v, want %v", label, p.Key, id)
		}
		return err
	}, nil)
}

func (r *ftRunner) deleteKey(label string) {
	id, ok := r.ks[label]
	if !ok || r.m.keys[id].status != ftLive {
		return
	}
	k := r.m.keys[id]
	if r.do("DeleteKey "+label, func() error { return r.e.DeleteKey(r.ctx, id) }, func() { k.status = ftUncertain }) {
		k.status = ftDeleted
	}
}

// createCredential creates a credential named label on a cluster, with a
// generated password or, if imported is not empty, that one.
func (r *ftRunner) createCredential(clName, label, imported string) {
	c, ok := r.cls[clName]
	if !ok || r.m.clusters[c].status != ftLive {
		return
	}
	spec := auth.CredentialSpec{Name: label, Superuser: imported != ""}
	if imported != "" {
		p, err := keys.ImportPassword(imported)
		if err != nil {
			r.t.Fatalf("ImportPassword: %v", err)
		}
		spec.Password = p
	}
	r.do("CreateCredential "+label, func() error {
		ic, err := r.e.CreateCredential(r.ctx, c, spec)
		if err != nil {
			return err
		}
		cr := ic.Credential
		if cr.Cluster != c || cr.Name != label || cr.Superuser != spec.Superuser || (imported != "" && ic.Password.Reveal() != imported) {
			r.t.Fatalf("CreateCredential %s returned %+v", label, cr)
		}
		r.crs[label] = cr.ID
		r.m.creds[cr.ID] = &ftCred{id: cr.ID, cluster: c, name: label, username: cr.Username, superuser: cr.Superuser, password: ic.Password}
		return nil
	}, func() {
		r.m.pending = append(r.m.pending, ftPending{what: "credential", name: label, cluster: c, super: spec.Superuser})
	})
}

func (r *ftRunner) authenticatePlain(label string) {
	id, ok := r.crs[label]
	if !ok || r.m.creds[id].status != ftLive {
		return
	}
	cr := r.m.creds[id]
	r.do("AuthenticatePlain "+label, func() error {
		p, err := r.e.AuthenticatePlain(r.ctx, cr.cluster, ftPlain(cr))
		if err == nil && p.Credential != id {
			r.t.Fatalf("AuthenticatePlain %s: principal of credential %v, want %v", label, p.Credential, id)
		}
		return err
	}, nil)
}

// refusePlain checks that a credential whose delete succeeded no longer
// logs in on the workload's engine, which remembered its last login.
func (r *ftRunner) refusePlain(label string) {
	id, ok := r.crs[label]
	if !ok || r.m.creds[id].status != ftDeleted {
		return
	}
	cr := r.m.creds[id]
	r.do("AuthenticatePlain of deleted "+label, func() error {
		_, err := r.e.AuthenticatePlain(r.ctx, cr.cluster, ftPlain(cr))
		if err == nil {
			r.t.Fatalf("deleted credential %s still logs in", label)
		}
		if errors.Is(err, auth.ErrUnauthenticated) && !errors.Is(err, faultstore.ErrInjected) {
			return nil
		}
		return err
	}, nil)
}

func ftPlain(cr *ftCred) []byte {
	return []byte("\x00" + string(cr.username) + "\x00" + cr.password.Reveal())
}

func (r *ftRunner) deleteCredential(label string) {
	id, ok := r.crs[label]
	if !ok || r.m.creds[id].status != ftLive {
		return
	}
	cr := r.m.creds[id]
	if r.do("DeleteCredential "+label, func() error { return r.e.DeleteCredential(r.ctx, id) }, func() { cr.status = ftUncertain }) {
		cr.status = ftDeleted
	}
}

func (r *ftRunner) deleteCluster(name string) {
	id, ok := r.cls[name]
	if !ok || r.m.clusters[id].status != ftLive {
		return
	}
	c := r.m.clusters[id]
	set := func(s ftStatus) {
		c.status = s
		for _, k := range r.m.keys {
			if k.cluster == id && (k.status == ftLive || s == ftDeleted) {
				k.withCluster = k.status == ftLive && s == ftUncertain
				k.status = s
			}
		}
		for _, cr := range r.m.creds {
			if cr.cluster == id && (cr.status == ftLive || s == ftDeleted) {
				cr.withCluster = cr.status == ftLive && s == ftUncertain
				cr.status = s
			}
		}
	}
	if r.do("DeleteCluster "+name, func() error { return r.e.DeleteCluster(r.ctx, id) }, func() { set(ftUncertain) }) {
		set(ftDeleted)
	}
}

// ftWorkload is the fixed workload. It returns the first error (sweep) or
// the last one (probabilistic). Without creds it creates no credential:
// each creation costs two PBKDF2 runs of 4096 iterations (the SCRAM
// verifiers), most of the workload's time.
func ftWorkload(t *testing.T, fs *faultstore.Store, stopAt, creds bool) (*ftModel, error) {
	r := &ftRunner{
		t: t, ctx: context.Background(), fs: fs, m: newFTModel(), stopAt: stopAt,
		accts: map[string]keys.AccountID{}, wss: map[string]keys.WorkspaceID{},
		cls: map[string]keys.ClusterID{}, ks: map[string]keys.KeyID{}, crs: map[string]keys.CredentialID{},
	}
	if !r.newEngine() {
		return r.m, r.err
	}
	r.createAccount("acme")
	r.createAccount("globex")
	r.createWorkspace("acme", "prod")
	r.createWorkspace("globex", "dev")
	r.createCluster("prod", "byoc-a", cluster.BYOC)
	r.createCluster("prod", "serverless-a", cluster.Serverless)
	r.createCluster("dev", "byoc-sr", cluster.BYOCSchemaRegistry)
	r.createCluster("prod", "byoc-b", cluster.BYOC)
	r.createCluster("dev", "serverless-b", cluster.Serverless)
	r.appKey("prod", "akn_app_prod")
	r.appKey("dev", "akn_app_dev")
	r.agentKey("prod", "byoc-a", "akn_agent_a")
	r.agentKey("prod", "*", "akn_agent_any")
	r.agentKey("dev", "byoc-sr", "akn_agent_sr")
	r.agentKey("prod", "byoc-b", "akn_agent_b")
	r.agentKey("prod", "byoc-b", "akn_agent_b2")
	r.accountKey("acme", "akn_acct_acme")
	r.accountKey("globex", "akn_acct_globex")
	if creds {
		r.createCredential("byoc-a", "cred-a", "")
		r.createCredential("serverless-a", "cred-s", "pässwörd 🔑 migrated")
		r.createCredential("byoc-b", "cred-b", "") // goes with its cluster
	}
	r.authenticate("akn_app_prod")
	r.authenticatePlain("cred-a")
	r.authenticatePlain("cred-b")
	r.deleteCredential("cred-a")
	r.refusePlain("cred-a")
	r.deleteKey("akn_app_dev")
	r.deleteKey("akn_agent_a")
	r.deleteKey("akn_acct_globex")
	r.deleteKey("byoc-sr/agent")
	r.deleteCluster("byoc-b")
	r.refusePlain("cred-b")
	r.deleteKey("akn_agent_any")
	r.appKey("prod", "akn_app_late")
	r.authenticate("akn_agent_sr")
	r.authenticatePlain("cred-s")
	return r.m, r.err
}

// ftState is the inner store, decoded.
type ftState struct {
	raw        map[string][]byte
	accounts   map[keys.AccountID]record.Account
	workspaces map[keys.WorkspaceID]record.Workspace
	clusters   map[keys.ClusterID]record.Cluster
	keys       map[keys.KeyID]record.Key
	bound      map[keys.ClusterID][]keys.KeyID // g entries
	creds      map[keys.CredentialID]record.Credential
}

func ftID[T any, P interface {
	*T
	SetBytes([]byte) error
}](t *testing.T, b []byte) T {
	t.Helper()
	var id T
	if err := P(&id).SetBytes(b); err != nil {
		t.Fatalf("bad id %x: %v", b, err)
	}
	return id
}

// ftCheckStore checks the keyspace of s for consistency and decodes it.
func ftCheckStore(t *testing.T, s store.Store) *ftState {
	t.Helper()
	ctx := context.Background()
	st := &ftState{
		raw:        map[string][]byte{},
		accounts:   map[keys.AccountID]record.Account{},
		workspaces: map[keys.WorkspaceID]record.Workspace{},
		clusters:   map[keys.ClusterID]record.Cluster{},
		keys:       map[keys.KeyID]record.Key{},
		bound:      map[keys.ClusterID][]keys.KeyID{},
		creds:      map[keys.CredentialID]record.Credential{},
	}
	err := s.Scan(ctx, nil, func(k, v []byte) error {
		st.raw[string(k)] = bytes.Clone(v)
		return nil
	})
	if err != nil {
		t.Fatalf("scanning inner store: %v", err)
	}
	has := func(k []byte) bool { _, ok := st.raw[string(k)]; return ok }
	const u = keys.UUIDSize
	// Records first.
	for ks, v := range st.raw {
		k := []byte(ks)
		switch k[0] {
		case 'A':
			id := ftID[keys.AccountID](t, k[1:])
			a, err := record.DecodeAccount(id, v)
			if err != nil {
				t.Fatalf("account %v: %v", id, err)
			}
			st.accounts[id] = a
		case 'W':
			id := ftID[keys.WorkspaceID](t, k[1:])
			w, err := record.DecodeWorkspace(id, v)
			if err != nil {
				t.Fatalf("workspace %v: %v", id, err)
			}
			st.workspaces[id] = w
		case 'C':
			id := ftID[keys.ClusterID](t, k[1:])
			c, err := record.DecodeCluster(id, v)
			if err != nil {
				t.Fatalf("cluster %v: %v", id, err)
			}
			st.clusters[id] = c
		case 'H':
			if len(k) != 1+keys.PrefixSize {
				t.Fatalf("hot key of length %d", len(k))
			}
			view, err := record.ViewKey((*[keys.PrefixSize]byte)(k[1:]), v)
			if err != nil {
				t.Fatalf("hot record %x: %v", k, err)
			}
			id := keys.KeyIDFromArray(view.ID())
			meta, ok := st.raw[string(record.KeyByIDKey(id))]
			if !ok {
				t.Fatalf("hot record of key %v without its K record", id)
			}
			rec, err := record.DecodeKey(v, meta)
			if err != nil {
				t.Fatalf("key %v: %v", id, err)
			}
			if !bytes.Equal(rec.Digest[:keys.PrefixSize], k[1:]) {
				t.Fatalf("key %v filed under another digest prefix", id)
			}
			st.keys[id] = rec
		case 'K':
			id := ftID[keys.KeyID](t, k[1:])
			p, err := record.MetaPrefix(v)
			if err != nil {
				t.Fatalf("meta of key %v: %v", id, err)
			}
			var hk [1 + keys.PrefixSize]byte
			hot, ok := st.raw[string(record.HashKey(&hk, p))]
			if !ok {
				t.Fatalf("K record of key %v without its hot record", id)
			}
			view, err := record.ViewKey(p, hot)
			if err != nil || keys.KeyIDFromArray(view.ID()) != id {
				t.Fatalf("K record of key %v points at another key's hot record (%v)", id, err)
			}
		case 'P':
			id := ftID[keys.CredentialID](t, k[1:])
			c, err := record.DecodeCredential(id, v)
			if err != nil {
				t.Fatalf("credential %v: %v", id, err)
			}
			st.creds[id] = c
		case 'f':
			if len(v) != 32 {
				t.Fatalf("fake salt key of %d bytes", len(v))
			}
		case 'w', 'c', 'n', 'k', 'g', 'm', 'p', 'u':
		default:
			t.Fatalf("unknown key tag %q in %x", k[0], k)
		}
	}
	// Then every record's links and listings.
	for id, w := range st.workspaces {
		if _, ok := st.accounts[w.Account]; !ok {
			t.Fatalf("workspace %v of a missing account", id)
		}
		if !has(record.AccountWorkspaceKey(w.Account, id)) {
			t.Fatalf("workspace %v without its w entry", id)
		}
	}
	for id, c := range st.clusters {
		w, ok := st.workspaces[c.Workspace]
		if !ok || w.Account != c.Account {
			t.Fatalf("cluster %v of a missing workspace or another account", id)
		}
		if !has(record.WorkspaceClusterKey(c.Workspace, id)) {
			t.Fatalf("cluster %v without its c entry", id)
		}
		idb := id.Bytes()
		if v, ok := st.raw[string(record.ClusterNameKey(c.Workspace, c.Name))]; !ok || !bytes.Equal(v, idb[:]) {
			t.Fatalf("cluster %v (%q) without its n entry", id, c.Name)
		}
	}
	for id, k := range st.keys {
		owner := record.OwnerKeyKey(k.Workspace, id)
		switch k.Kind {
		case record.KindAccount:
			owner = record.OwnerKeyKey(k.Account, id)
			if _, ok := st.accounts[k.Account]; !ok {
				t.Fatalf("account key %v of a missing account", id)
			}
			if !k.Workspace.IsZero() || !k.Cluster.IsZero() {
				t.Fatalf("account key %v with a workspace or cluster", id)
			}
		default:
			w, ok := st.workspaces[k.Workspace]
			if !ok || w.Account != k.Account {
				t.Fatalf("key %v of a missing workspace or another account", id)
			}
		}
		if !has(owner) {
			t.Fatalf("key %v without its k entry", id)
		}
		if !k.Cluster.IsZero() {
			c, ok := st.clusters[k.Cluster]
			if !ok {
				t.Fatalf("agent key %v bound to missing cluster %v", id, k.Cluster)
			}
			if k.Kind != record.KindAgent || c.Workspace != k.Workspace || !cluster.Type(c.Type).HasAgents() {
				t.Fatalf("key %v bound to cluster %v it may not be bound to", id, k.Cluster)
			}
			if !has(record.ClusterKeyKey(k.Cluster, id)) {
				t.Fatalf("agent key %v without its g entry", id)
			}
		}
	}
	// Never a credential without its cluster, its login entry or its
	// listing entry.
	for id, c := range st.creds {
		cl, ok := st.clusters[c.Cluster]
		if !ok {
			t.Fatalf("credential %v of missing cluster %v", id, c.Cluster)
		}
		if cl.Workspace != c.Workspace || cl.Account != c.Account {
			t.Fatalf("credential %v of another workspace or account than its cluster's", id)
		}
		if _, err := keys.ParseUsername(c.Username); err != nil {
			t.Fatalf("credential %v with username %q: %v", id, c.Username, err)
		}
		idb := id.Bytes()
		if v, ok := st.raw[string(record.LoginKey(c.Cluster, c.Username))]; !ok || !bytes.Equal(v, idb[:]) {
			t.Fatalf("credential %v without its u entry", id)
		}
		if !has(record.ClusterCredentialKey(c.Cluster, id)) {
			t.Fatalf("credential %v without its p entry", id)
		}
	}
	// Every listing entry points at an existing record that agrees.
	for ks, v := range st.raw {
		k := []byte(ks)
		switch k[0] {
		case 'w':
			a, ws := ftID[keys.AccountID](t, k[1:1+u]), ftID[keys.WorkspaceID](t, k[1+u:])
			if w, ok := st.workspaces[ws]; !ok || w.Account != a {
				t.Fatalf("w entry %x without its workspace", k)
			}
		case 'c':
			ws, c := ftID[keys.WorkspaceID](t, k[1:1+u]), ftID[keys.ClusterID](t, k[1+u:])
			if rec, ok := st.clusters[c]; !ok || rec.Workspace != ws {
				t.Fatalf("c entry %x without its cluster", k)
			}
		case 'n':
			ws := ftID[keys.WorkspaceID](t, k[1:1+u])
			c := ftID[keys.ClusterID](t, v)
			if rec, ok := st.clusters[c]; !ok || rec.Workspace != ws || rec.Name != string(k[1+u:]) {
				t.Fatalf("n entry %x without its cluster", k)
			}
		case 'k':
			kid := ftID[keys.KeyID](t, k[1+u:])
			rec, ok := st.keys[kid]
			if !ok {
				t.Fatalf("k entry %x without its key", k)
			}
			if !bytes.Equal(ownerKeyOf(&rec), k) {
				t.Fatalf("k entry %x under another owner than key %v's", k, kid)
			}
		case 'g':
			c, kid := ftID[keys.ClusterID](t, k[1:1+u]), ftID[keys.KeyID](t, k[1+u:])
			rec, ok := st.keys[kid]
			if !ok || rec.Cluster != c {
				t.Fatalf("g entry %x without its key", k)
			}
			if _, ok := st.clusters[c]; !ok {
				t.Fatalf("g entry %x of a missing cluster", k)
			}
			st.bound[c] = append(st.bound[c], kid)
		case 'p':
			if len(k) != 1+2*u {
				t.Fatalf("p entry %x of length %d", k, len(k))
			}
			c, cid := ftID[keys.ClusterID](t, k[1:1+u]), ftID[keys.CredentialID](t, k[1+u:])
			if rec, ok := st.creds[cid]; !ok || rec.Cluster != c {
				t.Fatalf("p entry %x without its credential", k)
			}
		case 'u':
			// Never a login entry without its record.
			c, user := ftID[keys.ClusterID](t, k[1:1+u]), string(k[1+u:])
			cid := ftID[keys.CredentialID](t, v)
			if rec, ok := st.creds[cid]; !ok || rec.Cluster != c || rec.Username != user {
				t.Fatalf("u entry %x without its credential", k)
			}
		case 'm':
			if err := record.CheckMeta(v); err != nil {
				t.Fatalf("format record: %v", err)
			}
		}
	}
	return st
}

func ownerKeyOf(k *record.Key) []byte {
	if k.Kind == record.KindAccount {
		return record.OwnerKeyKey(k.Account, k.ID)
	}
	return record.OwnerKeyKey(k.Workspace, k.ID)
}

// ftCheck checks the inner store against the model: what succeeded is
// there, what was deleted is gone, and what failed happened fully or not at
// all.
func ftCheck(t *testing.T, inner store.Store, m *ftModel) {
	t.Helper()
	ctx := context.Background()
	st := ftCheckStore(t, inner)
	e, err := auth.New(ctx, inner, ftOptions)
	if err != nil {
		t.Fatalf("fresh engine on the inner store: %v", err)
	}

	// The pending creates each explain at most one unknown entity.
	pend := make([]bool, len(m.pending))
	claim := func(what string, match func(p ftPending) bool) bool {
		for i, p := range m.pending {
			if !pend[i] && p.what == what && match(p) {
				pend[i] = true
				return true
			}
		}
		return false
	}
	for id, a := range st.accounts {
		if _, ok := m.accounts[id]; !ok && !claim("account", func(p ftPending) bool { return p.name == a.Name }) {
			t.Fatalf("unexpected account %v %q", id, a.Name)
		}
	}
	for id := range m.accounts {
		if _, ok := st.accounts[id]; !ok {
			t.Fatalf("account %v lost", id)
		}
	}
	for id, w := range st.workspaces {
		if _, ok := m.workspaces[id]; !ok && !claim("workspace", func(p ftPending) bool { return p.name == w.Name && p.account == w.Account }) {
			t.Fatalf("unexpected workspace %v %q", id, w.Name)
		}
	}
	for id := range m.workspaces {
		if _, ok := st.workspaces[id]; !ok {
			t.Fatalf("workspace %v lost", id)
		}
	}
	unknownClusters := map[keys.ClusterID]bool{}
	for id, c := range st.clusters {
		mc, ok := m.clusters[id]
		switch {
		case !ok:
			if !claim("cluster", func(p ftPending) bool {
				return p.name == c.Name && p.ws == c.Workspace && uint8(p.typ) == c.Type
			}) {
				t.Fatalf("unexpected cluster %v %q: a failed CreateCluster left it behind", id, c.Name)
			}
			unknownClusters[id] = true
		case mc.status == ftDeleted:
			t.Fatalf("cluster %q still there after DeleteCluster succeeded", mc.name)
		case mc.name != c.Name || mc.ws != c.Workspace || uint8(mc.typ) != c.Type:
			t.Fatalf("cluster %q changed", mc.name)
		}
		// Every BYOC cluster has its agent key; none else has bound keys.
		if cluster.Type(c.Type).HasAgents() {
			// Unless the workload deleted (or tried to delete) keys bound
			// to it, a BYOC cluster still has at least its agent key.
			revoked := false
			for _, mk := range m.keys {
				revoked = revoked || (mk.cluster == id && mk.status != ftLive)
			}
			if len(st.bound[id]) == 0 && !revoked {
				t.Fatalf("BYOC cluster %q without any bound agent key", c.Name)
			}
		} else if len(st.bound[id]) != 0 {
			t.Fatalf("%s cluster %q with bound agent keys", cluster.Type(c.Type), c.Name)
		}
		if !ok && len(st.bound[id]) != 0 && len(st.bound[id]) != 1 {
			t.Fatalf("half-created cluster %q with %d agent keys", c.Name, len(st.bound[id]))
		}
	}
	for id, mc := range m.clusters {
		if _, ok := st.clusters[id]; !ok && mc.status == ftLive {
			t.Fatalf("cluster %q lost", mc.name)
		}
	}
	// A cluster whose create failed but whose name was found must not exist
	// under its name unless wholly (checked above); and a name whose create
	// failed is not taken by anything else.
	for id, k := range st.keys {
		mk, ok := m.keys[id]
		if !ok {
			if k.Kind == record.KindAgent && unknownClusters[k.Cluster] && k.Name == "akn_agent" {
				continue // the agent key of a failed-but-whole CreateCluster
			}
			if !claim("key", func(p ftPending) bool {
				return p.name == k.Name && uint8(p.kind) == k.Kind && p.ws == k.Workspace && p.cluster == k.Cluster &&
					p.any == (k.Flags&record.FlagAnyCluster != 0) && (p.kind != auth.KindAccount || p.account == k.Account)
			}) {
				t.Fatalf("unexpected key %v %q", id, k.Name)
			}
			continue
		}
		if mk.status == ftDeleted {
			t.Fatalf("key %q still there after it was deleted", mk.name)
		}
		if uint8(mk.kind) != k.Kind || mk.account != k.Account || mk.ws != k.Workspace || mk.cluster != k.Cluster || mk.name != k.Name {
			t.Fatalf("key %q changed", mk.name)
		}
	}
	for id, mk := range m.keys {
		_, there := st.keys[id]
		if mk.status == ftLive && !there {
			t.Fatalf("key %q lost", mk.name)
		}
		if _, cl := st.clusters[mk.cluster]; mk.withCluster && there != cl {
			t.Fatalf("failed DeleteCluster: key %q there: %v, its cluster: %v", mk.name, there, cl)
		}
		p, err := e.Authenticate(ctx, mk.secret.Reveal())
		switch {
		case there && err != nil:
			t.Fatalf("key %q is stored but its secret does not authenticate: %v", mk.name, err)
		case there && (p.Key != id || p.Kind != mk.kind || p.Cluster != mk.cluster || p.AnyCluster != mk.any):
			t.Fatalf("key %q authenticates as %+v", mk.name, p)
		case !there && !errors.Is(err, auth.ErrUnauthenticated):
			t.Fatalf("key %q is gone but its secret gives %v", mk.name, err)
		}
	}
	for id, c := range st.creds {
		mc, ok := m.creds[id]
		switch {
		case !ok:
			if !claim("credential", func(p ftPending) bool {
				return p.name == c.Name && p.cluster == c.Cluster && p.super == c.Superuser
			}) {
				t.Fatalf("unexpected credential %v %q: a failed CreateCredential left it behind", id, c.Name)
			}
		case mc.status == ftDeleted:
			t.Fatalf("credential %q still there after it was deleted", mc.name)
		case mc.cluster != c.Cluster || mc.name != c.Name || string(mc.username) != c.Username || mc.superuser != c.Superuser:
			t.Fatalf("credential %q changed", mc.name)
		}
	}
	for id, mc := range m.creds {
		_, there := st.creds[id]
		if mc.status == ftLive && !there {
			t.Fatalf("credential %q lost", mc.name)
		}
		// All or nothing: a failed DeleteCluster left its credentials
		// with its cluster, or took them all.
		if _, cl := st.clusters[mc.cluster]; mc.withCluster && there != cl {
			t.Fatalf("failed DeleteCluster: credential %q there: %v, its cluster: %v", mc.name, there, cl)
		}
		p, err := e.AuthenticatePlain(ctx, mc.cluster, ftPlain(mc))
		switch {
		case there && err != nil:
			t.Fatalf("credential %q is stored but its password does not log in: %v", mc.name, err)
		case there && (p.Credential != id || p.Cluster != mc.cluster || p.Username != mc.username || p.Superuser != mc.superuser):
			t.Fatalf("credential %q logs in as %+v", mc.name, p)
		case !there && !errors.Is(err, auth.ErrUnauthenticated):
			t.Fatalf("credential %q is gone but its password gives %v", mc.name, err)
		}
	}
}

func TestFaultSweep(t *testing.T) {
	// The fault-free run sets how many calls the workload makes.
	free := faultstore.New(memstore.New(), faultstore.Never())
	m, err := ftWorkload(t, free, true, true)
	if err != nil {
		t.Fatalf("fault-free workload: %v", err)
	}
	ftCheck(t, free.Inner(), m)
	total := free.Calls()
	free.Close()

	n := 0
	for ; ; n++ {
		inner := memstore.New()
		fs := faultstore.New(inner, faultstore.FailNth(n))
		m, err := ftWorkload(t, fs, true, true)
		if err == nil {
			if fs.Failures() != 0 || n < total {
				t.Fatalf("N=%d: workload completed with %d injected failures (fault-free run makes %d calls)", n, fs.Failures(), total)
			}
			ftCheck(t, inner, m)
			inner.Close()
			break
		}
		if n >= total {
			t.Fatalf("N=%d: workload failed but the fault-free run makes only %d calls: %v", n, total, err)
		}
		func() {
			defer func() {
				if t.Failed() {
					t.Logf("sweep point N=%d, failed op %v: %v", n, m.failedOps, err)
				}
			}()
			ftCheck(t, inner, m)
		}()
		inner.Close()
		if t.Failed() {
			return
		}
	}
	if n != total {
		t.Fatalf("sweep ended at N=%d, want %d", n, total)
	}
	t.Logf("%d sweep points with a failure (calls 0..%d), then one fault-free run", n, n-1)
}

func TestFaultProbability(t *testing.T) {
	withFailures, credFailures := 0, 0
	for seed := range uint64(200) {
		inner := memstore.New()
		fs := faultstore.New(inner, faultstore.FailProbability(0.05, seed))
		// One seed in four creates credentials, to keep the test fast;
		// the sweep fails every call of theirs.
		m, _ := ftWorkload(t, fs, false, seed%4 == 0)
		if len(m.failedOps) > 0 {
			withFailures++
		}
		if slices.ContainsFunc(m.failedOps, func(op string) bool { return strings.Contains(op, "Credential") }) {
			credFailures++
		}
		func() {
			defer func() {
				if t.Failed() {
					t.Logf("seed %d, failed ops %v", seed, m.failedOps)
				}
			}()
			ftCheck(t, inner, m)
		}()
		inner.Close()
		if t.Failed() {
			return
		}
	}
	if withFailures == 0 {
		t.Fatal("no seed injected a failure")
	}
	t.Logf("%d of 200 seeds injected at least one failure; %d failed a credential operation", withFailures, credFailures)
}
