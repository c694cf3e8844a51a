package kafkatest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

var kgoDebug = flag.Bool("kgodebug", false, "log kgo's debug lines (with -v)")

// testDelay is the failure delay of most tests: short, but long enough to
// measure.
const testDelay = 50 * time.Millisecond

var allMechanisms = []string{MechanismPlain, MechanismSCRAMSHA256, MechanismSCRAMSHA512}

// startServer starts a server for the test and, at cleanup, closes it and
// checks that none of its goroutines is left.
func startServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	if cfg.Logf == nil {
		cfg.Logf = t.Logf
	}
	s, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		checkNoServerGoroutines(t, s)
	})
	return s
}

// checkNoServerGoroutines fails the test if a goroutine of s is left: one
// labelled with its address (see Server.accept). Close has returned, so
// every one has at most its exit left; we allow it a moment for that.
func checkNoServerGoroutines(t *testing.T, s *Server) {
	t.Helper()
	label := fmt.Sprintf("%q:%q", goroutineLabel, s.Addr())
	var profile strings.Builder
	for deadline := time.Now().Add(time.Second); ; {
		profile.Reset()
		pprof.Lookup("goroutine").WriteTo(&profile, 1)
		if !strings.Contains(profile.String(), label) {
			return
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Errorf("a goroutine of the server outlived Close:\n%s", profile.String())
}

// TestLeakCheck checks that checkNoServerGoroutines sees a server's
// goroutines while it runs.
func TestLeakCheck(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{Authenticator: newFakeAuth(allMechanisms...)})
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	label := fmt.Sprintf("%q:%q", goroutineLabel, s.Addr())
	for deadline := time.Now().Add(2 * time.Second); ; {
		var profile strings.Builder
		pprof.Lookup("goroutine").WriteTo(&profile, 1)
		// The accept loop and the connection.
		if n := strings.Count(profile.String(), label); n >= 2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no goroutine labelled %s in:\n%s", label, profile.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// mechanism returns kgo's client side of mech, with the given credentials.
func mechanism(mech, user, pass string) sasl.Mechanism {
	switch mech {
	case MechanismPlain:
		return plain.Auth{User: user, Pass: pass}.AsMechanism()
	case MechanismSCRAMSHA256:
		return scram.Auth{User: user, Pass: pass}.AsSha256Mechanism()
	case MechanismSCRAMSHA512:
		return scram.Auth{User: user, Pass: pass}.AsSha512Mechanism()
	}
	panic("unknown mechanism " + mech)
}

// newClient returns a kgo client of s that gives up in seconds.
func newClient(t *testing.T, s *Server, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	l := &testLogger{t: t}
	t.Cleanup(l.stop) // runs after the client's Close below
	opts = append([]kgo.Opt{
		kgo.SeedBrokers(s.Addr()),
		kgo.RequestRetries(2),
		kgo.RetryTimeout(5 * time.Second),
		kgo.RetryBackoffFn(func(int) time.Duration { return 10 * time.Millisecond }),
		kgo.DialTimeout(2 * time.Second),
		kgo.WithLogger(l),
	}, opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// testLogger sends kgo's logs to the test, until stopped.
type testLogger struct {
	t       *testing.T
	mu      sync.Mutex
	stopped bool
}

func (l *testLogger) stop() {
	l.mu.Lock()
	l.stopped = true
	l.mu.Unlock()
}

func (l *testLogger) Level() kgo.LogLevel {
	if *kgoDebug {
		return kgo.LogLevelDebug
	}
	return kgo.LogLevelInfo
}

func (l *testLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.stopped {
		l.t.Logf("kgo %s: %s %v", level, msg, keyvals)
	}
}

// metadata issues a Metadata request through cl, with a deadline.
func metadata(t *testing.T, cl *kgo.Client) (*kmsg.MetadataResponse, error) {
	t.Helper()
	// Generous for a loaded machine and the race detector; a failing
	// test still ends in seconds.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
}

// checkMetadata checks that resp describes s.
func checkMetadata(t *testing.T, s *Server, resp *kmsg.MetadataResponse, clusterID string) {
	t.Helper()
	host, port, _ := net.SplitHostPort(s.Addr())
	if len(resp.Brokers) != 1 {
		t.Fatalf("Metadata: %d brokers, want 1", len(resp.Brokers))
	}
	b := resp.Brokers[0]
	if b.NodeID != 0 || b.Host != host || strconv.Itoa(int(b.Port)) != port {
		t.Errorf("Metadata broker = %d %s:%d, want 0 %s", b.NodeID, b.Host, b.Port, s.Addr())
	}
	if resp.ClusterID == nil || *resp.ClusterID != clusterID {
		t.Errorf("Metadata cluster id = %v, want %q", resp.ClusterID, clusterID)
	}
	if len(resp.Topics) != 0 {
		t.Errorf("Metadata: %d topics, want none", len(resp.Topics))
	}
}

func TestAuthenticateSucceeds(t *testing.T) {
	t.Parallel()
	for _, mech := range allMechanisms {
		t.Run(mech, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, Config{
				Authenticator: newFakeAuth(allMechanisms...),
				FailureDelay:  testDelay,
				ClusterID:     "vci_test",
			})
			cl := newClient(t, s, kgo.SASL(mechanism(mech, testUser, testPass)))
			resp, err := metadata(t, cl)
			if err != nil {
				t.Fatalf("Metadata: %v", err)
			}
			checkMetadata(t, s, resp, "vci_test")
			if err := cl.Ping(context.Background()); err != nil {
				t.Fatalf("Ping: %v", err)
			}

			st := s.Stats()
			if st.Failed != 0 || st.Succeeded < 1 {
				t.Errorf("Stats: %d succeeded, %d failed; want at least 1, 0", st.Succeeded, st.Failed)
			}
			for _, c := range st.Conns {
				if c.Succeeded != 1 || c.Principal != testUser || c.Mechanism != mech {
					t.Errorf("connection %+v: want one success of %s with %s", c, testUser, mech)
				}
			}
		})
	}
}

// failure is what a failed authentication looked like to the client.
type failure struct {
	err     error
	elapsed time.Duration // from the request to its error
	at      time.Time     // when the error arrived
}

// failOnce authenticates to s with mech, user and pass, expects a failure,
// and returns it.
func failOnce(t *testing.T, s *Server, mech, user, pass string) failure {
	t.Helper()
	cl := newClient(t, s, kgo.SASL(mechanism(mech, user, pass)))
	start := time.Now()
	_, err := metadata(t, cl)
	f := failure{err: err, elapsed: time.Since(start), at: time.Now()}
	if err == nil {
		t.Fatalf("%s as %q: Metadata succeeded, want a failure", mech, user)
	}
	return f
}

func TestAuthenticateFails(t *testing.T) {
	t.Parallel()
	causes := []struct{ name, user, pass string }{
		{"wrong password", testUser, "wrong password"},
		{"unknown user", "mallory", testPass},
	}
	var (
		mu       sync.Mutex
		messages = map[string]string{} // error text by mechanism and cause
	)
	t.Run("group", func(t *testing.T) {
		for _, mech := range allMechanisms {
			for _, cause := range causes {
				t.Run(mech+"/"+cause.name, func(t *testing.T) {
					t.Parallel()
					auth := newFakeAuth(allMechanisms...)
					s := startServer(t, Config{Authenticator: auth, FailureDelay: testDelay})
					f := failOnce(t, s, mech, cause.user, cause.pass)

					if !errors.Is(f.err, kerr.SaslAuthenticationFailed) {
						t.Fatalf("error %v (%T), want kerr.SaslAuthenticationFailed", f.err, f.err)
					}
					var ke *kerr.Error
					if !errors.As(f.err, &ke) || ke.Code != 58 {
						t.Errorf("error code %v, want 58", ke)
					}
					if !strings.HasSuffix(f.err.Error(), ": "+FailureMessage) {
						t.Errorf("error %q does not end with the fixed message", f.err)
					}
					if strings.Contains(f.err.Error(), fakeReason) {
						t.Errorf("error %q carries the exchange's reason", f.err)
					}
					mu.Lock()
					messages[mech+"/"+cause.name] = f.err.Error()
					mu.Unlock()

					// The delay starts when Step has returned, and
					// the client waits all of it.
					fails := auth.Failures()
					if len(fails) != 1 {
						t.Fatalf("%d failed exchanges, want 1 (did kgo retry?)", len(fails))
					}
					if d := f.at.Sub(fails[0].at); d < testDelay {
						t.Errorf("failure answered %v after Step returned, want ≥ %v", d, testDelay)
					}
					if f.elapsed < testDelay {
						t.Errorf("failure after %v, want ≥ %v", f.elapsed, testDelay)
					}
					// A SCRAM failure comes at the last step for an
					// unknown user too (the fake's mock credentials).
					wantStep := 2 // SCRAM: the client's final message
					if mech == MechanismPlain {
						wantStep = 1
					}
					if fails[0].step != wantStep {
						t.Errorf("%s failed at step %d, want %d", mech, fails[0].step, wantStep)
					}

					st := s.Stats()
					if st.Failed != 1 || st.Succeeded != 0 {
						t.Errorf("Stats: %d succeeded, %d failed; want 0, 1", st.Succeeded, st.Failed)
					}
					checkClosed(t, s)
				})
			}
		}
	})

	// One message for every cause and every mechanism.
	var first string
	for k, m := range messages {
		if first == "" {
			first = m
		}
		if m != first {
			t.Errorf("%s: error %q, others %q", k, m, first)
		}
	}
	t.Logf("every failure: %q", first)
}

// checkClosed checks that every connection of s is closed, soon.
func checkClosed(t *testing.T, s *Server) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); ; {
		open := 0
		for _, c := range s.Stats().Conns {
			if c.Open {
				open++
			}
		}
		if open == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%d connections still open after a failure", open)
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestDefaultFailureDelay(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{Authenticator: newFakeAuth(MechanismPlain)})
	f := failOnce(t, s, MechanismPlain, testUser, "wrong password")
	if !errors.Is(f.err, kerr.SaslAuthenticationFailed) {
		t.Fatalf("error %v, want kerr.SaslAuthenticationFailed", f.err)
	}
	if f.elapsed < DefaultFailureDelay {
		t.Errorf("failure after %v, want ≥ %v", f.elapsed, DefaultFailureDelay)
	}
	t.Logf("failure after %v", f.elapsed)
}

func TestUnauthenticated(t *testing.T) {
	t.Parallel()
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		s := startServer(t, Config{Authenticator: newFakeAuth(allMechanisms...)})
		cl := newClient(t, s) // no SASL
		start := time.Now()
		_, err := metadata(t, cl)
		if err == nil {
			t.Fatal("Metadata without SASL succeeded")
		}
		t.Logf("error after %v: %v (%T)", time.Since(start), err, err)
		if st := s.Stats(); st.Succeeded != 0 || st.Failed != 0 {
			t.Errorf("Stats: %+v, want no authentication", st)
		}
	})
	t.Run("allowed", func(t *testing.T) {
		t.Parallel()
		auth := newFakeAuth(allMechanisms...)
		auth.allow = true
		s := startServer(t, Config{Authenticator: auth})
		cl := newClient(t, s)
		resp, err := metadata(t, cl)
		if err != nil {
			t.Fatalf("Metadata: %v", err)
		}
		checkMetadata(t, s, resp, DefaultClusterID)
	})
	t.Run("allowed but failed SASL", func(t *testing.T) {
		// Allowing clients without SASL does not let a wrong password
		// through.
		t.Parallel()
		auth := newFakeAuth(allMechanisms...)
		auth.allow = true
		s := startServer(t, Config{Authenticator: auth, FailureDelay: testDelay})
		f := failOnce(t, s, MechanismSCRAMSHA256, testUser, "wrong password")
		if !errors.Is(f.err, kerr.SaslAuthenticationFailed) {
			t.Fatalf("error %v, want kerr.SaslAuthenticationFailed", f.err)
		}
	})
}

