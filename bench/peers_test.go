package bench

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/streamauth/streamauth/keys"
)

// peerKeys is how many keys the slow-hash peers' key stores hold and their
// benchmarks cycle through. The lookup of a key's stored hash by its id
// is not timed (it is free, in the peers' favour): only the check of the
// presented secret against that one hash is.
const peerKeys = 4

// peerSecrets returns n fresh secrets in our format ("aks_" and 64 hex
// digits: 68 bytes, under bcrypt's 72-byte limit), as the bytes a check
// receives.
func peerSecrets(b *testing.B, n int) [][]byte {
	b.Helper()
	out := make([][]byte, n)
	for i := range out {
		s, err := keys.NewSecret()
		if err != nil {
			b.Fatal(err)
		}
		out[i] = []byte(s.Reveal())
	}
	return out
}

// peerBcryptCost is the cost of BenchmarkPeerBcrypt: bcrypt.DefaultCost,
// the one most API-key libraries that hash keys with bcrypt keep.
const peerBcryptCost = 10

// BenchmarkPeerBcrypt is the key check of an API-key scheme that stores
// bcrypt(secret) per key, as many API-key libraries do: the presented
// secret is checked with bcrypt.CompareHashAndPassword against the one
// stored hash of its key id. Our BenchmarkAuthenticate/mem/1k/hit does the
// whole lookup, where the peer is given its stored hash for free.
func BenchmarkPeerBcrypt(b *testing.B) {
	b.Run("cost10", func(b *testing.B) {
		secrets := peerSecrets(b, peerKeys)
		hashes := make([][]byte, len(secrets))
		for i, s := range secrets {
			h, err := bcrypt.GenerateFromPassword(s, peerBcryptCost)
			if err != nil {
				b.Fatal(err)
			}
			if cost, err := bcrypt.Cost(h); err != nil || cost != peerBcryptCost {
				b.Fatalf("stored hash %d: cost %d, %v; want %d", i, cost, err, peerBcryptCost)
			}
			hashes[i] = h
		}
		b.ReportAllocs()
		b.ResetTimer()
		j := 0
		for range b.N {
			if err := bcrypt.CompareHashAndPassword(hashes[j], secrets[j]); err != nil {
				b.Fatalf("key %d: CompareHashAndPassword = %v, want success", j, err)
			}
			if j++; j == len(secrets) {
				j = 0
			}
		}
	})
}

// djangoPBKDF2Iterations is the iteration count of Django's
// PBKDF2PasswordHasher in Django 2.2 (raised from 120,000 in 2.1 to
// 150,000 by django/django@9792af3, November 2018; werkzeug matched it in
// pallets/werkzeug#1377).
//
// Why Django 2.2: before its 3.0.0 (2023-09-30, whose changelog reads "Use
// faster SHA512-based key hasher instead of password hashers"),
// djangorestframework-api-key stored each key hashed with the
// application's default Django password hasher, PBKDF2PasswordHasher, so
// the cost followed the installed Django. Django 2.2 (April 2019) was the
// LTS release current with the library's 1.x releases; every later Django
// raised the count (260,000 in 3.2, 390,000 in 4.1, 600,000 in 4.2), so
// 150,000 is the cheapest count the pre-3.0 scheme ran with in practice: a
// choice in the peer's favour.
const djangoPBKDF2Iterations = 150_000

// BenchmarkPeerPBKDF2 is the key check djangorestframework-api-key did
// before 3.0: Django's PBKDF2PasswordHasher, PBKDF2-HMAC-SHA256 of the
// presented secret with the stored salt and djangoPBKDF2Iterations
// iterations, 32 bytes (SHA-256's size, Django's default dklen), compared
// with the stored hash in constant time. Django compares the base64
// encodings; comparing the raw bytes saves the peer the encoding. As for
// bcrypt, finding the stored hash of the key is free.
func BenchmarkPeerPBKDF2(b *testing.B) {
	b.Run("django", func(b *testing.B) {
		type stored struct{ salt, hash []byte }
		secrets := peerSecrets(b, peerKeys)
		strs := make([]string, len(secrets))
		store := make([]stored, len(secrets))
		for i, s := range secrets {
			strs[i] = string(s)
			// Django 2.2's salt is 12 characters of get_random_string.
			salt := []byte(rand.Text()[:12])
			h, err := pbkdf2.Key(sha256.New, strs[i], salt, djangoPBKDF2Iterations, sha256.Size)
			if err != nil {
				b.Fatal(err)
			}
			store[i] = stored{salt, h}
		}
		b.ReportAllocs()
		b.ResetTimer()
		j := 0
		for range b.N {
			h, err := pbkdf2.Key(sha256.New, strs[j], store[j].salt, djangoPBKDF2Iterations, sha256.Size)
			if err != nil || subtle.ConstantTimeCompare(h, store[j].hash) != 1 {
				b.Fatalf("key %d: PBKDF2 check failed (%v)", j, err)
			}
			if j++; j == len(strs) {
				j = 0
			}
		}
	})
}
