package scram

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strconv"
)

const (
	// MinFakeKeyLen is the shortest ServerConfig.FakeKey accepted.
	MinFakeKeyLen = 16
	// nonceRandLen is how many random bytes a server adds to the nonce:
	// 144 bits, 24 characters of base64.
	nonceRandLen = 18
	// maxIterationsDigits is the length of MaxIterations in decimal.
	maxIterationsDigits = 5
)

// ServerConfig configures a Server.
type ServerConfig struct {
	// Mechanism is the mechanism the server runs. Required.
	Mechanism Mechanism

	// Lookup returns the verifier of a username for Mechanism, with
	// found = false for a user that does not exist (or has no verifier
	// for this mechanism). err reports a failure of the store, not a
	// verdict: Step returns it as it is and the conversation ends.
	// Required. It must be safe for concurrent use if conversations run
	// concurrently; the verifier it returns is copied, not retained.
	Lookup func(ctx context.Context, username string) (v Verifier, found bool, err error)

	// FakeKey, at least MinFakeKeyLen bytes, keys the fake salts given to
	// usernames that do not exist: HMAC-SHA-256(FakeKey, mechanism name ‖
	// 0 ‖ username), [SaltLen] bytes, the same on every attempt, so that a
	// client cannot tell an unknown user from a wrong password. Keep it
	// secret and stable: every server that answers for the same users
	// must have the same FakeKey, for ever, or a salt that changes gives
	// the unknown user away. Required; it is not retained.
	FakeKey []byte

	// FakeIterations is the iteration count given to unknown users; 0
	// means DefaultIterations. Set it to the count most real verifiers
	// have.
	FakeIterations int

	// Nonce, for tests only, replaces the server's part of the nonce,
	// which is otherwise 18 bytes from crypto/rand in base64. A nonce
	// that repeats lets an eavesdropper replay an exchange: never set it
	// outside a test. It must return 1 to MaxNonceLen bytes of printable
	// ASCII without ','; Step fails with ErrInvalidConfig otherwise.
	Nonce func() string
}

// Server runs SCRAM conversations for one mechanism, on the server side.
// It is safe for concurrent use; each Conversation is not.
type Server struct {
	mech     Mechanism
	h        *hashSpec
	lookup   func(context.Context, string) (Verifier, bool, error)
	nonce    func() string
	fakeIter int
	// fakeIpad and fakeOpad are FakeKey's HMAC-SHA-256 pads.
	fakeIpad, fakeOpad [sha256.BlockSize]byte
}

// NewServer returns a Server, or an error wrapping ErrInvalidConfig.
func NewServer(cfg ServerConfig) (*Server, error) {
	h := cfg.Mechanism.spec()
	switch {
	case h == nil:
		return nil, errMechanism
	case cfg.Lookup == nil:
		return nil, errLookup
	case len(cfg.FakeKey) < MinFakeKeyLen:
		return nil, errFakeKey
	case cfg.FakeIterations != 0 && (cfg.FakeIterations < MinIterations || cfg.FakeIterations > MaxIterations):
		return nil, errFakeIterations
	}
	s := &Server{mech: cfg.Mechanism, h: h, lookup: cfg.Lookup, nonce: cfg.Nonce, fakeIter: cfg.FakeIterations}
	if s.fakeIter == 0 {
		s.fakeIter = DefaultIterations
	}
	key := cfg.FakeKey
	if len(key) > sha256.BlockSize {
		sum := sha256.Sum256(key)
		key = sum[:]
	}
	copy(s.fakeIpad[:], key)
	copy(s.fakeOpad[:], key)
	for i := range s.fakeIpad {
		s.fakeIpad[i] ^= 0x36
		s.fakeOpad[i] ^= 0x5c
	}
	return s, nil
}

// Mechanism returns the server's mechanism.
func (s *Server) Mechanism() Mechanism { return s.mech }

// fakeSalt sets dst to the fake salt of an unknown username: HMAC-SHA-256
// written out over fixed buffers, so that it does not allocate.
func (s *Server) fakeSalt(dst *[SaltLen]byte, name []byte) {
	var in [sha256.BlockSize + 16 + 1 + MaxUsernameLen]byte
	defer clear(in[:sha256.BlockSize])
	n := copy(in[:], s.fakeIpad[:])
	n += copy(in[n:], s.h.name)
	in[n] = 0
	n++
	n += copy(in[n:], name)
	inner := sha256.Sum256(in[:n])
	var out [sha256.BlockSize + sha256.Size]byte
	defer clear(out[:sha256.BlockSize])
	copy(out[:], s.fakeOpad[:])
	copy(out[sha256.BlockSize:], inner[:])
	*dst = sha256.Sum256(out[:])
}

