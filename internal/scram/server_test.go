package scram

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// fixture is a SCRAM-SHA-256 server that knows "user" (password "pencil")
// and "a,b=c" (password "other"), with the server nonce "SNONCE".
type fixture struct {
	s        *Server
	salt     []byte
	ref      refKeys // user's
	refOther refKeys // a,b=c's
}

const fixtureNonce = "SNONCE"

func newFixture(t testing.TB) fixture {
	t.Helper()
	f := fixture{salt: []byte("0123456789abcdef")}
	f.ref = deriveRef(t, refHash(t, "SCRAM-SHA-256"), "pencil", f.salt, 4096)
	f.refOther = deriveRef(t, refHash(t, "SCRAM-SHA-256"), "other", f.salt, 4096)
	f.s = newTestServer(t, SHA256, map[string]Verifier{
		"user":  f.ref.verifier(f.salt, 4096),
		"a,b=c": f.refOther.verifier(f.salt, 4096),
	}, fixtureNonce)
	return f
}

// serverFirst is what the fixture answers to a client nonce for user.
func (f fixture) serverFirst(clientNonce string) string {
	return "r=" + clientNonce + fixtureNonce + ",s=" + base64.StdEncoding.EncodeToString(f.salt) + ",i=4096"
}

func TestSuccessVariants(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name, first, withoutProof, user string
		ref                             refKeys
	}{
		{"plain", "n,,n=user,r=abc", "c=biws,r=abcSNONCE", "user", f.ref},
		{"gs2 y", "y,,n=user,r=abc", "c=eSws,r=abcSNONCE", "user", f.ref},
		{"authzid", "n,a=user,n=user,r=abc", "c=" + b64("n,a=user,") + ",r=abcSNONCE", "user", f.ref},
		{"escaped name", "n,,n=a=2Cb=3Dc,r=abc", "c=biws,r=abcSNONCE", "a,b=c", f.refOther},
		{"escaped authzid", "y,a=a=2Cb=3Dc,n=a=2Cb=3Dc,r=abc", "c=" + b64("y,a=a=2Cb=3Dc,") + ",r=abcSNONCE", "a,b=c", f.refOther},
		{"extensions", "n,,n=user,r=abc,tokenauth=true,x=é,Y=a=b", "c=biws,r=abcSNONCE,x=1,ext=v", "user", f.ref},
		{"nonce of every printable", "n,,n=user,r=" + printableASCII(), "c=biws,r=" + printableASCII() + "SNONCE", "user", f.ref},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conv := f.s.Start()
			s1, err := step(conv, tc.first)
			if err != nil {
				t.Fatalf("client-first: %v", err)
			}
			if !strings.HasPrefix(s1, "r=") || !strings.HasSuffix(s1, ",s=MDEyMzQ1Njc4OWFiY2RlZg==,i=4096") {
				t.Fatalf("server-first %q", s1)
			}
			am := authMessage(tc.first, s1, tc.withoutProof)
			s2, err := step(conv, tc.withoutProof+",p="+tc.ref.proof(am))
			if err != nil {
				t.Fatalf("client-final: %v", err)
			}
			if want := "v=" + tc.ref.serverSignature(am); s2 != want {
				t.Fatalf("server-final %q, want %q", s2, want)
			}
			if !conv.Done() || conv.Username() != tc.user {
				t.Fatalf("Done %v, Username %q", conv.Done(), conv.Username())
			}
			if _, err := step(conv, "n,,n=user,r=abc"); err != ErrFinished {
				t.Fatalf("Step after success: %v, want ErrFinished", err)
			}
			if !conv.Done() || conv.Username() != tc.user {
				t.Fatalf("after a Step too many: Done %v, Username %q", conv.Done(), conv.Username())
			}
		})
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// printableASCII is RFC 5802's "printable": 0x21 to 0x7e but ','.
func printableASCII() string {
	var b strings.Builder
	for c := byte(0x21); c <= 0x7e; c++ {
		if c != ',' {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// TestMalformedClientFirst feeds client-first-messages that break a rule.
func TestMalformedClientFirst(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name, msg string
		want      error
	}{
		{"empty", "", errEmpty},
		{"too long", "n,,n=user,r=abc,x=" + strings.Repeat("x", MaxMessageLen), errTooLong},
		{"one byte too long", "n,,n=user,r=abc,x=" + strings.Repeat("x", MaxMessageLen-len("n,,n=user,r=abc,x=")+1), errTooLong},
		{"invalid UTF-8", "n,,n=us\xffer,r=abc", errEncoding},
		{"invalid UTF-8 in an extension", "n,,n=user,r=abc,x=\xc3", errEncoding},
		{"NUL", "n,,n=us\x00er,r=abc", errEncoding},
		{"unknown flag", "x,,n=user,r=abc", errGS2},
		{"uppercase flag", "N,,n=user,r=abc", errGS2},
		{"channel binding", "p=tls-unique,,n=user,r=abc", errChannelBinding},
		{"channel binding, bare p", "p,,n=user,r=abc", errChannelBinding},
		{"flag alone", "n", errGS2},
		{"flag without authzid slot", "n,n=user,r=abc", errGS2},
		{"flag and one comma", "n,", errGS2},
		{"authzid without end", "n,a=user", errGS2},
		{"empty authzid", "n,a=,n=user,r=abc", errGS2},
		{"not an authzid", "n,b=user,n=user,r=abc", errGS2},
		{"other authzid", "n,a=admin,n=user,r=abc", errAuthzid},
		{"authzid escaped differently", "n,a=a=2cb=3Dc,n=a=2Cb=3Dc,r=abc", errAuthzid},
		{"mandatory extension", "n,,m=ext,n=user,r=abc", errMandatoryExt},
		{"no username", "n,,", errUsername},
		{"nonce before username", "n,,r=abc,n=user", errUsername},
		{"empty username", "n,,n=,r=abc", errUsername},
		{"username N=", "n,,N=user,r=abc", errUsername},
		{"bare =", "n,,n=us=er,r=abc", errUsernameEscape},
		{"lowercase escape", "n,,n=us=2cer,r=abc", errUsernameEscape},
		{"other escape", "n,,n=us=2Der,r=abc", errUsernameEscape},
		{"cut escape", "n,,n=user=2,r=abc", errUsernameEscape},
		{"trailing =", "n,,n=user=,r=abc", errUsernameEscape},
		{"username too long", "n,,n=" + strings.Repeat("u", MaxUsernameLen+1) + ",r=abc", errUsernameLong},
		{"escaped username too long", "n,,n=" + strings.Repeat("=2C", MaxUsernameLen+1) + ",r=abc", errUsernameLong},
		{"no nonce", "n,,n=user", errNonce},
		{"no nonce, comma", "n,,n=user,", errNonce},
		{"empty nonce", "n,,n=user,r=", errNonce},
		{"not a nonce", "n,,n=user,s=abc", errNonce},
		{"space in nonce", "n,,n=user,r=ab c", errNonce},
		{"DEL in nonce", "n,,n=user,r=ab\x7f", errNonce},
		{"tab in nonce", "n,,n=user,r=ab\t", errNonce},
		{"non-ASCII nonce", "n,,n=user,r=abé", errNonce},
		{"nonce too long", "n,,n=user,r=" + strings.Repeat("r", MaxNonceLen+1), errNonce},
		{"empty extension", "n,,n=user,r=abc,", errExtension},
		{"extension without =", "n,,n=user,r=abc,x", errExtension},
		{"extension without value", "n,,n=user,r=abc,x=", errExtension},
		{"extension without name", "n,,n=user,r=abc,=x", errExtension},
		{"extension with a digit", "n,,n=user,r=abc,x1=y", errExtension},
		{"second nonce", "n,,n=user,r=abc,r=def", errExtension},
		{"second username", "n,,n=user,r=abc,n=admin", errExtension},
		{"extension p", "n,,n=user,r=abc,p=x", errExtension},
		{"extension m after the nonce", "n,,n=user,r=abc,m=x", errExtension},
		{"empty extension between", "n,,n=user,r=abc,,x=y", errExtension},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conv := f.s.Start()
			reply, err := conv.Step(context.Background(), []byte(tc.msg))
			if err != tc.want || !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if reply != nil || conv.Done() || conv.Username() != "" {
				t.Fatalf("reply %q, Done %v, Username %q after an error", reply, conv.Done(), conv.Username())
			}
			if _, err := step(conv, "n,,n=user,r=abc"); err != ErrFinished {
				t.Fatalf("Step after the error: %v, want ErrFinished", err)
			}
		})
	}
}

