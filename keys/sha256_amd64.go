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
// (useSSSE3). Like decodeHex it has no branch and no memory access that
// depends on a digit.
//
//go:noescape
func decodeHex64(dst *[secretBytes]byte, src *byte) bool

// hexConsts are decodeHex64's constants, each in all sixteen lanes.
var hexConsts = [6][16]byte{
	bytes16('0'), bytes16('a'), bytes16(9), bytes16(5), bytes16(10),
	{16, 1, 16, 1, 16, 1, 16, 1, 16, 1, 16, 1, 16, 1, 16, 1},
}

func bytes16(b byte) (r [16]byte) {
	for i := range r {
		r[i] = b
	}
	return r
}

func cpuid(leaf, sub uint32) (a, b, c, d uint32)

// useSHA, useCRC32 and useSSSE3 say whether compress, crc32c28 and
// decodeHex64 may run. Tests clear them to cover the portable paths.
var useSHA, useCRC32, useSSSE3 = features()

func features() (sha, crc, ssse3 bool) {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false, false, false
	}
	_, _, c1, _ := cpuid(1, 0)
	_, b7, _, _ := cpuid(7, 0)
	const (
		bitSSSE3 = 1 << 9  // leaf 1, ECX
		bitSSE42 = 1 << 20 // leaf 1, ECX
		bitSHA   = 1 << 29 // leaf 7, EBX
	)
	ssse3 = c1&bitSSSE3 != 0
	sha = ssse3 && b7&bitSHA != 0 && !fips140.Enabled()
	return sha, c1&bitSSE42 != 0, ssse3
}
