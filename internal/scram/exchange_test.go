package scram

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"flag"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	xdg "github.com/xdg-go/scram"
)

var update = flag.Bool("update", false, "regenerate testdata/sha512.txt with xdg-go/scram's client")

// The recorded exchanges: the examples of RFC 5802 (SCRAM-SHA-1, a
// test-only mechanism here) and RFC 7677 (SCRAM-SHA-256), and one
// SCRAM-SHA-512 exchange that xdg-go/scram's client made with this server
// (TestGenerateSHA512 -update writes it).
var exchangeFiles = []string{"rfc5802-sha1.txt", "rfc7677-sha256.txt", "sha512.txt"}

// TestExchangeFiles checks each recorded exchange twice: first by hand,
// recomputing the proof and the server signature from the password with
// crypto/pbkdf2 and crypto/hmac, independently of this package; then by
// replaying the client's messages through a Server, which must answer
// byte for byte what was recorded.
func TestExchangeFiles(t *testing.T) {
	for _, file := range exchangeFiles {
		t.Run(file, func(t *testing.T) {
			e := readExchange(t, filepath.Join("testdata", file))
			c1, s1, c2, s2 := e.msgs[0], e.msgs[1], e.msgs[2], e.msgs[3]

			// By hand.
			if !strings.HasSuffix(c1, ",r="+e.clientNonce) {
				t.Errorf("client-first %q does not end with the client nonce %q", c1, e.clientNonce)
			}
			wantS1 := "r=" + e.clientNonce + e.serverNonce + ",s=" + base64.StdEncoding.EncodeToString(e.salt) + ",i=" + strconv.Itoa(e.iterations)
			if s1 != wantS1 {
				t.Errorf("server-first:\n got  %s\n want %s", s1, wantS1)
			}
			ref := deriveRef(t, refHash(t, e.mechanism), e.password, e.salt, e.iterations)
			i := strings.LastIndex(c2, ",p=")
			am := authMessage(c1, s1, c2[:i])
			if got, want := c2[i+3:], ref.proof(am); got != want {
				t.Errorf("proof %s, recomputed %s", got, want)
			}
			if got, want := s2, "v="+ref.serverSignature(am); got != want {
				t.Errorf("server-final %s, recomputed %s", got, want)
			}

			// Through the package.
			m := mechByName(t, e.mechanism)
			v, err := NewVerifier(m, []byte(e.password), e.salt, e.iterations)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(v.StoredKey, ref.storedKey) || !bytes.Equal(v.ServerKey, ref.serverKey) {
				t.Errorf("NewVerifier's keys differ from the recomputed ones")
			}
			s := newTestServer(t, m, map[string]Verifier{e.user: v}, e.serverNonce)
			conv := s.Start()
			if got, err := step(conv, c1); err != nil || got != s1 {
				t.Fatalf("Step(client-first) = %q, %v; want %q", got, err, s1)
			}
			if got, err := step(conv, c2); err != nil || got != s2 {
				t.Fatalf("Step(client-final) = %q, %v; want %q", got, err, s2)
			}
			if !conv.Done() || conv.Username() != e.user {
				t.Fatalf("Done %v, Username %q; want true, %q", conv.Done(), conv.Username(), e.user)
			}
		})
	}
}

func mechByName(t testing.TB, name string) Mechanism {
	if name == "SCRAM-SHA-1" {
		return mechSHA1
	}
	m, ok := MechanismByName(name)
	if !ok {
		t.Fatalf("unknown mechanism %q", name)
	}
	return m
}

// TestGenerateSHA512 writes testdata/sha512.txt with -update: xdg-go/scram's
// client, with a fixed nonce, against this server, with a fixed nonce.
// The username has a ',' and an '=', and the client sends it as its
// authorization identity too. TestExchangeFiles checks the result by hand.
func TestGenerateSHA512(t *testing.T) {
	if !*update {
		t.Skip("run with -update to regenerate testdata/sha512.txt")
	}
	saltSum := sha256.Sum256([]byte("streamauth scram sha-512 test salt"))
	e := exchange{
		mechanism: "SCRAM-SHA-512", user: "orders,app=2", password: "correct horse battery staple",
		salt: saltSum[:], iterations: 8192,
		clientNonce: "gHp8Y2Vb0sTqQk4nZyXw1AeLmR7c", serverNonce: "Zt3vKq9UxW2pLs8NbY4mHc6R",
	}
	v, err := NewVerifier(SHA512, []byte(e.password), e.salt, e.iterations)
	if err != nil {
		t.Fatal(err)
	}
	s := newTestServer(t, SHA512, map[string]Verifier{e.user: v}, e.serverNonce)
	client, err := xdg.SHA512.NewClientUnprepped(e.user, e.password, e.user)
	if err != nil {
		t.Fatal(err)
	}
	cc := client.WithNonceGenerator(func() string { return e.clientNonce }).NewConversation()
	conv := s.Start()
	msg := ""
	for !cc.Done() {
		out, err := cc.Step(msg)
		if err != nil {
			t.Fatal(err)
		}
		if cc.Done() {
			break
		}
		e.msgs = append(e.msgs, out)
		reply, err := step(conv, out)
		if err != nil {
			t.Fatal(err)
		}
		e.msgs = append(e.msgs, reply)
		msg = reply
	}
	if !cc.Valid() || !conv.Done() {
		t.Fatalf("client valid %v, server done %v", cc.Valid(), conv.Done())
	}
	comment := "A SCRAM-SHA-512 exchange: xdg-go/scram v1.4.0's client (NewClientUnprepped,\n" +
		"authzid = username, fixed nonce) against this package's server (fixed\n" +
		"nonce). Written by go test -run TestGenerateSHA512 -update; the salt is\n" +
		"SHA-256 of \"streamauth scram sha-512 test salt\"."
	if err := e.write(filepath.Join("testdata", "sha512.txt"), comment); err != nil {
		t.Fatal(err)
	}
}
