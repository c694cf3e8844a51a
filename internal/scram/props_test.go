package scram

import (
	"context"
	"strings"
	"testing"

	xdg "github.com/xdg-go/scram"
	"pgregory.net/rapid"
)

// usernameGen draws usernames of 1 to MaxUsernameLen bytes, rich in ',',
// '=' and the characters of the escapes, with any other rune but NUL.
func usernameGen() *rapid.Generator[string] {
	r := rapid.OneOf(
		rapid.RuneFrom([]rune(",=23CD")),
		rapid.RuneFrom([]rune("a, =é東\x01\u00a0")),
		rapid.Rune().Filter(func(r rune) bool { return r != 0 }),
	)
	return rapid.StringOfN(r, 1, 100, MaxUsernameLen)
}

// TestUsernameEscaping runs full exchanges with xdg-go/scram's client for
// random usernames: whatever ',' and '=' a name holds, the client escapes
// them, and the server decodes them back to the very name, in the username
// and in the authorization identity.
func TestUsernameEscaping(t *testing.T) {
	salt := []byte("0123456789abcdef")
	v, err := NewVerifier(SHA256, []byte("pencil"), salt, MinIterations)
	if err != nil {
		t.Fatal(err)
	}
	rapid.Check(t, func(rt *rapid.T) {
		user := usernameGen().Draw(rt, "user")
		authz := rapid.SampledFrom([]string{"", user}).Draw(rt, "authz")
		flagY := rapid.Bool().Draw(rt, "y")
		var looked []string
		s, err := NewServer(ServerConfig{
			Mechanism: SHA256, FakeKey: testFakeKey,
			Lookup: func(_ context.Context, name string) (Verifier, bool, error) {
				looked = append(looked, name)
				return v, name == user, nil
			},
		})
		if err != nil {
			rt.Fatal(err)
		}
		client, err := xdg.SHA256.NewClientUnprepped(user, "pencil", authz)
		if err != nil {
			rt.Fatal(err)
		}
		cc := client.NewConversation()
		if flagY {
			cc = client.NewConversationAdvertisingChannelBinding()
		}
		conv := s.Start()
		msg := ""
		for {
			out, err := cc.Step(msg)
			if err != nil {
				rt.Fatalf("client: %v", err)
			}
			if cc.Done() {
				break
			}
			if msg, err = step(conv, out); err != nil {
				rt.Fatalf("server, on %q: %v", out, err)
			}
		}
		if !cc.Valid() || !conv.Done() || conv.Username() != user {
			rt.Fatalf("client valid %v, Done %v, Username %q", cc.Valid(), conv.Done(), conv.Username())
		}
		if len(looked) != 1 || looked[0] != user {
			rt.Fatalf("Lookup got %q", looked)
		}
	})
}

// TestDecodeNameProperty checks decodeName against an independent encoder
// on any bytes but NUL, valid UTF-8 or not: it inverts the encoding, and
// refuses any '=' the encoder could not have written.
func TestDecodeNameProperty(t *testing.T) {
	enc := strings.NewReplacer("=", "=3D", ",", "=2C")
	rapid.Check(t, func(rt *rapid.T) {
		raw := rapid.SliceOfN(rapid.SampledFrom([]byte("=,2C3Dx\xff")), 1, MaxUsernameLen).Draw(rt, "name")
		var dst [MaxUsernameLen]byte
		n, err := decodeName(&dst, []byte(enc.Replace(string(raw))))
		if err != nil || string(dst[:n]) != string(raw) {
			rt.Fatalf("decodeName(encode(%q)) = %q, %v", raw, dst[:n], err)
		}
		// Any text: accepted exactly when it is an encoding.
		text := rapid.SliceOfN(rapid.SampledFrom([]byte("=2C3Dcdx")), 1, 64).Draw(rt, "text")
		n, err = decodeName(&dst, text)
		if ok := enc.Replace(string(dst[:n])) == string(text); (err == nil) != ok {
			rt.Fatalf("decodeName(%q) = %q, %v; is an encoding: %v", text, dst[:n], err, ok)
		}
	})
}
