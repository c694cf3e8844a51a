package auth

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/streamauth/streamauth/cluster"
	"github.com/streamauth/streamauth/internal/record"
	"github.com/streamauth/streamauth/keys"
	"github.com/streamauth/streamauth/store"
	"github.com/streamauth/streamauth/store/memstore"
	"pgregory.net/rapid"
)

func scopeFor(i int) clusterScope {
	var a, w [keys.UUIDSize]byte
	a[0], w[0] = byte(i), byte(i>>8)
	return clusterScope{account: keys.AccountIDFromArray(a), workspace: keys.WorkspaceIDFromArray(w), typ: uint8(i % 3)}
}

// TestScopesProperty runs random inserts, deletes (begin and end) and
// lookups on a small clusterScopes against a map, through its growth from
// the first table size to its largest and past it (where entries replace
// others): a lookup never finds a cluster that was not inserted or that a
// delete has forgotten, never returns another cluster's scope, and an
// insert made with an epoch older than the last delete, or while the
// cluster's delete is in flight, is refused. Until the table first reaches
// its largest size, every accepted insert is found.
func TestScopesProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := newClusterScopes(rapid.SampledFrom([]int{8, 64, 256}).Draw(t, "capacity"))
		// Ids from a seed rapid draws, so that a failure replays: random
		// ids, as issued ones are, or ids that differ in two bytes only.
		seed := rapid.Uint64().Draw(t, "seed")
		crowd := rapid.Bool().Draw(t, "crowd")
		rng := rand.New(rand.NewPCG(seed, seed))
		ids := make([]keys.ClusterID, rapid.IntRange(1, 600).Draw(t, "clusters"))
		for i := range ids {
			var b [keys.UUIDSize]byte
			if crowd {
				b[7], b[15] = byte(i), byte(i>>8)
			} else {
				for j := range b {
					b[j] = byte(rng.Uint32())
				}
				b[15] = byte(i) // distinct from the other ids
				b[14] = byte(i >> 8)
			}
			ids[i] = keys.ClusterIDFromArray(b)
		}
		model := map[keys.ClusterID]clusterScope{}
		pending := map[keys.ClusterID]bool{}
		var inFlight []keys.ClusterID
		reachedMax := false
		n := rapid.IntRange(1, 2000).Draw(t, "steps")
		for range n {
			i := rapid.IntRange(0, len(ids)-1).Draw(t, "id")
			id := ids[i]
			switch rapid.IntRange(0, 9).Draw(t, "op") {
			case 0, 1, 2, 3, 4: // insert, with the current or an old epoch
				epoch := c.epoch.Load()
				stale := epoch > 0 && rapid.IntRange(0, 9).Draw(t, "stale") == 0
				if stale {
					epoch--
				}
				c.insert(id, scopeFor(i), epoch)
				if !stale && !pending[id] {
					model[id] = scopeFor(i)
				}
			case 5: // begin a write of id
				c.begin([]keys.ClusterID{id})
				delete(model, id)
				pending[id] = true
				inFlight = append(inFlight, id)
			case 6: // end the oldest write in flight
				if len(inFlight) > 0 {
					c.end(inFlight[:1])
					still := false
					for _, other := range inFlight[1:] {
						still = still || other == inFlight[0]
					}
					pending[inFlight[0]] = still
					inFlight = inFlight[1:]
				}
			default:
			}
			tab := c.tab.Load()
			reachedMax = reachedMax || len(tab.slots) == c.maxSlots
			if len(tab.slots) > c.maxSlots || len(tab.slots) == c.maxSlots && 2*tab.live > len(tab.slots) {
				t.Fatalf("%d entries in a table of %d slots, at most %d slots and half of them full allowed", tab.live, len(tab.slots), c.maxSlots)
			}
			for j, id := range ids {
				got, ok := c.lookup(id)
				want, inModel := model[id]
				if ok && (!inModel || got != want) {
					t.Fatalf("lookup of cluster %d = %+v, found; the model holds %+v, %v", j, got, want, inModel)
				}
				if !ok && inModel && !reachedMax {
					t.Fatalf("cluster %d not found in a table of %d slots, below its largest (%d)", j, len(tab.slots), c.maxSlots)
				}
			}
		}
	})
}

