package bench

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"

	"github.com/streamauth/streamauth/auth"
)

// BenchmarkAuthenticate measures Engine.Authenticate with the default
// engine options on one goroutine, per backend and fixture size, for three
// kinds of input:
//
//   - hit: an issued secret (cycling through all n, shuffled);
//   - miss: a well-formed secret never issued (cycling through 4096);
//   - malformed: a secret the parser refuses (cycling through 4096, a mix
//     of wrong prefix, wrong checksum, uppercase and truncated).
func BenchmarkAuthenticate(b *testing.B) {
	forEachCase(b, func(b *testing.B, f *fixture, c authCase) {
		benchAuthCase(b, f, c, variantDefault)
	})
}

// BenchmarkAuthenticateCache measures the same cases as
// BenchmarkAuthenticate with the engine's read cache and index on
// (cached: a cache holding every key, warmed) and off (uncached: every
// well-formed secret reads the store), one level further down:
// BenchmarkAuthenticateCache/<backend>/<n>/<case>/{cached,uncached}.
func BenchmarkAuthenticateCache(b *testing.B) {
	forEachCase(b, func(b *testing.B, f *fixture, c authCase) {
		for _, v := range cacheVariants {
			b.Run(v.String(), func(b *testing.B) {
				benchAuthCase(b, f, c, v)
			})
		}
	})
}

// authCase is a kind of input to Authenticate.
type authCase int

const (
	caseHit authCase = iota
	caseMiss
	caseMalformed
)

var authCases = []authCase{caseHit, caseMiss, caseMalformed}

func (c authCase) String() string {
	return [...]string{"hit", "miss", "malformed"}[c]
}

// forEachCase runs fn as the sub-benchmark <backend>/<size>/<case> of b,
// for every backend, size and case, with the fixture it needs.
func forEachCase(b *testing.B, fn func(b *testing.B, f *fixture, c authCase)) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			for _, sz := range sizes {
				b.Run(sz.name, func(b *testing.B) {
					for _, c := range authCases {
						b.Run(c.String(), func(b *testing.B) {
							fn(b, fixtureFor(b, be, sz.n), c)
						})
					}
				})
			}
		})
	}
}

// benchAuthCase runs case c against the engine of variant v over f, on
// one goroutine.
func benchAuthCase(b *testing.B, f *fixture, c authCase, v variant) {
	e := f.engine(b, v)
	secrets, refuse := caseSecrets(b, e, f, c)
	benchAuthenticate(b, e, secrets, refuse)
}

// caseSecrets returns the secrets case c cycles through over f, and
// whether Authenticate must refuse them. The miss and malformed secrets
// are checked against e first, before any timer starts.
func caseSecrets(b *testing.B, e *auth.Engine, f *fixture, c authCase) (secrets []string, refuse bool) {
	b.Helper()
	switch c {
	case caseMiss:
		secrets = missSecrets()
		checkMiss(b, e, secrets)
		return secrets, true
	case caseMalformed:
		secrets = malformedSecrets()
		checkMalformed(b, e, secrets)
		return secrets, true
	}
	return f.secrets, false
}

// benchAuthenticate authenticates b.N secrets, cycling through secrets, and
// fails at the first outcome other than the expected one: success, or
// ErrUnauthenticated if refuse. The check does not allocate.
func benchAuthenticate(b *testing.B, e *auth.Engine, secrets []string, refuse bool) {
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	j := 0
	for range b.N {
		_, err := e.Authenticate(ctx, secrets[j])
		if refuse {
			if !errors.Is(err, auth.ErrUnauthenticated) {
				b.Fatalf("secret %d: Authenticate = %v, want ErrUnauthenticated", j, err)
			}
		} else if err != nil {
			b.Fatalf("secret %d: Authenticate = %v, want success", j, err)
		}
		if j++; j == len(secrets) {
			j = 0
		}
	}
}

