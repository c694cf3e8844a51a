package auth

import (
	"bytes"
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
)

// hotFixture is an engine over a counting memory store with one workspace.
type hotFixture struct {
	s  *CountingStore
	e  *Engine
	ws keys.WorkspaceID
}

func newHotFixture(t *testing.T, opts Options) *hotFixture {
	t.Helper()
	return newHotFixtureOn(t, memstore.New(), opts)
}

// newHotFixtureOn is newHotFixture over s, which it closes at the end of
// the test.
func newHotFixtureOn(t *testing.T, s store.Store, opts Options) *hotFixture {
	t.Helper()
	ctx := context.Background()
	f := &hotFixture{s: &CountingStore{Store: s}}
	t.Cleanup(func() { f.s.Close() })
	var err error
	if f.e, err = New(ctx, f.s, opts); err != nil {
		t.Fatal(err)
	}
	acct, err := f.e.CreateAccount(ctx, "acct")
	if err != nil {
		t.Fatal(err)
	}
	w, err := f.e.CreateWorkspace(ctx, acct.ID, "ws")
	if err != nil {
		t.Fatal(err)
	}
	f.ws = w.ID
	return f
}

func (f *hotFixture) createKeys(t *testing.T, n int) []IssuedKey {
	t.Helper()
	out := make([]IssuedKey, n)
	for i := range out {
		k, err := f.e.CreateApplicationKey(context.Background(), f.ws, "akn_k", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		out[i] = k
	}
	return out
}

// TestIndexRefusesUnknownWithoutRead: a flood of well-formed but made-up
// secrets reaches the store for fewer than 1% of them (in practice none),
// on a fresh engine and on one that rebuilt its index from the store.
func TestIndexRefusesUnknownWithoutRead(t *testing.T) {
	ctx := context.Background()
	f := newHotFixture(t, Options{})
	f.createKeys(t, 1000)
	const flood = 100_000
	check := func(t *testing.T, e *Engine) {
		before := f.s.Gets.Load()
		for range flood {
			s, err := keys.NewSecret()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.Authenticate(ctx, s.Reveal()); !errors.Is(err, ErrUnauthenticated) {
				t.Fatalf("made-up secret: %v, want ErrUnauthenticated", err)
			}
		}
		reads := f.s.Gets.Load() - before
		t.Logf("%d of %d unknown secrets read the store", reads, flood)
		if reads*100 > flood {
			t.Fatalf("%d of %d unknown secrets read the store, want under 1%%", reads, flood)
		}
	}
	t.Run("fresh", func(t *testing.T) { check(t, f.e) })
	t.Run("reopened", func(t *testing.T) {
		e, err := New(ctx, f.s, Options{})
		if err != nil {
			t.Fatal(err)
		}
		check(t, e)
	})
}

// TestCacheAnswersWithoutRead: a key that authenticated once authenticates
// again with no store read; a revocation drops it before DeleteKey
// returns; an expiry is checked on cached keys too; without the cache every
// lookup reads.
func TestCacheAnswersWithoutRead(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_800_000_000, 0)
	f := newHotFixture(t, Options{Now: func() time.Time { return now }})
	k, err := f.e.CreateApplicationKey(ctx, f.ws, "akn_k", now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	secret := k.Secret.Reveal()
	mustAuth := func(wantReads int64, wantErr error) {
		t.Helper()
		before := f.s.Gets.Load()
		_, err := f.e.Authenticate(ctx, secret)
		if !errors.Is(err, wantErr) {
			t.Fatalf("Authenticate: %v, want %v", err, wantErr)
		}
		if got := f.s.Gets.Load() - before; got != wantReads {
			t.Fatalf("Authenticate read the store %d times, want %d", got, wantReads)
		}
	}
	mustAuth(1, nil) // first lookup reads and caches
	mustAuth(0, nil) // then the cache answers
	now = now.Add(2 * time.Hour)
	mustAuth(0, ErrUnauthenticated) // expired, from the cache
	now = now.Add(-2 * time.Hour)
	if err := f.e.DeleteKey(ctx, k.Key.ID); err != nil {
		t.Fatal(err)
	}
	mustAuth(0, ErrUnauthenticated) // the index no longer holds it

	g := newHotFixture(t, Options{CacheSize: -1})
	k2 := g.createKeys(t, 1)[0]
	for range 3 {
		before := g.s.Gets.Load()
		if _, err := g.e.Authenticate(ctx, k2.Secret.Reveal()); err != nil {
			t.Fatal(err)
		}
		if g.s.Gets.Load()-before != 1 {
			t.Fatal("with no cache, a lookup must read the store")
		}
	}
}

// TestCacheBounded: the cache never holds more than its size, and it
// fills: keys spread unevenly over the shards, so the bound is on the
// total.
func TestCacheBounded(t *testing.T) {
	ctx := context.Background()
	f := newHotFixture(t, Options{CacheSize: 128})
	for _, k := range f.createKeys(t, 2000) {
		if _, err := f.e.Authenticate(ctx, k.Secret.Reveal()); err != nil {
			t.Fatal(err)
		}
	}
	cached := f.e.hot.cacheLen()
	if cached > 128 {
		t.Fatalf("cache holds %d keys, capacity 128", cached)
	}
	if cached != 128 || f.e.hot.cached.Load() != 128 {
		t.Fatalf("cache holds %d keys (counted %d) after 2000 lookups, want 128", cached, f.e.hot.cached.Load())
	}
	// Every key of a fixture that fits is cached.
	g := newHotFixture(t, Options{CacheSize: 500})
	issued := g.createKeys(t, 500)
	for _, k := range issued {
		if _, err := g.e.Authenticate(ctx, k.Secret.Reveal()); err != nil {
			t.Fatal(err)
		}
	}
	before := g.s.Gets.Load()
	for _, k := range issued {
		if _, err := g.e.Authenticate(ctx, k.Secret.Reveal()); err != nil {
			t.Fatal(err)
		}
	}
	if n := g.s.Gets.Load() - before; n != 0 {
		t.Fatalf("%d of 500 keys fell out of a cache of 500", n)
	}
}

// TestHotKeysConfiguration: which engines keep an index and a cache.
func TestHotKeysConfiguration(t *testing.T) {
	ctx := context.Background()
	mem := memstore.New()
	defer mem.Close()
	disk := &CountingStore{Store: memstore.New()}
	defer disk.Close()
	for _, tc := range []struct {
		name     string
		s        store.Store
		opts     Options
		index    bool
		cacheCap int
	}{
		{"memory store", mem, Options{}, false, cacheEveryKey},
		{"memory store, no cache", mem, Options{CacheSize: -1}, false, 0},
		{"memory store, explicit cache", mem, Options{CacheSize: 640}, false, 640},
		{"other store", disk, Options{}, true, DefaultCacheSize},
		{"other store, no index", disk, Options{NoIndex: true}, false, DefaultCacheSize},
		{"other store, no cache", disk, Options{CacheSize: -1}, true, 0},
		{"shared", disk, Options{Shared: true, CacheSize: 100}, false, 0},
	} {
		e, err := New(ctx, tc.s, tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		var index bool
		var cacheCap int
		if e.hot != nil {
			index, cacheCap = e.hot.index, e.hot.cacheCap
		}
		if index != tc.index || cacheCap != tc.cacheCap {
			t.Errorf("%s: index %v, cache of %d; want %v, %d", tc.name, index, cacheCap, tc.index, tc.cacheCap)
		}
	}
}

// TestIndexExactUnderConcurrency: goroutines create and delete keys and
// delete clusters at once while others authenticate. While a key is
// acknowledged and not being deleted, it authenticates; once everything
// has returned, the index holds exactly the digest prefixes of the keys in
// the store, each once.
func TestIndexExactUnderConcurrency(t *testing.T) {
	ctx := context.Background()
	f := newHotFixture(t, Options{CacheSize: 256})
	var (
		mu   sync.Mutex
		live []IssuedKey // acknowledged, not yet handed to a deleter
	)
	take := func(r *rand.Rand) (IssuedKey, bool) {
		mu.Lock()
		defer mu.Unlock()
		if len(live) == 0 {
			return IssuedKey{}, false
		}
		i := r.IntN(len(live))
		k := live[i]
		live[i] = live[len(live)-1]
		live = live[:len(live)-1]
		return k, true
	}
	var wg sync.WaitGroup
	errc := make(chan error, 16)
	for g := range 4 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for i := range 300 {
				switch r.IntN(4) {
				case 0, 1:
					k, err := f.e.CreateApplicationKey(ctx, f.ws, "akn_k", time.Time{})
					if err != nil {
						errc <- err
						return
					}
					mu.Lock()
					live = append(live, k)
					mu.Unlock()
				case 2:
					k, ok := take(r)
					if !ok {
						continue
					}
					if _, err := f.e.Authenticate(ctx, k.Secret.Reveal()); err != nil {
						errc <- errors.New("a live key does not authenticate")
						return
					}
					if err := f.e.DeleteKey(ctx, k.Key.ID); err != nil {
						errc <- err
						return
					}
					if _, err := f.e.Authenticate(ctx, k.Secret.Reveal()); !errors.Is(err, ErrUnauthenticated) {
						errc <- errors.New("a deleted key still authenticates")
						return
					}
				case 3:
					c, err := f.e.CreateCluster(ctx, f.ws, ClusterSpec{Name: fmt.Sprintf("c%d-%d", g, i), Type: cluster.BYOC})
					if err != nil {
						errc <- err
						return
					}
					if err := f.e.DeleteCluster(ctx, c.Cluster.ID); err != nil {
						errc <- err
						return
					}
					if _, err := f.e.Authenticate(ctx, c.AgentKey.Secret.Reveal()); !errors.Is(err, ErrUnauthenticated) {
						errc <- errors.New("the agent key of a deleted cluster still authenticates")
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	checkIndexExact(t, f.e, f.s)
}

// checkIndexExact compares the engine's index with the hot records in s.
func checkIndexExact(t *testing.T, e *Engine, s store.Store) {
	t.Helper()
	want := map[uint64]int{}
	err := s.Scan(context.Background(), record.HashPrefix(), func(k, _ []byte) error {
		p, err := record.HashKeyPrefix(k)
		if err != nil {
			return err
		}
		want[foldPrefix(indexWord(p))]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[uint64]int{}
	for i := range e.hot.shards {
		for _, v := range e.hot.shards[i].live.slots {
			if v != 0 {
				got[v]++
			}
		}
		if n := len(e.hot.shards[i].pending); n != 0 {
			t.Errorf("shard %d: %d deletes still pending", i, n)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("index holds %d distinct prefixes, store %d", len(got), len(want))
	}
	for p, n := range want {
		if got[p] != n {
			t.Fatalf("prefix %#x: index holds %d, store %d", p, got[p], n)
		}
	}
	if n, counted := e.hot.cacheLen(), e.hot.cached.Load(); int64(n) != counted {
		t.Fatalf("cache holds %d keys, its counter says %d", n, counted)
	}
}

// TestIndexAfterFailedWrites (over engine_test.go's conflictStore): a
// delete that did not happen leaves its key
// live in the index; a create that did not happen leaves no prefix behind.
func TestIndexAfterFailedWrites(t *testing.T) {
	ctx := context.Background()
	cs := &conflictStore{Store: memstore.New()}
	f := newHotFixtureOn(t, cs, Options{MaxAttempts: 2, CacheSize: 16})
	k := f.createKeys(t, 1)[0]
	if _, err := f.e.Authenticate(ctx, k.Secret.Reveal()); err != nil {
		t.Fatal(err)
	}
	arm := func(on bool) {
		cs.mu.Lock()
		cs.armed = on
		cs.mu.Unlock()
	}
	arm(true) // every commit fails as a conflict: certainly not written
	if err := f.e.DeleteKey(ctx, k.Key.ID); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("DeleteKey over conflicting commits: %v, want ErrConflict", err)
	}
	if _, err := f.e.CreateApplicationKey(ctx, f.ws, "akn_k", time.Time{}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateApplicationKey over conflicting commits: %v, want ErrConflict", err)
	}
	arm(false)
	if _, err := f.e.Authenticate(ctx, k.Secret.Reveal()); err != nil {
		t.Fatalf("a key whose delete failed: %v", err)
	}
	checkIndexExact(t, f.e, cs)
}

// TestCacheComparesWholeDigest: a cached key answers only a digest equal
// to its own in all 32 bytes, not one that shares its 16-byte prefix and
// differs in any one byte after it. Every byte of the cached digest is
// nonzero, so a comparison that dropped or mixed up a word of the slot
// would miss the key itself.
func TestCacheComparesWholeDigest(t *testing.T) {
	h := newHotKeys(false, 16)
	var a [keys.DigestSize]byte
	for i := range a {
		a[i] = byte(i + 1)
	}
	da, _ := keys.DigestFromBytes(a[:])
	var out cacheRead
	_, epoch := h.lookup(&da, &out)
	var c cachedKey
	copy(c.digest[:], a[:])
	h.insert(da.Prefix(), &c, epoch)
	if v, _ := h.lookup(&da, &out); v != lookupHit {
		t.Fatalf("lookup of the cached digest: %v, want a hit", v)
	}
	for i := keys.PrefixSize; i < keys.DigestSize; i++ {
		b := a
		b[i] ^= 0x80
		db, _ := keys.DigestFromBytes(b[:])
		if v, _ := h.lookup(&db, &out); v != lookupStore {
			t.Fatalf("lookup of a digest sharing the prefix, byte %d changed: %v, want the store", i, v)
		}
	}
}

// TestStoreComparesWholeDigest: a hot record found under a secret's
// digest prefix but holding another digest does not authenticate it.
func TestStoreComparesWholeDigest(t *testing.T) {
	ctx := context.Background()
	for _, opts := range []Options{{CacheSize: -1, NoIndex: true}, {}} {
		f := newHotFixture(t, opts)
		k := f.createKeys(t, 1)[0]
		s, _ := keys.ParseSecret(k.Secret.Reveal())
		d := f.e.hasher.Digest(&s)
		var hk [1 + keys.PrefixSize]byte
		key := record.HashKey(&hk, d.Prefix())
		raw, err := f.s.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := record.DecodeKey(raw, mustMeta(t, f, k.Key.ID))
		if err != nil {
			t.Fatal(err)
		}
		rec.Digest[31] ^= 1 // same prefix, another digest
		var b store.Batch
		b.Put(key, record.AppendKey(nil, &rec))
		if err := f.s.Commit(ctx, &b); err != nil {
			t.Fatal(err)
		}
		if _, err := f.e.Authenticate(ctx, k.Secret.Reveal()); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("options %+v: a record of another digest authenticates: %v", opts, err)
		}
	}
}

func mustMeta(t *testing.T, f *hotFixture, id keys.KeyID) []byte {
	t.Helper()
	meta, err := f.s.Get(context.Background(), record.KeyByIDKey(id))
	if err != nil {
		t.Fatal(err)
	}
	return meta
}

// TestFakeSaltKeyRandom: every store gets its own random fake-salt key.
func TestFakeSaltKeyRandom(t *testing.T) {
	var zero [fakeKeyLen]byte
	var seen [][]byte
	for range 2 {
		e, err := New(t.Context(), memstore.New(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(e.fakeKey, zero[:]) {
			t.Fatal("fake-salt key is all zeros")
		}
		seen = append(seen, e.fakeKey)
	}
	if bytes.Equal(seen[0], seen[1]) {
		t.Fatal("two stores drew the same fake-salt key")
	}
}

// TestListKeysRacingDelete: a key deleted between a listing's scan and its
// read is left out, not reported as corruption.
func TestListKeysRacingDelete(t *testing.T) {
	ctx := context.Background()
	hs := &HookStore{Store: memstore.New()}
	f := newHotFixtureOn(t, hs, Options{Shared: true})
	k := f.createKeys(t, 1)[0]
	hs.Arm(record.KeyByIDKey(k.Key.ID), func() {
		if err := f.e.DeleteKey(ctx, k.Key.ID); err != nil {
			t.Error(err)
		}
	})
	got, err := f.e.ListKeys(ctx, KeyFilter{Workspace: f.ws})
	if !hs.Fired() {
		t.Fatal("the hook did not run")
	}
	if err != nil || len(got) != 0 {
		t.Fatalf("ListKeys racing a delete: %d keys, %v; want none, no error", len(got), err)
	}
}
