package memstore_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/streamauth/streamauth/store"
	"github.com/streamauth/streamauth/store/memstore"
)

// firstError keeps the first error that readers report.
type firstError struct {
	once sync.Once
	err  error
}

func (f *firstError) set(err error) { f.once.Do(func() { f.err = err }) }

// TestGetDuringCommits checks Get, which takes no lock, against commits
// that grow the hash table through rebuilds, splits and a directory
// doubling, then shrink it again. Each commit c (numbered from 1) writes
// two keys, a and b, with c, and puts (in the first half) or deletes (in
// the second) a run of filler keys. Readers check that:
//
//   - keys put before they start, and never written again, are always
//     found with their value;
//   - a Get that begins after commit c returned sees c or a later commit
//     (a ≥ c), and a Get of b after a Get of a sees a commit no older
//     (b ≥ a): each Get sees all of a commit or none of it;
//   - a filler key put by a commit that returned before a Get began, and
//     deleted by one that had not begun when it ended, is found; one
//     deleted by a commit that returned before it began is not.
//
// Run with -race, it also checks that every read without the lock is
// atomic or of an entry published before it.
func TestGetDuringCommits(t *testing.T) {
	ctx := context.Background()
	s := memstore.New()
	const stable, filler = 300, 60
	commits := 400 // 12,000 fillers: three splits and a doubling
	if testing.Short() {
		commits = 200
	}
	half := commits / 2
	b := new(store.Batch)
	for i := range stable {
		b.Put(fmt.Appendf(nil, "stable-%d", i), fmt.Appendf(nil, "value-%d", i))
	}
	if err := s.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}
	keyA, keyB := []byte("pair-a"), []byte("pair-b")
	fillerKey := func(i int) []byte { return fmt.Appendf(nil, "filler-%d", i) }
	// Filler i is put by commit i/filler + 1 and deleted by commit
	// i/filler + half + 1.
	putBy := func(i int) int64 { return int64(i/filler + 1) }
	deletedBy := func(i int) int64 { return putBy(i) + int64(half) }

	var (
		returned atomic.Int64 // the last commit that returned
		done     atomic.Bool
		wg       sync.WaitGroup
		failed   firstError
		reads    atomic.Int64
	)
	for r := range max(2, runtime.GOMAXPROCS(0)) {
		wg.Go(func() {
			for i := r; !done.Load(); i++ {
				k := fmt.Appendf(nil, "stable-%d", i%stable)
				v, err := s.Get(ctx, k)
				if err != nil || string(v) != "value-"+string(k[len("stable-"):]) {
					failed.set(fmt.Errorf("Get(%s) = %q, %v during commits", k, v, err))
					return
				}
				fi := (i * 7919) % (half * filler)
				lo := returned.Load()
				va, errA := s.Get(ctx, keyA)
				vb, errB := s.Get(ctx, keyB)
				vf, errF := s.Get(ctx, fillerKey(fi))
				hi := returned.Load() + 1 // the last commit that may have begun
				if lo == 0 {
					continue
				}
				if errA != nil || errB != nil {
					failed.set(fmt.Errorf("Get of the pair after commit %d: %v, %v", lo, errA, errB))
					return
				}
				a, b := int64(binary.BigEndian.Uint64(va)), int64(binary.BigEndian.Uint64(vb))
				switch {
				case a < lo:
					failed.set(fmt.Errorf("a = %d read after commit %d returned", a, lo))
					return
				case b < a:
					failed.set(fmt.Errorf("read a = %d, then b = %d: a commit seen in part", a, b))
					return
				}
				switch {
				case putBy(fi) <= lo && deletedBy(fi) > hi:
					if errF != nil || !bytes.Equal(vf, fillerKey(fi)) {
						failed.set(fmt.Errorf("filler %d, put by commit %d, not yet deleted, after commit %d returned: %q, %v",
							fi, putBy(fi), lo, vf, errF))
						return
					}
				case deletedBy(fi) <= lo:
					if !errors.Is(errF, store.ErrNotFound) {
						failed.set(fmt.Errorf("filler %d, deleted by commit %d, after commit %d returned: %q, %v",
							fi, deletedBy(fi), lo, vf, errF))
						return
					}
				}
				reads.Add(1)
			}
		})
	}
	for c := 1; c <= commits; c++ {
		b := new(store.Batch)
		b.Put(keyA, binary.BigEndian.AppendUint64(nil, uint64(c)))
		b.Put(keyB, binary.BigEndian.AppendUint64(nil, uint64(c)))
		for j := range filler {
			k := fillerKey((c-1)%half*filler + j)
			if c <= half {
				b.Put(k, k)
			} else {
				b.Delete(k)
			}
		}
		if err := s.Commit(ctx, b); err != nil {
			t.Fatal(err)
		}
		returned.Store(int64(c))
		if c%8 == 0 {
			runtime.Gosched() // let the readers run on one processor too
		}
	}
	done.Store(true)
	wg.Wait()
	if failed.err != nil {
		t.Fatal(failed.err)
	}
	if reads.Load() == 0 {
		t.Fatal("no reader completed a read after a commit")
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

// TestGetTornOverwrite overwrites keys in place, in every commit, with a
// value of one byte or one of 3,000, while readers Get them. A Get must
// return one value whole, never the lengths of one entry over the bytes
// of another (under -race, checkptr would report a slice that straddles
// allocations; without it, the value read would be garbage). The slots
// hold one pointer each, and an entry's lengths live in its own header,
// so a reader has nothing to tear; this test keeps it that way.
func TestGetTornOverwrite(t *testing.T) {
	ctx := context.Background()
	s := memstore.New()
	keys := [][]byte{[]byte("k0"), []byte("k1"), []byte("k2"), []byte("k3")}
	short, long := []byte{'s'}, bytes.Repeat([]byte{'L'}, 3000)
	commits := 20000
	if testing.Short() {
		commits = 5000
	}
	var (
		done   atomic.Bool
		wg     sync.WaitGroup
		failed firstError
	)
	for r := range max(1, runtime.GOMAXPROCS(0)-1) {
		wg.Go(func() {
			for i := r; !done.Load(); i++ {
				v, err := s.Get(ctx, keys[i%len(keys)])
				if errors.Is(err, store.ErrNotFound) {
					continue // before the first commit
				}
				if err != nil || !bytes.Equal(v, short) && !bytes.Equal(v, long) {
					failed.set(fmt.Errorf("Get = %d bytes, %v; want one byte or 3,000", len(v), err))
					return
				}
			}
		})
	}
	for c := range commits {
		v := short
		if c%2 == 0 {
			v = long
		}
		b := new(store.Batch)
		for _, k := range keys {
			b.Put(k, v)
		}
		if err := s.Commit(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	done.Store(true)
	wg.Wait()
	if failed.err != nil {
		t.Fatal(failed.err)
	}
}
