package auth

import (
	"context"
	"fmt"

	"github.com/streamauth/streamauth/cluster"
	"github.com/streamauth/streamauth/internal/record"
	"github.com/streamauth/streamauth/keys"
	"github.com/streamauth/streamauth/store"
)

// agentKeyName names the agent key CreateCluster issues with a BYOC cluster.
const agentKeyName keys.KeyName = "akn_agent"

// CreateCluster creates a virtual cluster in a workspace. For a BYOC cluster
// it issues, in the same atomic write, exactly one agent key bound to the
// cluster, and returns it with its secret, shown this once. A serverless
// cluster gets no agent key. A name already used in the workspace is
// ErrAlreadyExists.
func (e *Engine) CreateCluster(ctx context.Context, ws keys.WorkspaceID, spec ClusterSpec) (CreatedCluster, error) {
	if err := keys.CheckDisplayName(spec.Name); err != nil {
		return CreatedCluster{}, invalid("cluster name", err)
	}
	if spec.SASL == 0 {
		spec.SASL = spec.Type.DefaultSASL()
	}
	if err := spec.Type.CheckSASL(spec.SASL); err != nil {
		return CreatedCluster{}, invalid("cluster spec", err)
	}
	var out CreatedCluster
	err := e.update(ctx, func(b *write) error {
		out = CreatedCluster{}
		w, raw, err := e.readWorkspace(ctx, ws)
		if err != nil {
			return err
		}
		nameKey := record.ClusterNameKey(ws, spec.Name)
		if _, err := e.s.Get(ctx, nameKey); err == nil {
			return fmt.Errorf("%w: a cluster of that name in this workspace", ErrAlreadyExists)
		} else if !isNotFound(err) {
			return err
		}
		id, err := keys.NewClusterID()
		if err != nil {
			return err
		}
		rec := record.Cluster{
			ID:        id,
			Type:      uint8(spec.Type),
			SASL:      uint8(spec.SASL),
			Account:   w.Account,
			Workspace: ws,
			Created:   e.nowNano(),
			Name:      spec.Name,
		}
		ck := record.ClusterKey(id)
		b.RequireValue(record.WorkspaceKey(ws), raw).RequireAbsent(nameKey).RequireAbsent(ck)
		b.Put(ck, record.AppendCluster(nil, &rec))
		b.Put(record.WorkspaceClusterKey(ws, id), nil)
		idb := id.Bytes()
		b.Put(nameKey, idb[:])
		out.Cluster = clusterOf(&rec)
		if !spec.Type.HasAgents() {
			return nil
		}
		key, err := e.putKey(b, &newKey{
			kind:      KindAgent,
			account:   w.Account,
			workspace: ws,
			cluster:   id,
			name:      agentKeyName,
		})
		if err != nil {
			return err
		}
		out.AgentKey = &key
		return nil
	})
	if err != nil {
		return CreatedCluster{}, err
	}
	return out, nil
}

// GetCluster returns a cluster, or ErrNotFound.
func (e *Engine) GetCluster(ctx context.Context, id keys.ClusterID) (Cluster, error) {
	rec, _, err := e.readCluster(ctx, id)
	if err != nil {
		return Cluster{}, err
	}
	return clusterOf(&rec), nil
}

// ListClusters returns the clusters of a workspace, ordered by id.
func (e *Engine) ListClusters(ctx context.Context, ws keys.WorkspaceID) ([]Cluster, error) {
	if _, _, err := e.readWorkspace(ctx, ws); err != nil {
		return nil, err
	}
	var out []Cluster
	err := scanIDs(ctx, e, record.ClustersPrefix(ws), func(id keys.ClusterID) error {
		rec, _, err := e.readCluster(ctx, id)
		if deletedSince(err) {
			return nil
		} else if err != nil {
			return err
		}
		out = append(out, clusterOf(&rec))
		return nil
	})
	return out, err
}

// SetClusterSASL changes a cluster's SASL policy. A serverless cluster
// always requires SASL: switching it off is ErrInvalidArgument.
func (e *Engine) SetClusterSASL(ctx context.Context, id keys.ClusterID, p cluster.SASLPolicy) (Cluster, error) {
	var out Cluster
	err := e.update(ctx, func(b *write) error {
		rec, raw, err := e.readCluster(ctx, id)
		if err != nil {
			return err
		}
		if err := cluster.Type(rec.Type).CheckSASL(p); err != nil {
			return invalid("SASL policy", err)
		}
		rec.SASL = uint8(p)
		ck := record.ClusterKey(id)
		b.RequireValue(ck, raw).Put(ck, record.AppendCluster(nil, &rec))
		out = clusterOf(&rec)
		return nil
	})
	return out, err
}