// TestLimits checks that each bound admits its maximum.
func TestLimits(t *testing.T) {
	f := newFixture(t)
	// The longest client-first-message without extensions: an authzid and
	// a username of MaxUsernameLen '=', each escaped, and the longest
	// nonce.
	longest := "y,a=" + strings.Repeat("=3D", MaxUsernameLen) + ",n=" + strings.Repeat("=3D", MaxUsernameLen) + ",r=" + strings.Repeat("r", MaxNonceLen)
	for _, msg := range []string{
		"n,,n=" + strings.Repeat("u", MaxUsernameLen) + ",r=abc",
		"n,,n=" + strings.Repeat("=2C", MaxUsernameLen) + ",r=abc",
		"n,,n=user,r=" + strings.Repeat("r", MaxNonceLen),
		longest,
		"n,,n=user,r=abc,x=" + strings.Repeat("x", MaxMessageLen-len("n,,n=user,r=abc,x=")),
	} {
		if _, err := step(f.s.Start(), msg); err != nil {
			t.Errorf("%d-byte message: %v", len(msg), err)
		}
	}
	if len(longest) > MaxMessageLen {
		t.Errorf("the longest client-first without extensions is %d bytes, over MaxMessageLen", len(longest))
	}
}

// TestMalformedClientFinal feeds client-final-messages that break a rule,
// after a valid client-first-message "n,,n=user,r=abc".
func TestMalformedClientFinal(t *testing.T) {
	f := newFixture(t)
	const first = "n,,n=user,r=abc"
	s1 := f.serverFirst("abc")
	good := f.ref.finalFor(first, s1, "c=biws,r=abcSNONCE")
	goodProof := good[strings.LastIndex(good, ",p=")+3:]
	raw, _ := base64.StdEncoding.DecodeString(goodProof)
	flipped := append([]byte(nil), raw...)
	flipped[0] ^= 1
	// A non-canonical encoding of the same 32 bytes: the last character
	// before the padding carries 2 unused bits; set one.
	nonCanonical := []byte(goodProof)
	nonCanonical[42] = base64Next(nonCanonical[42])
	wrongPassword := deriveRef(t, refHash(t, "SCRAM-SHA-256"), "pencil!", f.salt, 4096)

	for _, tc := range []struct {
		name, msg string
		want      error
	}{
		{"empty", "", errEmpty},
		{"too long", "c=biws,r=abcSNONCE,x=" + strings.Repeat("x", MaxMessageLen) + ",p=" + goodProof, errTooLong},
		{"NUL", "c=biws,r=abcSNONCE,x=\x00,p=" + goodProof, errEncoding},
		{"invalid UTF-8", "c=biws,r=abcSNONCE,x=\xff,p=" + goodProof, errEncoding},
		{"no c=", "r=abcSNONCE,p=" + goodProof, errBinding},
		{"c= of y,,", "c=eSws,r=abcSNONCE,p=" + goodProof, errBinding},
		{"c= with an authzid", "c=" + b64("n,a=user,") + ",r=abcSNONCE,p=" + goodProof, errBinding},
		{"c= empty", "c=,r=abcSNONCE,p=" + goodProof, errBinding},
		{"c= padded", "c=biws=,r=abcSNONCE,p=" + goodProof, errBinding},
		{"c= with a newline", "c=bi\nws,r=abcSNONCE,p=" + goodProof, errBinding},
		{"c= alone", "c=biws", errNonceMismatch},
		{"client nonce only", "c=biws,r=abc,p=" + goodProof, errNonceMismatch},
		{"nonce too long", "c=biws,r=abcSNONCEx,p=" + goodProof, errNonceMismatch},
		{"nonce cut", "c=biws,r=abcSNONC,p=" + goodProof, errNonceMismatch},
		{"no r=", "c=biws,p=" + goodProof, errNonceMismatch},
		{"no proof", "c=biws,r=abcSNONCE", errProof},
		{"empty last field", "c=biws,r=abcSNONCE,", errProof},
		{"empty proof", "c=biws,r=abcSNONCE,p=", errProof},
		{"proof too short", "c=biws,r=abcSNONCE,p=" + goodProof[:43], errProof},
		{"proof too long", "c=biws,r=abcSNONCE,p=" + goodProof + "A", errProof},
		{"proof unpadded", "c=biws,r=abcSNONCE,p=" + strings.TrimRight(goodProof, "="), errProof},
		{"proof non-canonical", "c=biws,r=abcSNONCE,p=" + string(nonCanonical), errProof},
		{"proof with a newline", "c=biws,r=abcSNONCE,p=" + goodProof[:20] + "\n" + goodProof[21:], errProof},
		{"proof in base64url", "c=biws,r=abcSNONCE,p=" + strings.NewReplacer("+", "-", "/", "_").Replace(b64(strings.Repeat("\xfb\xff", 16))), errProof},
		{"proof of 31 bytes", "c=biws,r=abcSNONCE,p=" + base64.StdEncoding.EncodeToString(raw[:31]), errProof},
		{"proof of 33 bytes", "c=biws,r=abcSNONCE,p=" + base64.StdEncoding.EncodeToString(append(raw, 0)), errProof},
		{"proof of SHA-512's size", "c=biws,r=abcSNONCE,p=" + base64.StdEncoding.EncodeToString(append(raw, raw...)), errProof},
		{"extension after the proof", good + ",x=y", errProof},
		{"P=", "c=biws,r=abcSNONCE,P=" + goodProof, errProof},
		{"bad extension", "c=biws,r=abcSNONCE,x,p=" + goodProof, errExtension},
		{"second nonce", "c=biws,r=abcSNONCE,r=abcSNONCE,p=" + goodProof, errExtension},
		{"two proofs", "c=biws,r=abcSNONCE,p=" + goodProof + ",p=" + goodProof, errProof},
		{"wrong proof", "c=biws,r=abcSNONCE,p=" + base64.StdEncoding.EncodeToString(flipped), ErrAuthFailed},
		{"zero proof", "c=biws,r=abcSNONCE,p=" + base64.StdEncoding.EncodeToString(make([]byte, 32)), ErrAuthFailed},
		{"wrong password", wrongPassword.finalFor(first, s1, "c=biws,r=abcSNONCE"), ErrAuthFailed},
		{"another user's password", f.refOther.finalFor(first, s1, "c=biws,r=abcSNONCE"), ErrAuthFailed},
		{"proof without the extension", "c=biws,r=abcSNONCE,x=y,p=" + goodProof, ErrAuthFailed},
		{"StoredKey as proof", "c=biws,r=abcSNONCE,p=" + base64.StdEncoding.EncodeToString(f.ref.storedKey), ErrAuthFailed},
		{"ClientKey as proof", "c=biws,r=abcSNONCE,p=" + base64.StdEncoding.EncodeToString(f.ref.clientKey), ErrAuthFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conv := f.s.Start()
			if got, err := step(conv, first); err != nil || got != s1 {
				t.Fatalf("client-first: %q, %v", got, err)
			}
			reply, err := conv.Step(context.Background(), []byte(tc.msg))
			if err != tc.want {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if reply != nil || conv.Done() || conv.Username() != "" {
				t.Fatalf("reply %q, Done %v, Username %q after an error", reply, conv.Done(), conv.Username())
			}
			if _, err := step(conv, good); err != ErrFinished {
				t.Fatalf("Step after the error, with the right proof: %v, want ErrFinished", err)
			}
		})
	}
	conv := f.s.Start()
	step(conv, first)
	if _, err := step(conv, good); err != nil {
		t.Fatalf("the right proof: %v", err)
	}
}

