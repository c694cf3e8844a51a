package snapshot

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"pgregory.net/rapid"

	"github.com/streamauth/streamauth/cluster"
	"github.com/streamauth/streamauth/internal/record"
	"github.com/streamauth/streamauth/keys"
)

// cmpOpts compares identifiers, whose field is unexported, by value, and
// nil and empty lists alike.
var cmpOpts = cmp.Options{
	cmp.Comparer(func(a, b keys.AccountID) bool { return a == b }),
	cmp.Comparer(func(a, b keys.WorkspaceID) bool { return a == b }),
	cmp.Comparer(func(a, b keys.ClusterID) bool { return a == b }),
	cmp.Comparer(func(a, b keys.CredentialID) bool { return a == b }),
	cmpopts.EquateEmpty(),
}

// testKey derives a fixed key pair from a one-byte seed.
func testKey(seed byte) (ed25519.PublicKey, ed25519.PrivateKey) {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
	return priv.Public().(ed25519.PublicKey), priv
}

var (
	pub1, priv1 = testKey(1)
	pub2, priv2 = testKey(2)
)

func seq(from byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = from + byte(i)
	}
	return b
}

func arr(from byte) [keys.UUIDSize]byte { return [keys.UUIDSize]byte(seq(from, keys.UUIDSize)) }

var (
	testCluster   = keys.ClusterIDFromArray(arr(0x10))
	testWorkspace = keys.WorkspaceIDFromArray(arr(0x20))
	testAccount   = keys.AccountIDFromArray(arr(0x30))
	otherCluster  = keys.ClusterIDFromArray(arr(0x11))
)

// agentKey returns a valid agent key of the test cluster (or of its whole
// workspace) whose id and digest are derived from n.
func agentKey(n uint32, anyCluster bool) record.Key {
	k := record.Key{Kind: record.KindAgent, Account: testAccount, Workspace: testWorkspace,
		Cluster: testCluster, Expires: int64(n) * 1e9}
	if anyCluster {
		k.Flags, k.Cluster = record.FlagAnyCluster, keys.ClusterID{}
	}
	var id [keys.UUIDSize]byte
	binary.BigEndian.PutUint32(id[:], n+1)
	id[15] = 0xaa
	k.ID = keys.KeyIDFromArray(id)
	k.Digest = sha256.Sum256(id[:])
	return k
}

// credential returns a valid credential record of the test cluster, with
// username u.
func credential(u string) record.Credential {
	c := record.Credential{Cluster: testCluster, Workspace: testWorkspace, Account: testAccount,
		Created: 1700000000000000000, Username: u, Name: "orders consumer",
		Argon2: record.Argon2Hash{Time: 1, Memory: 64 * 1024, Threads: 1,
			Salt: seq(0x40, 16), Hash: seq(0x50, 32)}}
	for i, size := range []int{32, 64} {
		c.SCRAM[i] = record.SCRAMVerifier{Iterations: 4096, Salt: seq(0x60, 16),
			StoredKey: seq(0x70, size), ServerKey: seq(0x80, size)}
	}
	return c
}

func credID(n uint32) keys.CredentialID {
	var id [keys.UUIDSize]byte
	binary.BigEndian.PutUint32(id[:], n+1)
	id[15] = 0xcc
	return keys.CredentialIDFromArray(id)
}

// valid returns a valid snapshot of nKeys agent keys and nCreds credentials.
func valid(nKeys, nCreds int) *Snapshot {
	s := &Snapshot{Cluster: testCluster, Workspace: testWorkspace, Account: testAccount,
		Type: uint8(cluster.BYOC), SASL: uint8(cluster.SASLRequired), Version: 7,
		Issued: 1700000000000000000, Expires: 1700000000000000000 + 86400e9,
		FakeSaltKey: [32]byte(seq(0xf0, 32))}
	for i := range nKeys {
		k := agentKey(uint32(i), i%3 == 2)
		s.AgentKeys = append(s.AgentKeys, record.AppendKeyWire(nil, &k))
	}
	for i := range nCreds {
		c := credential(fmt.Sprintf("ccun_%08d", i))
		s.Credentials = append(s.Credentials, Credential{ID: credID(uint32(i)), Record: record.AppendCredential(nil, &c)})
	}
	return s
}

