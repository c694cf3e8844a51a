package fuzz

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/streamauth/streamauth/auth"
	"github.com/streamauth/streamauth/cluster"
	"github.com/streamauth/streamauth/keys"
	"github.com/streamauth/streamauth/store/memstore"
)

// saslPassword is the one credential's password. It is no secret: the
// property is that a login succeeds exactly for the two well-formed
// messages that carry it, whatever else the fuzzer finds.
const saslPassword = "correct horse battery"

// FuzzAuthenticatePlain runs SASL PLAIN messages (RFC 4616) through the
// engine against a cluster with one credential (and remembers nothing, so
// that every message is parsed and checked). Properties: nothing panics;
// a login succeeds exactly for "\x00user\x00password" and
// "user\x00user\x00password"; every refusal is ErrUnauthenticated, and no
// error text holds the password.
func FuzzAuthenticatePlain(f *testing.F) {
	ctx := context.Background()
	e, err := auth.New(ctx, memstore.New(), auth.Options{
		PasswordHash:  auth.Argon2Params{Time: 1, MemoryKiB: 8, Threads: 1},
		RememberPlain: -1,
	})
	if err != nil {
		f.Fatal(err)
	}
	acct, err := e.CreateAccount(ctx, "a")
	if err != nil {
		f.Fatal(err)
	}
	ws, err := e.CreateWorkspace(ctx, acct.ID, "w")
	if err != nil {
		f.Fatal(err)
	}
	c, err := e.CreateCluster(ctx, ws.ID, auth.ClusterSpec{Name: "c", Type: cluster.Serverless})
	if err != nil {
		f.Fatal(err)
	}
	pw, err := keys.ImportPassword(saslPassword)
	if err != nil {
		f.Fatal(err)
	}
	ic, err := e.CreateCredential(ctx, c.Cluster.ID, auth.CredentialSpec{Name: "app", Password: pw})
	if err != nil {
		f.Fatal(err)
	}
	user := string(ic.Credential.Username)
	valid := [][]byte{
		[]byte("\x00" + user + "\x00" + saslPassword),
		[]byte(user + "\x00" + user + "\x00" + saslPassword),
	}
	for _, v := range valid {
		f.Add(v)
	}
	for _, s := range []string{
		"", "\x00", "\x00\x00", "\x00" + user + "\x00", "\x00\x00" + saslPassword,
		"other\x00" + user + "\x00" + saslPassword, "\x00" + user + "\x00" + saslPassword + "\x00",
		"\x00" + user + "\x00wrong password", "\x00ccun_00000000000000000000000000000000\x00" + saslPassword,
		"\x00" + user + "\x00\xff\xfe", strings.Repeat("a", 300) + "\x00b\x00c",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		p, err := e.AuthenticatePlain(ctx, c.Cluster.ID, msg)
		ok := bytes.Equal(msg, valid[0]) || bytes.Equal(msg, valid[1])
		if err == nil {
			if !ok {
				t.Fatalf("login succeeded for %q", msg)
			}
			if p.Credential != ic.Credential.ID || p.Cluster != c.Cluster.ID {
				t.Fatalf("login as the wrong principal: %+v", p)
			}
			return
		}
		if ok {
			t.Fatalf("valid login refused: %v", err)
		}
		if !errors.Is(err, auth.ErrUnauthenticated) {
			t.Fatalf("refusal %v is not ErrUnauthenticated", err)
		}
		if strings.Contains(err.Error(), saslPassword) {
			t.Fatal("error text holds the password")
		}
	})
}
