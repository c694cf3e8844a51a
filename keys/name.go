package keys

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

const (
	// KeyNamePrefix starts every API-key name.
	KeyNamePrefix = "akn_"
	// MaxKeyNameLen bounds a key name, prefix included.
	MaxKeyNameLen = 128
	// MaxDisplayNameLen bounds the free-text names of accounts,
	// workspaces, clusters and credentials, in bytes.
	MaxDisplayNameLen = 200
)

// KeyName is an API key's name: "akn_" followed by one or more ASCII letters,
// digits and underscores.
type KeyName string

// ParseKeyName checks that s is a well-formed key name.
func ParseKeyName(s string) (KeyName, error) {
	if len(s) <= len(KeyNamePrefix) || len(s) > MaxKeyNameLen || s[:len(KeyNamePrefix)] != KeyNamePrefix {
		return "", fmt.Errorf("%w: a key name is %q followed by 1 to %d letters, digits or underscores",
			ErrInvalidName, KeyNamePrefix, MaxKeyNameLen-len(KeyNamePrefix))
	}
	for i := len(KeyNamePrefix); i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return "", fmt.Errorf("%w: a key name holds only letters, digits and underscores", ErrInvalidName)
		}
	}
	return KeyName(s), nil
}

// CheckDisplayName checks a free-text name (of an account, a workspace, a
// cluster or a credential): 1 to [MaxDisplayNameLen] bytes of valid UTF-8,
// no control characters, no leading or trailing space.
func CheckDisplayName(s string) error {
	if s == "" || len(s) > MaxDisplayNameLen {
		return fmt.Errorf("%w: a name is 1 to %d bytes", ErrInvalidName, MaxDisplayNameLen)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: a name is valid UTF-8", ErrInvalidName)
	}
	for _, r := range s {
		// Format characters (bidi overrides, zero-width spaces) would let
		// one name pass for another on screen.
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return fmt.Errorf("%w: a name holds no control or format characters", ErrInvalidName)
		}
	}
	first, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	if unicode.IsSpace(first) || unicode.IsSpace(last) {
		return fmt.Errorf("%w: a name has no leading or trailing space", ErrInvalidName)
	}
	return nil
}
