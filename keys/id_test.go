package keys

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// idKind bundles the functions of one kind, for table-driven tests.
type idKind[K Kind] struct {
	prefix string
	newID  func() (ID[K], error)
	parse  func(string) (ID[K], error)
}

var (
	accountKindFns    = idKind[accountKind]{"aci_", NewAccountID, ParseAccountID}
	workspaceKindFns  = idKind[workspaceKind]{"wsi_", NewWorkspaceID, ParseWorkspaceID}
	clusterKindFns    = idKind[clusterKind]{"vci_", NewClusterID, ParseClusterID}
	keyKindFns        = idKind[keyKind]{"aki_", NewKeyID, ParseKeyID}
	credentialKindFns = idKind[credentialKind]{"cci_", NewCredentialID, ParseCredentialID}

	allPrefixes = []string{"aci_", "wsi_", "vci_", "aki_", "cci_"}
)

// knownBugs reports whether to run the tests of known bugs, which fail
// until they are fixed.

var uuidShape = regexp.MustCompile(`^[0-9a-f]{8}_[0-9a-f]{4}_4[0-9a-f]{3}_[89ab][0-9a-f]{3}_[0-9a-f]{12}$`)

// checkMalformedID checks that parse refuses in with ErrMalformedID, a zero
// ID and a message that does not quote the input.
func checkMalformedID[K Kind](t *testing.T, parse func(string) (ID[K], error), in string) {
	t.Helper()
	id, err := parse(in)
	if err == nil {
		t.Errorf("parse(%q) accepted as %v", in, id)
		return
	}
	if !errors.Is(err, ErrMalformedID) {
		t.Errorf("parse(%q) error %v does not match ErrMalformedID", in, err)
	}
	if !id.IsZero() {
		t.Errorf("parse(%q) returned a non-zero ID with its error", in)
	}
	if msg := err.Error(); len(in) >= 8 && strings.Contains(msg, in) {
		t.Errorf("parse(%q) error %q contains the input", in, msg)
	}
	if !strings.HasPrefix(err.Error(), "keys: malformed identifier: ") {
		t.Errorf("parse(%q) error %q", in, err)
	}
}

