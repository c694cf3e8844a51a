//go:build !amd64 || purego

package keys

// Without the amd64 assembly, digests go through crypto/sha256, the
// checksum through its tables and the hex through the eight-digit decoder.
// The functions below are never called: the switches stay false.
var useSHA, useCRC32, useSSSE3 = false, false, false

func compress(*shaState, *[64]byte) { panic("keys: compress called in a build without assembly") }

func crc32c28(*[randomBytes]byte) uint32 {
	panic("keys: crc32c28 called in a build without assembly")
}

func decodeHex64(*[secretBytes]byte, *byte) bool {
	panic("keys: decodeHex64 called in a build without assembly")
}