func mustEncode(t testing.TB, s *Snapshot, key ed25519.PrivateKey) []byte {
	t.Helper()
	b, err := Encode(s, key)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return b
}

// kindOf names which of the three errors err wraps; each error wraps
// exactly one.
func kindOf(t testing.TB, err error) error {
	t.Helper()
	var found []error
	for _, e := range []error{ErrMalformed, ErrSignature, ErrInvalid} {
		if errors.Is(err, e) {
			found = append(found, e)
		}
	}
	if len(found) != 1 {
		t.Fatalf("error %v wraps %d of ErrMalformed, ErrSignature, ErrInvalid", err, len(found))
	}
	return found[0]
}

// genSnapshot draws a valid snapshot: 0 to 50 agent keys and credentials,
// random ids, digests, flags, usernames, header fields.
func genSnapshot(t *rapid.T) *Snapshot {
	typ := rapid.SampledFrom([]cluster.Type{cluster.BYOC, cluster.BYOCSchemaRegistry}).Draw(t, "type")
	s := &Snapshot{
		Cluster:   keys.ClusterIDFromArray([16]byte(rapid.SliceOfN(rapid.Byte(), 16, 16).Filter(nonzero).Draw(t, "cluster"))),
		Workspace: keys.WorkspaceIDFromArray([16]byte(rapid.SliceOfN(rapid.Byte(), 16, 16).Filter(nonzero).Draw(t, "workspace"))),
		Account:   keys.AccountIDFromArray([16]byte(rapid.SliceOfN(rapid.Byte(), 16, 16).Filter(nonzero).Draw(t, "account"))),
		Type:      uint8(typ),
		SASL:      rapid.SampledFrom([]uint8{uint8(cluster.SASLOff), uint8(cluster.SASLRequired)}).Draw(t, "sasl"),
		Version:   rapid.Uint64Min(1).Draw(t, "version"),
		Issued:    rapid.Int64Max(1<<62).Draw(t, "issued"),
	}
	// The expiry stays representable: issued + ttl never overflows.
	maxTTL := int64(1 << 62)
	if s.Issued > 0 {
		maxTTL = min(maxTTL, math.MaxInt64-s.Issued)
	}
	s.Expires = s.Issued + rapid.Int64Range(1, maxTTL).Draw(t, "ttl")
	s.FakeSaltKey = [32]byte(rapid.SliceOfN(rapid.Byte(), 32, 32).Filter(nonzero).Draw(t, "fakesalt"))

	keyIDs := rapid.SliceOfNDistinct(rapid.SliceOfN(rapid.Byte(), 16, 16).Filter(nonzero), 0, 50, func(b []byte) string { return string(b) }).Draw(t, "keyids")
	slices.SortFunc(keyIDs, bytes.Compare)
	for i, id := range keyIDs {
		k := record.Key{Kind: record.KindAgent, ID: keys.KeyIDFromArray([16]byte(id)),
			Account: s.Account, Workspace: s.Workspace, Cluster: s.Cluster,
			Expires: rapid.Int64().Draw(t, "expires")}
		if rapid.Bool().Draw(t, "anycluster") {
			k.Flags, k.Cluster = record.FlagAnyCluster, keys.ClusterID{}
		}
		// Distinct prefixes: the index goes into the first bytes.
		d := rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, "digest")
		binary.BigEndian.PutUint32(d, uint32(i))
		k.Digest = [32]byte(d)
		s.AgentKeys = append(s.AgentKeys, record.AppendKeyWire(nil, &k))
	}

	credIDs := rapid.SliceOfNDistinct(rapid.SliceOfN(rapid.Byte(), 16, 16).Filter(nonzero), 0, 50, func(b []byte) string { return string(b) }).Draw(t, "credids")
	slices.SortFunc(credIDs, bytes.Compare)
	for i, id := range credIDs {
		c := credential(fmt.Sprintf("%s-%d", rapid.StringN(1, 20, 200).Draw(t, "username"), i))
		c.Cluster, c.Workspace, c.Account = s.Cluster, s.Workspace, s.Account
		c.Superuser = rapid.Bool().Draw(t, "superuser")
		c.Argon2.Salt = rapid.SliceOfN(rapid.Byte(), 8, 64).Draw(t, "salt")
		c.SCRAM[1].Iterations = rapid.Uint32Range(record.MinSCRAMIter, record.MaxSCRAMIter).Draw(t, "iter")
		s.Credentials = append(s.Credentials, Credential{ID: keys.CredentialIDFromArray([16]byte(id)), Record: record.AppendCredential(nil, &c)})
	}
	return s
}

