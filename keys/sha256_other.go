//go:build !amd64 || purego

package keys

// Without the amd64 assembly, digests go through crypto/sha256 and the
// checksum through its tables.
var useSHA, useCRC32, useSSSE3 = false, false, false

func compress(*shaState, *[64]byte) { panic("keys: no SHA-256 assembly on this platform") }

func crc32c28(*[randomBytes]byte) uint32 { panic("keys: no CRC-32C assembly on this platform") }

func decodeHex64(*[secretBytes]byte, *byte) bool { panic("keys: no hex assembly on this platform") }