func testIDKind[K Kind](t *testing.T, k idKind[K]) {
	var kk K
	if kk.prefix() != k.prefix {
		t.Fatalf("prefix %q, want %q", kk.prefix(), k.prefix)
	}
	t.Run("new", func(t *testing.T) {
		seen := make(map[ID[K]]bool)
		for range 1000 {
			id, err := k.newID()
			if err != nil {
				t.Fatal(err)
			}
			if id.IsZero() {
				t.Fatal("new ID IsZero")
			}
			if seen[id] {
				t.Fatalf("new ID repeated: %v", id)
			}
			seen[id] = true
			b := id.Bytes()
			if b[6]>>4 != 4 {
				t.Fatalf("%v: version nibble %x, want 4", id, b[6]>>4)
			}
			if b[8]&0xc0 != 0x80 {
				t.Fatalf("%v: variant bits %02b, want 10", id, b[8]>>6)
			}
			s := id.String()
			if !strings.HasPrefix(s, k.prefix) || !uuidShape.MatchString(s[len(k.prefix):]) {
				t.Fatalf("String() = %q, want %s + lowercase v4 UUID with underscores", s, k.prefix)
			}
		}
		g, err := NewID[K]()
		if err != nil || g.IsZero() || !strings.HasPrefix(g.String(), k.prefix) {
			t.Errorf("NewID[K]() = %v, %v", g, err)
		}
	})
	t.Run("round trip", func(t *testing.T) {
		for range 100 {
			id, _ := k.newID()
			s := id.String()
			p, err := k.parse(s)
			if err != nil {
				t.Fatalf("parse(%q): %v", s, err)
			}
			if p != id {
				t.Fatalf("parse(String()) = %v, want %v", p, id)
			}
			if g, err := ParseID[K](s); err != nil || g != id {
				t.Fatalf("ParseID[K](%q) = %v, %v", s, g, err)
			}
			m, err := id.MarshalText()
			if err != nil || string(m) != s {
				t.Fatalf("MarshalText = %q, %v; want %q", m, err, s)
			}
			a, err := id.AppendText([]byte("x="))
			if err != nil || string(a) != "x="+s {
				t.Fatalf("AppendText = %q, %v", a, err)
			}
			var u ID[K]
			if err := u.UnmarshalText([]byte(s)); err != nil || u != id {
				t.Fatalf("UnmarshalText(%q) = %v, %v", s, u, err)
			}
			var viaBytes ID[K]
			b := id.Bytes()
			if err := viaBytes.SetBytes(b[:]); err != nil || viaBytes != id {
				t.Fatalf("SetBytes(Bytes()) = %v, %v", viaBytes, err)
			}
		}
	})
	t.Run("zero", func(t *testing.T) {
		var z ID[K]
		if !z.IsZero() {
			t.Error("zero ID not IsZero")
		}
		if got := z.String(); got != k.prefix+"none" {
			t.Errorf("zero String() = %q, want %q", got, k.prefix+"none")
		}
		zeros := k.prefix + "00000000_0000_0000_0000_000000000000"
		checkMalformedID(t, k.parse, zeros)
		checkMalformedID(t, k.parse, k.prefix+"none")
		if _, err := k.parse(zeros); err == nil || err.Error() != "keys: malformed identifier: zero" {
			t.Errorf("parse(zeros) error %v", err)
		}
		var u ID[K]
		if err := u.UnmarshalText([]byte(zeros)); err == nil {
			t.Error("UnmarshalText accepted the zero ID")
		}
		// SetBytes of 16 zero bytes sets the zero ID.
		id, _ := k.newID()
		if err := id.SetBytes(make([]byte, UUIDSize)); err != nil || !id.IsZero() {
			t.Errorf("SetBytes(zeros) = %v, %v", id, err)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		id, _ := k.newID()
		s := id.String()
		u := s[len(k.prefix):]
		cases := []string{
			"", k.prefix, u, s[:len(s)-1], s + "0", s + " ", " " + s, s + "\n",
			strings.ToUpper(s), strings.ToUpper(k.prefix) + u, k.prefix + strings.ToUpper(u),
			k.prefix + strings.ReplaceAll(u, "_", "-"), k.prefix + strings.ReplaceAll(u, "_", ""),
			k.prefix + "{" + u[:34] + "}", k.prefix[:3] + "-" + u,
			// Underscore in the wrong place.
			k.prefix + u[:7] + "_" + u[7:8] + u[9:],
			k.prefix + "\xff" + u[1:],
			k.prefix + "é" + u[2:],
			k.prefix + "g" + u[1:],
			k.prefix + u[:35] + "\x00",
		}
		for _, other := range allPrefixes {
			if other != k.prefix {
				cases = append(cases, other+u)
			}
		}
		for _, in := range cases {
			checkMalformedID(t, k.parse, in)
		}
		// Every hex digit replaced by a non-digit or an uppercase digit,
		// and every underscore replaced by a dash or a digit.
		b := []byte(s)
		for i := len(k.prefix); i < len(b); i++ {
			orig := b[i]
			var subs []byte
			if orig == '_' {
				subs = []byte{'-', '0', 'a', ' '}
			} else {
				subs = []byte{'g', 'G', '_', '-', ' ', 0x80}
				if 'a' <= orig && orig <= 'f' {
					subs = append(subs, orig-'a'+'A')
				}
			}
			for _, c := range subs {
				b[i] = c
				checkMalformedID(t, k.parse, string(b))
			}
			b[i] = orig
		}
		// UnmarshalText leaves the ID alone on error.
		before := id
		if err := id.UnmarshalText([]byte(u)); !errors.Is(err, ErrMalformedID) || id != before {
			t.Errorf("UnmarshalText(bad) = %v, ID %v (was %v)", err, id, before)
		}
	})
	t.Run("SetBytes length", func(t *testing.T) {
		id, _ := k.newID()
		before := id
		for _, n := range []int{0, 1, 15, 17, 32} {
			err := id.SetBytes(make([]byte, n))
			if !errors.Is(err, ErrMalformedID) {
				t.Errorf("SetBytes(%d bytes) error %v, want ErrMalformedID", n, err)
			}
			if id != before {
				t.Errorf("SetBytes(%d bytes) changed the ID", n)
			}
		}
		if err := id.SetBytes(nil); err == nil {
			t.Error("SetBytes(nil) accepted")
		}
	})
}

func TestIDKinds(t *testing.T) {
	t.Run("aci_", func(t *testing.T) { testIDKind(t, accountKindFns) })
	t.Run("wsi_", func(t *testing.T) { testIDKind(t, workspaceKindFns) })
	t.Run("vci_", func(t *testing.T) { testIDKind(t, clusterKindFns) })
	t.Run("aki_", func(t *testing.T) { testIDKind(t, keyKindFns) })
	t.Run("cci_", func(t *testing.T) { testIDKind(t, credentialKindFns) })
}

func TestIDKnownAnswer(t *testing.T) {
	const text = "vci_1b4e28ba_2fa1_41d2_883f_0016d3cca427"
	want := [UUIDSize]byte{0x1b, 0x4e, 0x28, 0xba, 0x2f, 0xa1, 0x41, 0xd2, 0x88, 0x3f, 0x00, 0x16, 0xd3, 0xcc, 0xa4, 0x27}
	id, err := ParseClusterID(text)
	if err != nil {
		t.Fatal(err)
	}
	if id.Bytes() != want {
		t.Errorf("Bytes() = %x, want %x", id.Bytes(), want)
	}
	if id.String() != text {
		t.Errorf("String() = %q", id.String())
	}
	var k KeyID
	if err := k.SetBytes(want[:]); err != nil || k.String() != "aki_1b4e28ba_2fa1_41d2_883f_0016d3cca427" {
		t.Errorf("KeyID from the same bytes = %v, %v", k, err)
	}
	// A cluster ID's text is not a key ID.
	if _, err := ParseKeyID(text); !errors.Is(err, ErrMalformedID) {
		t.Errorf("ParseKeyID(vci_…) error %v", err)
	}
	if got := fmt.Sprintf("%v|%s", id, &id); got != text+"|"+text {
		t.Errorf("fmt = %q", got)
	}
	// The parser does not insist on version 4: any non-zero canonical
	// UUID is accepted.
	if _, err := ParseClusterID("vci_00000000_0000_0000_0000_000000000001"); err != nil {
		t.Errorf("non-v4 UUID refused: %v", err)
	}
}

// TestNewIDDeterministic checks what newID does with its random bytes.
func TestNewIDDeterministic(t *testing.T) {
	in := make([]byte, 32)
	for i := range in {
		in[i] = byte(i)
	}
	r := bytes.NewReader(in)
	id, err := newID[clusterKind](r)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := id.String(), "vci_00010203_0405_4607_8809_0a0b0c0d0e0f"; got != want {
		t.Errorf("newID(0x00…) = %s, want %s", got, want)
	}
	if r.Len() != 16 {
		t.Errorf("newID read %d bytes, want 16", 32-r.Len())
	}
	ff := bytes.Repeat([]byte{0xff}, 16)
	id2, err := newID[keyKind](bytes.NewReader(ff))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := id2.String(), "aki_ffffffff_ffff_4fff_bfff_ffffffffffff"; got != want {
		t.Errorf("newID(0xff…) = %s, want %s", got, want)
	}
	// Even all-zero random bytes give a non-zero ID (version and variant).
	id3, err := newID[keyKind](bytes.NewReader(make([]byte, 16)))
	if err != nil || id3.IsZero() || id3.String() != "aki_00000000_0000_4000_8000_000000000000" {
		t.Errorf("newID(zeros) = %v, %v", id3, err)
	}
	for _, r := range []*bytes.Reader{bytes.NewReader(nil), bytes.NewReader(make([]byte, 15))} {
		id, err := newID[keyKind](r)
		if err == nil || !id.IsZero() || !strings.HasPrefix(err.Error(), "keys: reading random bytes: ") {
			t.Errorf("newID(short reader) = %v, %v", id, err)
		}
	}
	if _, err := newID[keyKind](failingReader{}); err == nil {
		t.Error("newID(failing reader) succeeded")
	}
}

func TestIDJSON(t *testing.T) {
	type record struct {
		Account AccountID
		Cluster ClusterID `json:"cluster"`
		Key     *KeyID    `json:"key,omitempty"`
		Creds   []CredentialID
		Spaces  map[WorkspaceID]int
	}
	a, _ := NewAccountID()
	c, _ := NewClusterID()
	k, _ := NewKeyID()
	cr, _ := NewCredentialID()
	w, _ := NewWorkspaceID()
	in := record{Account: a, Cluster: c, Key: &k, Creds: []CredentialID{cr}, Spaces: map[WorkspaceID]int{w: 3}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`{"Account":%q,"cluster":%q,"key":%q,"Creds":[%q],"Spaces":{%q:3}}`, a, c, k, cr, w)
	if string(b) != want {
		t.Errorf("json = %s\nwant   %s", b, want)
	}
	var out record
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.Account != a || out.Cluster != c || out.Key == nil || *out.Key != k ||
		len(out.Creds) != 1 || out.Creds[0] != cr || out.Spaces[w] != 3 || len(out.Spaces) != 1 {
		t.Errorf("round trip = %+v, want %+v", out, in)
	}
	// A cluster ID where a key ID belongs is refused.
	bad := strings.Replace(string(b), `"key":"aki_`, `"key":"vci_`, 1)
	var out2 record
	if err := json.Unmarshal([]byte(bad), &out2); !errors.Is(err, ErrMalformedID) {
		t.Errorf("json.Unmarshal with a vci_ in a KeyID field: %v, want ErrMalformedID", err)
	}
}

// TestIDZeroJSON checks that an unset ID survives a JSON round trip.
func TestIDZeroJSON(t *testing.T) {
	type record struct{ Cluster ClusterID }
	b, err := json.Marshal(record{})
	if err != nil {
		return // refusing to marshal "none" is a consistent fix
	}
	var out record
	if err := json.Unmarshal(b, &out); err != nil {
		t.Errorf("json.Marshal of a zero ClusterID gave %s, which json.Unmarshal refuses: %v", b, err)
	}
}
