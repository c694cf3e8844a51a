package fuzz

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/streamauth/streamauth/keys"
)

// keysKAT is a known valid secret: the bytes 0x00…0x1b and their CRC-32C.
const keysKAT = "aks_000102030405060708090a0b0c0d0e0f101112131415161718191a1b64dec9c1"

// keysLeaks reports whether the error message msg quotes the input in. An
// input that is just a piece of the package's fixed wording (one of the
// messages in fixed, produced for unrelated inputs) does not count.
func keysLeaks(msg, in string, fixed []string) bool {
	if len(in) < 8 || !strings.Contains(msg, in) {
		return false
	}
	for _, f := range fixed {
		if strings.Contains(f, in) {
			return false
		}
	}
	return true
}

// keysMessages returns the error messages of f for the given inputs.
func keysMessages(f func(string) error, ins ...string) []string {
	var out []string
	for _, in := range ins {
		if err := f(in); err != nil {
			out = append(out, err.Error())
		}
	}
	return out
}

// keysSecretOracle reports whether in is a well-formed secret, by the
// format's definition, independently of package keys.
func keysSecretOracle(in string) bool {
	if len(in) != 68 || !strings.HasPrefix(in, "aks_") {
		return false
	}
	body := in[4:]
	if strings.ToLower(body) != body {
		return false
	}
	b, err := hex.DecodeString(body)
	if err != nil {
		return false
	}
	return crc32.Checksum(b[:28], crc32.MakeTable(crc32.Castagnoli)) == binary.BigEndian.Uint32(b[28:])
}

func FuzzParseSecret(f *testing.F) {
	body := keysKAT[4:]
	seeds := []string{
		keysKAT,
		"", "aks_", "aks", keysKAT[:67], keysKAT + "0", body, " " + keysKAT[:67], keysKAT[:67] + "\n",
		"akx_" + body, "AKS_" + body, "aki_" + body, "aks-" + body,
		"aks_" + strings.ToUpper(body), "aks_A" + body[1:], "aks_g" + body[1:],
		"aks_\xff" + body[1:], "aks_\x00" + body[1:], "aks_" + body[:62] + "é",
		"aks_" + strings.Repeat("0", 64), "aks_" + strings.Repeat("f", 64),
		keysKAT[:67] + "2",                                         // checksum digit changed
		"aks_1" + body[1:],                                         // data digit changed
		"aks_" + body[1:2] + body[0:1] + body[2:],                  // transposition
		"aks_" + body[:55] + body[56:57] + body[55:56] + body[57:], // across data and checksum
		"keys: malformed secret: wrong length",
	}
	for range 3 {
		s, err := keys.NewSecret()
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, s.Reveal())
	}
	for _, s := range seeds {
		f.Add(s)
	}
	parseErr := func(s string) error { _, err := keys.ParseSecret(s); return err }
	fixed := keysMessages(parseErr, "", "akx_"+body, "aks_"+strings.Repeat("g", 64), "aks_"+strings.Repeat("0", 64))
	plain, err := keys.NewHasher(nil)
	if err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, in string) {
		s, err := keys.ParseSecret(in)
		// DigestText is ParseSecret and Digest in one: the same error, or
		// the same digest.
		d, derr := plain.DigestText(in)
		if derr != err {
			t.Fatalf("DigestText(%q) error %v, ParseSecret's %v", in, derr, err)
		}
		if err == nil && !d.Equal(plain.Digest(&s)) {
			t.Fatalf("DigestText(%q) is not Digest(ParseSecret(%q))", in, in)
		}
		if want := keysSecretOracle(in); (err == nil) != want {
			t.Fatalf("ParseSecret(%q) error %v, but well-formed = %v", in, err, want)
		}
		if err != nil {
			if !errors.Is(err, keys.ErrMalformedSecret) {
				t.Fatalf("ParseSecret(%q) error %v does not match ErrMalformedSecret", in, err)
			}
			if !s.IsZero() {
				t.Fatalf("ParseSecret(%q) returned a non-zero secret with its error", in)
			}
			if keysLeaks(err.Error(), in, fixed) {
				t.Fatalf("ParseSecret error %q contains the input %q", err, in)
			}
			return
		}
		if got := s.Reveal(); got != in {
			t.Fatalf("ParseSecret(%q).Reveal() = %q", in, got)
		}
		again, err := keys.ParseSecret(s.Reveal())
		if err != nil || !again.Equal(s) {
			t.Fatalf("ParseSecret(Reveal()) = %v, Equal %v", err, again.Equal(s))
		}
		if s.IsZero() {
			t.Fatalf("ParseSecret(%q) IsZero", in)
		}
		if out := fmt.Sprintf("%v %+v %s %x", s, s, s, s); out != strings.Repeat("aks_[REDACTED] ", 3)+"aks_[REDACTED]" {
			t.Fatalf("a parsed secret printed as %q", out)
		}
		raw, _ := hex.DecodeString(in[4:])
		want := sha256.Sum256(raw)
		if d := plain.Digest(&s); !d.EqualBytes(want[:]) {
			t.Fatalf("Digest(%q) is not SHA-256 of its bytes", in)
		}
	})
}