func TestUnsupportedMechanism(t *testing.T) {
	t.Parallel()
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		s := startServer(t, Config{Authenticator: newFakeAuth(MechanismPlain), FailureDelay: testDelay})
		cl := newClient(t, s, kgo.SASL(mechanism(MechanismSCRAMSHA512, testUser, testPass)))
		_, err := metadata(t, cl)
		if !errors.Is(err, kerr.UnsupportedSaslMechanism) {
			t.Fatalf("error %v, want kerr.UnsupportedSaslMechanism", err)
		}
		st := s.Stats()
		if st.Succeeded != 0 || st.Failed != 0 || len(st.Conns) == 0 || st.Conns[0].Unsupported != 1 {
			t.Errorf("Stats: %+v, want one unsupported handshake and nothing else", st)
		}
	})
	t.Run("next mechanism", func(t *testing.T) {
		// kgo tries its next mechanism on the same connection, which
		// stays open for it.
		t.Parallel()
		s := startServer(t, Config{Authenticator: newFakeAuth(MechanismPlain), FailureDelay: testDelay})
		cl := newClient(t, s, kgo.SASL(
			mechanism(MechanismSCRAMSHA512, testUser, testPass),
			mechanism(MechanismPlain, testUser, testPass),
		))
		if _, err := metadata(t, cl); err != nil {
			t.Fatalf("Metadata: %v", err)
		}
		st := s.Stats()
		if len(st.Conns) == 0 || st.Conns[0].Unsupported != 1 || st.Conns[0].Succeeded != 1 {
			t.Errorf("Stats: %+v, want an unsupported handshake then a success on one connection", st)
		}
	})
}

