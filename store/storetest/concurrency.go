package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streamauth/streamauth/store"
)

var concurrencyTests = []test{
	{"GuardedIncrements", testGuardedIncrements},
	{"ReadersWritersScanners", testReadersWritersScanners},
}

// Sizes of the concurrent tests: enough to interleave, small enough to run
// in well under a second under the race detector.
const (
	incrementers  = 8
	increments    = 50
	pairWriters   = 4
	pairWrites    = 400
	pairReaders   = 2
	pairReads     = 400
	pairScanners  = 2
	pairScans     = 60
	pairCount     = 16
	workerTimeout = 30 * time.Second
)

// testGuardedIncrements runs goroutines that each increment a counter with
// read, guarded commit, retry on conflict: no update may be lost.
func testGuardedIncrements(t *testing.T, open opener) {
	s := open(t)
	key := []byte("counter")
	workers := make([]func() error, incrementers)
	for i := range workers {
		workers[i] = func() error {
			for range increments {
				if err := increment(s, key); err != nil {
					return err
				}
			}
			return nil
		}
	}
	parallel(t, workers)
	wantValue(t, s, "counter", strconv.Itoa(incrementers*increments))
}

// increment adds one to the decimal counter at key, retrying on conflict.
func increment(s store.Store, key []byte) error {
	ctx := context.Background()
	for {
		old, err := s.Get(ctx, key)
		var b store.Batch
		n := 0
		switch {
		case errors.Is(err, store.ErrNotFound):
			b.RequireAbsent(key)
		case err != nil:
			return fmt.Errorf("get counter: %w", err)
		default:
			b.RequireValue(key, old)
			if n, err = strconv.Atoi(string(old)); err != nil {
				return fmt.Errorf("counter holds %q", old)
			}
		}
		b.Put(key, []byte(strconv.Itoa(n+1)))
		runtime.Gosched()
		err = s.Commit(ctx, &b)
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
}

// testReadersWritersScanners runs writers that always write the two keys of
// a pair in one batch, readers, and scanners that check that every scan is
// ordered and sees both keys of a pair with the same value, or neither.
func testReadersWritersScanners(t *testing.T, open opener) {
	s := open(t)
	var writing atomic.Int32
	writing.Store(pairWriters)
	busy := func(n, least int) bool { return n < least || writing.Load() > 0 }
	var workers []func() error
	for i := range pairWriters {
		workers = append(workers, func() error {
			defer writing.Add(-1)
			return writePairs(s, i)
		})
	}
	for i := range pairReaders {
		workers = append(workers, func() error { return readPairs(s, i, busy) })
	}
	for i := range pairScanners {
		workers = append(workers, func() error { return scanPairs(s, i, busy) })
	}
	parallel(t, workers)
	got := scan(t, s, "")
	if err := checkPairs(got); err != nil {
		t.Fatalf("final state: %v", err)
	}
}

// pairKeys returns the two keys of pair i.
func pairKeys(i int) (a, b []byte) {
	return fmt.Appendf(nil, "pair/%02d/a", i), fmt.Appendf(nil, "pair/%02d/b", i)
}

// writePairs puts, deletes or updates under guards random pairs.
func writePairs(s store.Store, id int) error {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(uint64(id), 1))
	for n := range pairWrites {
		ka, kb := pairKeys(rng.IntN(pairCount))
		v := fmt.Appendf(nil, "w%d-%d", id, n)
		var b store.Batch
		switch rng.IntN(3) {
		case 0:
			b.Put(ka, v).Put(kb, v)
		case 1:
			b.Delete(ka).Delete(kb)
		default:
			old, err := s.Get(ctx, ka)
			switch {
			case errors.Is(err, store.ErrNotFound):
				b.RequireAbsent(ka).RequireAbsent(kb)
			case err != nil:
				return fmt.Errorf("writer get: %w", err)
			default:
				b.RequireValue(ka, old).RequireValue(kb, old)
			}
			b.Put(kb, v).Put(ka, v)
		}
		if err := s.Commit(ctx, &b); err != nil && !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("writer commit: %w", err)
		}
	}
	return nil
}

// readPairs reads random keys of pairs, at least pairReads times and as
// long as writers are busy.
func readPairs(s store.Store, id int, busy func(n, least int) bool) error {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(uint64(id), 2))
	for n := 0; busy(n, pairReads); n++ {
		ka, kb := pairKeys(rng.IntN(pairCount))
		k := ka
		if rng.IntN(2) == 0 {
			k = kb
		}
		v, err := s.Get(ctx, k)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("reader get: %w", err)
		}
		if err == nil && !strings.HasPrefix(string(v), "w") {
			return fmt.Errorf("reader get %q = %q, a value never written", k, v)
		}
	}
	return nil
}

// scanPairs scans every pair, reading some keys back from inside the scan,
// and checks each scan's snapshot; it scans at least pairScans times and as
// long as writers are busy.
func scanPairs(s store.Store, id int, busy func(n, least int) bool) error {
	ctx := context.Background()
	prefixes := []string{"", "pair/", "pair/0"}
	for n := 0; busy(n, pairScans); n++ {
		prefix := prefixes[(n+id)%len(prefixes)]
		var got []kv
		err := s.Scan(ctx, []byte(prefix), func(k, v []byte) error {
			got = append(got, kv{string(k), string(v)})
			if len(got)%4 != 0 {
				return nil
			}
			if _, err := s.Get(ctx, k); err != nil && !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("get from inside scan: %w", err)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("scan %q: %w", prefix, err)
		}
		if err := checkPairs(got); err != nil {
			return fmt.Errorf("scan %q: %w", prefix, err)
		}
	}
	return nil
}

// checkPairs checks that a scan is strictly increasing and holds both keys
// of a pair, with equal values, or neither.
func checkPairs(got []kv) error {
	seen := make(map[string][]kv)
	for i, p := range got {
		if i > 0 && got[i-1].Key >= p.Key {
			return fmt.Errorf("keys out of order: %q then %q", got[i-1].Key, p.Key)
		}
		pair, _, ok := strings.Cut(strings.TrimPrefix(p.Key, "pair/"), "/")
		if !ok {
			return fmt.Errorf("unexpected key %q", p.Key)
		}
		seen[pair] = append(seen[pair], p)
	}
	for pair, ps := range seen {
		if len(ps) != 2 || ps[0].Value != ps[1].Value {
			return fmt.Errorf("pair %s torn: %q", pair, ps)
		}
	}
	return nil
}

// parallel runs workers concurrently and reports their errors; it fails the
// test if they do not all finish in time.
func parallel(t *testing.T, workers []func() error) {
	t.Helper()
	errs := make(chan error, len(workers))
	for _, w := range workers {
		go func() { errs <- w() }()
	}
	timeout := time.After(workerTimeout)
	for range workers {
		select {
		case err := <-errs:
			if err != nil {
				t.Error(err)
			}
		case <-timeout:
			t.Fatalf("workers did not finish within %v: deadlock?", workerTimeout)
		}
	}
}
