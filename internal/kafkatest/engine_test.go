package kafkatest

import (
	"errors"
	"slices"
	"strings"
	"testing"

	xdg "github.com/xdg-go/scram"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streamauth/streamauth/auth"
	"github.com/streamauth/streamauth/cluster"
	"github.com/streamauth/streamauth/keys"
	"github.com/streamauth/streamauth/store/memstore"
)

// engineFixture is an engine over a memstore with a BYOC cluster and one
// credential of it.
type engineFixture struct {
	st   *memstore.Store
	e    *auth.Engine
	ws   keys.WorkspaceID
	cl   keys.ClusterID
	cred auth.IssuedCredential
}

func newEngineFixture(t *testing.T) *engineFixture {
	t.Helper()
	ctx := t.Context()
	f := &engineFixture{st: memstore.New()}
	t.Cleanup(func() { f.st.Close() })
	var err error
	f.e, err = auth.New(ctx, f.st, auth.Options{PasswordHash: auth.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	a, err := f.e.CreateAccount(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	w, err := f.e.CreateWorkspace(ctx, a.ID, "w")
	if err != nil {
		t.Fatal(err)
	}
	f.ws = w.ID
	c, err := f.e.CreateCluster(ctx, w.ID, auth.ClusterSpec{Name: "c", Type: cluster.BYOC})
	if err != nil {
		t.Fatal(err)
	}
	f.cl = c.Cluster.ID
	if f.cred, err = f.e.CreateCredential(ctx, f.cl, auth.CredentialSpec{Name: "client"}); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestForClusterMechanisms(t *testing.T) {
	f := newEngineFixture(t)
	a := ForCluster(f.e, f.cl)
	got := a.Mechanisms()
	if !slices.Equal(got, auth.SASLMechanisms()) {
		t.Errorf("Mechanisms() = %q, want auth.SASLMechanisms() %q", got, auth.SASLMechanisms())
	}
	for _, m := range got {
		if !slices.Contains(allMechanisms, m) {
			t.Errorf("mechanism %q is not one a Kafka client names", m)
		}
	}
}

func TestForClusterAllowUnauthenticated(t *testing.T) {
	f := newEngineFixture(t)
	ctx := t.Context()
	a := ForCluster(f.e, f.cl)
	if !a.AllowUnauthenticated() {
		t.Error("BYOC by default: not allowed")
	}
	if _, err := f.e.SetClusterSASL(ctx, f.cl, cluster.SASLRequired); err != nil {
		t.Fatal(err)
	}
	if a.AllowUnauthenticated() {
		t.Error("BYOC with SASL required: allowed")
	}
	sl, err := f.e.CreateCluster(ctx, f.ws, auth.ClusterSpec{Name: "s", Type: cluster.Serverless})
	if err != nil {
		t.Fatal(err)
	}
	if ForCluster(f.e, sl.Cluster.ID).AllowUnauthenticated() {
		t.Error("serverless: allowed")
	}
	// Every error fails closed.
	unknown, _ := keys.NewClusterID()
	if ForCluster(f.e, unknown).AllowUnauthenticated() {
		t.Error("unknown cluster: allowed")
	}
	if ForCluster(f.e, keys.ClusterID{}).AllowUnauthenticated() {
		t.Error("zero cluster: allowed")
	}
	off, err := f.e.CreateCluster(ctx, f.ws, auth.ClusterSpec{Name: "off", Type: cluster.BYOC})
	if err != nil {
		t.Fatal(err)
	}
	b := ForCluster(f.e, off.Cluster.ID)
	if !b.AllowUnauthenticated() {
		t.Fatal("BYOC by default: not allowed")
	}
	f.st.Close()
	if b.AllowUnauthenticated() {
		t.Error("closed store: allowed")
	}
}

func TestForClusterPlain(t *testing.T) {
	f := newEngineFixture(t)
	ctx := t.Context()
	a := ForCluster(f.e, f.cl)
	user, pass := string(f.cred.Credential.Username), f.cred.Password.Reveal()

	x, err := a.Start(ctx, MechanismPlain)
	if err != nil {
		t.Fatal(err)
	}
	r, err := x.Step(ctx, []byte("\x00"+user+"\x00"+pass))
	if err != nil {
		t.Fatalf("Step: %v", err)
	}
	if !r.Done || r.Principal != user || len(r.Msg) != 0 {
		t.Errorf("Reply %+v, want Done as %s with no message", r, user)
	}
	if _, err := x.Step(ctx, []byte("\x00"+user+"\x00"+pass)); err == nil {
		t.Error("a second PLAIN step succeeded")
	}

	x, err = a.Start(ctx, MechanismPlain)
	if err != nil {
		t.Fatal(err)
	}
	r, err = x.Step(ctx, []byte("\x00"+user+"\x00wrong password"))
	if !errors.Is(err, auth.ErrUnauthenticated) || r.Done {
		t.Errorf("wrong password: %+v, %v; want ErrUnauthenticated", r, err)
	}
}

func TestForClusterSCRAM(t *testing.T) {
	f := newEngineFixture(t)
	ctx := t.Context()
	a := ForCluster(f.e, f.cl)
	user, pass := string(f.cred.Credential.Username), f.cred.Password.Reveal()
	for mech, h := range map[string]xdg.HashGeneratorFcn{MechanismSCRAMSHA256: xdg.SHA256, MechanismSCRAMSHA512: xdg.SHA512} {
		for _, tc := range []struct {
			name, pass string
			ok         bool
		}{{"right password", pass, true}, {"wrong password", "wrong password", false}} {
			x, err := a.Start(ctx, mech)
			if err != nil {
				t.Fatal(err)
			}
			c, err := h.NewClientUnprepped(user, tc.pass, "")
			if err != nil {
				t.Fatal(err)
			}
			cc := c.NewConversation()
			first, _ := cc.Step("")
			r1, err := x.Step(ctx, []byte(first))
			if err != nil || r1.Done || len(r1.Msg) == 0 || r1.Principal != "" {
				t.Fatalf("%s %s: first step %+v, %v", mech, tc.name, r1, err)
			}
			final, err := cc.Step(string(r1.Msg))
			if err != nil {
				t.Fatal(err)
			}
			r2, err := x.Step(ctx, []byte(final))
			if !tc.ok {
				if !errors.Is(err, auth.ErrUnauthenticated) || r2.Done {
					t.Errorf("%s %s: final step %+v, %v; want ErrUnauthenticated", mech, tc.name, r2, err)
				}
				if err != nil && strings.Contains(err.Error(), tc.pass) {
					t.Errorf("%s %s: the error holds the password", mech, tc.name)
				}
				continue
			}
			if err != nil || !r2.Done || r2.Principal != user {
				t.Fatalf("%s %s: final step %+v, %v; want Done as %s", mech, tc.name, r2, err, user)
			}
			if _, err := cc.Step(string(r2.Msg)); err != nil || !cc.Valid() {
				t.Errorf("%s: client refused the server's signature: %v", mech, err)
			}
		}
	}
}

func TestForClusterUnknownMechanism(t *testing.T) {
	f := newEngineFixture(t)
	for _, mech := range []string{"GSSAPI", "SCRAM-SHA-1", "OAUTHBEARER", ""} {
		x, err := ForCluster(f.e, f.cl).Start(t.Context(), mech)
		if !errors.Is(err, auth.ErrInvalidArgument) || x != nil {
			t.Errorf("Start(%q) = %v, %v; want no exchange and ErrInvalidArgument", mech, x, err)
		}
	}
}

// TestForClusterKgo runs the adapter through the listener with kgo, using
// this package's client helpers and its goroutine-leak check; the full
// suite is auth's kafka_test.go.
func TestForClusterKgo(t *testing.T) {
	f := newEngineFixture(t)
	if _, err := f.e.SetClusterSASL(t.Context(), f.cl, cluster.SASLRequired); err != nil {
		t.Fatal(err)
	}
	user, pass := string(f.cred.Credential.Username), f.cred.Password.Reveal()
	for _, mech := range allMechanisms {
		t.Run(mech, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, Config{Authenticator: ForCluster(f.e, f.cl), FailureDelay: testDelay, ClusterID: "engine"})
			resp, err := metadata(t, newClient(t, s, kgo.SASL(mechanism(mech, user, pass))))
			if err != nil {
				t.Fatalf("Metadata: %v", err)
			}
			checkMetadata(t, s, resp, "engine")
			fl := failOnce(t, s, mech, user, "wrong password")
			if !errors.Is(fl.err, kerr.SaslAuthenticationFailed) || fl.elapsed < testDelay {
				t.Errorf("wrong password: %v after %v, want SASL_AUTHENTICATION_FAILED after %v", fl.err, fl.elapsed, testDelay)
			}
			if _, err := metadata(t, newClient(t, s)); err == nil {
				t.Error("Metadata without SASL on a cluster that requires it succeeded")
			}
			st := s.Stats()
			if st.Succeeded < 1 || st.Failed != 1 || st.Conns[0].Principal != user {
				t.Errorf("Stats: %+v", st)
			}
		})
	}
}
