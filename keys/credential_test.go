package keys_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"github.com/streamauth/streamauth/keys"
)

func TestUsername(t *testing.T) {
	u, err := keys.NewUsername()
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^ccun_[0-9a-f]{32}$`).MatchString(string(u)) {
		t.Fatalf("username %q has the wrong shape", u)
	}
	if got, err := keys.ParseUsername(string(u)); err != nil || got != u {
		t.Fatalf("ParseUsername(%q) = %q, %v", u, got, err)
	}
	v, _ := keys.NewUsername()
	if u == v {
		t.Fatal("two usernames are equal")
	}
	for _, bad := range []string{
		"", "ccun_", string(u[:len(u)-1]), string(u) + "0", "ccux_" + string(u[5:]),
		strings.ToUpper(string(u[:5])) + string(u[5:]), "ccun_" + strings.Repeat("G", 32),
		"ccun_" + strings.ToUpper(string(u[5:])),
	} {
		if _, err := keys.ParseUsername(bad); !errors.Is(err, keys.ErrInvalidName) {
			t.Errorf("ParseUsername(%q): %v, want ErrInvalidName", bad, err)
		}
	}
}

func TestNewPassword(t *testing.T) {
	p, err := keys.NewPassword()
	if err != nil {
		t.Fatal(err)
	}
	text := p.Reveal()
	if !regexp.MustCompile(`^ccp_[0-9a-f]{64}$`).MatchString(text) {
		t.Fatal("generated password has the wrong shape")
	}
	q, _ := keys.NewPassword()
	if p.Equal(q) || !p.Equal(p) {
		t.Fatal("Equal is wrong on generated passwords")
	}
	if p.IsZero() || !(keys.Password{}).IsZero() {
		t.Fatal("IsZero is wrong")
	}
	imp, err := keys.ImportPassword(text)
	if err != nil || !imp.Equal(p) {
		t.Fatalf("importing a generated password: %v, equal %v", err, imp.Equal(p))
	}
	if got := string(p.AppendPlain([]byte("x"))); got != "x"+text {
		t.Fatal("AppendPlain does not append the password")
	}
}

func TestImportPassword(t *testing.T) {
	for _, ok := range []string{"hunter22", "pässwörd-ünïcode", strings.Repeat("x", keys.MaxPasswordLen), "with space and ,=;"} {
		p, err := keys.ImportPassword(ok)
		if err != nil {
			t.Errorf("ImportPassword of a %d-byte password: %v", len(ok), err)
			continue
		}
		if p.Reveal() != ok {
			t.Errorf("a %d-byte password does not round-trip", len(ok))
		}
	}
	for _, bad := range []string{"", "short", strings.Repeat("x", keys.MaxPasswordLen+1), "bad\xffutf8!", "nul\x00inside"} {
		_, err := keys.ImportPassword(bad)
		if !errors.Is(err, keys.ErrInvalidPassword) {
			t.Errorf("ImportPassword(%d bytes): %v, want ErrInvalidPassword", len(bad), err)
			continue
		}
		if bad != "" && strings.Contains(err.Error(), bad) {
			t.Errorf("the error for a %d-byte password quotes it", len(bad))
		}
	}
}

// TestPasswordRedacted prints a password every way a caller might and finds
// none of it in the output.
func TestPasswordRedacted(t *testing.T) {
	p, err := keys.NewPassword()
	if err != nil {
		t.Fatal(err)
	}
	body := strings.TrimPrefix(p.Reveal(), keys.PasswordPrefix)
	type hidden struct{ p keys.Password }
	type shown struct{ P keys.Password }
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v", "%10.3s"} {
		outs = append(outs, fmt.Sprintf(verb, p), fmt.Sprintf(verb, &p), fmt.Sprintf(verb, shown{p}))
	}
	outs = append(outs, fmt.Sprintf("%+v %#v", hidden{p}, hidden{p}), p.String(), p.GoString())
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("login", "password", p, "holder", shown{p})
	outs = append(outs, buf.String())
	if b, err := json.Marshal(shown{p}); err == nil {
		t.Errorf("json.Marshal of a password succeeded (%d bytes)", len(b))
	}
	for n, out := range outs {
		for i := 0; i+12 <= len(body); i++ {
			if w := body[i : i+12]; strings.Contains(strings.ToLower(out), w) {
				t.Fatalf("output %d shows hex digits of the password", n)
			}
		}
	}
}