// The states of a Conversation. The zero state is a Conversation that
// Start did not make: every Step is ErrFinished.
const (
	stateNone uint8 = iota
	stateFirst
	stateFinal
	stateSucceeded
	stateFailed
)

// Conversation is one authentication exchange, from the client's first
// message to the server's last. It is not safe for concurrent use; a
// connection runs one at a time.
type Conversation struct {
	s     *Server
	state uint8
	known int // 1 if the user exists, 0 if the keys are fake
	user  string

	// buf holds, after the first step: the base64 of the gs2 header (what
	// "c=" must repeat), a block of room for the HMAC's inner pad, then
	// the AuthMessage as it is built: client-first-message-bare "," and
	// server-first-message ","; the second step appends
	// client-final-message-without-proof. HMACs are computed over the pad
	// and the message in place, with the fixed-size sums of crypto/sha256
	// and crypto/sha512, which do not allocate.
	buf                []byte
	bindingLen         int // buf[:bindingLen] is the base64 of the gs2 header
	msgOff             int // the AuthMessage starts at buf[msgOff]
	nonceOff, nonceEnd int // the whole nonce
	firstOff, firstEnd int // server-first-message

	storedKey, serverKey [maxHashSize]byte
	sum                  [maxHashSize]byte
	outer                [maxBlockSize + maxHashSize]byte
	proof                [maxHashSize + 2]byte // room for base64's decoding slack
}

// Start begins a conversation.
func (s *Server) Start() *Conversation {
	return &Conversation{s: s, state: stateFirst}
}

// Step takes the client's next message and returns the server's reply,
// which the caller owns. The first Step takes client-first-message and
// returns server-first-message ("r=…,s=…,i=…"); the second takes
// client-final-message and, once the proof checks, returns
// server-final-message ("v=…"), and Done is true. The caller sends that
// reply: it is how the client knows the server holds its verifier.
//
// Any error ends the conversation, with no reply to send: ErrAuthFailed
// for a wrong proof or an unknown user (the same value either way, only
// after client-final-message, and after the same work), an error wrapping
// ErrMalformed for a protocol violation, the Lookup's own error, an error
// wrapping ErrInvalidVerifier for a stored verifier CheckVerifier refuses,
// an error wrapping ErrInvalidConfig if ServerConfig.Nonce returns an
// invalid nonce, and ErrFinished for any Step after the end. Over Kafka, an error becomes
// the SaslAuthenticate response's error; SCRAM's "e=" messages are not
// used.
//
// ctx is passed to Lookup and used for nothing else. msg is not retained.
func (c *Conversation) Step(ctx context.Context, msg []byte) ([]byte, error) {
	var (
		reply []byte
		err   error
	)
	switch c.state {
	case stateFirst:
		reply, err = c.first(ctx, msg)
		if err == nil {
			c.state = stateFinal
			return reply, nil
		}
	case stateFinal:
		reply, err = c.final(msg)
		if err == nil {
			c.end(stateSucceeded)
			return reply, nil
		}
	default:
		return nil, ErrFinished
	}
	c.end(stateFailed)
	return nil, err
}

// Done reports whether the conversation ended in success: the client
// proved it knows the password of Username.
func (c *Conversation) Done() bool { return c.state == stateSucceeded }

// Username returns the authenticated username once Done, and "" before or
// after a failure.
func (c *Conversation) Username() string {
	if c.state != stateSucceeded {
		return ""
	}
	return c.user
}

// end moves to a final state and clears the keys, the buffers and, after a
// failure, the username.
func (c *Conversation) end(state uint8) {
	c.state = state
	clear(c.buf)
	c.buf = nil
	clear(c.storedKey[:])
	clear(c.serverKey[:])
	clear(c.sum[:])
	clear(c.outer[:])
	clear(c.proof[:])
	if state != stateSucceeded {
		c.user = ""
	}
}

