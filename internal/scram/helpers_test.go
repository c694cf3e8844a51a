package scram

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"hash"
	"os"
	"strconv"
	"strings"
	"testing"
)

// mechSHA1 is SCRAM-SHA-1, installed for the tests only, in the slot
// hashes leaves for it, so that RFC 5802's example runs through the same
// code as the mechanisms offered.
const mechSHA1 Mechanism = 3

func init() {
	hashes[mechSHA1] = hashSpec{
		name: "SCRAM-SHA-1", size: sha1.Size, block: sha1.BlockSize, new: sha1.New,
		sum: func(out *[maxHashSize]byte, b []byte) { *(*[sha1.Size]byte)(out[:]) = sha1.Sum(b) },
	}
}

// refHash returns the hash of a mechanism by its name, independently of the
// package's table.
func refHash(t testing.TB, name string) func() hash.Hash {
	switch name {
	case "SCRAM-SHA-1":
		return sha1.New
	case "SCRAM-SHA-256":
		return sha256.New
	case "SCRAM-SHA-512":
		return sha512.New
	}
	t.Fatalf("no hash for %q", name)
	return nil
}

// refKeys are a client's keys, computed from RFC 5802's formulas with
// crypto/pbkdf2 and crypto/hmac directly: an independent check of the
// package's arithmetic.
type refKeys struct {
	newHash                         func() hash.Hash
	clientKey, storedKey, serverKey []byte
}

func refMAC(newHash func() hash.Hash, key []byte, msg string) []byte {
	m := hmac.New(newHash, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

func deriveRef(t testing.TB, newHash func() hash.Hash, password string, salt []byte, iters int) refKeys {
	t.Helper()
	salted, err := pbkdf2.Key(newHash, password, salt, iters, newHash().Size())
	if err != nil {
		t.Fatal(err)
	}
	k := refKeys{newHash: newHash, clientKey: refMAC(newHash, salted, "Client Key"), serverKey: refMAC(newHash, salted, "Server Key")}
	h := newHash()
	h.Write(k.clientKey)
	k.storedKey = h.Sum(nil)
	return k
}

// proof returns ClientKey XOR HMAC(StoredKey, authMessage), in base64.
func (k refKeys) proof(authMessage string) string {
	sig := refMAC(k.newHash, k.storedKey, authMessage)
	for i := range sig {
		sig[i] ^= k.clientKey[i]
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// serverSignature returns HMAC(ServerKey, authMessage), in base64.
func (k refKeys) serverSignature(authMessage string) string {
	return base64.StdEncoding.EncodeToString(refMAC(k.newHash, k.serverKey, authMessage))
}

func (k refKeys) verifier(salt []byte, iters int) Verifier {
	return Verifier{Salt: salt, Iterations: iters, StoredKey: k.storedKey, ServerKey: k.serverKey}
}

// authMessage joins client-first-message-bare (client-first without its
// gs2 header: what follows the second ','), server-first-message and
// client-final-message-without-proof (everything before the last ",p=").
func authMessage(clientFirst, serverFirst, clientFinalWithoutProof string) string {
	bare := strings.SplitN(clientFirst, ",", 3)[2]
	return bare + "," + serverFirst + "," + clientFinalWithoutProof
}

// finalFor returns the client-final-message that proves k, given
// client-final-message-without-proof.
func (k refKeys) finalFor(clientFirst, serverFirst, withoutProof string) string {
	return withoutProof + ",p=" + k.proof(authMessage(clientFirst, serverFirst, withoutProof))
}

// exchange is one recorded conversation from testdata: the parameters and
// the four messages, client first.
type exchange struct {
	mechanism                string
	user, password           string
	salt                     []byte
	iterations               int
	clientNonce, serverNonce string
	msgs                     []string
}

func readExchange(t testing.TB, path string) exchange {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var e exchange
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		key, val, ok := strings.Cut(line, ": ")
		if !ok {
			t.Fatalf("%s:%d: no \": \"", path, n)
		}
		switch key {
		case "mechanism":
			e.mechanism = val
		case "user":
			e.user = val
		case "password":
			e.password = val
		case "salt":
			if e.salt, err = base64.StdEncoding.DecodeString(val); err != nil {
				t.Fatalf("%s:%d: salt: %v", path, n, err)
			}
		case "iterations":
			if e.iterations, err = strconv.Atoi(val); err != nil {
				t.Fatalf("%s:%d: iterations: %v", path, n, err)
			}
		case "client-nonce":
			e.clientNonce = val
		case "server-nonce":
			e.serverNonce = val
		case "c", "s":
			if want := "cs"[len(e.msgs)%2 : len(e.msgs)%2+1]; key != want {
				t.Fatalf("%s:%d: a %q message where a %q one was due", path, n, key, want)
			}
			e.msgs = append(e.msgs, val)
		default:
			t.Fatalf("%s:%d: unknown key %q", path, n, key)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(e.msgs) != 4 {
		t.Fatalf("%s: %d messages, want 4", path, len(e.msgs))
	}
	return e
}

func (e exchange) write(path, comment string) error {
	var b strings.Builder
	for _, l := range strings.Split(comment, "\n") {
		b.WriteString("# " + l + "\n")
	}
	fmt.Fprintf(&b, "mechanism: %s\nuser: %s\npassword: %s\nsalt: %s\niterations: %d\nclient-nonce: %s\nserver-nonce: %s\n",
		e.mechanism, e.user, e.password, base64.StdEncoding.EncodeToString(e.salt), e.iterations, e.clientNonce, e.serverNonce)
	for i, m := range e.msgs {
		fmt.Fprintf(&b, "%c: %s\n", "cs"[i%2], m)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// testFakeKey is the FakeKey of the tests' servers.
var testFakeKey = []byte("0123456789abcdef0123456789abcdef")

// mapLookup looks users up in a map.
func mapLookup(users map[string]Verifier) func(context.Context, string) (Verifier, bool, error) {
	return func(_ context.Context, name string) (Verifier, bool, error) {
		v, ok := users[name]
		return v, ok, nil
	}
}

// newTestServer returns a server for m that knows users, with a fixed
// server nonce unless nonce is "".
func newTestServer(t testing.TB, m Mechanism, users map[string]Verifier, nonce string) *Server {
	t.Helper()
	cfg := ServerConfig{Mechanism: m, Lookup: mapLookup(users), FakeKey: testFakeKey}
	if nonce != "" {
		cfg.Nonce = func() string { return nonce }
	}
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// step runs one Step with a background context on a string.
func step(c *Conversation, msg string) (string, error) {
	reply, err := c.Step(context.Background(), []byte(msg))
	return string(reply), err
}
