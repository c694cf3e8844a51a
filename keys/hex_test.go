package keys

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// refDecodeHex is decodeHex written plainly: lowercase digits only, decoded
// by encoding/hex.
func refDecodeHex(src string) ([]byte, bool) {
	for i := range len(src) {
		if !strings.ContainsRune(hexDigits, rune(src[i])) {
			return nil, false
		}
	}
	b, err := hex.DecodeString(src)
	return b, err == nil
}

// TestDecodeHexEveryByte puts every byte value at every position of inputs
// long enough to use the eight-digit path, its tail, or both, and of a
// secret's length, and compares decodeHex with the plain decoder.
func TestDecodeHexEveryByte(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 32} {
		base := []byte(strings.Repeat("0f9a", n)[:2*n])
		for i := range base {
			for c := range 256 {
				src := bytes.Clone(base)
				src[i] = byte(c)
				want, wantOK := refDecodeHex(string(src))
				dst := make([]byte, n)
				ok := decodeHex(dst, string(src))
				if ok != wantOK || ok && !bytes.Equal(dst, want) {
					t.Fatalf("decodeHex(%q) = %x, %v; want %x, %v", src, dst, ok, want, wantOK)
				}
			}
		}
	}
}

// drawHexish draws n bytes, each a lowercase hex digit but for one in odds
// on average, drawn from the near misses and the extremes.
func drawHexish(t *rapid.T, n, odds int) []byte {
	const near = "0123456789abcdefABCDEF/:`g\x00\x7f\x80\xff"
	src := make([]byte, n)
	for i := range src {
		if rapid.IntRange(0, odds-1).Draw(t, "odd") == 0 {
			src[i] = near[rapid.IntRange(0, len(near)-1).Draw(t, "c")]
		} else {
			src[i] = hexDigits[rapid.IntRange(0, 15).Draw(t, "d")]
		}
	}
	return src
}

// TestDecodeHexProperty compares decodeHex with the plain decoder on random
// strings drawn mostly from the hex alphabet and its near misses.
func TestDecodeHexProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.SampledFrom([]int{0, 1, 3, 4, 7, 16, 31, 32, 32, 32, 33, 40}).Draw(t, "n")
		src := drawHexish(t, 2*n, 10)
		want, wantOK := refDecodeHex(string(src))
		dst := make([]byte, n)
		ok := decodeHex(dst, string(src))
		if ok != wantOK || ok && !bytes.Equal(dst, want) {
			t.Fatalf("decodeHex(%q) = %x, %v; want %x, %v", src, dst, ok, want, wantOK)
		}
		if decodeHex(make([]byte, n+1), string(src)) {
			t.Fatalf("decodeHex accepted %d digits for %d bytes", len(src), n+1)
		}
	})
}

// TestDecodeSecretHexEveryByte puts every byte value at every position of
// a secret's 64 digits, on each path, and compares decodeSecretHex with
// the plain decoder; every position also holds every digit once, so that
// each lane of the sixteen-digit decoder decodes all sixteen values.
func TestDecodeSecretHexEveryByte(t *testing.T) {
	eachPath(t, func(t *testing.T) {
		base := []byte(strings.Repeat(hexDigits, 4))
		for range 16 {
			for i := range base {
				for c := range 256 {
					src := bytes.Clone(base)
					src[i] = byte(c)
					want, wantOK := refDecodeHex(string(src))
					// dst is the first half of buf; the second half must
					// stay as it was.
					var buf [2 * secretBytes]byte
					copy(buf[secretBytes:], canary)
					dst := (*[secretBytes]byte)(buf[:secretBytes])
					ok := decodeSecretHex(dst, string(src))
					if ok != wantOK || ok && !bytes.Equal(dst[:], want) {
						t.Fatalf("decodeSecretHex(%q) = %x, %v; want %x, %v", src, dst, ok, want, wantOK)
					}
					if !bytes.Equal(buf[secretBytes:], canary) {
						t.Fatalf("decodeSecretHex(%q) wrote past its 32 bytes: %x", src, buf[secretBytes:])
					}
				}
			}
			base = append(base[1:], base[0])
		}
		// Lengths other than 64, each a prefix of valid digits that go
		// on, so that a decoder reading 64 bytes whatever the length
		// would find valid digits there.
		digits := strings.Repeat(hexDigits, 5)
		for _, n := range []int{0, 1, 32, 63, 65, 66, 80} {
			var dst [secretBytes]byte
			if decodeSecretHex(&dst, digits[:n]) {
				t.Errorf("decodeSecretHex accepted %d digits", n)
			}
		}
	})
}

// canary fills the bytes after a decoder's output in the tests.
var canary = bytes.Repeat([]byte{0xa5}, secretBytes)

// TestDecodeSecretHexProperty compares decodeSecretHex on each path with
// the plain decoder on random 64-digit strings mostly of hex digits.
func TestDecodeSecretHexProperty(t *testing.T) {
	eachPath(t, func(t *testing.T) {
		rapid.Check(t, func(t *rapid.T) {
			src := drawHexish(t, 2*secretBytes, 50)
			want, wantOK := refDecodeHex(string(src))
			var dst [secretBytes]byte
			ok := decodeSecretHex(&dst, string(src))
			if ok != wantOK || ok && !bytes.Equal(dst[:], want) {
				t.Fatalf("decodeSecretHex(%q) = %x, %v; want %x, %v", src, dst, ok, want, wantOK)
			}
		})
	})
}