// base64Next returns the base64 character after c.
func base64Next(c byte) byte {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	return alphabet[(strings.IndexByte(alphabet, c)+1)%64]
}

// TestUnknownUser checks that a client cannot tell an unknown user from a
// wrong password: the same error, and a server-first-message of the same
// shape, with a salt that does not change from one attempt to the next.
func TestUnknownUser(t *testing.T) {
	f := newFixture(t)
	run := func(t *testing.T, s *Server, user string, ref refKeys) (string, error) {
		t.Helper()
		conv := s.Start()
		first := "n,,n=" + user + ",r=abc"
		s1, err := step(conv, first)
		if err != nil {
			t.Fatalf("client-first for %q: %v", user, err)
		}
		_, err = step(conv, ref.finalFor(first, s1, "c=biws,r=abcSNONCE"))
		return s1, err
	}
	wrong := deriveRef(t, refHash(t, "SCRAM-SHA-256"), "guess", f.salt, 4096)
	known1, errWrong := run(t, f.s, "user", wrong)
	known2, _ := run(t, f.s, "user", wrong)
	unknown1, errUnknown := run(t, f.s, "nobody", wrong)
	unknown2, _ := run(t, f.s, "nobody", f.ref)
	other, _ := run(t, f.s, "nobody2", wrong)

	if errWrong != ErrAuthFailed || errUnknown != ErrAuthFailed || errWrong.Error() != errUnknown.Error() {
		t.Fatalf("wrong password: %v; unknown user: %v; want ErrAuthFailed for both", errWrong, errUnknown)
	}
	if known1 != f.serverFirst("abc") || known2 != known1 {
		t.Fatalf("known user's server-first %q, %q; want the real salt, %q", known1, known2, f.serverFirst("abc"))
	}
	if unknown1 != unknown2 {
		t.Fatalf("unknown user's server-first changed: %q, then %q", unknown1, unknown2)
	}
	if unknown1 == other {
		t.Fatalf("two unknown users got the same salt: %q", unknown1)
	}
	salt, iters := parseServerFirst(t, unknown1)
	if len(salt) != SaltLen || iters != DefaultIterations {
		t.Fatalf("fake salt of %d bytes, %d iterations; want %d, %d", len(salt), iters, SaltLen, DefaultIterations)
	}
	// The fake salt is HMAC-SHA-256(FakeKey, mechanism name, 0, username).
	if want := refMAC(refHash(t, "SCRAM-SHA-256"), testFakeKey, "SCRAM-SHA-256\x00nobody"); string(salt) != string(want) {
		t.Fatalf("fake salt %x, want %x", salt, want)
	}

	// Another mechanism, another FakeKey, another FakeIterations: other
	// salts; a long FakeKey is hashed first, as HMAC does.
	s512 := newTestServer(t, SHA512, nil, fixtureNonce)
	ref512 := deriveRef(t, refHash(t, "SCRAM-SHA-512"), "guess", f.salt, 4096)
	if s1, err := run(t, s512, "nobody", ref512); s1 == unknown1 || err != ErrAuthFailed {
		t.Fatalf("SCRAM-SHA-512: %q, %v", s1, err)
	}
	longKey := []byte(strings.Repeat("k", 100))
	s2, err := NewServer(ServerConfig{Mechanism: SHA256, Lookup: mapLookup(nil), FakeKey: longKey, FakeIterations: 8192,
		Nonce: func() string { return fixtureNonce }})
	if err != nil {
		t.Fatal(err)
	}
	s1, err := run(t, s2, "nobody", wrong)
	if err != ErrAuthFailed {
		t.Fatal(err)
	}
	salt, iters = parseServerFirst(t, s1)
	if want := refMAC(refHash(t, "SCRAM-SHA-256"), longKey, "SCRAM-SHA-256\x00nobody"); string(salt) != string(want) || iters != 8192 {
		t.Fatalf("with a long FakeKey and FakeIterations: salt %x, %d iterations; want %x, 8192", salt, iters, want)
	}
}

