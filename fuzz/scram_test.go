package fuzz

import (
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"hash"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/streamauth/streamauth/internal/scram"
)

// FuzzScramExchange runs whole SCRAM conversations through package scram's
// Server, from a fuzzed client-first-message and client-final-message,
// against a Lookup that knows two users.
//
// The known users' password is random, drawn once per go test run (and
// handed to the fuzzing workers, which are separate processes, through
// the environment), so that no stored corpus entry can hold a valid proof:
// a conversation can only succeed on a seed built in this run, with the
// password, by the independent client below.
//
// Properties: nothing panics; the first Step accepts exactly the
// client-first-messages that an independent parser, written from RFC 5802
// and the package's documented limits, accepts, and answers exactly the
// server-first-message it predicts (the real salt for a known user, the
// documented HMAC of the username for an unknown one); the second Step
// accepts exactly the well-formed client-final-messages, then succeeds
// exactly when the proof is the one the password gives, and only on a
// seed, answering the predicted signature; every refusal is ErrMalformed
// or ErrAuthFailed, with one of the package's fixed messages; and any Step
// after the end is ErrFinished.
func FuzzScramExchange(f *testing.F) {
	refs := map[bool]*scramRef{false: scramDerive(f, scram.SHA256), true: scramDerive(f, scram.SHA512)}
	servers := map[bool]*scram.Server{}
	for _, sha512 := range []bool{false, true} {
		ref := refs[sha512]
		s, err := scram.NewServer(scram.ServerConfig{
			Mechanism: ref.mech,
			FakeKey:   []byte(scramFakeKey),
			Nonce:     func() string { return scramServerNonce },
			Lookup: func(_ context.Context, name string) (scram.Verifier, bool, error) {
				if !scramKnown[name] {
					return scram.Verifier{}, false, nil
				}
				return scram.Verifier{Salt: []byte(scramSalt), Iterations: scramIterations, StoredKey: ref.storedKey, ServerKey: ref.serverKey}, true, nil
			},
		})
		if err != nil {
			f.Fatal(err)
		}
		servers[sha512] = s
	}

	// Seeds: valid exchanges (the only inputs that may succeed), then
	// broken ones.
	seeds := map[string]bool{}
	for _, sha512 := range []bool{false, true} {
		ref := refs[sha512]
		const nonce = "fyko+d2lbbFgONRv9qkxdawL"
		for _, c := range []struct{ first, ext string }{
			{"n,,n=user,r=" + nonce, ""},
			{"y,,n=user,r=" + nonce, ""},
			{"n,a=user,n=user,r=" + nonce, ""},
			{"n,,n=a=2Cb=3Dc,r=" + nonce, ""},
			{"y,a=a=2Cb=3Dc,n=a=2Cb=3Dc,r=" + nonce + ",tokenauth=true", ",x=é"},
			{"n,,n=user,r=" + nonce + ",tokenauth=true", ""},
			{"n,,n=user,r=!", ",ext=a=b"},
		} {
			first := c.first
			p, _ := scramParseFirst([]byte(first))
			withoutProof := "c=" + base64.StdEncoding.EncodeToString([]byte(p.gs2)) + ",r=" + p.nonce + scramServerNonce + c.ext
			s1 := scramServerFirst(ref, p)
			final := withoutProof + ",p=" + ref.proof(p.bare+","+s1+","+withoutProof)
			f.Add(sha512, []byte(first), []byte(final))
			seeds[scramSeedKey(sha512, []byte(first), []byte(final))] = true
			conv := servers[sha512].Start()
			conv.Step(context.Background(), []byte(first))
			if _, err := conv.Step(context.Background(), []byte(final)); err != nil || !conv.Done() {
				f.Fatalf("seed %q, %q: %v", first, final, err)
			}
			// The same final after a client-first of another user.
			f.Add(sha512, []byte(strings.Replace(first, "n=user", "n=nobody", 1)), []byte(final))
		}
	}
	for _, s := range [][2]string{
		{"n,,n=user,r=rOprNGfwEbeRWgbNEkqO", "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="},
		{"n,,n=user,r=x", "c=biws,r=x" + scramServerNonce + ",p=" + strings.Repeat("A", 43) + "="},
		{"n,,n=user,r=x", "c=biws,r=x" + scramServerNonce + ",p=" + strings.Repeat("A", 86) + "=="},
		{"n,,n=user,r=x", "c=biws,r=x" + scramServerNonce + ",p=" + strings.Repeat("A", 42) + "B="},
		{"n,,n=user,r=x", "c=biws,r=x" + scramServerNonce + ",p=\n" + strings.Repeat("A", 43) + "="},
		{"n,,n=user,r=x", "c=biws,r=x" + scramServerNonce + ",x=y,p=" + strings.Repeat("A", 43) + "="},
		{"n,,n=user,r=x", "c=biws,r=x" + scramServerNonce},
		{"n,,n=user,r=x", "c=eSws,r=x" + scramServerNonce + ",p="},
		{"n,,n=user,r=x", "c=biws,r=x,p="},
		{"n,,n=user,r=x", ""},
		{"", ""},
		{"p=tls-unique,,n=user,r=x", ""},
		{"n,,m=ext,n=user,r=x", ""},
		{"n,a=other,n=user,r=x", ""},
		{"n,,n=us=er,r=x", ""},
		{"n,,n=us=2cer,r=x", ""},
		{"n,,n=" + strings.Repeat("=2C", 256) + ",r=x", ""},
		{"n,,n=" + strings.Repeat("u", 257) + ",r=x", ""},
		{"n,,n=user,r=" + strings.Repeat("r", 257), ""},
		{"n,,n=user,r=a b", ""},
		{"n,,n=user,r=x,", ""},
		{"n,,n=user,r=x,r=y", ""},
		{"n,,n=user,r=x,a1=b", ""},
		{"n,,n=user\x00,r=x", ""},
		{"n,,n=us\ner\x01,r=x", ""},
		{"n,,n=user,r=x,x=a\nb", "c=biws,r=x" + scramServerNonce + ",y=\r\n,p=" + strings.Repeat("A", 43) + "="},
		{"n,,n=user\xff,r=x", ""},
	} {
		f.Add(false, []byte(s[0]), []byte(s[1]))
		f.Add(true, []byte(s[0]), []byte(s[1]))
	}

	fixed := scramMessages(servers[false])

	f.Fuzz(func(t *testing.T, sha512 bool, first, final []byte) {
		ref, s := refs[sha512], servers[sha512]
		ctx := context.Background()
		conv := s.Start()
		firstIn := append([]byte(nil), first...)
		s1, err := conv.Step(ctx, first)
		if string(first) != string(firstIn) {
			t.Fatalf("Step modified its input")
		}
		p, wellFormed := scramParseFirst(first)
		if (err == nil) != wellFormed {
			t.Fatalf("client-first %q: error %v, but well-formed = %v", first, err, wellFormed)
		}
		if err != nil {
			scramCheckRefusal(t, err, scram.ErrMalformed, fixed)
			if s1 != nil {
				t.Fatalf("a reply, %q, with the error", s1)
			}
			scramCheckOver(t, conv, final)
			return
		}
		if want := scramServerFirst(ref, p); string(s1) != want {
			t.Fatalf("client-first %q: server-first\n got  %q\n want %q", first, s1, want)
		}

		s2, err := conv.Step(ctx, final)
		withoutProof, proof, wellFormed := scramParseFinal(final, p, ref.size)
		if !wellFormed {
			if err == nil {
				t.Fatalf("client-final %q accepted, but malformed", final)
			}
			scramCheckRefusal(t, err, scram.ErrMalformed, fixed)
			scramCheckOver(t, conv, final)
			return
		}
		am := p.bare + "," + string(s1) + "," + withoutProof
		right := scramKnown[p.name] && proof == ref.proof(am)
		if right != (err == nil) {
			t.Fatalf("client-first %q, client-final %q: error %v, but right proof = %v", first, final, err, right)
		}
		if err != nil {
			scramCheckRefusal(t, err, scram.ErrAuthFailed, fixed)
			scramCheckOver(t, conv, final)
			return
		}
		if !scramSeeds(seeds, sha512, first, final) {
			t.Fatalf("success on an input that is not a seed: %q, %q", first, final)
		}
		if want := "v=" + ref.signature(am); string(s2) != want {
			t.Fatalf("server-final %q, want %q", s2, want)
		}
		if !conv.Done() || conv.Username() != p.name {
			t.Fatalf("Done %v, Username %q; want %q", conv.Done(), conv.Username(), p.name)
		}
		scramCheckOver(t, conv, final)
		if !conv.Done() || conv.Username() != p.name {
			t.Fatalf("after ErrFinished: Done %v, Username %q", conv.Done(), conv.Username())
		}
	})
}