func nonzero(b []byte) bool { return !bytes.Equal(b, make([]byte, len(b))) }

func TestRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := genSnapshot(t)
		priv := priv1
		pub := pub1
		if rapid.Bool().Draw(t, "key2") {
			priv, pub = priv2, pub2
		}
		b, err := Encode(s, priv)
		if err != nil {
			t.Fatalf("Encode of a valid snapshot: %v", err)
		}
		if got := KeyID(pub); !bytes.Equal(b[offKeyID:offKeyID+8], got[:]) {
			t.Fatalf("key id in header %x, want %x", b[offKeyID:offKeyID+8], got)
		}
		d, err := Decode(b, []ed25519.PublicKey{pub2, pub1})
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		if diff := cmp.Diff(s, d, cmpOpts); diff != "" {
			t.Fatalf("round trip (-want +got):\n%s", diff)
		}
		again, err := Encode(d, priv)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("re-encoding the decoded snapshot gives other bytes (%v)", err)
		}
		if len(b) != size(s) {
			t.Fatalf("size() = %d, encoding is %d bytes", size(s), len(b))
		}
	})
}

// TestFormat pins the header layout the package documentation gives, from
// offsets written out here.
func TestFormat(t *testing.T) {
	s := valid(2, 1)
	b := mustEncode(t, s, priv1)
	kid := KeyID(pub1)
	h := sha256.Sum256(pub1)
	if !bytes.Equal(kid[:], h[:8]) {
		t.Fatalf("KeyID = %x, want %x", kid, h[:8])
	}
	cl, ws, ac := testCluster.Bytes(), testWorkspace.Bytes(), testAccount.Bytes()
	for _, f := range []struct {
		off  int
		want []byte
	}{
		{0, []byte("streamauth-snapshot\x00\x02")},
		{21, kid[:]},
		{29, cl[:]}, {45, ws[:]}, {61, ac[:]},
		{77, []byte{s.Type, s.SASL}},
		{79, binary.BigEndian.AppendUint64(nil, s.Version)},
		{87, binary.BigEndian.AppendUint64(nil, uint64(s.Issued))},
		{95, binary.BigEndian.AppendUint64(nil, uint64(s.Expires))},
		{103, s.FakeSaltKey[:]},
		{135, []byte{0, 0, 0, 2, 0, 0, 0, 1}},
		{143, append([]byte{0, byte(len(s.AgentKeys[0]))}, s.AgentKeys[0]...)},
	} {
		if got := b[f.off : f.off+len(f.want)]; !bytes.Equal(got, f.want) {
			t.Errorf("at offset %d: %x, want %x", f.off, got, f.want)
		}
	}
	end := len(b) - 64
	cid := credID(0).Bytes()
	cr := append(append(cid[:], 0, 0), s.Credentials[0].Record...)
	binary.BigEndian.PutUint16(cr[16:], uint16(len(s.Credentials[0].Record)))
	if !bytes.HasSuffix(b[:end], cr) {
		t.Errorf("the last entry before the signature is not the credential")
	}
	digest := sha256.Sum256(b[:end])
	msg := append([]byte("streamauth snapshot v2\x00"), digest[:]...)
	if !ed25519.Verify(pub1, msg, b[end:]) {
		t.Errorf("the last 64 bytes are not a signature of the domain-prefixed digest of the rest")
	}
	if ed25519.Verify(pub1, digest[:], b[end:]) || ed25519.Verify(pub1, b[:end], b[end:]) {
		t.Errorf("the signature verifies without the domain prefix")
	}
}

func TestEmpty(t *testing.T) {
	s := valid(0, 0)
	b := mustEncode(t, s, priv1)
	if len(b) != minSize {
		t.Fatalf("empty snapshot is %d bytes, want %d", len(b), minSize)
	}
	d, err := Decode(b, []ed25519.PublicKey{pub1})
	if err != nil {
		t.Fatal(err)
	}
	if d.AgentKeys != nil || d.Credentials != nil {
		t.Fatalf("empty lists decode as non-nil")
	}
}

