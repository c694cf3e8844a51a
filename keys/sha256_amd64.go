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

func cpuid(leaf, sub uint32) (a, b, c, d uint32)

// useSHA and useCRC32 say whether compress and crc32c28 may run. Tests
// clear them to cover the portable paths.
var useSHA, useCRC32 = features()

func features() (sha, crc bool) {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false, false
	}
	_, _, c1, _ := cpuid(1, 0)
	_, b7, _, _ := cpuid(7, 0)
	const (
		ssse3  = 1 << 9  // leaf 1, ECX
		sse42  = 1 << 20 // leaf 1, ECX
		shaExt = 1 << 29 // leaf 7, EBX
	)
	sha = c1&ssse3 != 0 && b7&shaExt != 0 && !fips140.Enabled()
	return sha, c1&sse42 != 0
}
