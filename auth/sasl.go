package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/streamauth/streamauth/cluster"
	"github.com/streamauth/streamauth/internal/record"
	"github.com/streamauth/streamauth/internal/scram"
	"github.com/streamauth/streamauth/keys"
	"github.com/streamauth/streamauth/store"
)

// The SASL mechanisms an agent offers its Kafka clients.
const (
	MechanismPlain       = "PLAIN"
	MechanismSCRAMSHA256 = "SCRAM-SHA-256"
	MechanismSCRAMSHA512 = "SCRAM-SHA-512"
)

// SASLMechanisms returns the mechanism names, in order of preference.
func SASLMechanisms() []string {
	return []string{MechanismSCRAMSHA512, MechanismSCRAMSHA256, MechanismPlain}
}

// CredentialPrincipal is who a SASL login authenticated as.
type CredentialPrincipal struct {
	Credential keys.CredentialID
	Cluster    keys.ClusterID
	Username   keys.Username
	Superuser  bool
}

// errBadLogin is every failed SASL login's error, whatever the cause: an
// unknown user, a wrong password, a deleted credential or another
// cluster's. A client learns nothing from it, and neither do logs.
var (
	errBadLogin     = fmt.Errorf("%w: bad username or password", ErrUnauthenticated)
	errBadPlain     = fmt.Errorf("%w: malformed SASL PLAIN message", ErrUnauthenticated)
	errBadSCRAM     = fmt.Errorf("%w: malformed SCRAM message", ErrUnauthenticated)
	errBusy         = fmt.Errorf("%w: too many password checks at once", ErrBusy)
	errNoMechanism  = fmt.Errorf("%w: unknown SASL mechanism", ErrInvalidArgument)
	errSCRAMNotDone = errors.New("auth: SCRAM exchange not finished")
)

// AllowUnauthenticated answers an agent's one question about a new Kafka
// connection: may it proceed without SASL? Only on a cluster whose SASL
// policy is off (the BYOC default; never serverless).
func (e *Engine) AllowUnauthenticated(ctx context.Context, cl keys.ClusterID) (bool, error) {
	c, err := e.readClusterScope(ctx, cl)
	if err != nil {
		return false, err
	}
	return cluster.SASLPolicy(c.SASL).AllowsUnauthenticated(), nil
}

// Bounds of a SASL PLAIN message (RFC 4616): each field is at most 255
// bytes, as in the RFC's grammar.
const maxPlainField = 255

// parsePlain splits a PLAIN message, "[authzid] NUL authcid NUL passwd":
// the identity to act as must be empty or the user itself; user and
// password are 1 to 255 bytes of UTF-8.
func parsePlain(msg []byte) (user, password []byte, ok bool) {
	if len(msg) > 3*maxPlainField+2 || !utf8.Valid(msg) {
		return nil, nil, false
	}
	authz, rest, ok := bytes.Cut(msg, []byte{0})
	if !ok {
		return nil, nil, false
	}
	user, password, ok = bytes.Cut(rest, []byte{0})
	if !ok || bytes.IndexByte(password, 0) >= 0 {
		return nil, nil, false
	}
	if len(user) == 0 || len(user) > maxPlainField || len(password) == 0 || len(password) > maxPlainField ||
		len(authz) > maxPlainField || (len(authz) > 0 && !bytes.Equal(authz, user)) {
		return nil, nil, false
	}
	return user, password, true
}

// AuthenticatePlain checks a SASL PLAIN message (RFC 4616) against the
// credentials of cluster cl. Any refusal is ErrUnauthenticated with one
// reason for every cause (unknown user, wrong password, another cluster's
// credential), except a malformed message. An unknown user costs the same
// argon2id run as a known one.
//
// Argon2id runs are bounded (see [Options.MaxPasswordChecks]): when every
// slot stays taken, the login fails quickly with [ErrBusy]. A successful
// check is remembered for [Options.RememberPlain], so that a reconnecting
// client costs no hashing; deleting the credential forgets it.
func (e *Engine) AuthenticatePlain(ctx context.Context, cl keys.ClusterID, msg []byte) (CredentialPrincipal, error) {
	return e.authenticatePlain(ctx, cl, msg, e.nowNano())
}

