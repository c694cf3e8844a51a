package keys_test

import (
	"bytes"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/streamauth/streamauth/keys"
)

const placeholder = "aks_[REDACTED]"

// holder is a struct with an exported Secret field, as a caller would log.
type holder struct {
	Name string
	Key  keys.Secret
}

type ptrHolder struct {
	Key *keys.Secret
}

func newSecret(t *testing.T) keys.Secret {
	t.Helper()
	s, err := keys.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// assertRedacted fails if out shows any part of s: its text, any 16-digit
// run of its hex body, or its first bytes in decimal.
func assertRedacted(t *testing.T, label, out string, s keys.Secret) {
	t.Helper()
	text := s.Reveal()
	body := strings.TrimPrefix(text, keys.SecretPrefix)
	if strings.Contains(out, text) {
		t.Errorf("%s: output contains the secret: %q", label, out)
		return
	}
	for i := 0; i+16 <= len(body); i++ {
		if w := body[i : i+16]; strings.Contains(out, w) || strings.Contains(out, strings.ToUpper(w)) {
			t.Errorf("%s: output contains hex digits %s of the secret: %q", label, w, out)
			return
		}
	}
	raw, _ := hex.DecodeString(body)
	if dec := strings.Trim(fmt.Sprint(raw[:8]), "[]"); strings.Contains(out, dec) {
		t.Errorf("%s: output contains the secret's bytes in decimal: %q", label, out)
	}
}

func TestSecretNotComparable(t *testing.T) {
	if reflect.TypeOf(keys.Secret{}).Comparable() {
		t.Error("keys.Secret is comparable with ==")
	}
	if reflect.TypeOf(keys.Digest{}).Comparable() {
		t.Error("keys.Digest is comparable with ==")
	}
	if reflect.TypeOf(holder{}).Comparable() {
		t.Error("a struct holding a keys.Secret is comparable with ==")
	}
}

func TestSecretFmtVerbs(t *testing.T) {
	s := newSecret(t)
	for _, verb := range []string{
		"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%o", "%b", "%c", "%U", "%e", "%t",
		"%10v", "%-30s", "%#x", "% x", "%080x", "%.4s", "%+q", "%#q",
	} {
		got := fmt.Sprintf(verb, s)
		assertRedacted(t, verb, got, s)
		if got != placeholder {
			t.Errorf("Sprintf(%q, s) = %q, want %q", verb, got, placeholder)
		}
		got = fmt.Sprintf(verb, &s)
		assertRedacted(t, verb+" pointer", got, s)
		if got != placeholder {
			t.Errorf("Sprintf(%q, &s) = %q, want %q", verb, got, placeholder)
		}
	}
	// %p is left out: fmt handles it before it looks for a Formatter (see
	// TestSecretKnownLeaks). On a pointer it prints the address only.
	if got := fmt.Sprintf("%p", &s); !strings.HasPrefix(got, "0x") {
		t.Errorf("%%p of a pointer = %q", got)
	}
	if got := fmt.Sprintf("%T", s); got != "keys.Secret" {
		t.Errorf("%%T = %q", got)
	}
	for label, got := range map[string]string{
		"String":   s.String(),
		"Sprint":   fmt.Sprint(s),
		"Sprint &": fmt.Sprint(&s),
		"Sprintln": fmt.Sprintln(s),
		"GoString": s.GoString(),
	} {
		assertRedacted(t, label, got, s)
	}
	if got := s.String(); got != placeholder {
		t.Errorf("String() = %q", got)
	}
	if got := fmt.Sprintln(s, s); got != placeholder+" "+placeholder+"\n" {
		t.Errorf("Sprintln = %q", got)
	}
	if got := s.GoString(); got != "keys.Secret{aks_[REDACTED]}" {
		t.Errorf("GoString() = %q", got)
	}
}

func TestSecretInContainers(t *testing.T) {
	s := newSecret(t)
	h := holder{Name: "ci", Key: s}
	for _, tc := range []struct {
		format string
		arg    any
		want   string
	}{
		{"%v", h, "{ci aks_[REDACTED]}"},
		{"%+v", h, "{Name:ci Key:aks_[REDACTED]}"},
		{"%#v", h, `keys_test.holder{Name:"ci", Key:aks_[REDACTED]}`},
		{"%x", h, "{6369 aks_[REDACTED]}"},
		{"%d", h, "{%!d(string=ci) aks_[REDACTED]}"},
		{"%v", &h, "&{ci aks_[REDACTED]}"},
		{"%+v", &h, "&{Name:ci Key:aks_[REDACTED]}"},
		{"%v", ptrHolder{&s}, "{aks_[REDACTED]}"},
		{"%+v", &ptrHolder{&s}, "&{Key:aks_[REDACTED]}"},
		{"%v", []keys.Secret{s, s}, "[aks_[REDACTED] aks_[REDACTED]]"},
		{"%x", []keys.Secret{s}, "[aks_[REDACTED]]"},
		{"%v", [1]keys.Secret{s}, "[aks_[REDACTED]]"},
		{"%v", map[string]keys.Secret{"k": s}, "map[k:aks_[REDACTED]]"},
		{"%v", []any{s}, "[aks_[REDACTED]]"},
		{"%v", struct{ A []holder }{[]holder{h}}, "{[{ci aks_[REDACTED]}]}"},
	} {
		got := fmt.Sprintf(tc.format, tc.arg)
		assertRedacted(t, tc.format, got, s)
		if got != tc.want {
			t.Errorf("Sprintf(%q, %T) = %q, want %q", tc.format, tc.arg, got, tc.want)
		}
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "%v|%+v|%v|%s\n", h, &h, s, &s)
	fmt.Fprint(&buf, h, &h)
	fmt.Fprintln(&buf, h, &h)
	assertRedacted(t, "Fprintf", buf.String(), s)
	if n := strings.Count(buf.String(), placeholder); n != 8 {
		t.Errorf("Fprint output %q has %d placeholders, want 8", buf.String(), n)
	}
}

func TestSecretSlog(t *testing.T) {
	s := newSecret(t)
	noTime := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	opts := &slog.HandlerOptions{ReplaceAttr: noTime}
	for _, tc := range []struct {
		name string
		h    func(*bytes.Buffer) slog.Handler
		want string
	}{
		{"text", func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, opts) },
			"level=INFO msg=issued secret=aks_[REDACTED] ptr=aks_[REDACTED] g.inner=aks_[REDACTED]\n"},
		{"json", func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, opts) },
			`{"level":"INFO","msg":"issued","secret":"aks_[REDACTED]","ptr":"aks_[REDACTED]","g":{"inner":"aks_[REDACTED]"}}` + "\n"},
	} {
		var buf bytes.Buffer
		log := slog.New(tc.h(&buf))
		log.Info("issued", slog.Any("secret", s), slog.Any("ptr", &s), slog.Group("g", slog.Any("inner", s)))
		assertRedacted(t, tc.name, buf.String(), s)
		if buf.String() != tc.want {
			t.Errorf("%s handler: %q, want %q", tc.name, buf.String(), tc.want)
		}

		// Secrets inside structs and under With.
		buf.Reset()
		log.With("k", s).Info("m", "holder", holder{Name: "n", Key: s}, "ptr", &holder{Key: s}, "list", []keys.Secret{s})
		assertRedacted(t, tc.name+" struct", buf.String(), s)
		if tc.name == "text" && !strings.Contains(buf.String(), `holder="{Name:n Key:aks_[REDACTED]}" ptr="&{Name: Key:aks_[REDACTED]}" list=[aks_[REDACTED]]`) {
			t.Errorf("text handler struct: %q", buf.String())
		}
		// The JSON handler cannot marshal a Secret at all.
		if tc.name == "json" && !strings.Contains(buf.String(), "!ERROR") {
			t.Errorf("json handler struct: %q, want a marshalling error", buf.String())
		}
		// The text handler via the default logger.
		buf.Reset()
		old := slog.Default()
		slog.SetDefault(log)
		slog.Info("default", "secret", s)
		slog.SetDefault(old)
		assertRedacted(t, tc.name+" default", buf.String(), s)
	}
}

