package auth

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/streamauth/streamauth/cluster"
	"github.com/streamauth/streamauth/internal/record"
	"github.com/streamauth/streamauth/keys"
	"github.com/streamauth/streamauth/store"
)

// CreateKey issues an API key from a spec and returns it with its secret,
// shown this once. The grant must be one of the three shapes documented on
// [Grant]; an agent key naming a cluster needs that cluster to exist in the
// grant's workspace (else ErrNotFound) and to be BYOC (else ErrUnsupported).
func (e *Engine) CreateKey(ctx context.Context, spec KeySpec) (IssuedKey, error) {
	nk, err := e.checkKeySpec(spec)
	if err != nil {
		return IssuedKey{}, err
	}
	var issued IssuedKey
	err = e.update(ctx, func(b *write) error {
		nk := nk
		if err := e.guardKeyScope(ctx, b, &nk); err != nil {
			return err
		}
		issued, err = e.putKey(b, &nk)
		return err
	})
	if err != nil {
		return IssuedKey{}, err
	}
	return issued, nil
}

// CreateApplicationKey issues an application key of a workspace: it may act
// on everything in that workspace. A zero expiresAt means it never expires.
func (e *Engine) CreateApplicationKey(ctx context.Context, ws keys.WorkspaceID, name keys.KeyName, expiresAt time.Time) (IssuedKey, error) {
	return e.CreateKey(ctx, KeySpec{
		Name:      name,
		Grant:     Grant{Workspace: ws, Principal: KindApplication, Resource: AnyResource, ResourceID: AnyID},
		ExpiresAt: expiresAt,
	})
}

// CreateAgentKey issues an agent key for one BYOC cluster of a workspace.
// To grant every BYOC cluster of the workspace, use CreateKey with
// ResourceID "*".
func (e *Engine) CreateAgentKey(ctx context.Context, ws keys.WorkspaceID, c keys.ClusterID, name keys.KeyName, expiresAt time.Time) (IssuedKey, error) {
	if c.IsZero() {
		return IssuedKey{}, invalid("no cluster id", nil)
	}
	return e.CreateKey(ctx, KeySpec{
		Name:      name,
		Grant:     Grant{Workspace: ws, Principal: KindAgent, Resource: VirtualCluster, ResourceID: c.String()},
		ExpiresAt: expiresAt,
	})
}

// CreateAccountKey issues an account key: it may act at account level and
// on every workspace of its account.
func (e *Engine) CreateAccountKey(ctx context.Context, account keys.AccountID, name keys.KeyName, expiresAt time.Time) (IssuedKey, error) {
	return e.CreateKey(ctx, KeySpec{
		Name:      name,
		Account:   account,
		Grant:     Grant{Principal: KindAccount, Resource: AnyResource, ResourceID: AnyID},
		ExpiresAt: expiresAt,
	})
}

// GetKey returns a key's metadata, or ErrNotFound.
func (e *Engine) GetKey(ctx context.Context, id keys.KeyID) (Key, error) {
	rec, err := e.readKey(ctx, id)
	if err != nil {
		return Key{}, err
	}
	return keyOf(&rec.Key), nil
}

// ListKeys returns the keys a filter selects, ordered by id. It never
// returns a secret or a digest.
func (e *Engine) ListKeys(ctx context.Context, f KeyFilter) ([]Key, error) {
	var prefix []byte
	switch {
	case !f.Account.IsZero() && f.Workspace.IsZero() && f.Cluster.IsZero():
		if _, _, err := e.readAccount(ctx, f.Account); err != nil {
			return nil, err
		}
		prefix = record.OwnerKeysPrefix(f.Account)
	case f.Account.IsZero() && !f.Workspace.IsZero() && f.Cluster.IsZero():
		if _, _, err := e.readWorkspace(ctx, f.Workspace); err != nil {
			return nil, err
		}
		prefix = record.OwnerKeysPrefix(f.Workspace)
	case f.Account.IsZero() && f.Workspace.IsZero() && !f.Cluster.IsZero():
		if _, _, err := e.readCluster(ctx, f.Cluster); err != nil {
			return nil, err
		}
		prefix = record.ClusterKeysPrefix(f.Cluster)
	default:
		return nil, invalid("key filter needs exactly one of account, workspace and cluster", nil)
	}
	if f.Kind != 0 && !f.Kind.valid() {
		return nil, invalid("unknown key kind", nil)
	}
	var out []Key
	err := scanIDs(ctx, e, prefix, func(id keys.KeyID) error {
		rec, err := e.readKey(ctx, id)
		if deletedSince(err) {
			return nil
		} else if err != nil {
			return err
		}
		if f.Kind == 0 || Kind(rec.Kind) == f.Kind {
			out = append(out, keyOf(&rec.Key))
		}
		return nil
	})
	return out, err
}

