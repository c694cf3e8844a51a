package fuzz

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/streamauth/streamauth/cluster"
	"github.com/streamauth/streamauth/internal/record"
	"github.com/streamauth/streamauth/internal/snapshot"
	"github.com/streamauth/streamauth/keys"
)

// FuzzDecodeSnapshot takes bytes and a flag, resign. With resign false the
// bytes are decoded as they are: almost every mutation then fails the
// signature, which is what a tampered snapshot does. With resign true the
// bytes are a snapshot without its signature, and the target signs them
// with the trusted test key first, so that the fuzzer gets past the
// signature and exercises the parser and the invariant checks behind it.
//
// Property: Decode never panics; it refuses with an error wrapping exactly
// one of snapshot.ErrMalformed and snapshot.ErrSignature; or it accepts,
// and then the snapshot satisfies every invariant (checked here from the
// package documentation, not with the package's code), and Encode of it
// with the test key gives back exactly the input (ed25519 signatures are
// deterministic), so nothing in the input is ignored or has two readings.

// The test signing key, fixed; its public key is the one trusted.
var snapPriv = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x5a}, ed25519.SeedSize))

var snapTrusted = []ed25519.PublicKey{
	ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0xa5}, ed25519.SeedSize)).Public().(ed25519.PublicKey),
	snapPriv.Public().(ed25519.PublicKey),
}

// The format, written out from the package documentation.
const (
	snapDomain     = "streamauth snapshot v2\x00"
	snapMagic      = "streamauth-snapshot\x00\x02"
	snapOffKeyID   = 21
	snapOffNKeys   = 135
	snapHeaderSize = 143
)

// snapResign signs body the way the format says.
func snapResign(body []byte) []byte {
	digest := sha256.Sum256(body)
	sig := ed25519.Sign(snapPriv, append([]byte(snapDomain), digest[:]...))
	return append(bytes.Clone(body), sig...)
}

// snapBody encodes s without its signature, with this file's own encoder
// and no checks, so that seeds may break the invariants.
func snapBody(s *snapshot.Snapshot) []byte {
	kid := snapshot.KeyID(snapPriv.Public().(ed25519.PublicKey))
	b := append([]byte(snapMagic), kid[:]...)
	for _, id := range [][keys.UUIDSize]byte{s.Cluster.Bytes(), s.Workspace.Bytes(), s.Account.Bytes()} {
		b = append(b, id[:]...)
	}
	b = append(b, s.Type, s.SASL)
	b = binary.BigEndian.AppendUint64(b, s.Version)
	b = binary.BigEndian.AppendUint64(b, uint64(s.Issued))
	b = binary.BigEndian.AppendUint64(b, uint64(s.Expires))
	b = append(b, s.FakeSaltKey[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(s.AgentKeys)))
	b = binary.BigEndian.AppendUint32(b, uint32(len(s.Credentials)))
	for _, k := range s.AgentKeys {
		b = binary.BigEndian.AppendUint16(b, uint16(len(k)))
		b = append(b, k...)
	}
	for _, c := range s.Credentials {
		id := c.ID.Bytes()
		b = append(b, id[:]...)
		b = binary.BigEndian.AppendUint16(b, uint16(len(c.Record)))
		b = append(b, c.Record...)
	}
	return b
}