func TestTruncated(t *testing.T) {
	b := mustEncode(t, valid(2, 2), priv1)
	for n := range len(b) {
		_, err := Decode(b[:n], []ed25519.PublicKey{pub1})
		if err == nil {
			t.Fatalf("a prefix of %d of %d bytes decoded", n, len(b))
		}
		kindOf(t, err)
	}
}

func TestBitFlip(t *testing.T) {
	b := mustEncode(t, valid(2, 2), priv1)
	for i := range b {
		for _, bit := range []byte{0x01, 0x80} {
			c := bytes.Clone(b)
			c[i] ^= bit
			_, err := Decode(c, []ed25519.PublicKey{pub1})
			if err == nil {
				t.Fatalf("flipping bit %#x of byte %d was accepted", bit, i)
			}
			if k := kindOf(t, err); k != ErrSignature && k != ErrMalformed {
				t.Fatalf("byte %d: %v", i, err)
			}
			// A flip in the key id or the signed part is ErrSignature;
			// only the magic and format version are checked before.
			if i >= offKeyID && !errors.Is(err, ErrSignature) {
				t.Fatalf("byte %d: %v, want ErrSignature", i, err)
			}
		}
	}
}

func TestTrailing(t *testing.T) {
	b := mustEncode(t, valid(1, 1), priv1)
	for _, extra := range [][]byte{{0}, b[len(b)-64:], make([]byte, 100)} {
		_, err := Decode(append(bytes.Clone(b), extra...), []ed25519.PublicKey{pub1})
		if !errors.Is(err, ErrSignature) {
			t.Fatalf("%d trailing bytes: %v, want ErrSignature", len(extra), err)
		}
	}
	// Bytes between the last entry and the signature, validly signed.
	body := bytes.Clone(b[:len(b)-64])
	body = append(body, 0)
	_, err := Decode(resign(body, priv1), []ed25519.PublicKey{pub1})
	if !errors.Is(err, malformed[rTrailing]) {
		t.Fatalf("a signed trailing byte: %v, want %v", err, malformed[rTrailing])
	}
}

// resign signs body (a snapshot without its signature) with priv, the way
// the format says, independently of encode.
func resign(body []byte, priv ed25519.PrivateKey) []byte {
	digest := sha256.Sum256(body)
	msg := append([]byte("streamauth snapshot v2\x00"), digest[:]...)
	return append(bytes.Clone(body), ed25519.Sign(priv, msg)...)
}

