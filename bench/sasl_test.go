package bench

import (
	"context"
	"errors"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xdg-go/scram"

	"github.com/streamauth/streamauth/auth"
	"github.com/streamauth/streamauth/cluster"
	"github.com/streamauth/streamauth/store/memstore"
)

// saslFixture is an engine over a memory store with one serverless cluster
// and one credential.
type saslFixture struct {
	e          *auth.Engine
	cluster    auth.Cluster
	user, pass string
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
	c, err := e.CreateCluster(ctx, ws.ID, auth.ClusterSpec{Name: "bench", Type: cluster.Serverless})
	if err != nil {
		b.Fatal(err)
	}
	ic, err := e.CreateCredential(ctx, c.Cluster.ID, auth.CredentialSpec{Name: "bench client"})
	if err != nil {
		b.Fatal(err)
	}
	return &saslFixture{e: e, cluster: c.Cluster, user: string(ic.Credential.Username), pass: ic.Password.Reveal()}
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
		b.Run(tc.name, func(b *testing.B) {
			f := newSASLFixture(b, tc.opts)
			msg := f.plainMessage()
			if _, err := f.e.AuthenticatePlain(ctx, f.cluster.ID, msg); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := f.e.AuthenticatePlain(ctx, f.cluster.ID, msg); err != nil {
					b.Fatal(err)
				}
			}
		})
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
