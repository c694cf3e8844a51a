package auth

// The example-based tests of package auth live in package auth (not
// auth_test) so that their helpers cannot collide with those of the
// property test, but they use only the exported API, as a caller would.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/streamauth/streamauth/cluster"
	"github.com/streamauth/streamauth/internal/record"
	"github.com/streamauth/streamauth/keys"
	"github.com/streamauth/streamauth/store"
	"github.com/streamauth/streamauth/store/memstore"
)

// --- helpers shared by the example-based tests ---

// t0 is the injected clock's starting time. Its nanoseconds survive the
// round trip through the store's Unix-nanosecond timestamps.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 600, time.UTC)

// testClock is an injectable clock (Options.Now) that tests move by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testEnv is an engine over a fresh memstore, with an injected clock.
type testEnv struct {
	t     *testing.T
	ctx   context.Context
	st    *memstore.Store
	e     *Engine
	clock *testClock
}

// newEngine returns an engine over an empty memstore whose clock starts at
// t0 and moves only when the test moves it.
func newEngine(t *testing.T) *testEnv {
	t.Helper()
	return newEngineOpts(t, Options{})
}

func newEngineOpts(t *testing.T, opts Options) *testEnv {
	t.Helper()
	st := memstore.New()
	t.Cleanup(func() { st.Close() })
	clock := &testClock{now: t0}
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	e, err := New(t.Context(), st, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &testEnv{t: t, ctx: t.Context(), st: st, e: e, clock: clock}
}

func (v *testEnv) account(name string) Account {
	v.t.Helper()
	a, err := v.e.CreateAccount(v.ctx, name)
	if err != nil {
		v.t.Fatalf("CreateAccount(%q): %v", name, err)
	}
	return a
}

func (v *testEnv) workspace(a keys.AccountID, name string) Workspace {
	v.t.Helper()
	w, err := v.e.CreateWorkspace(v.ctx, a, name)
	if err != nil {
		v.t.Fatalf("CreateWorkspace(%q): %v", name, err)
	}
	return w
}

func (v *testEnv) cluster(ws keys.WorkspaceID, name string, typ cluster.Type) CreatedCluster {
	v.t.Helper()
	c, err := v.e.CreateCluster(v.ctx, ws, ClusterSpec{Name: name, Type: typ})
	if err != nil {
		v.t.Fatalf("CreateCluster(%q, %v): %v", name, typ, err)
	}
	return c
}

func (v *testEnv) appKey(ws keys.WorkspaceID) IssuedKey {
	v.t.Helper()
	k, err := v.e.CreateApplicationKey(v.ctx, ws, "akn_app", time.Time{})
	if err != nil {
		v.t.Fatalf("CreateApplicationKey: %v", err)
	}
	return k
}

func (v *testEnv) accountKey(a keys.AccountID) IssuedKey {
	v.t.Helper()
	k, err := v.e.CreateAccountKey(v.ctx, a, "akn_ops", time.Time{})
	if err != nil {
		v.t.Fatalf("CreateAccountKey: %v", err)
	}
	return k
}

func (v *testEnv) agentKey(ws keys.WorkspaceID, c keys.ClusterID) IssuedKey {
	v.t.Helper()
	k, err := v.e.CreateAgentKey(v.ctx, ws, c, "akn_agent2", time.Time{})
	if err != nil {
		v.t.Fatalf("CreateAgentKey: %v", err)
	}
	return k
}

// anyAgentKey issues an agent key granted every BYOC cluster of ws.
func (v *testEnv) anyAgentKey(ws keys.WorkspaceID) IssuedKey {
	v.t.Helper()
	k, err := v.e.CreateKey(v.ctx, KeySpec{
		Name:  "akn_fleet",
		Grant: Grant{Workspace: ws, Principal: KindAgent, Resource: VirtualCluster, ResourceID: AnyID},
	})
	if err != nil {
		v.t.Fatalf("CreateKey(agent *): %v", err)
	}
	return k
}

// authn authenticates secret and fails the test on an error.
func (v *testEnv) authn(k IssuedKey) Principal {
	v.t.Helper()
	p, err := v.e.Authenticate(v.ctx, k.Secret.Reveal())
	if err != nil {
		v.t.Fatalf("Authenticate(key %s): %v", k.Key.ID, err)
	}
	return p
}

// refused checks that the secret of k no longer authenticates.
func (v *testEnv) refused(what string, k IssuedKey) {
	v.t.Helper()
	_, err := v.e.Authenticate(v.ctx, k.Secret.Reveal())
	wantErr(v.t, what, err, ErrUnauthenticated)
}

// unchanged runs f and fails if the store's key count changed: for calls
// that must write nothing.
func (v *testEnv) unchanged(what string, f func()) {
	v.t.Helper()
	before := v.st.Len()
	f()
	if after := v.st.Len(); after != before {
		v.t.Errorf("%s: store went from %d to %d keys; want nothing written", what, before, after)
	}
}

// sentinels are the package's error sentinels: an error of the engine
// matches at most one of them.
var sentinels = []error{
	ErrUnauthenticated, ErrPermissionDenied, ErrNotFound,
	ErrAlreadyExists, ErrInvalidArgument, ErrUnsupported,
}

// wantErr fails unless err matches want (nil: no error), and unless it
// matches no other sentinel of the package: in particular an error is
// never both ErrUnauthenticated and ErrPermissionDenied.
func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Errorf("%s: unexpected error: %v", what, err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Errorf("%s: got error %v, want %v", what, err, want)
		return
	}
	for _, s := range sentinels {
		if s != want && errors.Is(err, s) {
			t.Errorf("%s: error %q matches both %v and %v", what, err, want, s)
		}
	}
}