// TestHandshakeV0 has the server offer SaslHandshake v0 only, after which
// SASL tokens go bare, without SaslAuthenticate. (Pinning the client with
// kgo.MaxVersions does not do it: kgo takes the broker's highest
// SaslHandshake version whatever its MaxVersions; see
// TestMaxVersionsIgnoredForSASL.)
func TestHandshakeV0(t *testing.T) {
	t.Parallel()
	for _, mech := range allMechanisms {
		t.Run(mech, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{t: t}
			s := startServer(t, Config{
				Authenticator: newFakeAuth(allMechanisms...),
				FailureDelay:  testDelay,
				Logf:          rec.Logf,
				legacySASL:    true,
			})
			cl := newClient(t, s, kgo.SASL(mechanism(mech, testUser, testPass)))
			if _, err := metadata(t, cl); err != nil {
				t.Fatalf("Metadata: %v", err)
			}
			want := []string{
				"ApiVersions v5: unsupported version",
				"ApiVersions v3",
				"SASLHandshake v0",
				"Metadata v13", // the tokens in between are not requests
			}
			if got := rec.requests(); !slices.Equal(got, want) {
				t.Errorf("requests %q, want %q", got, want)
			}
			if st := s.Stats(); st.Succeeded < 1 || st.Failed != 0 {
				t.Errorf("Stats: %+v", st)
			}
		})
	}
	t.Run("failure", func(t *testing.T) {
		t.Parallel()
		s := startServer(t, Config{Authenticator: newFakeAuth(allMechanisms...), FailureDelay: testDelay, legacySASL: true})
		cl := newClient(t, s, kgo.SASL(mechanism(MechanismPlain, testUser, "wrong password")))
		start := time.Now()
		_, err := metadata(t, cl)
		elapsed := time.Since(start)
		if err == nil {
			t.Fatal("Metadata succeeded with a wrong password")
		}
		t.Logf("error after %v: %v", elapsed, err)
		if elapsed < testDelay {
			t.Errorf("failure after %v, want ≥ %v", elapsed, testDelay)
		}
		if st := s.Stats(); st.Succeeded != 0 || st.Failed < 1 {
			t.Errorf("Stats: %+v", st)
		}
	})
}

