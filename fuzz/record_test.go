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
// FuzzDecodeKey and FuzzViewKey take a seal mode instead (see hotAsIs): a
// hot key record has two forms, each with its own checksum, and FuzzViewKey
// also takes the digest prefix the record is read under.
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

		for _, d := range damaged(enc) {
			f.Add(d, false)
		}

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

// Offsets and lengths of the key records' bodies, written out here from
// the layout rather than taken from the package.
const (
	recordHotKindOff  = 1
	recordHotDigest   = 3 + 4*keys.UUIDSize + 8 // where the digest (wire) or its second half (store) starts
	recordHotStoreLen = recordHotDigest + keys.DigestSize - keys.PrefixSize
	recordHotWireLen  = recordHotDigest + keys.DigestSize
	recordMetaNameOff = 1 + keys.PrefixSize + 8
)

// How the key targets seal a hot record before decoding it: not at all,
// or by appending the checksum of the store form (the CRC-32C of the
// digest prefix followed by the body) or of the wire form (of the body
// alone), so that the fuzzer gets past the checksum of either form and
// exercises the checks behind it.
const (
	hotAsIs uint8 = iota
	hotSealStore
	hotSealWire
	hotSealModes
)

// recordSealStore returns body followed by the checksum of a hot record in
// its store form under prefix.
func recordSealStore(prefix *[keys.PrefixSize]byte, body []byte) []byte {
	sum := crc32.Update(crc32.Update(0, recordCastagnoli, prefix[:]), recordCastagnoli, body)
	return binary.BigEndian.AppendUint32(bytes.Clone(body), sum)
}

// recordHotInput is the hot record a key target decodes under prefix.
func recordHotInput(prefix *[keys.PrefixSize]byte, b []byte, seal uint8) []byte {
	switch seal % hotSealModes {
	case hotSealStore:
		return recordSealStore(prefix, b)
	case hotSealWire:
		return recordSeal(b)
	}
	return b
}

// recordPrefix makes a digest prefix of the fuzzer's bytes: their first 16,
// padded with zeros.
func recordPrefix(b []byte) *[keys.PrefixSize]byte {
	var p [keys.PrefixSize]byte
	copy(p[:], b)
	return &p
}

// recordKeyFromView builds the key a hot record holds, Created and Name
// left zero, from the view's accessors, and checks that KeyView.Key and
// DigestEqual agree with them.
func recordKeyFromView(t *testing.T, v record.KeyView) record.Key {
	t.Helper()
	k := record.Key{
		Kind: v.Kind(), Flags: v.Flags(), Expires: v.Expires(),
		ID:        keys.KeyIDFromArray(v.ID()),
		Account:   keys.AccountIDFromArray(v.Account()),
		Workspace: keys.WorkspaceIDFromArray(v.Workspace()),
		Cluster:   keys.ClusterIDFromArray(v.Cluster()),
		Digest:    v.Digest(),
	}
	if vk := v.Key(); vk != k {
		t.Fatalf("KeyView.Key() = %+v, the accessors read %+v", vk, k)
	}
	d, err := keys.DigestFromBytes(k.Digest[:])
	if err != nil {
		t.Fatal(err)
	}
	if !v.DigestEqual(&d) {
		t.Fatal("DigestEqual(Digest()) is false")
	}
	return k
}

// recordHotForms returns, for each key, its digest prefix and its hot
// record in both forms, with the bodies.
type recordHotForms struct {
	prefix                    []byte
	store, wire, sbody, wbody []byte
	meta, mbody               []byte
}

// hotForm is one form of a hot record: sealed, its body, and the seal
// mode that turns the body back into the sealed record.
type hotForm struct {
	enc, body []byte
	seal      uint8
}

// hots returns the two forms of fm's hot record, store then wire.
func (fm recordHotForms) hots() [2]hotForm {
	return [2]hotForm{{fm.store, fm.sbody, hotSealStore}, {fm.wire, fm.wbody, hotSealWire}}
}

