package record

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/streamauth/streamauth/keys"
	"github.com/streamauth/streamauth/store"
)

// cmpOpts compares identifiers, whose field is unexported, by value.
var cmpOpts = cmp.Options{
	cmp.Comparer(func(a, b keys.AccountID) bool { return a == b }),
	cmp.Comparer(func(a, b keys.WorkspaceID) bool { return a == b }),
	cmp.Comparer(func(a, b keys.ClusterID) bool { return a == b }),
	cmp.Comparer(func(a, b keys.KeyID) bool { return a == b }),
}

// testCastagnoli is the test's own CRC-32C table, so that resealing does not
// go through the code under test.
var testCastagnoli = crc32.MakeTable(crc32.Castagnoli)

// reseal returns body followed by its CRC-32C, big-endian: a record whose
// checksum is right whatever body holds.
func reseal(body []byte) []byte {
	out := append([]byte(nil), body...)
	return binary.BigEndian.AppendUint32(out, crc32.Checksum(body, testCastagnoli))
}

// bodyOf returns a copy of enc without its checksum.
func bodyOf(enc []byte) []byte {
	return append([]byte(nil), enc[:len(enc)-crcSize]...)
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// setter is what every keys.ID pointer implements.
type setter interface{ SetBytes([]byte) error }

// tb is what testing.TB and *rapid.T have in common.
type tb interface {
	Helper()
	Fatalf(format string, args ...any)
}

func setID(t tb, dst setter, b []byte) {
	t.Helper()
	if err := dst.SetBytes(b); err != nil {
		t.Fatalf("SetBytes(%x): %v", b, err)
	}
}

// seq returns the n bytes from, from+1, …
func seq(from byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = from + byte(i)
	}
	return b
}

// Generators.

func drawIDBytes(t *rapid.T, label string) []byte {
	return rapid.SliceOfN(rapid.Byte(), keys.UUIDSize, keys.UUIDSize).Draw(t, label)
}

func drawID(t *rapid.T, label string, dst setter) {
	setID(t, dst, drawIDBytes(t, label))
}

func drawName(t *rapid.T) string {
	return string(rapid.SliceOfN(rapid.Byte(), 0, 255).Draw(t, "name"))
}

func drawAccount(t *rapid.T) Account {
	var a Account
	drawID(t, "id", &a.ID)
	a.Created = rapid.Int64().Draw(t, "created")
	a.Name = drawName(t)
	return a
}

func drawWorkspace(t *rapid.T) Workspace {
	var w Workspace
	drawID(t, "id", &w.ID)
	drawID(t, "account", &w.Account)
	w.Created = rapid.Int64().Draw(t, "created")
	w.Name = drawName(t)
	return w
}

func drawCluster(t *rapid.T) Cluster {
	var c Cluster
	drawID(t, "id", &c.ID)
	c.Type = rapid.Uint8().Draw(t, "type")
	c.SASL = rapid.Uint8().Draw(t, "sasl")
	drawID(t, "account", &c.Account)
	drawID(t, "workspace", &c.Workspace)
	c.Created = rapid.Int64().Draw(t, "created")
	c.Gen = rapid.Uint64().Draw(t, "gen")
	c.Name = drawName(t)
	return c
}

func drawKey(t *rapid.T) Key {
	var k Key
	k.Kind = rapid.Uint8Range(KindAccount, KindAgent).Draw(t, "kind")
	k.Flags = rapid.Uint8().Draw(t, "flags")
	drawID(t, "id", &k.ID)
	drawID(t, "account", &k.Account)
	drawID(t, "workspace", &k.Workspace)
	drawID(t, "cluster", &k.Cluster)
	k.Created = rapid.Int64().Draw(t, "created")
	k.Expires = rapid.Int64().Draw(t, "expires")
	copy(k.Digest[:], rapid.SliceOfN(rapid.Byte(), keys.DigestSize, keys.DigestSize).Draw(t, "digest"))
	k.Name = drawName(t)
	return k
}

// sample is one drawn record: its value, its encoding, and a decoder that
// supplies the id a real caller takes from the store key.
type sample struct {
	v      any
	enc    []byte
	name   string
	decode func([]byte) (any, error)
}

// codec abstracts over the four record types so that each property is
// written once.
type codec struct {
	name    string
	nameOff int // offset of the name's length byte: the fixed part's size
	draw    func(t *rapid.T) sample
}

