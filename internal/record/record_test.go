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

// resealHot returns body followed by the checksum of a hot record in its
// store form under prefix, computed here from its definition: the CRC-32C
// of prefix ‖ body.
func resealHot(prefix *[keys.PrefixSize]byte, body []byte) []byte {
	sum := crc32.Update(crc32.Update(0, testCastagnoli, prefix[:]), testCastagnoli, body)
	return binary.BigEndian.AppendUint32(bytes.Clone(body), sum)
}

// prefixOf returns the digest prefix of k: what the store key of its hot
// record holds.
func prefixOf(k *Key) *[keys.PrefixSize]byte {
	p := [keys.PrefixSize]byte(k.Digest[:])
	return &p
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

// keyHot is what a hot key record holds: a Key without Created and Name,
// with the ids as the arrays KeyView returns.
type keyHot struct {
	Kind, Flags                     uint8
	ID, Account, Workspace, Cluster [keys.UUIDSize]byte
	Expires                         int64
	Digest                          [keys.DigestSize]byte
}

func hotOf(k *Key) keyHot {
	return keyHot{
		Kind: k.Kind, Flags: k.Flags,
		ID: k.ID.Bytes(), Account: k.Account.Bytes(), Workspace: k.Workspace.Bytes(), Cluster: k.Cluster.Bytes(),
		Expires: k.Expires, Digest: k.Digest,
	}
}

// viewHot reads every accessor of v, and checks that Key and DigestEqual
// agree with them.
func viewHot(t tb, v KeyView) keyHot {
	t.Helper()
	h := keyHot{
		Kind: v.Kind(), Flags: v.Flags(),
		ID: v.ID(), Account: v.Account(), Workspace: v.Workspace(), Cluster: v.Cluster(),
		Expires: v.Expires(), Digest: v.Digest(),
	}
	k := v.Key()
	if k.Created != 0 || k.Name != "" {
		t.Fatalf("Key() fills Created or Name: %d, %q", k.Created, k.Name)
	}
	if hk := hotOf(&k); hk != h {
		t.Fatalf("Key() = %+v, the accessors read %+v", hk, h)
	}
	d, err := keys.DigestFromBytes(h.Digest[:])
	if err != nil {
		t.Fatalf("DigestFromBytes: %v", err)
	}
	if !v.DigestEqual(&d) {
		t.Fatalf("DigestEqual(Digest()) is false")
	}
	return h
}

// sample is one drawn record: its value, its encoding, and a decoder that
// supplies what a real caller takes from elsewhere (the id from the store
// key; for a key record, its other record or the digest prefix of its
// store key).
type sample struct {
	v      any
	enc    []byte
	name   string
	decode func(t tb, b []byte) (any, error)
	// seal, if set, seals a changed body in place of reseal: a hot record
	// in its store form is checksummed with its digest prefix.
	seal func(body []byte) []byte
}

// reseal seals body as a record of s's kind: with a checksum that is right
// whatever body holds.
func (s sample) reseal(body []byte) []byte {
	if s.seal != nil {
		return s.seal(body)
	}
	return reseal(body)
}

// codec abstracts over the record types so that each property is written
// once.
type codec struct {
	name string
	// nameOff is the offset of the name's length byte (the fixed part's
	// size), or -1 for a record without a name.
	nameOff int
	// fixed is the body length of a record without a name.
	fixed int
	// inPlace marks a decoder that reads its input in place by design.
	inPlace bool
	draw    func(t *rapid.T) sample
	// version is the version byte of the encoding; 0 means Version.
	version byte
}

// wantVersion is the version byte of c's encoding.
func (c codec) wantVersion() byte {
	if c.version == 0 {
		return Version
	}
	return c.version
}

// isHot reports whether c is one of the hot record's codecs, of either
// form.
func (c codec) isHot() bool { return strings.HasPrefix(c.name, "Hot") }

// wantLen is the length of the encoding of s.
func (c codec) wantLen(s sample) int {
	if c.nameOff < 0 {
		return c.fixed + crcSize
	}
	return c.nameOff + 1 + len(s.name) + crcSize
}

var codecs = []codec{
	{"Account", accountFixed, 0, false, func(t *rapid.T) sample {
		a := drawAccount(t)
		return sample{v: a, enc: AppendAccount(nil, &a), name: a.Name, decode: func(_ tb, b []byte) (any, error) { return DecodeAccount(a.ID, b) }}
	}, 0},
	{"Workspace", workspaceFixed, 0, false, func(t *rapid.T) sample {
		w := drawWorkspace(t)
		return sample{v: w, enc: AppendWorkspace(nil, &w), name: w.Name, decode: func(_ tb, b []byte) (any, error) { return DecodeWorkspace(w.ID, b) }}
	}, 0},
	{"Cluster", clusterFixed, 0, false, func(t *rapid.T) sample {
		c := drawCluster(t)
		return sample{v: c, enc: AppendCluster(nil, &c), name: c.Name, decode: func(_ tb, b []byte) (any, error) { return DecodeCluster(c.ID, b) }}
	}, 0},
	// The meta record, decoded by DecodeKey with the key's own hot record.
	{"KeyMeta", metaFixed, 0, false, func(t *rapid.T) sample {
		k := drawKey(t)
		hot := AppendKey(nil, &k)
		return sample{v: k, enc: AppendKeyMeta(nil, &k), name: k.Name, decode: func(t tb, b []byte) (any, error) { return decodeKeyMeta(t, hot, b) }}
	}, 0},
	// The hot record in its store form, decoded by DecodeKey with the key's
	// own meta record.
	{"HotStoreDecodeKey", -1, keyStoreLen, false, func(t *rapid.T) sample {
		k := drawKey(t)
		meta := AppendKeyMeta(nil, &k)
		return sample{v: k, enc: AppendKey(nil, &k), name: k.Name, decode: func(t tb, b []byte) (any, error) { return decodeKeyHot(t, b, meta) },
			seal: func(body []byte) []byte { return resealHot(prefixOf(&k), body) }}
	}, keyVersionStore},
	// The hot record in its store form, read by ViewKey alone under its
	// digest prefix.
	{"HotStoreView", -1, keyStoreLen, true, func(t *rapid.T) sample {
		k := drawKey(t)
		return sample{v: hotOf(&k), enc: AppendKey(nil, &k), decode: viewUnder(prefixOf(&k)),
			seal: func(body []byte) []byte { return resealHot(prefixOf(&k), body) }}
	}, keyVersionStore},
	// The hot record in its wire form, as a store of format 1 holds it,
	// decoded by DecodeKey with the key's own meta record.
	{"HotWireDecodeKey", -1, keyWireLen, false, func(t *rapid.T) sample {
		k := drawKey(t)
		meta := AppendKeyMeta(nil, &k)
		return sample{v: k, enc: AppendKeyWire(nil, &k), name: k.Name, decode: func(t tb, b []byte) (any, error) { return decodeKeyHot(t, b, meta) }}
	}, keyVersionWire},
	// The hot record in its wire form, read by ViewKey under its digest
	// prefix, as in a store of format 1.
	{"HotWireView", -1, keyWireLen, true, func(t *rapid.T) sample {
		k := drawKey(t)
		return sample{v: hotOf(&k), enc: AppendKeyWire(nil, &k), decode: viewUnder(prefixOf(&k))}
	}, keyVersionWire},
	// The hot record in its wire form, read by ViewKeyWire, as in a
	// snapshot.
	{"HotWireViewWire", -1, keyWireLen, true, func(t *rapid.T) sample {
		k := drawKey(t)
		return sample{v: hotOf(&k), enc: AppendKeyWire(nil, &k), decode: func(t tb, b []byte) (any, error) {
			v, err := ViewKeyWire(b)
			if err != nil {
				return nil, err
			}
			return viewHot(t, v), nil
		}}
	}, keyVersionWire},
}

// viewUnder returns a decoder that reads a hot record with ViewKey under
// prefix.
func viewUnder(prefix *[keys.PrefixSize]byte) func(t tb, b []byte) (any, error) {
	return func(t tb, b []byte) (any, error) {
		v, err := ViewKey(prefix, b)
		if err != nil {
			return nil, err
		}
		return viewHot(t, v), nil
	}
}

// decodeKeyHot decodes hot with DecodeKey and a valid meta record, and
// checks that ViewKey agrees: DecodeKey accepts exactly when ViewKey
// accepts hot under the meta record's digest prefix, and the view reads
// what DecodeKey returns.
func decodeKeyHot(t tb, hot, meta []byte) (any, error) {
	t.Helper()
	k, err := DecodeKey(hot, meta)
	v, verr := ViewKey((*[keys.PrefixSize]byte)(meta[metaOffPrefix:]), hot)
	if verr != nil && !errors.Is(verr, store.ErrCorrupt) {
		t.Fatalf("ViewKey: error %q does not wrap store.ErrCorrupt", verr)
	}
	if (err == nil) != (verr == nil) {
		t.Fatalf("DecodeKey: %v; ViewKey: %v", err, verr)
	}
	if err != nil {
		return nil, err
	}
	if diff := cmp.Diff(hotOf(&k), viewHot(t, v)); diff != "" {
		t.Fatalf("KeyView differs from DecodeKey (-decode +view):\n%s", diff)
	}
	return k, nil
}

// decodeKeyMeta decodes meta with DecodeKey and a valid hot record, and
// checks that MetaPrefix agrees: DecodeKey accepts exactly when MetaPrefix
// does and ViewKey accepts the hot record under the prefix it returns.
func decodeKeyMeta(t tb, hot, meta []byte) (any, error) {
	t.Helper()
	k, err := DecodeKey(hot, meta)
	p, perr := MetaPrefix(meta)
	if perr != nil {
		if !errors.Is(perr, store.ErrCorrupt) {
			t.Fatalf("MetaPrefix: error %q does not wrap store.ErrCorrupt", perr)
		}
		if p != nil {
			t.Fatalf("MetaPrefix returned %x with error %v", *p, perr)
		}
	}
	wantOK := perr == nil
	if wantOK {
		_, verr := ViewKey(p, hot)
		wantOK = verr == nil
	}
	if (err == nil) != wantOK {
		t.Fatalf("DecodeKey: %v; MetaPrefix: %v (hot record valid under its prefix: %v)", err, perr, wantOK)
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
	got, err := s.decode(t, b)
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
				if want := c.wantLen(s); len(s.enc) != want {
					t.Fatalf("encoding is %d bytes, want %d", len(s.enc), want)
				}
				if s.enc[0] != c.wantVersion() {
					t.Fatalf("version byte %d, want %d", s.enc[0], c.wantVersion())
				}
				got, err := s.decode(t, s.enc)
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

// TestKeyRoundTrip checks the two records of a key together, and that each
// holds only its own fields.
func TestKeyRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		k := drawKey(t)
		hot, wire, meta := AppendKey(nil, &k), AppendKeyWire(nil, &k), AppendKeyMeta(nil, &k)
		if len(hot) != 3+4*keys.UUIDSize+8+keys.DigestSize-keys.PrefixSize+crcSize {
			t.Fatalf("hot record is %d bytes in its store form", len(hot))
		}
		if len(wire) != 3+4*keys.UUIDSize+8+keys.DigestSize+crcSize {
			t.Fatalf("hot record is %d bytes in its wire form", len(wire))
		}
		// The two forms share everything before the digest.
		if !bytes.Equal(hot[1:keyOffDigest], wire[1:keyOffDigest]) {
			t.Fatalf("the forms differ before the digest:\n%x\n%x", hot, wire)
		}
		if !bytes.Equal(hot[keyOffDigest:keyStoreLen], k.Digest[keys.PrefixSize:]) || !bytes.Equal(wire[keyOffDigest:keyWireLen], k.Digest[:]) {
			t.Fatalf("digests misplaced:\n%x\n%x", hot, wire)
		}
		if got, err := DecodeKey(wire, meta); err != nil || !cmp.Equal(k, got, cmpOpts) {
			t.Fatalf("DecodeKey(AppendKeyWire(k), AppendKeyMeta(k)) = %+v, %v; want %+v", got, err, k)
		}
		if len(meta) != 1+keys.PrefixSize+8+1+len(k.Name)+crcSize {
			t.Fatalf("meta record is %d bytes for a name of %d", len(meta), len(k.Name))
		}
		got, err := DecodeKey(hot, meta)
		if err != nil {
			t.Fatalf("DecodeKey(%x, %x): %v", hot, meta, err)
		}
		if diff := cmp.Diff(k, got, cmpOpts); diff != "" {
			t.Fatalf("DecodeKey(AppendKey(k), AppendKeyMeta(k)) != k (-want +got):\n%s", diff)
		}
		p, err := MetaPrefix(meta)
		if err != nil {
			t.Fatalf("MetaPrefix: %v", err)
		}
		if !bytes.Equal(p[:], k.Digest[:keys.PrefixSize]) {
			t.Fatalf("MetaPrefix = %x, want %x", *p, k.Digest[:keys.PrefixSize])
		}

		// The hot record holds no creation time and no name: changing them
		// leaves it as it was.
		k2 := k
		k2.Created = rapid.Int64().Draw(t, "other created")
		k2.Name = drawName(t)
		if got := AppendKey(nil, &k2); !bytes.Equal(got, hot) {
			t.Fatalf("the hot record depends on Created or Name:\n%x\n%x", hot, got)
		}
		if got := AppendKeyWire(nil, &k2); !bytes.Equal(got, wire) {
			t.Fatalf("the wire form depends on Created or Name:\n%x\n%x", wire, got)
		}
		// The meta record holds nothing of the hot record but the digest
		// prefix.
		k3 := drawKey(t)
		k3.Created, k3.Name = k.Created, k.Name
		copy(k3.Digest[:keys.PrefixSize], k.Digest[:keys.PrefixSize])
		if got := AppendKeyMeta(nil, &k3); !bytes.Equal(got, meta) {
			t.Fatalf("the meta record depends on more than the digest prefix, Created and Name:\n%x\n%x", meta, got)
		}
	})
}