// recorder keeps a server's log lines.
type recorder struct {
	t     *testing.T
	mu    sync.Mutex
	lines []string
}

func (r *recorder) Logf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	r.t.Log(line)
	r.mu.Lock()
	r.lines = append(r.lines, line)
	r.mu.Unlock()
}

// requests returns the requests of the first connection, in order: what
// the server logged of them, less the client's address.
func (r *recorder) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var got []string
	first := ""
	for _, l := range r.lines {
		f := strings.SplitN(l, ": ", 3) // "kafkatest", address, event
		if len(f) < 3 {
			continue
		}
		if first == "" {
			first = f[1]
		}
		if f[1] == first && !strings.HasPrefix(f[2], "closed") && !strings.HasPrefix(f[2], "authenticat") {
			got = append(got, f[2])
		}
	}
	return got
}

// TestVersions records the versions kgo negotiates.
func TestVersions(t *testing.T) {
	t.Parallel()
	rec := &recorder{t: t}
	s := startServer(t, Config{Authenticator: newFakeAuth(allMechanisms...), Logf: rec.Logf})
	cl := newClient(t, s, kgo.SASL(mechanism(MechanismSCRAMSHA256, testUser, testPass)))
	if _, err := metadata(t, cl); err != nil {
		t.Fatalf("Metadata: %v", err)
	}
	want := []string{
		"ApiVersions v5: unsupported version",
		"ApiVersions v3",
		"SASLHandshake v1",
		"SASLAuthenticate v2",
		"SASLAuthenticate v2",
		"Metadata v13",
	}
	if got := rec.requests(); !slices.Equal(got, want) {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestMaxVersionsIgnoredForSASL pins down a kgo behaviour the tests rely on:
// kgo.MaxVersions does not cap SaslHandshake, which kgo sends at the
// broker's highest version. If this fails, kgo has changed, and
// TestHandshakeV0 could pin the client instead of the server.
func TestMaxVersionsIgnoredForSASL(t *testing.T) {
	t.Parallel()
	rec := &recorder{t: t}
	s := startServer(t, Config{Authenticator: newFakeAuth(allMechanisms...), Logf: rec.Logf})
	v := kversion.Stable()
	v.SetMaxKeyVersion(int16(kmsg.SASLHandshake), 0)
	cl := newClient(t, s, kgo.MaxVersions(v), kgo.SASL(mechanism(MechanismPlain, testUser, testPass)))
	if _, err := metadata(t, cl); err != nil {
		t.Fatalf("Metadata: %v", err)
	}
	if got := rec.requests(); !slices.Contains(got, "SASLHandshake v1") {
		t.Errorf("requests %q: kgo now honours MaxVersions for SaslHandshake", got)
	}
}

// TestClose checks that Close ends every goroutine promptly: an idle
// connection, one half-way through a request, one waiting out a long
// failure delay, and an authenticated kgo client.
func TestClose(t *testing.T) {
	t.Parallel()
	auth := newFakeAuth(allMechanisms...)
	s, err := Start(Config{Authenticator: auth, FailureDelay: time.Minute, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	idle, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	half, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer half.Close()
	if _, err := half.Write([]byte{0, 0, 1, 0, 0}); err != nil { // 256 bytes promised, 1 sent
		t.Fatal(err)
	}

	good := newClient(t, s, kgo.SASL(mechanism(MechanismPlain, testUser, testPass)))
	if _, err := metadata(t, good); err != nil {
		t.Fatalf("Metadata: %v", err)
	}
	bad := newClient(t, s, kgo.SASL(mechanism(MechanismPlain, testUser, "wrong")))
	badDone := make(chan error, 1)
	go func() { _, err := metadata(t, bad); badDone <- err }()
	for len(auth.Failures()) == 0 { // the bad client is in its delay
		time.Sleep(time.Millisecond)
	}

	start := time.Now()
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v", d)
	}
	checkNoServerGoroutines(t, s)
	if err := <-badDone; err == nil || errors.Is(err, kerr.SaslAuthenticationFailed) {
		t.Errorf("client in its failure delay got %v, want a broken connection", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	st := s.Stats()
	for _, c := range st.Conns {
		if c.Open {
			t.Errorf("connection %+v open after Close", c)
		}
	}
}

func TestStartWithoutAuthenticator(t *testing.T) {
	if _, err := Start(Config{}); !errors.Is(err, ErrNoAuthenticator) {
		t.Fatalf("Start: %v, want ErrNoAuthenticator", err)
	}
}
