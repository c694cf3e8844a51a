package keys

import "testing"

// FuzzDigest checks the digest of any 32 bytes, under no pepper or any
// allowed one, against crypto/sha256 and crypto/hmac, on the path this
// processor takes.
func FuzzDigest(f *testing.F) {
	f.Add(make([]byte, secretBytes), []byte(nil))
	f.Add([]byte("0123456789abcdef0123456789abcdef"), katPepper())
	f.Fuzz(func(t *testing.T, plainIn, pepper []byte) {
		var plain [secretBytes]byte
		copy(plain[:], plainIn)
		if len(pepper) > MaxPepperSize {
			pepper = pepper[:MaxPepperSize]
		}
		h, err := NewHasher(pepper)
		if err != nil {
			if len(pepper) >= MinPepperSize {
				t.Fatalf("NewHasher(%d bytes): %v", len(pepper), err)
			}
			return
		}
		want := refDigest(pepper, plain[:])
		got := digestOf(h, &plain)
		if string(got.b[:]) != string(want) {
			t.Fatalf("digest = %x, want %x", got.b, want)
		}
	})
}