// TestDecodeDoesNotAlias checks that a decoded record does not share memory
// with the input, which a store may reuse.
func TestDecodeDoesNotAlias(t *testing.T) {
	for _, c := range codecs {
		if c.inPlace {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				s := c.draw(t)
				buf := append([]byte(nil), s.enc...)
				got, err := s.decode(t, buf)
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
					if v == int(c.wantVersion()) {
						continue
					}
					body := bodyOf(s.enc)
					body[0] = byte(v)
					refused(t, s, s.reseal(body), "version "+strconv.Itoa(v)+" resealed")
				}
			})
		})
	}
}

// TestAccountVersion2Refused: records other than the hot key record have
// only version 1; an account record of version 2 is refused.
func TestAccountVersion2Refused(t *testing.T) {
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

	// The meta record of a key, with a valid hot record.
	hot, meta := mustHex(t, goldenKeyHot), mustHex(t, goldenKeyMeta)
	for _, tc := range []struct {
		name      string
		decodeKey func(b []byte) error
	}{
		{"meta", func(b []byte) error { _, err := DecodeKey(hot, b); return err }},
		{"prefix", func(b []byte) error { _, err := MetaPrefix(b); return err }},
	} {
		body := bodyOf(meta)
		body[0] = 2
		if err := tc.decodeKey(reseal(body)); !errors.Is(err, store.ErrCorrupt) {
			t.Errorf("%s record of version 2: %v, want store.ErrCorrupt", tc.name, err)
		}
		body[0] = Version
		if err := tc.decodeKey(reseal(body)); err != nil {
			t.Errorf("%s record resealed with version 1: %v", tc.name, err)
		}
	}
}