func TestSecretInErrors(t *testing.T) {
	s := newSecret(t)
	err := fmt.Errorf("issuing key: %v", s)
	if err.Error() != "issuing key: "+placeholder {
		t.Errorf("fmt.Errorf = %q", err)
	}
	wrapped := fmt.Errorf("handler: %w", err)
	joined := errors.Join(wrapped, fmt.Errorf("%+v %s %x %#v", s, s, s, &s))
	for label, e := range map[string]error{"Errorf": err, "wrapped": wrapped, "joined": joined} {
		assertRedacted(t, label, e.Error(), s)
		assertRedacted(t, label+" %+v", fmt.Sprintf("%+v", e), s)
	}
}

func TestSecretMarshalRefused(t *testing.T) {
	s := newSecret(t)
	for label, v := range map[string]any{
		"Secret":     s,
		"*Secret":    &s,
		"struct":     holder{Name: "n", Key: s},
		"*struct":    &holder{Key: s},
		"ptr field":  ptrHolder{&s},
		"slice":      []keys.Secret{s},
		"map":        map[string]keys.Secret{"k": s},
		"any in map": map[string]any{"k": s},
		"tagged": struct {
			K keys.Secret `json:"k,omitempty"`
		}{s},
		"tagged text": struct {
			K keys.Secret `json:"k,string"`
		}{s},
	} {
		b, err := json.Marshal(v)
		if err == nil {
			t.Errorf("json.Marshal(%s) = %s, want an error", label, b)
			continue
		}
		if len(b) != 0 {
			t.Errorf("json.Marshal(%s) returned output %q with its error", label, b)
		}
		assertRedacted(t, "json "+label, err.Error(), s)
		assertRedacted(t, "json "+label+" output", string(b), s)
		if !strings.Contains(err.Error(), "keys: a secret is never marshalled") {
			t.Errorf("json.Marshal(%s) error %q does not come from Secret.MarshalText", label, err)
		}
	}
	if b, err := s.MarshalText(); err == nil || b != nil {
		t.Errorf("MarshalText = %q, %v; want nil and an error", b, err)
	}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(holder{Key: s}); err == nil {
		t.Errorf("json Encoder wrote %q", buf.String())
	}
	assertRedacted(t, "json encoder output", buf.String(), s)
	if b, err := xml.Marshal(struct{ K keys.Secret }{s}); err == nil {
		t.Errorf("xml.Marshal = %s, want an error", b)
	} else {
		assertRedacted(t, "xml", err.Error()+string(b), s)
	}
	buf.Reset()
	if err := gob.NewEncoder(&buf).Encode(holder{Key: s}); err == nil {
		t.Errorf("gob encoded a secret: %x", buf.Bytes())
	} else {
		assertRedacted(t, "gob", err.Error(), s)
	}
	assertRedacted(t, "gob output", buf.String(), s)
	if bytes.Contains(buf.Bytes(), mustDecodeHex(t, strings.TrimPrefix(s.Reveal(), keys.SecretPrefix))[:8]) {
		t.Error("gob output contains the secret's bytes")
	}
}

func mustDecodeHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSecretReflectionPaths covers the two ways fmt reaches a Secret's
// bytes without calling its methods:
//
//   - %p: fmt handles %p before it looks for a Formatter; on a non-pointer
//     it reports a bad verb and prints the value through reflection with
//     methods turned off, so fmt.Sprintf("%p", s) shows the 32 bytes in
//     decimal. vet does not flag it, since Secret implements fmt.Formatter.
//   - a Secret in an unexported struct field: fmt cannot call its methods,
//     so %v shows its bytes in decimal and %x its exact hex text; slog's
//     text handler does the same.
//
// Secrets are held masked, so these paths show only masked bytes, never the
// secret.
func TestSecretReflectionPaths(t *testing.T) {
	s := newSecret(t)
	type credentials struct {
		user string
		key  keys.Secret
	}
	c := credentials{"ci", s}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("login", "creds", c)
	assertRedacted(t, "slog, unexported field", buf.String(), s)
	// The formats are not constants so that vet lets them through.
	for _, format := range []string{"%v", "%+v", "%x"} {
		assertRedacted(t, format+", unexported field", fmt.Sprintf(format, c), s)
		assertRedacted(t, format+", unexported field, pointer", fmt.Sprintf(format, &c), s)
	}
	p := "%p"
	assertRedacted(t, "%p", fmt.Sprintf(p, s), s)
	assertRedacted(t, "%p, exported field", fmt.Sprintf(p, holder{Key: s}), s)
}
