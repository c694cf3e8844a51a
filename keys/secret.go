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

// The checksum is CRC-32C, which detects every error burst of up to 32
// bits: every mistyped digit and every swap of two neighbouring digits.
// crcTables are its slicing-by-8 tables: crcTables[0] is the byte-wise
// table, and crcTables[k][b] is the CRC of byte b followed by k zero bytes.
var crcTables = func() (t [8][256]uint32) {
	t[0] = *crc32.MakeTable(crc32.Castagnoli)
	for i := range 256 {
		for k := 1; k < 8; k++ {
			prev := t[k-1][i]
			t[k][i] = prev>>8 ^ t[0][byte(prev)]
		}
	}
	return t
}()

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
func (s *Secret) seal(plain *[secretBytes]byte) { xor32(&s.m, plain, &mask) }

// open returns the secret's bytes, unmasked, into a caller's array.
func (s *Secret) open(plain *[secretBytes]byte) { xor32(plain, &s.m, &mask) }

// xor32 sets dst to a XOR b, eight bytes at a time.
func xor32(dst, a, b *[secretBytes]byte) {
	le := binary.LittleEndian
	for i := 0; i < secretBytes; i += 8 {
		le.PutUint64(dst[i:], le.Uint64(a[i:])^le.Uint64(b[i:]))
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
	binary.BigEndian.PutUint32(plain[randomBytes:], checksum((*[randomBytes]byte)(plain[:randomBytes])))
	var s Secret
	s.seal(&plain)
	return s, nil
}

// checksum is CRC-32C of the random part: by the SSE4.2 instruction where
// there is one, which also reads no table indexed by secret bytes;
// otherwise slicing-by-8 (crc32.Checksum calls through a function value,
// which makes its argument escape, and ParseSecret must not allocate).
func checksum(random *[randomBytes]byte) uint32 {
	if useCRC32 {
		return crc32c28(random)
	}
	return checksumTables(random[:])
}

// checksumTables is CRC-32C of p by the tables.
func checksumTables(p []byte) uint32 {
	t := &crcTables
	crc := ^uint32(0)
	for len(p) >= 8 {
		_ = p[7]
		crc ^= binary.LittleEndian.Uint32(p)
		crc = t[7][byte(crc)] ^ t[6][byte(crc>>8)] ^ t[5][byte(crc>>16)] ^ t[4][crc>>24] ^
			t[3][p[4]] ^ t[2][p[5]] ^ t[1][p[6]] ^ t[0][p[7]]
		p = p[8:]
	}
	if len(p) >= 4 {
		crc ^= binary.LittleEndian.Uint32(p)
		crc = t[3][byte(crc)] ^ t[2][byte(crc>>8)] ^ t[1][byte(crc>>16)] ^ t[0][crc>>24]
		p = p[4:]
	}
	for _, b := range p {
		crc = t[0][byte(crc)^b] ^ crc>>8
	}
	return ^crc
}

// ParseSecret parses the text of a secret. It checks the prefix, length,
// alphabet (lowercase hex only) and checksum, touches no store and does not
// allocate. Every failure wraps [ErrMalformedSecret] and never quotes s.
func ParseSecret(s string) (Secret, error) {
	var plain [secretBytes]byte
	defer clear(plain[:])
	if err := decodeSecretText(&plain, s); err != nil {
		return Secret{}, err
	}
	var out Secret
	out.seal(&plain)
	return out, nil
}

// decodeSecretText checks the text of a secret and decodes its bytes into
// plain.
func decodeSecretText(plain *[secretBytes]byte, s string) error {
	if len(s) != SecretLen {
		return errSecretLength
	}
	if s[:len(SecretPrefix)] != SecretPrefix {
		return errSecretPrefix
	}
	if !decodeSecretHex(plain, s[len(SecretPrefix):]) {
		return errSecretAlphabet
	}
	if binary.BigEndian.Uint32(plain[randomBytes:]) != checksum((*[randomBytes]byte)(plain[:randomBytes])) {
		return errSecretChecksum
	}
	return nil
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
