package snapshot

import (
	"crypto/ed25519"
	"testing"
)

// benchCredentials is the size of the benchmarks' snapshot: a large
// cluster. The target is at most a second for each of Encode and Decode.
const benchCredentials = 100_000

func benchSnapshot(b *testing.B) (*Snapshot, []byte) {
	b.Helper()
	s := valid(100, benchCredentials)
	enc, err := Encode(s, priv1)
	if err != nil {
		b.Fatal(err)
	}
	return s, enc
}

// BenchmarkEncode100k encodes and signs a snapshot of 100,000 credentials
// (and 100 agent keys), invariant checks included.
func BenchmarkEncode100k(b *testing.B) {
	s, enc := benchSnapshot(b)
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(s, priv1); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(enc))/benchCredentials, "B/credential")
}

// BenchmarkDecode100k verifies and decodes the same snapshot.
func BenchmarkDecode100k(b *testing.B) {
	_, enc := benchSnapshot(b)
	trusted := []ed25519.PublicKey{pub2, pub1}
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(enc, trusted); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(enc))/benchCredentials, "B/credential")
}