var codecs = []codec{
	{"Account", accountFixed, func(t *rapid.T) sample {
		a := drawAccount(t)
		return sample{a, AppendAccount(nil, &a), a.Name, func(b []byte) (any, error) { return DecodeAccount(a.ID, b) }}
	}},
	{"Workspace", workspaceFixed, func(t *rapid.T) sample {
		w := drawWorkspace(t)
		return sample{w, AppendWorkspace(nil, &w), w.Name, func(b []byte) (any, error) { return DecodeWorkspace(w.ID, b) }}
	}},
	{"Cluster", clusterFixed, func(t *rapid.T) sample {
		c := drawCluster(t)
		return sample{c, AppendCluster(nil, &c), c.Name, func(b []byte) (any, error) { return DecodeCluster(c.ID, b) }}
	}},
	{"Key", keyFixed, func(t *rapid.T) sample {
		k := drawKey(t)
		return sample{k, AppendKey(nil, &k), k.Name, decodeKeyBothWays}
	}},
	{"KeyView", keyFixed, func(t *rapid.T) sample {
		k := drawKey(t)
		return sample{k, AppendKey(nil, &k), k.Name, func(b []byte) (any, error) {
			v, err := ViewKey(b)
			if err != nil {
				return nil, err
			}
			return v.Key(), nil
		}}
	}},
}

// decodeKeyBothWays decodes with DecodeKey and checks that ViewKey agrees
// on whether b is a valid record.
func decodeKeyBothWays(b []byte) (any, error) {
	k, err := DecodeKey(b)
	_, verr := ViewKey(b)
	if (err == nil) != (verr == nil) {
		return nil, errors.New("DecodeKey and ViewKey disagree")
	}
	if err != nil {
		return nil, err
	}
	return k, nil
}

// refused checks that decoding b fails with an error wrapping
// store.ErrCorrupt, and reports what it decoded to otherwise.
func refused(t tb, s sample, b []byte, what string) {
	t.Helper()
	got, err := s.decode(b)
	if err == nil {
		t.Fatalf("%s: decoded without error to %+v (original %+v)\ndiff -orig +got:\n%s", what, got, s.v, cmp.Diff(s.v, got, cmpOpts))
	}
	if !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("%s: error %q does not wrap store.ErrCorrupt", what, err)
	}
}

func TestRoundTrip(t *testing.T) {
	for _, c := range codecs {
		t.Run(c.name, func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				s := c.draw(t)
				if want := c.nameOff + 1 + len(s.name) + crcSize; len(s.enc) != want {
					t.Fatalf("encoding is %d bytes, want %d", len(s.enc), want)
				}
				if s.enc[0] != Version {
					t.Fatalf("version byte %d, want %d", s.enc[0], Version)
				}
				got, err := s.decode(s.enc)
				if err != nil {
					t.Fatalf("decode(%x): %v", s.enc, err)
				}
				if diff := cmp.Diff(s.v, got, cmpOpts); diff != "" {
					t.Fatalf("decode(encode(v)) != v (-want +got):\n%s", diff)
				}
			})
		})
	}
}

// TestDecodeDoesNotAlias checks that a decoded record does not share memory
// with the input, which a store may reuse.
func TestDecodeDoesNotAlias(t *testing.T) {
	for _, c := range codecs {
		t.Run(c.name, func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				s := c.draw(t)
				buf := append([]byte(nil), s.enc...)
				got, err := s.decode(buf)
				if err != nil {
					t.Fatalf("decode: %v", err)
				}
				for i := range buf {
					buf[i] ^= 0xff
				}
				if diff := cmp.Diff(s.v, got, cmpOpts); diff != "" {
					t.Fatalf("decoded value changed with its input (-want +got):\n%s", diff)
				}
			})
		})
	}
}

func TestEveryBitFlipRefused(t *testing.T) {
	for _, c := range codecs {
		t.Run(c.name, func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				s := c.draw(t)
				b := append([]byte(nil), s.enc...)
				for i := range b {
					for bit := range 8 {
						b[i] ^= 1 << bit
						refused(t, s, b, "bit "+strconv.Itoa(bit)+" of byte "+strconv.Itoa(i)+" flipped")
						b[i] ^= 1 << bit
					}
				}
			})
		})
	}
}

func TestEveryTruncationRefused(t *testing.T) {
	for _, c := range codecs {
		t.Run(c.name, func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				s := c.draw(t)
				for n := range len(s.enc) {
					refused(t, s, s.enc[:n:n], "prefix of "+strconv.Itoa(n)+" bytes")
				}
				refused(t, s, nil, "nil")
			})
		})
	}
}

