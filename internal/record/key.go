package record

import (
	"encoding/binary"
	"hash/crc32"

	"github.com/streamauth/streamauth/keys"
)

// The principal kinds of a key record.
const (
	KindAccount     = 1
	KindApplication = 2
	KindAgent       = 3
)

// Key flags.
const (
	// FlagAnyCluster marks an agent key granted every BYOC cluster of its
	// workspace (grant "*").
	FlagAnyCluster = 1 << 0
)

// Key is the stored form of an API key: everything but the secret, which is
// never stored; only its digest is.
type Key struct {
	Kind      uint8
	Flags     uint8
	ID        keys.KeyID
	Account   keys.AccountID
	Workspace keys.WorkspaceID // zero for account keys
	Cluster   keys.ClusterID   // an agent key's one cluster; zero otherwise
	Created   int64            // Unix nanoseconds
	Expires   int64            // Unix nanoseconds; 0 means never
	Digest    [keys.DigestSize]byte
	Name      string
}

// A key is stored as two records:
//
//   - the hot record, under the digest prefix (tag H, [HashKey]), read by
//     every authentication: everything needed to build the principal and
//     check the digest, and nothing else;
//   - the meta record, under the key id (tag K): the digest prefix that
//     finds the hot record, and what only listings need (creation time,
//     name).
//
// # The hot record's two layouts
//
// All integers are big-endian; ids are 16-byte binary UUIDs. The two
// layouts lay out their first 75 bytes alike:
//
//	offset  size  field
//	     0     1  version: 2 in the store form, 1 in the wire form
//	     1     1  kind (KindAccount, KindApplication, KindAgent)
//	     2     1  flags (FlagAnyCluster)
//	     3    16  key id
//	    19    16  account id
//	    35    16  workspace id (zero for an account key)
//	    51    16  cluster id (an agent key's one cluster; zero otherwise)
//	    67     8  expires, int64 Unix nanoseconds; 0 means never
//
// The store form, version 2, written by [AppendKey] and read by [ViewKey],
// is what a store holds under HashKey(digest[:16]), 95 bytes:
//
//	    75    16  digest[16:32]
//	    91     4  CRC-32C of digest[:16] ‖ bytes [0, 91)
//
// It leaves out the digest's first 16 bytes, which its store key holds
// already: with its 17-byte key and an 8-byte entry header, an entry of
// the in-memory store then fits in 128 bytes, one of Go's size classes.
// The prefix is in the checksum all the same, so a record is valid under
// its own store key only: the same bytes under another H key fail the
// checksum, as a flipped byte does.
//
// The wire form, version 1, written by [AppendKeyWire] and read by
// [ViewKeyWire], stands on its own, without a store key, 111 bytes:
//
//	    75    32  digest
//	   107     4  CRC-32C of bytes [0, 107)
//
// Snapshots carry agent keys in the wire form (package snapshot), which
// has no store key to take the prefix from. It is also what stores of
// format 1, written by earlier releases, hold under their H keys: ViewKey
// reads it there too, after checking that its digest begins with the
// prefix of the key it is stored under. Both forms hold the same fields,
// so either converts to the other through [KeyView.Key].

// The versions of the hot record's two layouts. Every other record is of
// [Version].
const (
	keyVersionStore = 2
	keyVersionWire  = 1
)

// KeyStoreSize and KeyWireSize are the lengths of a hot record in its
// store form and in its wire form, checksum included.
const (
	KeyStoreSize = keyStoreLen + crcSize
	KeyWireSize  = keyWireLen + crcSize
)

// Offsets of the hot record, in both layouts.
const (
	keyOffKind      = 1
	keyOffFlags     = 2
	keyOffID        = 3
	keyOffAccount   = keyOffID + keys.UUIDSize
	keyOffWorkspace = keyOffAccount + keys.UUIDSize
	keyOffCluster   = keyOffWorkspace + keys.UUIDSize
	keyOffExpires   = keyOffCluster + keys.UUIDSize
	// keyOffDigest is where the digest starts: all of it in the wire form,
	// the part after the prefix in the store form.
	keyOffDigest = keyOffExpires + 8
	// The lengths of the two forms, without the checksum.
	keyStoreLen = keyOffDigest + keys.DigestSize - keys.PrefixSize
	keyWireLen  = keyOffDigest + keys.DigestSize
)

