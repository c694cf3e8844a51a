package keys

import (
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"io"
	"log/slog"
	"unicode/utf8"
)

// A cluster credential is a username and a password with which a Kafka
// client authenticates to one virtual cluster over SASL. The username is
// generated; the password is generated or, when migrating from another
// platform, imported.
const (
	// UsernamePrefix starts every generated username.
	UsernamePrefix = "ccun_"
	// UsernameLen is the length of a username: the prefix and 32 hex
	// digits (128 random bits).
	UsernameLen = len(UsernamePrefix) + 2*usernameBytes
	// PasswordPrefix starts every generated password.
	PasswordPrefix = "ccp_"
	// MinPasswordLen and MaxPasswordLen bound a password, in bytes.
	MinPasswordLen, MaxPasswordLen = 8, 255

	usernameBytes  = 16
	passwordBytes  = 32 // a generated password's random bytes: 256 bits
	passwordRedact = "ccp_[REDACTED]"
)

// Username is a credential's username: "ccun_" and 32 lowercase hex digits.
// It is not secret.
type Username string

// NewUsername draws a new username from crypto/rand.
func NewUsername() (Username, error) {
	var b [usernameBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("keys: reading random bytes: %w", err)
	}
	buf := make([]byte, 0, UsernameLen)
	buf = append(buf, UsernamePrefix...)
	return Username(appendHex(buf, b[:])), nil
}

// ParseUsername checks that s is a well-formed username.
func ParseUsername(s string) (Username, error) {
	var b [usernameBytes]byte
	if len(s) != UsernameLen || s[:len(UsernamePrefix)] != UsernamePrefix || !decodeHex(b[:], s[len(UsernamePrefix):]) {
		return "", errUsername
	}
	return Username(s), nil
}

var errUsername = fmt.Errorf("%w: a username is %q followed by 32 lowercase hex digits", ErrInvalidName, UsernamePrefix)

// Password is a credential's password: shown once, when the credential is
// created, and never stored (the store keeps hashes and SCRAM verifiers).
//
// Like [Secret], a Password never prints itself, cannot be compared with ==
// (use [Password.Equal]) and holds its bytes masked, so that reflection and
// %p show nothing of it. The zero value holds no password.
type Password struct {
	_ [0]func() // not comparable
	m []byte    // the password XORed with passwordMask
}

// passwordMask is XORed into every Password's bytes.
var passwordMask = func() (m [MaxPasswordLen]byte) {
	if _, err := rand.Read(m[:]); err != nil {
		panic("keys: crypto/rand failed: " + err.Error())
	}
	return m
}()

func maskPassword(plain []byte) Password {
	m := make([]byte, len(plain))
	for i, b := range plain {
		m[i] = b ^ passwordMask[i]
	}
	return Password{m: m}
}

// NewPassword draws a new password from crypto/rand: "ccp_" and 64 hex
// digits.
func NewPassword() (Password, error) {
	var r [passwordBytes]byte
	defer clear(r[:])
	if _, err := io.ReadFull(rand.Reader, r[:]); err != nil {
		return Password{}, fmt.Errorf("keys: reading random bytes: %w", err)
	}
	var plain [len(PasswordPrefix) + 2*passwordBytes]byte
	defer clear(plain[:])
	appendHex(append(plain[:0], PasswordPrefix...), r[:])
	return maskPassword(plain[:]), nil
}

// ImportPassword takes a password chosen elsewhere, to migrate a credential
// from another platform: [MinPasswordLen] to [MaxPasswordLen] bytes of valid
// UTF-8 without NUL (which SASL PLAIN uses as a separator). Every failure
// wraps [ErrInvalidPassword] and never quotes s.
func ImportPassword(s string) (Password, error) {
	if len(s) < MinPasswordLen || len(s) > MaxPasswordLen {
		return Password{}, errPasswordLength
	}
	if !utf8.ValidString(s) {
		return Password{}, errPasswordUTF8
	}
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return Password{}, errPasswordNUL
		}
	}
	return maskPassword([]byte(s)), nil
}

var (
	errPasswordLength = fmt.Errorf("%w: a password is %d to %d bytes", ErrInvalidPassword, MinPasswordLen, MaxPasswordLen)
	errPasswordUTF8   = fmt.Errorf("%w: a password is valid UTF-8", ErrInvalidPassword)
	errPasswordNUL    = fmt.Errorf("%w: a password holds no NUL byte", ErrInvalidPassword)
)

// Reveal returns the password's text. Call it only to hand a new password
// to its owner; never log or store the result.
func (p Password) Reveal() string {
	b := p.AppendPlain(nil)
	defer clear(b)
	return string(b)
}

// AppendPlain appends the password's bytes to dst, for hashing. Clear them
// after use.
func (p Password) AppendPlain(dst []byte) []byte {
	for i, b := range p.m {
		dst = append(dst, b^passwordMask[i])
	}
	return dst
}

// IsZero reports whether p holds no password.
func (p Password) IsZero() bool { return len(p.m) == 0 }

// Equal reports whether p and q are the same password, in time that depends
// on their lengths only.
func (p Password) Equal(q Password) bool {
	return subtle.ConstantTimeCompare(p.m, q.m) == 1
}

// String returns a placeholder, never the password.
func (Password) String() string { return passwordRedact }

// GoString returns a placeholder, never the password.
func (Password) GoString() string { return "keys.Password{" + passwordRedact + "}" }

// Format writes a placeholder for every verb and flag, never the password.
func (Password) Format(f fmt.State, _ rune) { io.WriteString(f, passwordRedact) }

// LogValue makes log/slog print a placeholder, never the password.
func (Password) LogValue() slog.Value { return slog.StringValue(passwordRedact) }

// MarshalText refuses to encode a password.
func (Password) MarshalText() ([]byte, error) {
	return nil, fmt.Errorf("keys: a password is never marshalled; use Reveal once")
}