func parseServerFirst(t *testing.T, s1 string) ([]byte, int) {
	t.Helper()
	parts := strings.Split(s1, ",")
	if len(parts) != 3 || !strings.HasPrefix(parts[1], "s=") || !strings.HasPrefix(parts[2], "i=") {
		t.Fatalf("server-first %q", s1)
	}
	salt, err := base64.StdEncoding.DecodeString(parts[1][2:])
	if err != nil {
		t.Fatal(err)
	}
	var iters int
	for _, c := range parts[2][2:] {
		iters = iters*10 + int(c-'0')
	}
	return salt, iters
}

// TestRandomNonce checks the server's own nonce: 24 base64 characters
// after the client's, different every time.
func TestRandomNonce(t *testing.T) {
	f := newFixture(t)
	s := newTestServer(t, SHA256, map[string]Verifier{"user": f.ref.verifier(f.salt, 4096)}, "")
	seen := map[string]bool{}
	for range 100 {
		s1, err := step(s.Start(), "n,,n=user,r=abc")
		if err != nil {
			t.Fatal(err)
		}
		nonce := strings.TrimPrefix(strings.Split(s1, ",")[0], "r=abc")
		raw, err := base64.StdEncoding.DecodeString(nonce)
		if err != nil || len(raw) != nonceRandLen || seen[nonce] {
			t.Fatalf("server nonce %q: %v, %d bytes, seen before %v", nonce, err, len(raw), seen[nonce])
		}
		seen[nonce] = true
	}
}

