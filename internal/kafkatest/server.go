package kafkatest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime/pprof"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// DefaultFailureDelay is how long a failed authentication waits before it
// is answered when [Config.FailureDelay] is zero: Kafka's default
// connection.failed.authentication.delay.ms.
const DefaultFailureDelay = 100 * time.Millisecond

// MaxRequestSize is the largest request frame, without its 4-byte length,
// that the server reads. A larger one closes the connection before its body
// is read.
const MaxRequestSize = 1 << 20

// DefaultClusterID is the cluster id Metadata answers when
// [Config.ClusterID] is empty.
const DefaultClusterID = "kafkatest"

// ErrNoAuthenticator is returned by [Start] when [Config.Authenticator] is
// nil.
var ErrNoAuthenticator = errors.New("kafkatest: no authenticator")

// Config configures a [Server].
type Config struct {
	// Authenticator makes every SASL decision. Required.
	Authenticator Authenticator
	// FailureDelay is how long a failed authentication waits before its
	// answer is written: zero means [DefaultFailureDelay], a negative
	// delay none at all.
	FailureDelay time.Duration
	// ClusterID is the cluster id Metadata answers; empty means
	// [DefaultClusterID].
	ClusterID string
	// Logf, if not nil, receives one line per connection event: requests,
	// SASL outcomes (with the Exchange's error on failure) and why a
	// connection closed. It never receives SASL messages.
	Logf func(format string, args ...any)

	// legacySASL makes the server a Kafka before 1.0, for tests: it
	// offers SaslHandshake v0 only and no SaslAuthenticate, so that a
	// client sends its SASL tokens bare. kgo cannot be made to do that
	// otherwise: it takes the broker's highest SaslHandshake version
	// whatever its MaxVersions.
	legacySASL bool
}

// Server is a running listener, made by [Start]. Its methods are safe for
// concurrent use.
type Server struct {
	auth      Authenticator
	delay     time.Duration
	clusterID string
	logf      func(format string, args ...any)

	versions []kmsg.ApiVersionsResponseApiKey // what ApiVersions answers

	ln   net.Listener // nil for a server made by newServer alone
	host string
	port int32

	ctx    context.Context // ends at Close; every connection's context
	cancel context.CancelFunc
	wg     sync.WaitGroup // the accept loop and every connection

	mu     sync.Mutex
	closed bool
	open   map[net.Conn]struct{}
	conns  []ConnStats // one per connection, in the order accepted
}

// Stats is a snapshot of the authentications a [Server] has seen.
type Stats struct {
	// Succeeded and Failed add up those of every connection.
	Succeeded, Failed int
	// Conns has one entry per accepted connection, in the order accepted.
	Conns []ConnStats
}

// ConnStats is what one connection has seen.
type ConnStats struct {
	// Remote is the client's address.
	Remote string
	// Succeeded counts exchanges that succeeded; Failed, those that
	// failed. A failure closes the connection and a success admits no
	// further exchange, so at most one of them is 1 and neither is more.
	Succeeded, Failed int
	// Unsupported counts handshakes that named a mechanism not offered.
	// They are not failures: the client may try another.
	Unsupported int
	// Mechanism is the mechanism of the last accepted handshake.
	Mechanism string
	// Principal is who the last successful exchange authenticated.
	Principal string
	// Open reports whether the connection's goroutine is still running.
	Open bool
}

