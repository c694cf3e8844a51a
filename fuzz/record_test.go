package fuzz

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"strings"
	"testing"

	"github.com/streamauth/streamauth/internal/record"
	"github.com/streamauth/streamauth/keys"
	"github.com/streamauth/streamauth/store"
)

// The record targets take the bytes to decode and a flag, reseal. With
// reseal false the bytes are decoded as they are: almost every mutation
// then fails the checksum, which is what a flipped byte in a store does.
// With reseal true the bytes are a record body and the target appends their
// CRC-32C first, so the fuzzer gets past the checksum and exercises the
// structural checks behind it (version, length, name length, key kind).
//
// Property of each: the decoder never panics; it either refuses the input
// with an error wrapping store.ErrCorrupt, or re-encoding what it decoded
// gives back exactly the input bytes (so no two inputs decode to the same
// record, and nothing in the input is ignored).

var recordCastagnoli = crc32.MakeTable(crc32.Castagnoli)

func recordSeal(body []byte) []byte {
	out := append([]byte(nil), body...)
	return binary.BigEndian.AppendUint32(out, crc32.Checksum(body, recordCastagnoli))
}

// recordInput is what a target decodes.
func recordInput(b []byte, reseal bool) []byte {
	if reseal {
		return recordSeal(b)
	}
	return b
}

func recordSeq(from byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = from + byte(i)
	}
	return b
}

func recordSetID(dst interface{ SetBytes([]byte) error }, from byte) {
	if err := dst.SetBytes(recordSeq(from, keys.UUIDSize)); err != nil {
		panic(err)
	}
}

// The ids a decoder is given: they come from the store key, not the record.
var (
	recordAccountID   keys.AccountID
	recordWorkspaceID keys.WorkspaceID
	recordClusterID   keys.ClusterID
)

func init() {
	recordSetID(&recordAccountID, 0x70)
	recordSetID(&recordWorkspaceID, 0x80)
	recordSetID(&recordClusterID, 0x90)
}

var recordNames = []string{"", "a", "acme corp", "akn_deploy_bot", strings.Repeat("\xff", 255)}

// recordSeeds adds, for each valid encoding, the encoding itself, its body
// for resealing, and a few corrupt variants of both.
func recordSeeds(f *testing.F, encs [][]byte, fieldOff int) {
	for _, enc := range encs {
		body := enc[:len(enc)-4]
		f.Add(enc, false)
		f.Add(body, true)

		flipped := bytes.Clone(enc)
		flipped[len(flipped)/2] ^= 0x04
		f.Add(flipped, false)
		f.Add(enc[:len(enc)-1], false)
		f.Add(append(bytes.Clone(enc), 0), false)

		v2 := bytes.Clone(body)
		v2[0] = 2
		f.Add(v2, true)
		f.Add(body[:len(body)-1], true)
		f.Add(append(bytes.Clone(body), 'x'), true)
		long := bytes.Clone(body)
		long[fieldOff]++
		f.Add(long, true)
	}
	f.Add([]byte(nil), false)
	f.Add([]byte(nil), true)
	f.Add([]byte{record.Version}, true)
}

func recordCheckRefusal(t *testing.T, in []byte, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("decoding %x: error %q does not wrap store.ErrCorrupt", in, err)
	}
}

func recordCheckSame(t *testing.T, in, out []byte) {
	t.Helper()
	if !bytes.Equal(in, out) {
		t.Fatalf("decoded and re-encoded:\n in  %x\n out %x", in, out)
	}
}

func FuzzDecodeAccount(f *testing.F) {
	var encs [][]byte
	for i, name := range recordNames {
		for _, created := range []int64{0, 1, -1, 1 << 62, -1 << 63} {
			a := record.Account{Created: created + int64(i), Name: name}
			encs = append(encs, record.AppendAccount(nil, &a))
		}
	}
	recordSeeds(f, encs, 1+8)
	f.Fuzz(func(t *testing.T, b []byte, reseal bool) {
		in := recordInput(b, reseal)
		a, err := record.DecodeAccount(recordAccountID, in)
		if err != nil {
			recordCheckRefusal(t, in, err)
			return
		}
		if a.ID != recordAccountID {
			t.Fatalf("ID = %v, want the one passed in, %v", a.ID, recordAccountID)
		}
		recordCheckSame(t, in, record.AppendAccount(nil, &a))
	})
}