// Offsets of the meta record.
const (
	metaOffPrefix  = 1
	metaOffCreated = metaOffPrefix + keys.PrefixSize
	metaFixed      = metaOffCreated + 8
)

// AppendKey appends the hot record of k to b in its store form (version 2),
// the value to put under HashKey of k's digest prefix.
func AppendKey(b []byte, k *Key) []byte {
	start := len(b)
	b = appendKeyFields(b, keyVersionStore, k)
	b = append(b, k.Digest[keys.PrefixSize:]...)
	return binary.BigEndian.AppendUint32(b, keyChecksum((*[keys.PrefixSize]byte)(k.Digest[:]), b[start:]))
}

// AppendKeyWire appends the hot record of k to b in its wire form
// (version 1): whole, with the full digest, for a snapshot.
func AppendKeyWire(b []byte, k *Key) []byte {
	start := len(b)
	b = appendKeyFields(b, keyVersionWire, k)
	b = append(b, k.Digest[:]...)
	return seal(b, start)
}

// appendKeyFields appends the fields both forms of the hot record share.
func appendKeyFields(b []byte, version byte, k *Key) []byte {
	b = append(b, version, k.Kind, k.Flags)
	for _, id := range [...][keys.UUIDSize]byte{k.ID.Bytes(), k.Account.Bytes(), k.Workspace.Bytes(), k.Cluster.Bytes()} {
		b = append(b, id[:]...)
	}
	return appendInt64(b, k.Expires)
}

// AppendKeyMeta appends the meta record of k to b.
func AppendKeyMeta(b []byte, k *Key) []byte {
	start := len(b)
	b = append(b, Version)
	b = append(b, k.Digest[:keys.PrefixSize]...)
	b = appendInt64(b, k.Created)
	return seal(appendName(b, k.Name), start)
}

// KeyView is a checked hot key record, of either form, read in place: the
// hot path reads the few fields it needs from it and allocates nothing.
// It reads the record's bytes and, in the store form, the digest prefix it
// was checked under, neither of which may change while the view is in use.
type KeyView struct {
	body []byte // the record without its checksum; it ends with digest[16:]
	// prefix is digest[:16]: the caller's, in the store form; a window on
	// body, in the wire form.
	prefix *[keys.PrefixSize]byte
}

// ViewKey checks a hot key record as a store holds it under
// HashKey(prefix) and returns a view of it. It reads both forms:
//
//   - the store form (95 bytes, version 2), whose checksum covers prefix:
//     a record stored under another key is refused as corrupt;
//   - the wire form (111 bytes, version 1), which stores of format 1 hold,
//     whose digest must begin with prefix (a record of another key is
//     refused as corrupt).
//
// It also checks the kind. It does not allocate, and the view refers to
// prefix rather than copying it. Every refusal wraps store.ErrCorrupt.
func ViewKey(prefix *[keys.PrefixSize]byte, b []byte) (KeyView, error) {
	if len(b) != KeyStoreSize {
		v, err := ViewKeyWire(b)
		if err != nil {
			return KeyView{}, err
		}
		// The prefix is the store key the record was read under, not a
		// secret: comparing it in variable time tells nothing the read did
		// not.
		if *v.prefix != *prefix {
			return KeyView{}, errMismatch
		}
		return v, nil
	}
	body := b[:keyStoreLen]
	if binary.BigEndian.Uint32(b[keyStoreLen:]) != keyChecksum(prefix, body) {
		return KeyView{}, errChecksum
	}
	if err := checkKeyBody(body, keyVersionStore); err != nil {
		return KeyView{}, err
	}
	return KeyView{body: body, prefix: prefix}, nil
}

// ViewKeyWire checks a hot key record in the wire form (111 bytes,
// version 1) and returns a view of it. It refuses the store form, which
// is not valid without its store key. It does not allocate. Every refusal
// wraps store.ErrCorrupt.
func ViewKeyWire(b []byte) (KeyView, error) {
	if len(b) != KeyWireSize {
		if len(b) < KeyWireSize {
			return KeyView{}, errShort
		}
		return KeyView{}, errLength
	}
	body := b[:keyWireLen]
	if binary.BigEndian.Uint32(b[keyWireLen:]) != crc32.Checksum(body, castagnoli) {
		return KeyView{}, errChecksum
	}
	if err := checkKeyBody(body, keyVersionWire); err != nil {
		return KeyView{}, err
	}
	return KeyView{body: body, prefix: (*[keys.PrefixSize]byte)(body[keyOffDigest:])}, nil
}