// TestHotRecordVersions checks that each form of the hot record is read
// with its own version byte only: the store form (95 bytes) with 2, the
// wire form (111 bytes) with 1, each resealed so that only the version
// stands between it and a wrong record.
func TestHotRecordVersions(t *testing.T) {
	k := goldenKeyValue(t)
	prefix := prefixOf(&k)
	meta := AppendKeyMeta(nil, &k)
	storeBody, wireBody := bodyOf(AppendKey(nil, &k)), bodyOf(AppendKeyWire(nil, &k))
	for v := range 256 {
		sb, wb := bytes.Clone(storeBody), bytes.Clone(wireBody)
		sb[0], wb[0] = byte(v), byte(v)
		st, wi := resealHot(prefix, sb), reseal(wb)
		_, serr := ViewKey(prefix, st)
		_, sderr := DecodeKey(st, meta)
		_, werr := ViewKey(prefix, wi)
		_, wwerr := ViewKeyWire(wi)
		_, wderr := DecodeKey(wi, meta)
		for _, c := range []struct {
			name string
			err  error
			ok   bool
		}{
			{"ViewKey of the store form", serr, v == keyVersionStore},
			{"DecodeKey of the store form", sderr, v == keyVersionStore},
			{"ViewKey of the wire form", werr, v == keyVersionWire},
			{"ViewKeyWire of the wire form", wwerr, v == keyVersionWire},
			{"DecodeKey of the wire form", wderr, v == keyVersionWire},
		} {
			if c.ok && c.err != nil {
				t.Errorf("version %d: %s: %v", v, c.name, c.err)
			}
			if !c.ok && !errors.Is(c.err, store.ErrCorrupt) {
				t.Errorf("version %d: %s: %v, want store.ErrCorrupt", v, c.name, c.err)
			}
		}
	}
	// The store form sealed like every other record, without the prefix,
	// is refused: its checksum must cover the prefix.
	if _, err := ViewKey(prefix, reseal(storeBody)); !errors.Is(err, errChecksum) {
		t.Errorf("store form sealed without its prefix: %v, want errChecksum", err)
	}
	// ViewKeyWire refuses the store form, which is only valid with its
	// store key.
	if _, err := ViewKeyWire(AppendKey(nil, &k)); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("ViewKeyWire of the store form: %v, want store.ErrCorrupt", err)
	}
}

// TestHotRecordLengths checks that a hot record of any length but 95
// (the store form) or 111 (the wire form) is refused, whatever its version
// byte and however it is sealed.
func TestHotRecordLengths(t *testing.T) {
	k := goldenKeyValue(t)
	prefix := prefixOf(&k)
	meta := AppendKeyMeta(nil, &k)
	fill := bytes.Repeat(AppendKeyWire(nil, &k), 3)
	for n := range 300 {
		if n == KeyStoreSize || n == KeyWireSize {
			continue
		}
		for _, version := range []byte{keyVersionWire, keyVersionStore} {
			var body []byte
			if n >= crcSize {
				body = bytes.Clone(fill[:n-crcSize])
				if len(body) > 0 {
					body[0] = version
				}
			}
			for _, b := range [][]byte{reseal(body), resealHot(prefix, body), bytes.Clone(fill[:n])} {
				b = b[:n:n]
				if _, err := ViewKey(prefix, b); !errors.Is(err, store.ErrCorrupt) {
					t.Errorf("ViewKey of %d bytes, version %d: %v, want store.ErrCorrupt", n, version, err)
				}
				if _, err := ViewKeyWire(b); !errors.Is(err, store.ErrCorrupt) {
					t.Errorf("ViewKeyWire of %d bytes, version %d: %v, want store.ErrCorrupt", n, version, err)
				}
				if _, err := DecodeKey(b, meta); !errors.Is(err, store.ErrCorrupt) {
					t.Errorf("DecodeKey of %d bytes, version %d: %v, want store.ErrCorrupt", n, version, err)
				}
			}
		}
	}
}

// TestEveryByteChangeRefused changes each byte of a hot record, in either
// form, to each of its 255 other values: every change is refused, since a
// CRC-32C catches every error within 32 consecutive bits.
func TestEveryByteChangeRefused(t *testing.T) {
	for _, c := range codecs {
		if !c.isHot() {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			// A few records are enough: each checks every byte.
			for seed := range 8 {
				s := rapid.Custom(c.draw).Example(seed)
				b := bytes.Clone(s.enc)
				for i := range b {
					for x := 1; x < 256; x++ {
						b[i] ^= byte(x)
						if _, err := s.decode(t, b); !errors.Is(err, store.ErrCorrupt) {
							t.Fatalf("record %x, byte %d xor %#02x: %v, want store.ErrCorrupt", s.enc, i, x, err)
						}
						b[i] ^= byte(x)
					}
				}
			}
		})
	}
}

func TestResealedNameLengthRefused(t *testing.T) {
	for _, c := range codecs {
		if c.nameOff < 0 {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				s := c.draw(t)
				for n := range 256 {
					if n == len(s.name) {
						continue
					}
					body := bodyOf(s.enc)
					body[c.nameOff] = byte(n)
					refused(t, s, s.reseal(body), "name length "+strconv.Itoa(n)+" for a name of "+strconv.Itoa(len(s.name))+" bytes, resealed")
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
					refused(t, s, s.reseal(body[:n]), "body cut to "+strconv.Itoa(n)+" bytes, resealed")
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
				refused(t, s, s.reseal(append(bodyOf(s.enc), x)), "trailing byte, resealed")
			})
		})
	}
}

// TestResealedHotLengthRefused checks that a hot record of any length but
// its own is refused, checksum right or not: its body is valid up to where
// it stops, or followed by any bytes, among them a name as the layout
// before the split wrote it.
func TestResealedHotLengthRefused(t *testing.T) {
	for _, c := range codecs {
		if !c.isHot() {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				s := c.draw(t)
				body := bodyOf(s.enc)
				extra := rapid.SliceOfN(rapid.Byte(), 1, 300).Draw(t, "extra")
				refused(t, s, s.reseal(append(bytes.Clone(body), extra...)), strconv.Itoa(len(extra))+" bytes appended to the body, resealed")
				refused(t, s, append(bytes.Clone(body), extra...), strconv.Itoa(len(extra))+" bytes appended to the body, not resealed")
				name := drawName(t)
				withName := append(append(bytes.Clone(body), byte(len(name))), name...)
				refused(t, s, s.reseal(withName), "a "+strconv.Itoa(len(name))+"-byte name after the hot fields, resealed")
			})
		})
	}
}

