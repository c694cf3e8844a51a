package bench

import (
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
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

// BenchmarkSCRAMServer is BenchmarkSCRAM with the least client work
// possible: the client's keys are derived once, outside the timed loop, and
// each iteration builds its two messages by hand, with one HMAC for the
// proof. What remains on top of the server's work is that HMAC, two base64
// encodings and a few string joins.
func BenchmarkSCRAMServer(b *testing.B) {
	ctx := context.Background()
	f := newSASLFixture(b, auth.Options{})
	for _, tc := range []struct {
		mech string
		hash func() hash.Hash
	}{
		{auth.MechanismSCRAMSHA256, sha256.New},
		{auth.MechanismSCRAMSHA512, sha512.New},
	} {
		b.Run(tc.mech, func(b *testing.B) {
			const clientFirstBare = "n=%s,r=fyko+d2lbbFgONRv9qkxdawL"
			bare := fmt.Sprintf(clientFirstBare, f.user)
			var clientKey, storedKey []byte
			exchange := func() {
				x, err := f.e.StartSCRAM(ctx, f.cluster.ID, tc.mech)
				if err != nil {
					b.Fatal(err)
				}
				serverFirst, err := x.Step(ctx, []byte("n,,"+bare))
				if err != nil {
					b.Fatal(err)
				}
				fields := strings.Split(string(serverFirst), ",")
				if clientKey == nil { // derive once: PBKDF2 is the client's cost
					salt, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(fields[1], "s="))
					iter, _ := strconv.Atoi(strings.TrimPrefix(fields[2], "i="))
					salted, err := pbkdf2.Key(tc.hash, f.pass, salt, iter, tc.hash().Size())
					if err != nil {
						b.Fatal(err)
					}
					clientKey = hmacOf(tc.hash, salted, []byte("Client Key"))
					h := tc.hash()
					h.Write(clientKey)
					storedKey = h.Sum(nil)
				}
				withoutProof := "c=biws," + fields[0]
				sig := hmacOf(tc.hash, storedKey, []byte(bare+","+string(serverFirst)+","+withoutProof))
				for i := range sig {
					sig[i] ^= clientKey[i]
				}
				final := withoutProof + ",p=" + base64.StdEncoding.EncodeToString(sig)
				if _, err := x.Step(ctx, []byte(final)); err != nil || !x.Done() {
					b.Fatalf("exchange failed: %v", err)
				}
			}
			exchange()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				exchange()
			}
		})
	}
}

func hmacOf(h func() hash.Hash, key, msg []byte) []byte {
	m := hmac.New(h, key)
	m.Write(msg)
	return m.Sum(nil)
}
