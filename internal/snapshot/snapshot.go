package snapshot

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"

	"github.com/streamauth/streamauth/cluster"
	"github.com/streamauth/streamauth/internal/record"
	"github.com/streamauth/streamauth/keys"
)

// Snapshot is one virtual cluster's offline state: what its agents need to
// authenticate Kafka clients while the control plane is unreachable.
type Snapshot struct {
	Cluster   keys.ClusterID
	Workspace keys.WorkspaceID // the cluster's workspace
	Account   keys.AccountID   // the workspace's account
	Type      uint8            // a cluster.Type with agents (BYOC)
	SASL      uint8            // a cluster.SASLPolicy valid for Type
	Version   uint64           // > 0; only increases, per cluster
	Issued    int64            // Unix nanoseconds
	Expires   int64            // Unix nanoseconds; Expires > Issued

	// FakeSaltKey is the cluster's key of fake SCRAM salts (never zero).
	FakeSaltKey [32]byte

	// AgentKeys are hot key records of agent keys of this cluster or of
	// its whole workspace, in their wire form (record.AppendKeyWire, with
	// the full digest), sorted by key id; ids and digest prefixes are
	// unique.
	AgentKeys [][]byte

	// Credentials are the cluster's credentials, sorted by id; ids and
	// usernames are unique.
	Credentials []Credential
}

// Credential is one cluster credential: its id (which its record does not
// hold; it is the store key) and its record.AppendCredential encoding.
type Credential struct {
	ID     keys.CredentialID
	Record []byte
	// Username is the username Record holds, filled in by the check that
	// Encode and Decode make (Encode ignores what it held).
	Username string
}

// Bounds. A snapshot larger than MaxSize, or with more than MaxEntries agent
// keys or more than MaxEntries credentials, is refused by Encode and
// Decode. MaxSize is the binding limit in practice: a typical credential
// takes about 450 bytes, so 256 MiB holds about 600,000 of them; MaxEntries
// is there to bound what a count may ask for independently of the size.
const (
	MaxSize    = 256 << 20
	MaxEntries = 4 << 20
	// MaxRecordSize is the largest record an entry may hold: its length
	// is a 16-bit field.
	MaxRecordSize = 1<<16 - 1
)

// The errors. Every error Decode returns wraps exactly one of ErrMalformed
// and ErrSignature; every error Encode returns wraps ErrInvalid. Each comes
// with a short fixed reason and never quotes its input.
var (
	// ErrMalformed: the bytes are not a snapshot this code accepts: too
	// short or too long, the wrong magic or format version, a signed
	// snapshot whose content breaks an invariant.
	ErrMalformed = errors.New("snapshot: malformed")
	// ErrSignature: the signing key id is not one of the trusted keys', or
	// the signature does not verify.
	ErrSignature = errors.New("snapshot: signature not trusted")
	// ErrInvalid: Encode was given a snapshot that breaks an invariant, or
	// a private key of the wrong size.
	ErrInvalid = errors.New("snapshot: invalid")
)

// The wire format; see the package documentation.
const (
	magic        = "streamauth-snapshot\x00"
	formatV2     = 2
	domain       = "streamauth snapshot v2\x00" // prefixed to the digest signed
	keyIDSize    = 8
	uuid         = keys.UUIDSize
	offFormat    = len(magic)
	offKeyID     = offFormat + 1
	offCluster   = offKeyID + keyIDSize
	offWorkspace = offCluster + uuid
	offAccount   = offWorkspace + uuid
	offType      = offAccount + uuid
	offSASL      = offType + 1
	offVersion   = offSASL + 1
	offIssued    = offVersion + 8
	offExpires   = offIssued + 8
	offFakeSalt  = offExpires + 8
	offNKeys     = offFakeSalt + 32
	offNCreds    = offNKeys + 4
	headerSize   = offNCreds + 4
	sigSize      = ed25519.SignatureSize
	minSize      = headerSize + sigSize

	// hotKeyLen is the length of a hot key record in its wire form
	// (record.KeyWireSize), checksum included.
	hotKeyLen = 3 + 4*uuid + 8 + keys.DigestSize + 4
	// keyEntrySize is an agent key entry: length, record.
	keyEntrySize = 2 + hotKeyLen
	// minCredEntry is a lower bound on a credential entry: id, length, and
	// a record's fixed part (version, three ids, created, flags) and
	// checksum.
	minCredEntry = uuid + 2 + 1 + 3*uuid + 8 + 1 + 4
)

// reason is why a snapshot is refused; each has a fixed text and one
// preallocated error under ErrMalformed and one under ErrInvalid.
type reason uint8

