package keys_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/streamauth/streamauth/keys"
)

func TestParseKeyNameValid(t *testing.T) {
	for _, s := range []string{
		"akn_a", "akn_Z", "akn_0", "akn__", "akn_prod", "akn_CI_deploy_2",
		"akn_" + strings.Repeat("x", keys.MaxKeyNameLen-len(keys.KeyNamePrefix)),
		"akn_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_",
	} {
		n, err := keys.ParseKeyName(s)
		if err != nil {
			t.Errorf("ParseKeyName(%q): %v", s, err)
			continue
		}
		if string(n) != s {
			t.Errorf("ParseKeyName(%q) = %q", s, n)
		}
	}
	if keys.MaxKeyNameLen != 128 || keys.KeyNamePrefix != "akn_" {
		t.Errorf("MaxKeyNameLen = %d, KeyNamePrefix = %q", keys.MaxKeyNameLen, keys.KeyNamePrefix)
	}
}

func checkInvalidName(t *testing.T, label, in string, err error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s(%q) accepted", label, in)
		return
	}
	if !errors.Is(err, keys.ErrInvalidName) {
		t.Errorf("%s(%q) error %v does not match ErrInvalidName", label, in, err)
	}
	if len(in) >= 8 && strings.Contains(err.Error(), in) {
		t.Errorf("%s(%q) error %q contains the input", label, in, err)
	}
}

func TestParseKeyNameInvalid(t *testing.T) {
	for _, s := range []string{
		"", "a", "akn", "akn_", "akn_" + strings.Repeat("x", 125), "akn_" + strings.Repeat("x", 1<<16),
		"AKN_x", "akx_x", "aki_x", "akn-x", "x_akn_a", " akn_a", "akn_a ", "akn_ a",
		"akn_a-b", "akn_a.b", "akn_a/b", "akn_a b", "akn_é", "akn_a\x00", "akn_a\n", "akn_\xff",
		"akn_a\u200b", "akn_\u0430", // zero-width space, Cyrillic a
	} {
		n, err := keys.ParseKeyName(s)
		checkInvalidName(t, "ParseKeyName", s, err)
		if n != "" {
			t.Errorf("ParseKeyName(%q) returned %q with its error", s, n)
		}
	}
	// Every byte after the prefix: only ASCII letters, digits and _ pass.
	for c := range 256 {
		s := "akn_ab" + string([]byte{byte(c)}) + "cd"
		_, err := keys.ParseKeyName(s)
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
		if ok && err != nil {
			t.Errorf("ParseKeyName(%q): %v", s, err)
		}
		if !ok {
			checkInvalidName(t, "ParseKeyName", s, err)
		}
	}
}

func TestCheckDisplayNameValid(t *testing.T) {
	for _, s := range []string{
		"a", "Production", "team a", "Zürich 東京", "🚀 launch", "naïve café", "Ελληνικά", "a\u00a0b",
		"x-y_z.(1)", "'quoted'", strings.Repeat("a", keys.MaxDisplayNameLen),
		strings.Repeat("é", keys.MaxDisplayNameLen/2), // 200 bytes, 100 runes
		strings.Repeat("東", 66),                       // 198 bytes
	} {
		if err := keys.CheckDisplayName(s); err != nil {
			t.Errorf("CheckDisplayName(%q): %v", s, err)
		}
	}
	if keys.MaxDisplayNameLen != 200 {
		t.Errorf("MaxDisplayNameLen = %d", keys.MaxDisplayNameLen)
	}
}

func TestCheckDisplayNameInvalid(t *testing.T) {
	for _, s := range []string{
		"",
		strings.Repeat("a", keys.MaxDisplayNameLen+1),
		strings.Repeat("é", keys.MaxDisplayNameLen/2) + "a", // 201 bytes
		strings.Repeat("東", 67),                             // 201 bytes, 67 runes
		strings.Repeat("a", 1<<20),
		"\xff", "abc\xff", "ab\xc3(", "\xed\xa0\x80 surrogate", "\xc0\xaf overlong",
		"a\x00b", "a\tb", "a\nb", "a\rb", "a\x1bb", "a\x7fb", "a\u0085b", "a\u009fb",
		" a", "a ", " ", "\ta", "a\n", "\u00a0a", "a\u00a0", "\u3000a", "a\u2003", "a\u2028", "\u2029a",
		" Zürich", "東京 ",
	} {
		checkInvalidName(t, "CheckDisplayName", s, keys.CheckDisplayName(s))
	}
}

func TestNameErrorMessages(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{func() error { _, err := keys.ParseKeyName("akn_"); return err }(),
			`keys: invalid name: a key name is "akn_" followed by 1 to 124 letters, digits or underscores`},
		{func() error { _, err := keys.ParseKeyName("akn_a-b"); return err }(),
			"keys: invalid name: a key name holds only letters, digits and underscores"},
		{keys.CheckDisplayName(""), "keys: invalid name: a name is 1 to 200 bytes"},
		{keys.CheckDisplayName("\xff"), "keys: invalid name: a name is valid UTF-8"},
		{keys.CheckDisplayName("a\x00"), "keys: invalid name: a name holds no control or format characters"},
		{keys.CheckDisplayName(" a"), "keys: invalid name: a name has no leading or trailing space"},
	} {
		if tc.err == nil || tc.err.Error() != tc.want {
			t.Errorf("error %v, want %q", tc.err, tc.want)
		}
	}
}

func TestCheckDisplayNameRefusesFormatCharacters(t *testing.T) {
	for _, s := range []string{"pay\u202Ements", "a\u200Bb", "\uFEFFname", "x\u2066y"} {
		if err := keys.CheckDisplayName(s); !errors.Is(err, keys.ErrInvalidName) {
			t.Errorf("CheckDisplayName(%+q) = %v, want ErrInvalidName", s, err)
		}
	}
}