// newClusterIDs returns n new cluster ids.
func newClusterIDs(t *testing.T, n int) []keys.ClusterID {
	t.Helper()
	ids := make([]keys.ClusterID, n)
	for i := range ids {
		id, err := keys.NewClusterID()
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	return ids
}

// TestScopesKeepWhatFits inserts 1,000 clusters into a clusterScopes with
// room for 16,384 and finds all of them: below its largest size, a table
// grows rather than lose an entry.
func TestScopesKeepWhatFits(t *testing.T) {
	c := newClusterScopes(scopeCap)
	ids := newClusterIDs(t, 1000)
	for i, id := range ids {
		c.insert(id, scopeFor(i), c.epoch.Load())
	}
	found := 0
	for i, id := range ids {
		if s, ok := c.lookup(id); ok {
			if s != scopeFor(i) {
				t.Fatalf("cluster %d: scope %+v, want %+v", i, s, scopeFor(i))
			}
			found++
		}
	}
	if found != len(ids) {
		t.Fatalf("found %d of %d clusters, want all", found, len(ids))
	}
	if got := len(c.tab.Load().slots); got > c.maxSlots {
		t.Fatalf("table of %d slots, more than the %d allowed", got, c.maxSlots)
	}
}

// scopeEnv is an engine over a counting memory store with one workspace
// holding a BYOC cluster, an application key and the cluster's agent key.
type scopeEnv struct {
	*testEnv
	s     *CountingStore
	cl    CreatedCluster
	app   Principal
	agent Principal
}

func newScopeEnv(t *testing.T, opts Options, wrap func(store.Store) store.Store) *scopeEnv {
	t.Helper()
	var inner store.Store = memstore.New()
	if wrap != nil {
		inner = wrap(inner)
	}
	cs := &CountingStore{Store: inner}
	t.Cleanup(func() { cs.Close() })
	clock := &testClock{now: t0}
	opts.Now = clock.Now
	e, err := New(t.Context(), cs, opts)
	if err != nil {
		t.Fatal(err)
	}
	v := &scopeEnv{testEnv: &testEnv{t: t, ctx: t.Context(), e: e, clock: clock}, s: cs}
	ws := v.workspace(v.account("acct").ID, "ws")
	v.cl = v.cluster(ws.ID, "c1", cluster.BYOC)
	v.app, v.agent = v.authn(v.appKey(ws.ID)), v.authn(*v.cl.AgentKey)
	return v
}

// authorize asks both authorization questions about v's cluster and
// returns their answers.
func (v *scopeEnv) authorize() (api, agent error) {
	api = v.e.Authorize(v.ctx, v.app, Target{Cluster: v.cl.Cluster.ID})
	agent = v.e.AuthorizeAgent(v.ctx, v.agent, v.cl.Cluster.ID)
	return api, agent
}

func (v *scopeEnv) wantAuthorized(what string, wantErr error) {
	v.t.Helper()
	api, agent := v.authorize()
	for _, got := range []error{api, agent} {
		if wantErr == nil && got != nil || wantErr != nil && !errors.Is(got, wantErr) {
			v.t.Fatalf("%s: Authorize, AuthorizeAgent = %v, %v; want %v", what, api, agent, wantErr)
		}
	}
}

// TestScopesAnswerWithoutRead checks that a cluster's second authorization
// reads nothing from the store, and that an engine made with Shared reads
// it every time.
func TestScopesAnswerWithoutRead(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) {
			v := newScopeEnv(t, Options{Shared: shared}, nil)
			v.wantAuthorized("first", nil)
			before := v.s.Gets.Load()
			v.wantAuthorized("second", nil)
			reads := v.s.Gets.Load() - before
			if want := map[bool]int64{false: 0, true: 2}[shared]; reads != want {
				t.Fatalf("second authorizations read the store %d times, want %d", reads, want)
			}
		})
	}
}

// TestScopesDeleteBetweenReadAndInsert puts a DeleteCluster between an
// authorization's store read and its insert: the authorization itself may
// succeed (it read before the delete), but every one after must be refused.
// The same run with the epoch check off must fail, which shows the test
// can see the race it guards against.
func TestScopesDeleteBetweenReadAndInsert(t *testing.T) {
	for _, broken := range []bool{false, true} {
		t.Run(fmt.Sprintf("broken=%v", broken), func(t *testing.T) {
			v := newScopeEnv(t, Options{}, nil)
			v.e.scopes.ignoreEpoch = broken
			fired := false
			v.e.scopes.afterRead = func() {
				if fired {
					return
				}
				fired = true
				if err := v.e.DeleteCluster(v.ctx, v.cl.Cluster.ID); err != nil {
					t.Errorf("DeleteCluster: %v", err)
				}
			}
			if err := v.e.Authorize(v.ctx, v.app, Target{Cluster: v.cl.Cluster.ID}); err != nil {
				t.Fatalf("the authorization that read before the delete: %v", err)
			}
			err := v.e.Authorize(v.ctx, v.app, Target{Cluster: v.cl.Cluster.ID})
			switch {
			case broken && err == nil:
				t.Logf("the broken cache authorized on the deleted cluster, as expected")
			case broken:
				t.Fatalf("the broken cache refused (%v): the test cannot see the race", err)
			case !errors.Is(err, ErrPermissionDenied):
				t.Fatalf("Authorize after the delete = %v, want ErrPermissionDenied", err)
			}
		})
	}
}