// TestOldLayoutRefused checks that a key record of the layout before the
// split (one record: the hot fields, the creation time after the cluster,
// and the name) is read neither as a hot record nor as a meta record.
func TestOldLayoutRefused(t *testing.T) {
	old := mustHex(t, goldenKeyOldLayout)
	hot, meta := mustHex(t, goldenKeyHot), mustHex(t, goldenKeyMeta)
	k := goldenKeyValue(t)
	if _, err := ViewKey(prefixOf(&k), old); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("ViewKey(old layout): %v, want store.ErrCorrupt", err)
	}
	if _, err := ViewKeyWire(old); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("ViewKeyWire(old layout): %v, want store.ErrCorrupt", err)
	}
	if _, err := DecodeKey(old, meta); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("DecodeKey(old layout, meta): %v, want store.ErrCorrupt", err)
	}
	if _, err := DecodeKey(hot, old); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("DecodeKey(hot, old layout): %v, want store.ErrCorrupt", err)
	}
	if _, err := DecodeKey(old, old); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("DecodeKey(old layout, old layout): %v, want store.ErrCorrupt", err)
	}
	if p, err := MetaPrefix(old); !errors.Is(err, store.ErrCorrupt) || p != nil {
		t.Errorf("MetaPrefix(old layout) = %v, %v; want nil, store.ErrCorrupt", p, err)
	}
}

// Hot records under their store keys.

// TestViewKeyOtherPrefixRefused checks that a hot record in its store form
// is valid under its own digest prefix only: under any other, even one bit
// away, it fails the checksum, as a record moved under another H key does.
func TestViewKeyOtherPrefixRefused(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		k := drawKey(t)
		hot := AppendKey(nil, &k)
		prefix := prefixOf(&k)
		if _, err := ViewKey(prefix, hot); err != nil {
			t.Fatalf("ViewKey under its own prefix: %v", err)
		}
		for i := range keys.PrefixSize {
			for bit := range 8 {
				p := *prefix
				p[i] ^= 1 << bit
				if _, err := ViewKey(&p, hot); !errors.Is(err, errChecksum) {
					t.Fatalf("prefix byte %d bit %d flipped: %v, want errChecksum", i, bit, err)
				}
			}
		}
		other := [keys.PrefixSize]byte(rapid.SliceOfN(rapid.Byte(), keys.PrefixSize, keys.PrefixSize).Draw(t, "other prefix"))
		if other != *prefix {
			if _, err := ViewKey(&other, hot); !errors.Is(err, store.ErrCorrupt) {
				t.Fatalf("under prefix %x: %v, want store.ErrCorrupt", other, err)
			}
		}
	})
}

// TestViewKeyWireFormUnderPrefix checks the wire form as a store of format
// 1 holds it: ViewKey accepts it under the prefix its digest begins with,
// and refuses it (errMismatch) under any other, even with a valid
// checksum.
func TestViewKeyWireFormUnderPrefix(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		k := drawKey(t)
		wire := AppendKeyWire(nil, &k)
		prefix := prefixOf(&k)
		v, err := ViewKey(prefix, wire)
		if err != nil {
			t.Fatalf("ViewKey of the wire form under its prefix: %v", err)
		}
		if diff := cmp.Diff(hotOf(&k), viewHot(t, v)); diff != "" {
			t.Fatalf("(-want +got):\n%s", diff)
		}
		i, bit := rapid.IntRange(0, keys.PrefixSize-1).Draw(t, "byte"), rapid.IntRange(0, 7).Draw(t, "bit")
		p := *prefix
		p[i] ^= 1 << bit
		if _, err := ViewKey(&p, wire); !errors.Is(err, errMismatch) || !errors.Is(err, store.ErrCorrupt) {
			t.Fatalf("under another prefix: %v, want errMismatch wrapping store.ErrCorrupt", err)
		}
		// The digest's prefix changed and resealed: valid on its own, and
		// under the changed prefix only.
		body := bodyOf(wire)
		body[keyOffDigest+i] ^= 1 << bit
		moved := reseal(body)
		if _, err := ViewKeyWire(moved); err != nil {
			t.Fatalf("ViewKeyWire of a resealed prefix flip: %v", err)
		}
		if _, err := ViewKey(prefix, moved); !errors.Is(err, errMismatch) {
			t.Fatalf("resealed prefix flip under the old prefix: %v, want errMismatch", err)
		}
		if _, err := ViewKey(&p, moved); err != nil {
			t.Fatalf("resealed prefix flip under the new prefix: %v", err)
		}
	})
}

// TestStoreFormFromWireForm checks that the two forms convert into each
// other through a view, as an export and an apply do.
func TestStoreFormFromWireForm(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		k := drawKey(t)
		hot, wire := AppendKey(nil, &k), AppendKeyWire(nil, &k)
		wv, err := ViewKeyWire(wire)
		if err != nil {
			t.Fatal(err)
		}
		wk := wv.Key()
		if got := AppendKey(nil, &wk); !bytes.Equal(got, hot) {
			t.Fatalf("store form from the wire form:\n%x\nwant\n%x", got, hot)
		}
		hv, err := ViewKey(prefixOf(&k), hot)
		if err != nil {
			t.Fatal(err)
		}
		hk := hv.Key()
		if got := AppendKeyWire(nil, &hk); !bytes.Equal(got, wire) {
			t.Fatalf("wire form from the store form:\n%x\nwant\n%x", got, wire)
		}
	})
}

// TestKeyChecksum checks the store form's checksum against its definition,
// the CRC-32C of the digest prefix followed by the body, computed here
// both by hash/crc32 over the two parts in one stream and bit by bit.
func TestKeyChecksum(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		prefix := [keys.PrefixSize]byte(rapid.SliceOfN(rapid.Byte(), keys.PrefixSize, keys.PrefixSize).Draw(t, "prefix"))
		body := rapid.SliceOfN(rapid.Byte(), keyStoreLen, keyStoreLen).Draw(t, "body")
		want := crc32cBitwise(append(prefix[:], body...))
		if got := crc32.Update(crc32.Update(0, testCastagnoli, prefix[:]), testCastagnoli, body); got != want {
			t.Fatalf("hash/crc32 in two parts %#08x, bitwise %#08x", got, want)
		}
		if got := keyChecksum(&prefix, body); got != want {
			t.Fatalf("keyChecksum(%x, %x) = %#08x, want %#08x", prefix, body, got, want)
		}
	})
	// The extremes, where a table built wrong shows first.
	for _, fill := range []byte{0x00, 0xff, 0x01, 0x80} {
		prefix := [keys.PrefixSize]byte(bytes.Repeat([]byte{fill}, keys.PrefixSize))
		body := bytes.Repeat([]byte{fill}, keyStoreLen)
		if got, want := keyChecksum(&prefix, body), crc32cBitwise(append(prefix[:], body...)); got != want {
			t.Errorf("all %#02x: keyChecksum %#08x, want %#08x", fill, got, want)
		}
	}
}

// Key records in pairs.

