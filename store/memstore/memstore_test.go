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

// TestViewsStayValid checks that the slices Get returns and Scan passes,
// which are views of the stored entries, are not changed by later writes
// to their key (overwrites of the same or another length, a delete, a
// reinsert), nor by Close, and that appending to them cannot write into
// the store.
func TestViewsStayValid(t *testing.T) {
	ctx := context.Background()
	s := memstore.New()
	put := func(k, v string) {
		t.Helper()
		if err := s.Commit(ctx, new(store.Batch).Put([]byte(k), []byte(v))); err != nil {
			t.Fatal(err)
		}
	}
	get := func(k string) []byte {
		t.Helper()
		v, err := s.Get(ctx, []byte(k))
		if err != nil {
			t.Fatalf("Get(%q): %v", k, err)
		}
		return v
	}
	put("k", "value-1")
	put("j", "other")
	v1 := get("k")
	var sk, sv []byte
	err := s.Scan(ctx, []byte("k"), func(k, v []byte) error {
		sk, sv = k, v
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if cap(v1) != len(v1) || cap(sk) != len(sk) {
		t.Fatalf("views have spare capacity: value %d/%d, key %d/%d", len(v1), cap(v1), len(sk), cap(sk))
	}
	// Appending to a view must copy, not write past it.
	_ = append(sk, "XXXXXXXX"...)
	_ = append(v1, "YYYYYYYY"...)
	if got := get("k"); string(got) != "value-1" {
		t.Fatalf("after appending to views Get = %q", got)
	}
	put("k", "value-2") // same length
	v2 := get("k")
	put("k", "a longer value, 3")
	if err := s.Commit(ctx, new(store.Batch).Delete([]byte("k"))); err != nil {
		t.Fatal(err)
	}
	put("k", "4")
	for _, c := range []struct{ name, got, want string }{
		{"first Get", string(v1), "value-1"},
		{"second Get", string(v2), "value-2"},
		{"Scan key", string(sk), "k"},
		{"Scan value", string(sv), "value-1"},
		{"last Get", string(get("k")), "4"},
	} {
		if c.got != c.want {
			t.Errorf("%s after writes = %q, want %q", c.name, c.got, c.want)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if string(v1) != "value-1" || string(v2) != "value-2" {
		t.Fatalf("views after Close: %q, %q", v1, v2)
	}
}

// TestManyKeysChurn puts, overwrites and deletes enough random binary keys
// through the public API to split and shrink the hash tables, and compares
// every key's value and a full scan with a map.
func TestManyKeysChurn(t *testing.T) {
	ctx := context.Background()
	s := memstore.New()
	defer s.Close()
	rng := rand.New(rand.NewPCG(5, 5))
	model := make(map[string]string)
	keys := make([]string, 30000)
	for i := range keys {
		k := make([]byte, 1+rng.IntN(33))
		for j := range k {
			k[j] = byte(rng.Uint32())
		}
		keys[i] = string(k)
	}
	check := func(phase string) {
		t.Helper()
		if s.Len() != len(model) {
			t.Fatalf("%s: Len = %d, want %d", phase, s.Len(), len(model))
		}
		for _, k := range keys {
			v, err := s.Get(ctx, []byte(k))
			want, ok := model[k]
			if ok != (err == nil) || ok && string(v) != want {
				t.Fatalf("%s: Get(%x) = %q, %v; want %q, %v", phase, k, v, err, want, ok)
			}
		}
		n := 0
		want := slices.Sorted(maps.Keys(model))
		err := s.Scan(ctx, nil, func(k, v []byte) error {
			if n >= len(want) || string(k) != want[n] || string(v) != model[want[n]] {
				return fmt.Errorf("pair %d: %x = %q", n, k, v)
			}
			n++
			return nil
		})
		if err != nil || n != len(want) {
			t.Fatalf("%s: Scan: %v after %d of %d pairs", phase, err, n, len(want))
		}
	}
	for round, putPct := range []int{90, 50, 5, 95, 0} {
		var b store.Batch
		for i := range 40000 {
			k := keys[rng.IntN(len(keys))]
			if rng.IntN(100) < putPct {
				v := fmt.Sprintf("%d/%d", round, i)
				b.Put([]byte(k), []byte(v))
				model[k] = v
			} else {
				b.Delete([]byte(k))
				delete(model, k)
			}
			if b.Len() == 1+rng.IntN(16) {
				if err := s.Commit(ctx, &b); err != nil {
					t.Fatal(err)
				}
				b.Reset()
			}
		}
		if err := s.Commit(ctx, &b); err != nil {
			t.Fatal(err)
		}
		check(fmt.Sprintf("round %d", round))
	}
}