// The fixture: the known users, their salt and iteration count, the fixed
// server nonce and FakeKey.
const (
	scramSalt        = "streamauth fuzz salt"
	scramIterations  = 4096
	scramServerNonce = "fuzzServerNonce%)$"
	scramFakeKey     = "streamauth fuzz fake key"
	scramPasswordEnv = "STREAMAUTH_FUZZ_SCRAM_PASSWORD"
)

var scramKnown = map[string]bool{"user": true, "a,b=c": true}

// scramPassword is drawn once per go test run: the coordinating process
// draws it and sets it in its environment, which the fuzzing workers
// inherit.
var scramPassword = func() string {
	if p := os.Getenv(scramPasswordEnv); p != "" {
		return p
	}
	var b [24]byte
	rand.Read(b[:])
	p := base64.StdEncoding.EncodeToString(b[:])
	os.Setenv(scramPasswordEnv, p)
	return p
}()

// scramRef is an independent client: the keys of scramPassword from
// crypto/pbkdf2 and crypto/hmac, and the formulas of RFC 5802.
type scramRef struct {
	mech                            scram.Mechanism
	size                            int
	newHash                         func() hash.Hash
	clientKey, storedKey, serverKey []byte
}

func scramMAC(newHash func() hash.Hash, key []byte, msg string) []byte {
	m := hmac.New(newHash, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

func scramDerive(f *testing.F, m scram.Mechanism) *scramRef {
	r := &scramRef{mech: m, newHash: sha256.New}
	if m == scram.SHA512 {
		r.newHash = sha512.New
	}
	r.size = r.newHash().Size()
	salted, err := pbkdf2.Key(r.newHash, scramPassword, []byte(scramSalt), scramIterations, r.size)
	if err != nil {
		f.Fatal(err)
	}
	r.clientKey = scramMAC(r.newHash, salted, "Client Key")
	r.serverKey = scramMAC(r.newHash, salted, "Server Key")
	h := r.newHash()
	h.Write(r.clientKey)
	r.storedKey = h.Sum(nil)
	return r
}

// proof is ClientKey XOR HMAC(StoredKey, AuthMessage), in base64.
func (r *scramRef) proof(authMessage string) string {
	sig := scramMAC(r.newHash, r.storedKey, authMessage)
	for i := range sig {
		sig[i] ^= r.clientKey[i]
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// signature is HMAC(ServerKey, AuthMessage), in base64.
func (r *scramRef) signature(authMessage string) string {
	return base64.StdEncoding.EncodeToString(scramMAC(r.newHash, r.serverKey, authMessage))
}

// scramServerFirst predicts the server-first-message: the known users'
// salt, or for anyone else HMAC-SHA-256(FakeKey, mechanism name ‖ 0 ‖
// username), with the default iteration count.
func scramServerFirst(r *scramRef, p scramFirst) string {
	salt := []byte(scramSalt)
	if !scramKnown[p.name] {
		salt = scramMAC(sha256.New, []byte(scramFakeKey), r.mech.String()+"\x00"+p.name)
	}
	return "r=" + p.nonce + scramServerNonce + ",s=" + base64.StdEncoding.EncodeToString(salt) + ",i=" + strconv.Itoa(scramIterations)
}

// scramFirst is a client-first-message as the oracle reads it.
type scramFirst struct {
	gs2, bare, name, nonce string
}

var (
	scramFirstRE  = regexp.MustCompile(`(?s)^([ny]),(?:a=([^,]+))?,n=([^,]+),r=([^,]+)((?:,[^,]*)*)$`)
	scramFinalRE  = regexp.MustCompile(`(?s)^c=([^,]*),r=([^,]*)((?:,[^,]*)*),p=([^,]*)$`)
	scramNameRE   = regexp.MustCompile(`(?s)^(?:[^=,]|=2C|=3D)+$`)
	scramExtRE    = regexp.MustCompile(`(?s)^[A-Za-z]+=.+$`)
	scramUnescape = strings.NewReplacer("=2C", ",", "=3D", "=")
)

// scramMessageOK is the check of both messages: 1 to 2048 bytes of UTF-8
// without NUL.
func scramMessageOK(in []byte) bool {
	return len(in) >= 1 && len(in) <= 2048 && utf8.Valid(in) && !strings.ContainsRune(string(in), 0)
}

// scramExtensionsOK checks the extensions after the nonce: each a name of
// letters, '=' and a value, and not an attribute SCRAM defines.
func scramExtensionsOK(s string) bool {
	if s == "" {
		return true
	}
	for _, ext := range strings.Split(s[1:], ",") {
		if !scramExtRE.MatchString(ext) || len(ext) > 1 && ext[1] == '=' && strings.IndexByte("aceimnprsv", ext[0]) >= 0 {
			return false
		}
	}
	return true
}

// scramParseFirst is the oracle for client-first-messages, written from
// RFC 5802's grammar and the package's documented rules, independently of
// its parser.
func scramParseFirst(in []byte) (scramFirst, bool) {
	var p scramFirst
	if !scramMessageOK(in) {
		return p, false
	}
	m := scramFirstRE.FindStringSubmatch(string(in))
	if m == nil {
		return p, false
	}
	flag, authz, rawName, nonce, exts := m[1], m[2], m[3], m[4], m[5]
	if authz != "" && authz != rawName || !scramNameRE.MatchString(rawName) {
		return p, false
	}
	p.name = scramUnescape.Replace(rawName)
	if len(p.name) > 256 || len(nonce) > 256 || !scramExtensionsOK(exts) {
		return p, false
	}
	for _, c := range []byte(nonce) {
		if c < 0x21 || c > 0x7e {
			return p, false
		}
	}
	p.gs2 = flag + ","
	if authz != "" {
		p.gs2 += "a=" + authz
	}
	p.gs2 += ","
	p.bare, p.nonce = string(in[len(p.gs2):]), nonce
	return p, true
}

// scramParseFinal is the oracle for client-final-messages after the
// client-first-message p: it returns the message without the proof, and
// the proof in base64.
func scramParseFinal(in []byte, p scramFirst, size int) (withoutProof, proof string, ok bool) {
	if !scramMessageOK(in) {
		return "", "", false
	}
	m := scramFinalRE.FindStringSubmatch(string(in))
	if m == nil || m[1] != base64.StdEncoding.EncodeToString([]byte(p.gs2)) || m[2] != p.nonce+scramServerNonce || !scramExtensionsOK(m[3]) {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(m[4])
	if err != nil || len(raw) != size || base64.StdEncoding.EncodeToString(raw) != m[4] {
		return "", "", false
	}
	return string(in[:len(in)-len(m[4])-len(",p=")]), m[4], true
}

func scramSeedKey(sha512 bool, first, final []byte) string {
	return strconv.FormatBool(sha512) + "\x00" + string(first) + "\x00" + string(final)
}

func scramSeeds(seeds map[string]bool, sha512 bool, first, final []byte) bool {
	return seeds[scramSeedKey(sha512, first, final)]
}

// scramCheckRefusal checks an error: the sentinel wanted (and not the
// other), with one of the package's fixed messages.
func scramCheckRefusal(t *testing.T, err, want error, fixed map[string]bool) {
	t.Helper()
	other := scram.ErrAuthFailed
	if want == scram.ErrAuthFailed {
		other = scram.ErrMalformed
	}
	if !errors.Is(err, want) || errors.Is(err, other) {
		t.Fatalf("error %v, want %v", err, want)
	}
	if !fixed[err.Error()] {
		t.Fatalf("error message %q is not one of the fixed messages", err)
	}
}

// scramCheckOver checks that a conversation that ended takes no more Steps.
func scramCheckOver(t *testing.T, conv *scram.Conversation, msg []byte) {
	t.Helper()
	if reply, err := conv.Step(context.Background(), msg); err != scram.ErrFinished || reply != nil {
		t.Fatalf("Step after the end: %q, %v; want ErrFinished", reply, err)
	}
}

// scramMessages returns the package's error messages, gathered by breaking
// each rule once: a message the fuzzer provokes that is not among them is
// new wording, to be checked for quoting its input.
func scramMessages(s *scram.Server) map[string]bool {
	fixed := map[string]bool{scram.ErrAuthFailed.Error(): true}
	for _, in := range []string{
		"", strings.Repeat("n", 2049), "\xff", "x", "p=x,,", "n,a=x,n=y,r=z", "n,,m=x", "n,,x",
		"n,,n==,r=x", "n,,n=" + strings.Repeat("u", 257) + ",r=x", "n,,n=u", "n,,n=u,r=x,",
	} {
		if _, err := s.Start().Step(context.Background(), []byte(in)); err != nil {
			fixed[err.Error()] = true
		}
	}
	for _, in := range []string{"c=x", "c=biws,r=x", "c=biws,r=x" + scramServerNonce, "c=biws,r=x" + scramServerNonce + ",y,p=x"} {
		conv := s.Start()
		if _, err := conv.Step(context.Background(), []byte("n,,n=u,r=x")); err != nil {
			panic(err)
		}
		if _, err := conv.Step(context.Background(), []byte(in)); err != nil {
			fixed[err.Error()] = true
		}
	}
	return fixed
}