// TestKeyRecordsOfAnotherKeyRefused checks that a meta record is refused
// with the hot record of a key of another digest prefix, even though each
// record is valid: the store form fails its checksum under the meta
// record's prefix, and the wire form's digest does not begin with it.
func TestKeyRecordsOfAnotherKeyRefused(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		k1, k2 := drawKey(t), drawKey(t)
		if [keys.PrefixSize]byte(k1.Digest[:]) == [keys.PrefixSize]byte(k2.Digest[:]) {
			k2.Digest[rapid.IntRange(0, keys.PrefixSize-1).Draw(t, "byte")] ^= 1 << rapid.IntRange(0, 7).Draw(t, "bit")
		}
		meta1, meta2 := AppendKeyMeta(nil, &k1), AppendKeyMeta(nil, &k2)
		for _, form := range []struct {
			name   string
			append func(b []byte, k *Key) []byte
		}{{"store", AppendKey}, {"wire", AppendKeyWire}} {
			hot1, hot2 := form.append(nil, &k1), form.append(nil, &k2)
			for _, tc := range []struct {
				name      string
				hot, meta []byte
				k         *Key
			}{{"hot1+meta2", hot1, meta2, &k1}, {"hot2+meta1", hot2, meta1, &k2}} {
				got, err := DecodeKey(tc.hot, tc.meta)
				if !errors.Is(err, store.ErrCorrupt) {
					t.Fatalf("%s form, %s: DecodeKey = %+v, %v; want store.ErrCorrupt", form.name, tc.name, got, err)
				}
				// Each record alone is valid: it is the pairing that is
				// refused.
				if _, err := ViewKey(prefixOf(tc.k), tc.hot); err != nil {
					t.Fatalf("%s form, %s: ViewKey: %v", form.name, tc.name, err)
				}
				if _, err := MetaPrefix(tc.meta); err != nil {
					t.Fatalf("%s form, %s: MetaPrefix: %v", form.name, tc.name, err)
				}
			}
		}
	})
}

// TestKeyRecordsShareOnlyThePrefix documents what ties the two records of
// a key together: the digest prefix, and nothing else. Records of two keys
// that share a digest prefix decode together, to the hot fields of one and
// the meta fields of the other.
func TestKeyRecordsShareOnlyThePrefix(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		k1, k2 := drawKey(t), drawKey(t)
		copy(k2.Digest[:keys.PrefixSize], k1.Digest[:keys.PrefixSize])
		want := k1
		want.Created, want.Name = k2.Created, k2.Name
		for _, hot := range [][]byte{AppendKey(nil, &k1), AppendKeyWire(nil, &k1)} {
			got, err := DecodeKey(hot, AppendKeyMeta(nil, &k2))
			if err != nil {
				t.Fatalf("DecodeKey: %v", err)
			}
			if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		}
	})
}

// TestResealedPrefixFlipRefused flips each bit of the digest prefix in the
// meta record and reseals it: the meta record is then valid on its own,
// and only the pairing refuses it, the store form by its checksum, the
// wire form by its digest. A flip in the rest of the digest, which the
// meta record does not hold, is not caught by the pairing.
func TestResealedPrefixFlipRefused(t *testing.T) {
	k := goldenKeyValue(t)
	hot, wire, meta := mustHex(t, goldenKeyHot), mustHex(t, goldenKeyWire), mustHex(t, goldenKeyMeta)
	for i := range keys.PrefixSize {
		for bit := range 8 {
			mb := bodyOf(meta)
			mb[metaOffPrefix+i] ^= 1 << bit
			m := reseal(mb)
			p, err := MetaPrefix(m)
			if err != nil {
				t.Fatalf("MetaPrefix of a resealed prefix flip: %v", err)
			}
			if !bytes.Equal(p[:], mb[metaOffPrefix:metaOffPrefix+keys.PrefixSize]) {
				t.Errorf("MetaPrefix = %x, want %x", *p, mb[metaOffPrefix:metaOffPrefix+keys.PrefixSize])
			}
			if _, err := DecodeKey(hot, m); !errors.Is(err, errChecksum) {
				t.Errorf("meta prefix byte %d bit %d flipped, resealed, store form: %v, want errChecksum", i, bit, err)
			}
			if _, err := DecodeKey(wire, m); !errors.Is(err, errMismatch) {
				t.Errorf("meta prefix byte %d bit %d flipped, resealed, wire form: %v, want errMismatch", i, bit, err)
			}
			// With the hot record written for the flipped digest, the
			// records agree again.
			k2 := k
			k2.Digest[i] ^= 1 << bit
			for _, h := range [][]byte{AppendKey(nil, &k2), AppendKeyWire(nil, &k2)} {
				if _, err := DecodeKey(h, m); err != nil {
					t.Errorf("prefix byte %d bit %d flipped in both records: %v", i, bit, err)
				}
			}
		}
	}
	wb := bodyOf(wire)
	wb[keyOffDigest+keys.PrefixSize] ^= 1
	hb := bodyOf(hot)
	hb[keyOffDigest] ^= 1
	for _, h := range [][]byte{reseal(wb), resealHot(prefixOf(&k), hb)} {
		got, err := DecodeKey(h, meta)
		if err != nil {
			t.Fatalf("digest flipped after the prefix, resealed: %v", err)
		}
		if want := k.Digest[keys.PrefixSize] ^ 1; got.Digest[keys.PrefixSize] != want {
			t.Fatalf("Digest[%d] = %#x, want %#x", keys.PrefixSize, got.Digest[keys.PrefixSize], want)
		}
	}
}

// TestMetaPrefixRefuses checks MetaPrefix alone on every corruption of a
// meta record: it returns nil and an error wrapping store.ErrCorrupt.
func TestMetaPrefixRefuses(t *testing.T) {
	meta := mustHex(t, goldenKeyMeta)
	p, err := MetaPrefix(meta)
	if err != nil {
		t.Fatal(err)
	}
	if want := seq(0xa0, keys.PrefixSize); !bytes.Equal(p[:], want) {
		t.Fatalf("MetaPrefix = %x, want %x", *p, want)
	}
	bad := map[string][]byte{"nil": nil, "empty": {}}
	for i := range meta {
		for bit := range 8 {
			b := bytes.Clone(meta)
			b[i] ^= 1 << bit
			bad["byte "+strconv.Itoa(i)+" bit "+strconv.Itoa(bit)+" flipped"] = b
		}
	}
	for n := range len(meta) {
		bad["cut to "+strconv.Itoa(n)] = meta[:n:n]
		if n < len(meta)-crcSize {
			bad["body cut to "+strconv.Itoa(n)+", resealed"] = reseal(bodyOf(meta)[:n])
		}
	}
	for x := range 256 {
		bad["byte "+strconv.Itoa(x)+" appended"] = append(bytes.Clone(meta), byte(x))
		bad["byte "+strconv.Itoa(x)+" appended to the body, resealed"] = reseal(append(bodyOf(meta), byte(x)))
		if x != Version {
			body := bodyOf(meta)
			body[0] = byte(x)
			bad["version "+strconv.Itoa(x)+", resealed"] = reseal(body)
		}
		if x != len("akn_x") {
			body := bodyOf(meta)
			body[metaFixed] = byte(x)
			bad["name length "+strconv.Itoa(x)+", resealed"] = reseal(body)
		}
	}
	for name, b := range bad {
		if p, err := MetaPrefix(b); !errors.Is(err, store.ErrCorrupt) || p != nil {
			t.Errorf("%s: MetaPrefix = %v, %v; want nil, store.ErrCorrupt", name, p, err)
		}
	}
}