const (
	rTooLarge reason = iota
	rTruncated
	rMagic
	rFormat
	rCount
	rLength
	rTrailing
	rIDs
	rType
	rSASL
	rVersion
	rTimes
	rFakeSalt
	rKeyRecord
	rKeyKind
	rKeyScope
	rKeyID
	rKeyOrder
	rKeyPrefix
	rCredRecord
	rCredScope
	rCredID
	rCredOrder
	rCredUsername
	nReasons
)

var reasonText = [nReasons]string{
	rTooLarge:     "larger than MaxSize",
	rTruncated:    "truncated",
	rMagic:        "not a snapshot",
	rFormat:       "unknown format version",
	rCount:        "entry count out of range",
	rLength:       "entry length out of range",
	rTrailing:     "bytes after the last entry",
	rIDs:          "zero cluster, workspace or account id",
	rType:         "cluster type without agents",
	rSASL:         "SASL policy invalid for the cluster type",
	rVersion:      "zero version",
	rTimes:        "expiry not after issue time",
	rFakeSalt:     "zero fake salt key",
	rKeyRecord:    "agent key record does not decode",
	rKeyKind:      "key record not of an agent key",
	rKeyScope:     "agent key of another cluster, workspace or account",
	rKeyID:        "zero agent key id",
	rKeyOrder:     "agent keys not sorted by id or duplicated",
	rKeyPrefix:    "two agent keys share a digest prefix",
	rCredRecord:   "credential record does not decode",
	rCredScope:    "credential of another cluster, workspace or account",
	rCredID:       "zero credential id",
	rCredOrder:    "credentials not sorted by id or duplicated",
	rCredUsername: "two credentials share a username",
}

type reasonError struct {
	kind error
	text string
}

func (e *reasonError) Error() string { return e.kind.Error() + ": " + e.text }
func (e *reasonError) Unwrap() error { return e.kind }

var malformed, invalid [nReasons]error

var (
	errUnknownKey error = &reasonError{ErrSignature, "unknown signing key id"}
	// ErrUnknownKey, which wraps ErrSignature, is the error of a snapshot
	// signed by a key that is not trusted, told apart from one whose
	// bytes changed after signing.
	ErrUnknownKey         = errUnknownKey
	errBadSignature error = &reasonError{ErrSignature, "signature does not verify"}
	errPrivateKey   error = &reasonError{ErrInvalid, "private key of the wrong size"}
)

func init() {
	for r, text := range reasonText {
		malformed[r] = &reasonError{ErrMalformed, text}
		invalid[r] = &reasonError{ErrInvalid, text}
	}
}

// KeyID returns the id of a signing key as written in a snapshot's header:
// the first 8 bytes of the SHA-256 of the public key.
func KeyID(pub ed25519.PublicKey) [8]byte {
	h := sha256.Sum256(pub)
	return [8]byte(h[:8])
}

// Encode checks s against every invariant Decode checks, and returns its
// encoding signed with key. It refuses a snapshot that breaks one, or a key
// of the wrong size, with an error wrapping ErrInvalid. Encoding is
// deterministic (and so is an ed25519 signature): one snapshot and one key
// give one sequence of bytes.
func Encode(s *Snapshot, key ed25519.PrivateKey) ([]byte, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, errPrivateKey
	}
	if r, ok := check(s); !ok {
		return nil, invalid[r]
	}
	if size(s) > MaxSize {
		return nil, invalid[rTooLarge]
	}
	return encode(s, key), nil
}

// size returns the length of s's encoding, signature included.
func size(s *Snapshot) int {
	n := headerSize + len(s.AgentKeys)*2 + sigSize
	for _, k := range s.AgentKeys {
		n += len(k)
	}
	for i := range s.Credentials {
		n += uuid + 2 + len(s.Credentials[i].Record)
	}
	return n
}

// encode encodes and signs s without checking it (but for entry lengths,
// which it truncates to 16 bits: a caller that has not checked them gets a
// snapshot that does not decode). The tests use it to build validly signed
// snapshots that break invariants.
func encode(s *Snapshot, key ed25519.PrivateKey) []byte {
	buf := make([]byte, 0, size(s))
	buf = append(buf, magic...)
	buf = append(buf, formatV2)
	kid := KeyID(key.Public().(ed25519.PublicKey))
	buf = append(buf, kid[:]...)
	for _, id := range [...][uuid]byte{s.Cluster.Bytes(), s.Workspace.Bytes(), s.Account.Bytes()} {
		buf = append(buf, id[:]...)
	}
	buf = append(buf, s.Type, s.SASL)
	buf = binary.BigEndian.AppendUint64(buf, s.Version)
	buf = binary.BigEndian.AppendUint64(buf, uint64(s.Issued))
	buf = binary.BigEndian.AppendUint64(buf, uint64(s.Expires))
	buf = append(buf, s.FakeSaltKey[:]...)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(s.AgentKeys)))
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(s.Credentials)))
	for _, k := range s.AgentKeys {
		buf = binary.BigEndian.AppendUint16(buf, uint16(len(k)))
		buf = append(buf, k...)
	}
	for i := range s.Credentials {
		c := &s.Credentials[i]
		id := c.ID.Bytes()
		buf = append(buf, id[:]...)
		buf = binary.BigEndian.AppendUint16(buf, uint16(len(c.Record)))
		buf = append(buf, c.Record...)
	}
	msg := signedMessage(buf)
	return append(buf, ed25519.Sign(key, msg[:])...)
}