func recordForms() []recordHotForms {
	body := func(enc []byte) []byte { return bytes.Clone(enc[:len(enc)-4]) }
	var out []recordHotForms
	for _, k := range recordKeys() {
		st, wi, meta := record.AppendKey(nil, &k), record.AppendKeyWire(nil, &k), record.AppendKeyMeta(nil, &k)
		out = append(out, recordHotForms{
			prefix: bytes.Clone(k.Digest[:keys.PrefixSize]),
			store:  st, wire: wi, sbody: body(st), wbody: body(wi),
			meta: meta, mbody: body(meta),
		})
	}
	return out
}

// FuzzDecodeKey checks DecodeKey on a pair of records, and ViewKey and
// MetaPrefix with it. With seal other than hotAsIs, both inputs are record
// bodies and get their checksums: the meta record its own, the hot record
// that of the store form under the digest prefix the meta body holds
// (hotSealStore) or that of the wire form (hotSealWire).
//
// Property: nothing panics; each refusal wraps store.ErrCorrupt; DecodeKey
// accepts exactly when MetaPrefix accepts the meta record and ViewKey
// accepts the hot record under the prefix MetaPrefix returns; and when
// DecodeKey accepts, AppendKeyMeta of what it returned gives back the meta
// record exactly, AppendKey (store form, 95 bytes) or AppendKeyWire (wire
// form, 111 bytes) gives back the hot record exactly, and the view's
// accessors read the same fields.
func FuzzDecodeKey(f *testing.F) {
	forms := recordForms()
	for i, fm := range forms {
		for _, hot := range fm.hots() {
			f.Add(hot.enc, fm.meta, hotAsIs)
			f.Add(hot.body, fm.mbody, hot.seal)

			// The hot record corrupt, the meta record valid.
			for _, d := range damaged(hot.enc) {
				f.Add(d, fm.meta, hotAsIs)
			}
			other := bytes.Clone(hot.body)
			other[0] ^= 3 // version 1 for 2 and 2 for 1
			f.Add(other, fm.mbody, hot.seal)
			f.Add(hot.body[:len(hot.body)-1], fm.mbody, hot.seal)
			f.Add(append(bytes.Clone(hot.body), 'x'), fm.mbody, hot.seal)
			// Kinds out of range.
			for _, kind := range []byte{0, 4, 255} {
				kb := bytes.Clone(hot.body)
				kb[recordHotKindOff] = kind
				f.Add(kb, fm.mbody, hot.seal)
			}
			// The hot record followed by a name, as before the split.
			f.Add(append(append(bytes.Clone(hot.body), 1), 'x'), fm.mbody, hot.seal)

			// The meta record corrupt, the hot record valid.
			for _, d := range damaged(fm.meta) {
				f.Add(hot.enc, d, hotAsIs)
			}
			long := bytes.Clone(fm.mbody)
			long[recordMetaNameOff]++
			f.Add(hot.body, long, hot.seal)
			// The meta record of another key, of another digest prefix.
			f.Add(hot.enc, forms[(i+1)%len(forms)].meta, hotAsIs)
			// A prefix flip in the meta record, caught only by the
			// pairing.
			pf := bytes.Clone(fm.mbody)
			pf[1] ^= 0x80
			f.Add(hot.enc, recordSeal(pf), hotAsIs)
			// The records swapped.
			f.Add(fm.meta, hot.enc, hotAsIs)
		}
		// Each body sealed as the other form.
		f.Add(fm.sbody, fm.mbody, hotSealWire)
		f.Add(fm.wbody, fm.mbody, hotSealStore)
	}
	f.Add([]byte(nil), []byte(nil), hotAsIs)
	f.Add([]byte(nil), []byte(nil), hotSealStore)
	f.Add([]byte(nil), []byte(nil), hotSealWire)
	f.Add([]byte{record.Version}, []byte{record.Version}, hotSealWire)
	f.Fuzz(func(t *testing.T, hot, meta []byte, seal uint8) {
		metaIn := meta
		if seal%hotSealModes != hotAsIs {
			metaIn = recordSeal(meta)
		}
		// The store form is sealed under the prefix the meta body holds.
		var mp []byte
		if len(meta) > 1 {
			mp = meta[1:]
		}
		hotIn := recordHotInput(recordPrefix(mp), hot, seal)
		k, err := record.DecodeKey(hotIn, metaIn)
		p, perr := record.MetaPrefix(metaIn)
		var v record.KeyView
		verr := perr
		if perr != nil {
			recordCheckRefusal(t, metaIn, perr)
			if p != nil {
				t.Fatalf("MetaPrefix(%x) = %x with error %v", metaIn, *p, perr)
			}
		} else if v, verr = record.ViewKey(p, hotIn); verr != nil {
			recordCheckRefusal(t, hotIn, verr)
		}
		if (err == nil) != (verr == nil) {
			t.Fatalf("DecodeKey(%x, %x): %v; MetaPrefix: %v; ViewKey: %v", hotIn, metaIn, err, perr, verr)
		}
		if err != nil {
			recordCheckRefusal(t, hotIn, err)
			return
		}
		if k.Kind < record.KindAccount || k.Kind > record.KindAgent {
			t.Fatalf("accepted kind %d", k.Kind)
		}
		if !bytes.Equal(k.Digest[:keys.PrefixSize], p[:]) {
			t.Fatalf("accepted a key of digest %x under prefix %x", k.Digest, *p)
		}
		switch len(hotIn) {
		case recordHotStoreLen + 4:
			recordCheckSame(t, hotIn, record.AppendKey(nil, &k))
		case recordHotWireLen + 4:
			recordCheckSame(t, hotIn, record.AppendKeyWire(nil, &k))
		default:
			t.Fatalf("accepted a hot record of %d bytes", len(hotIn))
		}
		recordCheckSame(t, metaIn, record.AppendKeyMeta(nil, &k))
		vk := recordKeyFromView(t, v)
		vk.Created, vk.Name = k.Created, k.Name
		if vk != k {
			t.Fatalf("the KeyView accessors read %+v, DecodeKey %+v", vk, k)
		}
	})
}