func TestAppendedByteRefused(t *testing.T) {
	for _, c := range codecs {
		t.Run(c.name, func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				s := c.draw(t)
				for x := range 256 {
					b := append(append([]byte(nil), s.enc...), byte(x))
					refused(t, s, b, "byte "+strconv.Itoa(x)+" appended")
				}
			})
		})
	}
}

// The tests below reseal what they change, so the checksum is right and
// only the structural checks stand between the input and a wrong record.

func TestOtherVersionRefused(t *testing.T) {
	for _, c := range codecs {
		t.Run(c.name, func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				s := c.draw(t)
				for v := range 256 {
					if v == Version {
						continue
					}
					body := bodyOf(s.enc)
					body[0] = byte(v)
					refused(t, s, reseal(body), "version "+strconv.Itoa(v)+" resealed")
				}
			})
		})
	}
}

func TestVersion2Refused(t *testing.T) {
	a := Account{Created: 1, Name: "acme"}
	body := bodyOf(AppendAccount(nil, &a))
	body[0] = 2
	b := reseal(body)
	if _, err := DecodeAccount(keys.AccountID{}, b); !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("DecodeAccount of version 2: %v, want store.ErrCorrupt", err)
	}
	// Control: the same resealing with version 1 decodes, so it is the
	// version that is refused.
	body[0] = Version
	if _, err := DecodeAccount(keys.AccountID{}, reseal(body)); err != nil {
		t.Fatalf("DecodeAccount of resealed version 1: %v", err)
	}
}

func TestResealedNameLengthRefused(t *testing.T) {
	for _, c := range codecs {
		t.Run(c.name, func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				s := c.draw(t)
				for n := range 256 {
					if n == len(s.name) {
						continue
					}
					body := bodyOf(s.enc)
					body[c.nameOff] = byte(n)
					refused(t, s, reseal(body), "name length "+strconv.Itoa(n)+" for a name of "+strconv.Itoa(len(s.name))+" bytes, resealed")
				}
			})
		})
	}
}

func TestResealedTruncationRefused(t *testing.T) {
	for _, c := range codecs {
		t.Run(c.name, func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				s := c.draw(t)
				body := bodyOf(s.enc)
				for n := range len(body) {
					refused(t, s, reseal(body[:n]), "body cut to "+strconv.Itoa(n)+" bytes, resealed")
				}
			})
		})
	}
}

func TestResealedTrailingByteRefused(t *testing.T) {
	for _, c := range codecs {
		t.Run(c.name, func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				s := c.draw(t)
				x := rapid.Byte().Draw(t, "extra")
				refused(t, s, reseal(append(bodyOf(s.enc), x)), "trailing byte, resealed")
			})
		})
	}
}

// Golden encodings. The checksums were computed outside Go (a bitwise
// CRC-32C in Python), so these pin the layout: field order, big-endian
// integers, a length-prefixed name, a big-endian CRC-32C last.
const (
	goldenAccount   = "01" + "0102030405060708" + "04" + "61636d65" + "922251f8"
	goldenWorkspace = "01" + "101112131415161718191a1b1c1d1e1f" + "ffffffffffffffff" + "00" + "3dba589f"
	goldenCluster   = "01" + "02" + "03" +
		"101112131415161718191a1b1c1d1e1f" + "202122232425262728292a2b2c2d2e2f" +
		"17979cfe362a0000" + "fedcba9876543210" + "02" + "6331" + "958a350f"
	goldenKey = "01" + "03" + "01" +
		"404142434445464748494a4b4c4d4e4f" + "101112131415161718191a1b1c1d1e1f" +
		"202122232425262728292a2b2c2d2e2f" + "303132333435363738393a3b3c3d3e3f" +
		"17979cfe362a0001" + "fffffffffffffffe" +
		"a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf" +
		"05" + "616b6e5f78" + "c146f6b2"
)

func TestGoldenAccount(t *testing.T) {
	a := Account{Created: 0x0102030405060708, Name: "acme"}
	setID(t, &a.ID, seq(0x70, 16))
	want := mustHex(t, goldenAccount)
	if got := AppendAccount(nil, &a); !bytes.Equal(got, want) {
		t.Fatalf("AppendAccount = %x\nwant            %x", got, want)
	}
	got, err := DecodeAccount(a.ID, want)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, got, cmpOpts); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

