package record

import (
	"encoding/binary"

	"github.com/streamauth/streamauth/keys"
)

// The keyspace. Each table is one tag byte followed by 16-byte binary
// identifiers; ids are fixed-length, so no separator is needed and a prefix
// scan of one parent never reaches another's children.
//
//	A acct                 → Account
//	W ws                   → Workspace
//	w acct ws              → (empty)        workspaces of an account
//	C cluster              → Cluster
//	c ws cluster           → (empty)        clusters of a workspace
//	n ws name              → cluster id     cluster names, unique per workspace
//	H digest[:16]          → hot key record the hot-path index: one read per lookup
//	K key                  → key meta       keys by id: digest prefix, created, name
//	k owner key            → (empty)        keys of a workspace or an account
//	g cluster key          → (empty)        agent keys bound to one cluster
//	P cred                 → Credential     cluster credentials by id
//	p cluster cred         → (empty)        credentials of a cluster
//	u cluster username     → cred id        login entry: a username is looked up within its cluster only
//	m                      → format version of the whole store
//	f                      → the store's key of fake SCRAM salts (for unknown usernames)
//	V cluster              → version of the cluster's last exported snapshot (control plane)
//	a                      → AgentState: the snapshot an agent's store holds (agent)
//	S version key          → Staged         a change of a large apply, staged under the key it changes (agent)
//	L                      → version        the changes staged for version are in force, being moved into place (agent)
//	O                      → token          the Agent that owns the store, the last opened over it (agent)
const (
	tagAccount          = 'A'
	tagWorkspace        = 'W'
	tagAccountWorkspace = 'w'
	tagCluster          = 'C'
	tagWorkspaceCluster = 'c'
	tagClusterName      = 'n'
	tagHash             = 'H'
	tagKey              = 'K'
	tagOwnerKey         = 'k'
	tagClusterKey       = 'g'
	tagMeta             = 'm'
	tagCredential       = 'P'
	tagClusterCred      = 'p'
	tagLogin            = 'u'
	tagFakeSalt         = 'f'
	tagSnapshotVersion  = 'V'
	tagAgentState       = 'a'
	tagStaged           = 'S'
	tagStagedLive       = 'L'
	tagAgentOwner       = 'O'
)

// MetaKey holds the store's format version.
var MetaKey = []byte{tagMeta}

// FakeSaltKey holds the random key from which fake SCRAM salts are derived.
var FakeSaltKey = []byte{tagFakeSalt}

// AgentStateKey holds an agent store's AgentState.
var AgentStateKey = []byte{tagAgentState}

// StagedLiveKey, when present, says that the changes staged for the
// snapshot version it holds (StagedLiveValue) are in force: the AgentState
// committed with it is, and those changes are being moved into place.
var StagedLiveKey = []byte{tagStagedLive}

// AgentOwnerKey holds the token of the Agent that owns an agent's store:
// the last one opened over it. Every write of an agent is guarded by it.
var AgentOwnerKey = []byte{tagAgentOwner}

// StagedPrefix is the prefix of every staged change, of any version.
func StagedPrefix() []byte { return []byte{tagStaged} }

// StagedVersionPrefix is the prefix of the changes staged for version v.
func StagedVersionPrefix(v uint64) []byte {
	return binary.BigEndian.AppendUint64(append(make([]byte, 0, 9), tagStaged), v)
}

// StagedKey returns the key under which a change to key is staged for
// snapshot version v: the staged changes of two applies never mix.
func StagedKey(v uint64, key []byte) []byte {
	return append(append(make([]byte, 0, 9+len(key)), StagedVersionPrefix(v)...), key...)
}

// UnstagedKey returns the version and the key of a staged change's key,
// the key sharing staged's bytes.
func UnstagedKey(staged []byte) (uint64, []byte, error) {
	if len(staged) < 10 || staged[0] != tagStaged {
		return 0, nil, errShort
	}
	return binary.BigEndian.Uint64(staged[1:9]), staged[9:], nil
}