// FuzzViewKey checks ViewKey on one hot record under a digest prefix made
// of the first 16 bytes of its first input; seal says how the record is
// sealed (see hotAsIs).
//
// Property: it never panics; it refuses with store.ErrCorrupt, and then
// DecodeKey refuses the record with a meta record of that prefix; or it
// accepts a record of a kind in range whose digest begins with the
// prefix, and either the store form (95 bytes, version 2), which AppendKey
// of what the accessors read gives back exactly and which no other prefix
// and not ViewKeyWire accept, or the wire form (111 bytes, version 1),
// which AppendKeyWire gives back exactly and ViewKeyWire reads alike; and
// DecodeKey accepts it with a meta record of the prefix.
func FuzzViewKey(f *testing.F) {
	for _, fm := range recordForms() {
		otherPrefix := bytes.Clone(fm.prefix)
		otherPrefix[15] ^= 0x01
		for _, hot := range fm.hots() {
			f.Add(fm.prefix, hot.enc, hotAsIs)
			f.Add(fm.prefix, hot.body, hot.seal)
			f.Add(otherPrefix, hot.enc, hotAsIs)
			f.Add(otherPrefix, hot.body, hot.seal)

			for _, d := range damaged(hot.enc) {
				f.Add(fm.prefix, d, hotAsIs)
			}
			other := bytes.Clone(hot.body)
			other[0] ^= 3
			f.Add(fm.prefix, other, hot.seal)
			f.Add(fm.prefix, hot.body[:len(hot.body)-1], hot.seal)
			f.Add(fm.prefix, append(bytes.Clone(hot.body), 'x'), hot.seal)
			for _, kind := range []byte{0, 4, 255} {
				kb := bytes.Clone(hot.body)
				kb[recordHotKindOff] = kind
				f.Add(fm.prefix, kb, hot.seal)
			}
		}
		f.Add(fm.prefix, fm.sbody, hotSealWire)
		f.Add(fm.prefix, fm.wbody, hotSealStore)
		// The wire form's digest prefix changed and resealed: valid alone,
		// but not under the old prefix.
		wp := bytes.Clone(fm.wbody)
		wp[recordHotDigest] ^= 0x10
		f.Add(fm.prefix, wp, hotSealWire)
	}
	f.Add([]byte(nil), []byte(nil), hotAsIs)
	f.Add([]byte(nil), []byte(nil), hotSealStore)
	f.Add([]byte(nil), []byte(nil), hotSealWire)
	f.Fuzz(func(t *testing.T, pb, b []byte, seal uint8) {
		prefix := recordPrefix(pb)
		in := recordHotInput(prefix, b, seal)
		var mk record.Key
		copy(mk.Digest[:], prefix[:])
		mk.Created, mk.Name = 1<<40, "fuzz"
		meta := record.AppendKeyMeta(nil, &mk)
		v, err := record.ViewKey(prefix, in)
		if err != nil {
			recordCheckRefusal(t, in, err)
			// Not even a meta record of the prefix makes it acceptable.
			if dk, derr := record.DecodeKey(in, meta); derr == nil {
				t.Fatalf("ViewKey refused %x (%v), DecodeKey accepted it as %+v", in, err, dk)
			}
			return
		}
		if v.Kind() < record.KindAccount || v.Kind() > record.KindAgent {
			t.Fatalf("accepted kind %d", v.Kind())
		}
		k := recordKeyFromView(t, v)
		if [keys.PrefixSize]byte(k.Digest[:]) != *prefix {
			t.Fatalf("accepted under prefix %x a record of digest %x", *prefix, k.Digest)
		}
		switch len(in) {
		case recordHotStoreLen + 4:
			if in[0] != 2 {
				t.Fatalf("accepted a store form of version %d", in[0])
			}
			recordCheckSame(t, in, record.AppendKey(nil, &k))
			other := *prefix
			other[int(seal)%keys.PrefixSize] ^= 1 << (seal % 8)
			if _, err := record.ViewKey(&other, in); err == nil {
				t.Fatalf("a store form accepted under prefixes %x and %x", *prefix, other)
			}
			if _, err := record.ViewKeyWire(in); err == nil {
				t.Fatalf("ViewKeyWire accepted the store form %x", in)
			}
		case recordHotWireLen + 4:
			if in[0] != 1 {
				t.Fatalf("accepted a wire form of version %d", in[0])
			}
			recordCheckSame(t, in, record.AppendKeyWire(nil, &k))
			wv, err := record.ViewKeyWire(in)
			if err != nil {
				t.Fatalf("ViewKey accepted the wire form %x, ViewKeyWire refused it: %v", in, err)
			}
			if wk := recordKeyFromView(t, wv); wk != k {
				t.Fatalf("ViewKeyWire reads %+v, ViewKey %+v", wk, k)
			}
		default:
			t.Fatalf("accepted a hot record of %d bytes", len(in))
		}
		k.Created, k.Name = mk.Created, mk.Name
		dk, err := record.DecodeKey(in, meta)
		if err != nil {
			t.Fatalf("ViewKey accepted %x, DecodeKey refused it: %v", in, err)
		}
		if dk != k {
			t.Fatalf("DecodeKey = %+v, the view reads %+v", dk, k)
		}
	})
}