func TestLookupErrors(t *testing.T) {
	f := newFixture(t)
	storeErr := errors.New("store: unavailable")
	var gotCtx context.Context
	type ctxKey struct{}
	ctx := context.WithValue(context.Background(), ctxKey{}, 1)
	good := f.ref.verifier(f.salt, 4096)
	for _, tc := range []struct {
		name   string
		lookup func(context.Context, string) (Verifier, bool, error)
		want   error
	}{
		{"store error", func(c context.Context, _ string) (Verifier, bool, error) {
			gotCtx = c
			return Verifier{}, false, storeErr
		}, storeErr},
		{"store error with a verifier", func(context.Context, string) (Verifier, bool, error) { return good, true, storeErr }, storeErr},
		{"short keys", func(context.Context, string) (Verifier, bool, error) {
			v := good
			v.StoredKey = v.StoredKey[:31]
			return v, true, nil
		}, errVerifierKeys},
		{"SHA-512 keys", func(context.Context, string) (Verifier, bool, error) {
			v := good
			v.StoredKey, v.ServerKey = append(v.StoredKey, v.StoredKey...), append(v.ServerKey, v.ServerKey...)
			return v, true, nil
		}, errVerifierKeys},
		{"no salt", func(context.Context, string) (Verifier, bool, error) { v := good; v.Salt = nil; return v, true, nil }, errVerifierSalt},
		{"few iterations", func(context.Context, string) (Verifier, bool, error) {
			v := good
			v.Iterations = 4095
			return v, true, nil
		}, errVerifierIterations},
		{"many iterations", func(context.Context, string) (Verifier, bool, error) {
			v := good
			v.Iterations = 1 << 40
			return v, true, nil
		}, errVerifierIterations},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewServer(ServerConfig{Mechanism: SHA256, Lookup: tc.lookup, FakeKey: testFakeKey})
			if err != nil {
				t.Fatal(err)
			}
			conv := s.Start()
			if reply, err := conv.Step(ctx, []byte("n,,n=user,r=abc")); err != tc.want || reply != nil {
				t.Fatalf("Step: %q, %v; want %v", reply, err, tc.want)
			}
			if _, err := step(conv, "c=biws"); err != ErrFinished {
				t.Fatalf("Step after the error: %v", err)
			}
		})
	}
	if gotCtx != ctx {
		t.Errorf("Lookup did not get the context passed to Step")
	}
}

