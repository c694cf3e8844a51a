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

// Offsets of the fixed part of a key record.
const (
	keyOffKind      = 1
	keyOffFlags     = 2
	keyOffID        = 3
	keyOffAccount   = keyOffID + keys.UUIDSize
	keyOffWorkspace = keyOffAccount + keys.UUIDSize
	keyOffCluster   = keyOffWorkspace + keys.UUIDSize
	keyOffCreated   = keyOffCluster + keys.UUIDSize
	keyOffExpires   = keyOffCreated + 8
	keyOffDigest    = keyOffExpires + 8
	keyFixed        = keyOffDigest + keys.DigestSize
)

// AppendKey appends the encoding of k to b.
func AppendKey(b []byte, k *Key) []byte {
	start := len(b)
	b = append(b, Version, k.Kind, k.Flags)
	for _, id := range [...][keys.UUIDSize]byte{k.ID.Bytes(), k.Account.Bytes(), k.Workspace.Bytes(), k.Cluster.Bytes()} {
		b = append(b, id[:]...)
	}
	b = appendInt64(b, k.Created)
	b = appendInt64(b, k.Expires)
	b = append(b, k.Digest[:]...)
	return seal(appendName(b, k.Name), start)
}

// KeyView is a checked key record read in place, without copying: the hot
// path reads the few fields it needs from it and allocates nothing.
type KeyView struct {
	body []byte
}

// ViewKey checks a key record's version, checksum, length and kind and
// returns a view of it. It does not allocate.
func ViewKey(b []byte) (KeyView, error) {
	body, err := open(b, keyFixed)
	if err != nil {
		return KeyView{}, err
	}
	if _, err := nameAt(body, keyFixed); err != nil {
		return KeyView{}, err
	}
	if k := body[keyOffKind]; k < KindAccount || k > KindAgent {
		return KeyView{}, errField
	}
	return KeyView{body: body}, nil
}

func (v KeyView) Kind() uint8        { return v.body[keyOffKind] }
func (v KeyView) Flags() uint8       { return v.body[keyOffFlags] }
func (v KeyView) Created() int64     { return int64At(v.body, keyOffCreated) }
func (v KeyView) Expires() int64     { return int64At(v.body, keyOffExpires) }
func (v KeyView) Digest() []byte     { return v.body[keyOffDigest:keyFixed] }
func (v KeyView) ID(dst *keys.KeyID) { dst.SetBytes(v.body[keyOffID:keyOffAccount]) }
func (v KeyView) Account(dst *keys.AccountID) {
	dst.SetBytes(v.body[keyOffAccount:keyOffWorkspace])
}
func (v KeyView) Workspace(dst *keys.WorkspaceID) {
	dst.SetBytes(v.body[keyOffWorkspace:keyOffCluster])
}
func (v KeyView) Cluster(dst *keys.ClusterID) {
	dst.SetBytes(v.body[keyOffCluster:keyOffCreated])
}

// Name returns a copy of the key's name.
func (v KeyView) Name() string { return string(v.body[keyFixed+1:]) }

// Key copies the whole record out of the view.
func (v KeyView) Key() Key {
	k := Key{
		Kind:    v.Kind(),
		Flags:   v.Flags(),
		Created: v.Created(),
		Expires: v.Expires(),
		Name:    v.Name(),
	}
	v.ID(&k.ID)
	v.Account(&k.Account)
	v.Workspace(&k.Workspace)
	v.Cluster(&k.Cluster)
	copy(k.Digest[:], v.Digest())
	return k
}

// DecodeKey decodes a key record.
func DecodeKey(b []byte) (Key, error) {
	v, err := ViewKey(b)
	if err != nil {
		return Key{}, err
	}
	return v.Key(), nil
}