// FuzzViewKeyWire checks ViewKeyWire, the decoder of the wire form that
// snapshots carry. With reseal true the bytes are a body and get their
// checksum.
//
// Property: it never panics; it refuses with store.ErrCorrupt; or it
// accepts a record of 111 bytes, of version 1 and a kind in range, which
// AppendKeyWire of what its accessors read gives back exactly; ViewKey
// reads it alike under its own digest prefix and refuses it under another;
// and its store form (AppendKey) reads alike under its digest prefix, as
// an agent's store holds it.
func FuzzViewKeyWire(f *testing.F) {
	var encs [][]byte
	for _, fm := range recordForms() {
		encs = append(encs, fm.wire)
		// The store form is not a wire form, sealed either way.
		f.Add(fm.store, false)
		f.Add(fm.sbody, true)
	}
	recordSeeds(f, encs, recordHotKindOff)
	f.Fuzz(func(t *testing.T, b []byte, reseal bool) {
		in := recordInput(b, reseal)
		v, err := record.ViewKeyWire(in)
		if err != nil {
			recordCheckRefusal(t, in, err)
			return
		}
		if len(in) != recordHotWireLen+4 || in[0] != 1 {
			t.Fatalf("accepted a wire form of %d bytes, version %d", len(in), in[0])
		}
		if v.Kind() < record.KindAccount || v.Kind() > record.KindAgent {
			t.Fatalf("accepted kind %d", v.Kind())
		}
		k := recordKeyFromView(t, v)
		recordCheckSame(t, in, record.AppendKeyWire(nil, &k))
		prefix := recordPrefix(k.Digest[:keys.PrefixSize])
		sv, err := record.ViewKey(prefix, in)
		if err != nil {
			t.Fatalf("ViewKey refused the wire form under its own prefix: %v", err)
		}
		if sk := recordKeyFromView(t, sv); sk != k {
			t.Fatalf("ViewKey reads %+v, ViewKeyWire %+v", sk, k)
		}
		other := *prefix
		other[0] ^= 0x80
		if _, err := record.ViewKey(&other, in); !errors.Is(err, store.ErrCorrupt) {
			t.Fatalf("ViewKey of the wire form under another prefix: %v, want store.ErrCorrupt", err)
		}
		st := record.AppendKey(nil, &k)
		stv, err := record.ViewKey(prefix, st)
		if err != nil {
			t.Fatalf("ViewKey refused the store form made of an accepted wire form: %v", err)
		}
		if sk := recordKeyFromView(t, stv); sk != k {
			t.Fatalf("the store form reads %+v, the wire form %+v", sk, k)
		}
	})
}

