package kafkatest

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// wire is a hand-driven client connection, for what kgo will not send.
type wire struct {
	t    *testing.T
	c    net.Conn
	corr int32
	fmt  *kmsg.RequestFormatter
}

func dial(t *testing.T, s *Server) *wire {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(5 * time.Second))
	return &wire{t: t, c: c, fmt: kmsg.NewRequestFormatter(kmsg.FormatterClientID("wire"))}
}

// send writes req at its version.
func (w *wire) send(req kmsg.Request) {
	w.t.Helper()
	w.corr++
	if _, err := w.c.Write(w.fmt.AppendRequest(nil, req, w.corr)); err != nil {
		w.t.Fatalf("write: %v", err)
	}
}

// frame reads one response frame.
func (w *wire) frame() ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(w.c, size[:]); err != nil {
		return nil, err
	}
	buf := make([]byte, binary.BigEndian.Uint32(size[:]))
	_, err := io.ReadFull(w.c, buf)
	return buf, err
}

// recv reads the answer to the last request into resp, whose version must
// be set. flexibleHeader says whether the response header has tags.
func (w *wire) recv(resp kmsg.Response, flexibleHeader bool) {
	w.t.Helper()
	buf, err := w.frame()
	if err != nil {
		w.t.Fatalf("read %s response: %v", kmsg.NameForKey(resp.Key()), err)
	}
	b := kbin.Reader{Src: buf}
	if corr := b.Int32(); corr != w.corr {
		w.t.Fatalf("correlation id %d, want %d", corr, w.corr)
	}
	if flexibleHeader {
		kmsg.ReadTags(&b)
	}
	if err := b.Complete(); err != nil {
		w.t.Fatal(err)
	}
	if err := resp.ReadFrom(b.Src); err != nil {
		w.t.Fatalf("decode %s v%d: %v", kmsg.NameForKey(resp.Key()), resp.GetVersion(), err)
	}
}

// closed checks that the server closes the connection without answering.
func (w *wire) closed() {
	w.t.Helper()
	if buf, err := w.frame(); err == nil {
		w.t.Fatalf("got a %d-byte answer, want the connection closed", len(buf))
	} else if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			w.t.Fatalf("connection still open: %v", err)
		}
	}
}

// handshake runs SaslHandshake v1 for mech and checks it is accepted.
func (w *wire) handshake(mech string) {
	w.t.Helper()
	req := kmsg.NewPtrSASLHandshakeRequest()
	req.Version = 1
	req.Mechanism = mech
	w.send(req)
	resp := req.ResponseKind().(*kmsg.SASLHandshakeResponse)
	w.recv(resp, false)
	if resp.ErrorCode != 0 {
		w.t.Fatalf("SaslHandshake %s: error %d", mech, resp.ErrorCode)
	}
}

// authenticate sends one SaslAuthenticate at version v and returns the
// answer.
func (w *wire) authenticate(v int16, msg []byte) *kmsg.SASLAuthenticateResponse {
	w.t.Helper()
	req := kmsg.NewPtrSASLAuthenticateRequest()
	req.Version = v
	req.SASLAuthBytes = msg
	w.send(req)
	resp := req.ResponseKind().(*kmsg.SASLAuthenticateResponse)
	w.recv(resp, v >= 2)
	return resp
}

func plainMsg(user, pass string) []byte { return []byte("\x00" + user + "\x00" + pass) }

func TestAPIVersions(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{Authenticator: newFakeAuth(allMechanisms...)})
	for v := int16(0); v <= 3; v++ {
		w := dial(t, s)
		req := kmsg.NewPtrApiVersionsRequest()
		req.Version = v
		req.ClientSoftwareName, req.ClientSoftwareVersion = "wire", "1"
		w.send(req)
		resp := req.ResponseKind().(*kmsg.ApiVersionsResponse)
		w.recv(resp, false) // header v0 even at v3
		if resp.ErrorCode != 0 || len(resp.ApiKeys) != 4 {
			t.Errorf("ApiVersions v%d: error %d, keys %v", v, resp.ErrorCode, resp.ApiKeys)
		}
	}
}

