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

// FuzzDecodeKey checks DecodeKey and ViewKey together: they accept the same
// inputs, and the view's accessors read the same fields DecodeKey returns.
func FuzzDecodeKey(f *testing.F) {
	var encs [][]byte
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
		encs = append(encs, record.AppendKey(nil, &k))
	}
	const nameOff = 3 + 4*16 + 8 + 8 + keys.DigestSize
	recordSeeds(f, encs, nameOff)
	// Kinds out of range, with a valid checksum.
	for _, kind := range []byte{0, 4, 255} {
		body := bytes.Clone(encs[0][:len(encs[0])-4])
		body[1] = kind
		f.Add(body, true)
	}
	f.Fuzz(func(t *testing.T, b []byte, reseal bool) {
		in := recordInput(b, reseal)
		k, err := record.DecodeKey(in)
		v, verr := record.ViewKey(in)
		if (err == nil) != (verr == nil) {
			t.Fatalf("DecodeKey: %v; ViewKey: %v", err, verr)
		}
		if err != nil {
			recordCheckRefusal(t, in, err)
			recordCheckRefusal(t, in, verr)
			return
		}
		if k.Kind < record.KindAccount || k.Kind > record.KindAgent {
			t.Fatalf("accepted kind %d", k.Kind)
		}
		recordCheckSame(t, in, record.AppendKey(nil, &k))
		if vk := v.Key(); vk != k {
			t.Fatalf("ViewKey(...).Key() = %+v, DecodeKey = %+v", vk, k)
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
		if v.Kind() != k.Kind || v.Flags() != k.Flags || v.Created() != k.Created || v.Expires() != k.Expires ||
			!bytes.Equal(v.Digest(), k.Digest[:]) || v.Name() != k.Name ||
			id != k.ID || ac != k.Account || ws != k.Workspace || cl != k.Cluster {
			t.Fatalf("a KeyView accessor disagrees with DecodeKey %+v", k)
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