// snapValid is a valid snapshot of the cluster, workspace and account of
// recordCredential, with nKeys agent keys (every third one workspace-wide)
// and nCreds credentials.
func snapValid(nKeys, nCreds int) *snapshot.Snapshot {
	s := &snapshot.Snapshot{
		Type: uint8(cluster.BYOC), SASL: uint8(cluster.SASLRequired), Version: 3,
		Issued: 1700000000000000000, Expires: 1700000000000000000 + 3600e9,
		FakeSaltKey: [32]byte(recordSeq(0xe0, 32)),
	}
	recordSetID(&s.Cluster, 0x10)
	recordSetID(&s.Workspace, 0x20)
	recordSetID(&s.Account, 0x30)
	for i := range nKeys {
		k := record.Key{Kind: record.KindAgent, Account: s.Account, Workspace: s.Workspace, Cluster: s.Cluster,
			Expires: int64(i)}
		if i%3 == 2 {
			k.Flags, k.Cluster = record.FlagAnyCluster, keys.ClusterID{}
		}
		recordSetID(&k.ID, byte(0x40+i))
		copy(k.Digest[:], recordSeq(byte(0xa0+i), keys.DigestSize))
		s.AgentKeys = append(s.AgentKeys, record.AppendKeyWire(nil, &k))
	}
	for i := range nCreds {
		c := recordCredential(8+i, 16+i, "consumer")
		c.Username = fmt.Sprintf("ccun_%d", i)
		var id keys.CredentialID
		recordSetID(&id, byte(0x50+i))
		s.Credentials = append(s.Credentials, snapshot.Credential{ID: id, Record: record.AppendCredential(nil, &c)})
	}
	return s
}

func FuzzDecodeSnapshot(f *testing.F) {
	for _, n := range [][2]int{{0, 0}, {1, 0}, {0, 1}, {3, 2}} {
		s := snapValid(n[0], n[1])
		enc, err := snapshot.Encode(s, snapPriv)
		if err != nil {
			f.Fatal(err)
		}
		body := enc[:len(enc)-ed25519.SignatureSize]
		if !bytes.Equal(body, snapBody(s)) || !bytes.Equal(enc, snapResign(body)) {
			f.Fatalf("the test's encoder disagrees with Encode")
		}
		f.Add(enc, false)
		f.Add(body, true)

		// Corrupt as they come.
		f.Add(enc[:len(enc)-1], false)
		f.Add(append(bytes.Clone(enc), 0), false)
		for _, i := range []int{0, 20, snapOffKeyID, 100, len(enc) / 2, len(enc) - 1} {
			c := bytes.Clone(enc)
			c[i] ^= 0x10
			f.Add(c, false)
		}

		// Corrupt, re-signed.
		f.Add(body[:len(body)-1], true)
		f.Add(append(bytes.Clone(body), 0), true)
		for _, d := range []uint32{1, 0xffffffff} {
			c := bytes.Clone(body)
			binary.BigEndian.PutUint32(c[snapOffNKeys:], binary.BigEndian.Uint32(c[snapOffNKeys:])+d)
			f.Add(c, true)
		}
		if len(body) > snapHeaderSize {
			c := bytes.Clone(body)
			c[snapHeaderSize+1]++
			f.Add(c, true)
		}
	}

	// Valid bytes, broken invariants, re-signed.
	for _, edit := range []func(s *snapshot.Snapshot){
		func(s *snapshot.Snapshot) { s.AgentKeys[0], s.AgentKeys[1] = s.AgentKeys[1], s.AgentKeys[0] },
		func(s *snapshot.Snapshot) { s.AgentKeys[1] = s.AgentKeys[0] },
		func(s *snapshot.Snapshot) { s.Credentials[0], s.Credentials[1] = s.Credentials[1], s.Credentials[0] },
		func(s *snapshot.Snapshot) { s.Credentials[1].Record = s.Credentials[0].Record },
		func(s *snapshot.Snapshot) { s.Credentials[1].ID = s.Credentials[0].ID },
		func(s *snapshot.Snapshot) { recordSetID(&s.Cluster, 0x11) },
		func(s *snapshot.Snapshot) { s.Type = uint8(cluster.Serverless) },
		func(s *snapshot.Snapshot) { s.Expires = s.Issued },
		func(s *snapshot.Snapshot) { s.Version = 0 },
		func(s *snapshot.Snapshot) {
			k := record.Key{Kind: record.KindApplication, Workspace: s.Workspace, Account: s.Account}
			recordSetID(&k.ID, 0x01)
			s.AgentKeys[0] = record.AppendKeyWire(nil, &k)
		},
	} {
		s := snapValid(3, 2)
		edit(s)
		f.Add(snapBody(s), true)
	}
	f.Add([]byte(nil), false)
	f.Add([]byte(snapMagic), true)

	f.Fuzz(func(t *testing.T, b []byte, resign bool) {
		in := b
		if resign {
			in = snapResign(b)
		}
		s, err := snapshot.Decode(in, snapTrusted)
		if err != nil {
			if s != nil {
				t.Fatalf("Decode returned a snapshot and %v", err)
			}
			if errors.Is(err, snapshot.ErrMalformed) == errors.Is(err, snapshot.ErrSignature) ||
				errors.Is(err, snapshot.ErrInvalid) {
				t.Fatalf("Decode: %v wraps not exactly one of ErrMalformed and ErrSignature", err)
			}
			return
		}
		snapCheckInvariants(t, s)
		out, err := snapshot.Encode(s, snapPriv)
		if err != nil {
			t.Fatalf("Decode accepted %x, Encode refuses what it returned: %v", in, err)
		}
		if !bytes.Equal(in, out) {
			t.Fatalf("decoded and re-encoded:\n in  %x\n out %x", in, out)
		}
	})
}