// Start listens on 127.0.0.1 on a free port and serves until [Server.Close].
func Start(cfg Config) (*Server, error) {
	if cfg.Authenticator == nil {
		return nil, ErrNoAuthenticator
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("kafkatest: listening: %w", err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	s := newServer(cfg, addr.IP.String(), int32(addr.Port))
	s.ln = ln
	s.wg.Go(s.accept)
	return s, nil
}

// newServer makes a server without a listener: Start adds one, and the
// fuzz test hands connections to serve itself.
func newServer(cfg Config, host string, port int32) *Server {
	s := &Server{
		auth:      cfg.Authenticator,
		delay:     cfg.FailureDelay,
		clusterID: cfg.ClusterID,
		logf:      cfg.Logf,
		host:      host,
		port:      port,
		open:      make(map[net.Conn]struct{}),
		versions:  defaultVersions,
	}
	if cfg.legacySASL {
		s.versions = nil
		for _, k := range defaultVersions {
			switch kmsg.Key(k.ApiKey) {
			case kmsg.SASLAuthenticate:
				continue
			case kmsg.SASLHandshake:
				k.MaxVersion = 0
			}
			s.versions = append(s.versions, k)
		}
	}
	switch {
	case s.delay == 0:
		s.delay = DefaultFailureDelay
	case s.delay < 0:
		s.delay = 0
	}
	if s.clusterID == "" {
		s.clusterID = DefaultClusterID
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

// Addr returns the address clients dial, host:port.
func (s *Server) Addr() string {
	return net.JoinHostPort(s.host, strconv.Itoa(int(s.port)))
}

// Close stops the listener, closes every connection, and returns once every
// goroutine of the server has ended. A failure waiting out its delay ends
// without an answer. Close may be called more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	first := !s.closed
	s.closed = true
	open := make([]net.Conn, 0, len(s.open))
	for c := range s.open {
		open = append(open, c)
	}
	s.mu.Unlock()

	var err error
	if first {
		s.cancel()
		if s.ln != nil {
			err = s.ln.Close()
		}
	}
	for _, c := range open {
		c.Close()
	}
	s.wg.Wait()
	return err
}

// Stats returns a snapshot of the server's counts.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Conns: append([]ConnStats(nil), s.conns...)}
	for _, c := range st.Conns {
		st.Succeeded += c.Succeeded
		st.Failed += c.Failed
	}
	return st
}

// goroutineLabel is the pprof label of the server's goroutines.
const goroutineLabel = "kafkatest"

// accept hands each new connection to its own goroutine until the listener
// closes.
//
// It labels its goroutine, and so every connection's, with the server's
// address (label "kafkatest"), which profiles and the tests' leak check
// see.
func (s *Server) accept() {
	pprof.SetGoroutineLabels(pprof.WithLabels(s.ctx, pprof.Labels(goroutineLabel, s.Addr())))
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if s.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// A transient failure (out of file descriptors): back off
			// a little rather than spin.
			if s.logf != nil {
				s.logf("kafkatest: accept: %v", err)
			}
			select {
			case <-s.ctx.Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		s.track(c)
	}
}

// track registers c and serves it in a new goroutine, or closes it if the
// server is closed. It reports whether c is served.
func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.addLocked(c)
	if !ok {
		c.Close()
		return false
	}
	// Added under mu while not closed: Close sets closed under mu before
	// it waits, so no Add can follow its Wait.
	s.wg.Go(func() { s.serve(c, i) })
	return true
}

// addLocked registers c, unless the server is closed, and returns its
// index in s.conns. s.mu must be held.
func (s *Server) addLocked(c net.Conn) (int, bool) {
	if s.closed {
		return 0, false
	}
	s.open[c] = struct{}{}
	s.conns = append(s.conns, ConnStats{Remote: c.RemoteAddr().String(), Open: true})
	return len(s.conns) - 1, true
}

// serve runs one connection until it ends, then closes it.
func (s *Server) serve(c net.Conn, i int) {
	cn := &conn{s: s, c: c, i: i, remote: c.RemoteAddr().String()}
	err := cn.run(s.ctx)
	c.Close()
	if s.logf != nil {
		s.logf("kafkatest: %s: closed: %v", cn.remote, err)
	}

	s.mu.Lock()
	delete(s.open, c)
	s.conns[i].Open = false
	s.mu.Unlock()
}

// update changes connection i's stats under the server's lock.
func (s *Server) update(i int, f func(*ConnStats)) {
	s.mu.Lock()
	f(&s.conns[i])
	s.mu.Unlock()
}
