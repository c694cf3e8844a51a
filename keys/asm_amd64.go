//go:build amd64 && !purego

package keys

import "crypto/fips140"

// compress runs SHA-256's compression function on one block, updating s.
// It needs the SHA extensions and SSSE3 (useSHA).
//
//go:noescape
func compress(s *shaState, block *[64]byte)

// crc32c28 is the CRC-32C of 28 bytes, by the SSE4.2 instruction
// (useCRC32).
//
//go:noescape
func crc32c28(p *[randomBytes]byte) uint32

// decodeHex64 is decodeHex of 64 digits at src into dst, sixteen at a time
// (useSSSE3). It reads exactly 64 bytes at src, which the caller must
// check are there, and writes exactly 32 to dst, which hold part of the
// input even when it returns false. Like decodeHex it has no branch and no
// memory access that depends on a digit.
//
//go:noescape
func decodeHex64(dst *[secretBytes]byte, src *byte) bool

// hexConsts are decodeHex64's constants, each in all sixteen lanes: '0',
// 'a', 9, 5, 10, and the weights of a pair of digits. A literal, so that
// it is in place before any package initializer could parse a secret.
var hexConsts = [6][16]byte{
	{'0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0'},
	{'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a'},
	{9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9},
	{5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5},
	{10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10},
	{16, 1, 16, 1, 16, 1, 16, 1, 16, 1, 16, 1, 16, 1, 16, 1},
}

func cpuid(leaf, sub uint32) (a, b, c, d uint32)

// useSHA, useCRC32 and useSSSE3 say whether compress, crc32c28 and
// decodeHex64 may run. A Hasher notes useSHA when it is made (see
// [Hasher]). Tests clear them to cover the portable paths.
var useSHA, useCRC32, useSSSE3 = features(fips140.Enabled())

// features reads the processor's features from CPUID: SSSE3 and SSE4.2 in
// leaf 1, the SHA extensions in leaf 7 (if the processor has that leaf).
// compress is not used in FIPS 140 mode, where digests must come from
// Go's validated module.
func features(fips bool) (sha, crc, ssse3 bool) {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 1 {
		return false, false, false
	}
	_, _, c1, _ := cpuid(1, 0)
	const (
		bitSSSE3 = 1 << 9  // leaf 1, ECX
		bitSSE42 = 1 << 20 // leaf 1, ECX
		bitSHA   = 1 << 29 // leaf 7 sub-leaf 0, EBX
	)
	ssse3 = c1&bitSSSE3 != 0
	crc = c1&bitSSE42 != 0
	if maxLeaf >= 7 {
		_, b7, _, _ := cpuid(7, 0)
		sha = ssse3 && b7&bitSHA != 0 && !fips
	}
	return sha, crc, ssse3
}

// roundK are SHA-256's round constants (FIPS 180-4, 4.2.2), which
// compress reads four at a time.
var roundK = [64]uint32{
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}

// wordSwap is the byte shuffle that reads a block's big-endian words.
var wordSwap = [16]byte{3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12}
