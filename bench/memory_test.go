package bench

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/streamauth/streamauth/auth"
	"github.com/streamauth/streamauth/store"
)

// memorySizes are the fixture sizes BenchmarkMemoryPerKey measures: large
// enough that the account, the workspace and the store's fixed overhead
// vanish in the per-key figure.
var memorySizes = []size{
	{"1M", 1_000_000},
}

// BenchmarkMemoryPerKey measures the live heap a backend and the default
// engine over it hold per key, once every key has authenticated (the
// steady state of the default engine, whose cache over the memory store
// holds every key). It builds a fresh fixture, opens an engine with the
// default options over it and authenticates every key once, reading the
// heap (runtime.GC, twice, and runtime.ReadMemStats) before the build,
// after it, after the authentications, and once more after dropping the
// secrets, which the fixture keeps only to authenticate them. It reports,
// divided by the number of keys:
//
//   - B/key: the heap the store and the engine hold at the end;
//   - cache-B/key: what the authentications added (the engine's cache);
//   - store-B/key: the difference, what the store and the engine held
//     before any key authenticated.
//
// It is not a timed benchmark: each call builds the fixture once, whatever
// b.N, and ns/op is suppressed. It also reports the build's cost per key:
// wall time (ns/key, which depends on GOMAXPROCS since keys are created
// concurrently), bytes allocated (alloc-B/key) and allocations
// (allocs/key). The standard B/op and allocs/op are those of one whole
// build when b.N is 1, as it is unless -benchtime asks for a fixed count
// above 1. Only the backends that keep their data on the Go heap are
// measured (today the memory store): a durable backend's heap is its
// caches and write buffers, bounded by its options whatever the number of
// keys (BenchmarkDiskPerKey measures what it keeps per key).
func BenchmarkMemoryPerKey(b *testing.B) {
	for _, be := range backends {
		if be.durable() {
			continue
		}
		b.Run(be.name, func(b *testing.B) {
			for _, sz := range memorySizes {
				b.Run(sz.name, func(b *testing.B) {
					measureMemoryPerKey(b, be, sz.n)
				})
			}
		})
	}
}

func measureMemoryPerKey(b *testing.B, be backend, n int) {
	ctx := context.Background()
	var before, built, authed, after runtime.MemStats
	readHeap(&before)
	start := time.Now()
	f, err := newFixture(ctx, be, n, true)
	if err != nil {
		b.Fatalf("building %s fixture of %d keys: %v", be.name, n, err)
	}
	elapsed := time.Since(start)
	readHeap(&built)
	e, err := auth.New(ctx, f.store, auth.Options{})
	if err != nil {
		b.Fatal(err)
	}
	for i, secret := range f.secrets {
		if _, err := e.Authenticate(ctx, secret); err != nil {
			b.Fatalf("secret %d: %v", i, err)
		}
	}
	readHeap(&authed)
	f.secrets = nil
	readHeap(&after)
	runtime.KeepAlive(e)
	runtime.KeepAlive(f)

	perKey := func(from, to *runtime.MemStats) float64 {
		return (float64(to.HeapAlloc) - float64(from.HeapAlloc)) / float64(n)
	}
	total, cache := perKey(&before, &after), perKey(&built, &authed)
	b.ReportMetric(total, "B/key")
	b.ReportMetric(cache, "cache-B/key")
	b.ReportMetric(total-cache, "store-B/key")
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(n), "ns/key")
	b.ReportMetric(float64(built.TotalAlloc-before.TotalAlloc)/float64(n), "alloc-B/key")
	b.ReportMetric(float64(built.Mallocs-before.Mallocs)/float64(n), "allocs/key")
	b.ReportMetric(0, "ns/op")
	if err := f.store.Close(); err != nil {
		b.Errorf("closing the %s store: %v", be.name, err)
	}
}

// BenchmarkEngineMemoryPerKey measures the live heap the engine itself
// holds per key of its store, apart from the store's: over the memory
// store's fixture of n keys, it builds an engine of the cached variant
// (auth.New, which builds the index of digest prefixes) and then
// authenticates every key once (which fills the read cache), each step
// between two runtime.GC + runtime.ReadMemStats. It reports the heap each
// step added, divided by n: index-B/key and cache-B/key. Like
// BenchmarkMemoryPerKey it is not a timed benchmark (ns/op is suppressed);
// each run builds a new engine over the cached fixture.
func BenchmarkEngineMemoryPerKey(b *testing.B) {
	for _, sz := range memorySizes {
		b.Run(sz.name, func(b *testing.B) {
			f := fixtureFor(b, backends[0], sz.n)
			// Embedding the interface hides the memory store's
			// InMemory method, so that the engine keeps its index as it
			// would over a store on disk.
			s := struct{ store.Store }{f.openStore(b)}
			ctx := context.Background()
			var m0, m1, m2 runtime.MemStats
			readHeap(&m0)
			e, err := auth.New(ctx, s, engineOptions(variantCached, sz.n))
			if err != nil {
				b.Fatal(err)
			}
			readHeap(&m1)
			for i, secret := range f.secrets {
				if _, err := e.Authenticate(ctx, secret); err != nil {
					b.Fatalf("secret %d: %v", i, err)
				}
			}
			readHeap(&m2)
			runtime.KeepAlive(e)
			n := float64(sz.n)
			b.ReportMetric((float64(m1.HeapAlloc)-float64(m0.HeapAlloc))/n, "index-B/key")
			b.ReportMetric((float64(m2.HeapAlloc)-float64(m1.HeapAlloc))/n, "cache-B/key")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// readHeap collects garbage and reads the memory statistics into m.
func readHeap(m *runtime.MemStats) {
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(m)
}
