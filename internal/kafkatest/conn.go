package kafkatest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// defaultVersions are the request versions the server takes, by API key.
var defaultVersions = []kmsg.ApiVersionsResponseApiKey{
	{ApiKey: int16(kmsg.Metadata), MinVersion: 0, MaxVersion: 13},
	{ApiKey: int16(kmsg.SASLHandshake), MinVersion: 0, MaxVersion: 1},
	{ApiKey: int16(kmsg.ApiVersions), MinVersion: 0, MaxVersion: 3},
	{ApiKey: int16(kmsg.SASLAuthenticate), MinVersion: 0, MaxVersion: 2},
}

// nodeID is the listener's broker id in Metadata.
const nodeID = 0

// Why a connection closed, for Logf. None quotes what the client sent.
var (
	errFrameSize       = errors.New("request frame size out of range")
	errMalformed       = errors.New("malformed request")
	errUnexpected      = errors.New("request of an API the server does not answer")
	errVersion         = errors.New("request version out of range")
	errSASLSequence    = errors.New("SASL request out of sequence")
	errUnauthenticated = errors.New("request before authentication")
	errAuthFailed      = errors.New("authentication failed")
	errNilExchange     = errors.New("authenticator returned no exchange")
)

// conn is one client connection and its SASL state.
type conn struct {
	s      *Server
	c      net.Conn
	i      int // index in s.conns
	remote string

	in, out []byte // reused frame buffers

	mechanism     string   // set by an accepted handshake, "" before
	raw           bool     // after a v0 handshake: frames are bare SASL tokens
	ex            Exchange // the exchange under way, nil between exchanges
	authenticated bool
}

// header is a request header, less its client id and tags.
type header struct {
	key     int16
	version int16
	corr    int32
}

// run serves requests until the connection ends, and returns why.
func (cn *conn) run(ctx context.Context) error {
	for {
		frame, err := cn.readFrame()
		if err != nil {
			return err
		}
		if cn.raw {
			err = cn.rawToken(ctx, frame)
		} else {
			err = cn.request(ctx, frame)
		}
		if err != nil {
			return err
		}
	}
}

// readFrame reads one size-prefixed frame into cn.in. The frame is valid
// until the next call.
func (cn *conn) readFrame() ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(cn.c, size[:]); err != nil {
		return nil, err
	}
	n := int32(binary.BigEndian.Uint32(size[:]))
	if n < 0 || n > MaxRequestSize {
		return nil, errFrameSize
	}
	cn.in = slices.Grow(cn.in[:0], int(n))[:n]
	if _, err := io.ReadFull(cn.c, cn.in); err != nil {
		return nil, err
	}
	return cn.in, nil
}

// request answers one request frame.
func (cn *conn) request(ctx context.Context, frame []byte) error {
	b := kbin.Reader{Src: frame}
	h := header{key: b.Int16(), version: b.Int16(), corr: b.Int32()}
	if !b.Ok() {
		return errMalformed
	}
	if h.key == int16(kmsg.ApiVersions) && !cn.s.supported(h.key, h.version) {
		// Answered whatever the rest holds: a client cannot know the
		// shape of a version the broker does not know.
		if cn.s.logf != nil {
			cn.s.logf("kafkatest: %s: ApiVersions v%d: unsupported version", cn.remote, h.version)
		}
		return cn.respond(h, cn.s.unsupportedAPIVersions())
	}
	switch kmsg.Key(h.key) {
	case kmsg.ApiVersions, kmsg.SASLHandshake, kmsg.SASLAuthenticate, kmsg.Metadata:
	default:
		return errUnexpected
	}
	if !cn.s.supported(h.key, h.version) {
		return errVersion
	}
	req := kmsg.RequestForKey(h.key)
	req.SetVersion(h.version)
	b.NullableString() // client id: never compact, even in flexible headers
	if req.IsFlexible() {
		kmsg.ReadTags(&b)
	}
	if !b.Ok() {
		return errMalformed
	}
	if err := req.ReadFrom(b.Src); err != nil {
		return errMalformed
	}
	if cn.s.logf != nil {
		cn.s.logf("kafkatest: %s: %s v%d", cn.remote, kmsg.NameForKey(h.key), h.version)
	}

	switch req := req.(type) {
	case *kmsg.ApiVersionsRequest:
		resp := req.ResponseKind().(*kmsg.ApiVersionsResponse)
		resp.ApiKeys = cn.s.versions
		return cn.respond(h, resp)
	case *kmsg.SASLHandshakeRequest:
		return cn.handshake(h, req)
	case *kmsg.SASLAuthenticateRequest:
		return cn.authenticate(ctx, h, req)
	case *kmsg.MetadataRequest:
		return cn.metadata(h, req)
	}
	return errUnexpected // not reached: the switch above lets only these through
}