// cmpIDs lets cmp compare identifiers, whose bytes are unexported.
var cmpIDs = cmp.Options{
	cmp.Comparer(func(a, b keys.AccountID) bool { return a == b }),
	cmp.Comparer(func(a, b keys.WorkspaceID) bool { return a == b }),
	cmp.Comparer(func(a, b keys.ClusterID) bool { return a == b }),
	cmp.Comparer(func(a, b keys.KeyID) bool { return a == b }),
}

func diff(t *testing.T, what string, want, got any) {
	t.Helper()
	if d := cmp.Diff(want, got, cmpIDs); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

// sortedByID returns a copy of s ordered by the text of id(x), which is
// the order of listings (ids print in byte order).
func sortedByID[T any, K interface{ String() string }](s []T, id func(T) K) []T {
	out := slices.Clone(s)
	slices.SortFunc(out, func(a, b T) int { return strings.Compare(id(a).String(), id(b).String()) })
	if out == nil {
		out = []T{}
	}
	return out
}

func keyID(k Key) keys.KeyID { return k.ID }

// orEmpty turns a nil listing into an empty one, for comparisons.
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// --- New ---

func TestNewEmptyStoreWritesFormat(t *testing.T) {
	ctx := t.Context()
	st := memstore.New()
	defer st.Close()
	if _, err := New(ctx, st, Options{}); err != nil {
		t.Fatalf("New on an empty store: %v", err)
	}
	var got [][2]string
	err := st.Scan(ctx, nil, func(k, v []byte) error {
		got = append(got, [2]string{string(k), string(v)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The format record, and the random key of fake SCRAM salts.
	if len(got) != 2 || len(got[0][1]) != fakeKeyLen {
		t.Fatalf("store after New holds %d records, want 2", len(got))
	}
	want := [][2]string{{string(record.FakeSaltKey), got[0][1]}, {string(record.MetaKey), string(record.MetaValue())}}
	diff(t, "store after New", want, got)

	// A second engine over the initialised store accepts it and writes
	// nothing more.
	if _, err := New(ctx, st, Options{}); err != nil {
		t.Fatalf("New on an initialised store: %v", err)
	}
	if n := st.Len(); n != 2 {
		t.Errorf("store holds %d keys after a second New, want 2", n)
	}
}

func TestNewReopensPopulatedStore(t *testing.T) {
	v := newEngine(t)
	a := v.account("acme")
	ws := v.workspace(a.ID, "prod")
	k := v.appKey(ws.ID)
	e2, err := New(v.ctx, v.st, Options{})
	if err != nil {
		t.Fatalf("New over a populated streamauth store: %v", err)
	}
	p, err := e2.Authenticate(v.ctx, k.Secret.Reveal())
	if err != nil {
		t.Fatalf("second engine: Authenticate: %v", err)
	}
	if p.Key != k.Key.ID {
		t.Errorf("second engine authenticated key %s, want %s", p.Key, k.Key.ID)
	}
}

func TestNewForeignStore(t *testing.T) {
	// Keys sorting before and after the format record's key.
	for _, foreign := range []string{"a", "z", "\x00", "mm", "user/1"} {
		t.Run(fmt.Sprintf("%q", foreign), func(t *testing.T) {
			ctx := t.Context()
			st := memstore.New()
			defer st.Close()
			var b store.Batch
			b.Put([]byte(foreign), []byte("unrelated"))
			if err := st.Commit(ctx, &b); err != nil {
				t.Fatal(err)
			}
			e, err := New(ctx, st, Options{})
			wantErr(t, "New over a foreign store", err, store.ErrCorrupt)
			if e != nil {
				t.Error("New returned an engine with its error")
			}
			if _, err := st.Get(ctx, record.MetaKey); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("New wrote a format record into a foreign store (Get: %v)", err)
			}
			if n := st.Len(); n != 1 {
				t.Errorf("store holds %d keys, want the 1 foreign key", n)
			}
		})
	}
}

func TestNewOtherFormat(t *testing.T) {
	good := record.MetaValue()
	other := func(version byte) []byte {
		v := bytes.Clone(good)
		v[len(v)-1] = version
		return v
	}
	tests := []struct {
		name  string
		value []byte
		want  error
	}{
		{"format 0", other(0), record.ErrUnknownFormat},
		{"format 3", other(3), record.ErrUnknownFormat},
		{"next format", other(record.StoreFormat + 1), record.ErrUnknownFormat},
		{"format 255", other(255), record.ErrUnknownFormat},
		{"not streamauth", []byte("something else"), store.ErrCorrupt},
		{"empty", []byte{}, store.ErrCorrupt},
		{"magic alone", good[:len(good)-1], store.ErrCorrupt},
		{"trailing byte", append(bytes.Clone(good), 0), store.ErrCorrupt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			st := memstore.New()
			defer st.Close()
			var b store.Batch
			b.Put(record.MetaKey, tc.value)
			if err := st.Commit(ctx, &b); err != nil {
				t.Fatal(err)
			}
			e, err := New(ctx, st, Options{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("New: got %v, want %v", err, tc.want)
			}
			if e != nil {
				t.Error("New returned an engine with its error")
			}
			got, err := st.Get(ctx, record.MetaKey)
			if err != nil || !bytes.Equal(got, tc.value) {
				t.Errorf("New changed the format record: %q, %v", got, err)
			}
		})
	}
}

func TestNewStoreErrors(t *testing.T) {
	t.Run("closed", func(t *testing.T) {
		st := memstore.New()
		st.Close()
		_, err := New(t.Context(), st, Options{})
		wantErr(t, "New over a closed store", err, store.ErrClosed)
	})
	t.Run("cancelled", func(t *testing.T) {
		st := memstore.New()
		defer st.Close()
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := New(ctx, st, Options{})
		wantErr(t, "New with a cancelled context", err, context.Canceled)
		if n := st.Len(); n != 0 {
			t.Errorf("New with a cancelled context wrote %d keys", n)
		}
	})
}

func TestNewPepperLength(t *testing.T) {
	for _, n := range []int{0, 1, 15, 16, 32, 64, 65, 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			st := memstore.New()
			defer st.Close()
			var pepper []byte
			if n > 0 {
				pepper = bytes.Repeat([]byte{0xa5}, n)
			}
			e, err := New(t.Context(), st, Options{Pepper: pepper})
			if n == 0 || (keys.MinPepperSize <= n && n <= keys.MaxPepperSize) {
				if err != nil || e == nil {
					t.Fatalf("New with a %d-byte pepper: %v", n, err)
				}
				return
			}
			wantErr(t, fmt.Sprintf("New with a %d-byte pepper", n), err, ErrInvalidArgument)
			if e != nil {
				t.Error("New returned an engine with its error")
			}
			if l := st.Len(); l != 0 {
				t.Errorf("New with a bad pepper wrote %d keys", l)
			}
		})
	}
}

func TestPepperSeparatesEngines(t *testing.T) {
	pepperA := []byte("pepper-A-0123456789abcdef")
	pepperB := []byte("pepper-B-0123456789abcdef")
	v := newEngineOpts(t, Options{Pepper: pepperA})
	a := v.account("acme")
	ws := v.workspace(a.ID, "prod")
	c := v.cluster(ws.ID, "orders", cluster.BYOC)
	issued := []IssuedKey{v.appKey(ws.ID), v.accountKey(a.ID), v.anyAgentKey(ws.ID), *c.AgentKey}

	sameA, err := New(v.ctx, v.st, Options{Pepper: bytes.Clone(pepperA), Now: v.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	otherB, err := New(v.ctx, v.st, Options{Pepper: pepperB, Now: v.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	none, err := New(v.ctx, v.st, Options{Now: v.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range issued {
		s := k.Secret.Reveal()
		for _, e := range []*Engine{v.e, sameA} {
			p, err := e.Authenticate(v.ctx, s)
			if err != nil || p.Key != k.Key.ID {
				t.Errorf("engine with the same pepper: Authenticate(%s) = %s, %v", k.Key.ID, p.Key, err)
			}
		}
		_, err := otherB.Authenticate(v.ctx, s)
		wantErr(t, "engine with another pepper", err, ErrUnauthenticated)
		_, err = none.Authenticate(v.ctx, s)
		wantErr(t, "engine with no pepper", err, ErrUnauthenticated)
		_, err = otherB.AuthenticateAgent(v.ctx, s, c.Cluster.ID)
		wantErr(t, "engine with another pepper: AuthenticateAgent", err, ErrUnauthenticated)
		_, err = otherB.AuthenticateAPI(v.ctx, s, Target{Workspace: ws.ID})
		wantErr(t, "engine with another pepper: AuthenticateAPI", err, ErrUnauthenticated)
	}

	// The other way round: a key issued without a pepper is refused by a
	// peppered engine.
	plain, err := none.CreateApplicationKey(v.ctx, ws.ID, "akn_plain", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := none.Authenticate(v.ctx, plain.Secret.Reveal()); err != nil {
		t.Errorf("unpeppered engine refuses its own key: %v", err)
	}
	_, err = v.e.Authenticate(v.ctx, plain.Secret.Reveal())
	wantErr(t, "peppered engine, unpeppered key", err, ErrUnauthenticated)
}

// conflictStore fails every Commit with store.ErrConflict once armed.
type conflictStore struct {
	store.Store
	mu      sync.Mutex
	armed   bool
	commits int
}

func (s *conflictStore) Commit(ctx context.Context, b *store.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.armed {
		return s.Store.Commit(ctx, b)
	}
	s.commits++
	return store.ErrConflict
}

func TestMaxAttempts(t *testing.T) {
	for _, tc := range []struct{ opt, want int }{{0, 16}, {-1, 16}, {1, 1}, {3, 3}} {
		t.Run(fmt.Sprint(tc.opt), func(t *testing.T) {
			mem := memstore.New()
			defer mem.Close()
			st := &conflictStore{Store: mem}
			e, err := New(t.Context(), st, Options{MaxAttempts: tc.opt})
			if err != nil {
				t.Fatal(err)
			}
			st.armed = true
			_, err = e.CreateAccount(t.Context(), "acme")
			wantErr(t, "CreateAccount under constant conflicts", err, store.ErrConflict)
			if st.commits != tc.want {
				t.Errorf("CreateAccount tried %d commits, want %d", st.commits, tc.want)
			}
		})
	}
}

// TestContextCanceled calls every method that reads or writes the store
// with a cancelled context: each returns context.Canceled (and no verdict
// of its own), and nothing is written.
func TestContextCanceled(t *testing.T) {
	v := newEngine(t)
	a := v.account("acme")
	ws := v.workspace(a.ID, "prod")
	c := v.cluster(ws.ID, "orders", cluster.BYOC)
	app := v.appKey(ws.ID)
	acct := v.accountKey(a.ID)
	agent := *c.AgentKey
	pApp, pAgent := v.authn(app), v.authn(agent)
	_ = acct

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	e := v.e
	calls := []struct {
		name string
		call func() error
	}{
		{"CreateAccount", func() error { _, err := e.CreateAccount(ctx, "x"); return err }},
		{"GetAccount", func() error { _, err := e.GetAccount(ctx, a.ID); return err }},
		{"ListAccounts", func() error { _, err := e.ListAccounts(ctx); return err }},
		{"CreateWorkspace", func() error { _, err := e.CreateWorkspace(ctx, a.ID, "x"); return err }},
		{"GetWorkspace", func() error { _, err := e.GetWorkspace(ctx, ws.ID); return err }},
		{"ListWorkspaces", func() error { _, err := e.ListWorkspaces(ctx, a.ID); return err }},
		{"CreateCluster", func() error {
			_, err := e.CreateCluster(ctx, ws.ID, ClusterSpec{Name: "x", Type: cluster.BYOC})
			return err
		}},
		{"GetCluster", func() error { _, err := e.GetCluster(ctx, c.Cluster.ID); return err }},
		{"ListClusters", func() error { _, err := e.ListClusters(ctx, ws.ID); return err }},
		{"SetClusterSASL", func() error { _, err := e.SetClusterSASL(ctx, c.Cluster.ID, cluster.SASLRequired); return err }},
		{"DeleteCluster", func() error { return e.DeleteCluster(ctx, c.Cluster.ID) }},
		{"CreateApplicationKey", func() error {
			_, err := e.CreateApplicationKey(ctx, ws.ID, "akn_x", time.Time{})
			return err
		}},
		{"CreateAgentKey", func() error {
			_, err := e.CreateAgentKey(ctx, ws.ID, c.Cluster.ID, "akn_x", time.Time{})
			return err
		}},
		{"CreateAccountKey", func() error { _, err := e.CreateAccountKey(ctx, a.ID, "akn_x", time.Time{}); return err }},
		{"CreateKey", func() error {
			_, err := e.CreateKey(ctx, KeySpec{Name: "akn_x", Grant: Grant{Workspace: ws.ID, Principal: KindAgent, Resource: VirtualCluster, ResourceID: AnyID}})
			return err
		}},
		{"GetKey", func() error { _, err := e.GetKey(ctx, app.Key.ID); return err }},
		{"ListKeys(account)", func() error { _, err := e.ListKeys(ctx, KeyFilter{Account: a.ID}); return err }},
		{"ListKeys(workspace)", func() error { _, err := e.ListKeys(ctx, KeyFilter{Workspace: ws.ID}); return err }},
		{"ListKeys(cluster)", func() error { _, err := e.ListKeys(ctx, KeyFilter{Cluster: c.Cluster.ID}); return err }},
		{"DeleteKey", func() error { return e.DeleteKey(ctx, app.Key.ID) }},
		{"Authenticate", func() error { _, err := e.Authenticate(ctx, app.Secret.Reveal()); return err }},
		{"AuthenticateAPI", func() error {
			_, err := e.AuthenticateAPI(ctx, app.Secret.Reveal(), Target{Workspace: ws.ID})
			return err
		}},
		{"AuthenticateAgent", func() error {
			_, err := e.AuthenticateAgent(ctx, agent.Secret.Reveal(), c.Cluster.ID)
			return err
		}},
		{"Authorize(workspace)", func() error { return e.Authorize(ctx, pApp, Target{Workspace: ws.ID}) }},
		{"Authorize(cluster)", func() error { return e.Authorize(ctx, pApp, Target{Cluster: c.Cluster.ID}) }},
		{"AuthorizeAgent", func() error { return e.AuthorizeAgent(ctx, pAgent, c.Cluster.ID) }},
	}
	for _, tc := range calls {
		v.unchanged(tc.name, func() {
			wantErr(t, tc.name+" with a cancelled context", tc.call(), context.Canceled)
		})
	}
	// Everything is still there and works with a live context.
	if _, err := e.AuthenticateAgent(v.ctx, agent.Secret.Reveal(), c.Cluster.ID); err != nil {
		t.Errorf("after the cancelled calls: AuthenticateAgent: %v", err)
	}
	if _, err := e.AuthenticateAPI(v.ctx, app.Secret.Reveal(), Target{Workspace: ws.ID}); err != nil {
		t.Errorf("after the cancelled calls: AuthenticateAPI: %v", err)
	}
}

// TestRefusalsAreDistinct checks the sentinels themselves and an error of
// every refusal the engine can give: none matches both
// ErrUnauthenticated and ErrPermissionDenied.
func TestRefusalsAreDistinct(t *testing.T) {
	for i, a := range sentinels {
		for j, b := range sentinels {
			if i != j && errors.Is(a, b) {
				t.Errorf("sentinel %v matches %v", a, b)
			}
		}
	}
	v := newEngine(t)
	a := v.account("acme")
	ws := v.workspace(a.ID, "prod")
	other := v.workspace(a.ID, "staging")
	c := v.cluster(ws.ID, "orders", cluster.BYOC)
	sl := v.cluster(ws.ID, "hosted", cluster.Serverless)
	app := v.appKey(ws.ID)
	agent := *c.AgentKey
	s := app.Secret.Reveal()

	var errs []error
	add := func(_ any, err error) { errs = append(errs, err) }
	add(v.e.Authenticate(v.ctx, ""))
	add(v.e.Authenticate(v.ctx, s[:len(s)-1]))
	add(v.e.Authenticate(v.ctx, "aks_"+strings.Repeat("0", 64)))
	add(v.e.AuthenticateAPI(v.ctx, agent.Secret.Reveal(), Target{Workspace: ws.ID}))
	add(v.e.AuthenticateAPI(v.ctx, s, Target{Account: a.ID}))
	add(v.e.AuthenticateAPI(v.ctx, s, Target{Workspace: other.ID}))
	add(v.e.AuthenticateAgent(v.ctx, s, c.Cluster.ID))
	add(v.e.AuthenticateAgent(v.ctx, agent.Secret.Reveal(), sl.Cluster.ID))
	exp, err := v.e.CreateApplicationKey(v.ctx, ws.ID, "akn_short", t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	pExp := v.authn(exp)
	v.clock.Advance(time.Minute)
	add(v.e.Authenticate(v.ctx, exp.Secret.Reveal()))
	add(nil, v.e.Authorize(v.ctx, pExp, Target{Workspace: ws.ID}))
	if err := v.e.DeleteKey(v.ctx, app.Key.ID); err != nil {
		t.Fatal(err)
	}
	add(v.e.Authenticate(v.ctx, s))
	for _, err := range errs {
		unauth, denied := errors.Is(err, ErrUnauthenticated), errors.Is(err, ErrPermissionDenied)
		if unauth == denied {
			t.Errorf("refusal %v: ErrUnauthenticated %v, ErrPermissionDenied %v; want exactly one", err, unauth, denied)
		}
	}
}