func FuzzDecodeWorkspace(f *testing.F) {
	var encs [][]byte
	for i, name := range recordNames {
		w := record.Workspace{Created: int64(i) - 2, Name: name}
		recordSetID(&w.Account, byte(i*16))
		encs = append(encs, record.AppendWorkspace(nil, &w))
	}
	encs = append(encs, record.AppendWorkspace(nil, &record.Workspace{}))
	recordSeeds(f, encs, 1+16+8)
	f.Fuzz(func(t *testing.T, b []byte, reseal bool) {
		in := recordInput(b, reseal)
		w, err := record.DecodeWorkspace(recordWorkspaceID, in)
		scope, serr := record.DecodeWorkspaceScope(recordWorkspaceID, in)
		full := w
		full.Name = ""
		if (err == nil) != (serr == nil) || scope != full {
			t.Fatalf("DecodeWorkspaceScope = %+v, %v; DecodeWorkspace = %+v, %v", scope, serr, w, err)
		}
		if err != nil {
			recordCheckRefusal(t, in, err)
			return
		}
		if w.ID != recordWorkspaceID {
			t.Fatalf("ID = %v, want the one passed in, %v", w.ID, recordWorkspaceID)
		}
		recordCheckSame(t, in, record.AppendWorkspace(nil, &w))
	})
}

func FuzzDecodeCluster(f *testing.F) {
	var encs [][]byte
	for i, name := range recordNames {
		c := record.Cluster{
			Type: uint8(i), SASL: uint8(255 - i),
			Created: 1700000000000000000 + int64(i), Gen: ^uint64(i), Name: name,
		}
		recordSetID(&c.Account, 0x10)
		recordSetID(&c.Workspace, 0x20)
		encs = append(encs, record.AppendCluster(nil, &c))
	}
	encs = append(encs, record.AppendCluster(nil, &record.Cluster{}))
	recordSeeds(f, encs, 3+2*16+8+8)
	f.Fuzz(func(t *testing.T, b []byte, reseal bool) {
		in := recordInput(b, reseal)
		c, err := record.DecodeCluster(recordClusterID, in)
		scope, serr := record.DecodeClusterScope(in)
		full := record.ClusterScope{Account: c.Account, Workspace: c.Workspace, Type: c.Type, SASL: c.SASL}
		if (err == nil) != (serr == nil) || scope != full {
			t.Fatalf("DecodeClusterScope = %+v, %v; DecodeCluster = %+v, %v", scope, serr, c, err)
		}
		if err != nil {
			recordCheckRefusal(t, in, err)
			return
		}
		if c.ID != recordClusterID {
			t.Fatalf("ID = %v, want the one passed in, %v", c.ID, recordClusterID)
		}
		recordCheckSame(t, in, record.AppendCluster(nil, &c))
	})
}

// recordKeys are the keys the key targets' seeds are built from: each kind,
// each name, distinct digests.
func recordKeys() []record.Key {
	var ks []record.Key
	for i, name := range recordNames {
		k := record.Key{
			Kind: uint8(record.KindAccount + i%3), Flags: uint8(i & record.FlagAnyCluster),
			Created: int64(i) << 40, Expires: -int64(i), Name: name,
		}
		recordSetID(&k.ID, 0x40)
		recordSetID(&k.Account, 0x10)
		if k.Kind != record.KindAccount {
			recordSetID(&k.Workspace, 0x20)
		}
		if k.Kind == record.KindAgent {
			recordSetID(&k.Cluster, 0x30)
		}
		copy(k.Digest[:], recordSeq(byte(0xa0+i), keys.DigestSize))
		ks = append(ks, k)
	}
	return append(ks, record.Key{Kind: record.KindAccount})
}

// Offsets in the key records' bodies, written out here from the layout
// rather than taken from the package.
const (
	recordHotKindOff  = 1
	recordHotLen      = 3 + 4*keys.UUIDSize + 8 + keys.DigestSize
	recordMetaNameOff = 1 + keys.PrefixSize + 8
)