func TestServerNonceHook(t *testing.T) {
	for _, nonce := range []string{"a,b", "a b", "é", strings.Repeat("n", MaxNonceLen+1)} {
		s, err := NewServer(ServerConfig{Mechanism: SHA256, Lookup: mapLookup(nil), FakeKey: testFakeKey, Nonce: func() string { return nonce }})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := step(s.Start(), "n,,n=user,r=abc"); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("server nonce %q: %v, want ErrInvalidConfig", nonce, err)
		}
	}
	// The empty string too: a nil Nonce means crypto/rand, a Nonce that
	// returns "" is a broken hook.
	s, _ := NewServer(ServerConfig{Mechanism: SHA256, Lookup: mapLookup(nil), FakeKey: testFakeKey, Nonce: func() string { return "" }})
	if _, err := step(s.Start(), "n,,n=user,r=abc"); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("empty server nonce: %v, want ErrInvalidConfig", err)
	}
}

func TestZeroConversation(t *testing.T) {
	var c Conversation
	if _, err := step(&c, "n,,n=user,r=abc"); err != ErrFinished || c.Done() || c.Username() != "" {
		t.Fatalf("zero Conversation: %v, Done %v, Username %q", err, c.Done(), c.Username())
	}
}

func TestNewServerErrors(t *testing.T) {
	lookup := mapLookup(nil)
	for _, tc := range []struct {
		name string
		cfg  ServerConfig
		want error
	}{
		{"zero mechanism", ServerConfig{Lookup: lookup, FakeKey: testFakeKey}, errMechanism},
		{"unknown mechanism", ServerConfig{Mechanism: 9, Lookup: lookup, FakeKey: testFakeKey}, errMechanism},
		{"no lookup", ServerConfig{Mechanism: SHA256, FakeKey: testFakeKey}, errLookup},
		{"no fake key", ServerConfig{Mechanism: SHA256, Lookup: lookup}, errFakeKey},
		{"short fake key", ServerConfig{Mechanism: SHA256, Lookup: lookup, FakeKey: testFakeKey[:MinFakeKeyLen-1]}, errFakeKey},
		{"few fake iterations", ServerConfig{Mechanism: SHA256, Lookup: lookup, FakeKey: testFakeKey, FakeIterations: 4095}, errFakeIterations},
		{"many fake iterations", ServerConfig{Mechanism: SHA256, Lookup: lookup, FakeKey: testFakeKey, FakeIterations: 16385}, errFakeIterations},
		{"negative fake iterations", ServerConfig{Mechanism: SHA256, Lookup: lookup, FakeKey: testFakeKey, FakeIterations: -1}, errFakeIterations},
	} {
		if s, err := NewServer(tc.cfg); err != tc.want || s != nil || !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: %v, %v; want %v", tc.name, s, err, tc.want)
		}
	}
	s, err := NewServer(ServerConfig{Mechanism: SHA512, Lookup: lookup, FakeKey: testFakeKey[:MinFakeKeyLen]})
	if err != nil || s.Mechanism() != SHA512 {
		t.Fatalf("NewServer: %v, %v", s, err)
	}
}

