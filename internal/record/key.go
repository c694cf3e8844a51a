package record

import (
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
//   - the hot record, under the digest prefix (tag H), read by every
//     authentication: everything needed to build the principal and check
//     the digest, and nothing else, so that it fits in two cache lines;
//   - the meta record, under the key id (tag K): the digest prefix that
//     finds the hot record, and what only listings need (creation time,
//     name).

// Offsets of the hot record.
const (
	keyOffKind      = 1
	keyOffFlags     = 2
	keyOffID        = 3
	keyOffAccount   = keyOffID + keys.UUIDSize
	keyOffWorkspace = keyOffAccount + keys.UUIDSize
	keyOffCluster   = keyOffWorkspace + keys.UUIDSize
	keyOffExpires   = keyOffCluster + keys.UUIDSize
	keyOffDigest    = keyOffExpires + 8
	keyHotLen       = keyOffDigest + keys.DigestSize
)

// Offsets of the meta record.
const (
	metaOffPrefix  = 1
	metaOffCreated = metaOffPrefix + keys.PrefixSize
	metaFixed      = metaOffCreated + 8
)

// AppendKey appends the hot record of k to b.
func AppendKey(b []byte, k *Key) []byte {
	start := len(b)
	b = append(b, Version, k.Kind, k.Flags)
	for _, id := range [...][keys.UUIDSize]byte{k.ID.Bytes(), k.Account.Bytes(), k.Workspace.Bytes(), k.Cluster.Bytes()} {
		b = append(b, id[:]...)
	}
	b = appendInt64(b, k.Expires)
	b = append(b, k.Digest[:]...)
	return seal(b, start)
}

// AppendKeyMeta appends the meta record of k to b.
func AppendKeyMeta(b []byte, k *Key) []byte {
	start := len(b)
	b = append(b, Version)
	b = append(b, k.Digest[:keys.PrefixSize]...)
	b = appendInt64(b, k.Created)
	return seal(appendName(b, k.Name), start)
}

// KeyView is a checked hot key record read in place, without copying: the
// hot path reads the few fields it needs from it and allocates nothing.
type KeyView struct {
	body []byte
}

// ViewKey checks a hot key record's version, checksum, length and kind and
// returns a view of it. It does not allocate.
func ViewKey(b []byte) (KeyView, error) {
	body, err := open(b, keyHotLen)
	if err != nil {
		return KeyView{}, err
	}
	if len(body) != keyHotLen {
		return KeyView{}, errLength
	}
	if k := body[keyOffKind]; k < KindAccount || k > KindAgent {
		return KeyView{}, errField
	}
	return KeyView{body: body}, nil
}

func (v KeyView) Kind() uint8    { return v.body[keyOffKind] }
func (v KeyView) Flags() uint8   { return v.body[keyOffFlags] }
func (v KeyView) Expires() int64 { return int64At(v.body, keyOffExpires) }
func (v KeyView) Digest() []byte { return v.body[keyOffDigest:keyHotLen] }

// The ids, as arrays.
func (v KeyView) ID() [keys.UUIDSize]byte      { return [keys.UUIDSize]byte(v.body[keyOffID:]) }
func (v KeyView) Account() [keys.UUIDSize]byte { return [keys.UUIDSize]byte(v.body[keyOffAccount:]) }
func (v KeyView) Workspace() [keys.UUIDSize]byte {
	return [keys.UUIDSize]byte(v.body[keyOffWorkspace:])
}
func (v KeyView) Cluster() [keys.UUIDSize]byte { return [keys.UUIDSize]byte(v.body[keyOffCluster:]) }

// DecodeKey decodes a key from its hot and meta records, and checks that
// they belong together.
func DecodeKey(hot, meta []byte) (Key, error) {
	v, err := ViewKey(hot)
	if err != nil {
		return Key{}, err
	}
	body, err := open(meta, metaFixed)
	if err != nil {
		return Key{}, err
	}
	name, err := nameAt(body, metaFixed)
	if err != nil {
		return Key{}, err
	}
	if string(body[metaOffPrefix:metaOffCreated]) != string(v.Digest()[:keys.PrefixSize]) {
		return Key{}, errMismatch
	}
	k := Key{
		Kind:    v.Kind(),
		Flags:   v.Flags(),
		Created: int64At(body, metaOffCreated),
		Expires: v.Expires(),
		Name:    string(name),
	}
	k.ID = keys.KeyIDFromArray(v.ID())
	k.Account = keys.AccountIDFromArray(v.Account())
	k.Workspace = keys.WorkspaceIDFromArray(v.Workspace())
	k.Cluster = keys.ClusterIDFromArray(v.Cluster())
	copy(k.Digest[:], v.Digest())
	return k, nil
}

// MetaPrefix returns the digest prefix a meta record points at.
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
