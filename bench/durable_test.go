package bench

import (
	"context"
	"testing"
	"time"

	"github.com/streamauth/streamauth/auth"
)

// BenchmarkCommitSynced measures the latency of one synced write through
// the engine: each iteration is one CreateApplicationKey, one guarded
// Commit, on a store opened with the backend's default options (every
// Commit syncs its log before returning). The store is a new one in the
// benchmark's temporary directory, holding the keys of earlier iterations
// only.
func BenchmarkCommitSynced(b *testing.B) {
	for _, be := range durableBackends() {
		b.Run(be.name, func(b *testing.B) {
			ctx := context.Background()
			s, err := be.open(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer func() {
				if err := s.Close(); err != nil {
					b.Error(err)
				}
			}()
			e, err := auth.New(ctx, s, engineOptions(variantDefault, 0))
			if err != nil {
				b.Fatal(err)
			}
			acct, err := e.CreateAccount(ctx, "bench account")
			if err != nil {
				b.Fatal(err)
			}
			ws, err := e.CreateWorkspace(ctx, acct.ID, "bench workspace")
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := e.CreateApplicationKey(ctx, ws.ID, keyName, time.Time{}); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
		})
	}
}

// openSizes are the fixture sizes BenchmarkOpen opens.
var openSizes = []size{
	{"100k", 100_000},
	{"1M", 1_000_000},
}

// BenchmarkOpen measures how long a process takes to get ready over an
// existing store of n keys: open its directory with the default options
// and build an engine over it (auth.New, default options), then close it
// (the close is timed too: it is one of each iteration's steps that leave
// the directory as the next Open expects). The fixture's own store is
// closed for the duration (and reopened by the next benchmark that uses
// it); the files are in the page cache after the first iteration, so this
// is a warm open.
func BenchmarkOpen(b *testing.B) {
	for _, be := range durableBackends() {
		b.Run(be.name, func(b *testing.B) {
			for _, sz := range openSizes {
				b.Run(sz.name, func(b *testing.B) {
					f := fixtureFor(b, be, sz.n)
					f.closeStore(b)
					ctx := context.Background()
					b.ReportAllocs()
					b.ResetTimer()
					for range b.N {
						s, err := be.open(f.dir)
						if err != nil {
							b.Fatal(err)
						}
						if _, err := auth.New(ctx, s, engineOptions(variantDefault, sz.n)); err != nil {
							b.Fatal(err)
						}
						if err := s.Close(); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

// BenchmarkDiskPerKey reports the size of a durable fixture's directory
// (the sum of its files' sizes), divided by its number of keys, once the
// fixture is built, its compactions are done and its store is closed (see
// settle in setup_test.go): disk-B/key. It
// is not a timed benchmark: ns/op is suppressed, and the figure is the
// same for every -count run of a process. Besides the n application keys
// the store holds one account, one workspace and the backend's fixed
// files, which is most of the 1k figure.
func BenchmarkDiskPerKey(b *testing.B) {
	for _, be := range durableBackends() {
		b.Run(be.name, func(b *testing.B) {
			for _, sz := range sizes {
				b.Run(sz.name, func(b *testing.B) {
					f := fixtureFor(b, be, sz.n)
					b.ReportMetric(float64(f.disk)/float64(sz.n), "disk-B/key")
					b.ReportMetric(0, "ns/op")
				})
			}
		})
	}
}