func TestAPIVersionsUnsupported(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{Authenticator: newFakeAuth(allMechanisms...)})
	for _, v := range []int16{4, 5, 200, -1} {
		w := dial(t, s)
		// A version from the future, whose body the server cannot
		// know: the header alone, and garbage after it.
		frame := binary.BigEndian.AppendUint32(nil, 0)
		frame = binary.BigEndian.AppendUint16(frame, uint16(kmsg.ApiVersions))
		frame = binary.BigEndian.AppendUint16(frame, uint16(v))
		frame = binary.BigEndian.AppendUint32(frame, 77)
		frame = append(frame, 0xff, 0xfe, 0xfd)
		binary.BigEndian.PutUint32(frame, uint32(len(frame)-4))
		if _, err := w.c.Write(frame); err != nil {
			t.Fatal(err)
		}
		w.corr = 77
		resp := kmsg.NewPtrApiVersionsResponse()
		resp.Version = 0
		w.recv(resp, false)
		if resp.ErrorCode != kerr.UnsupportedVersion.Code {
			t.Errorf("ApiVersions v%d: error %d, want %d", v, resp.ErrorCode, kerr.UnsupportedVersion.Code)
		}
		want := kmsg.ApiVersionsResponseApiKey{ApiKey: int16(kmsg.ApiVersions), MinVersion: 0, MaxVersion: 3}
		if len(resp.ApiKeys) != 1 || resp.ApiKeys[0].ApiKey != want.ApiKey ||
			resp.ApiKeys[0].MinVersion != want.MinVersion || resp.ApiKeys[0].MaxVersion != want.MaxVersion {
			t.Errorf("ApiVersions v%d: keys %+v, want only %+v", v, resp.ApiKeys, want)
		}
	}
}

func TestFrameTooLarge(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{Authenticator: newFakeAuth(allMechanisms...)})
	for _, size := range []uint32{MaxRequestSize + 1, 1 << 31, 0xffffffff} {
		w := dial(t, s)
		// Only the size: the server must not wait for the body.
		if _, err := w.c.Write(binary.BigEndian.AppendUint32(nil, size)); err != nil {
			t.Fatal(err)
		}
		w.closed()
	}
}

func TestClosesConnection(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{Authenticator: newFakeAuth(allMechanisms...)})

	t.Run("other API", func(t *testing.T) {
		w := dial(t, s)
		w.send(kmsg.NewPtrFindCoordinatorRequest())
		w.closed()
	})
	t.Run("version out of range", func(t *testing.T) {
		w := dial(t, s)
		req := kmsg.NewPtrSASLHandshakeRequest()
		req.Version = 2
		req.Mechanism = MechanismPlain
		w.send(req)
		w.closed()
	})
	t.Run("truncated request", func(t *testing.T) {
		w := dial(t, s)
		req := kmsg.NewPtrSASLHandshakeRequest()
		req.Version = 1
		req.Mechanism = MechanismPlain
		frame := w.fmt.AppendRequest(nil, req, 1)
		frame = frame[:len(frame)-2]
		binary.BigEndian.PutUint32(frame, uint32(len(frame)-4))
		w.c.Write(frame)
		w.closed()
	})
	t.Run("SaslAuthenticate without handshake", func(t *testing.T) {
		w := dial(t, s)
		req := kmsg.NewPtrSASLAuthenticateRequest()
		req.SASLAuthBytes = plainMsg(testUser, testPass)
		w.send(req)
		w.closed()
	})
	t.Run("Metadata before authentication", func(t *testing.T) {
		w := dial(t, s)
		w.send(kmsg.NewPtrMetadataRequest())
		w.closed()
	})
	if st := s.Stats(); st.Succeeded != 0 || st.Failed != 0 {
		t.Errorf("Stats: %+v", st)
	}
}

func TestSecondHandshakeMidExchange(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{Authenticator: newFakeAuth(allMechanisms...)})
	w := dial(t, s)
	w.handshake(MechanismSCRAMSHA256)
	req := kmsg.NewPtrSASLHandshakeRequest()
	req.Version = 1
	req.Mechanism = MechanismPlain
	w.send(req)
	w.closed()
}

func TestMetadataMidExchange(t *testing.T) {
	// Even when clients may skip SASL, one that began an exchange must
	// finish it first.
	t.Parallel()
	auth := newFakeAuth(allMechanisms...)
	auth.allow = true
	s := startServer(t, Config{Authenticator: auth})
	w := dial(t, s)
	w.handshake(MechanismSCRAMSHA256)
	if resp := w.authenticate(2, []byte("n,,n=alice,r=abcdefgh")); resp.ErrorCode != 0 {
		t.Fatalf("SCRAM first step: error %d", resp.ErrorCode)
	}
	w.send(kmsg.NewPtrMetadataRequest())
	w.closed()
}