// Golden encodings. The checksums were computed outside Go (a bitwise
// CRC-32C in Python), so these pin the layout: field order, big-endian
// integers, a length-prefixed name, a big-endian CRC-32C last.
// TestGoldenChecksums checks them again against the test's own bitwise
// CRC-32C.
const (
	goldenAccount   = "01" + "0102030405060708" + "04" + "61636d65" + "922251f8"
	goldenWorkspace = "01" + "101112131415161718191a1b1c1d1e1f" + "ffffffffffffffff" + "00" + "3dba589f"
	goldenCluster   = "01" + "02" + "03" +
		"101112131415161718191a1b1c1d1e1f" + "202122232425262728292a2b2c2d2e2f" +
		"17979cfe362a0000" + "fedcba9876543210" + "02" + "6331" + "958a350f"
	// The hot record of goldenKeyValue in its store form: version 2,
	// kind, flags, id, account, workspace, cluster, expires, the digest
	// after its prefix, and the checksum of the prefix (goldenKeyPrefix)
	// followed by all that.
	goldenKeyHot = "02" + "03" + "01" +
		"404142434445464748494a4b4c4d4e4f" + "101112131415161718191a1b1c1d1e1f" +
		"202122232425262728292a2b2c2d2e2f" + "303132333435363738393a3b3c3d3e3f" +
		"fffffffffffffffe" +
		"b0b1b2b3b4b5b6b7b8b9babbbcbdbebf" +
		"9d101feb"
	goldenKeyPrefix = "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"
	// The same in its wire form: version 1, the whole digest, and the
	// checksum of the record alone. Stores of format 1 hold this under the
	// digest prefix.
	goldenKeyWire = "01" + "03" + "01" +
		"404142434445464748494a4b4c4d4e4f" + "101112131415161718191a1b1c1d1e1f" +
		"202122232425262728292a2b2c2d2e2f" + "303132333435363738393a3b3c3d3e3f" +
		"fffffffffffffffe" +
		"a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf" +
		"74d13934"
	// Its meta record: version, digest prefix, created, name, checksum.
	goldenKeyMeta = "01" + "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf" + "17979cfe362a0001" +
		"05" + "616b6e5f78" + "05f8c089"
	// The records of an account key of zero ids, no expiry, an all-zero
	// digest and an empty name.
	goldenKeyZeroHot = "02" + "01" + "00" +
		"00000000000000000000000000000000" + "00000000000000000000000000000000" +
		"00000000000000000000000000000000" + "00000000000000000000000000000000" +
		"0000000000000000" +
		"00000000000000000000000000000000" +
		"9953aee3"
	goldenKeyZeroPrefix = "00000000000000000000000000000000"
	goldenKeyZeroWire   = "01" + "01" + "00" +
		"00000000000000000000000000000000" + "00000000000000000000000000000000" +
		"00000000000000000000000000000000" + "00000000000000000000000000000000" +
		"0000000000000000" +
		"0000000000000000000000000000000000000000000000000000000000000000" +
		"42cfef79"
	goldenKeyZeroMeta = "01" + "00000000000000000000000000000000" + "0000000000000000" + "00" + "fd385d99"
	// goldenKeyValue in the layout before the split: one record with the
	// creation time after the cluster and the name at the end.
	goldenKeyOldLayout = "01" + "03" + "01" +
		"404142434445464748494a4b4c4d4e4f" + "101112131415161718191a1b1c1d1e1f" +
		"202122232425262728292a2b2c2d2e2f" + "303132333435363738393a3b3c3d3e3f" +
		"17979cfe362a0001" + "fffffffffffffffe" +
		"a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf" +
		"05" + "616b6e5f78" + "c146f6b2"
)

// crc32cBitwise is CRC-32C computed bit by bit from its definition
// (reflected polynomial 0x82f63b78, initial value and final XOR all ones),
// independent of hash/crc32 and of its tables.
func crc32cBitwise(b []byte) uint32 {
	crc := ^uint32(0)
	for _, x := range b {
		crc ^= uint32(x)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0x82f63b78
			} else {
				crc >>= 1
			}
		}
	}
	return ^crc
}

func TestGoldenChecksums(t *testing.T) {
	// The check value of the CRC-32C catalogue entry.
	if got := crc32cBitwise([]byte("123456789")); got != 0xe3069283 {
		t.Fatalf("crc32cBitwise(\"123456789\") = %#x, want 0xe3069283", got)
	}
	for name, g := range map[string]struct{ rec, prefix string }{
		"Account": {goldenAccount, ""}, "Workspace": {goldenWorkspace, ""}, "Cluster": {goldenCluster, ""},
		"KeyHot": {goldenKeyHot, goldenKeyPrefix}, "KeyWire": {goldenKeyWire, ""}, "KeyMeta": {goldenKeyMeta, ""},
		"KeyZeroHot": {goldenKeyZeroHot, goldenKeyZeroPrefix}, "KeyZeroWire": {goldenKeyZeroWire, ""},
		"KeyZeroMeta":  {goldenKeyZeroMeta, ""},
		"KeyOldLayout": {goldenKeyOldLayout, ""},
	} {
		// The store form's checksum covers the digest prefix before the
		// record.
		b := mustHex(t, g.rec)
		body := b[:len(b)-crcSize]
		summed := append(mustHex(t, g.prefix), body...)
		want := binary.BigEndian.Uint32(b[len(body):])
		if got := crc32cBitwise(summed); got != want {
			t.Errorf("%s: bitwise CRC-32C of the body %#08x, golden has %#08x", name, got, want)
		}
		if got := crc32.Checksum(summed, testCastagnoli); got != want {
			t.Errorf("%s: hash/crc32 Castagnoli of the body %#08x, golden has %#08x", name, got, want)
		}
	}
	// reseal, which the tests use to forge valid checksums, agrees with the
	// bitwise CRC on any input.
	rapid.Check(t, func(t *rapid.T) {
		body := rapid.SliceOf(rapid.Byte()).Draw(t, "body")
		b := reseal(body)
		if got, want := binary.BigEndian.Uint32(b[len(body):]), crc32cBitwise(body); got != want {
			t.Fatalf("reseal checksum %#08x, bitwise %#08x", got, want)
		}
	})
}

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
	for _, tc := range []struct {
		name                    string
		k                       Key
		hot, prefix, wire, meta string
	}{
		{"agent", goldenKeyValue(t), goldenKeyHot, goldenKeyPrefix, goldenKeyWire, goldenKeyMeta},
		{"zero", Key{Kind: KindAccount}, goldenKeyZeroHot, goldenKeyZeroPrefix, goldenKeyZeroWire, goldenKeyZeroMeta},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := tc.k
			hot, wire, meta := mustHex(t, tc.hot), mustHex(t, tc.wire), mustHex(t, tc.meta)
			prefix := [keys.PrefixSize]byte(mustHex(t, tc.prefix))
			if prefix != *prefixOf(&k) {
				t.Fatalf("golden prefix %x, key's %x", prefix, *prefixOf(&k))
			}
			if got := AppendKey(nil, &k); !bytes.Equal(got, hot) {
				t.Errorf("AppendKey = %x\nwant        %x", got, hot)
			}
			if got := AppendKeyWire(nil, &k); !bytes.Equal(got, wire) {
				t.Errorf("AppendKeyWire = %x\nwant            %x", got, wire)
			}
			if got := AppendKeyMeta(nil, &k); !bytes.Equal(got, meta) {
				t.Errorf("AppendKeyMeta = %x\nwant            %x", got, meta)
			}
			for _, h := range [][]byte{hot, wire} {
				got, err := DecodeKey(h, meta)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(k, got, cmpOpts); diff != "" {
					t.Fatalf("DecodeKey(%x) (-want +got):\n%s", h, diff)
				}
				v, err := ViewKey(&prefix, h)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(hotOf(&k), viewHot(t, v)); diff != "" {
					t.Fatalf("ViewKey(%x) (-want +got):\n%s", h, diff)
				}
			}
			v, err := ViewKeyWire(wire)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(hotOf(&k), viewHot(t, v)); diff != "" {
				t.Fatalf("ViewKeyWire (-want +got):\n%s", diff)
			}
			p, err := MetaPrefix(meta)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(p[:], k.Digest[:keys.PrefixSize]) {
				t.Fatalf("MetaPrefix = %x, want %x", *p, k.Digest[:keys.PrefixSize])
			}
		})
	}
}