// supported reports whether the server takes version v of API key.
func (s *Server) supported(key, v int16) bool {
	for _, k := range s.versions {
		if k.ApiKey == key {
			return k.MinVersion <= v && v <= k.MaxVersion
		}
	}
	return false
}

// unsupportedAPIVersions is the answer to an ApiVersions request of a
// version the server does not know: per KIP-511, UNSUPPORTED_VERSION in a v0
// response listing only ApiVersions, so the client retries with its max.
func (s *Server) unsupportedAPIVersions() *kmsg.ApiVersionsResponse {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = 0
	resp.ErrorCode = kerr.UnsupportedVersion.Code
	for _, k := range s.versions {
		if k.ApiKey == int16(kmsg.ApiVersions) {
			resp.ApiKeys = []kmsg.ApiVersionsResponseApiKey{k}
		}
	}
	return resp
}

// respond writes resp as the answer to the request with header h.
func (cn *conn) respond(h header, resp kmsg.Response) error {
	buf := append(cn.out[:0], 0, 0, 0, 0) // size, set below
	buf = binary.BigEndian.AppendUint32(buf, uint32(h.corr))
	// ApiVersions answers with header v0 at every version, so that a
	// client can read the answer to a version it guessed wrong.
	if resp.IsFlexible() && h.key != int16(kmsg.ApiVersions) {
		buf = append(buf, 0) // no tagged fields
	}
	buf = resp.AppendTo(buf)
	binary.BigEndian.PutUint32(buf, uint32(len(buf)-4))
	cn.out = buf
	_, err := cn.c.Write(buf)
	return err
}

// handshake answers SaslHandshake.
func (cn *conn) handshake(h header, req *kmsg.SASLHandshakeRequest) error {
	resp := req.ResponseKind().(*kmsg.SASLHandshakeResponse)
	switch {
	case cn.authenticated:
		resp.ErrorCode = kerr.IllegalSaslState.Code
		return cn.respond(h, resp)
	case cn.mechanism != "":
		return errSASLSequence
	}
	mechs := cn.s.auth.Mechanisms()
	resp.SupportedMechanisms = mechs
	if !slices.Contains(mechs, req.Mechanism) {
		if cn.s.logf != nil {
			cn.s.logf("kafkatest: %s: unsupported SASL mechanism %q", cn.remote, req.Mechanism)
		}
		cn.s.update(cn.i, func(st *ConnStats) { st.Unsupported++ })
		resp.ErrorCode = kerr.UnsupportedSaslMechanism.Code
		return cn.respond(h, resp)
	}
	cn.mechanism = req.Mechanism
	cn.raw = h.version == 0
	cn.s.update(cn.i, func(st *ConnStats) { st.Mechanism = req.Mechanism })
	return cn.respond(h, resp)
}