func TestNewVerifierErrors(t *testing.T) {
	salt := []byte("0123456789abcdef")
	for _, tc := range []struct {
		name     string
		m        Mechanism
		password string
		salt     []byte
		iters    int
		want     error
	}{
		{"zero mechanism", 0, "p", salt, 4096, errMechanism},
		{"empty password", SHA256, "", salt, 4096, errVerifierPassword},
		{"few iterations", SHA256, "p", salt, 4095, errVerifierIterations},
		{"many iterations", SHA256, "p", salt, 16385, errVerifierIterations},
		{"zero iterations", SHA256, "p", salt, 0, errVerifierIterations},
		{"empty salt", SHA256, "p", []byte{}, 4096, errVerifierSalt},
		{"short salt", SHA256, "p", salt[:MinSaltLen-1], 4096, errVerifierSalt},
		{"long salt", SHA256, "p", make([]byte, MaxSaltLen+1), 4096, errVerifierSalt},
	} {
		if _, err := NewVerifier(tc.m, []byte(tc.password), tc.salt, tc.iters); err != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	// A nil salt is SaltLen random bytes; a salt given is copied.
	v1, err := NewVerifier(SHA512, []byte("p"), nil, MaxIterations)
	if err != nil {
		t.Fatal(err)
	}
	v2, _ := NewVerifier(SHA512, []byte("p"), nil, MaxIterations)
	if len(v1.Salt) != SaltLen || string(v1.Salt) == string(v2.Salt) || SHA512.CheckVerifier(v1) != nil {
		t.Fatalf("random salts %x and %x", v1.Salt, v2.Salt)
	}
	given := []byte("0123456789abcdef")
	v3, _ := NewVerifier(SHA256, []byte("p"), given, MinIterations)
	given[0] = 'X'
	if v3.Salt[0] != '0' {
		t.Fatalf("NewVerifier kept the caller's salt")
	}
	if err := SHA256.CheckVerifier(v1); err != errVerifierKeys {
		t.Fatalf("a SHA-512 verifier for SHA-256: %v", err)
	}
	if err := Mechanism(0).CheckVerifier(v1); err != errMechanism {
		t.Fatalf("CheckVerifier of the zero Mechanism: %v", err)
	}
}

func TestMechanismNames(t *testing.T) {
	for _, tc := range []struct {
		m    Mechanism
		name string
		size int
	}{{SHA256, "SCRAM-SHA-256", 32}, {SHA512, "SCRAM-SHA-512", 64}} {
		if tc.m.String() != tc.name || !tc.m.Valid() || tc.m.Size() != tc.size {
			t.Errorf("%d: %q, Valid %v, Size %d", tc.m, tc.m, tc.m.Valid(), tc.m.Size())
		}
		if m, ok := MechanismByName(tc.name); !ok || m != tc.m {
			t.Errorf("MechanismByName(%q) = %v, %v", tc.name, m, ok)
		}
	}
	for _, name := range []string{"", "SCRAM-SHA-1", "scram-sha-256", "SCRAM-SHA-256-PLUS", "PLAIN", "SCRAM-SHA-256 "} {
		if m, ok := MechanismByName(name); ok {
			t.Errorf("MechanismByName(%q) = %v", name, m)
		}
	}
	for _, m := range []Mechanism{0, 4, 255} {
		if m.Valid() || m.Size() != 0 || m.String() != "scram.Mechanism("+strconv.Itoa(int(m))+")" {
			t.Errorf("Mechanism(%d): Valid %v, Size %d, %q", m, m.Valid(), m.Size(), m)
		}
	}
}

// TestInputNotRetained overwrites each message after its Step: the
// conversation must have kept copies of what it needs.
func TestInputNotRetained(t *testing.T) {
	f := newFixture(t)
	const first = "n,a=user,n=user,r=abc,x=y"
	s1 := f.serverFirst("abc")
	final := f.ref.finalFor(first, s1, "c="+b64("n,a=user,")+",r=abcSNONCE,z=1")
	conv := f.s.Start()
	buf := []byte(first)
	if _, err := conv.Step(context.Background(), buf); err != nil {
		t.Fatal(err)
	}
	for i := range buf {
		buf[i] = 'X'
	}
	buf = []byte(final)
	s2, err := conv.Step(context.Background(), buf)
	if err != nil || !conv.Done() {
		t.Fatal(err)
	}
	for i := range buf {
		buf[i] = 'X'
	}
	if conv.Username() != "user" || !strings.HasPrefix(string(s2), "v=") {
		t.Fatalf("Username %q, reply %q", conv.Username(), s2)
	}
}

// TestConcurrentConversations runs conversations of one Server from many
// goroutines at once; run it with -race.
func TestConcurrentConversations(t *testing.T) {
	f := newFixture(t)
	const first = "n,,n=user,r=abc"
	final := f.ref.finalFor(first, f.serverFirst("abc"), "c=biws,r=abcSNONCE")
	wrong := f.refOther.finalFor(first, f.serverFirst("abc"), "c=biws,r=abcSNONCE")
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			for i := range 50 {
				conv := f.s.Start()
				msg := final
				if (g+i)%3 == 0 {
					msg = wrong
				}
				if _, err := step(conv, first); err != nil {
					errs <- err
					return
				}
				_, err := step(conv, msg)
				if (msg == final) != (err == nil) || (err != nil && err != ErrAuthFailed) {
					errs <- fmt.Errorf("goroutine %d, exchange %d: %v", g, i, err)
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