// TestKeyOffsets pins the unexported offsets the tests use against the
// golden layout.
func TestKeyOffsets(t *testing.T) {
	for _, tc := range []struct {
		name      string
		got, want int
	}{
		{"keyOffKind", keyOffKind, 1},
		{"keyOffDigest", keyOffDigest, 3 + 4*16 + 8},
		{"keyStoreLen", keyStoreLen, 3 + 4*16 + 8 + 16},
		{"keyWireLen", keyWireLen, 3 + 4*16 + 8 + 32},
		{"KeyStoreSize", KeyStoreSize, 95},
		{"KeyWireSize", KeyWireSize, 111},
		{"metaOffPrefix", metaOffPrefix, 1},
		{"metaFixed", metaFixed, 1 + 16 + 8},
		{"len(goldenKeyHot)", len(goldenKeyHot) / 2, keyStoreLen + crcSize},
		{"len(goldenKeyWire)", len(goldenKeyWire) / 2, keyWireLen + crcSize},
		{"len(goldenKeyMeta)", len(goldenKeyMeta) / 2, metaFixed + 1 + len("akn_x") + crcSize},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %d, want %d", tc.name, tc.got, tc.want)
		}
	}
}

// TestReuseBuffer checks the usual way of reusing an encoding buffer,
// buf[:0], whose old content must not leak into the new record.
func TestReuseBuffer(t *testing.T) {
	buf := bytes.Repeat([]byte{0xee}, 512)
	k := goldenKeyValue(t)
	if got, want := AppendKey(buf[:0], &k), mustHex(t, goldenKeyHot); !bytes.Equal(got, want) {
		t.Fatalf("AppendKey(buf[:0]) = %x\nwant                %x", got, want)
	}
	buf = bytes.Repeat([]byte{0xee}, 512)
	if got, want := AppendKeyWire(buf[:0], &k), mustHex(t, goldenKeyWire); !bytes.Equal(got, want) {
		t.Fatalf("AppendKeyWire(buf[:0]) = %x\nwant                    %x", got, want)
	}
	buf = bytes.Repeat([]byte{0xee}, 512)
	if got, want := AppendKeyMeta(buf[:0], &k), mustHex(t, goldenKeyMeta); !bytes.Equal(got, want) {
		t.Fatalf("AppendKeyMeta(buf[:0]) = %x\nwant                    %x", got, want)
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
	hot := AppendKey(nil, &k)
	for _, tc := range []struct {
		name      string
		prefix    []byte
		fromNil   []byte
		afterData []byte
	}{
		{"Account", prefix, AppendAccount(nil, &a), AppendAccount(bytes.Clone(prefix), &a)},
		{"Workspace", prefix, AppendWorkspace(nil, &w), AppendWorkspace(bytes.Clone(prefix), &w)},
		{"Cluster", prefix, AppendCluster(nil, &c), AppendCluster(bytes.Clone(prefix), &c)},
		{"Key", prefix, AppendKey(nil, &k), AppendKey(bytes.Clone(prefix), &k)},
		{"KeyWire", prefix, AppendKeyWire(nil, &k), AppendKeyWire(bytes.Clone(prefix), &k)},
		{"KeyMeta", prefix, AppendKeyMeta(nil, &k), AppendKeyMeta(bytes.Clone(prefix), &k)},
		// Both records of a key in one buffer, the meta record after the
		// hot one.
		{"KeyMeta after Key", hot, AppendKeyMeta(nil, &k), AppendKeyMeta(AppendKey(nil, &k), &k)},
		{"Key after KeyWire", AppendKeyWire(nil, &k), hot, AppendKey(AppendKeyWire(nil, &k), &k)},
	} {
		if !bytes.HasPrefix(tc.afterData, tc.prefix) {
			t.Errorf("%s: the prefix was overwritten: %x", tc.name, tc.afterData)
			continue
		}
		if got := tc.afterData[len(tc.prefix):]; !bytes.Equal(got, tc.fromNil) {
			t.Errorf("%s: Append after %x appended %x\nwant %x", tc.name, tc.prefix, got, tc.fromNil)
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
		{"KeyMeta", func() { AppendKeyMeta(nil, &Key{Kind: KindAccount, Name: long}) }},
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
	k := Key{Kind: KindAccount, Name: long[:255]}
	gk, err := DecodeKey(AppendKey(nil, &k), AppendKeyMeta(nil, &k))
	if err != nil || gk.Name != k.Name {
		t.Fatalf("255-byte key name: got %d bytes, %v", len(gk.Name), err)
	}
}

// Hot key records and KeyView.

func TestViewKeyKindRange(t *testing.T) {
	k := goldenKeyValue(t)
	prefix := prefixOf(&k)
	meta := mustHex(t, goldenKeyMeta)
	for _, form := range []struct {
		name string
		body []byte
		seal func(body []byte) []byte
	}{
		{"store", bodyOf(mustHex(t, goldenKeyHot)), func(b []byte) []byte { return resealHot(prefix, b) }},
		{"wire", bodyOf(mustHex(t, goldenKeyWire)), reseal},
	} {
		body := form.body
		for kind := range 256 {
			body[keyOffKind] = byte(kind)
			b := form.seal(body)
			v, verr := ViewKey(prefix, b)
			k, derr := DecodeKey(b, meta)
			if kind >= KindAccount && kind <= KindAgent {
				if verr != nil || derr != nil {
					t.Errorf("%s form, kind %d: ViewKey: %v, DecodeKey: %v; want both nil", form.name, kind, verr, derr)
					continue
				}
				if v.Kind() != uint8(kind) || k.Kind != uint8(kind) {
					t.Errorf("%s form, kind %d: ViewKey reads %d, DecodeKey %d", form.name, kind, v.Kind(), k.Kind)
				}
				continue
			}
			if !errors.Is(verr, store.ErrCorrupt) || !errors.Is(derr, store.ErrCorrupt) {
				t.Errorf("%s form, kind %d with a valid checksum: ViewKey: %v, DecodeKey: %v; want store.ErrCorrupt", form.name, kind, verr, derr)
			}
			if form.name == "wire" {
				if _, err := ViewKeyWire(b); !errors.Is(err, store.ErrCorrupt) {
					t.Errorf("kind %d with a valid checksum: ViewKeyWire: %v; want store.ErrCorrupt", kind, err)
				}
			}
		}
	}
}

func TestViewKeyAccessors(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		k := drawKey(t)
		for _, hot := range [][]byte{AppendKey(nil, &k), AppendKeyWire(nil, &k)} {
			v, err := ViewKey(prefixOf(&k), hot)
			if err != nil {
				t.Fatalf("ViewKey: %v", err)
			}
			d, err := DecodeKey(hot, AppendKeyMeta(nil, &k))
			if err != nil {
				t.Fatalf("DecodeKey: %v", err)
			}
			if diff := cmp.Diff(k, d, cmpOpts); diff != "" {
				t.Fatalf("DecodeKey (-want +got):\n%s", diff)
			}
			// The accessors, turned into a Key with the FromArray functions
			// and completed with the meta fields, give what DecodeKey gives.
			got := Key{
				Kind: v.Kind(), Flags: v.Flags(),
				ID:        keys.KeyIDFromArray(v.ID()),
				Account:   keys.AccountIDFromArray(v.Account()),
				Workspace: keys.WorkspaceIDFromArray(v.Workspace()),
				Cluster:   keys.ClusterIDFromArray(v.Cluster()),
				Created:   d.Created, Expires: v.Expires(), Name: d.Name,
				Digest: v.Digest(),
			}
			if diff := cmp.Diff(d, got, cmpOpts); diff != "" {
				t.Fatalf("accessors differ from DecodeKey (-decode +view):\n%s", diff)
			}
			if diff := cmp.Diff(hotOf(&d), viewHot(t, v)); diff != "" {
				t.Fatalf("accessors differ from DecodeKey (-decode +view):\n%s", diff)
			}
		}
	})
}

// TestDigestEqual checks that DigestEqual compares the whole digest, the
// prefix (which the store form does not hold) as much as the rest.
func TestDigestEqual(t *testing.T) {
	k := goldenKeyValue(t)
	for _, hot := range [][]byte{AppendKey(nil, &k), AppendKeyWire(nil, &k)} {
		v, err := ViewKey(prefixOf(&k), hot)
		if err != nil {
			t.Fatal(err)
		}
		d, _ := keys.DigestFromBytes(k.Digest[:])
		if !v.DigestEqual(&d) {
			t.Fatalf("DigestEqual of the key's own digest is false (%x)", hot)
		}
		for i := range keys.DigestSize {
			for bit := range 8 {
				other := k.Digest
				other[i] ^= 1 << bit
				d, _ := keys.DigestFromBytes(other[:])
				if v.DigestEqual(&d) {
					t.Fatalf("DigestEqual is true for a digest with byte %d bit %d flipped (%x)", i, bit, hot)
				}
			}
		}
	}
}

// TestViewKeyReadsInPlace checks that the view does not copy: it reads
// the record's bytes, and in the store form the caller's prefix, as they
// are when an accessor runs.
func TestViewKeyReadsInPlace(t *testing.T) {
	k := goldenKeyValue(t)
	prefix := *prefixOf(&k)
	b := mustHex(t, goldenKeyHot)
	v, err := ViewKey(&prefix, b)
	if err != nil {
		t.Fatal(err)
	}
	b[keyOffKind] = KindAccount
	prefix[0] ^= 0xff
	if v.Kind() != KindAccount {
		t.Fatal("Kind() reads a copy, not the record")
	}
	if d := v.Digest(); d[0] != k.Digest[0]^0xff {
		t.Fatal("Digest() reads a copy of the prefix, not the caller's")
	}
}

// TestDecodeKeyDoesNotAliasDigest checks that the digest DecodeKey returns
// is a copy, unlike what a KeyView reads.
func TestDecodeKeyDoesNotAliasDigest(t *testing.T) {
	for _, golden := range []string{goldenKeyHot, goldenKeyWire} {
		hot, meta := mustHex(t, golden), mustHex(t, goldenKeyMeta)
		k, err := DecodeKey(hot, meta)
		if err != nil {
			t.Fatal(err)
		}
		for i := range hot {
			hot[i] = 0
		}
		for i := range meta {
			meta[i] = 0
		}
		if want := goldenKeyValue(t); !cmp.Equal(want, k, cmpOpts) {
			t.Fatalf("decoded key changed with its records: %s", cmp.Diff(want, k, cmpOpts))
		}
	}
}

var (
	sinkKind   uint8
	sinkInt    int64
	sinkErr    error
	sinkBool   bool
	sinkDigest [keys.DigestSize]byte
	sinkID     [keys.UUIDSize]byte
	sinkKeyID  keys.KeyID
)

// TestViewKeyAllocs checks that ViewKey, ViewKeyWire and the accessors
// allocate nothing, accepting or refusing, and that ViewKey does not make
// its caller allocate either: the prefix, here in a variable of the
// function measured, as the digest is in Authenticate, must not escape.
func TestViewKeyAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	k := goldenKeyValue(t)
	prefix := *prefixOf(&k)
	digest, _ := keys.DigestFromBytes(k.Digest[:])
	good, wire := mustHex(t, goldenKeyHot), mustHex(t, goldenKeyWire)
	badSum := bytes.Clone(good)
	badSum[len(badSum)-1] ^= 1
	badKind := bodyOf(good)
	badKind[keyOffKind] = 9
	badKind = resealHot(&prefix, badKind)
	badLen := resealHot(&prefix, append(bodyOf(good), 0))
	wrongPrefix := bytes.Clone(wire)
	wrongPrefix[keyOffDigest] ^= 1
	wrongPrefix = reseal(bodyOf(wrongPrefix))
	for name, b := range map[string][]byte{"store form": good, "wire form": wire} {
		if n := testing.AllocsPerRun(100, func() {
			d := digest
			v, err := ViewKey(d.Prefix(), b)
			if err != nil {
				panic(err)
			}
			sinkBool = v.DigestEqual(&d)
			sinkKind = v.Kind() + v.Flags()
			sinkInt = v.Expires()
			sinkDigest = v.Digest()
			sinkID = v.ID()
			sinkID = v.Account()
			sinkID = v.Workspace()
			sinkID = v.Cluster()
			sinkKeyID = keys.KeyIDFromArray(v.ID())
		}); n != 0 {
			t.Errorf("ViewKey of the %s and its accessors: %v allocations, want 0", name, n)
		}
	}
	if n := testing.AllocsPerRun(100, func() {
		v, err := ViewKeyWire(wire)
		if err != nil {
			panic(err)
		}
		sinkDigest = v.Digest()
	}); n != 0 {
		t.Errorf("ViewKeyWire: %v allocations, want 0", n)
	}
	for name, b := range map[string][]byte{
		"bad checksum": badSum, "bad kind": badKind, "bad length": badLen, "short": good[:10], "nil": nil,
		"wire form of another prefix": wrongPrefix,
	} {
		if n := testing.AllocsPerRun(100, func() {
			p := prefix
			_, sinkErr = ViewKey(&p, b)
			_, sinkErr = ViewKeyWire(b)
		}); n != 0 {
			t.Errorf("ViewKey refusing (%s): %v allocations, want 0", name, n)
		}
	}
}