// checkKeyBody checks what both forms of a hot record check once their
// checksum holds: the version of the form, and the kind.
func checkKeyBody(body []byte, version byte) error {
	if body[0] != version {
		return errVersion
	}
	if k := body[keyOffKind]; k < KindAccount || k > KindAgent {
		return errField
	}
	return nil
}

func (v KeyView) Kind() uint8    { return v.body[keyOffKind] }
func (v KeyView) Flags() uint8   { return v.body[keyOffFlags] }
func (v KeyView) Expires() int64 { return int64At(v.body, keyOffExpires) }

// Digest returns the key's full digest: the prefix, and the rest, which
// ends the record's body in both forms.
func (v KeyView) Digest() [keys.DigestSize]byte {
	var d [keys.DigestSize]byte
	copy(d[:keys.PrefixSize], v.prefix[:])
	copy(d[keys.PrefixSize:], v.body[len(v.body)-(keys.DigestSize-keys.PrefixSize):])
	return d
}

// DigestEqual reports whether the key's digest is d, in constant time
// ([keys.Digest.EqualBytes]): the check that a secret is this key's.
func (v KeyView) DigestEqual(d *keys.Digest) bool {
	full := v.Digest()
	return d.EqualBytes(full[:])
}

// The ids, as arrays.
func (v KeyView) ID() [keys.UUIDSize]byte      { return [keys.UUIDSize]byte(v.body[keyOffID:]) }
func (v KeyView) Account() [keys.UUIDSize]byte { return [keys.UUIDSize]byte(v.body[keyOffAccount:]) }
func (v KeyView) Workspace() [keys.UUIDSize]byte {
	return [keys.UUIDSize]byte(v.body[keyOffWorkspace:])
}
func (v KeyView) Cluster() [keys.UUIDSize]byte { return [keys.UUIDSize]byte(v.body[keyOffCluster:]) }

// Key returns what the record holds as a Key, with Created and Name left
// zero (the meta record holds them): what AppendKey and AppendKeyWire need
// to write the record again, in either form.
func (v KeyView) Key() Key {
	return Key{
		Kind:      v.Kind(),
		Flags:     v.Flags(),
		ID:        keys.KeyIDFromArray(v.ID()),
		Account:   keys.AccountIDFromArray(v.Account()),
		Workspace: keys.WorkspaceIDFromArray(v.Workspace()),
		Cluster:   keys.ClusterIDFromArray(v.Cluster()),
		Expires:   v.Expires(),
		Digest:    v.Digest(),
	}
}

// DecodeKey decodes a key from its hot record, in either form, and its
// meta record. The hot record is read under the digest prefix the meta
// record holds, which is what ties the two together: a store-form record
// stored under another prefix fails its checksum, and a wire-form one
// whose digest begins otherwise is refused.
func DecodeKey(hot, meta []byte) (Key, error) {
	body, err := open(meta, metaFixed)
	if err != nil {
		return Key{}, err
	}
	name, err := nameAt(body, metaFixed)
	if err != nil {
		return Key{}, err
	}
	v, err := ViewKey((*[keys.PrefixSize]byte)(body[metaOffPrefix:]), hot)
	if err != nil {
		return Key{}, err
	}
	k := v.Key()
	k.Created = int64At(body, metaOffCreated)
	k.Name = string(name)
	return k, nil
}

// MetaPrefix returns the digest prefix a meta record points at: the hot
// record is under HashKey of it. It returns a window on meta, not a copy.
func MetaPrefix(meta []byte) (*[keys.PrefixSize]byte, error) {
	body, err := open(meta, metaFixed)
	if err != nil {
		return nil, err
	}
	if _, err := nameAt(body, metaFixed); err != nil {
		return nil, err
	}
	return (*[keys.PrefixSize]byte)(body[metaOffPrefix:metaOffCreated]), nil
}