// snapCheckInvariants checks a decoded snapshot against the package
// documentation's list.
func snapCheckInvariants(t *testing.T, s *snapshot.Snapshot) {
	t.Helper()
	if s.Cluster.IsZero() || s.Workspace.IsZero() || s.Account.IsZero() {
		t.Fatalf("accepted a zero id")
	}
	if typ := cluster.Type(s.Type); !typ.HasAgents() || typ.CheckSASL(cluster.SASLPolicy(s.SASL)) != nil {
		t.Fatalf("accepted type %d, SASL %d", s.Type, s.SASL)
	}
	if s.Version == 0 || s.Expires <= s.Issued || s.FakeSaltKey == [32]byte{} {
		t.Fatalf("accepted version %d, issued %d, expires %d, fake salt key %x", s.Version, s.Issued, s.Expires, s.FakeSaltKey)
	}
	if len(s.AgentKeys) > snapshot.MaxEntries || len(s.Credentials) > snapshot.MaxEntries {
		t.Fatalf("accepted %d keys, %d credentials", len(s.AgentKeys), len(s.Credentials))
	}
	prefixes := map[string]bool{}
	var prev []byte
	for i, rec := range s.AgentKeys {
		v, err := record.ViewKeyWire(rec)
		if err != nil {
			t.Fatalf("agent key %d: %v", i, err)
		}
		if v.Kind() != record.KindAgent || v.Workspace() != s.Workspace.Bytes() || v.Account() != s.Account.Bytes() {
			t.Fatalf("agent key %d: kind %d of another workspace or account", i, v.Kind())
		}
		bound := v.Flags() == 0 && v.Cluster() != [keys.UUIDSize]byte{}
		wide := v.Flags() == record.FlagAnyCluster && v.Cluster() == [keys.UUIDSize]byte{}
		if !bound && !wide {
			t.Fatalf("agent key %d: flags %d, cluster %x", i, v.Flags(), v.Cluster())
		}
		id := v.ID()
		if id == [keys.UUIDSize]byte{} || bytes.Compare(prev, id[:]) >= 0 {
			t.Fatalf("agent key %d: id zero, out of order or duplicated", i)
		}
		prev = id[:]
		d := v.Digest()
		p := string(d[:keys.PrefixSize])
		if prefixes[p] {
			t.Fatalf("agent key %d: digest prefix shared", i)
		}
		prefixes[p] = true
	}
	usernames := map[string]bool{}
	prev = nil
	for i, c := range s.Credentials {
		id := c.ID.Bytes()
		if c.ID.IsZero() || bytes.Compare(prev, id[:]) >= 0 {
			t.Fatalf("credential %d: id zero, out of order or duplicated", i)
		}
		prev = id[:]
		rec, err := record.DecodeCredential(c.ID, c.Record)
		if err != nil {
			t.Fatalf("credential %d: %v", i, err)
		}
		if rec.Cluster != s.Cluster || rec.Workspace != s.Workspace || rec.Account != s.Account {
			t.Fatalf("credential %d: of another cluster, workspace or account", i)
		}
		if usernames[rec.Username] {
			t.Fatalf("credential %d: username shared", i)
		}
		usernames[rec.Username] = true
	}
}