func TestSASLAuthenticateVersions(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{Authenticator: newFakeAuth(allMechanisms...), FailureDelay: -1})
	for v := int16(0); v <= 2; v++ {
		w := dial(t, s)
		w.handshake(MechanismPlain)
		resp := w.authenticate(v, plainMsg(testUser, testPass))
		if resp.ErrorCode != 0 || resp.SessionLifetimeMillis != 0 || len(resp.SASLAuthBytes) != 0 {
			t.Errorf("SaslAuthenticate v%d: %+v", v, resp)
		}

		// Authenticated: Metadata answers, another SASL request is
		// ILLEGAL_SASL_STATE and the connection stays.
		md := kmsg.NewPtrMetadataRequest()
		md.Version = 12
		md.Topics = []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr("orders")}}
		w.send(md)
		mresp := md.ResponseKind().(*kmsg.MetadataResponse)
		w.recv(mresp, true)
		checkMetadata(t, s, &kmsg.MetadataResponse{Brokers: mresp.Brokers, ClusterID: mresp.ClusterID}, DefaultClusterID)
		if len(mresp.Topics) != 1 || mresp.Topics[0].ErrorCode != kerr.UnknownTopicOrPartition.Code {
			t.Errorf("Metadata topics %+v, want orders unknown", mresp.Topics)
		}
		if resp := w.authenticate(v, plainMsg(testUser, testPass)); resp.ErrorCode != kerr.IllegalSaslState.Code {
			t.Errorf("second SaslAuthenticate v%d: error %d, want %d", v, resp.ErrorCode, kerr.IllegalSaslState.Code)
		}
		hs := kmsg.NewPtrSASLHandshakeRequest()
		hs.Version = 1
		hs.Mechanism = MechanismPlain
		w.send(hs)
		hresp := hs.ResponseKind().(*kmsg.SASLHandshakeResponse)
		w.recv(hresp, false)
		if hresp.ErrorCode != kerr.IllegalSaslState.Code {
			t.Errorf("second SaslHandshake: error %d, want %d", hresp.ErrorCode, kerr.IllegalSaslState.Code)
		}

		// And a failure at this version: 58, the fixed message, then
		// the connection closes.
		w = dial(t, s)
		w.handshake(MechanismPlain)
		resp = w.authenticate(v, plainMsg(testUser, "wrong"))
		if resp.ErrorCode != kerr.SaslAuthenticationFailed.Code || resp.ErrorMessage == nil ||
			*resp.ErrorMessage != FailureMessage || resp.SessionLifetimeMillis != 0 {
			t.Errorf("failed SaslAuthenticate v%d: %+v", v, resp)
		}
		w.closed()
	}
}

func TestHandshakeUnsupportedListsMechanisms(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{Authenticator: newFakeAuth(MechanismSCRAMSHA256, MechanismSCRAMSHA512)})
	w := dial(t, s)
	for _, v := range []int16{0, 1} {
		req := kmsg.NewPtrSASLHandshakeRequest()
		req.Version = v
		req.Mechanism = "GSSAPI"
		w.send(req)
		resp := req.ResponseKind().(*kmsg.SASLHandshakeResponse)
		w.recv(resp, false)
		if resp.ErrorCode != kerr.UnsupportedSaslMechanism.Code ||
			len(resp.SupportedMechanisms) != 2 ||
			resp.SupportedMechanisms[0] != MechanismSCRAMSHA256 || resp.SupportedMechanisms[1] != MechanismSCRAMSHA512 {
			t.Errorf("SaslHandshake v%d GSSAPI: %+v", v, resp)
		}
	}
	// The connection stays open for another try.
	w.handshake(MechanismSCRAMSHA512)
	if st := s.Stats(); len(st.Conns) != 1 || st.Conns[0].Unsupported != 2 || st.Conns[0].Mechanism != MechanismSCRAMSHA512 {
		t.Errorf("Stats: %+v", st)
	}
}

func TestStartErrorIsAFailure(t *testing.T) {
	// A mechanism offered but that Start refuses fails like a wrong
	// password.
	t.Parallel()
	auth := newFakeAuth("SCRAM-SHA-1") // the fake cannot start it
	s := startServer(t, Config{Authenticator: auth, FailureDelay: -1})
	w := dial(t, s)
	w.handshake("SCRAM-SHA-1")
	resp := w.authenticate(2, []byte("n,,n=alice,r=abcdefgh"))
	if resp.ErrorCode != kerr.SaslAuthenticationFailed.Code || *resp.ErrorMessage != FailureMessage {
		t.Errorf("SaslAuthenticate: %+v", resp)
	}
	w.closed()
}