// DeleteKey revokes a key: once DeleteKey returns, its secret never
// authenticates again. Deleting an absent key is ErrNotFound.
func (e *Engine) DeleteKey(ctx context.Context, id keys.KeyID) error {
	return e.update(ctx, func(b *write) error {
		rec, err := e.readKey(ctx, id)
		if err != nil {
			return err
		}
		e.deleteKey(b, &rec)
		if rec.Kind != record.KindAgent || rec.Cluster.IsZero() {
			return nil
		}
		// Bump the generation of the key's cluster, so that a concurrent
		// delete of the cluster conflicts rather than missing this write.
		c, raw, err := e.readCluster(ctx, rec.Cluster)
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("auth: agent key without its cluster: %w", store.ErrCorrupt)
		} else if err != nil {
			return err
		}
		e.bumpCluster(b, &c, raw)
		return nil
	})
}

// maxExpiry is the latest expiry a key record can hold: expiries are
// stored as Unix nanoseconds.
var maxExpiry = time.Unix(0, math.MaxInt64)

// newKey is a checked key spec, resolved to what is stored.
type newKey struct {
	kind       Kind
	account    keys.AccountID
	workspace  keys.WorkspaceID
	cluster    keys.ClusterID
	anyCluster bool
	name       keys.KeyName
	expires    int64
}

// checkKeySpec checks a spec's shape, with no store access.
func (e *Engine) checkKeySpec(spec KeySpec) (newKey, error) {
	name, err := keys.ParseKeyName(string(spec.Name))
	if err != nil {
		return newKey{}, invalid("key name", err)
	}
	nk := newKey{kind: spec.Grant.Principal, name: name}
	if !spec.ExpiresAt.IsZero() {
		if !spec.ExpiresAt.After(e.now()) {
			return newKey{}, invalid("expiry is not in the future", nil)
		}
		if spec.ExpiresAt.After(maxExpiry) || !spec.ExpiresAt.After(time.Unix(0, 0)) {
			return newKey{}, invalid("expiry past 2262 (a zero ExpiresAt means never)", nil)
		}
		nk.expires = spec.ExpiresAt.UnixNano()
	}
	g := spec.Grant
	switch g.Principal {
	case KindApplication:
		if g.Workspace.IsZero() || !spec.Account.IsZero() || g.Resource != AnyResource || g.ResourceID != AnyID {
			return newKey{}, invalid(`an application grant is {workspace, application, "*", "*"}`, nil)
		}
		nk.workspace = g.Workspace
	case KindAgent:
		if g.Workspace.IsZero() || !spec.Account.IsZero() || g.Resource != VirtualCluster {
			return newKey{}, invalid(`an agent grant is {workspace, agent, "virtual_cluster", cluster id or "*"}`, nil)
		}
		nk.workspace = g.Workspace
		if g.ResourceID == AnyID {
			nk.anyCluster = true
			break
		}
		c, err := keys.ParseClusterID(g.ResourceID)
		if err != nil {
			return newKey{}, invalid("agent grant resource id", err)
		}
		nk.cluster = c
	case KindAccount:
		if spec.Account.IsZero() || !g.Workspace.IsZero() || g.Resource != AnyResource || g.ResourceID != AnyID {
			return newKey{}, invalid(`an account grant is {no workspace, account, "*", "*"} with KeySpec.Account set`, nil)
		}
		nk.account = spec.Account
	default:
		return newKey{}, invalid("unknown principal kind", nil)
	}
	return nk, nil
}

// guardKeyScope reads what a new key hangs off (its account, workspace or
// cluster), checks it, fills in the key's account, and guards the batch on
// it being unchanged.
func (e *Engine) guardKeyScope(ctx context.Context, b *write, nk *newKey) error {
	switch {
	case nk.kind == KindAccount:
		_, raw, err := e.readAccount(ctx, nk.account)
		if err != nil {
			return err
		}
		b.RequireValue(record.AccountKey(nk.account), raw)
	case nk.cluster.IsZero():
		ws, raw, err := e.readWorkspace(ctx, nk.workspace)
		if err != nil {
			return err
		}
		b.RequireValue(record.WorkspaceKey(nk.workspace), raw)
		nk.account = ws.Account
	default:
		c, raw, err := e.readCluster(ctx, nk.cluster)
		if err != nil {
			return err
		}
		if c.Workspace != nk.workspace {
			return fmt.Errorf("%w: cluster in this workspace", ErrNotFound)
		}
		if !cluster.Type(c.Type).HasAgents() {
			return fmt.Errorf("%w: a %s cluster has no agent keys", ErrUnsupported, cluster.Type(c.Type))
		}
		nk.account = c.Account
		e.bumpCluster(b, &c, raw)
	}
	return nil
}