// recordKeyFromView builds the key a hot record holds, Created and Name
// left zero.
func recordKeyFromView(t *testing.T, v record.KeyView) record.Key {
	t.Helper()
	k := record.Key{
		Kind: v.Kind(), Flags: v.Flags(), Expires: v.Expires(),
		ID:        keys.KeyIDFromArray(v.ID()),
		Account:   keys.AccountIDFromArray(v.Account()),
		Workspace: keys.WorkspaceIDFromArray(v.Workspace()),
		Cluster:   keys.ClusterIDFromArray(v.Cluster()),
	}
	if n := copy(k.Digest[:], v.Digest()); n != keys.DigestSize || len(v.Digest()) != keys.DigestSize {
		t.Fatalf("Digest() is %d bytes, want %d", len(v.Digest()), keys.DigestSize)
	}
	return k
}

// FuzzDecodeKey checks DecodeKey on a pair of records, and ViewKey and
// MetaPrefix with it. With reseal true both inputs are record bodies and get
// their checksums.
//
// Property: nothing panics; each refusal wraps store.ErrCorrupt; DecodeKey
// accepts exactly when ViewKey accepts the hot record, MetaPrefix accepts
// the meta record, and the prefix it returns is the hot record's digest
// prefix; and when DecodeKey accepts, AppendKey and AppendKeyMeta of what
// it returned give back both inputs exactly, and the view's accessors read
// the same fields.
func FuzzDecodeKey(f *testing.F) {
	ks := recordKeys()
	body := func(enc []byte) []byte { return bytes.Clone(enc[:len(enc)-4]) }
	for i := range ks {
		hot, meta := record.AppendKey(nil, &ks[i]), record.AppendKeyMeta(nil, &ks[i])
		hb, mb := body(hot), body(meta)
		f.Add(hot, meta, false)
		f.Add(hb, mb, true)

		// Each record corrupt, the other valid.
		for _, c := range []struct {
			enc, body []byte
			other     func(b []byte, reseal bool)
		}{
			{hot, hb, func(b []byte, reseal bool) {
				if reseal {
					f.Add(b, mb, true)
				} else {
					f.Add(b, meta, false)
				}
			}},
			{meta, mb, func(b []byte, reseal bool) {
				if reseal {
					f.Add(hb, b, true)
				} else {
					f.Add(hot, b, false)
				}
			}},
		} {
			flipped := bytes.Clone(c.enc)
			flipped[len(flipped)/2] ^= 0x04
			c.other(flipped, false)
			c.other(c.enc[:len(c.enc)-1], false)
			c.other(append(bytes.Clone(c.enc), 0), false)
			v2 := bytes.Clone(c.body)
			v2[0] = 2
			c.other(v2, true)
			c.other(c.body[:len(c.body)-1], true)
			c.other(append(bytes.Clone(c.body), 'x'), true)
		}
		// A wrong name length in the meta record.
		long := bytes.Clone(mb)
		long[recordMetaNameOff]++
		f.Add(hb, long, true)
		// Kinds out of range in the hot record.
		for _, kind := range []byte{0, 4, 255} {
			kb := bytes.Clone(hb)
			kb[recordHotKindOff] = kind
			f.Add(kb, mb, true)
		}
		// The hot record followed by a name, as before the split.
		f.Add(append(append(bytes.Clone(hb), byte(len(ks[i].Name))), ks[i].Name...), mb, true)
		// The meta record of another key, of another digest prefix.
		j := (i + 1) % len(ks)
		f.Add(hot, record.AppendKeyMeta(nil, &ks[j]), false)
		// A prefix flip in the meta record, caught only by the pairing.
		pf := bytes.Clone(mb)
		pf[1] ^= 0x80
		f.Add(hb, pf, true)
		// The records swapped.
		f.Add(meta, hot, false)
	}
	f.Add([]byte(nil), []byte(nil), false)
	f.Add([]byte(nil), []byte(nil), true)
	f.Add([]byte{record.Version}, []byte{record.Version}, true)
	f.Fuzz(func(t *testing.T, hot, meta []byte, reseal bool) {
		hotIn, metaIn := recordInput(hot, reseal), recordInput(meta, reseal)
		k, err := record.DecodeKey(hotIn, metaIn)
		v, verr := record.ViewKey(hotIn)
		p, perr := record.MetaPrefix(metaIn)
		if verr != nil {
			recordCheckRefusal(t, hotIn, verr)
		}
		if perr != nil {
			recordCheckRefusal(t, metaIn, perr)
			if p != nil {
				t.Fatalf("MetaPrefix(%x) = %x with error %v", metaIn, *p, perr)
			}
		}
		wantOK := verr == nil && perr == nil && bytes.Equal(p[:], v.Digest()[:keys.PrefixSize])
		if (err == nil) != wantOK {
			t.Fatalf("DecodeKey(%x, %x): %v; ViewKey: %v; MetaPrefix: %v", hotIn, metaIn, err, verr, perr)
		}
		if err != nil {
			recordCheckRefusal(t, hotIn, err)
			return
		}
		if k.Kind < record.KindAccount || k.Kind > record.KindAgent {
			t.Fatalf("accepted kind %d", k.Kind)
		}
		recordCheckSame(t, hotIn, record.AppendKey(nil, &k))
		recordCheckSame(t, metaIn, record.AppendKeyMeta(nil, &k))
		vk := recordKeyFromView(t, v)
		vk.Created, vk.Name = k.Created, k.Name
		if vk != k {
			t.Fatalf("the KeyView accessors read %+v, DecodeKey %+v", vk, k)
		}
	})
}

