package bench

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xdg-go/scram"

	"github.com/streamauth/streamauth/auth"
	"github.com/streamauth/streamauth/cluster"
	"github.com/streamauth/streamauth/store"
	"github.com/streamauth/streamauth/store/memstore"
)

// saslFixture is an engine over a memory store with one BYOC cluster and
// one credential.
type saslFixture struct {
	s          store.Store
	e          *auth.Engine
	cluster    auth.Cluster
	cred       auth.Credential
	user, pass string
	agentKey   string // the secret of the cluster's agent key
}

// saslSide is where a login is checked: on the control plane's engine, or
// on an offline agent that applied the cluster's snapshot.
type saslSide struct {
	name  string
	agent func(ctx context.Context, secret string) error
	plain func(ctx context.Context, msg []byte) error
	scram func(ctx context.Context, mech string) (*auth.SCRAMExchange, error)
}

// sides returns the control plane and an agent (over a memory store, with
// the engine options opts) of f's cluster.
func (f *saslFixture) sides(b *testing.B, opts auth.Options) []saslSide {
	b.Helper()
	ctx := context.Background()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	snap, err := f.e.ExportSnapshot(ctx, f.cluster.ID, priv, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	s := memstore.New()
	b.Cleanup(func() { s.Close() })
	ag, err := auth.NewAgent(ctx, s, auth.AgentOptions{Cluster: f.cluster.ID, Trusted: []ed25519.PublicKey{pub}, Engine: opts})
	if err != nil {
		b.Fatal(err)
	}
	if err := ag.Apply(ctx, snap); err != nil {
		b.Fatal(err)
	}
	return []saslSide{
		{
			name: "cp",
			agent: func(ctx context.Context, secret string) error {
				_, err := f.e.AuthenticateAgent(ctx, secret, f.cluster.ID)
				return err
			},
			plain: func(ctx context.Context, msg []byte) error {
				_, err := f.e.AuthenticatePlain(ctx, f.cluster.ID, msg)
				return err
			},
			scram: func(ctx context.Context, mech string) (*auth.SCRAMExchange, error) {
				return f.e.StartSCRAM(ctx, f.cluster.ID, mech)
			},
		},
		{
			name: "agent",
			agent: func(ctx context.Context, secret string) error {
				_, err := ag.AuthenticateAgent(ctx, secret)
				return err
			},
			plain: func(ctx context.Context, msg []byte) error {
				_, err := ag.AuthenticatePlain(ctx, msg)
				return err
			},
			scram: ag.StartSCRAM,
		},
	}
}

func newSASLFixture(b *testing.B, opts auth.Options) *saslFixture {
	b.Helper()
	ctx := context.Background()
	s := memstore.New()
	b.Cleanup(func() { s.Close() })
	e, err := auth.New(ctx, s, opts)
	if err != nil {
		b.Fatal(err)
	}
	acct, err := e.CreateAccount(ctx, "bench account")
	if err != nil {
		b.Fatal(err)
	}
	ws, err := e.CreateWorkspace(ctx, acct.ID, "bench workspace")
	if err != nil {
		b.Fatal(err)
	}
	c, err := e.CreateCluster(ctx, ws.ID, auth.ClusterSpec{Name: "bench", Type: cluster.BYOC})
	if err != nil {
		b.Fatal(err)
	}
	ic, err := e.CreateCredential(ctx, c.Cluster.ID, auth.CredentialSpec{Name: "bench client"})
	if err != nil {
		b.Fatal(err)
	}
	return &saslFixture{s: s, e: e, cluster: c.Cluster, cred: ic.Credential,
		user: string(ic.Credential.Username), pass: ic.Password.Reveal(), agentKey: c.AgentKey.Secret.Reveal()}
}

func (f *saslFixture) plainMessage() []byte {
	return []byte("\x00" + f.user + "\x00" + f.pass)
}

// BenchmarkPlain measures AuthenticatePlain with the default options:
// remembered is a client logging in again with the password that just
// succeeded (a keyed hash and a map lookup, no store read, no argon2id);
// first is a check with remembering off, which costs one argon2id run of
// auth.DefaultArgon2 (1 pass over 64 MiB, one lane) and two store reads.
func BenchmarkPlain(b *testing.B) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		opts auth.Options
	}{
		{"remembered", auth.Options{}},
		{"first", auth.Options{RememberPlain: -1}},
	} {
		f := newSASLFixture(b, tc.opts)
		for _, side := range f.sides(b, tc.opts) {
			b.Run(side.name+"/"+tc.name, func(b *testing.B) {
				msg := f.plainMessage()
				if err := side.plain(ctx, msg); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					if err := side.plain(ctx, msg); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkSCRAM measures the server side of one whole SCRAM exchange
// through the engine: StartSCRAM, the credential lookup, client-first to
// server-first, client-final to server-final (the proof check) and the
// final check that the credential still exists. The client is
// github.com/xdg-go/scram's, which caches the salted password after the
// first exchange, so each iteration also pays the client's share (an
// HMAC and a few encodings): the figure is an upper bound on the server's.
func BenchmarkSCRAM(b *testing.B) {
	ctx := context.Background()
	f := newSASLFixture(b, auth.Options{})
	for _, tc := range []struct {
		mech string
		hash scram.HashGeneratorFcn
	}{
		{auth.MechanismSCRAMSHA256, scram.SHA256},
		{auth.MechanismSCRAMSHA512, scram.SHA512},
	} {
		b.Run(tc.mech, func(b *testing.B) {
			client, err := tc.hash.NewClientUnprepped(f.user, f.pass, "")
			if err != nil {
				b.Fatal(err)
			}
			exchange := func() {
				conv := client.NewConversation()
				x, err := f.e.StartSCRAM(ctx, f.cluster.ID, tc.mech)
				if err != nil {
					b.Fatal(err)
				}
				msg, err := conv.Step("")
				for err == nil && !x.Done() {
					var reply []byte
					if reply, err = x.Step(ctx, []byte(msg)); err != nil {
						break
					}
					msg, err = conv.Step(string(reply))
				}
				if err != nil || !x.Done() || !conv.Valid() {
					b.Fatalf("exchange failed: %v", err)
				}
			}
			exchange() // the client derives and caches its keys
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				exchange()
			}
		})
	}
}

// BenchmarkPlainStorm sends 500 concurrent first-time PLAIN logins (wrong
// passwords, so that none is remembered) at an engine with the default
// argon2id parameters and concurrency bound, and reports the peak of the
// memory the Go runtime holds from the OS (runtime/metrics: total minus
// released) above what it held before, next to the bound the engine
// promises: MaxPasswordChecks × the argon2id memory + 64 MiB. Logins that
// find every slot taken for PasswordCheckWait fail with ErrBusy; the rest
// run, two at a time on two cores.
func BenchmarkPlainStorm(b *testing.B) {
	ctx := context.Background()
	f := newSASLFixture(b, auth.Options{})
	msg := []byte("\x00" + f.user + "\x00wrong password")
	const attempts = 500
	bound := float64(runtime.GOMAXPROCS(0))*float64(auth.DefaultArgon2.MemoryKiB)*1024 + 64<<20
	var peak, busy float64
	for range b.N {
		runtime.GC()
		base := heldBytes()
		stop := make(chan struct{})
		sampled := make(chan float64)
		go func() {
			var max float64
			t := time.NewTicker(time.Millisecond)
			defer t.Stop()
			for {
				if v := heldBytes() - base; v > max {
					max = v
				}
				select {
				case <-stop:
					sampled <- max
					return
				case <-t.C:
				}
			}
		}()
		var wg sync.WaitGroup
		var nbusy atomic.Int64
		for range attempts {
			wg.Go(func() {
				if _, err := f.e.AuthenticatePlain(ctx, f.cluster.ID, msg); errors.Is(err, auth.ErrBusy) {
					nbusy.Add(1)
				}
			})
		}
		wg.Wait()
		close(stop)
		peak = max(peak, <-sampled)
		busy += float64(nbusy.Load())
	}
	b.ReportMetric(peak/(1<<20), "peak-MiB")
	b.ReportMetric(bound/(1<<20), "bound-MiB")
	b.ReportMetric(busy/float64(b.N), "busy/op")
}

// heldBytes is the memory the Go runtime holds from the OS.
func heldBytes() float64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	return float64(s[0].Value.Uint64()) - float64(s[1].Value.Uint64())
}

// BenchmarkSCRAMServer is BenchmarkSCRAM with the least client work
// possible: the client's keys are derived once, outside the timed loop, and
// each iteration builds its two messages by hand, with one HMAC for the
// proof. ns/op still includes that client work; server-ns/op leaves it out:
// the time of the iterations less the time spent building the client's
// messages (timed with time.Now, whose own cost, about 20 ns per call,
// counts half to the server), per exchange. server-ns/op is the server side
// of a whole exchange, credential lookups included.
func BenchmarkSCRAMServer(b *testing.B) {
	f := newSASLFixture(b, auth.Options{})
	for _, side := range f.sides(b, auth.Options{}) {
		benchSCRAMServer(b, f, side, auth.MechanismSCRAMSHA256, sha256.New)
		benchSCRAMServer(b, f, side, auth.MechanismSCRAMSHA512, sha512.New)
	}
}

func benchSCRAMServer(b *testing.B, f *saslFixture, side saslSide, mech string, newHash func() hash.Hash) {
	ctx := context.Background()
	b.Run(side.name+"/"+mech, func(b *testing.B) {
		c := newSCRAMClient(f.user, f.pass, newHash)
		var client time.Duration // spent in the client's code
		exchange := func() {
			x, err := side.scram(ctx, mech)
			if err != nil {
				b.Fatal(err)
			}
			t0 := time.Now()
			first := c.first()
			client += time.Since(t0)
			serverFirst, err := x.Step(ctx, []byte(first))
			if err != nil {
				b.Fatal(err)
			}
			t0 = time.Now()
			final, err := c.final(string(serverFirst))
			client += time.Since(t0)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := x.Step(ctx, []byte(final)); err != nil || !x.Done() {
				b.Fatalf("exchange failed: %v", err)
			}
		}
		exchange()
		b.ReportAllocs()
		b.ResetTimer()
		client = 0
		for range b.N {
			exchange()
		}
		b.ReportMetric(float64(b.Elapsed()-client)/float64(b.N), "server-ns/op")
	})
}

// scramClient is the hand-built SCRAM client of BenchmarkSCRAMServer and
// BenchmarkPeerSCRAM: it derives its keys from the password once, at its
// first exchange, and then builds each exchange's two messages by hand,
// with one HMAC for the proof. It does not check the server's signature.
type scramClient struct {
	newHash              func() hash.Hash
	pass                 string
	bare                 string // the client-first-message-bare, the same every time
	clientKey, storedKey []byte
}

func newSCRAMClient(user, pass string, newHash func() hash.Hash) *scramClient {
	const clientFirstBare = "n=%s,r=fyko+d2lbbFgONRv9qkxdawL"
	return &scramClient{newHash: newHash, pass: pass, bare: fmt.Sprintf(clientFirstBare, user)}
}

// first returns the client-first message.
func (c *scramClient) first() string { return "n,," + c.bare }

// final returns the client-final message that answers serverFirst.
func (c *scramClient) final(serverFirst string) (string, error) {
	fields := strings.Split(serverFirst, ",")
	if len(fields) < 3 {
		return "", errors.New("malformed server-first message")
	}
	if c.clientKey == nil { // derive once: PBKDF2 is the client's cost
		salt, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(fields[1], "s="))
		iter, _ := strconv.Atoi(strings.TrimPrefix(fields[2], "i="))
		salted, err := pbkdf2.Key(c.newHash, c.pass, salt, iter, c.newHash().Size())
		if err != nil {
			return "", err
		}
		c.clientKey = hmacOf(c.newHash, salted, []byte("Client Key"))
		h := c.newHash()
		h.Write(c.clientKey)
		c.storedKey = h.Sum(nil)
	}
	withoutProof := "c=biws," + fields[0]
	sig := hmacOf(c.newHash, c.storedKey, []byte(c.bare+","+serverFirst+","+withoutProof))
	for i := range sig {
		sig[i] ^= c.clientKey[i]
	}
	return withoutProof + ",p=" + base64.StdEncoding.EncodeToString(sig), nil
}

func hmacOf(h func() hash.Hash, key, msg []byte) []byte {
	m := hmac.New(h, key)
	m.Write(msg)
	return m.Sum(nil)
}

// BenchmarkAgentKey measures an agent key's check for its cluster
// (authenticate, then authorize for the cluster) on the control plane and
// on an offline agent, both over a memory store.
func BenchmarkAgentKey(b *testing.B) {
	ctx := context.Background()
	f := newSASLFixture(b, auth.Options{})
	for _, side := range f.sides(b, auth.Options{}) {
		b.Run(side.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := side.agent(ctx, f.agentKey); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
