package keys

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
)

const (
	// DigestSize is the length of a digest in bytes.
	DigestSize = sha256.Size
	// PrefixSize is the length of the digest prefix under which a key is
	// indexed. 128 bits: two live keys share a prefix with probability
	// about n²/2¹²⁹, and the issuer retries on the off chance.
	PrefixSize = 16
	// MaxPepperSize bounds the server-side pepper.
	MaxPepperSize = 64
	// MinPepperSize is the shortest pepper accepted.
	MinPepperSize = 16
)

// Digest is the stored form of a secret. It cannot be compared with ==;
// use [Digest.Equal], which runs in constant time.
type Digest struct {
	_ [0]func() // not comparable: == is not constant time
	b [DigestSize]byte
}

// DigestFromBytes copies a stored digest. It fails unless len(b) is
// [DigestSize].
func DigestFromBytes(b []byte) (Digest, error) {
	var d Digest
	if len(b) != DigestSize {
		return d, errors.New("keys: digest has the wrong length")
	}
	copy(d.b[:], b)
	return d, nil
}

// Equal reports whether d and e are equal, in constant time.
func (d Digest) Equal(e Digest) bool { return equal32(&d.b, &e.b) }

// EqualBytes reports whether d equals the stored digest b, in constant time.
// It is false if b has the wrong length.
func (d *Digest) EqualBytes(b []byte) bool {
	return len(b) == DigestSize && equal32(&d.b, (*[DigestSize]byte)(b))
}

// EqualWords reports whether d equals the digest whose bytes are w0, w1,
// w2 and w3 in little-endian order, in constant time: a digest held as
// machine words, as a cache that reads it word by word holds it, compared
// without first storing it as bytes.
func (d *Digest) EqualWords(w0, w1, w2, w3 uint64) bool {
	le := binary.LittleEndian
	x := (le.Uint64(d.b[0:]) ^ w0) | (le.Uint64(d.b[8:]) ^ w1) |
		(le.Uint64(d.b[16:]) ^ w2) | (le.Uint64(d.b[24:]) ^ w3)
	return subtle.ConstantTimeEq(int32(uint32(x)|uint32(x>>32)), 0) == 1
}

// equal32 reports whether a and b are equal, in constant time: it ORs
// together the XORs of their four words, where crypto/subtle's
// ConstantTimeCompare goes a byte at a time (10 ns on the hot path, against
// about 1), and turns the result into a bool with subtle.ConstantTimeEq.
// That it has no branch on the bytes rests on the compiler, as it does
// for crypto/subtle: checked in the disassembly on amd64, arm64 and 386
// (TEST and SETE or CSET, no jump but the loop's).
func equal32(a, b *[DigestSize]byte) bool {
	le := binary.LittleEndian
	var x uint64
	for i := 0; i < DigestSize; i += 8 {
		x |= le.Uint64(a[i:]) ^ le.Uint64(b[i:])
	}
	return subtle.ConstantTimeEq(int32(uint32(x)|uint32(x>>32)), 0) == 1
}

// Prefix returns the first [PrefixSize] bytes of d: the index key.
func (d *Digest) Prefix() *[PrefixSize]byte {
	return (*[PrefixSize]byte)(d.b[:PrefixSize])
}

// AppendBinary appends the digest's bytes to b.
func (d Digest) AppendBinary(b []byte) ([]byte, error) {
	return append(b, d.b[:]...), nil
}

// String returns a short fingerprint, enough to tell digests apart in a
// log, not the whole digest.
func (d Digest) String() string {
	return "sha256:" + string(appendHex(nil, d.b[:6])) + "…"
}

// Format writes the fingerprint of [Digest.String] for every verb.
func (d Digest) Format(f fmt.State, _ rune) { io.WriteString(f, d.String()) }

// LogValue makes log/slog print the fingerprint.
func (d Digest) LogValue() slog.Value { return slog.StringValue(d.String()) }

