package kafkatest

import (
	"context"

	"github.com/streamauth/streamauth/auth"
)

// FailureMessage is the error message of every failed SaslAuthenticate. It
// is the same for every cause, so that it tells a client nothing it did not
// know.
const FailureMessage = "Authentication failed: invalid credentials"

// The SASL mechanisms a Kafka client may name: the engine's.
const (
	MechanismPlain       = auth.MechanismPlain
	MechanismSCRAMSHA256 = auth.MechanismSCRAMSHA256
	MechanismSCRAMSHA512 = auth.MechanismSCRAMSHA512
)

// Authenticator makes the listener's SASL decisions. The server calls its
// methods from every connection's goroutine at once, so they must be safe
// for concurrent use; it calls Mechanisms and AllowUnauthenticated on every
// request that needs them, so a change of policy takes effect on the next
// request.
type Authenticator interface {
	// Mechanisms lists the SASL mechanisms offered ([MechanismPlain],
	// [MechanismSCRAMSHA256], [MechanismSCRAMSHA512]).
	Mechanisms() []string
	// AllowUnauthenticated reports whether a connection may send requests
	// other than ApiVersions and SASL ones without authenticating first:
	// the cluster's SASL policy.
	AllowUnauthenticated() bool
	// Start begins one SASL exchange with the named mechanism, one of
	// those Mechanisms listed when the client's handshake named it. The
	// server calls it when the first SASL message arrives, not at the
	// handshake. An error fails the exchange like an error of
	// [Exchange.Step]. ctx, here and in Step, is cancelled when the
	// server closes.
	Start(ctx context.Context, mechanism string) (Exchange, error)
}

// Exchange is one SASL conversation, used by one connection's goroutine
// only. The server drops it when the exchange ends, either way, and calls
// nothing on it afterwards.
type Exchange interface {
	// Step takes the client's next message and returns the server's
	// reply. A Reply with Done set ends the exchange in success. An error
	// ends it in failure: the client is told only [FailureMessage], and
	// the error itself goes to [Config.Logf], so it must not hold secret
	// material.
	//
	// msg is valid only until Step returns: the server then overwrites
	// it with zeros, as it may hold a password. The server does not keep
	// Reply.Msg after writing it.
	Step(ctx context.Context, msg []byte) (Reply, error)
}

// Reply is the server's side of one step of an [Exchange].
type Reply struct {
	// Msg is the message for the client; it may be empty (PLAIN's only
	// reply is).
	Msg []byte
	// Done reports that the exchange has succeeded: the client has
	// authenticated.
	Done bool
	// Principal names who authenticated, when Done is set. It is shown
	// in [Stats] and logs, so it must never be secret: a user name or a
	// key id, never a password or a secret.
	Principal string
}
