package auth

import (
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/streamauth/streamauth/cluster"
	"github.com/streamauth/streamauth/internal/record"
	"github.com/streamauth/streamauth/internal/snapshot"
	"github.com/streamauth/streamauth/keys"
	"github.com/streamauth/streamauth/store"
)

// ExportSnapshot exports what the agents of BYOC cluster cl need to work
// offline, signed with key: the cluster's identity and SASL policy, the
// digests of its workspace's agent keys (so that an agent can tell another
// cluster's key, a permission error, from an unknown one) and its
// credentials' argon2id hashes and SCRAM verifiers. Never a secret or a
// password. The snapshot is valid for ttl from now, and carries a version
// that is higher than that of every earlier export of cl.
//
// A key or credential created or deleted after the export reaches the
// agents with the next snapshot.
func (e *Engine) ExportSnapshot(ctx context.Context, cl keys.ClusterID, key ed25519.PrivateKey, ttl time.Duration) ([]byte, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, invalid("signing key is not an ed25519 private key", nil)
	}
	if ttl <= 0 {
		return nil, invalid("snapshot lifetime must be positive", nil)
	}
	var snap snapshot.Snapshot
	err := e.update(ctx, func(b *write) error {
		c, raw, err := e.readCluster(ctx, cl)
		if err != nil {
			return err
		}
		if !cluster.Type(c.Type).HasAgents() {
			return fmt.Errorf("%w: a serverless cluster has no agents to export to", ErrUnsupported)
		}
		vk := record.SnapshotVersionKey(cl)
		version := uint64(1)
		old, err := e.s.Get(ctx, vk)
		switch {
		case err == nil && len(old) == 8:
			version = binary.BigEndian.Uint64(old) + 1
			b.RequireValue(vk, old)
		case err == nil:
			return fmt.Errorf("%w: snapshot version record", store.ErrCorrupt)
		case isNotFound(err):
			b.RequireAbsent(vk)
		default:
			return err
		}
		b.Put(vk, binary.BigEndian.AppendUint64(nil, version))
		// The cluster's generation changes with every credential and
		// bound agent key; the guard makes what is read below exact.
		b.RequireValue(record.ClusterKey(cl), raw)
		now := e.now()
		snap = snapshot.Snapshot{
			Cluster: cl, Workspace: c.Workspace, Account: c.Account,
			Type: c.Type, SASL: c.SASL, Version: version,
			Issued: now.UnixNano(), Expires: now.Add(ttl).UnixNano(),
			FakeSaltKey: e.fakeSaltKey(cl),
		}
		return e.gatherSnapshot(ctx, &snap)
	})
	if err != nil {
		return nil, err
	}
	return snapshot.Encode(&snap, key)
}

// gatherSnapshot adds to snap the agent keys of its workspace and the
// credentials of its cluster, each sorted by id.
func (e *Engine) gatherSnapshot(ctx context.Context, snap *snapshot.Snapshot) error {
	snap.AgentKeys, snap.Credentials = nil, nil
	err := scanIDs(ctx, e, record.OwnerKeysPrefix(snap.Workspace), func(id keys.KeyID) error {
		k, err := e.readKey(ctx, id)
		if deletedSince(err) {
			return nil
		} else if err != nil {
			return err
		}
		// A snapshot carries the hot record in its wire form, whole: the
		// store form leaves out the digest prefix, which its store key
		// holds and a snapshot has no key for.
		if Kind(k.Kind) == KindAgent {
			snap.AgentKeys = append(snap.AgentKeys, record.AppendKeyWire(nil, &k.Key))
		}
		return nil
	})
	if err != nil {
		return err
	}
	return scanIDs(ctx, e, record.ClusterCredentialsPrefix(snap.Cluster), func(id keys.CredentialID) error {
		_, raw, err := e.readCredential(ctx, id)
		if deletedSince(err) {
			return nil
		} else if err != nil {
			return err
		}
		snap.Credentials = append(snap.Credentials, snapshot.Credential{ID: id, Record: raw})
		return nil
	})
}