func TestKeys(t *testing.T) {
	b1 := mustEncode(t, valid(1, 1), priv1)
	b2 := mustEncode(t, valid(1, 1), priv2)
	pub3, _ := testKey(3)
	for _, c := range []struct {
		name    string
		b       []byte
		trusted []ed25519.PublicKey
		want    error
	}{
		{"signed by the trusted key", b1, []ed25519.PublicKey{pub1}, nil},
		{"no trusted key", b1, nil, errUnknownKey},
		{"another trusted key", b1, []ed25519.PublicKey{pub2}, errUnknownKey},
		{"old key of a rotation", b1, []ed25519.PublicKey{pub1, pub2}, nil},
		{"new key of a rotation", b2, []ed25519.PublicKey{pub1, pub2}, nil},
		{"old key after the rotation", b1, []ed25519.PublicKey{pub2}, errUnknownKey},
		{"new key after the rotation", b2, []ed25519.PublicKey{pub2}, nil},
		{"trusted keys of the wrong length", b1, []ed25519.PublicKey{nil, pub1[:31], append(bytes.Clone(pub1), 0)}, errUnknownKey},
		{"a bad key then the right one", b1, []ed25519.PublicKey{pub3, {1, 2}, pub1}, nil},
		// The key id says key 1, the signature is key 2's.
		{"key id of a trusted key, signature of another", withKeyID(b2, KeyID(pub1)), []ed25519.PublicKey{pub1, pub2}, errBadSignature},
		{"unknown key id", withKeyID(b1, [8]byte{1, 2, 3}), []ed25519.PublicKey{pub1, pub2}, errUnknownKey},
	} {
		_, err := Decode(c.b, c.trusted)
		if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

// withKeyID returns b with another key id in its header (so that its
// signature no longer covers it).
func withKeyID(b []byte, id [8]byte) []byte {
	c := bytes.Clone(b)
	copy(c[offKeyID:], id[:])
	return c
}

// TestSignedInvalid: a snapshot validly signed by a trusted key but
// breaking an invariant is ErrMalformed, with the reason; Encode refuses
// the same snapshot with ErrInvalid and the same reason.
func TestSignedInvalid(t *testing.T) {
	keyRec := func(f func(k *record.Key)) []byte {
		k := agentKey(100, false)
		f(&k)
		return record.AppendKeyWire(nil, &k)
	}
	credRec := func(f func(c *record.Credential)) []byte {
		c := credential("ccun_other")
		f(&c)
		return record.AppendCredential(nil, &c)
	}
	for _, c := range []struct {
		name string
		edit func(s *Snapshot)
		want reason
	}{
		{"zero cluster", func(s *Snapshot) { s.Cluster = keys.ClusterID{} }, rIDs},
		{"zero workspace", func(s *Snapshot) { s.Workspace = keys.WorkspaceID{} }, rIDs},
		{"zero account", func(s *Snapshot) { s.Account = keys.AccountID{} }, rIDs},
		{"serverless", func(s *Snapshot) { s.Type = uint8(cluster.Serverless) }, rType},
		{"unknown type", func(s *Snapshot) { s.Type = 0 }, rType},
		{"unknown SASL", func(s *Snapshot) { s.SASL = 3 }, rSASL},
		{"zero version", func(s *Snapshot) { s.Version = 0 }, rVersion},
		{"expires at issue", func(s *Snapshot) { s.Expires = s.Issued }, rTimes},
		{"expires before issue", func(s *Snapshot) { s.Expires = s.Issued - 1 }, rTimes},
		{"zero fake salt key", func(s *Snapshot) { s.FakeSaltKey = [32]byte{} }, rFakeSalt},
		{"keys unsorted", func(s *Snapshot) { s.AgentKeys[0], s.AgentKeys[1] = s.AgentKeys[1], s.AgentKeys[0] }, rKeyOrder},
		{"key duplicated", func(s *Snapshot) { s.AgentKeys[1] = s.AgentKeys[0] }, rKeyOrder},
		{"keys sharing a digest prefix", func(s *Snapshot) {
			s.AgentKeys[2] = keyRec(func(k *record.Key) { k.Digest = agentKey(0, false).Digest; k.Digest[31] ^= 1 })
		}, rKeyPrefix},
		{"key of another workspace", func(s *Snapshot) {
			s.AgentKeys[2] = keyRec(func(k *record.Key) { k.Workspace = keys.WorkspaceIDFromArray(arr(0x21)) })
		}, rKeyScope},
		{"key of another account", func(s *Snapshot) {
			s.AgentKeys[2] = keyRec(func(k *record.Key) { k.Account = keys.AccountIDFromArray(arr(0x31)) })
		}, rKeyScope},
		{"any-cluster key with a cluster", func(s *Snapshot) {
			s.AgentKeys[2] = keyRec(func(k *record.Key) { k.Flags = record.FlagAnyCluster })
		}, rKeyScope},
		{"cluster-less key without the flag", func(s *Snapshot) {
			s.AgentKeys[2] = keyRec(func(k *record.Key) { k.Cluster = keys.ClusterID{} })
		}, rKeyScope},
		{"unknown key flag", func(s *Snapshot) {
			s.AgentKeys[2] = keyRec(func(k *record.Key) { k.Flags = 2 })
		}, rKeyScope},
		{"application key", func(s *Snapshot) {
			s.AgentKeys[2] = keyRec(func(k *record.Key) { k.Kind = record.KindApplication; k.Cluster = keys.ClusterID{} })
		}, rKeyKind},
		{"account key", func(s *Snapshot) {
			s.AgentKeys[2] = keyRec(func(k *record.Key) { k.Kind = record.KindAccount })
		}, rKeyKind},
		{"zero key id", func(s *Snapshot) {
			s.AgentKeys[0] = keyRec(func(k *record.Key) { k.ID = keys.KeyID{} })
		}, rKeyID},
		{"key record corrupt", func(s *Snapshot) {
			s.AgentKeys[1] = bytes.Clone(s.AgentKeys[1])
			s.AgentKeys[1][20] ^= 1
		}, rKeyRecord},
		{"key record a credential", func(s *Snapshot) { s.AgentKeys[1] = s.Credentials[0].Record }, rKeyRecord},
		// The store form leaves the digest prefix to its store key, which
		// an entry does not have: only the wire form is valid here.
		{"key record in the store form", func(s *Snapshot) {
			k := agentKey(1, false)
			s.AgentKeys[1] = record.AppendKey(nil, &k)
		}, rKeyRecord},
		{"credentials unsorted", func(s *Snapshot) {
			s.Credentials[0], s.Credentials[1] = s.Credentials[1], s.Credentials[0]
		}, rCredOrder},
		{"credential id duplicated", func(s *Snapshot) { s.Credentials[1].ID = s.Credentials[0].ID }, rCredOrder},
		{"zero credential id", func(s *Snapshot) { s.Credentials[0].ID = keys.CredentialID{} }, rCredID},
		{"username duplicated", func(s *Snapshot) { s.Credentials[1].Record = s.Credentials[0].Record }, rCredUsername},
		{"credential of another cluster", func(s *Snapshot) {
			s.Credentials[2].Record = credRec(func(c *record.Credential) { c.Cluster = otherCluster })
		}, rCredScope},
		{"credential of another workspace", func(s *Snapshot) {
			s.Credentials[2].Record = credRec(func(c *record.Credential) { c.Workspace = keys.WorkspaceIDFromArray(arr(0x21)) })
		}, rCredScope},
		{"credential of another account", func(s *Snapshot) {
			s.Credentials[2].Record = credRec(func(c *record.Credential) { c.Account = keys.AccountIDFromArray(arr(0x31)) })
		}, rCredScope},
		{"credential cost out of bounds", func(s *Snapshot) {
			s.Credentials[2].Record = credRec(func(c *record.Credential) { c.Argon2.Memory = 1 << 30 })
		}, rCredRecord},
		{"credential record a key", func(s *Snapshot) { s.Credentials[2].Record = s.AgentKeys[0] }, rCredRecord},
		{"credential record empty", func(s *Snapshot) { s.Credentials[2].Record = nil }, rCredRecord},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := valid(3, 3)
			c.edit(s)
			if _, err := Encode(s, priv1); err != invalid[c.want] {
				t.Errorf("Encode: %v, want %v", err, invalid[c.want])
			}
			_, err := Decode(encode(s, priv1), []ed25519.PublicKey{pub1})
			if err != malformed[c.want] {
				t.Errorf("Decode: %v, want %v", err, malformed[c.want])
			}
		})
	}
}

