package memstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/streamauth/streamauth/store"
)

// TestStoreModel commits random guarded batches to a store, against a map,
// through growth (tables split, chunks split), churn and draining (tables
// shrink, chunks merge), and checks the table's and the index's invariants
// and random prefix scans along the way.
func TestStoreModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	s := New()
	defer s.Close()
	ctx := context.Background()
	model := make(map[string]string)
	pool := modelKeys(rng, 25000)
	hf := func(k []byte) uint64 { return hashKey(s.seed, k) }
	sample := pool[:2000]
	phases := []struct {
		name   string
		steps  int
		putPct int
	}{{"grow", 6000, 90}, {"churn", 3000, 50}, {"drain", 20000, 1}, {"regrow", 2000, 90}}
	for _, ph := range phases {
		for step := range ph.steps {
			var b store.Batch
			for range 1 + rng.IntN(8) {
				k := []byte(pool[rng.IntN(len(pool))])
				if rng.IntN(100) < ph.putPct {
					b.Put(k, bytes.Repeat([]byte{byte('a' + rng.IntN(26))}, rng.IntN(40)))
				} else {
					b.Delete(k)
				}
			}
			holds := addGuard(rng, &b, model, pool)
			err := s.Commit(ctx, &b)
			switch {
			case holds && err != nil:
				t.Fatalf("%s step %d: Commit: %v", ph.name, step, err)
			case !holds && !errors.Is(err, store.ErrConflict):
				t.Fatalf("%s step %d: Commit with a failing guard: %v", ph.name, step, err)
			case holds:
				for _, op := range b.Ops() {
					if op.Kind == store.OpPut {
						model[string(op.Key)] = string(op.Value)
					} else {
						delete(model, string(op.Key))
					}
				}
			}
			if step%1000 == 0 {
				checkStore(t, s, hf, model, sample, rng)
			}
		}
		checkStore(t, s, hf, model, pool, rng)
		t.Logf("after %s: %d entries, directory depth %d, %d chunks",
			ph.name, s.Len(), s.table.depth, len(s.index.chunks))
	}
}

// modelKeys returns n distinct keys: random bytes of random lengths, and
// runs of keys that share their first 8 to 20 bytes (so that the index's
// 8-byte prefixes tie).
func modelKeys(rng *rand.Rand, n int) []string {
	set := make(map[string]bool)
	var common []byte
	for len(set) < n {
		var k []byte
		if rng.IntN(2) == 0 {
			if len(common) == 0 || rng.IntN(200) == 0 {
				common = make([]byte, 8+rng.IntN(13))
				for i := range common {
					common[i] = byte(rng.IntN(4))
				}
			}
			k = fmt.Appendf(bytes.Clone(common), "%d", rng.IntN(1000))
		} else {
			k = make([]byte, 1+rng.IntN(20))
			for i := range k {
				k[i] = byte(rng.IntN(256))
			}
		}
		set[string(k)] = true
	}
	keys := slices.Sorted(maps.Keys(set))
	rng.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	return keys
}

// addGuard adds to b, one time in four, a guard that holds or fails at
// random, and reports whether all of b's guards hold in model.
func addGuard(rng *rand.Rand, b *store.Batch, model map[string]string, pool []string) bool {
	if rng.IntN(4) != 0 {
		return true
	}
	k := pool[rng.IntN(len(pool))]
	v, ok := model[k]
	switch rng.IntN(3) {
	case 0:
		b.RequireAbsent([]byte(k))
		return !ok
	case 1:
		b.RequirePresent([]byte(k))
		return ok
	default:
		if rng.IntN(2) == 0 {
			v += "x"
		}
		b.RequireValue([]byte(k), []byte(v))
		return ok && model[k] == v
	}
}

// checkStore checks the table (against the keys of pool), the index, and a
// few prefix scans.
func checkStore(t *testing.T, s *Store, hf func([]byte) uint64, model map[string]string, pool []string, rng *rand.Rand) {
	t.Helper()
	checkHashTable(t, &s.table, hf, model, pool)
	checkIndex(t, &s.index, &s.table, hf, model)
	want := slices.Sorted(maps.Keys(model))
	for range 5 {
		var prefix string
		if len(want) > 0 {
			k := want[rng.IntN(len(want))]
			prefix = k[:rng.IntN(len(k)+1)]
		}
		var got []string
		err := s.Scan(context.Background(), []byte(prefix), func(k, v []byte) error {
			if model[string(k)] != string(v) {
				return fmt.Errorf("key %q: value %q, want %q", k, v, model[string(k)])
			}
			got = append(got, string(k))
			return nil
		})
		if err != nil {
			t.Fatalf("Scan(%q): %v", prefix, err)
		}
		var wantP []string
		for _, k := range want {
			if strings.HasPrefix(k, prefix) {
				wantP = append(wantP, k)
			}
		}
		if !slices.Equal(got, wantP) {
			t.Fatalf("Scan(%q): %d keys, want %d", prefix, len(got), len(wantP))
		}
	}
}

