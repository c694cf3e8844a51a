package bench

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/streamauth/streamauth/auth"
)

// BenchmarkAuthenticate measures Engine.Authenticate on one goroutine, per
// backend and fixture size, for three kinds of input:
//
//   - hit: an issued secret (cycling through all n, shuffled);
//   - miss: a well-formed secret never issued (cycling through 4096);
//   - malformed: a secret the parser refuses (cycling through 4096, a mix
//     of wrong prefix, wrong checksum, uppercase and truncated).
func BenchmarkAuthenticate(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			for _, sz := range sizes {
				b.Run(sz.name, func(b *testing.B) {
					b.Run("hit", func(b *testing.B) {
						f := fixtureFor(b, be, sz.n)
						benchAuthenticate(b, f.engine, f.secrets, false)
					})
					b.Run("miss", func(b *testing.B) {
						f := fixtureFor(b, be, sz.n)
						secrets := missSecrets()
						checkMiss(b, f.engine, secrets)
						benchAuthenticate(b, f.engine, secrets, true)
					})
					b.Run("malformed", func(b *testing.B) {
						f := fixtureFor(b, be, sz.n)
						secrets := malformedSecrets()
						checkMalformed(b, f.engine, secrets)
						benchAuthenticate(b, f.engine, secrets, true)
					})
				})
			}
		})
	}
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

// BenchmarkAuthenticateParallel measures Engine.Authenticate of issued
// secrets from GOMAXPROCS goroutines (scale with -cpu), to show contention
// on the store's read path.
func BenchmarkAuthenticateParallel(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			for _, sz := range sizes {
				b.Run(sz.name, func(b *testing.B) {
					b.Run("hit", func(b *testing.B) {
						f := fixtureFor(b, be, sz.n)
						benchAuthenticateParallel(b, f.engine, f.secrets)
					})
				})
			}
		})
	}
}

func benchAuthenticateParallel(b *testing.B, e *auth.Engine, secrets []string) {
	ctx := context.Background()
	var goroutines atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		// Start each goroutine at its own place in the cycle.
		j := int(goroutines.Add(1)-1) * 7919 % len(secrets)
		for pb.Next() {
			if _, err := e.Authenticate(ctx, secrets[j]); err != nil {
				// Fatal may only be called from the benchmark's goroutine.
				b.Errorf("secret %d: Authenticate = %v, want success", j, err)
				return
			}
			if j++; j == len(secrets) {
				j = 0
			}
		}
	})
}
