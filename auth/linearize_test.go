package auth

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/streamauth/streamauth/store"
	"github.com/streamauth/streamauth/store/memstore"
	"github.com/streamauth/streamauth/store/pebblestore"
)

// The cache's promise, checked here: Authenticate is linearizable with
// DeleteKey. Concretely, once DeleteKey returns, no lookup of the key
// succeeds, and a lookup that read the key before the delete cannot put it
// back into the cache after.
//
// Each round creates a few keys, then runs goroutines that authenticate
// them at random while another revokes them, each twice (the second delete
// is ErrNotFound). A hook between a lookup's store read and its cache
// insert yields the processor a random number of times, so that revocations
// land inside that window. The history goes to porcupine's linearizability
// checker against a model where a key is live until its first delete.
//
// A deliberately broken cache, which skips the epoch check on insert, must
// be caught by the same harness: that proves the test can fail.

func openMem(*testing.T) store.Store { return memstore.New() }

// openPebble opens a pebble store without syncs: a power loss is not what
// this test is about.
func openPebble(t *testing.T) store.Store {
	s, err := pebblestore.Open(t.TempDir(), pebblestore.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// linInput is an operation on key number key: a lookup, or a delete.
type linInput struct {
	key    int
	delete bool
}

// linModel is a key's life: live (true) until deleted. Authenticate
// succeeds exactly while it is live; DeleteKey succeeds exactly once.
var linModel = porcupine.Model{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[int][]porcupine.Operation{}
		for _, op := range h {
			k := op.Input.(linInput).key
			byKey[k] = append(byKey[k], op)
		}
		out := make([][]porcupine.Operation, 0, len(byKey))
		for _, ops := range byKey {
			out = append(out, ops)
		}
		return out
	},
	Init: func() any { return true },
	Step: func(state, input, output any) (bool, any) {
		live, in, ok := state.(bool), input.(linInput), output.(bool)
		if in.delete {
			return ok == live, false
		}
		return ok == live, live
	},
	DescribeOperation: func(input, output any) string {
		in := input.(linInput)
		verb := "authenticate"
		if in.delete {
			verb = "delete"
		}
		return fmt.Sprintf("%s key %d -> %v", verb, in.key, output)
	},
}

// linRound runs one round on e and returns its history.
func linRound(t *testing.T, e *Engine, f *hotFixture, seed uint64) []porcupine.Operation {
	t.Helper()
	ctx := context.Background()
	const nKeys, readers, lookups = 6, 3, 150
	issued := f.createKeys(t, nKeys)
	var (
		mu      sync.Mutex
		history []porcupine.Operation
	)
	start := time.Now()
	record := func(client int, in linInput, call time.Duration, ok bool) {
		mu.Lock()
		history = append(history, porcupine.Operation{
			ClientId: client, Input: in, Output: ok,
			Call: int64(call), Return: int64(time.Since(start)),
		})
		mu.Unlock()
	}
	var wg sync.WaitGroup
	errc := make(chan error, readers+1)
	for c := range readers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(seed, uint64(c)))
			for range lookups {
				k := r.IntN(nKeys)
				call := time.Since(start)
				_, err := e.Authenticate(ctx, issued[k].Secret.Reveal())
				if err != nil && !errors.Is(err, ErrUnauthenticated) {
					errc <- err
					return
				}
				record(c, linInput{key: k}, call, err == nil)
			}
		})
	}
	wg.Go(func() {
		r := rand.New(rand.NewPCG(seed, readers))
		order := append(r.Perm(nKeys), r.Perm(nKeys)...)
		for _, k := range order {
			for range r.IntN(200) {
				runtime.Gosched()
			}
			call := time.Since(start)
			err := e.DeleteKey(ctx, issued[k].Key.ID)
			if err != nil && !errors.Is(err, ErrNotFound) {
				errc <- err
				return
			}
			record(readers, linInput{key: k, delete: true}, call, err == nil)
		}
	})
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	return history
}

// linearizable runs rounds on an engine with the given options and reports
// the first round whose history is not linearizable, or -1.
func linearizable(t *testing.T, s store.Store, opts Options, broken bool, rounds int) int {
	f := newHotFixtureOn(t, s, opts)
	f.e.hot.ignoreEpoch = broken
	f.e.hot.afterRead = func() {
		for range rand.IntN(64) {
			runtime.Gosched()
		}
	}
	for i := range rounds {
		h := linRound(t, f.e, f, uint64(i))
		if porcupine.CheckOperationsTimeout(linModel, h, 30*time.Second) == porcupine.Illegal {
			return i
		}
	}
	return -1
}

func TestCacheLinearizable(t *testing.T) {
	rounds := 200
	if testing.Short() {
		rounds = 20
	}
	for _, tc := range []struct {
		name   string
		open   func(t *testing.T) store.Store
		opts   Options
		rounds int
	}{
		{"mem/cache and index", openMem, Options{CacheSize: 64}, rounds},
		{"mem/cache only", openMem, Options{CacheSize: 64, NoIndex: true}, rounds},
		{"mem/default, a cache of every key", openMem, Options{}, rounds},
		{"pebble/cache and index", openPebble, Options{CacheSize: 64}, rounds / 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if i := linearizable(t, tc.open(t), tc.opts, false, tc.rounds); i >= 0 {
				t.Fatalf("round %d: Authenticate and DeleteKey are not linearizable", i)
			}
		})
	}
}

// TestBrokenCacheCaught: the harness above catches a cache that lets a
// lookup put back a key it read before a revocation. The index is off, as
// over any store in memory: a lookup that met a writer in the cache asks
// the index before it looks again, and the index, which a revoked key's
// prefix leaves, would hide the stale entry from that lookup.
func TestBrokenCacheCaught(t *testing.T) {
	if i := linearizable(t, openMem(t), Options{CacheSize: 64, NoIndex: true}, true, 200); i < 0 {
		t.Fatal("a cache without the epoch check passed the linearizability check in 200 rounds")
	} else {
		t.Logf("caught in round %d", i)
	}
}
