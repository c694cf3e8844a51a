package memstore_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/streamauth/streamauth/store"
	"github.com/streamauth/streamauth/store/memstore"
	"github.com/streamauth/streamauth/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return memstore.New() })
}

// index drives a memstore and a set of keys in step, to test the chunked
// sorted index through many splits and removals.
type index struct {
	t   *testing.T
	s   *memstore.Store
	set map[string]bool
	rng *rand.Rand
}

func newIndex(t *testing.T, seed uint64) *index {
	s := memstore.New()
	t.Cleanup(func() { s.Close() })
	return &index{t: t, s: s, set: make(map[string]bool), rng: rand.New(rand.NewPCG(seed, seed))}
}

// key returns the i-th key: five digits, so that order follows i and
// prefixes of one to four digits select ranges across chunks.
func key(i int) string { return fmt.Sprintf("%05d", i) }

// insert puts keys, in batches of a random size.
func (x *index) insert(keys []string) {
	x.t.Helper()
	x.commit(keys, (*store.Batch).Put)
	for _, k := range keys {
		x.set[k] = true
	}
}

// remove deletes keys, in batches of a random size.
func (x *index) remove(keys []string) {
	x.t.Helper()
	x.commit(keys, func(b *store.Batch, k, _ []byte) *store.Batch { return b.Delete(k) })
	for _, k := range keys {
		delete(x.set, k)
	}
}

func (x *index) commit(keys []string, op func(b *store.Batch, k, v []byte) *store.Batch) {
	x.t.Helper()
	var b store.Batch
	for _, k := range keys {
		op(&b, []byte(k), []byte("v"+k))
		if x.rng.IntN(50) == 0 {
			x.flush(&b)
		}
	}
	x.flush(&b)
}

func (x *index) flush(b *store.Batch) {
	x.t.Helper()
	if err := x.s.Commit(context.Background(), b); err != nil {
		x.t.Fatalf("Commit: %v", err)
	}
	b.Reset()
}

// check compares Len, a full scan and a few prefix scans with the set.
func (x *index) check(phase string) {
	x.t.Helper()
	if got, want := x.s.Len(), len(x.set); got != want {
		x.t.Fatalf("%s: Len = %d, want %d", phase, got, want)
	}
	want := slices.Sorted(maps.Keys(x.set))
	for _, prefix := range []string{"", "0", "01", "1", "123", "1234", "19999", "3"} {
		var got []string
		err := x.s.Scan(context.Background(), []byte(prefix), func(k, v []byte) error {
			if string(v) != "v"+string(k) {
				return fmt.Errorf("key %q has value %q", k, v)
			}
			got = append(got, string(k))
			return nil
		})
		if err != nil {
			x.t.Fatalf("%s: Scan(%q): %v", phase, prefix, err)
		}
		if diff := cmp.Diff(withPrefix(want, prefix), got); diff != "" {
			x.t.Fatalf("%s: Scan(%q) (-want +got):\n%s", phase, prefix, diff)
		}
	}
}

func withPrefix(keys []string, prefix string) []string {
	var out []string
	for _, k := range keys {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	return out
}

// keyRange returns the keys of lo..hi-1.
func keyRange(lo, hi int) []string {
	var keys []string
	for i := lo; i < hi; i++ {
		keys = append(keys, key(i))
	}
	return keys
}

// TestIndexRandomOrder inserts and deletes thousands of keys in random
// order, so that chunks split, shrink, empty and refill.
func TestIndexRandomOrder(t *testing.T) {
	x := newIndex(t, 1)
	all := keyRange(0, 20000)
	x.rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	x.insert(all[:6000])
	x.check("insert 6000")
	x.insert(all[3000:9000])
	x.check("insert overlapping")
	x.remove(all[:4500])
	x.check("remove half")
	x.remove(all[6000:9000])
	x.check("remove most")
	x.insert(all[:2000])
	x.check("refill")
	x.remove(all[:9000])
	x.check("remove all")
	x.insert(all[100:300])
	x.check("insert after empty")
}

// TestIndexSequentialOrder inserts keys in increasing and decreasing order,
// which always grows the last or the first chunk, and removes whole runs so
// that chunks empty in the middle, at the front and at the back.
func TestIndexSequentialOrder(t *testing.T) {
	x := newIndex(t, 2)
	x.insert(keyRange(10000, 13000))
	x.check("ascending")
	desc := keyRange(7000, 10000)
	slices.Reverse(desc)
	x.insert(desc)
	x.check("descending")
	x.remove(keyRange(9000, 11000))
	x.check("remove middle run")
	x.remove(keyRange(7000, 8000))
	x.check("remove front run")
	x.remove(keyRange(12000, 13000))
	x.check("remove back run")
	x.insert(keyRange(8500, 12500))
	x.check("refill across")
}

// TestIndexInterleaved alternates single inserts and deletes around chunk
// boundaries for many steps.
func TestIndexInterleaved(t *testing.T) {
	x := newIndex(t, 3)
	x.insert(keyRange(0, 3000))
	for step := range 4000 {
		k := key(x.rng.IntN(4000))
		if x.set[k] {
			x.remove([]string{k})
		} else {
			x.insert([]string{k})
		}
		if step%1000 == 999 {
			x.check(fmt.Sprintf("step %d", step+1))
		}
	}
	x.check("end")
}

func TestLenAfterClose(t *testing.T) {
	s := memstore.New()
	if err := s.Commit(context.Background(), new(store.Batch).Put([]byte("k"), nil)); err != nil {
		t.Fatal(err)
	}
	if s.Len() != 1 {
		t.Fatalf("Len = %d, want 1", s.Len())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s.Len() != 0 {
		t.Fatalf("Len after Close = %d, want 0", s.Len())
	}
}