// FuzzViewKey checks ViewKey on one hot record. Property: it never panics;
// it refuses with store.ErrCorrupt, and then DecodeKey refuses the record
// with any meta record; or it accepts a record of the hot record's length
// and a kind in range, AppendKey of what its accessors read gives back the
// input exactly, and DecodeKey accepts it with a meta record of its digest
// prefix.
func FuzzViewKey(f *testing.F) {
	var encs [][]byte
	for _, k := range recordKeys() {
		encs = append(encs, record.AppendKey(nil, &k))
	}
	recordSeeds(f, encs, recordHotKindOff)
	f.Fuzz(func(t *testing.T, b []byte, reseal bool) {
		in := recordInput(b, reseal)
		v, err := record.ViewKey(in)
		if err != nil {
			recordCheckRefusal(t, in, err)
			// Not even a meta record of the prefix this record would have
			// makes it acceptable.
			var mk record.Key
			if len(in) >= recordHotLen {
				copy(mk.Digest[:], in[recordHotLen-keys.DigestSize:recordHotLen])
			}
			if dk, derr := record.DecodeKey(in, record.AppendKeyMeta(nil, &mk)); derr == nil {
				t.Fatalf("ViewKey refused %x (%v), DecodeKey accepted it as %+v", in, err, dk)
			}
			return
		}
		if len(in) != recordHotLen+4 {
			t.Fatalf("accepted a hot record of %d bytes", len(in))
		}
		if v.Kind() < record.KindAccount || v.Kind() > record.KindAgent {
			t.Fatalf("accepted kind %d", v.Kind())
		}
		k := recordKeyFromView(t, v)
		recordCheckSame(t, in, record.AppendKey(nil, &k))
		k.Created, k.Name = 1<<40, "fuzz"
		dk, err := record.DecodeKey(in, record.AppendKeyMeta(nil, &k))
		if err != nil {
			t.Fatalf("ViewKey accepted %x, DecodeKey refused it: %v", in, err)
		}
		if dk != k {
			t.Fatalf("DecodeKey = %+v, the view reads %+v", dk, k)
		}
	})
}

