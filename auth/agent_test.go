package auth_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/xdg-go/scram"

	"github.com/streamauth/streamauth/auth"
	"github.com/streamauth/streamauth/cluster"
	"github.com/streamauth/streamauth/internal/kafkatest"
	"github.com/streamauth/streamauth/internal/record"
	"github.com/streamauth/streamauth/keys"
	"github.com/streamauth/streamauth/store"
	"github.com/streamauth/streamauth/store/faultstore"
	"github.com/streamauth/streamauth/store/memstore"
	"github.com/streamauth/streamauth/store/pebblestore"
)

// offline is a control plane with two BYOC clusters of one workspace, each
// with its agent key and credentials, a workspace-wide agent key, and a
// signing key pair.
type offline struct {
	ctx        context.Context
	cp         *auth.Engine
	cpStore    store.Store
	now        time.Time
	pub        ed25519.PublicKey
	priv       ed25519.PrivateKey
	a, b       auth.CreatedCluster
	anyAgent   auth.IssuedKey
	credA      auth.IssuedCredential
	importedA  auth.IssuedCredential
	credB      auth.IssuedCredential
	serverless auth.CreatedCluster
}

func newOffline(t *testing.T) *offline {
	t.Helper()
	o := &offline{ctx: context.Background(), now: time.Unix(1_800_000_000, 0)}
	var err error
	if o.pub, o.priv, err = ed25519.GenerateKey(rand.Reader); err != nil {
		t.Fatal(err)
	}
	s := memstore.New()
	t.Cleanup(func() { s.Close() })
	o.cpStore = s
	o.cp, err = auth.New(o.ctx, s, auth.Options{PasswordHash: auth.CheapArgon2, Now: func() time.Time { return o.now }})
	if err != nil {
		t.Fatal(err)
	}
	acct := must(o.cp.CreateAccount(o.ctx, "acme"))
	ws := must(o.cp.CreateWorkspace(o.ctx, acct.ID, "prod"))
	o.a = must(o.cp.CreateCluster(o.ctx, ws.ID, auth.ClusterSpec{Name: "a", Type: cluster.BYOC}))
	o.b = must(o.cp.CreateCluster(o.ctx, ws.ID, auth.ClusterSpec{Name: "b", Type: cluster.BYOC}))
	o.serverless = must(o.cp.CreateCluster(o.ctx, ws.ID, auth.ClusterSpec{Name: "s", Type: cluster.Serverless}))
	o.anyAgent = must(o.cp.CreateKey(o.ctx, auth.KeySpec{Name: "akn_fleet",
		Grant: auth.Grant{Workspace: ws.ID, Principal: auth.KindAgent, Resource: auth.VirtualCluster, ResourceID: auth.AnyID}}))
	o.credA = must(o.cp.CreateCredential(o.ctx, o.a.Cluster.ID, auth.CredentialSpec{Name: "orders"}))
	pw := must(keys.ImportPassword("migrated-pässword"))
	o.importedA = must(o.cp.CreateCredential(o.ctx, o.a.Cluster.ID, auth.CredentialSpec{Name: "legacy", Password: pw}))
	o.credB = must(o.cp.CreateCredential(o.ctx, o.b.Cluster.ID, auth.CredentialSpec{Name: "b app"}))
	return o
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func (o *offline) export(t *testing.T, cl keys.ClusterID, ttl time.Duration) []byte {
	t.Helper()
	b, err := o.cp.ExportSnapshot(o.ctx, cl, o.priv, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (o *offline) agent(t *testing.T, s store.Store, opts auth.AgentOptions) *auth.Agent {
	t.Helper()
	if opts.Cluster.IsZero() {
		opts.Cluster = o.a.Cluster.ID
	}
	if opts.Trusted == nil {
		opts.Trusted = []ed25519.PublicKey{o.pub}
	}
	opts.Engine.PasswordHash = auth.CheapArgon2
	opts.Engine.Now = func() time.Time { return o.now }
	ag, err := auth.NewAgent(o.ctx, s, opts)
	if err != nil {
		t.Fatal(err)
	}
	return ag
}

func plainMsg(c auth.IssuedCredential) []byte {
	return []byte("\x00" + string(c.Credential.Username) + "\x00" + c.Password.Reveal())
}

// scramLogin runs a whole SCRAM exchange against start.
func scramLogin(ctx context.Context, start func(string) (*auth.SCRAMExchange, error), mech string, user, pass string) error {
	hf := scram.SHA256
	if mech == auth.MechanismSCRAMSHA512 {
		hf = scram.SHA512
	}
	client, err := hf.NewClientUnprepped(user, pass, "")
	if err != nil {
		return err
	}
	conv := client.NewConversation()
	x, err := start(mech)
	if err != nil {
		return err
	}
	msg, err := conv.Step("")
	for err == nil && !x.Done() {
		var reply []byte
		if reply, err = x.Step(ctx, []byte(msg)); err != nil {
			return err
		}
		msg, err = conv.Step(string(reply))
	}
	if err != nil {
		return err
	}
	if !conv.Valid() {
		return errors.New("server signature not valid")
	}
	return nil
}

// TestAgentOffline: an agent applies its cluster's snapshot into its own
// pebble store and, with the control plane's store closed, checks its own
// agent key, the workspace-wide one, another cluster's (a permission
// error), and its Kafka clients' credentials with PLAIN and both SCRAMs;
// another cluster's credential fails.
func TestAgentOffline(t *testing.T) {
	o := newOffline(t)
	snap := o.export(t, o.a.Cluster.ID, time.Hour)
	s, err := pebblestore.Open(t.TempDir(), pebblestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ag := o.agent(t, s, auth.AgentOptions{})
	if err := ag.Apply(o.ctx, snap); err != nil {
		t.Fatal(err)
	}
	if ag.Version() != 1 {
		t.Fatalf("version %d, want 1", ag.Version())
	}
	// The control plane is gone from here on.
	if err := o.cpStore.Close(); err != nil {
		t.Fatal(err)
	}
	o.cp = nil

	if _, err := ag.AuthenticateAgent(o.ctx, o.a.AgentKey.Secret.Reveal()); err != nil {
		t.Errorf("own agent key: %v", err)
	}
	if _, err := ag.AuthenticateAgent(o.ctx, o.anyAgent.Secret.Reveal()); err != nil {
		t.Errorf("workspace-wide agent key: %v", err)
	}
	if _, err := ag.AuthenticateAgent(o.ctx, o.b.AgentKey.Secret.Reveal()); !errors.Is(err, auth.ErrPermissionDenied) {
		t.Errorf("another cluster's agent key: %v, want ErrPermissionDenied", err)
	}
	unknown, _ := keys.NewSecret()
	if _, err := ag.AuthenticateAgent(o.ctx, unknown.Reveal()); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("unknown key: %v, want ErrUnauthenticated", err)
	}
	if ok, err := ag.AllowUnauthenticated(o.ctx); err != nil || !ok {
		t.Errorf("AllowUnauthenticated on a BYOC cluster: %v, %v", ok, err)
	}
	for _, c := range []auth.IssuedCredential{o.credA, o.importedA} {
		if _, err := ag.AuthenticatePlain(o.ctx, plainMsg(c)); err != nil {
			t.Errorf("PLAIN of %s: %v", c.Credential.Name, err)
		}
		for _, mech := range []string{auth.MechanismSCRAMSHA256, auth.MechanismSCRAMSHA512} {
			start := func(m string) (*auth.SCRAMExchange, error) { return ag.StartSCRAM(o.ctx, m) }
			if err := scramLogin(o.ctx, start, mech, string(c.Credential.Username), c.Password.Reveal()); err != nil {
				t.Errorf("%s of %s: %v", mech, c.Credential.Name, err)
			}
		}
	}
	if _, err := ag.AuthenticatePlain(o.ctx, plainMsg(o.credB)); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("another cluster's credential: %v, want ErrUnauthenticated", err)
	}
}

// TestAgentNextSnapshot: a revocation and a policy change reach the agent
// with the next snapshot; a restart keeps the applied one.
func TestAgentNextSnapshot(t *testing.T) {
	o := newOffline(t)
	dir := t.TempDir()
	s, err := pebblestore.Open(dir, pebblestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ag := o.agent(t, s, auth.AgentOptions{})
	if err := ag.Apply(o.ctx, o.export(t, o.a.Cluster.ID, time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := o.cp.DeleteCredential(o.ctx, o.credA.Credential.ID); err != nil {
		t.Fatal(err)
	}
	if err := o.cp.DeleteKey(o.ctx, o.anyAgent.Key.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := o.cp.SetClusterSASL(o.ctx, o.a.Cluster.ID, cluster.SASLRequired); err != nil {
		t.Fatal(err)
	}
	// Remembered before the revocation arrives: it must go too.
	if _, err := ag.AuthenticatePlain(o.ctx, plainMsg(o.credA)); err != nil {
		t.Fatal(err)
	}
	v2 := o.export(t, o.a.Cluster.ID, time.Hour)
	if err := ag.Apply(o.ctx, v2); err != nil {
		t.Fatal(err)
	}
	check := func(ag *auth.Agent) {
		t.Helper()
		if ag.Version() != 2 {
			t.Errorf("version %d, want 2", ag.Version())
		}
		if _, err := ag.AuthenticatePlain(o.ctx, plainMsg(o.credA)); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Errorf("revoked credential: %v", err)
		}
		if _, err := ag.AuthenticateAgent(o.ctx, o.anyAgent.Secret.Reveal()); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Errorf("revoked workspace-wide key: %v", err)
		}
		if _, err := ag.AuthenticatePlain(o.ctx, plainMsg(o.importedA)); err != nil {
			t.Errorf("live credential: %v", err)
		}
		if ok, err := ag.AllowUnauthenticated(o.ctx); err != nil || ok {
			t.Errorf("AllowUnauthenticated after SASL required: %v, %v", ok, err)
		}
	}
	check(ag)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = pebblestore.Open(dir, pebblestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check(o.agent(t, s, auth.AgentOptions{}))
}

// TestAgentRefusals: each bad snapshot has its own error, writes nothing,
// and the agent keeps serving the snapshot it had.
func TestAgentRefusals(t *testing.T) {
	o := newOffline(t)
	s := memstore.New()
	defer s.Close()
	ag := o.agent(t, s, auth.AgentOptions{})
	v1 := o.export(t, o.a.Cluster.ID, time.Hour)
	v2 := o.export(t, o.a.Cluster.ID, time.Hour)
	if err := ag.Apply(o.ctx, v2); err != nil {
		t.Fatal(err)
	}
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	foreign, err := o.cp.ExportSnapshot(o.ctx, o.a.Cluster.ID, otherPriv, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tampered := append([]byte(nil), v2...)
	tampered[len(tampered)/2] ^= 1
	o.now = o.now.Add(-2 * time.Hour) // an export already expired at apply time
	expired := o.export(t, o.a.Cluster.ID, time.Hour)
	o.now = o.now.Add(2 * time.Hour)
	for _, tc := range []struct {
		name string
		snap []byte
		want error
	}{
		{"tampered", tampered, auth.ErrSnapshotSignature},
		{"truncated", v2[:len(v2)-1], auth.ErrSnapshotSignature},
		{"wrong signing key", foreign, auth.ErrSnapshotUntrustedKey},
		{"another cluster", o.export(t, o.b.Cluster.ID, time.Hour), auth.ErrSnapshotCluster},
		{"rollback", v1, auth.ErrSnapshotRollback},
		{"same version", v2, auth.ErrSnapshotRollback},
		{"expired", expired, auth.ErrSnapshotExpired},
		{"empty", nil, auth.ErrSnapshotMalformed},
	} {
		err := ag.Apply(o.ctx, tc.snap)
		if err == nil {
			t.Errorf("%s: applied", tc.name)
			continue
		}
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if ag.Version() != 2 {
			t.Fatalf("%s: version %d after a refused snapshot", tc.name, ag.Version())
		}
		if _, err := ag.AuthenticatePlain(o.ctx, plainMsg(o.credA)); err != nil {
			t.Fatalf("%s: the agent stopped serving its snapshot: %v", tc.name, err)
		}
	}
	// No rollback after a restart either.
	again := o.agent(t, s, auth.AgentOptions{})
	if err := again.Apply(o.ctx, v1); !errors.Is(err, auth.ErrSnapshotRollback) {
		t.Errorf("rollback after a restart: %v", err)
	}
	// A store of another cluster's snapshot is refused.
	if _, err := auth.NewAgent(o.ctx, s, auth.AgentOptions{Cluster: o.b.Cluster.ID, Trusted: []ed25519.PublicKey{o.pub}}); !errors.Is(err, auth.ErrSnapshotCluster) {
		t.Errorf("agent of cluster b over a's store: %v", err)
	}
	// A serverless cluster has no agents to export to.
	if _, err := o.cp.ExportSnapshot(o.ctx, o.serverless.Cluster.ID, o.priv, time.Hour); !errors.Is(err, auth.ErrUnsupported) {
		t.Errorf("export of a serverless cluster: %v", err)
	}
}

// TestAgentExpiry: an expired snapshot fails closed, unless within the
// configured grace period; a newer snapshot brings the agent back.
func TestAgentExpiry(t *testing.T) {
	o := newOffline(t)
	for _, grace := range []time.Duration{0, 30 * time.Minute} {
		s := memstore.New()
		ag := o.agent(t, s, auth.AgentOptions{Grace: grace})
		if _, err := ag.AuthenticatePlain(o.ctx, plainMsg(o.credA)); !errors.Is(err, auth.ErrNoSnapshot) {
			t.Errorf("before any snapshot: %v", err)
		}
		start := o.now
		if err := ag.Apply(o.ctx, o.export(t, o.a.Cluster.ID, time.Hour)); err != nil {
			t.Fatal(err)
		}
		o.now = start.Add(time.Hour + 10*time.Minute)
		_, err := ag.AuthenticatePlain(o.ctx, plainMsg(o.credA))
		if grace == 0 && !errors.Is(err, auth.ErrSnapshotExpired) {
			t.Errorf("expired, no grace: %v", err)
		}
		if grace > 0 && err != nil {
			t.Errorf("expired within grace: %v", err)
		}
		if _, err := ag.AuthenticateAgent(o.ctx, o.a.AgentKey.Secret.Reveal()); (grace == 0) != errors.Is(err, auth.ErrSnapshotExpired) {
			t.Errorf("agent key, grace %v: %v", grace, err)
		}
		o.now = start.Add(2 * time.Hour)
		if ok, err := ag.AllowUnauthenticated(o.ctx); ok || !errors.Is(err, auth.ErrSnapshotExpired) {
			t.Errorf("past grace %v: %v, %v", grace, ok, err)
		}
		if err := ag.Apply(o.ctx, o.export(t, o.a.Cluster.ID, time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := ag.AuthenticatePlain(o.ctx, plainMsg(o.credA)); err != nil {
			t.Errorf("after a fresh snapshot: %v", err)
		}
		o.now = start
		s.Close()
	}
}

// TestAgentApplyAtomic fails the agent store's Nth call during an apply,
// for every N: the apply fails and the previous snapshot stays in force in
// full, or it succeeds and the new one is in force in full.
func TestAgentApplyAtomic(t *testing.T) {
	o := newOffline(t)
	v1 := o.export(t, o.a.Cluster.ID, time.Hour)
	if err := o.cp.DeleteCredential(o.ctx, o.credA.Credential.ID); err != nil {
		t.Fatal(err)
	}
	extra := must(o.cp.CreateCredential(o.ctx, o.a.Cluster.ID, auth.CredentialSpec{Name: "late"}))
	v2 := o.export(t, o.a.Cluster.ID, time.Hour)
	for n := 0; ; n++ {
		inner := memstore.New()
		ag := o.agent(t, inner, auth.AgentOptions{})
		if err := ag.Apply(o.ctx, v1); err != nil {
			t.Fatal(err)
		}
		// The Nth call of the apply fails, counted from its first.
		base := -1
		fs2 := faultstore.New(inner, faultstore.PolicyFunc(func(call int) bool { return base >= 0 && call == base+n }))
		ag2 := o.agent(t, fs2, auth.AgentOptions{})
		base = fs2.Calls()
		err := ag2.Apply(o.ctx, v2)
		calls := fs2.Calls() - base
		base = -1 // the checks below run with no failure
		// Judge from a fresh agent over the inner store: what is durable.
		judge := o.agent(t, inner, auth.AgentOptions{})
		_, errOld := judge.AuthenticatePlain(o.ctx, plainMsg(o.credA))
		_, errNew := judge.AuthenticatePlain(o.ctx, plainMsg(extra))
		switch judge.Version() {
		case 1:
			if err == nil || errOld != nil || errNew == nil {
				t.Fatalf("fail at %d: version 1 with apply error %v, old %v, new %v", n, err, errOld, errNew)
			}
		case 2:
			if err != nil || errOld == nil || errNew != nil {
				t.Fatalf("fail at %d: version 2 with apply error %v, old %v, new %v", n, err, errOld, errNew)
			}
		default:
			t.Fatalf("fail at %d: version %d", n, judge.Version())
		}
		// The agent that applied answers as the store holds, not as the
		// snapshot it tried.
		if ag2.Version() != judge.Version() {
			t.Fatalf("fail at %d: the applying agent reports version %d, its store holds %d", n, ag2.Version(), judge.Version())
		}
		if _, errNew2 := ag2.AuthenticatePlain(o.ctx, plainMsg(extra)); (errNew2 == nil) != (errNew == nil) {
			t.Fatalf("fail at %d: the applying agent and its store disagree on the new credential: %v, %v", n, errNew2, errNew)
		}
		inner.Close()
		if calls <= n {
			if err != nil {
				t.Fatalf("apply failed with no injected failure: %v", err)
			}
			t.Logf("swept %d failure points", n)
			return
		}
	}
}

// TestAgentKafkaOffline is the whole offline path: the control plane
// exports cluster a's snapshot; an agent applies it into its own pebble
// store in another directory; the control plane's store is closed; a real
// Kafka client (franz-go) authenticates to the test listener backed by the
// agent with PLAIN and both SCRAMs. Another cluster's credential fails
// with SASL_AUTHENTICATION_FAILED like any bad login.
func TestAgentKafkaOffline(t *testing.T) {
	o := newOffline(t)
	snap := o.export(t, o.a.Cluster.ID, time.Hour)
	s, err := pebblestore.Open(t.TempDir(), pebblestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ag := o.agent(t, s, auth.AgentOptions{})
	if err := ag.Apply(o.ctx, snap); err != nil {
		t.Fatal(err)
	}
	// The control plane is gone from here on.
	if err := o.cpStore.Close(); err != nil {
		t.Fatal(err)
	}
	o.cp = nil
	srv, err := kafkatest.Start(kafkatest.Config{
		Authenticator: kafkatest.ForAgent(ag),
		FailureDelay:  kDelay,
		ClusterID:     ag.Cluster().String(),
		Logf:          t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, mech := range kMechanisms {
		for _, c := range []auth.IssuedCredential{o.credA, o.importedA} {
			client := kClient(t, srv, kgo.SASL(kMechanism(mech, c.Credential.Username, c.Password.Reveal())))
			if _, err := kMetadata(client); err != nil {
				t.Errorf("%s as %s: %v", mech, c.Credential.Name, err)
			}
		}
		f := kFail(t, srv, mech, o.credB.Credential.Username, o.credB.Password.Reveal())
		checkAuthFailed(t, mech+" with another cluster's credential", f, kDelay, o.credB.Password.Reveal())
	}
}

// TestAgentApplyKeepsWhatDidNotChange: an apply writes only what changed,
// so the keys and logins it did not touch stay cached and remembered.
func TestAgentApplyKeepsWhatDidNotChange(t *testing.T) {
	o := newOffline(t)
	s := &auth.CountingStore{Store: memstore.New()}
	defer s.Close()
	ag := o.agent(t, s, auth.AgentOptions{})
	if err := ag.Apply(o.ctx, o.export(t, o.a.Cluster.ID, time.Hour)); err != nil {
		t.Fatal(err)
	}
	agentKey := o.a.AgentKey.Secret.Reveal()
	if _, err := ag.AuthenticateAgent(o.ctx, agentKey); err != nil {
		t.Fatal(err)
	}
	if _, err := ag.AuthenticatePlain(o.ctx, plainMsg(o.credA)); err != nil {
		t.Fatal(err)
	}
	late := must(o.cp.CreateCredential(o.ctx, o.a.Cluster.ID, auth.CredentialSpec{Name: "late"}))
	if err := ag.Apply(o.ctx, o.export(t, o.a.Cluster.ID, time.Hour)); err != nil {
		t.Fatal(err)
	}
	before := s.Gets.Load()
	if _, err := ag.AuthenticateAgent(o.ctx, agentKey); err != nil {
		t.Fatal(err)
	}
	// No read: the key is cached, and the cluster's workspace and type
	// are the snapshot's, in memory.
	if n := s.Gets.Load() - before; n != 0 {
		t.Errorf("the unchanged agent key took %d store reads after the apply, want 0", n)
	}
	before = s.Gets.Load()
	if _, err := ag.AuthenticatePlain(o.ctx, plainMsg(o.credA)); err != nil {
		t.Fatal(err)
	}
	if n := s.Gets.Load() - before; n != 0 {
		t.Errorf("the unchanged credential's remembered login took %d store reads, want 0", n)
	}
	if _, err := ag.AuthenticatePlain(o.ctx, plainMsg(late)); err != nil {
		t.Errorf("the new credential: %v", err)
	}
}

// TestAgentRollbackAcrossAgents: the version in the store decides, not an
// agent's memory: an agent opened over a store that another applied
// version 2 to cannot apply version 1. And the last agent opened over a
// store owns it: the earlier one applies nothing more (ErrAgentReplaced)
// but still answers from what it applied.
func TestAgentRollbackAcrossAgents(t *testing.T) {
	o := newOffline(t)
	v1 := o.export(t, o.a.Cluster.ID, time.Hour)
	v2 := o.export(t, o.a.Cluster.ID, time.Hour)
	v3 := o.export(t, o.a.Cluster.ID, time.Hour)
	s := memstore.New()
	defer s.Close()
	first := o.agent(t, s, auth.AgentOptions{})
	if err := first.Apply(o.ctx, v2); err != nil {
		t.Fatal(err)
	}
	second := o.agent(t, s, auth.AgentOptions{})
	if v := second.Version(); v != 2 {
		t.Fatalf("an agent opened over a store at version 2 reports version %d", v)
	}
	if err := second.Apply(o.ctx, v1); !errors.Is(err, auth.ErrSnapshotRollback) {
		t.Fatalf("applying version 1 over a store at version 2: %v, want ErrSnapshotRollback", err)
	}
	if err := first.Apply(o.ctx, v3); !errors.Is(err, auth.ErrAgentReplaced) {
		t.Fatalf("an apply by the agent opened first: %v, want ErrAgentReplaced", err)
	}
	if _, err := first.AuthenticatePlain(o.ctx, plainMsg(o.credA)); err != nil {
		t.Fatalf("the replaced agent no longer answers: %v", err)
	}
	if err := second.Apply(o.ctx, v3); err != nil {
		t.Fatal(err)
	}
	if v := o.agent(t, s, auth.AgentOptions{}).Version(); v != 3 {
		t.Fatalf("store at version %d, want 3", v)
	}
}

// TestAgentFirstApplyInterrupted fails every call, in turn, of a first
// apply large enough to go in several commits. Until its last commit no
// snapshot is in force; and whatever the interrupted apply left behind, a
// later first apply (of a snapshot that revoked some of those records)
// puts exactly the later snapshot in force.
func TestAgentFirstApplyInterrupted(t *testing.T) {
	o := newOffline(t)
	var fleet []auth.IssuedKey
	for range 5000 { // more records than one commit of a first apply takes
		fleet = append(fleet, must(o.cp.CreateAgentKey(o.ctx, o.a.Cluster.Workspace, o.a.Cluster.ID, "akn_fleet", time.Time{})))
	}
	big := o.export(t, o.a.Cluster.ID, time.Hour)
	revoked := map[int]bool{}
	for i := 0; i < len(fleet); i += 7 {
		if err := o.cp.DeleteKey(o.ctx, fleet[i].Key.ID); err != nil {
			t.Fatal(err)
		}
		revoked[i] = true
	}
	if err := o.cp.DeleteCredential(o.ctx, o.credA.Credential.ID); err != nil {
		t.Fatal(err)
	}
	later := o.export(t, o.a.Cluster.ID, time.Hour)
	for n := 0; ; n++ {
		inner := memstore.New()
		base := -1
		fs := faultstore.New(inner, faultstore.PolicyFunc(func(call int) bool { return base >= 0 && call == base+n }))
		ag := o.agent(t, fs, auth.AgentOptions{})
		base = fs.Calls()
		err := ag.Apply(o.ctx, big)
		calls := fs.Calls() - base
		base = -1
		if err != nil {
			if v := o.agent(t, inner, auth.AgentOptions{}).Version(); v != 0 {
				t.Fatalf("fail at %d: an interrupted first apply left version %d in force", n, v)
			}
			if _, err := ag.AuthenticatePlain(o.ctx, plainMsg(o.credA)); !errors.Is(err, auth.ErrNoSnapshot) {
				t.Fatalf("fail at %d: the agent answers after an interrupted first apply: %v", n, err)
			}
		}
		// A later snapshot, applied over whatever is left.
		fresh := o.agent(t, inner, auth.AgentOptions{})
		if err := fresh.Apply(o.ctx, later); err != nil {
			t.Fatalf("fail at %d: the later snapshot: %v", n, err)
		}
		for i, k := range fleet {
			_, err := fresh.AuthenticateAgent(o.ctx, k.Secret.Reveal())
			if revoked[i] != errors.Is(err, auth.ErrUnauthenticated) || !revoked[i] && err != nil {
				t.Fatalf("fail at %d: key %d (revoked %v): %v", n, i, revoked[i], err)
			}
		}
		if _, err := fresh.AuthenticatePlain(o.ctx, plainMsg(o.credA)); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Fatalf("fail at %d: revoked credential: %v", n, err)
		}
		inner.Close()
		if calls <= n {
			if err != nil {
				t.Fatalf("first apply failed with no injected failure: %v", err)
			}
			t.Logf("swept %d failure points", n)
			return
		}
	}
}

// TestAgentDamagedStagedLeftover leaves what an interrupted apply staged,
// damaged (a value that is no staged record), in a store with no apply in
// force: the next agent starts all the same, throws it away, answers from
// the snapshot in force, and applies the next one.
func TestAgentDamagedStagedLeftover(t *testing.T) {
	o := newOffline(t)
	s := memstore.New()
	t.Cleanup(func() { s.Close() })
	ag := o.agent(t, s, auth.AgentOptions{})
	if err := ag.Apply(o.ctx, o.export(t, o.a.Cluster.ID, time.Hour)); err != nil {
		t.Fatal(err)
	}
	var b store.Batch
	b.Put(record.StagedKey(9, []byte("k")), []byte("not a staged record"))
	if err := s.Commit(o.ctx, &b); err != nil {
		t.Fatal(err)
	}
	again := o.agent(t, s, auth.AgentOptions{})
	err := s.Scan(o.ctx, record.StagedPrefix(), func(k, _ []byte) error {
		return fmt.Errorf("staged key %x left", k)
	})
	if err != nil {
		t.Fatal(err)
	}
	if again.Version() != ag.Version() {
		t.Fatalf("version %d after the restart, want %d", again.Version(), ag.Version())
	}
	if _, err := again.AuthenticatePlain(o.ctx, plainMsg(o.credA)); err != nil {
		t.Fatalf("a credential of the snapshot: %v", err)
	}
	o.now = o.now.Add(time.Second) // a later export, a later version
	if err := again.Apply(o.ctx, o.export(t, o.a.Cluster.ID, time.Hour)); err != nil {
		t.Fatalf("the next snapshot: %v", err)
	}
}