// authenticatePlain is AuthenticatePlain at time now (Unix nanoseconds),
// which an agent reads once for its snapshot's expiry and this check: the
// clock is not free.
func (e *Engine) authenticatePlain(ctx context.Context, cl keys.ClusterID, msg []byte, now int64) (CredentialPrincipal, error) {
	user, password, ok := parsePlain(msg)
	if !ok {
		return CredentialPrincipal{}, errBadPlain
	}
	var (
		rid   [sha256.Size]byte
		epoch uint64
	)
	if e.remembered != nil {
		rid = e.remembered.id(cl, user, password)
		p, ok, ep := e.remembered.lookup(&rid, now)
		if ok {
			return p, nil
		}
		epoch = ep
	}
	rec, err := e.lookupLogin(ctx, cl, string(user))
	if err != nil {
		return CredentialPrincipal{}, err
	}
	var h *record.Argon2Hash
	if rec != nil {
		h = &rec.Argon2
	}
	match, err := e.passwords.check(ctx, h, password)
	if err != nil {
		return CredentialPrincipal{}, err
	}
	if !match {
		return CredentialPrincipal{}, errBadLogin
	}
	p := credentialPrincipalOf(rec)
	if e.remembered != nil {
		e.remembered.insert(&rid, p, now, epoch)
	}
	return p, nil
}

// lookupLogin returns the credential of a username within cluster cl, or
// nil if there is none.
func (e *Engine) lookupLogin(ctx context.Context, cl keys.ClusterID, user string) (*record.Credential, error) {
	if cl.IsZero() {
		return nil, invalid("no cluster id", nil)
	}
	if _, err := keys.ParseUsername(user); err != nil {
		return nil, nil // no such user can exist
	}
	raw, err := e.s.Get(ctx, record.LoginKey(cl, user))
	if isNotFound(err) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("auth: looking up credential: %w", err)
	}
	var id keys.CredentialID
	if err := id.SetBytes(raw); err != nil {
		return nil, fmt.Errorf("auth: login entry: %w", store.ErrCorrupt)
	}
	rec, _, err := e.readCredential(ctx, id)
	if errors.Is(err, ErrNotFound) {
		// Deleted between the two reads (then the login entry is gone
		// too, and the user unknown), or a dangling login entry.
		if _, err := e.s.Get(ctx, record.LoginKey(cl, user)); isNotFound(err) {
			return nil, nil
		} else if err != nil {
			return nil, fmt.Errorf("auth: looking up credential: %w", err)
		}
		return nil, fmt.Errorf("auth: login entry without its credential: %w", store.ErrCorrupt)
	} else if err != nil {
		return nil, err
	}
	if rec.Cluster != cl || rec.Username != user {
		return nil, fmt.Errorf("auth: login entry of another credential: %w", store.ErrCorrupt)
	}
	return &rec, nil
}

func credentialPrincipalOf(r *record.Credential) CredentialPrincipal {
	return CredentialPrincipal{Credential: r.ID, Cluster: r.Cluster, Username: keys.Username(r.Username), Superuser: r.Superuser}
}

// SCRAMExchange is one server-side SCRAM-SHA-256 or SCRAM-SHA-512
// conversation with a Kafka client, against the credentials of one
// cluster. It is not safe for concurrent use.
type SCRAMExchange struct {
	e    *Engine
	conv *scram.Conversation
	rec  *record.Credential // the user's credential, once looked up; nil if unknown
	done bool
}

