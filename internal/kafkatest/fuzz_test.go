package kafkatest

import (
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// seedFrames returns request frames for the fuzz corpus: every request the
// server answers, at several versions, and bare SASL tokens.
func seedFrames() map[string][]byte {
	f := kmsg.NewRequestFormatter(kmsg.FormatterClientID("fuzz"))
	at := func(req kmsg.Request, v int16) []byte {
		req.SetVersion(v)
		return f.AppendRequest(nil, req, int32(v)+1)
	}
	hs := func(v int16, mech string) []byte {
		req := kmsg.NewPtrSASLHandshakeRequest()
		req.Mechanism = mech
		return at(req, v)
	}
	auth := func(v int16, msg string) []byte {
		req := kmsg.NewPtrSASLAuthenticateRequest()
		req.SASLAuthBytes = []byte(msg)
		return at(req, v)
	}
	apiv := func(v int16) []byte {
		req := kmsg.NewPtrApiVersionsRequest()
		req.ClientSoftwareName, req.ClientSoftwareVersion = "fuzz", "1"
		return at(req, v)
	}
	md := func(v int16) []byte {
		req := kmsg.NewPtrMetadataRequest()
		req.Topics = []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr("t")}}
		return at(req, v)
	}
	raw := func(msg string) []byte {
		return append(binary.BigEndian.AppendUint32(nil, uint32(len(msg))), msg...)
	}
	cat := func(frames ...[]byte) []byte {
		var out []byte
		for _, fr := range frames {
			out = append(out, fr...)
		}
		return out
	}
	good := "\x00" + testUser + "\x00" + testPass
	scramFirst := "n,,n=" + testUser + ",r=fyko+d2lbbFgONRv9qkxdawL"
	return map[string][]byte{
		"empty":           nil,
		"apiversions v5":  apiv(5),
		"apiversions all": cat(apiv(0), apiv(1), apiv(2), apiv(3)),
		"plain v2":        cat(apiv(3), hs(1, MechanismPlain), auth(2, good), md(12)),
		"plain v0 auth":   cat(hs(1, MechanismPlain), auth(0, good), md(0), md(13)),
		"plain wrong":     cat(hs(1, MechanismPlain), auth(1, "\x00alice\x00nope"), md(1)),
		"plain raw":       cat(hs(0, MechanismPlain), raw(good), md(9)),
		"raw wrong":       cat(hs(0, MechanismPlain), raw("\x00x\x00y")),
		"scram first":     cat(hs(1, MechanismSCRAMSHA256), auth(2, scramFirst), auth(2, "c=biws,r=x,p=AAAA")),
		"scram raw first": cat(hs(0, MechanismSCRAMSHA512), raw(scramFirst), raw("garbage")),
		"unsupported":     cat(hs(1, "GSSAPI"), hs(1, MechanismPlain), auth(2, good)),
		"after success":   cat(hs(1, MechanismPlain), auth(2, good), hs(1, MechanismPlain), auth(2, good)),
		"no handshake":    auth(2, good),
		"metadata first":  md(4),
		"other api":       at(kmsg.NewPtrFindCoordinatorRequest(), 3),
		"huge size":       {0x7f, 0xff, 0xff, 0xff, 1, 2, 3},
		"negative size":   {0xff, 0xff, 0xff, 0xfe},
		"zero size":       {0, 0, 0, 0},
		"tags":            {0, 0, 0, 14, 0, 18, 0, 3, 0, 0, 0, 1, 0xff, 0xff, 0x85, 0x80, 0x80, 0x80},
	}
}

// FuzzConn feeds arbitrary bytes to one connection's handler over net.Pipe,
// reading every answer, and requires that the handler returns, without
// panicking, once the client side closes.
func FuzzConn(f *testing.F) {
	for _, seed := range seedFrames() {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	f.Fuzz(func(t *testing.T, in []byte, allow bool) {
		auth := newFakeAuth(allMechanisms...)
		auth.allow = allow
		s := newServer(Config{Authenticator: auth, FailureDelay: -1}, "127.0.0.1", 9092)
		client, server := net.Pipe()
		s.mu.Lock()
		i, _ := s.addLocked(server)
		s.mu.Unlock()
		handled := make(chan struct{})
		go func() {
			s.serve(server, i) // what track runs, but here we see it return
			close(handled)
		}()

		drained := make(chan struct{})
		go func() {
			io.Copy(io.Discard, client) // every answer, until closed
			close(drained)
		}()
		client.Write(in) // fails once the server closes its side
		client.Close()
		<-drained

		select {
		case <-handled:
		case <-time.After(10 * time.Second):
			t.Fatal("the connection handler did not return")
		}
		s.Close()
		if st := s.Stats(); len(st.Conns) != 1 || st.Conns[0].Open || st.Succeeded+st.Failed > 1 {
			t.Fatalf("Stats after close: %+v", st)
		}
	})
}
