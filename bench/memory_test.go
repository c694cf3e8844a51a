package bench

import (
	"context"
	"runtime"
	"testing"
	"time"
)

// memorySizes are the fixture sizes BenchmarkMemoryPerKey measures: large
// enough that the account, the workspace and the store's fixed overhead
// vanish in the per-key figure.
var memorySizes = []size{
	{"1M", 1_000_000},
}

// BenchmarkMemoryPerKey measures the live heap a backend holds per key: it
// builds a fresh fixture (without keeping the secrets) between two
// runtime.GC + runtime.ReadMemStats, and reports the growth of HeapAlloc
// divided by the number of keys as B/key. It is not a timed benchmark: each
// call builds the fixture once, whatever b.N, and ns/op is suppressed. It
// also reports the build's cost per key: wall time (ns/key, which depends on
// GOMAXPROCS since keys are created concurrently), bytes allocated
// (alloc-B/key) and allocations (allocs/key). The standard B/op and
// allocs/op are those of one whole build when b.N is 1, as it is unless
// -benchtime asks for a fixed count above 1.
func BenchmarkMemoryPerKey(b *testing.B) {
	for _, be := range backends {
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
	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	f, err := newFixture(ctx, be, n, false)
	if err != nil {
		b.Fatalf("building %s fixture of %d keys: %v", be.name, n, err)
	}
	elapsed := time.Since(start)
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(f)

	live := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	b.ReportMetric(float64(live)/float64(n), "B/key")
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(n), "ns/key")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(n), "alloc-B/key")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(n), "allocs/key")
	b.ReportMetric(0, "ns/op")
	if err := f.store.Close(); err != nil {
		b.Errorf("closing the %s store: %v", be.name, err)
	}
}
