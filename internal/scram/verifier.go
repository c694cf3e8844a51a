package scram

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
)

// Bounds of a verifier's parameters.
const (
	// MinIterations and MaxIterations bound the PBKDF2 iteration count, as
	// Kafka does: 4096 is the floor RFC 7677 sets for SCRAM-SHA-256, and a
	// client does that many HMACs every time it connects.
	MinIterations = 4096
	MaxIterations = 16384
	// DefaultIterations is the count to use for new verifiers, and the one
	// a Server gives unknown users unless ServerConfig.FakeIterations says
	// otherwise.
	DefaultIterations = 4096

	// MinSaltLen and MaxSaltLen bound a salt's length in bytes. The floor
	// is RFC 8018's (PBKDF2) recommendation and is meant to catch a
	// damaged stored value, not to set a policy: new salts are [SaltLen]
	// random bytes.
	MinSaltLen = 8
	MaxSaltLen = 64
	// SaltLen is the length of the salts NewVerifier draws, and of the fake
	// salts a Server makes up for unknown users.
	SaltLen = 32
)

// Verifier is what a server stores for a user's password, for one
// mechanism: never the password, nor anything a client could log in with.
//
// StoredKey = H(HMAC(SaltedPassword, "Client Key")) and ServerKey =
// HMAC(SaltedPassword, "Server Key"), where SaltedPassword = PBKDF2 of the
// password with Salt and Iterations (RFC 5802, section 3). StoredKey lets
// the server check a client's proof; ServerKey lets it prove to the client
// that it knows the verifier. Whoever reads a verifier can impersonate the
// server to the user, and test password guesses at Iterations HMACs each,
// but cannot log in as the user without also seeing an exchange.
type Verifier struct {
	Salt       []byte
	Iterations int
	StoredKey  []byte
	ServerKey  []byte
}

// NewVerifier derives the verifier of a password for mechanism m. The
// password is used as given, byte for byte, as Kafka does (no SASLprep);
// it is not retained. A nil salt means [SaltLen] bytes from crypto/rand;
// otherwise the salt is copied and must be [MinSaltLen] to [MaxSaltLen]
// bytes. iterations must be [MinIterations] to [MaxIterations]; use
// [DefaultIterations] unless there is a reason not to.
func NewVerifier(m Mechanism, password, salt []byte, iterations int) (Verifier, error) {
	h := m.spec()
	if h == nil {
		return Verifier{}, errMechanism
	}
	if len(password) == 0 {
		return Verifier{}, errVerifierPassword
	}
	if iterations < MinIterations || iterations > MaxIterations {
		return Verifier{}, errVerifierIterations
	}
	if salt == nil {
		salt = make([]byte, SaltLen)
		rand.Read(salt)
	} else {
		if len(salt) < MinSaltLen || len(salt) > MaxSaltLen {
			return Verifier{}, errVerifierSalt
		}
		salt = append([]byte(nil), salt...)
	}
	// crypto/pbkdf2 takes the password as a string: a copy this function
	// cannot clear. crypto/hmac keeps its own copy of a key in the same
	// way, so clearing would not be complete anyway.
	salted, err := pbkdf2.Key(h.new, string(password), salt, iterations, h.size)
	if err != nil {
		return Verifier{}, err // FIPS 140-only mode refusing a parameter
	}
	defer clear(salted)
	clientKey := hmacOf(h, salted, "Client Key")
	defer clear(clientKey)
	var stored [maxHashSize]byte
	h.sum(&stored, clientKey)
	return Verifier{
		Salt:       salt,
		Iterations: iterations,
		StoredKey:  append([]byte(nil), stored[:h.size]...),
		ServerKey:  hmacOf(h, salted, "Server Key"),
	}, nil
}

func hmacOf(h *hashSpec, key []byte, msg string) []byte {
	mac := hmac.New(h.new, key)
	mac.Write([]byte(msg))
	return mac.Sum(nil)
}

// CheckVerifier reports whether v is a well-formed verifier for m: keys of
// m's hash size, a salt and an iteration count within bounds. A Server
// checks every verifier its Lookup returns; call it too on verifiers read
// back from a store or imported from elsewhere. It cannot tell whether the
// keys belong to any password.
func (m Mechanism) CheckVerifier(v Verifier) error {
	h := m.spec()
	if h == nil {
		return errMechanism
	}
	if v.Iterations < MinIterations || v.Iterations > MaxIterations {
		return errVerifierIterations
	}
	if len(v.Salt) < MinSaltLen || len(v.Salt) > MaxSaltLen {
		return errVerifierSalt
	}
	if len(v.StoredKey) != h.size || len(v.ServerKey) != h.size {
		return errVerifierKeys
	}
	return nil
}
