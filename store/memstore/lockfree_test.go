package memstore_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/streamauth/streamauth/store"
	"github.com/streamauth/streamauth/store/memstore"
)

// TestGetDuringCommits checks Get, which takes no lock, against commits
// that grow, split and shrink the hash table under it:
//
//   - keys put once before the readers start, and never written again,
//     are found with their value by every Get, whichever table rebuild or
//     directory split is under way;
//   - two keys a and b, written together by every commit with the
//     commit's number, are seen in order: a Get of b after a Get of a
//     returns a number no smaller (a Get sees all of a commit or none of
//     it, and nothing older than what it has already seen);
//   - and after Close, Get fails with ErrClosed.
//
// Run with -race, it also checks that every read without the lock is
// atomic or of an entry published before it.
func TestGetDuringCommits(t *testing.T) {
	ctx := context.Background()
	s := memstore.New()
	const stable = 300
	b := new(store.Batch)
	for i := range stable {
		b.Put(fmt.Appendf(nil, "stable-%d", i), fmt.Appendf(nil, "value-%d", i))
	}
	if err := s.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}
	counter := func(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }
	keyA, keyB := []byte("pair-a"), []byte("pair-b")

	commits := 400
	if testing.Short() {
		commits = 100
	}
	var (
		wg      sync.WaitGroup
		done    atomic.Bool
		reads   atomic.Int64
		failure = make(chan error, 8)
	)
	fail := func(err error) {
		select {
		case failure <- err:
		default:
		}
	}
	for r := range 3 {
		wg.Go(func() {
			for i := 0; !done.Load(); i++ {
				k := fmt.Appendf(nil, "stable-%d", (i*7+r)%stable)
				v, err := s.Get(ctx, k)
				if err != nil || string(v) != "value-"+string(k[len("stable-"):]) {
					fail(fmt.Errorf("Get(%s) = %q, %v during commits", k, v, err))
					return
				}
				va, errA := s.Get(ctx, keyA)
				vb, errB := s.Get(ctx, keyB)
				if errors.Is(errA, store.ErrNotFound) {
					continue // before the first commit of the pair
				}
				if errA != nil || errB != nil {
					fail(fmt.Errorf("Get of the pair: %v, %v", errA, errB))
					return
				}
				if binary.BigEndian.Uint64(vb) < binary.BigEndian.Uint64(va) {
					fail(fmt.Errorf("read a = %d, then b = %d: a commit seen in part", binary.BigEndian.Uint64(va), binary.BigEndian.Uint64(vb)))
					return
				}
				reads.Add(1)
			}
		})
	}
	// Each commit writes the pair and puts or deletes a run of filler
	// keys: the table grows through several rebuilds and splits, then
	// shrinks back.
	const filler = 40
	for c := range commits {
		b := new(store.Batch)
		b.Put(keyA, counter(uint64(c)))
		b.Put(keyB, counter(uint64(c)))
		for j := range filler {
			k := fmt.Appendf(nil, "filler-%d", (c%(commits/2))*filler+j)
			if c < commits/2 {
				b.Put(k, k)
			} else {
				b.Delete(k)
			}
		}
		if err := s.Commit(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	done.Store(true)
	wg.Wait()
	select {
	case err := <-failure:
		t.Fatal(err)
	default:
	}
	if reads.Load() == 0 {
		t.Fatal("no reader completed a read of the pair")
	}
	if n := s.Len(); n != stable+2 {
		t.Fatalf("Len = %d after the fillers were deleted, want %d", n, stable+2)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, []byte("stable-1")); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Get after Close = %v, want ErrClosed", err)
	}
}
