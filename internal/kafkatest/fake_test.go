package kafkatest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"sync"
	"time"

	"github.com/xdg-go/scram"
)

// The one credential the fake knows.
const (
	testUser = "alice"
	testPass = "correct horse battery staple"

	// scramIters is Kafka's minimum, and franz-go's.
	scramIters = 4096
)

// fakeReason is in the text of every error the fake's exchanges return, so
// that tests can check it never reaches a client.
const fakeReason = "fake-reason-never-sent"

// fakeKey derives the credentials the fake shows for users it does not
// know; see unknownCredentials.
var fakeKey = []byte("kafkatest fake SCRAM key")

// scramCredentials are testUser's stored SCRAM credentials for each hash,
// computed once: PBKDF2 with 4096 iterations is not free.
var scramCredentials = sync.OnceValue(func() map[string]scram.StoredCredentials {
	creds := make(map[string]scram.StoredCredentials)
	for mech, h := range scramHashes {
		c, err := h.NewClient(testUser, testPass, "")
		if err != nil {
			panic(err)
		}
		creds[mech] = c.GetStoredCredentials(scram.KeyFactors{Salt: "kafkatest-salt", Iters: scramIters})
	}
	return creds
})

var scramHashes = map[string]scram.HashGeneratorFcn{
	MechanismSCRAMSHA256: scram.SHA256,
	MechanismSCRAMSHA512: scram.SHA512,
}

// fakeAuth is an Authenticator that knows one user, testUser, with the
// password testPass, for PLAIN and both SCRAMs.
type fakeAuth struct {
	mechs []string
	allow bool

	mu       sync.Mutex
	failures []fakeFailure
}

// fakeFailure records a failed exchange: at which step, and when Step
// returned.
type fakeFailure struct {
	mechanism string
	step      int
	at        time.Time
}

func newFakeAuth(mechs ...string) *fakeAuth {
	return &fakeAuth{mechs: mechs}
}

func (f *fakeAuth) Mechanisms() []string       { return f.mechs }
func (f *fakeAuth) AllowUnauthenticated() bool { return f.allow }

func (f *fakeAuth) Start(ctx context.Context, mechanism string) (Exchange, error) {
	if mechanism == MechanismPlain {
		return &plainExchange{f: f}, nil
	}
	h, ok := scramHashes[mechanism]
	if !ok {
		return nil, fmt.Errorf("fake: no mechanism %q", mechanism)
	}
	srv, err := h.NewServer(func(user string) (scram.StoredCredentials, error) {
		if user == testUser {
			return scramCredentials()[mechanism], nil
		}
		return unknownCredentials(user), nil
	})
	if err != nil {
		return nil, err
	}
	return &scramExchange{f: f, mechanism: mechanism, conv: srv.NewConversation()}, nil
}

// Failures returns the failures recorded so far.
func (f *fakeAuth) Failures() []fakeFailure {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeFailure(nil), f.failures...)
}

// failed records a failure and returns the error Step returns for it: a
// fixed text, as the Exchange contract asks (the cause is not in it:
// xdg-go/scram's errors quote client fields, a proof among them).
func (f *fakeAuth) failed(mechanism string, step int) error {
	f.mu.Lock()
	f.failures = append(f.failures, fakeFailure{mechanism, step, time.Now()})
	f.mu.Unlock()
	return fmt.Errorf("%s (%s, step %d)", fakeReason, mechanism, step)
}

// unknownCredentials are the SCRAM credentials shown for a user the fake
// does not know: derived from the user name under a key of the server's, so
// that the same name always gets the same salt, and the exchange runs to
// its last step and fails there, exactly as a wrong password does
// (RFC 5802, section 9). Without them an unknown user would fail one step
// earlier, which tells the client that the user does not exist.
func unknownCredentials(user string) scram.StoredCredentials {
	derive := func(label string) []byte {
		m := hmac.New(sha256.New, fakeKey)
		m.Write([]byte(label))
		m.Write([]byte{0})
		m.Write([]byte(user))
		return m.Sum(nil)
	}
	return scram.StoredCredentials{
		KeyFactors: scram.KeyFactors{Salt: string(derive("salt")[:16]), Iters: scramIters},
		StoredKey:  derive("stored"),
		ServerKey:  derive("server"),
	}
}

// plainExchange checks one RFC 4616 message: authzid NUL authcid NUL
// passwd.
type plainExchange struct{ f *fakeAuth }

func (e *plainExchange) Step(_ context.Context, msg []byte) (Reply, error) {
	parts := bytes.Split(msg, []byte{0})
	if len(parts) != 3 {
		return Reply{}, e.f.failed(MechanismPlain, 1)
	}
	authzid, user, pass := parts[0], parts[1], parts[2]
	// Both comparisons always run, so the time taken does not tell a
	// known user from an unknown one.
	userOK := subtle.ConstantTimeCompare(user, []byte(testUser))
	passOK := subtle.ConstantTimeCompare(pass, []byte(testPass))
	if userOK&passOK != 1 || len(authzid) != 0 && !bytes.Equal(authzid, user) {
		return Reply{}, e.f.failed(MechanismPlain, 1)
	}
	return Reply{Done: true, Principal: string(user)}, nil
}

// scramExchange runs xdg-go/scram's server conversation.
type scramExchange struct {
	f         *fakeAuth
	mechanism string
	conv      *scram.ServerConversation
	step      int
}

func (e *scramExchange) Step(_ context.Context, msg []byte) (Reply, error) {
	e.step++
	resp, err := e.conv.Step(string(msg))
	if err != nil {
		return Reply{}, e.f.failed(e.mechanism, e.step)
	}
	if e.conv.Valid() {
		return Reply{Msg: []byte(resp), Done: true, Principal: e.conv.Username()}, nil
	}
	return Reply{Msg: []byte(resp)}, nil
}