// keysCheckID checks one kind's parser on in and reports whether it
// accepted.
func keysCheckID[K keys.Kind](t *testing.T, in, prefix string, parse func(string) (keys.ID[K], error), fixed []string) bool {
	t.Helper()
	id, err := parse(in)
	if want := keysIDOracle(in, prefix); (err == nil) != want {
		t.Fatalf("parse %s(%q) error %v, but well-formed = %v", prefix, in, err, want)
	}
	if err != nil {
		if !errors.Is(err, keys.ErrMalformedID) {
			t.Fatalf("parse %s(%q) error %v does not match ErrMalformedID", prefix, in, err)
		}
		if !id.IsZero() {
			t.Fatalf("parse %s(%q) returned a non-zero ID with its error", prefix, in)
		}
		if keysLeaks(err.Error(), in, fixed) {
			t.Fatalf("parse %s error %q contains the input %q", prefix, err, in)
		}
		// UnmarshalText refuses the same inputs, except the empty text,
		// which it reads as the zero ID (what MarshalText writes for it).
		var u keys.ID[K]
		err := u.UnmarshalText([]byte(in))
		if !u.IsZero() || (err == nil) != (in == "") {
			t.Fatalf("UnmarshalText(%q) = %v, %v after parse refused it", in, u, err)
		}
		return false
	}
	if id.IsZero() {
		t.Fatalf("parse %s(%q) accepted the zero ID", prefix, in)
	}
	if got := id.String(); got != in {
		t.Fatalf("parse %s(%q).String() = %q", prefix, in, got)
	}
	if m, err := id.MarshalText(); err != nil || string(m) != in {
		t.Fatalf("MarshalText = %q, %v; want %q", m, err, in)
	}
	again, err := parse(id.String())
	if err != nil || again != id {
		t.Fatalf("parse(String()) = %v, %v; want %v", again, err, id)
	}
	var viaBytes keys.ID[K]
	b := id.Bytes()
	if err := viaBytes.SetBytes(b[:]); err != nil || viaBytes != id {
		t.Fatalf("SetBytes(Bytes()) = %v, %v", viaBytes, err)
	}
	return true
}

