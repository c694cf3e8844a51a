package keys

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
	"testing"

	"pgregory.net/rapid"
)

// eachPath runs f once on the assembly this processor can run, and once on
// the portable path: crypto/sha256, the CRC tables and the eight-digit hex
// decoder. f must create its Hashers itself: a Hasher keeps the path in
// force when it is made.
func eachPath(t *testing.T, f func(t *testing.T)) {
	sha, crc, ssse3 := useSHA, useCRC32, useSSSE3
	t.Run("asm", func(t *testing.T) {
		if !sha && !crc && !ssse3 {
			t.Skip("no assembly here: not amd64, the purego tag, or none of SHA, SSE4.2 and SSSE3")
		}
		t.Logf("SHA extensions %v, SSE4.2 %v, SSSE3 %v", sha, crc, ssse3)
		f(t)
	})
	t.Run("portable", func(t *testing.T) { portable(func() { f(t) }) })
}

// portable runs f with the assembly switched off, and switches it back.
func portable(f func()) {
	sha, crc, ssse3 := useSHA, useCRC32, useSSSE3
	useSHA, useCRC32, useSSSE3 = false, false, false
	defer func() { useSHA, useCRC32, useSSSE3 = sha, crc, ssse3 }()
	f()
}

// refDigest is the digest of plain by the standard library: SHA-256, or
// HMAC-SHA-256 under a non-empty pepper.
func refDigest(pepper, plain []byte) []byte {
	if len(pepper) == 0 {
		sum := sha256.Sum256(plain)
		return sum[:]
	}
	return refHMAC(pepper, plain)
}

// digestOf is h's digest of a secret's bytes.
func digestOf(h *Hasher, plain *[secretBytes]byte) Digest {
	var block [sha256.BlockSize]byte
	copy(block[:], plain[:])
	return h.digest(&block)
}

// TestDigestMatchesStdlib checks every digest, with and without a pepper
// of every allowed length, against crypto/sha256 and crypto/hmac.
func TestDigestMatchesStdlib(t *testing.T) {
	eachPath(t, func(t *testing.T) {
		rapid.Check(t, func(t *rapid.T) {
			var plain [secretBytes]byte
			copy(plain[:], rapid.SliceOfN(rapid.Byte(), secretBytes, secretBytes).Draw(t, "plain"))
			var pepper []byte
			if rapid.Bool().Draw(t, "keyed") {
				pepper = rapid.SliceOfN(rapid.Byte(), MinPepperSize, MaxPepperSize).Draw(t, "pepper")
			}
			h, err := NewHasher(pepper)
			if err != nil {
				t.Fatal(err)
			}
			want := refDigest(pepper, plain[:])
			got := digestOf(h, &plain)
			if hex.EncodeToString(got.b[:]) != hex.EncodeToString(want) {
				t.Fatalf("digest = %x, want %x", got.b, want)
			}
		})
	})
}

// TestCompressKnownAnswers checks the compression alone on the two
// one-block messages of FIPS 180-4's examples that fit: "" and "abc".
func TestCompressKnownAnswers(t *testing.T) {
	if !useSHA {
		t.Skip("no SHA extensions here, or not amd64")
	}
	for msg, want := range map[string]string{
		"":    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"abc": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	} {
		var block [64]byte
		copy(block[:], msg)
		block[len(msg)] = 0x80
		binary.BigEndian.PutUint64(block[56:], uint64(len(msg))*8)
		s := shaInit
		compress(&s, &block)
		var out [DigestSize]byte
		s.put(&out)
		if got := hex.EncodeToString(out[:]); got != want {
			t.Errorf("SHA-256(%q) = %s, want %s", msg, got, want)
		}
	}
}

// TestShaLanes checks that laneState and put are inverses: the lane order
// is what the assembly and the output agree on.
func TestShaLanes(t *testing.T) {
	var h [8]uint32
	for i := range h {
		h[i] = uint32(i+1) * 0x01010101
	}
	s := laneState(&h)
	var out [DigestSize]byte
	s.put(&out)
	for i := range h {
		if got := binary.BigEndian.Uint32(out[4*i:]); got != h[i] {
			t.Fatalf("word %d = %#x, want %#x", i, got, h[i])
		}
	}
}

// TestChecksumMatchesStdlib checks the checksum on both paths against
// hash/crc32, and the tables on every length.
func TestChecksumMatchesStdlib(t *testing.T) {
	castagnoli := crc32.MakeTable(crc32.Castagnoli)
	eachPath(t, func(t *testing.T) {
		rapid.Check(t, func(t *rapid.T) {
			var random [randomBytes]byte
			copy(random[:], rapid.SliceOfN(rapid.Byte(), randomBytes, randomBytes).Draw(t, "random"))
			if got, want := checksum(&random), crc32.Checksum(random[:], castagnoli); got != want {
				t.Fatalf("checksum = %#x, want %#x", got, want)
			}
			p := rapid.SliceOfN(rapid.Byte(), 0, 100).Draw(t, "p")
			if got, want := checksumTables(p), crc32.Checksum(p, castagnoli); got != want {
				t.Fatalf("checksumTables(%d bytes) = %#x, want %#x", len(p), got, want)
			}
		})
	})
}

// TestSecretsCrossPaths checks that a secret issued on one path parses on
// the other, with the same digest, in both directions.
func TestSecretsCrossPaths(t *testing.T) {
	if !useSHA || !useCRC32 || !useSSSE3 {
		t.Skip("no assembly path to cross with here")
	}
	type issued struct {
		text   string
		digest Digest
	}
	issue := func(t *testing.T) []issued {
		h := mustHasher(t, katPepper())
		var out []issued
		for range 100 {
			s, err := NewSecret()
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, issued{s.Reveal(), h.Digest(&s)})
		}
		return out
	}
	check := func(t *testing.T, secrets []issued) {
		h := mustHasher(t, katPepper())
		for i, s := range secrets {
			d, err := h.DigestText(s.text)
			if err != nil {
				t.Fatalf("secret %d: %v", i, err)
			}
			if !d.Equal(s.digest) {
				t.Fatalf("secret %d: digest %v, want %v", i, d, s.digest)
			}
		}
	}
	fromAsm := issue(t)
	portable(func() { check(t, fromAsm) })
	var fromPortable []issued
	portable(func() { fromPortable = issue(t) })
	check(t, fromPortable)
}

// TestHasherKeepsItsPath checks that a Hasher made on one path digests on
// that path after the switch changes: a peppered Hasher made without the
// assembly has no pad states, and must not start from zero ones.
func TestHasherKeepsItsPath(t *testing.T) {
	var h1, h2 *Hasher
	portable(func() { h1, h2 = mustHasher(t, katPepper()), mustHasher(t, make([]byte, 32)) })
	var plain [secretBytes]byte
	d1, d2 := digestOf(h1, &plain), digestOf(h2, &plain)
	if want := refHMAC(katPepper(), plain[:]); string(d1.b[:]) != string(want) {
		t.Fatalf("digest = %x, want %x", d1.b, want)
	}
	if d1.Equal(d2) {
		t.Fatal("two peppers gave one digest")
	}
}