func TestGoldenWorkspace(t *testing.T) {
	w := Workspace{Created: -1}
	setID(t, &w.ID, seq(0x70, 16))
	setID(t, &w.Account, seq(0x10, 16))
	want := mustHex(t, goldenWorkspace)
	if got := AppendWorkspace(nil, &w); !bytes.Equal(got, want) {
		t.Fatalf("AppendWorkspace = %x\nwant              %x", got, want)
	}
	got, err := DecodeWorkspace(w.ID, want)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(w, got, cmpOpts); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

func TestGoldenCluster(t *testing.T) {
	c := Cluster{Type: 2, SASL: 3, Created: 1700000000000000000, Gen: 0xfedcba9876543210, Name: "c1"}
	setID(t, &c.ID, seq(0x70, 16))
	setID(t, &c.Account, seq(0x10, 16))
	setID(t, &c.Workspace, seq(0x20, 16))
	want := mustHex(t, goldenCluster)
	if got := AppendCluster(nil, &c); !bytes.Equal(got, want) {
		t.Fatalf("AppendCluster = %x\nwant            %x", got, want)
	}
	got, err := DecodeCluster(c.ID, want)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c, got, cmpOpts); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

func goldenKeyValue(t testing.TB) Key {
	k := Key{Kind: KindAgent, Flags: FlagAnyCluster, Created: 1700000000000000001, Expires: -2, Name: "akn_x"}
	setID(t, &k.ID, seq(0x40, 16))
	setID(t, &k.Account, seq(0x10, 16))
	setID(t, &k.Workspace, seq(0x20, 16))
	setID(t, &k.Cluster, seq(0x30, 16))
	copy(k.Digest[:], seq(0xa0, keys.DigestSize))
	return k
}

func TestGoldenKey(t *testing.T) {
	k := goldenKeyValue(t)
	want := mustHex(t, goldenKey)
	if got := AppendKey(nil, &k); !bytes.Equal(got, want) {
		t.Fatalf("AppendKey = %x\nwant        %x", got, want)
	}
	got, err := DecodeKey(want)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(k, got, cmpOpts); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

// TestReuseBuffer checks the usual way of reusing an encoding buffer,
// buf[:0], whose old content must not leak into the new record.
func TestReuseBuffer(t *testing.T) {
	buf := bytes.Repeat([]byte{0xee}, 512)
	k := goldenKeyValue(t)
	if got, want := AppendKey(buf[:0], &k), mustHex(t, goldenKey); !bytes.Equal(got, want) {
		t.Fatalf("AppendKey(buf[:0]) = %x\nwant                %x", got, want)
	}
}

// TestAppendToNonEmptyBuffer checks the Append convention: AppendX(b, x)
// leaves b as it was and appends the encoding of x, the same bytes as
// AppendX(nil, x).
// The checksum covers the record alone, not what b held before.
func TestAppendToNonEmptyBuffer(t *testing.T) {
	prefix := []byte("prefix")
	a := Account{Created: 1, Name: "acme"}
	w := Workspace{Created: 2, Name: "ws"}
	c := Cluster{Created: 3, Name: "cl"}
	k := goldenKeyValue(t)
	for _, tc := range []struct {
		name      string
		fromNil   []byte
		afterData []byte
	}{
		{"Account", AppendAccount(nil, &a), AppendAccount(bytes.Clone(prefix), &a)},
		{"Workspace", AppendWorkspace(nil, &w), AppendWorkspace(bytes.Clone(prefix), &w)},
		{"Cluster", AppendCluster(nil, &c), AppendCluster(bytes.Clone(prefix), &c)},
		{"Key", AppendKey(nil, &k), AppendKey(bytes.Clone(prefix), &k)},
	} {
		if !bytes.HasPrefix(tc.afterData, prefix) {
			t.Errorf("%s: the prefix was overwritten: %x", tc.name, tc.afterData)
			continue
		}
		if got := tc.afterData[len(prefix):]; !bytes.Equal(got, tc.fromNil) {
			t.Errorf("%s: Append after %q appended %x\nwant %x", tc.name, prefix, got, tc.fromNil)
		}
	}
}

// TestNameTooLongPanics checks that a name that does not fit the length
// byte is never written with a wrapped length.
func TestNameTooLongPanics(t *testing.T) {
	long := strings.Repeat("x", 256)
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"Account", func() { AppendAccount(nil, &Account{Name: long}) }},
		{"Workspace", func() { AppendWorkspace(nil, &Workspace{Name: long}) }},
		{"Cluster", func() { AppendCluster(nil, &Cluster{Name: long}) }},
		{"Key", func() { AppendKey(nil, &Key{Kind: KindAccount, Name: long}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("a 256-byte name did not panic")
				}
			}()
			tc.f()
		})
	}
	// 255 bytes is the longest name, and it round-trips.
	a := Account{Name: long[:255]}
	got, err := DecodeAccount(a.ID, AppendAccount(nil, &a))
	if err != nil || got.Name != a.Name {
		t.Fatalf("255-byte name: got %d bytes, %v", len(got.Name), err)
	}
}