// keysIDOracle reports whether in is the canonical text of a non-zero
// identifier with the given prefix, independently of package keys.
func keysIDOracle(in, prefix string) bool {
	if !strings.HasPrefix(in, prefix) {
		return false
	}
	u := in[len(prefix):]
	if len(u) != 36 {
		return false
	}
	for i := range 36 {
		c := u[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '_' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return strings.Trim(u, "0_") != ""
}

// keysCheckIDBytes checks that any 16 bytes give an ID whose text parses
// back to it, or the zero ID.
func keysCheckIDBytes[K keys.Kind](t *testing.T, b []byte, prefix string, parse func(string) (keys.ID[K], error)) {
	t.Helper()
	var id keys.ID[K]
	if err := id.SetBytes(b); err != nil {
		t.Fatalf("SetBytes(%x): %v", b, err)
	}
	if got := id.Bytes(); !bytes.Equal(got[:], b) {
		t.Fatalf("Bytes() = %x after SetBytes(%x)", got, b)
	}
	if id.IsZero() {
		if id.String() != prefix+"none" {
			t.Fatalf("zero ID String() = %q", id.String())
		}
		return
	}
	s := id.String()
	back, err := parse(s)
	if err != nil || back != id {
		t.Fatalf("parse(%q) = %v, %v; want %v", s, back, err, id)
	}
	if !strings.HasPrefix(s, prefix) || !keysIDOracle(s, prefix) {
		t.Fatalf("String() = %q is not canonical", s)
	}
}

func FuzzParseID(f *testing.F) {
	const u = "1b4e28ba_2fa1_41d2_883f_0016d3cca427"
	prefixes := []string{"aci_", "wsi_", "vci_", "aki_", "cci_"}
	for _, p := range prefixes {
		f.Add(p + u)
		f.Add(p + "none")
		f.Add(p + "00000000_0000_0000_0000_000000000000")
		f.Add(p + "00000000_0000_0000_0000_000000000001")
		f.Add(strings.ToUpper(p + u))
		f.Add(p + strings.ReplaceAll(u, "_", "-"))
		f.Add(p + u[:35])
		f.Add(p + u + "0")
		f.Add(p + "g" + u[1:])
		f.Add(p + "\xff" + u[1:])
	}
	f.Add("")
	f.Add(u)
	f.Add("0123456789abcdef")
	f.Add("keys: malformed identifier: want vci_ followed by a UUID")
	for _, mk := range []func() (fmt.Stringer, error){
		func() (fmt.Stringer, error) { return keys.NewAccountID() },
		func() (fmt.Stringer, error) { return keys.NewWorkspaceID() },
		func() (fmt.Stringer, error) { return keys.NewClusterID() },
		func() (fmt.Stringer, error) { return keys.NewKeyID() },
		func() (fmt.Stringer, error) { return keys.NewCredentialID() },
	} {
		id, err := mk()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(id.String())
	}
	var fixed []string
	for _, p := range prefixes {
		for _, in := range []string{"", p + "g" + u[1:], p + "00000000_0000_0000_0000_000000000000"} {
			for _, parse := range []func(string) error{
				func(s string) error { _, err := keys.ParseAccountID(s); return err },
				func(s string) error { _, err := keys.ParseWorkspaceID(s); return err },
				func(s string) error { _, err := keys.ParseClusterID(s); return err },
				func(s string) error { _, err := keys.ParseKeyID(s); return err },
				func(s string) error { _, err := keys.ParseCredentialID(s); return err },
			} {
				fixed = append(fixed, keysMessages(parse, in)...)
			}
		}
	}

	f.Fuzz(func(t *testing.T, in string) {
		n := 0
		for _, ok := range []bool{
			keysCheckID(t, in, "aci_", keys.ParseAccountID, fixed),
			keysCheckID(t, in, "wsi_", keys.ParseWorkspaceID, fixed),
			keysCheckID(t, in, "vci_", keys.ParseClusterID, fixed),
			keysCheckID(t, in, "aki_", keys.ParseKeyID, fixed),
			keysCheckID(t, in, "cci_", keys.ParseCredentialID, fixed),
		} {
			if ok {
				n++
			}
		}
		if n > 1 {
			t.Fatalf("%q parses as %d kinds", in, n)
		}
		if len(in) >= keys.UUIDSize {
			b := []byte(in[:keys.UUIDSize])
			keysCheckIDBytes(t, b, "aci_", keys.ParseAccountID)
			keysCheckIDBytes(t, b, "wsi_", keys.ParseWorkspaceID)
			keysCheckIDBytes(t, b, "vci_", keys.ParseClusterID)
			keysCheckIDBytes(t, b, "aki_", keys.ParseKeyID)
			keysCheckIDBytes(t, b, "cci_", keys.ParseCredentialID)
		} else {
			var id keys.ClusterID
			if err := id.SetBytes([]byte(in)); !errors.Is(err, keys.ErrMalformedID) || !id.IsZero() {
				t.Fatalf("SetBytes(%d bytes) = %v, %v", len(in), id, err)
			}
		}
	})
}

var keysKeyNameOracle = regexp.MustCompile(`^akn_[A-Za-z0-9_]{1,124}$`)

func FuzzParseKeyName(f *testing.F) {
	for _, s := range []string{
		"akn_a", "akn__", "akn_CI_deploy_2", "akn_" + strings.Repeat("x", 124), "akn_" + strings.Repeat("x", 125),
		"", "akn", "akn_", "AKN_x", "akx_x", "akn_a-b", "akn_a b", "akn_é", "akn_\x00", "akn_\xff", "akn_a\n",
		"keys: invalid name: a key name holds only letters, digits and underscores",
	} {
		f.Add(s)
	}
	parseErr := func(s string) error { _, err := keys.ParseKeyName(s); return err }
	fixed := keysMessages(parseErr, "", "akn_a-b")

	f.Fuzz(func(t *testing.T, in string) {
		n, err := keys.ParseKeyName(in)
		if want := keysKeyNameOracle.MatchString(in); (err == nil) != want {
			t.Fatalf("ParseKeyName(%q) error %v, but well-formed = %v", in, err, want)
		}
		if err != nil {
			if !errors.Is(err, keys.ErrInvalidName) {
				t.Fatalf("ParseKeyName(%q) error %v does not match ErrInvalidName", in, err)
			}
			if n != "" {
				t.Fatalf("ParseKeyName(%q) returned %q with its error", in, n)
			}
			if keysLeaks(err.Error(), in, fixed) {
				t.Fatalf("ParseKeyName error %q contains the input %q", err, in)
			}
			return
		}
		if string(n) != in {
			t.Fatalf("ParseKeyName(%q) = %q", in, n)
		}
		if again, err := keys.ParseKeyName(string(n)); err != nil || again != n {
			t.Fatalf("ParseKeyName(ParseKeyName(%q)) = %q, %v", in, again, err)
		}
	})
}

// keysDisplayNameOracle is the display-name rule, written out from its
// documentation.
func keysDisplayNameOracle(s string) bool {
	if len(s) == 0 || len(s) > 200 || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) { // control and format characters
			return false
		}
	}
	return strings.TrimSpace(s) == s
}

