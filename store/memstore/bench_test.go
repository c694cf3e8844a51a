package memstore_test

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"github.com/streamauth/streamauth/store"
	"github.com/streamauth/streamauth/store/memstore"
)

// The benchmarks use stores shaped like the auth engine's: per API key, a
// 17-byte key with a 95-byte value (the hot record, under its digest
// prefix), a 17-byte key with a 39-byte value (the meta record, under the
// key id, with a 9-byte name), and a 33-byte key with an empty value (the
// owner's listing entry). The random part of every key is drawn from a PCG with a fixed
// seed, so that a key can be rebuilt from its index without storing it.

// benchAPIKeys is the number of API keys of the large store: 3M entries.
const benchAPIKeys = 1_000_000

// shape is one of the three entries of an API key.
type shape struct {
	tag       byte // first byte of the key, as the engine's key spaces
	keyLen    int
	valueLen  int
	valueByte byte
}

var shapes = [3]shape{
	{'H', 17, 95, 'r'},
	{'K', 17, 39, 'i'},
	{'k', 33, 0, 0},
}

// benchKey appends to dst the key of entry (i, s): shape s of API key i,
// or, with miss set, a key of the same shape that is never stored.
func benchKey(dst []byte, i, s int, miss bool) []byte {
	sh := shapes[s]
	seed := uint64(i)*3 + uint64(s)
	if miss {
		seed |= 1 << 62
	}
	rng := rand.NewPCG(seed, 0x5eed)
	end := len(dst) + sh.keyLen
	dst = append(dst, sh.tag)
	for len(dst) < end {
		dst = binary.LittleEndian.AppendUint64(dst, rng.Uint64())
	}
	return dst[:end]
}

// benchValues holds one value of each shape.
var benchValues = func() [3][]byte {
	var v [3][]byte
	for s, sh := range shapes {
		v[s] = make([]byte, sh.valueLen)
		for j := range v[s] {
			v[s][j] = sh.valueByte + byte(j)
		}
	}
	return v
}()

// fill commits the entries of API keys [lo, hi) to s, one batch of three
// puts per API key, as the engine does.
func fill(tb testing.TB, s *memstore.Store, lo, hi int) {
	ctx := context.Background()
	var b store.Batch
	var buf [3][64]byte
	for i := lo; i < hi; i++ {
		b.Reset()
		for sh := range shapes {
			b.Put(benchKey(buf[sh][:0], i, sh, false), benchValues[sh])
		}
		if err := s.Commit(ctx, &b); err != nil {
			if tb == nil {
				panic(err)
			}
			tb.Fatal(err)
		}
	}
}

// bigStore is the store of benchAPIKeys API keys, built once per process.
var bigStore = sync.OnceValue(func() *memstore.Store {
	s := memstore.New()
	fill(nil, s, 0, benchAPIKeys)
	return s
})

// queries returns every key of the big store (or as many missing keys), in
// a random order, as slices of one flat array so that walking them costs
// the benchmark little besides the lookups.
func queries(miss bool) [][]byte {
	n := benchAPIKeys * len(shapes)
	flat := make([]byte, 0, n*33)
	out := make([][]byte, 0, n)
	perm := rand.New(rand.NewPCG(7, 7)).Perm(n)
	for _, e := range perm {
		start := len(flat)
		flat = benchKey(flat, e/3, e%3, miss)
		out = append(out, flat[start:len(flat):len(flat)])
	}
	return out
}

var (
	hitQueries  = sync.OnceValue(func() [][]byte { return queries(false) })
	missQueries = sync.OnceValue(func() [][]byte { return queries(true) })
)