// afterCommitStore runs hook after each Commit has reached the store and
// before Commit returns to the engine.
type afterCommitStore struct {
	store.Store
	hook func()
}

func (s *afterCommitStore) Commit(ctx context.Context, b *store.Batch) error {
	err := s.Store.Commit(ctx, b)
	if s.hook != nil {
		s.hook()
	}
	return err
}

// TestScopesInFlightDeleteReadsStore checks the window of a DeleteCluster
// whose commit has reached the store but not yet returned: an
// authorization then reads the store, and so is refused, even though the
// cluster's scope was remembered before.
func TestScopesInFlightDeleteReadsStore(t *testing.T) {
	var hs *afterCommitStore
	v := newScopeEnv(t, Options{}, func(s store.Store) store.Store {
		hs = &afterCommitStore{Store: s}
		return hs
	})
	v.wantAuthorized("before the delete", nil)
	checked := false
	hs.hook = func() {
		hs.hook = nil
		checked = true
		v.wantAuthorized("while the delete returns", ErrPermissionDenied)
	}
	if err := v.e.DeleteCluster(v.ctx, v.cl.Cluster.ID); err != nil {
		t.Fatal(err)
	}
	if !checked {
		t.Fatal("the commit hook did not run")
	}
}

// TestScopesFollowEveryClusterWrite checks what each kind of write of a
// cluster record does to its remembered scope: a rewrite (a new SASL
// policy; a generation bumped by a new agent key; an agent's snapshot
// replacing it, in its batch or staged) keeps it, and a delete, in the
// batch (DeleteCluster) or staged (listed in write.deletedClusters), drops
// it.
func TestScopesFollowEveryClusterWrite(t *testing.T) {
	v := newScopeEnv(t, Options{}, nil)
	id := v.cl.Cluster.ID
	remembered := func() bool {
		_, ok := v.e.scopes.lookup(id)
		return ok
	}
	staged := func(c change) func() error {
		return func() error {
			var w write
			addChanges(&w, []change{c}, false)
			if w.Len() != 0 {
				t.Errorf("staged changes put %d ops in the batch", w.Len())
			}
			return v.e.commit(v.ctx, &w)
		}
	}
	ck := record.ClusterKey(id)
	for _, tc := range []struct {
		name  string
		write func() error
		drops bool
	}{
		{"SetClusterSASL", func() error {
			_, err := v.e.SetClusterSASL(v.ctx, id, cluster.SASLRequired)
			return err
		}, false},
		{"CreateAgentKey", func() error {
			_, err := v.e.CreateAgentKey(v.ctx, v.cl.Cluster.Workspace, id, "akn_more", time.Time{})
			return err
		}, false},
		{"a replacement in the batch", func() error {
			raw, err := v.s.Get(v.ctx, ck)
			if err != nil {
				return err
			}
			var w write
			addChanges(&w, []change{{key: ck, value: raw, gone: true}}, true)
			return v.e.commit(v.ctx, &w)
		}, false},
		{"a staged replacement", staged(change{key: ck, value: []byte("staged"), gone: true}), false},
		{"a staged delete", staged(change{key: ck, gone: true, del: true}), true},
		{"DeleteCluster", func() error { return v.e.DeleteCluster(v.ctx, id) }, true},
	} {
		v.wantAuthorized(tc.name+": before", nil)
		if !remembered() {
			t.Fatalf("%s: the cluster's scope is not remembered after an authorization", tc.name)
		}
		if err := tc.write(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := !remembered(); got != tc.drops {
			t.Fatalf("%s: the scope dropped = %v, want %v", tc.name, got, tc.drops)
		}
	}
	v.wantAuthorized("after DeleteCluster", ErrPermissionDenied)
}

// TestScopesConcurrent runs lookups against inserts, writes and the table's
// growth from other goroutines (under -race in CI, which checks that
// lookups read only what writers published), then checks that the
// clusters whose writes ended last are not found.
func TestScopesConcurrent(t *testing.T) {
	c := newClusterScopes(256)
	ids := newClusterIDs(t, 1024)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for r := range 2 {
		wg.Go(func() {
			for i := r; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				j := i % len(ids)
				if s, ok := c.lookup(ids[j]); ok && s != scopeFor(j) {
					t.Errorf("cluster %d: scope %+v, want %+v", j, s, scopeFor(j))
					return
				}
			}
		})
	}
	for round := range 20 {
		for i, id := range ids {
			c.insert(id, scopeFor(i), c.epoch.Load())
		}
		gone := ids[round*16 : round*16+16]
		c.begin(gone)
		c.end(gone)
	}
	close(stop)
	wg.Wait()
	for _, id := range ids[19*16 : 20*16] {
		if _, ok := c.lookup(id); ok {
			t.Fatalf("a cluster whose write ended is still found")
		}
	}
}