func TestEncodeInvalid(t *testing.T) {
	if _, err := Encode(valid(1, 1), priv1[:32]); err != errPrivateKey || !errors.Is(err, ErrInvalid) {
		t.Errorf("short private key: %v", err)
	}
	s := valid(1, 1)
	s.Credentials[0].Record = make([]byte, MaxRecordSize+1)
	if _, err := Encode(s, priv1); err != invalid[rLength] {
		t.Errorf("record longer than 16 bits: %v", err)
	}
	// Too many entries is refused before any is looked at.
	s = valid(0, 0)
	s.AgentKeys = make([][]byte, MaxEntries+1)
	if _, err := Encode(s, priv1); err != invalid[rCount] {
		t.Errorf("%d agent keys: %v", len(s.AgentKeys), err)
	}
}

// TestCounts: counts larger than the bytes can hold, or than MaxEntries,
// are refused after the signature verifies and without allocating for
// them.
func TestCounts(t *testing.T) {
	b := mustEncode(t, valid(1, 1), priv1)
	body := b[:len(b)-64]
	for _, c := range []struct {
		nKeys, nCreds uint32
		want          error
	}{
		{1, 1, nil},
		// Counts the bytes can hold, wrong: the entries do not line up.
		{2, 1, malformed[rTrailing]},
		{1, 2, malformed[rTruncated]},
		{0, 1, malformed[rTrailing]},
		{1, 0, malformed[rTrailing]},
		// Counts the bytes cannot hold.
		{3, 3, malformed[rCount]},
		{5, 0, malformed[rCount]},
		{MaxEntries + 1, 0, malformed[rCount]},
		{0xffffffff, 0xffffffff, malformed[rCount]},
	} {
		m := bytes.Clone(body)
		binary.BigEndian.PutUint32(m[offNKeys:], c.nKeys)
		binary.BigEndian.PutUint32(m[offNCreds:], c.nCreds)
		in := resign(m, priv1)
		var err error
		allocs := testing.AllocsPerRun(3, func() { _, err = Decode(in, []ed25519.PublicKey{pub1}) })
		if err != c.want {
			t.Errorf("counts %d, %d: %v, want %v", c.nKeys, c.nCreds, err, c.want)
		}
		if c.want == malformed[rCount] && allocs > 4 {
			t.Errorf("counts %d, %d: %v allocations", c.nKeys, c.nCreds, allocs)
		}
	}
	// An entry length past the end.
	m := bytes.Clone(body)
	binary.BigEndian.PutUint16(m[headerSize:], 0xffff)
	if _, err := Decode(resign(m, priv1), []ed25519.PublicKey{pub1}); err != malformed[rTruncated] {
		t.Errorf("entry length past the end: %v", err)
	}
}