// BenchmarkGet reads the big store's keys (hit) or absent keys of the same
// shapes (miss) in a random order. hit-read also reads the first and last
// byte of each value, as a caller that decodes it would: with the value in
// an allocation of its own, that is one more cache miss.
func BenchmarkGet(b *testing.B) {
	s := bigStore()
	for _, c := range []struct {
		name      string
		qs        func() [][]byte
		hit, read bool
	}{{"hit", hitQueries, true, false}, {"hit-read", hitQueries, true, true}, {"miss", missQueries, false, false}} {
		b.Run(c.name, func(b *testing.B) {
			qs := c.qs()
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			j, n := 0, 0
			for range b.N {
				v, err := s.Get(ctx, qs[j])
				if (err == nil) != c.hit {
					b.Fatalf("Get(%x) = %v", qs[j], err)
				}
				n += len(v)
				if c.read && len(v) > 0 {
					n += int(v[0]) + int(v[len(v)-1])
				}
				if j++; j == len(qs) {
					j = 0
				}
			}
			runtime.KeepAlive(n)
		})
	}
}

// BenchmarkCommit measures single-put commits of new keys:
//
//   - insert: into a fresh store that grows to b.N entries, growth of the
//     table and the index included;
//   - insert-3M: into the big store (3M entries); the keys are deleted
//     again, outside the timer, after the run;
//   - build-3M: the build of a whole 3M-entry store, one batch of three
//     puts per API key (one op is the whole build; see ns/entry).
func BenchmarkCommit(b *testing.B) {
	b.Run("insert", func(b *testing.B) {
		s := memstore.New()
		b.ReportAllocs()
		benchInserts(b, s, 0)
	})
	b.Run("insert-3M", func(b *testing.B) {
		s := bigStore()
		b.ReportAllocs()
		benchInserts(b, s, 1<<40)
		b.StopTimer()
		ctx := context.Background()
		var key []byte
		for i := range b.N {
			key = benchKey(key[:0], 1<<40+i/3, i%3, false)
			if err := s.Commit(ctx, new(store.Batch).Delete(key)); err != nil {
				b.Fatal(err)
			}
		}
		if s.Len() != benchAPIKeys*len(shapes) {
			b.Fatalf("Len = %d after deleting the inserted keys", s.Len())
		}
	})
	b.Run("build-3M", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			s := memstore.New()
			fill(b, s, 0, benchAPIKeys)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchAPIKeys*len(shapes)), "ns/entry")
	})
}

// benchInserts commits b.N new entries to s, one put per batch, entry i
// being shape i%3 of API key base+i/3.
func benchInserts(b *testing.B, s *memstore.Store, base int) {
	ctx := context.Background()
	keys := make([]byte, 0, b.N*33)
	for i := range b.N {
		keys = benchKey(keys, base+i/3, i%3, false)
	}
	var batch store.Batch
	b.ResetTimer()
	off := 0
	for i := range b.N {
		n := shapes[i%3].keyLen
		batch.Reset()
		batch.Put(keys[off:off+n], benchValues[i%3])
		off += n
		if err := s.Commit(ctx, &batch); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMemory reports the live heap of a 3M-entry store: HeapAlloc after
// a GC, less HeapAlloc after a GC before the build, per entry (B/entry) and
// per API key of three entries (B/apikey). One op is one build.
func BenchmarkMemory(b *testing.B) {
	var perEntry float64
	for range b.N {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		s := memstore.New()
		fill(b, s, 0, benchAPIKeys)
		runtime.GC()
		runtime.ReadMemStats(&after)
		if s.Len() != benchAPIKeys*len(shapes) {
			b.Fatalf("Len = %d", s.Len())
		}
		perEntry = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(s.Len())
		runtime.KeepAlive(s)
	}
	b.ReportMetric(perEntry, "B/entry")
	b.ReportMetric(perEntry*float64(len(shapes)), "B/apikey")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkScan scans prefixes of the big store that hold about 15 keys
// each (the tag byte and two random bytes).
func BenchmarkScan(b *testing.B) {
	s := bigStore()
	ctx := context.Background()
	b.ReportAllocs()
	n := 0
	for i := range b.N {
		prefix := []byte{'H', byte(i), byte(i >> 8)}
		err := s.Scan(ctx, prefix, func(k, v []byte) error {
			n += len(v)
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	runtime.KeepAlive(n)
}