// FuzzCheckMeta checks CheckMeta and MetaFormat against an oracle written
// from their contract: the magic followed by format 1 (written by earlier
// releases) or 2 (written by this one, MetaValue) is accepted, and
// MetaFormat names the format; the magic with another format byte is
// ErrUnknownFormat (and not corrupt); anything else is store.ErrCorrupt.
func FuzzCheckMeta(f *testing.F) {
	const magic = "streamauth/format/"
	good := record.MetaValue()
	f.Add(good)
	f.Add([]byte(magic))
	f.Add([]byte(magic + "\x01"))
	f.Add([]byte(magic + "\x02"))
	f.Add([]byte(magic + "\x03"))
	f.Add([]byte(magic + "\x00"))
	f.Add(append(bytes.Clone(good), 0))
	f.Add([]byte("streamauth/format\x01"))
	f.Add([]byte{})
	f.Add(record.AppendAccount(nil, &record.Account{Name: "streamauth/format/"}))
	f.Fuzz(func(t *testing.T, v []byte) {
		err := record.CheckMeta(v)
		format, ferr := record.MetaFormat(v)
		if (err == nil) != (ferr == nil) {
			t.Fatalf("CheckMeta(%q) = %v, MetaFormat = %d, %v", v, err, format, ferr)
		}
		switch {
		case string(v) == magic+"\x01" || string(v) == magic+"\x02":
			if err != nil {
				t.Fatalf("CheckMeta(%q): %v", v, err)
			}
			if format != v[len(magic)] {
				t.Fatalf("MetaFormat(%q) = %d", v, format)
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

// damaged returns three seeds made from a sealed record enc: one with a
// bit flipped in its middle, one cut short by a byte, one a byte longer.
// Each is a fresh slice.
func damaged(enc []byte) [][]byte {
	flipped := bytes.Clone(enc)
	flipped[len(flipped)/2] ^= 0x04
	return [][]byte{flipped, bytes.Clone(enc[:len(enc)-1]), append(bytes.Clone(enc), 0)}
}