// authenticate answers SaslAuthenticate.
func (cn *conn) authenticate(ctx context.Context, h header, req *kmsg.SASLAuthenticateRequest) error {
	resp := req.ResponseKind().(*kmsg.SASLAuthenticateResponse)
	resp.SessionLifetimeMillis = 0 // no re-authentication
	switch {
	case cn.authenticated:
		resp.ErrorCode = kerr.IllegalSaslState.Code
		return cn.respond(h, resp)
	case cn.mechanism == "":
		return errSASLSequence
	}
	reply, err := cn.step(ctx, req.SASLAuthBytes)
	if err != nil {
		if err := cn.fail(ctx, err); err != nil {
			return err
		}
		msg := FailureMessage
		resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
		resp.ErrorMessage = &msg
		if err := cn.respond(h, resp); err != nil {
			return err
		}
		return errAuthFailed
	}
	resp.SASLAuthBytes = reply.Msg
	return cn.respond(h, resp)
}

// rawToken answers one bare SASL token, after a v0 handshake. A failure has
// no way to say so: the connection closes.
func (cn *conn) rawToken(ctx context.Context, token []byte) error {
	reply, err := cn.step(ctx, token)
	if err != nil {
		if err := cn.fail(ctx, err); err != nil {
			return err
		}
		return errAuthFailed
	}
	if cn.authenticated {
		cn.raw = false
	}
	buf := binary.BigEndian.AppendUint32(cn.out[:0], uint32(len(reply.Msg)))
	buf = append(buf, reply.Msg...)
	cn.out = buf
	_, err = cn.c.Write(buf)
	return err
}

// step passes msg to the exchange under way, starting one if there is
// none, and records a success. It clears msg, a part of the frame buffer
// that may hold a password, once the exchange is done with it.
func (cn *conn) step(ctx context.Context, msg []byte) (Reply, error) {
	defer clear(msg)
	if cn.ex == nil {
		ex, err := cn.s.auth.Start(ctx, cn.mechanism)
		if err != nil {
			return Reply{}, err
		}
		if ex == nil {
			return Reply{}, errNilExchange
		}
		cn.ex = ex
	}
	reply, err := cn.ex.Step(ctx, msg)
	if err != nil {
		cn.ex = nil
		return Reply{}, err
	}
	if reply.Done {
		cn.ex = nil
		cn.authenticated = true
		if cn.s.logf != nil {
			cn.s.logf("kafkatest: %s: authenticated %q with %s", cn.remote, reply.Principal, cn.mechanism)
		}
		cn.s.update(cn.i, func(st *ConnStats) {
			st.Succeeded++
			st.Principal = reply.Principal
		})
	}
	return reply, nil
}

// fail records a failed exchange and waits out the failure delay. It
// returns an error only if the server closed during the wait.
func (cn *conn) fail(ctx context.Context, err error) error {
	if cn.s.logf != nil {
		cn.s.logf("kafkatest: %s: authentication with %s failed: %v", cn.remote, cn.mechanism, err)
	}
	cn.s.update(cn.i, func(st *ConnStats) { st.Failed++ })
	if cn.s.delay <= 0 {
		return nil
	}
	t := time.NewTimer(cn.s.delay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w; server closed during the failure delay", errAuthFailed)
	}
}

// metadata answers Metadata: this broker, the cluster id, and no topics.
func (cn *conn) metadata(h header, req *kmsg.MetadataRequest) error {
	allowed := cn.authenticated ||
		cn.mechanism == "" && cn.s.auth.AllowUnauthenticated()
	if !allowed {
		return errUnauthenticated
	}
	resp := req.ResponseKind().(*kmsg.MetadataResponse)
	broker := kmsg.NewMetadataResponseBroker()
	broker.NodeID = nodeID
	broker.Host = cn.s.host
	broker.Port = cn.s.port
	resp.Brokers = []kmsg.MetadataResponseBroker{broker}
	resp.ClusterID = &cn.s.clusterID
	resp.ControllerID = nodeID
	for _, t := range req.Topics {
		rt := kmsg.NewMetadataResponseTopic()
		rt.Topic = t.Topic
		rt.TopicID = t.TopicID
		if t.Topic != nil {
			rt.ErrorCode = kerr.UnknownTopicOrPartition.Code
		} else {
			rt.ErrorCode = kerr.UnknownTopicID.Code
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return cn.respond(h, resp)
}
