package bench

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"hash"
	"strconv"
	"strings"
	"testing"

	"github.com/xdg-go/scram"

	"github.com/streamauth/streamauth/auth"
	"github.com/streamauth/streamauth/internal/record"
	"github.com/streamauth/streamauth/keys"
)

// BenchmarkPeerSCRAM is BenchmarkSCRAMServer/cp/<mechanism> with
// github.com/xdg-go/scram's server in place of ours: the same hand-built
// client (scramClient), the same credential (the fixture's, created by our
// engine, so the same salt and iteration count) and the same store reads.
// Ours reads the login entry and the credential record at client-first,
// and the credential record again after the proof (to refuse an exchange
// that outlived a delete); xdg's credential lookup does the same two reads
// and decodes the record with our decoder, and the same third read follows
// a successful exchange. xdg's server is built once, as its documentation
// advises; ours builds its server per exchange in StartSCRAM, which is
// timed.
func BenchmarkPeerSCRAM(b *testing.B) {
	f := newSASLFixture(b, auth.Options{})
	benchPeerSCRAM(b, f, auth.MechanismSCRAMSHA256, scram.SHA256, sha256.New, 0)
	benchPeerSCRAM(b, f, auth.MechanismSCRAMSHA512, scram.SHA512, sha512.New, 1)
}

// errNoCredential is the xdg lookup's answer for a user it does not find.
var errNoCredential = errors.New("bench: no such credential")

// benchPeerSCRAM runs xdg's server for mechanism mech; verifier is the index
// of the mechanism's verifier in a credential record.
func benchPeerSCRAM(b *testing.B, f *saslFixture, mech string, hgf scram.HashGeneratorFcn, newHash func() hash.Hash, verifier int) {
	ctx := context.Background()
	cl := f.cluster.ID
	var found keys.CredentialID // set by the lookup of the current exchange
	lookup := func(user string) (scram.StoredCredentials, error) {
		raw, err := f.s.Get(ctx, record.LoginKey(cl, user))
		if err != nil {
			return scram.StoredCredentials{}, errNoCredential
		}
		var id keys.CredentialID
		if err := id.SetBytes(raw); err != nil {
			return scram.StoredCredentials{}, err
		}
		if raw, err = f.s.Get(ctx, record.CredentialKey(id)); err != nil {
			return scram.StoredCredentials{}, errNoCredential
		}
		rec, err := record.DecodeCredential(id, raw)
		if err != nil {
			return scram.StoredCredentials{}, err
		}
		if rec.Cluster != cl || rec.Username != user {
			return scram.StoredCredentials{}, errNoCredential
		}
		found = id
		v := &rec.SCRAM[verifier]
		return scram.StoredCredentials{
			KeyFactors: scram.KeyFactors{Salt: string(v.Salt), Iters: int(v.Iterations)},
			StoredKey:  v.StoredKey,
			ServerKey:  v.ServerKey,
		}, nil
	}
	srv, err := hgf.NewServer(lookup)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("xdg/"+mech, func(b *testing.B) {
		c := newSCRAMClient(f.user, f.pass, newHash)
		exchange := func() {
			found = keys.CredentialID{}
			conv := srv.NewConversation()
			serverFirst, err := conv.Step(c.first())
			if err != nil {
				b.Fatal(err)
			}
			final, err := c.final(serverFirst)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := conv.Step(final); err != nil || !conv.Valid() {
				b.Fatalf("exchange failed: %v", err)
			}
			if _, err := f.s.Get(ctx, record.CredentialKey(found)); err != nil {
				b.Fatalf("credential gone: %v", err)
			}
		}
		// The iteration count both servers announce is the credential's.
		serverFirst, err := srv.NewConversation().Step(c.first())
		if err != nil {
			b.Fatal(err)
		}
		if i := strings.Index(serverFirst, ",i="); i < 0 {
			b.Fatal("server-first message without an iteration count")
		} else if n, err := strconv.Atoi(serverFirst[i+3:]); err != nil || n != credentialIterations(b, f, verifier) {
			b.Fatalf("xdg announces %d iterations (%v); the credential has %d", n, err, credentialIterations(b, f, verifier))
		}
		exchange()
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			exchange()
		}
	})
}

// credentialIterations returns the iteration count of the fixture
// credential's verifier for one mechanism.
func credentialIterations(b *testing.B, f *saslFixture, verifier int) int {
	b.Helper()
	ctx := context.Background()
	raw, err := f.s.Get(ctx, record.CredentialKey(f.cred.ID))
	if err != nil {
		b.Fatal(err)
	}
	rec, err := record.DecodeCredential(f.cred.ID, raw)
	if err != nil {
		b.Fatal(err)
	}
	return int(rec.SCRAM[verifier].Iterations)
}