// FuzzCheckMeta checks CheckMeta against an oracle written from its
// contract: the exact value MetaValue writes is accepted; the magic with
// another format byte is ErrUnknownFormat (and not corrupt); anything else
// is store.ErrCorrupt.
func FuzzCheckMeta(f *testing.F) {
	const magic = "streamauth/format/"
	good := record.MetaValue()
	f.Add(good)
	f.Add([]byte(magic))
	f.Add([]byte(magic + "\x02"))
	f.Add([]byte(magic + "\x00"))
	f.Add(append(bytes.Clone(good), 0))
	f.Add([]byte("streamauth/format\x01"))
	f.Add([]byte{})
	f.Add(record.AppendAccount(nil, &record.Account{Name: "streamauth/format/"}))
	f.Fuzz(func(t *testing.T, v []byte) {
		err := record.CheckMeta(v)
		switch {
		case bytes.Equal(v, good):
			if err != nil {
				t.Fatalf("CheckMeta(%q): %v", v, err)
			}
		case len(v) == len(magic)+1 && string(v[:len(magic)]) == magic:
			if !errors.Is(err, record.ErrUnknownFormat) || errors.Is(err, store.ErrCorrupt) {
				t.Fatalf("CheckMeta(%q) = %v, want ErrUnknownFormat only", v, err)
			}
		default:
			if !errors.Is(err, store.ErrCorrupt) || errors.Is(err, record.ErrUnknownFormat) {
				t.Fatalf("CheckMeta(%q) = %v, want store.ErrCorrupt only", v, err)
			}
		}
	})
}

// recordCredential is a valid credential with fields of the given sizes.
func recordCredential(saltLen, hashLen int, name string) record.Credential {
	c := record.Credential{
		Created: 1700000000000000000, Superuser: saltLen%2 == 0,
		Username: "ccun_00112233445566778899aabbccddeeff", Name: name,
		Argon2: record.Argon2Hash{Time: 1, Memory: 64 * 1024, Threads: 1,
			Salt: recordSeq(0x40, saltLen), Hash: recordSeq(0x50, hashLen)},
	}
	for i, size := range []int{32, 64} {
		c.SCRAM[i] = record.SCRAMVerifier{Iterations: 4096 << i, Salt: recordSeq(0x60, saltLen),
			StoredKey: recordSeq(0x70, size), ServerKey: recordSeq(0x80, size)}
	}
	recordSetID(&c.Cluster, 0x10)
	recordSetID(&c.Workspace, 0x20)
	recordSetID(&c.Account, 0x30)
	return c
}

func FuzzDecodeCredential(f *testing.F) {
	var encs [][]byte
	for _, sizes := range [][2]int{{8, 16}, {16, 32}, {64, 64}} {
		c := recordCredential(sizes[0], sizes[1], "orders consumer")
		encs = append(encs, record.AppendCredential(nil, &c))
	}
	recordSeeds(f, encs, 1+3*16+8)
	id := keys.CredentialIDFromArray([16]byte{0xcc})
	f.Fuzz(func(t *testing.T, b []byte, reseal bool) {
		in := recordInput(b, reseal)
		c, err := record.DecodeCredential(id, in)
		if err != nil {
			recordCheckRefusal(t, in, err)
			return
		}
		a := c.Argon2
		if a.Time > record.MaxArgon2Time || a.Memory > record.MaxArgon2Memory || a.Threads > record.MaxArgon2Threads {
			t.Fatalf("decoded argon2 parameters out of bounds: %+v", a)
		}
		for _, v := range c.SCRAM {
			if v.Iterations < record.MinSCRAMIter || v.Iterations > record.MaxSCRAMIter {
				t.Fatalf("decoded SCRAM iterations out of bounds: %d", v.Iterations)
			}
		}
		recordCheckSame(t, in, record.AppendCredential(nil, &c))
	})
}

// FuzzDecodeStaged: a staged change of an agent's large apply decodes, or
// is refused with ErrCorrupt; what decodes re-encodes to the same bytes.
func FuzzDecodeStaged(f *testing.F) {
	encs := [][]byte{
		record.AppendStaged(nil, true, nil),
		record.AppendStaged(nil, false, nil),
		record.AppendStaged(nil, false, []byte("a credential record")),
	}
	recordSeeds(f, encs, 1)
	f.Fuzz(func(t *testing.T, b []byte, reseal bool) {
		in := recordInput(b, reseal)
		v, del, err := record.DecodeStaged(in)
		if err != nil {
			recordCheckRefusal(t, in, err)
			return
		}
		if del && len(v) != 0 {
			t.Fatalf("a delete decoded with a value of %d bytes", len(v))
		}
		recordCheckSame(t, in, record.AppendStaged(nil, del, v))
	})
}