func FuzzCheckDisplayName(f *testing.F) {
	for _, s := range []string{
		"\u200f", "pay\u202ements", "\ufeffname",
		"a", "Production", "Zürich 東京", "🚀 launch", "a\u00a0b", strings.Repeat("a", 200), strings.Repeat("é", 100),
		"", strings.Repeat("a", 201), strings.Repeat("é", 100) + "a", "\xff", "ab\xc3(", "\xed\xa0\x80",
		"a\x00b", "a\tb", "a\x7fb", "a\u0085b", " a", "a ", "\u00a0a", "a\u3000", "a\u2028",
		"keys: invalid name: a name is 1 to 200 bytes",
	} {
		f.Add(s)
	}
	fixed := keysMessages(keys.CheckDisplayName, "", "\xff", "a\x00", " a")

	f.Fuzz(func(t *testing.T, in string) {
		err := keys.CheckDisplayName(in)
		if want := keysDisplayNameOracle(in); (err == nil) != want {
			t.Fatalf("CheckDisplayName(%q) error %v, but valid = %v", in, err, want)
		}
		if err == nil {
			if !utf8.ValidString(in) || strings.TrimSpace(in) != in || len(in) == 0 || len(in) > keys.MaxDisplayNameLen {
				t.Fatalf("CheckDisplayName accepted %q", in)
			}
			for i := 0; i < len(in); i++ {
				if in[i] < 0x20 || in[i] == 0x7f {
					t.Fatalf("CheckDisplayName accepted %q with control byte %#x", in, in[i])
				}
			}
			return
		}
		if !errors.Is(err, keys.ErrInvalidName) {
			t.Fatalf("CheckDisplayName(%q) error %v does not match ErrInvalidName", in, err)
		}
		if keysLeaks(err.Error(), in, fixed) {
			t.Fatalf("CheckDisplayName error %q contains the input %q", err, in)
		}
	})
}
