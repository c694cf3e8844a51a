package bench

import (
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"testing"

	"github.com/streamauth/streamauth/keys"
)

// floorSink keeps the floor's lookups observable.
var floorSink int

// BenchmarkFloor is the least work any lookup of a secret must do, to which
// BenchmarkAuthenticate/mem/<size>/hit is compared: hex-decode the 64
// digits after "aks_" into a [32]byte on the stack, SHA-256 them, and look
// the digest up in a plain map[[32]byte]int of the same size. The map holds
// exactly the keys of the first backend's fixture (the same secret strings,
// cycled in the same order as the hit case).
func BenchmarkFloor(b *testing.B) {
	for _, sz := range sizes {
		b.Run(sz.name, func(b *testing.B) {
			f := fixtureFor(b, backends[0], sz.n)
			m := floorMapFor(b, sz.n, f.secrets)
			secrets := f.secrets
			b.ReportAllocs()
			b.ResetTimer()
			j, sum := 0, 0
			for range b.N {
				s := secrets[j][len(keys.SecretPrefix):]
				var raw [32]byte
				// The compiler makes this []byte(s) a zero-copy view, since
				// hex.Decode neither keeps nor modifies src (allocs/op would
				// show it if that ever changed).
				if _, err := hex.Decode(raw[:], []byte(s)); err != nil {
					b.Fatalf("secret %d: %v", j, err)
				}
				v, ok := m[sha256.Sum256(raw[:])]
				if !ok {
					b.Fatalf("secret %d: not in the map", j)
				}
				sum += v
				if j++; j == len(secrets) {
					j = 0
				}
			}
			floorSink = sum
		})
	}
}

type floorEntry struct {
	once sync.Once
	m    map[[32]byte]int
	err  error
}

var floorMaps sync.Map // n → *floorEntry

// floorMapFor returns the cached map from the SHA-256 of each secret's raw
// 32 bytes to its index in secrets.
func floorMapFor(b *testing.B, n int, secrets []string) map[[32]byte]int {
	b.Helper()
	v, _ := floorMaps.LoadOrStore(n, new(floorEntry))
	e := v.(*floorEntry)
	e.once.Do(func() {
		e.m = make(map[[32]byte]int, len(secrets))
		for i, s := range secrets {
			var raw [32]byte
			if _, err := hex.Decode(raw[:], []byte(s[len(keys.SecretPrefix):])); err != nil {
				e.err = err
				return
			}
			e.m[sha256.Sum256(raw[:])] = i
		}
	})
	if e.err != nil {
		b.Fatalf("building the floor map of %d keys: %v", n, e.err)
	}
	return e.m
}