// StartSCRAM begins a SCRAM exchange for cluster cl with the named
// mechanism ([MechanismSCRAMSHA256] or [MechanismSCRAMSHA512]). An unknown
// user is not told apart from a wrong password: it is answered with a
// salt and iteration count like a real user's, stable across attempts, and
// fails at the proof with the same error.
func (e *Engine) StartSCRAM(ctx context.Context, cl keys.ClusterID, mechanism string) (*SCRAMExchange, error) {
	m, ok := scram.MechanismByName(mechanism)
	if !ok {
		return nil, errNoMechanism
	}
	if cl.IsZero() {
		return nil, invalid("no cluster id", nil)
	}
	x := &SCRAMExchange{e: e}
	fake := e.fakeSaltKey(cl)
	srv, err := scram.NewServer(scram.ServerConfig{
		Mechanism:      m,
		FakeKey:        fake[:],
		FakeIterations: e.passwords.scramIter,
		Lookup: func(ctx context.Context, user string) (scram.Verifier, bool, error) {
			rec, err := e.lookupLogin(ctx, cl, user)
			if err != nil || rec == nil {
				return scram.Verifier{}, false, err
			}
			x.rec = rec
			v := &rec.SCRAM[0]
			if m == scram.SHA512 {
				v = &rec.SCRAM[1]
			}
			return scram.Verifier{Salt: v.Salt, Iterations: int(v.Iterations), StoredKey: v.StoredKey, ServerKey: v.ServerKey}, true, nil
		},
	})
	if err != nil {
		return nil, err
	}
	x.conv = srv.Start()
	return x, nil
}

// Step takes the client's next message and returns the server's reply:
// server-first for client-first, server-final for client-final. A failed
// proof is ErrUnauthenticated, the same for an unknown user; a protocol
// violation is ErrUnauthenticated with its own reason; a store failure is
// returned as is. After a successful final step, [SCRAMExchange.Principal]
// tells who logged in.
func (x *SCRAMExchange) Step(ctx context.Context, msg []byte) ([]byte, error) {
	reply, err := x.conv.Step(ctx, msg)
	switch {
	case errors.Is(err, scram.ErrAuthFailed):
		return nil, errBadLogin
	case errors.Is(err, scram.ErrMalformed), errors.Is(err, scram.ErrFinished):
		return nil, errBadSCRAM
	case err != nil:
		return nil, err
	}
	if x.conv.Done() {
		// The verifier was read at the first message. Check that the
		// credential still exists, so that an exchange begun before a
		// delete does not succeed after the delete returned.
		if x.rec == nil {
			return nil, errBadLogin
		}
		_, err := x.e.s.Get(ctx, record.CredentialKey(x.rec.ID))
		if isNotFound(err) {
			return nil, errBadLogin
		} else if err != nil {
			return nil, fmt.Errorf("auth: looking up credential: %w", err)
		}
		x.done = true
	}
	return reply, nil
}

// Done reports whether the exchange has succeeded.
func (x *SCRAMExchange) Done() bool { return x.done }

// Principal returns who the exchange authenticated, once it has succeeded.
func (x *SCRAMExchange) Principal() (CredentialPrincipal, error) {
	if !x.done {
		return CredentialPrincipal{}, errSCRAMNotDone
	}
	return credentialPrincipalOf(x.rec), nil
}

// fakeSaltKey is the key of cluster cl's fake SCRAM salts: SHA-256 of the
// store's random fake-salt key and the cluster id (a keyed hash of
// fixed-length inputs, on the stack), so that every engine over the store,
// and every restart, answers an unknown user the same way.
func (e *Engine) fakeSaltKey(cl keys.ClusterID) [sha256.Size]byte {
	if k := e.fixedFakeKey.Load(); k != nil {
		return *k
	}
	var buf [fakeKeyLen + keys.UUIDSize]byte
	defer clear(buf[:])
	copy(buf[:], e.fakeKey)
	cb := cl.Bytes()
	copy(buf[fakeKeyLen:], cb[:])
	return sha256.Sum256(buf[:])
}
