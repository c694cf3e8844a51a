package scram

import (
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"strconv"
)

// Mechanism is a SCRAM mechanism: the hash function a conversation, and the
// verifiers it checks, are built on. The zero Mechanism is invalid.
type Mechanism uint8

// The mechanisms offered. They are the two Kafka supports; neither has a
// -PLUS (channel binding) variant here.
const (
	SHA256 Mechanism = 1 // SCRAM-SHA-256, RFC 7677
	SHA512 Mechanism = 2 // SCRAM-SHA-512
)

const (
	// maxHashSize and maxBlockSize bound the hashes in hashes: SHA-512's.
	maxHashSize  = sha512.Size
	maxBlockSize = sha512.BlockSize
)

// hashSpec is the hash a mechanism is built on. sum writes the digest of b
// into out[:size]. It is called through a function value (so that the
// tests can add a mechanism), which makes escape analysis put whatever it
// is given on the heap: on the exchange path it is only ever given fields
// of a Conversation, which are there already.
type hashSpec struct {
	name  string
	size  int
	block int
	new   func() hash.Hash
	sum   func(out *[maxHashSize]byte, b []byte)
}

// hashes is indexed by Mechanism. Index 3 is left empty for a mechanism
// the tests install (SCRAM-SHA-1, to replay the example of RFC 5802
// through the same code); it is never valid outside the tests.
var hashes = [4]hashSpec{
	SHA256: {
		name: "SCRAM-SHA-256", size: sha256.Size, block: sha256.BlockSize, new: sha256.New,
		sum: func(out *[maxHashSize]byte, b []byte) { *(*[sha256.Size]byte)(out[:]) = sha256.Sum256(b) },
	},
	SHA512: {
		name: "SCRAM-SHA-512", size: sha512.Size, block: sha512.BlockSize, new: sha512.New,
		sum: func(out *[maxHashSize]byte, b []byte) { *out = sha512.Sum512(b) },
	},
}

// spec returns m's hash, or nil if m is not a mechanism.
func (m Mechanism) spec() *hashSpec {
	if int(m) < len(hashes) && hashes[m].size != 0 {
		return &hashes[m]
	}
	return nil
}

// Valid reports whether m is a known mechanism.
func (m Mechanism) Valid() bool { return m.spec() != nil }

// Size returns the size in bytes of m's hash, which is that of a verifier's
// StoredKey and ServerKey and of a client's proof; 0 if m is not valid.
func (m Mechanism) Size() int {
	if h := m.spec(); h != nil {
		return h.size
	}
	return 0
}

// String returns the SASL name of the mechanism, "SCRAM-SHA-256" or
// "SCRAM-SHA-512".
func (m Mechanism) String() string {
	if h := m.spec(); h != nil {
		return h.name
	}
	return "scram.Mechanism(" + strconv.Itoa(int(m)) + ")"
}

// MechanismByName returns the mechanism of a SASL mechanism name, as a
// Kafka client sends it in its SaslHandshake request: "SCRAM-SHA-256" or
// "SCRAM-SHA-512", exactly.
func MechanismByName(name string) (Mechanism, bool) {
	for _, m := range [...]Mechanism{SHA256, SHA512} {
		if hashes[m].name == name {
			return m, true
		}
	}
	return 0, false
}