// signedMessage returns what a snapshot's signature signs: the domain
// prefix and the SHA-256 digest of the snapshot's bytes before the
// signature. Signing a digest, not the bytes, costs ed25519 one SHA-512
// block instead of the whole snapshot: SHA-256, which processors compute
// in hardware, hashes a large snapshot several times faster than SHA-512.
func signedMessage(b []byte) [len(domain) + sha256.Size]byte {
	var msg [len(domain) + sha256.Size]byte
	copy(msg[:], domain)
	h := sha256.Sum256(b)
	copy(msg[len(domain):], h[:])
	return msg
}

// Decode verifies b's signature and decodes it.
//
// It first checks the size, magic and format version, then picks the
// trusted key whose KeyID is in the header and verifies the signature;
// nothing past the header is read, and nothing is allocated but one copy
// of b, before the signature verifies. An unknown key id or a signature
// that does not verify is ErrSignature. Then it decodes the snapshot and
// checks every invariant listed in the package documentation; anything
// wrong is ErrMalformed.
//
// The returned snapshot owns its memory: its records are slices of one copy
// of b, made before the signature is verified, so that what was verified is
// what is decoded even if the caller's b changes meanwhile.
//
// Decode knows neither the current time nor the version an agent has
// applied: checking that the snapshot is of the expected cluster, newer
// than the applied one and not expired is the caller's.
func Decode(b []byte, trusted []ed25519.PublicKey) (*Snapshot, error) {
	if len(b) > MaxSize {
		return nil, malformed[rTooLarge]
	}
	if len(b) < offKeyID {
		return nil, malformed[rTruncated]
	}
	if string(b[:len(magic)]) != magic {
		return nil, malformed[rMagic]
	}
	if b[offFormat] != formatV2 {
		return nil, malformed[rFormat]
	}
	if len(b) < minSize {
		return nil, malformed[rTruncated]
	}
	kid := [keyIDSize]byte(b[offKeyID:])
	known := false
	for _, pub := range trusted {
		if len(pub) == ed25519.PublicKeySize && KeyID(pub) == kid {
			known = true
			break
		}
	}
	if !known {
		return nil, errUnknownKey
	}

	buf := bytes.Clone(b)
	signed, sig := buf[:len(buf)-sigSize], buf[len(buf)-sigSize:]
	msg := signedMessage(signed)
	verified := false
	for _, pub := range trusted {
		if len(pub) == ed25519.PublicKeySize && KeyID(pub) == kid && ed25519.Verify(pub, msg[:], sig) {
			verified = true
			break
		}
	}
	if !verified {
		return nil, errBadSignature
	}

	s, r, ok := parse(signed)
	if !ok {
		return nil, malformed[r]
	}
	if r, ok := check(s); !ok {
		return nil, malformed[r]
	}
	return s, nil
}

// parse reads the header and the entries of a verified snapshot, without
// its signature, checking lengths and counts only.
func parse(b []byte) (*Snapshot, reason, bool) {
	s := &Snapshot{
		Cluster:   keys.ClusterIDFromArray([uuid]byte(b[offCluster:])),
		Workspace: keys.WorkspaceIDFromArray([uuid]byte(b[offWorkspace:])),
		Account:   keys.AccountIDFromArray([uuid]byte(b[offAccount:])),
		Type:      b[offType],
		SASL:      b[offSASL],
		Version:   binary.BigEndian.Uint64(b[offVersion:]),
		Issued:    int64(binary.BigEndian.Uint64(b[offIssued:])),
		Expires:   int64(binary.BigEndian.Uint64(b[offExpires:])),
	}
	copy(s.FakeSaltKey[:], b[offFakeSalt:offNKeys])
	nKeys := uint64(binary.BigEndian.Uint32(b[offNKeys:]))
	nCreds := uint64(binary.BigEndian.Uint32(b[offNCreds:]))
	rest := b[headerSize:]
	// Bound the counts by what the remaining bytes can hold before
	// allocating for them.
	if nKeys > MaxEntries || nCreds > MaxEntries ||
		nKeys*keyEntrySize+nCreds*minCredEntry > uint64(len(rest)) {
		return nil, rCount, false
	}
	if nKeys > 0 {
		s.AgentKeys = make([][]byte, nKeys)
	}
	for i := range s.AgentKeys {
		rec, r, ok := entry(&rest)
		if !ok {
			return nil, r, false
		}
		s.AgentKeys[i] = rec
	}
	if nCreds > 0 {
		s.Credentials = make([]Credential, nCreds)
	}
	for i := range s.Credentials {
		if len(rest) < uuid {
			return nil, rTruncated, false
		}
		s.Credentials[i].ID = keys.CredentialIDFromArray([uuid]byte(rest))
		rest = rest[uuid:]
		rec, r, ok := entry(&rest)
		if !ok {
			return nil, r, false
		}
		s.Credentials[i].Record = rec
	}
	if len(rest) != 0 {
		return nil, rTrailing, false
	}
	return s, 0, true
}

