package auth_test

// The engine's SASL decisions end to end: a real Kafka client (franz-go's
// kgo) against kafkatest's listener, whose Authenticator is the engine
// (kafkatest.ForCluster), as an agent would run it.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/streamauth/streamauth/auth"
	"github.com/streamauth/streamauth/cluster"
	"github.com/streamauth/streamauth/internal/kafkatest"
	"github.com/streamauth/streamauth/keys"
)

// kDelay is the failure delay of most tests here.
const kDelay = 50 * time.Millisecond

var kMechanisms = []string{auth.MechanismPlain, auth.MechanismSCRAMSHA256, auth.MechanismSCRAMSHA512}

// kMechanism is kgo's client side of mech.
func kMechanism(mech string, user keys.Username, pass string) sasl.Mechanism {
	switch mech {
	case auth.MechanismPlain:
		return plain.Auth{User: string(user), Pass: pass}.AsMechanism()
	case auth.MechanismSCRAMSHA256:
		return scram.Auth{User: string(user), Pass: pass}.AsSha256Mechanism()
	case auth.MechanismSCRAMSHA512:
		return scram.Auth{User: string(user), Pass: pass}.AsSha512Mechanism()
	}
	panic("unknown mechanism " + mech)
}

// kListener starts a listener for cluster cl of engine e, closed at the end
// of the test. logf, if not nil, gets the listener's log lines.
func kListener(t *testing.T, e *auth.Engine, cl keys.ClusterID, delay time.Duration, logf func(string, ...any)) *kafkatest.Server {
	t.Helper()
	if logf == nil {
		logf = t.Logf
	}
	s, err := kafkatest.Start(kafkatest.Config{
		Authenticator: kafkatest.ForCluster(e, cl),
		FailureDelay:  delay,
		ClusterID:     cl.String(),
		Logf:          logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// kClient is a kgo client of s that gives up within seconds.
func kClient(t *testing.T, s *kafkatest.Server, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	opts = append([]kgo.Opt{
		kgo.SeedBrokers(s.Addr()),
		kgo.RequestRetries(2),
		kgo.RetryTimeout(5 * time.Second),
		kgo.RetryBackoffFn(func(int) time.Duration { return 10 * time.Millisecond }),
		kgo.DialTimeout(2 * time.Second),
	}, opts...)
	c, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// kMetadata sends a Metadata request through c.
func kMetadata(c *kgo.Client) (*kmsg.MetadataResponse, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return kmsg.NewPtrMetadataRequest().RequestWith(ctx, c)
}

// kFailure is a failed authentication as the client saw it.
type kFailure struct {
	err     error
	elapsed time.Duration
}

// kFail authenticates to s with mech, user and pass, expecting a failure.
func kFail(t *testing.T, s *kafkatest.Server, mech string, user keys.Username, pass string) kFailure {
	t.Helper()
	c := kClient(t, s, kgo.SASL(kMechanism(mech, user, pass)))
	start := time.Now()
	_, err := kMetadata(c)
	f := kFailure{err: err, elapsed: time.Since(start)}
	if err == nil {
		t.Fatalf("%s as %s: Metadata succeeded, want a failure", mech, user)
	}
	return f
}

// checkAuthFailed checks that f is SASL_AUTHENTICATION_FAILED with the
// fixed message, answered after the failure delay.
func checkAuthFailed(t *testing.T, what string, f kFailure, delay time.Duration, pass string) {
	t.Helper()
	// Every message below shows the error with the password blanked out:
	// a leak is reported, never repeated.
	text := f.err.Error()
	if pass == "" {
		t.Fatalf("%s: checkAuthFailed needs the password to look for", what)
	}
	leaked := strings.Contains(text, pass)
	text = strings.ReplaceAll(text, pass, "[password]")
	if !errors.Is(f.err, kerr.SaslAuthenticationFailed) {
		t.Errorf("%s: error %q (%T), want kerr.SaslAuthenticationFailed", what, text, f.err)
		return
	}
	var ke *kerr.Error
	if !errors.As(f.err, &ke) || ke.Code != 58 {
		t.Errorf("%s: error code %v, want 58", what, ke.Code)
	}
	if !strings.HasSuffix(text, ": "+kafkatest.FailureMessage) {
		t.Errorf("%s: error %q does not end with the fixed message", what, text)
	}
	if leaked {
		t.Errorf("%s: error %q holds the password", what, text)
	}
	if f.elapsed < delay {
		t.Errorf("%s: failure after %v, want at least the delay %v", what, f.elapsed, delay)
	}
}

func TestKafkaCredentialSucceeds(t *testing.T) {
	t.Parallel()
	v := newCCEnv(t, auth.Options{})
	for _, typ := range []cluster.Type{cluster.Serverless, cluster.BYOC} {
		cl := v.cluster(typ.String(), typ)
		ic := v.cred(cl)
		for _, mech := range kMechanisms {
			t.Run(typ.String()+"/"+mech, func(t *testing.T) {
				t.Parallel()
				s := kListener(t, v.e, cl, kDelay, nil)
				c := kClient(t, s, kgo.SASL(kMechanism(mech, ic.Credential.Username, ic.Password.Reveal())))
				resp, err := kMetadata(c)
				if err != nil {
					t.Fatalf("Metadata: %v", err)
				}
				if resp.ClusterID == nil || *resp.ClusterID != cl.String() {
					t.Errorf("Metadata cluster id %v, want %s", resp.ClusterID, cl)
				}
				if err := c.Ping(context.Background()); err != nil {
					t.Errorf("Ping: %v", err)
				}
				st := s.Stats()
				if st.Failed != 0 || st.Succeeded < 1 {
					t.Errorf("Stats: %d succeeded, %d failed; want some, 0", st.Succeeded, st.Failed)
				}
				for _, cs := range st.Conns {
					if cs.Succeeded != 1 || cs.Principal != string(ic.Credential.Username) || cs.Mechanism != mech {
						t.Errorf("connection %+v: want one success of %s with %s", cs, ic.Credential.Username, mech)
					}
				}
			})
		}
	}
}

// TestKafkaCredentialFails: a wrong password, an unknown user, a deleted
// credential and another cluster's credential each fail the same way, with
// every mechanism.
func TestKafkaCredentialFails(t *testing.T) {
	t.Parallel()
	v := newCCEnv(t, auth.Options{})
	a := v.cluster("a", cluster.Serverless)
	b := v.cluster("b", cluster.BYOC)
	ic := v.cred(a)
	onB := v.cred(b)
	gone := v.cred(a)
	// Logged in before its delete, so remembered.
	if _, err := v.login(a, gone, gone.Password.Reveal()); err != nil {
		t.Fatal(err)
	}
	if err := v.e.DeleteCredential(v.ctx, gone.Credential.ID); err != nil {
		t.Fatal(err)
	}
	unknown, _ := keys.NewUsername()
	causes := []struct {
		name string
		user keys.Username
		pass string
	}{
		{"wrong password", ic.Credential.Username, "wrong password"},
		{"unknown user", unknown, ic.Password.Reveal()},
		{"deleted credential", gone.Credential.Username, gone.Password.Reveal()},
		{"another cluster's credential", onB.Credential.Username, onB.Password.Reveal()},
	}
	var (
		mu       sync.Mutex
		messages = map[string]string{}
	)
	t.Run("group", func(t *testing.T) {
		for _, mech := range kMechanisms {
			for _, cause := range causes {
				t.Run(mech+"/"+cause.name, func(t *testing.T) {
					t.Parallel()
					s := kListener(t, v.e, a, kDelay, nil)
					f := kFail(t, s, mech, cause.user, cause.pass)
					checkAuthFailed(t, mech+" "+cause.name, f, kDelay, cause.pass)
					mu.Lock()
					messages[mech+"/"+cause.name] = f.err.Error()
					mu.Unlock()
					st := s.Stats()
					if st.Succeeded != 0 || st.Failed != 1 {
						t.Errorf("Stats: %d succeeded, %d failed; want 0, 1", st.Succeeded, st.Failed)
					}
				})
			}
		}
	})
	var first string
	for k, m := range messages {
		if first == "" {
			first = m
		}
		if m != first {
			t.Errorf("%s: error %q, another %q", k, m, first)
		}
	}
	t.Logf("every failure: %q", first)
	// The right credential works on the same listener.
	s := kListener(t, v.e, a, kDelay, nil)
	if _, err := kMetadata(kClient(t, s, kgo.SASL(kMechanism(auth.MechanismSCRAMSHA512, ic.Credential.Username, ic.Password.Reveal())))); err != nil {
		t.Errorf("the right credential after the failures: %v", err)
	}
}

// kRefused checks that a client without SASL is refused by s.
func kRefused(t *testing.T, what string, s *kafkatest.Server) {
	t.Helper()
	_, err := kMetadata(kClient(t, s))
	if err == nil {
		t.Errorf("%s: Metadata without SASL succeeded", what)
		return
	}
	var eof *kgo.ErrFirstReadEOF
	if !errors.As(err, &eof) {
		t.Logf("%s: refused with %v (%T)", what, err, err)
	}
}

// kAllowed checks that a client without SASL proceeds.
func kAllowed(t *testing.T, what string, s *kafkatest.Server) {
	t.Helper()
	if _, err := kMetadata(kClient(t, s)); err != nil {
		t.Errorf("%s: Metadata without SASL: %v", what, err)
	}
}

func TestKafkaSASLPolicy(t *testing.T) {
	t.Parallel()
	v := newCCEnv(t, auth.Options{})
	// Made here, not in the parallel subtests: v's helpers fail v's test.
	serverless := v.cluster("serverless", cluster.Serverless)
	onServerless := v.cred(serverless)
	byoc := v.cluster("byoc", cluster.BYOC)
	onBYOC := v.cred(byoc)
	deleted := v.cluster("deleted", cluster.BYOC)
	onDeleted := v.cred(deleted)
	unknown, _ := keys.NewClusterID()

	t.Run("serverless", func(t *testing.T) {
		t.Parallel()
		s := kListener(t, v.e, serverless, kDelay, nil)
		kRefused(t, "serverless", s)
		ic := onServerless
		if _, err := kMetadata(kClient(t, s, kgo.SASL(kMechanism(auth.MechanismPlain, ic.Credential.Username, ic.Password.Reveal())))); err != nil {
			t.Errorf("serverless with SASL: %v", err)
		}
	})
	t.Run("BYOC", func(t *testing.T) {
		t.Parallel()
		s := kListener(t, v.e, byoc, kDelay, nil)
		kAllowed(t, "BYOC by default", s)
		// The listener asks on every request: a policy change takes
		// effect with no restart.
		if _, err := v.e.SetClusterSASL(v.ctx, byoc, cluster.SASLRequired); err != nil {
			t.Fatal(err)
		}
		kRefused(t, "BYOC with SASL required", s)
		ic := onBYOC
		if _, err := kMetadata(kClient(t, s, kgo.SASL(kMechanism(auth.MechanismSCRAMSHA256, ic.Credential.Username, ic.Password.Reveal())))); err != nil {
			t.Errorf("BYOC with SASL required, with SASL: %v", err)
		}
		if _, err := v.e.SetClusterSASL(v.ctx, byoc, cluster.SASLOff); err != nil {
			t.Fatal(err)
		}
		kAllowed(t, "BYOC with SASL off again", s)
		// SASL off lets a client skip SASL, not fail it.
		checkAuthFailed(t, "BYOC with SASL off, wrong password",
			kFail(t, s, auth.MechanismPlain, ic.Credential.Username, "wrong password"), kDelay, "wrong password")
	})
	t.Run("unknown cluster", func(t *testing.T) {
		// The listener fails closed.
		t.Parallel()
		kRefused(t, "unknown cluster", kListener(t, v.e, unknown, kDelay, nil))
	})
	t.Run("deleted cluster", func(t *testing.T) {
		t.Parallel()
		s := kListener(t, v.e, deleted, kDelay, nil)
		kAllowed(t, "BYOC before its delete", s)
		if err := v.e.DeleteCluster(v.ctx, deleted); err != nil {
			t.Fatal(err)
		}
		kRefused(t, "deleted BYOC cluster", s)
		ic := onDeleted
		checkAuthFailed(t, "deleted cluster's credential",
			kFail(t, s, auth.MechanismPlain, ic.Credential.Username, ic.Password.Reveal()), kDelay, ic.Password.Reveal())
	})
}

// TestKafkaFailureDelayHoldsNoSlot: with one hashing slot, concurrent
// failing PLAIN logins each wait out the failure delay, at the same time:
// the delay is waited once the engine's check has returned its slot.
//
// Two signs, so that a loaded machine does not make the test lie:
//   - none of the failures was for want of a slot (ErrBusy, in the
//     listener's log), though a login waits for one only half the delay;
//   - all of them end sooner than n delays one after the other could
//     (n × delay from the first start), the bound taken loosely: a second
//     attempt is allowed if the first was slowed by the machine.
func TestKafkaFailureDelayHoldsNoSlot(t *testing.T) {
	t.Parallel()
	const (
		n     = 4
		delay = 300 * time.Millisecond
	)
	v := newCCEnv(t, auth.Options{MaxPasswordChecks: 1, PasswordCheckWait: delay / 2})
	cl := v.cluster("busy", cluster.Serverless)
	ic := v.cred(cl)
	var (
		mu    sync.Mutex
		fails []string // the exchanges' errors, from the listener's log
	)
	logf := func(format string, args ...any) {
		line := fmt.Sprintf(format, args...)
		if strings.Contains(line, "failed:") {
			mu.Lock()
			fails = append(fails, line)
			mu.Unlock()
		}
	}
	s := kListener(t, v.e, cl, delay, logf)

	attempt := func() (total time.Duration, ok bool) {
		clients := make([]*kgo.Client, n)
		for i := range clients {
			clients[i] = kClient(t, s, kgo.SASL(kMechanism(auth.MechanismPlain, ic.Credential.Username, fmt.Sprint("wrong password ", i))))
		}
		results := make([]kFailure, n)
		var wg sync.WaitGroup
		start := time.Now()
		for i, c := range clients {
			wg.Go(func() {
				t0 := time.Now()
				_, err := kMetadata(c)
				results[i] = kFailure{err: err, elapsed: time.Since(t0)}
			})
		}
		wg.Wait()
		total = time.Since(start)
		for i, f := range results {
			if f.err == nil {
				t.Fatalf("login %d with a wrong password succeeded", i)
			}
			checkAuthFailed(t, fmt.Sprint("login ", i), f, delay, fmt.Sprint("wrong password ", i))
		}
		t.Logf("%d failing logins at once, %v failure delay: all done in %v", n, delay, total)
		return total, total < n*delay
	}
	total, ok := attempt()
	if !ok {
		t.Logf("%v ≥ %v: trying again, in case the machine was busy", total, n*delay)
		total, ok = attempt()
	}
	if !ok {
		t.Errorf("%d concurrent failures took %v, as long as %d delays of %v one after the other", n, total, n, delay)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(fails) < n {
		t.Errorf("listener logged %d failures, want at least %d", len(fails), n)
	}
	for _, l := range fails {
		if strings.Contains(l, "busy") || !strings.Contains(l, "bad username or password") {
			t.Errorf("a failure was not a checked password: %s", l)
		}
	}
}

// TestKafkaLogsHoldNoPassword: the listener's log lines, over successful
// and failed logins of every mechanism, hold no password the clients sent.
func TestKafkaLogsHoldNoPassword(t *testing.T) {
	v := newCCEnv(t, auth.Options{})
	cl := v.cluster("logged", cluster.BYOC)
	ic := v.cred(cl)
	var (
		mu    sync.Mutex
		lines []string
	)
	s := kListener(t, v.e, cl, time.Millisecond, func(format string, args ...any) {
		mu.Lock()
		lines = append(lines, fmt.Sprintf(format, args...))
		mu.Unlock()
	})
	good, wrong := ic.Password.Reveal(), "a wrong password for the log test"
	for _, mech := range kMechanisms {
		if _, err := kMetadata(kClient(t, s, kgo.SASL(kMechanism(mech, ic.Credential.Username, good)))); err != nil {
			t.Fatalf("%s: %v", mech, err)
		}
		checkAuthFailed(t, mech, kFail(t, s, mech, ic.Credential.Username, wrong), time.Millisecond, wrong)
	}
	s.Close()
	mu.Lock()
	defer mu.Unlock()
	if len(lines) == 0 {
		t.Fatal("the listener logged nothing")
	}
	for i, l := range lines {
		if strings.Contains(l, good) || strings.Contains(l, wrong) {
			t.Errorf("log line %d holds a password", i)
		}
	}
}
