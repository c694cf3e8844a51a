package keys

import (
	"errors"
	"fmt"
)

// Sentinel errors of this package, matched with errors.Is. Their messages,
// and those of the errors wrapping them, never contain the input.
var (
	// ErrMalformedSecret reports a string that is not a well-formed secret.
	ErrMalformedSecret = errors.New("keys: malformed secret")
	// ErrMalformedID reports a string that is not a well-formed identifier
	// of the expected kind.
	ErrMalformedID = errors.New("keys: malformed identifier")
	// ErrInvalidName reports a key name or display name that breaks its
	// format rules.
	ErrInvalidName = errors.New("keys: invalid name")
	// ErrInvalidPassword reports an imported password that breaks the
	// password rules.
	ErrInvalidPassword = errors.New("keys: invalid password")
)

// The reasons a secret is malformed, allocated once so that refusing a
// secret does not allocate. Each wraps ErrMalformedSecret.
var (
	errSecretLength   = fmt.Errorf("%w: wrong length", ErrMalformedSecret)
	errSecretPrefix   = fmt.Errorf("%w: wrong prefix", ErrMalformedSecret)
	errSecretAlphabet = fmt.Errorf("%w: not lowercase hex", ErrMalformedSecret)
	errSecretChecksum = fmt.Errorf("%w: checksum mismatch", ErrMalformedSecret)
)
