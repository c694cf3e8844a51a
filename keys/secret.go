package keys

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
)

const (
	// SecretPrefix starts every API-key secret.
	SecretPrefix = "aks_"
	// SecretLen is the length of a secret's text: the prefix and 64 hex
	// digits.
	SecretLen = len(SecretPrefix) + 2*secretBytes

	secretBytes   = 32
	randomBytes   = 28 // 224 bits from crypto/rand
	checksumBytes = secretBytes - randomBytes

	redacted = "aks_[REDACTED]"
)

// castagnoli is CRC-32C, which detects every error burst of up to 32 bits:
// every mistyped digit and every swap of two neighbouring digits.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Secret is an API-key secret. The zero value is not a valid secret.
//
// A Secret never prints itself: every fmt verb, String, GoString and slog
// show a placeholder. It cannot be compared with ==, which is not constant
// time; use [Secret.Equal].
//
// The bytes are held XORed with a random mask drawn once per process, so
// that the paths no method can intercept (fmt's %p, a Secret in an
// unexported struct field printed by reflection) show only masked bytes.
type Secret struct {
	_ [0]func() // not comparable: == is not constant time
	m [secretBytes]byte
}

// mask is XORed into every Secret's bytes.
var mask = func() (m [secretBytes]byte) {
	if _, err := rand.Read(m[:]); err != nil {
		panic("keys: crypto/rand failed: " + err.Error())
	}
	return m
}()

// seal masks plain into s.
func (s *Secret) seal(plain *[secretBytes]byte) {
	for i := range s.m {
		s.m[i] = plain[i] ^ mask[i]
	}
}

// open returns the secret's bytes, unmasked, into a caller's array.
func (s *Secret) open(plain *[secretBytes]byte) {
	for i := range plain {
		plain[i] = s.m[i] ^ mask[i]
	}
}

// NewSecret draws a new secret from crypto/rand.
func NewSecret() (Secret, error) {
	return newSecret(rand.Reader)
}

func newSecret(r io.Reader) (Secret, error) {
	var plain [secretBytes]byte
	defer clear(plain[:])
	if _, err := io.ReadFull(r, plain[:randomBytes]); err != nil {
		return Secret{}, fmt.Errorf("keys: reading random bytes: %w", err)
	}
	binary.BigEndian.PutUint32(plain[randomBytes:], checksum(plain[:randomBytes]))
	var s Secret
	s.seal(&plain)
	return s, nil
}

// checksum is CRC-32C written out over the table: crc32.Checksum calls
// through a function value, which makes its argument escape, and ParseSecret
// must not allocate.
func checksum(random []byte) uint32 {
	crc := ^uint32(0)
	for _, b := range random {
		crc = castagnoli[byte(crc)^b] ^ crc>>8
	}
	return ^crc
}

// ParseSecret parses the text of a secret. It checks the prefix, length,
// alphabet (lowercase hex only) and checksum, touches no store and does not
// allocate. Every failure wraps [ErrMalformedSecret] and never quotes s.
func ParseSecret(s string) (Secret, error) {
	if len(s) != SecretLen {
		return Secret{}, errSecretLength
	}
	if s[:len(SecretPrefix)] != SecretPrefix {
		return Secret{}, errSecretPrefix
	}
	var plain [secretBytes]byte
	defer clear(plain[:])
	if !decodeHex(plain[:], s[len(SecretPrefix):]) {
		return Secret{}, errSecretAlphabet
	}
	if binary.BigEndian.Uint32(plain[randomBytes:]) != checksum(plain[:randomBytes]) {
		return Secret{}, errSecretChecksum
	}
	var out Secret
	out.seal(&plain)
	return out, nil
}

// Reveal returns the text of the secret. Call it only to hand a newly issued
// secret to its owner; never log or store the result.
func (s Secret) Reveal() string {
	var plain [secretBytes]byte
	defer clear(plain[:])
	s.open(&plain)
	buf := make([]byte, 0, SecretLen)
	buf = append(buf, SecretPrefix...)
	return string(appendHex(buf, plain[:]))
}

// IsZero reports whether s is the zero Secret, which holds no secret.
func (s Secret) IsZero() bool {
	var zero [secretBytes]byte
	return subtle.ConstantTimeCompare(s.m[:], zero[:]) == 1
}

// Equal reports whether s and t are the same secret, in constant time.
func (s Secret) Equal(t Secret) bool {
	return subtle.ConstantTimeCompare(s.m[:], t.m[:]) == 1
}

// String returns a placeholder, never the secret.
func (Secret) String() string { return redacted }

// GoString returns a placeholder, never the secret.
func (Secret) GoString() string { return "keys.Secret{" + redacted + "}" }

// Format writes a placeholder for every verb and flag, never the secret.
func (Secret) Format(f fmt.State, _ rune) { io.WriteString(f, redacted) }

// LogValue makes log/slog print a placeholder, never the secret.
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText refuses to encode a secret, so that encoding/json and friends
// cannot write one by accident.
func (Secret) MarshalText() ([]byte, error) {
	return nil, fmt.Errorf("keys: a secret is never marshalled; use Reveal once")
}