// entry reads one length-prefixed record off *rest.
func entry(rest *[]byte) ([]byte, reason, bool) {
	b := *rest
	if len(b) < 2 {
		return nil, rTruncated, false
	}
	n := int(binary.BigEndian.Uint16(b))
	b = b[2:]
	if n > len(b) {
		return nil, rTruncated, false
	}
	*rest = b[n:]
	return b[:n:n], 0, true
}

// check checks every invariant of s: the one definition of a valid
// snapshot, shared by Encode and Decode.
func check(s *Snapshot) (reason, bool) {
	if s.Cluster.IsZero() || s.Workspace.IsZero() || s.Account.IsZero() {
		return rIDs, false
	}
	if !cluster.Type(s.Type).HasAgents() {
		return rType, false
	}
	if cluster.Type(s.Type).CheckSASL(cluster.SASLPolicy(s.SASL)) != nil {
		return rSASL, false
	}
	if s.Version == 0 {
		return rVersion, false
	}
	if s.Expires <= s.Issued {
		return rTimes, false
	}
	if s.FakeSaltKey == [32]byte{} {
		return rFakeSalt, false
	}
	if len(s.AgentKeys) > MaxEntries || len(s.Credentials) > MaxEntries {
		return rCount, false
	}
	if r, ok := checkKeys(s); !ok {
		return r, false
	}
	return checkCredentials(s)
}

func checkKeys(s *Snapshot) (reason, bool) {
	if len(s.AgentKeys) == 0 {
		return 0, true
	}
	ws, acct := s.Workspace.Bytes(), s.Account.Bytes()
	prefixes := make(map[[keys.PrefixSize]byte]struct{}, len(s.AgentKeys))
	var prev [uuid]byte
	for _, rec := range s.AgentKeys {
		if len(rec) > MaxRecordSize {
			return rLength, false
		}
		v, err := record.ViewKeyWire(rec)
		if err != nil {
			return rKeyRecord, false
		}
		if v.Kind() != record.KindAgent {
			return rKeyKind, false
		}
		// A key bound to one cluster of the workspace (this one, or
		// another: the agent must tell another cluster's key, a
		// permission error, from an unknown one), or granted every
		// cluster of the workspace; exactly as the engine writes them.
		scoped := v.Workspace() == ws && v.Account() == acct &&
			(v.Flags() == 0 && v.Cluster() != [uuid]byte{} ||
				v.Flags() == record.FlagAnyCluster && v.Cluster() == [uuid]byte{})
		if !scoped {
			return rKeyScope, false
		}
		id := v.ID()
		if id == [uuid]byte{} {
			return rKeyID, false
		}
		if bytes.Compare(prev[:], id[:]) >= 0 {
			return rKeyOrder, false
		}
		prev = id
		d := v.Digest()
		p := [keys.PrefixSize]byte(d[:])
		if _, dup := prefixes[p]; dup {
			return rKeyPrefix, false
		}
		prefixes[p] = struct{}{}
	}
	return 0, true
}

func checkCredentials(s *Snapshot) (reason, bool) {
	if len(s.Credentials) == 0 {
		return 0, true
	}
	usernames := make(map[string]struct{}, len(s.Credentials))
	var prev [uuid]byte
	for i := range s.Credentials {
		c := &s.Credentials[i]
		if len(c.Record) > MaxRecordSize {
			return rLength, false
		}
		id := c.ID.Bytes()
		if id == [uuid]byte{} {
			return rCredID, false
		}
		if bytes.Compare(prev[:], id[:]) >= 0 {
			return rCredOrder, false
		}
		prev = id
		rec, err := record.DecodeCredential(c.ID, c.Record)
		if err != nil {
			return rCredRecord, false
		}
		if rec.Cluster != s.Cluster || rec.Workspace != s.Workspace || rec.Account != s.Account {
			return rCredScope, false
		}
		if _, dup := usernames[rec.Username]; dup {
			return rCredUsername, false
		}
		usernames[rec.Username] = struct{}{}
		c.Username = rec.Username
	}
	return 0, true
}