// StagedLiveValue is the value of StagedLiveKey for version v.
func StagedLiveValue(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// DecodeStagedLive returns the version StagedLiveKey's value holds.
func DecodeStagedLive(b []byte) (uint64, error) {
	if len(b) != 8 {
		return 0, errLength
	}
	return binary.BigEndian.Uint64(b), nil
}

// SnapshotVersionKey holds the version of cluster c's last exported
// snapshot.
func SnapshotVersionKey(c keys.ClusterID) []byte { return key1(tagSnapshotVersion, c) }

// KV is one record: a key and its value.
type KV struct{ Key, Value []byte }

// AgentTablePrefixes are the prefixes of every record an agent's store
// holds from a snapshot: its cluster, the hot records of agent keys, and
// credentials with their login and listing entries.
func AgentTablePrefixes() [][]byte {
	return [][]byte{{tagCluster}, {tagHash}, {tagCredential}, {tagClusterCred}, {tagLogin}}
}

type id interface{ Bytes() [keys.UUIDSize]byte }

func key1(tag byte, a id) []byte { return appendKey1(make([]byte, 0, 1+keys.UUIDSize), tag, a) }

func appendKey1(b []byte, tag byte, a id) []byte {
	ab := a.Bytes()
	return append(append(b, tag), ab[:]...)
}

// ClusterKeyTo and WorkspaceKeyTo build ClusterKey and WorkspaceKey in dst,
// with no allocation.
func ClusterKeyTo(dst *[1 + keys.UUIDSize]byte, c keys.ClusterID) []byte {
	return key1To(dst, tagCluster, c)
}
func WorkspaceKeyTo(dst *[1 + keys.UUIDSize]byte, w keys.WorkspaceID) []byte {
	return key1To(dst, tagWorkspace, w)
}

func key1To(dst *[1 + keys.UUIDSize]byte, tag byte, a id) []byte {
	dst[0] = tag
	ab := a.Bytes()
	copy(dst[1:], ab[:])
	return dst[:]
}

// keyName is a key of a tag, an id and a name.
func keyName(tag byte, a id, name string) []byte {
	return appendKeyName(make([]byte, 0, 1+keys.UUIDSize+len(name)), tag, a, name)
}

func appendKeyName(b []byte, tag byte, a id, name string) []byte {
	return append(appendKey1(b, tag, a), name...)
}

func key2(tag byte, a, c id) []byte { return appendKey2(make([]byte, 0, 1+2*keys.UUIDSize), tag, a, c) }

func appendKey2(b []byte, tag byte, a, c id) []byte {
	cb := c.Bytes()
	return append(appendKey1(b, tag, a), cb[:]...)
}

// Keys of single records.
func AccountKey(a keys.AccountID) []byte       { return key1(tagAccount, a) }
func WorkspaceKey(w keys.WorkspaceID) []byte   { return key1(tagWorkspace, w) }
func ClusterKey(c keys.ClusterID) []byte       { return key1(tagCluster, c) }
func KeyByIDKey(k keys.KeyID) []byte           { return key1(tagKey, k) }
func AccountsPrefix() []byte                   { return []byte{tagAccount} }
func WorkspacesPrefix(a keys.AccountID) []byte { return key1(tagAccountWorkspace, a) }
func ClustersPrefix(w keys.WorkspaceID) []byte { return key1(tagWorkspaceCluster, w) }
func ClusterKeysPrefix(c keys.ClusterID) []byte {
	return key1(tagClusterKey, c)
}

// OwnerKeysPrefix is the prefix of the listing entries of the keys owned by
// a workspace or an account.
func OwnerKeysPrefix(owner id) []byte { return key1(tagOwnerKey, owner) }

// Listing entries.
func AccountWorkspaceKey(a keys.AccountID, w keys.WorkspaceID) []byte {
	return key2(tagAccountWorkspace, a, w)
}
func WorkspaceClusterKey(w keys.WorkspaceID, c keys.ClusterID) []byte {
	return key2(tagWorkspaceCluster, w, c)
}
func OwnerKeyKey(owner id, k keys.KeyID) []byte           { return key2(tagOwnerKey, owner, k) }
func ClusterKeyKey(c keys.ClusterID, k keys.KeyID) []byte { return key2(tagClusterKey, c, k) }

// CredentialKey holds a credential.
func CredentialKey(c keys.CredentialID) []byte { return key1(tagCredential, c) }

// CredentialIDOfKey returns the id of a credential record's key, or false
// if key is not one.
func CredentialIDOfKey(key []byte) (keys.CredentialID, bool) {
	var id keys.CredentialID
	if len(key) != 1+keys.UUIDSize || key[0] != tagCredential || id.SetBytes(key[1:]) != nil {
		return keys.CredentialID{}, false
	}
	return id, true
}

// ClusterCredentialsPrefix is the prefix of the listing entries of a
// cluster's credentials.
func ClusterCredentialsPrefix(c keys.ClusterID) []byte { return key1(tagClusterCred, c) }

// ClusterCredentialKey is the listing entry of credential cr of cluster c.
func ClusterCredentialKey(c keys.ClusterID, cr keys.CredentialID) []byte {
	return key2(tagClusterCred, c, cr)
}

// LoginKey is the entry under which a username is looked up: within its
// cluster only, so that no lookup can find another cluster's credential.
func LoginKey(c keys.ClusterID, username string) []byte { return keyName(tagLogin, c, username) }

// AppendCredentialKey, AppendClusterCredentialKey and AppendLoginKey
// append CredentialKey, ClusterCredentialKey and LoginKey to b: for a
// caller that builds many keys in one buffer.
func AppendCredentialKey(b []byte, c keys.CredentialID) []byte {
	return appendKey1(b, tagCredential, c)
}
func AppendClusterCredentialKey(b []byte, c keys.ClusterID, cr keys.CredentialID) []byte {
	return appendKey2(b, tagClusterCred, c, cr)
}
func AppendLoginKey(b []byte, c keys.ClusterID, username string) []byte {
	return appendKeyName(b, tagLogin, c, username)
}

// ClusterNameKey is the uniqueness entry of a cluster name in a workspace.
func ClusterNameKey(w keys.WorkspaceID, name string) []byte {
	return keyName(tagClusterName, w, name)
}

// HashKey is the hot-path index entry of a digest prefix. It is built in a
// caller's buffer so that a lookup need not allocate.
func HashKey(dst *[1 + keys.PrefixSize]byte, prefix *[keys.PrefixSize]byte) []byte {
	dst[0] = tagHash
	copy(dst[1:], prefix[:])
	return dst[:]
}

// AppendHashKey appends HashKey(prefix) to b: for a caller that builds
// many keys in one buffer.
func AppendHashKey(b []byte, prefix *[keys.PrefixSize]byte) []byte {
	return append(append(b, tagHash), prefix[:]...)
}

// HashPrefix is the prefix of every hot-path index entry.
func HashPrefix() []byte { return []byte{tagHash} }

// HashKeyPrefix returns the digest prefix a hot-path index entry's key
// holds.
func HashKeyPrefix(key []byte) (*[keys.PrefixSize]byte, error) {
	if len(key) != 1+keys.PrefixSize || key[0] != tagHash {
		return nil, errShort
	}
	return (*[keys.PrefixSize]byte)(key[1:]), nil
}

// ClusterKeyID returns the cluster whose record key is key, and false if key
// is not a cluster record's key.
func ClusterKeyID(key []byte) (keys.ClusterID, bool) {
	if len(key) != 1+keys.UUIDSize || key[0] != tagCluster {
		return keys.ClusterID{}, false
	}
	return keys.ClusterIDFromArray([keys.UUIDSize]byte(key[1:])), true
}

// LastID returns the trailing 16-byte id of a listing entry's key.
func LastID(key []byte) ([]byte, error) {
	if len(key) < 1+keys.UUIDSize {
		return nil, errShort
	}
	return key[len(key)-keys.UUIDSize:], nil
}