// Key records and KeyView.

func TestViewKeyKindRange(t *testing.T) {
	body := bodyOf(mustHex(t, goldenKey))
	for kind := range 256 {
		body[keyOffKind] = byte(kind)
		b := reseal(body)
		_, verr := ViewKey(b)
		_, derr := DecodeKey(b)
		if kind >= KindAccount && kind <= KindAgent {
			if verr != nil || derr != nil {
				t.Errorf("kind %d: ViewKey: %v, DecodeKey: %v; want both nil", kind, verr, derr)
			}
			continue
		}
		if !errors.Is(verr, store.ErrCorrupt) || !errors.Is(derr, store.ErrCorrupt) {
			t.Errorf("kind %d with a valid checksum: ViewKey: %v, DecodeKey: %v; want store.ErrCorrupt", kind, verr, derr)
		}
	}
}

func TestViewKeyAccessors(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		k := drawKey(t)
		b := AppendKey(nil, &k)
		v, err := ViewKey(b)
		if err != nil {
			t.Fatalf("ViewKey: %v", err)
		}
		d, err := DecodeKey(b)
		if err != nil {
			t.Fatalf("DecodeKey: %v", err)
		}
		if diff := cmp.Diff(k, d, cmpOpts); diff != "" {
			t.Fatalf("DecodeKey (-want +got):\n%s", diff)
		}
		var (
			id keys.KeyID
			ac keys.AccountID
			ws keys.WorkspaceID
			cl keys.ClusterID
		)
		v.ID(&id)
		v.Account(&ac)
		v.Workspace(&ws)
		v.Cluster(&cl)
		got := Key{
			Kind: v.Kind(), Flags: v.Flags(), ID: id, Account: ac, Workspace: ws, Cluster: cl,
			Created: v.Created(), Expires: v.Expires(), Name: v.Name(),
		}
		if n := copy(got.Digest[:], v.Digest()); n != keys.DigestSize || len(v.Digest()) != keys.DigestSize {
			t.Fatalf("Digest() is %d bytes, want %d", len(v.Digest()), keys.DigestSize)
		}
		if diff := cmp.Diff(d, got, cmpOpts); diff != "" {
			t.Fatalf("accessors differ from DecodeKey (-decode +view):\n%s", diff)
		}
		if diff := cmp.Diff(d, v.Key(), cmpOpts); diff != "" {
			t.Fatalf("KeyView.Key differs from DecodeKey (-decode +view):\n%s", diff)
		}
	})
}

// TestViewKeyReadsInPlace checks that the view does not copy: Digest is a
// window on the input.
func TestViewKeyReadsInPlace(t *testing.T) {
	b := mustHex(t, goldenKey)
	v, err := ViewKey(b)
	if err != nil {
		t.Fatal(err)
	}
	if &v.Digest()[0] != &b[keyOffDigest] {
		t.Fatal("Digest() is a copy, not a window on the record")
	}
}

var (
	sinkKind    uint8
	sinkInt     int64
	sinkErr     error
	sinkDigest  []byte
	sinkKeyID   keys.KeyID
	sinkAccount keys.AccountID
	sinkWS      keys.WorkspaceID
	sinkCluster keys.ClusterID
)

func TestViewKeyAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	good := mustHex(t, goldenKey)
	badSum := bytes.Clone(good)
	badSum[len(badSum)-1] ^= 1
	badKind := bodyOf(good)
	badKind[keyOffKind] = 9
	badKind = reseal(badKind)
	if n := testing.AllocsPerRun(100, func() {
		v, err := ViewKey(good)
		if err != nil {
			panic(err)
		}
		sinkKind = v.Kind() + v.Flags()
		sinkInt = v.Created() + v.Expires()
		sinkDigest = v.Digest()
		v.ID(&sinkKeyID)
		v.Account(&sinkAccount)
		v.Workspace(&sinkWS)
		v.Cluster(&sinkCluster)
	}); n != 0 {
		t.Errorf("ViewKey and its accessors: %v allocations, want 0", n)
	}
	for name, b := range map[string][]byte{"bad checksum": badSum, "bad kind": badKind, "short": good[:10]} {
		if n := testing.AllocsPerRun(100, func() {
			_, sinkErr = ViewKey(b)
		}); n != 0 {
			t.Errorf("ViewKey refusing (%s): %v allocations, want 0", name, n)
		}
	}
}
