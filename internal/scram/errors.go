package scram

import (
	"errors"
	"fmt"
)

// Sentinel errors of this package, matched with errors.Is. Their messages,
// and those of the errors wrapping them, never quote a client's message, a
// password, a proof or a key.
var (
	// ErrAuthFailed reports a wrong proof or an unknown user: the same
	// value, with the same text, for both, so that a client cannot tell
	// them apart.
	ErrAuthFailed = errors.New("scram: authentication failed")
	// ErrMalformed reports a client message that breaks the protocol. The
	// errors wrapping it add a short, fixed reason.
	ErrMalformed = errors.New("scram: malformed message")
	// ErrFinished reports a Step after the conversation ended, in success
	// or failure.
	ErrFinished = errors.New("scram: conversation is over")
	// ErrInvalidVerifier reports a verifier with a wrong size, salt or
	// iteration count, given to NewVerifier or read back from a store. The
	// errors wrapping it add a short, fixed reason.
	ErrInvalidVerifier = errors.New("scram: invalid verifier")
	// ErrInvalidConfig reports a ServerConfig that NewServer refuses, or
	// an unknown Mechanism.
	ErrInvalidConfig = errors.New("scram: invalid configuration")
)

// The reasons a client message is malformed, allocated once so that
// refusing a message allocates nothing. Each wraps ErrMalformed.
var (
	errEmpty          = fmt.Errorf("%w: empty message", ErrMalformed)
	errTooLong        = fmt.Errorf("%w: message too long", ErrMalformed)
	errEncoding       = fmt.Errorf("%w: not UTF-8, or a NUL byte", ErrMalformed)
	errGS2            = fmt.Errorf("%w: bad gs2 header", ErrMalformed)
	errChannelBinding = fmt.Errorf("%w: channel binding is not supported", ErrMalformed)
	errAuthzid        = fmt.Errorf("%w: authorization identity differs from the username", ErrMalformed)
	errMandatoryExt   = fmt.Errorf("%w: mandatory extension is not supported", ErrMalformed)
	errUsername       = fmt.Errorf("%w: bad username", ErrMalformed)
	errUsernameEscape = fmt.Errorf("%w: bad escape in username", ErrMalformed)
	errUsernameLong   = fmt.Errorf("%w: username too long", ErrMalformed)
	errNonce          = fmt.Errorf("%w: bad nonce", ErrMalformed)
	errExtension      = fmt.Errorf("%w: bad extension", ErrMalformed)
	errBinding        = fmt.Errorf("%w: channel binding data does not match the gs2 header", ErrMalformed)
	errNonceMismatch  = fmt.Errorf("%w: nonce does not match", ErrMalformed)
	errProof          = fmt.Errorf("%w: bad proof", ErrMalformed)
)

// The reasons a verifier is invalid. Each wraps ErrInvalidVerifier.
var (
	errVerifierIterations = fmt.Errorf("%w: iteration count out of range", ErrInvalidVerifier)
	errVerifierSalt       = fmt.Errorf("%w: salt length out of range", ErrInvalidVerifier)
	errVerifierKeys       = fmt.Errorf("%w: key length does not match the mechanism", ErrInvalidVerifier)
	errVerifierPassword   = fmt.Errorf("%w: empty password", ErrInvalidVerifier)
)

// The reasons a configuration is refused. Each wraps ErrInvalidConfig.
var (
	errMechanism      = fmt.Errorf("%w: unknown mechanism", ErrInvalidConfig)
	errLookup         = fmt.Errorf("%w: no Lookup", ErrInvalidConfig)
	errFakeKey        = fmt.Errorf("%w: FakeKey is shorter than %d bytes", ErrInvalidConfig, MinFakeKeyLen)
	errFakeIterations = fmt.Errorf("%w: FakeIterations out of range", ErrInvalidConfig)
	errServerNonce    = fmt.Errorf("%w: the Nonce function returned an invalid nonce", ErrInvalidConfig)
)