// putKey draws a new key id and secret and adds the key's records to b,
// guarded on the id and the digest prefix being unused.
func (e *Engine) putKey(b *write, nk *newKey) (IssuedKey, error) {
	id, err := keys.NewKeyID()
	if err != nil {
		return IssuedKey{}, err
	}
	secret, err := keys.NewSecret()
	if err != nil {
		return IssuedKey{}, err
	}
	d := e.hasher.Digest(&secret)
	rec := record.Key{
		Kind:      uint8(nk.kind),
		ID:        id,
		Account:   nk.account,
		Workspace: nk.workspace,
		Cluster:   nk.cluster,
		Created:   e.nowNano(),
		Expires:   nk.expires,
		Name:      string(nk.name),
	}
	if nk.anyCluster {
		rec.Flags |= record.FlagAnyCluster
	}
	if _, err := d.AppendBinary(rec.Digest[:0]); err != nil {
		return IssuedKey{}, err
	}
	var hk [1 + keys.PrefixSize]byte
	hashKey := record.HashKey(&hk, d.Prefix())
	byID := record.KeyByIDKey(id)
	b.RequireAbsent(hashKey).RequireAbsent(byID)
	b.added = append(b.added, *d.Prefix())
	b.Put(hashKey, record.AppendKey(nil, &rec))
	b.Put(byID, record.AppendKeyMeta(nil, &rec))
	b.Put(ownerKeyKey(&rec), nil)
	if !rec.Cluster.IsZero() {
		b.Put(record.ClusterKeyKey(rec.Cluster, id), nil)
	}
	return IssuedKey{Key: keyOf(&rec), Secret: secret}, nil
}

// storedKey is a key record with the raw values it was read from, for
// guards.
type storedKey struct {
	record.Key
	hashKey, hashRaw, byIDRaw []byte
}

// readKey reads a key by id: its id entry, then its record.
func (e *Engine) readKey(ctx context.Context, id keys.KeyID) (storedKey, error) {
	if id.IsZero() {
		return storedKey{}, invalid("no key id", nil)
	}
	meta, err := e.get(ctx, record.KeyByIDKey(id), "key")
	if err != nil {
		return storedKey{}, err
	}
	prefix, err := record.MetaPrefix(meta)
	if err != nil {
		return storedKey{}, err
	}
	// The key is kept in storedKey for the delete's guard, so it is built
	// on the heap once rather than on the stack and copied.
	hashKey := record.HashKey(new([1 + keys.PrefixSize]byte), prefix)
	hot, err := e.s.Get(ctx, hashKey)
	if isNotFound(err) {
		// Deleted between the two reads, or a dangling id entry: read it
		// again to tell.
		if _, err := e.get(ctx, record.KeyByIDKey(id), "key"); err != nil {
			return storedKey{}, err
		}
		return storedKey{}, fmt.Errorf("auth: key id entry without its record: %w", store.ErrCorrupt)
	} else if err != nil {
		return storedKey{}, err
	}
	rec, err := record.DecodeKey(hot, meta)
	if err != nil {
		return storedKey{}, err
	}
	if rec.ID != id {
		return storedKey{}, fmt.Errorf("%w: key record under another id", store.ErrCorrupt)
	}
	return storedKey{Key: rec, hashKey: hashKey, hashRaw: hot, byIDRaw: meta}, nil
}

// deleteKey adds the deletion of every record of a key to b, guarded on
// them being unchanged.
func (e *Engine) deleteKey(b *write, k *storedKey) {
	byID := record.KeyByIDKey(k.ID)
	b.RequireValue(k.hashKey, k.hashRaw).RequireValue(byID, k.byIDRaw)
	b.Delete(k.hashKey).Delete(byID).Delete(ownerKeyKey(&k.Key))
	b.removed = append(b.removed, [keys.PrefixSize]byte(k.hashKey[1:]))
	if !k.Cluster.IsZero() {
		b.Delete(record.ClusterKeyKey(k.Cluster, k.ID))
	}
}

func ownerKeyKey(r *record.Key) []byte {
	if r.Kind == record.KindAccount {
		return record.OwnerKeyKey(r.Account, r.ID)
	}
	return record.OwnerKeyKey(r.Workspace, r.ID)
}

func keyOf(r *record.Key) Key {
	k := Key{
		ID:        r.ID,
		Name:      keys.KeyName(r.Name),
		Account:   r.Account,
		CreatedAt: timeOf(r.Created),
		ExpiresAt: timeOf(r.Expires),
	}
	switch Kind(r.Kind) {
	case KindAccount:
		k.Grant = Grant{Principal: KindAccount, Resource: AnyResource, ResourceID: AnyID}
	case KindApplication:
		k.Grant = Grant{Workspace: r.Workspace, Principal: KindApplication, Resource: AnyResource, ResourceID: AnyID}
	case KindAgent:
		k.Grant = Grant{Workspace: r.Workspace, Principal: KindAgent, Resource: VirtualCluster, ResourceID: AnyID}
		if !r.Cluster.IsZero() {
			k.Grant.ResourceID = r.Cluster.String()
		}
	}
	return k
}