// BenchmarkStoreGet measures the store read under Authenticate on its own:
// store.Get of the hot records of the hit case's secrets, in the same
// order, with no parsing, digest or check. BenchmarkAuthenticateCache/
// <backend>/<n>/hit/uncached ÷ BenchmarkStoreGet/<backend>/<n> is what the
// engine adds to one read of its store. The keys sit side by side in one
// array, read in order, while Authenticate reads each secret's text from
// wherever the heap put it: at 1M keys that costs Authenticate a cache miss
// (about 100 ns) that Get does not pay, so the ratio errs on the high side.
func BenchmarkStoreGet(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			for _, sz := range sizes {
				b.Run(sz.name, func(b *testing.B) {
					f := fixtureFor(b, be, sz.n)
					hot := f.hotKeysOf(b)
					s := f.openStore(b)
					ctx := context.Background()
					b.ReportAllocs()
					b.ResetTimer()
					j := 0
					for range b.N {
						v, err := s.Get(ctx, hot[j])
						if err != nil || len(v) == 0 {
							b.Fatalf("key %d: Get = %d bytes, %v; want the hot record", j, len(v), err)
						}
						if j++; j == len(hot) {
							j = 0
						}
					}
				})
			}
		})
	}
}

// BenchmarkAuthenticateParallel measures the cases of
// BenchmarkAuthenticate, with the default engine options, from GOMAXPROCS
// goroutines (scale with -cpu; bench/run.sh runs it with -cpu=1,2), to
// show contention on the engine's and the store's read paths:
// BenchmarkAuthenticateParallel/<backend>/<n>/{hit,miss,malformed}. ns/op
// is the wall time per Authenticate of all goroutines together, so its
// figure at -cpu=1 divided by its figure at -cpu=2 is how much the second
// core adds to the throughput.
func BenchmarkAuthenticateParallel(b *testing.B) {
	forEachCase(b, func(b *testing.B, f *fixture, c authCase) {
		benchAuthCaseParallel(b, f, c, variantDefault)
	})
}

// BenchmarkAuthenticateCacheParallel is BenchmarkAuthenticateCache from
// GOMAXPROCS goroutines, as BenchmarkAuthenticateParallel is
// BenchmarkAuthenticate: BenchmarkAuthenticateCacheParallel/<backend>/<n>/
// <case>/{cached,uncached}. The cached variant shows how the read cache
// scales with cores; the uncached one how the store's own read path does.
func BenchmarkAuthenticateCacheParallel(b *testing.B) {
	forEachCase(b, func(b *testing.B, f *fixture, c authCase) {
		for _, v := range cacheVariants {
			b.Run(v.String(), func(b *testing.B) {
				benchAuthCaseParallel(b, f, c, v)
			})
		}
	})
}

// benchAuthCaseParallel runs case c against the engine of variant v over
// f, from GOMAXPROCS goroutines.
func benchAuthCaseParallel(b *testing.B, f *fixture, c authCase, v variant) {
	e := f.engine(b, v)
	secrets, refuse := caseSecrets(b, e, f, c)
	benchAuthenticateParallel(b, e, secrets, refuse)
}

// benchAuthenticateParallel is benchAuthenticate from GOMAXPROCS
// goroutines, each starting at its own place in the cycle; a goroutine
// that sees an unexpected outcome reports it and stops.
func benchAuthenticateParallel(b *testing.B, e *auth.Engine, secrets []string, refuse bool) {
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	parallel(b, func(g, n int) {
		j := g * 7919 % len(secrets)
		for range n {
			_, err := e.Authenticate(ctx, secrets[j])
			// Fatal may only be called from the benchmark's goroutine.
			if refuse {
				if !errors.Is(err, auth.ErrUnauthenticated) {
					b.Errorf("secret %d: Authenticate = %v, want ErrUnauthenticated", j, err)
					return
				}
			} else if err != nil {
				b.Errorf("secret %d: Authenticate = %v, want success", j, err)
				return
			}
			if j++; j == len(secrets) {
				j = 0
			}
		}
	})
}

// parallel runs body b.N times in all, from GOMAXPROCS goroutines: body(g,
// n) runs n iterations as goroutine g, and the shares n add up to b.N. It
// stands in for b.RunParallel, whose goroutines count their iterations in
// 32-byte testing.PB values that the allocator may place on one cache
// line: every pb.Next writes its goroutine's count, and the line then
// moves between the cores on every iteration. With RunParallel, two
// goroutines ran Authenticate on mem at 1k keys in 140 ns in some
// processes and in 180 to 200 ns in others; with this, in 137 to 155 ns.
func parallel(b *testing.B, body func(g, n int)) {
	procs := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for g := range procs {
		n := b.N / procs
		if g < b.N%procs {
			n++
		}
		wg.Go(func() { body(g, n) })
	}
	wg.Wait()
}