// Hasher turns secrets into digests: SHA-256 of the secret's 32 bytes, or,
// with a pepper, HMAC-SHA-256 keyed with it. A Hasher is safe for concurrent
// use; Digest does not allocate.
//
// A pepper is a server-side secret kept apart from the store (for example in
// a secret manager), so that a copy of the store alone cannot even confirm a
// guessed key. Changing the pepper invalidates every stored digest.
type Hasher struct {
	keyed      bool
	ipad, opad [sha256.BlockSize]byte
	// blocks is useSHA when the Hasher was made: whether it digests by
	// compress, from inner and outer, the states after the pads' blocks
	// where every keyed digest's two compressions begin.
	blocks       bool
	inner, outer shaState
}

// NewHasher returns a Hasher. An empty pepper means plain SHA-256; otherwise
// the pepper must be [MinPepperSize] to [MaxPepperSize] bytes.
func NewHasher(pepper []byte) (*Hasher, error) {
	h := &Hasher{blocks: useSHA}
	if len(pepper) == 0 {
		return h, nil
	}
	if len(pepper) < MinPepperSize || len(pepper) > MaxPepperSize {
		return nil, fmt.Errorf("keys: pepper must be %d to %d bytes", MinPepperSize, MaxPepperSize)
	}
	h.keyed = true
	copy(h.ipad[:], pepper)
	copy(h.opad[:], pepper)
	for i := range h.ipad {
		h.ipad[i] ^= 0x36
		h.opad[i] ^= 0x5c
	}
	if h.blocks {
		// The states are all this Hasher needs; the pads, the pepper
		// XORed with a constant, are not kept.
		h.inner, h.outer = shaInit, shaInit
		compress(&h.inner, &h.ipad)
		compress(&h.outer, &h.opad)
		clear(h.ipad[:])
		clear(h.opad[:])
	}
	return h, nil
}

// Digest returns the digest of s.
func (h *Hasher) Digest(s *Secret) Digest {
	var block [sha256.BlockSize]byte
	defer clear(block[:])
	s.open((*[secretBytes]byte)(block[:]))
	return h.digest(&block)
}

// DigestText parses the text of a secret as [ParseSecret] does, with the
// same errors, and returns its digest: what a lookup needs, without the
// Secret in between. It does not allocate.
func (h *Hasher) DigestText(text string) (Digest, error) {
	var block [sha256.BlockSize]byte
	defer clear(block[:])
	if err := decodeSecretText((*[secretBytes]byte)(block[:]), text); err != nil {
		return Digest{}, err
	}
	return h.digest(&block), nil
}

// digest returns the digest of the secret whose bytes fill the first half
// of block, a SHA-256 block so that the secret is decoded where the
// compression reads it. digest may write over the whole block; the caller
// clears it.
func (h *Hasher) digest(block *[sha256.BlockSize]byte) Digest {
	if h.blocks {
		return h.digestBlocks(block)
	}
	// crypto/sha256 copies the secret into a buffer of its own, which it
	// does not clear; the assembly path makes no such copy.
	plain := block[:secretBytes]
	if !h.keyed {
		return Digest{b: sha256.Sum256(plain)}
	}
	// HMAC (RFC 2104) written out over fixed-size buffers, so that it does
	// not allocate: H(opad ‖ H(ipad ‖ m)).
	var buf [sha256.BlockSize + DigestSize]byte
	defer clear(buf[:])
	copy(buf[:], h.ipad[:])
	copy(buf[sha256.BlockSize:], plain)
	inner := sha256.Sum256(buf[:])
	copy(buf[:], h.opad[:])
	copy(buf[sha256.BlockSize:], inner[:])
	clear(inner[:])
	return Digest{b: sha256.Sum256(buf[:])}
}

// digestBlocks is digest by compress: the block, padded, is the whole
// message; with a pepper, the message is the pad's block and this one, and
// the outer hash's second block holds the inner digest and the same
// padding.
func (h *Hasher) digestBlocks(block *[sha256.BlockSize]byte) Digest {
	var (
		d Digest
		s shaState
	)
	if !h.keyed {
		padBlock(block, secretBytes)
		s = shaInit
		compress(&s, block)
		s.put(&d.b)
		return d
	}
	defer clear(s[:])
	padBlock(block, sha256.BlockSize+secretBytes)
	s = h.inner
	compress(&s, block)
	s.put((*[DigestSize]byte)(block[:DigestSize]))
	s = h.outer
	compress(&s, block)
	s.put(&d.b)
	return d
}