// checkIndex checks the index's invariants: chunks non-empty, at most
// chunkMax long, within 2 chunkSteps of their capacity, with the right
// first prefix; keys strictly increasing, those of model, each with the
// very entry that the table holds.
func checkIndex(t *testing.T, x *index, m *hashTable, hf func([]byte) uint64, model map[string]string) {
	t.Helper()
	var prev []byte
	n := 0
	for ci, c := range x.chunks {
		if len(c.refs) == 0 || len(c.refs) > chunkMax || cap(c.refs)-len(c.refs) >= 2*chunkStep {
			t.Fatalf("chunk %d: %d refs, capacity %d", ci, len(c.refs), cap(c.refs))
		}
		if c.first != prefix8(c.refs[0].key()) {
			t.Fatalf("chunk %d: first %#x for key %q", ci, c.first, c.refs[0].key())
		}
		for _, r := range c.refs {
			k := r.key()
			if n > 0 && bytes.Compare(prev, k) >= 0 {
				t.Fatalf("chunk %d: key %q after %q", ci, k, prev)
			}
			if tr, ok := m.get(k, hf(k)); !ok || tr != r {
				t.Fatalf("chunk %d: key %q: the table holds another entry (%v)", ci, k, ok)
			}
			prev = k
			n++
		}
	}
	if n != len(model) {
		t.Fatalf("index holds %d keys, want %d", n, len(model))
	}
}

// TestPrefix8 checks that the order of prefix8 agrees with the order of
// keys whenever it decides.
func TestPrefix8(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	alphabet := []byte{0, 1, 0x7f, 0x80, 0xff}
	key := func() []byte {
		k := make([]byte, rng.IntN(11))
		for i := range k {
			k[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return k
	}
	for range 100000 {
		a, b := key(), key()
		pa, pb := prefix8(a), prefix8(b)
		if c := bytes.Compare(a, b); pa < pb && c >= 0 || pa > pb && c <= 0 {
			t.Fatalf("prefix8(%x) = %#x, prefix8(%x) = %#x, but Compare = %d", a, pa, b, pb, c)
		}
	}
}

// TestCommitSequence checks that a commit moves the sequence number, by
// two, exactly when it changes the table: lookups without the lock retry
// only for those.
func TestCommitSequence(t *testing.T) {
	s := New()
	defer s.Close()
	ctx := context.Background()
	commit := func(name string, build func(b *store.Batch), wantMoved bool) {
		t.Helper()
		var b store.Batch
		build(&b)
		before := s.seq.Load()
		if err := s.Commit(ctx, &b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		after := s.seq.Load()
		if after&1 != 0 {
			t.Fatalf("%s: sequence %d odd after the commit", name, after)
		}
		if moved := after != before; moved != wantMoved || moved && after != before+2 {
			t.Fatalf("%s: sequence %d → %d; want it moved (by 2): %v", name, before, after, wantMoved)
		}
	}
	k, v := []byte("k"), []byte("v")
	commit("empty batch", func(b *store.Batch) {}, false)
	commit("delete of an absent key", func(b *store.Batch) { b.Delete(k) }, false)
	commit("put", func(b *store.Batch) { b.Put(k, v) }, true)
	commit("put of the same bytes", func(b *store.Batch) { b.Put(k, v) }, false)
	commit("guarded no-op", func(b *store.Batch) { b.RequireValue(k, v).Put(k, v) }, false)
	commit("overwrite", func(b *store.Batch) { b.Put(k, []byte("w")) }, true)
	commit("no-op then delete", func(b *store.Batch) { b.Put(k, []byte("w")); b.Delete(k) }, true)
	commit("put guarded on absence", func(b *store.Batch) { b.RequireAbsent([]byte("x")).Put([]byte("x"), v) }, true)
	before := s.seq.Load()
	var conflict store.Batch
	conflict.RequireAbsent([]byte("x"))
	conflict.Put([]byte("y"), v)
	if err := s.Commit(ctx, &conflict); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("commit against a failed guard: %v, want ErrConflict", err)
	}
	if after := s.seq.Load(); after != before {
		t.Fatalf("a conflicting commit moved the sequence %d → %d", before, after)
	}
}