func (c *Conversation) first(ctx context.Context, msg []byte) ([]byte, error) {
	s, h := c.s, c.s.h
	p, err := parseClientFirst(msg)
	if err != nil {
		return nil, err
	}
	var name [MaxUsernameLen]byte
	n, err := decodeName(&name, p.name)
	if err != nil {
		return nil, err
	}
	c.user = string(name[:n])

	v, found, err := s.lookup(ctx, c.user)
	if err != nil {
		return nil, err
	}
	var (
		salt     []byte
		iters    int
		fakeSalt [SaltLen]byte
	)
	if found {
		if err := s.mech.CheckVerifier(v); err != nil {
			return nil, err
		}
		copy(c.storedKey[:], v.StoredKey)
		copy(c.serverKey[:], v.ServerKey)
		salt, iters, c.known = v.Salt, v.Iterations, 1
	} else {
		// Unknown: a fake salt, and all-zero keys that Step checks the
		// proof against all the same; known = 0 makes that check fail
		// whatever the keys.
		s.fakeSalt(&fakeSalt, name[:n])
		salt, iters = fakeSalt[:], s.fakeIter
	}

	var serverNonce string
	if s.nonce != nil {
		serverNonce = s.nonce()
		if len(serverNonce) == 0 || len(serverNonce) > MaxNonceLen || !printable(serverNonce) {
			return nil, errServerNonce
		}
	}
	nonceLen := len(p.nonce) + len(serverNonce)
	if s.nonce == nil {
		nonceLen += base64.StdEncoding.EncodedLen(nonceRandLen)
	}
	enc := base64.StdEncoding
	bindingLen := enc.EncodedLen(len(p.gs2))
	firstLen := len("r=") + nonceLen + len(",s=") + enc.EncodedLen(len(salt)) + len(",i=") + maxIterationsDigits
	finalLen := len("c=") + bindingLen + len(",r=") + nonceLen // without extensions
	buf := make([]byte, 0, bindingLen+h.block+len(p.bare)+1+firstLen+1+finalLen)

	buf = enc.AppendEncode(buf, p.gs2)
	c.bindingLen = len(buf)
	buf = buf[:len(buf)+h.block]
	c.msgOff = len(buf)
	buf = append(buf, p.bare...)
	buf = append(buf, ',')
	c.firstOff = len(buf)
	buf = append(buf, "r="...)
	c.nonceOff = len(buf)
	buf = append(buf, p.nonce...)
	if s.nonce != nil {
		buf = append(buf, serverNonce...)
	} else {
		var raw [nonceRandLen]byte
		rand.Read(raw[:])
		buf = enc.AppendEncode(buf, raw[:])
	}
	c.nonceEnd = len(buf)
	buf = append(buf, ",s="...)
	buf = enc.AppendEncode(buf, salt)
	buf = append(buf, ",i="...)
	buf = strconv.AppendInt(buf, int64(iters), 10)
	c.firstEnd = len(buf)
	buf = append(buf, ',')
	c.buf = buf
	return append([]byte(nil), buf[c.firstOff:c.firstEnd]...), nil
}

func (c *Conversation) final(msg []byte) ([]byte, error) {
	h := c.s.h
	withoutProof, err := parseClientFinal(msg, c.buf[:c.bindingLen], c.buf[c.nonceOff:c.nonceEnd], h.size, &c.proof)
	if err != nil {
		return nil, err
	}
	c.buf = append(c.buf, withoutProof...)

	// ClientSignature = HMAC(StoredKey, AuthMessage); ClientKey = proof
	// XOR ClientSignature; the client knows the password if H(ClientKey)
	// is StoredKey.
	c.hmac(h, c.storedKey[:h.size])
	for i := range h.size {
		c.proof[i] ^= c.sum[i]
	}
	h.sum(&c.sum, c.proof[:h.size])
	if subtle.ConstantTimeCompare(c.sum[:h.size], c.storedKey[:h.size])&c.known != 1 {
		return nil, ErrAuthFailed
	}

	// ServerSignature = HMAC(ServerKey, AuthMessage).
	c.hmac(h, c.serverKey[:h.size])
	reply := make([]byte, 0, len("v=")+base64.StdEncoding.EncodedLen(h.size))
	reply = append(reply, "v="...)
	return base64.StdEncoding.AppendEncode(reply, c.sum[:h.size]), nil
}

// hmac sets c.sum[:h.size] to HMAC(key, AuthMessage) (RFC 2104), for a key
// no longer than a block: H(key^opad ‖ H(key^ipad ‖ AuthMessage)), the
// inner pad written into the room before the AuthMessage in buf.
func (c *Conversation) hmac(h *hashSpec, key []byte) {
	pad := c.buf[c.msgOff-h.block : c.msgOff]
	outer := c.outer[:h.block+h.size]
	for i := range h.block {
		var k byte
		if i < len(key) {
			k = key[i]
		}
		pad[i] = k ^ 0x36
		outer[i] = k ^ 0x5c
	}
	h.sum(&c.sum, c.buf[c.msgOff-h.block:])
	copy(outer[h.block:], c.sum[:h.size])
	h.sum(&c.sum, outer)
}