func TestHeaderChecks(t *testing.T) {
	b := mustEncode(t, valid(1, 1), priv1)
	trusted := []ed25519.PublicKey{pub1}
	for _, c := range []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, malformed[rTruncated]},
		{"magic only", []byte(magic), malformed[rTruncated]},
		{"another magic", append([]byte("streamauth-snapshoT\x00"), b[20:]...), malformed[rMagic]},
		{"format 1", append(append([]byte(magic), 1), b[21:]...), malformed[rFormat]},
		{"format 3", append(append([]byte(magic), 3), b[21:]...), malformed[rFormat]},
		{"format 0", append(append([]byte(magic), 0), b[21:]...), malformed[rFormat]},
		{"header without signature", b[:headerSize], malformed[rTruncated]},
		{"too large", make([]byte, MaxSize+1), malformed[rTooLarge]},
	} {
		if _, err := Decode(c.in, trusted); err != c.want {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

// TestDecodeOwnsMemory: changing the input after Decode changes nothing in
// the snapshot.
func TestDecodeOwnsMemory(t *testing.T) {
	s := valid(2, 2)
	b := mustEncode(t, s, priv1)
	d, err := Decode(b, []ed25519.PublicKey{pub1})
	if err != nil {
		t.Fatal(err)
	}
	clear(b)
	if diff := cmp.Diff(s, d, cmpOpts); diff != "" {
		t.Fatalf("snapshot changed with its input (-want +got):\n%s", diff)
	}
	// The records' capacity ends with them: appending to one does not
	// write over the next.
	d.AgentKeys[0] = append(d.AgentKeys[0], 0xff)
	if !bytes.Equal(d.AgentKeys[1], s.AgentKeys[1]) {
		t.Fatalf("appending to a record wrote over the next one")
	}
}

func TestErrorsQuoteNothing(t *testing.T) {
	for r := range nReasons {
		for _, err := range []error{malformed[r], invalid[r]} {
			if err == nil || reasonText[r] == "" {
				t.Fatalf("reason %d has no error", r)
			}
		}
	}
	if malformed[rMagic].Error() != "snapshot: malformed: not a snapshot" {
		t.Fatalf("error text %q", malformed[rMagic])
	}
}

// TestKeyOfAnotherClusterKept: a key bound to another cluster of the
// workspace is part of a snapshot, so that the agent refuses it as a
// permission error rather than as an unknown key.
func TestKeyOfAnotherClusterKept(t *testing.T) {
	s := valid(3, 1)
	k := agentKey(100, false)
	k.Cluster = otherCluster
	s.AgentKeys = append(s.AgentKeys, record.AppendKeyWire(nil, &k))
	got, err := Decode(mustEncode(t, s, priv1), []ed25519.PublicKey{pub1})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := record.ViewKeyWire(got.AgentKeys[3]); v.Cluster() != otherCluster.Bytes() {
		t.Fatal("the other cluster's key did not survive the round trip")
	}
}