// DeleteCluster deletes a cluster and, in the same atomic write, every agent
// key bound to it and every credential of it. Once it returns, none of
// those keys and credentials authenticates again.
// The "*" agent keys of the workspace stay: they cover the workspace, not
// this cluster.
func (e *Engine) DeleteCluster(ctx context.Context, id keys.ClusterID) error {
	return e.update(ctx, func(b *write) error {
		rec, raw, err := e.readCluster(ctx, id)
		if err != nil {
			return err
		}
		ck := record.ClusterKey(id)
		// The guard on the cluster record, whose generation every bound key
		// creation or deletion changes, makes the scan below exact.
		b.RequireValue(ck, raw)
		// A key or credential deleted since the scan began is skipped:
		// its delete changed the cluster's generation, so the guard above
		// fails and the whole write runs again.
		err = scanIDs(ctx, e, record.ClusterKeysPrefix(id), func(kid keys.KeyID) error {
			k, err := e.readKey(ctx, kid)
			if deletedSince(err) {
				return nil
			} else if err != nil {
				return err
			}
			e.deleteKey(b, &k)
			return nil
		})
		if err != nil {
			return err
		}
		err = scanIDs(ctx, e, record.ClusterCredentialsPrefix(id), func(cid keys.CredentialID) error {
			c, raw, err := e.readCredential(ctx, cid)
			if deletedSince(err) {
				return nil
			} else if err != nil {
				return err
			}
			e.deleteCredential(b, &c, raw)
			return nil
		})
		if err != nil {
			return err
		}
		b.Delete(ck).Delete(record.WorkspaceClusterKey(rec.Workspace, id)).Delete(record.ClusterNameKey(rec.Workspace, rec.Name))
		return nil
	})
}

// lookupScope returns what an authorization needs of cluster id: from the
// engine's scopes if it has them, else from the store.
func (e *Engine) lookupScope(ctx context.Context, id keys.ClusterID) (clusterScope, error) {
	if e.scopes == nil {
		c, err := e.readClusterScope(ctx, id)
		return scopeOf(&c), err
	}
	if s, ok := e.scopes.lookup(id); ok {
		return s, nil
	}
	epoch := e.scopes.epoch.Load()
	c, err := e.readClusterScope(ctx, id)
	if err != nil {
		return clusterScope{}, err
	}
	s := scopeOf(&c)
	if e.scopes.afterRead != nil {
		e.scopes.afterRead()
	}
	e.scopes.insert(id, s, epoch)
	return s, nil
}

func scopeOf(c *record.ClusterScope) clusterScope {
	return clusterScope{account: c.Account, workspace: c.Workspace, typ: c.Type}
}

// readClusterScope reads what an authorization needs of cluster id, with
// no allocation: the key is built in a pooled buffer, and only the
// record's scope is decoded.
func (e *Engine) readClusterScope(ctx context.Context, id keys.ClusterID) (record.ClusterScope, error) {
	if id.IsZero() {
		return record.ClusterScope{}, invalid("no cluster id", nil)
	}
	kb := e.keyBufs.Get().(*keyBuf)
	raw, err := e.get(ctx, record.ClusterKeyTo(&kb.b, id), "cluster")
	e.keyBufs.Put(kb)
	if err != nil {
		return record.ClusterScope{}, err
	}
	c, err := record.DecodeClusterScope(raw)
	if err != nil {
		return record.ClusterScope{}, err
	}
	if err := checkClusterFields(c.Type, c.SASL); err != nil {
		return record.ClusterScope{}, err
	}
	return c, nil
}

func checkClusterFields(typ, sasl uint8) error {
	if cluster.Type(typ).CheckSASL(cluster.SASLPolicy(sasl)) != nil {
		return errClusterFields
	}
	return nil
}

var errClusterFields = fmt.Errorf("%w: cluster record with an invalid type or policy", store.ErrCorrupt)

func (e *Engine) readCluster(ctx context.Context, id keys.ClusterID) (record.Cluster, []byte, error) {
	if id.IsZero() {
		return record.Cluster{}, nil, invalid("no cluster id", nil)
	}
	raw, err := e.get(ctx, record.ClusterKey(id), "cluster")
	if err != nil {
		return record.Cluster{}, nil, err
	}
	rec, err := record.DecodeCluster(id, raw)
	if err != nil {
		return record.Cluster{}, nil, err
	}
	if err := checkClusterFields(rec.Type, rec.SASL); err != nil {
		return record.Cluster{}, nil, err
	}
	return rec, raw, nil
}

// bumpCluster adds to b a rewrite of cluster c with its generation
// advanced, guarded on the record being raw.
func (e *Engine) bumpCluster(b *write, c *record.Cluster, raw []byte) {
	ck := record.ClusterKey(c.ID)
	c.Gen++
	b.RequireValue(ck, raw).Put(ck, record.AppendCluster(nil, c))
}

func clusterOf(r *record.Cluster) Cluster {
	return Cluster{
		ID:        r.ID,
		Account:   r.Account,
		Workspace: r.Workspace,
		Name:      r.Name,
		Type:      cluster.Type(r.Type),
		SASL:      cluster.SASLPolicy(r.SASL),
		CreatedAt: timeOf(r.Created),
	}
}
