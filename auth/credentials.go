package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/streamauth/streamauth/internal/record"
	"github.com/streamauth/streamauth/keys"
	"github.com/streamauth/streamauth/store"
)

// Credential is a cluster credential's metadata: never its password or
// anything derived from it.
type Credential struct {
	ID        keys.CredentialID
	Cluster   keys.ClusterID
	Workspace keys.WorkspaceID
	Account   keys.AccountID
	Username  keys.Username
	Name      string
	// Superuser is Kafka's is_cluster_superuser: the credential may do
	// anything on its cluster. What that allows is the broker's business;
	// the engine only records it.
	Superuser bool
	CreatedAt time.Time
}

// CredentialSpec describes a credential to create.
type CredentialSpec struct {
	// Name is free text describing the credential's use.
	Name      string
	Superuser bool
	// Password, if not zero, is imported (see [keys.ImportPassword]):
	// for a credential migrated from another platform. The zero Password
	// means: generate one.
	Password keys.Password
}

// IssuedCredential is a newly created credential with its password, shown
// only here, once: the store keeps an argon2id hash and SCRAM verifiers.
type IssuedCredential struct {
	Credential Credential
	Password   keys.Password
}

// CreateCredential creates a credential for a cluster, with which Kafka
// clients authenticate to that cluster, and to no other, over SASL PLAIN,
// SCRAM-SHA-256 or SCRAM-SHA-512. The password's hash and verifiers are
// computed before anything is written (taking one of the engine's hashing
// slots, or failing with [ErrBusy]); the write is one atomic commit.
func (e *Engine) CreateCredential(ctx context.Context, cl keys.ClusterID, spec CredentialSpec) (IssuedCredential, error) {
	if err := keys.CheckDisplayName(spec.Name); err != nil {
		return IssuedCredential{}, invalid("credential name", err)
	}
	if err := ctx.Err(); err != nil {
		return IssuedCredential{}, err
	}
	password := spec.Password
	if password.IsZero() {
		p, err := keys.NewPassword()
		if err != nil {
			return IssuedCredential{}, err
		}
		password = p
	}
	id, err := keys.NewCredentialID()
	if err != nil {
		return IssuedCredential{}, err
	}
	username, err := keys.NewUsername()
	if err != nil {
		return IssuedCredential{}, err
	}
	rec := record.Credential{
		ID:        id,
		Cluster:   cl,
		Created:   e.nowNano(),
		Superuser: spec.Superuser,
		Username:  string(username),
		Name:      spec.Name,
	}
	if err := e.passwords.derive(ctx, &rec, password); err != nil {
		return IssuedCredential{}, err
	}
	err = e.update(ctx, func(b *write) error {
		c, raw, err := e.readCluster(ctx, cl)
		if err != nil {
			return err
		}
		rec.Workspace, rec.Account = c.Workspace, c.Account
		ck := record.CredentialKey(id)
		login := record.LoginKey(cl, rec.Username)
		b.RequireAbsent(ck).RequireAbsent(login)
		b.Put(ck, record.AppendCredential(nil, &rec))
		b.Put(record.ClusterCredentialKey(cl, id), nil)
		idb := id.Bytes()
		b.Put(login, idb[:])
		// A new generation of the cluster record makes a concurrent
		// DeleteCluster conflict instead of missing this credential.
		e.bumpCluster(b, &c, raw)
		return nil
	})
	if err != nil {
		return IssuedCredential{}, err
	}
	return IssuedCredential{Credential: credentialOf(&rec), Password: password}, nil
}

// GetCredential returns a credential's metadata, or ErrNotFound.
func (e *Engine) GetCredential(ctx context.Context, id keys.CredentialID) (Credential, error) {
	rec, _, err := e.readCredential(ctx, id)
	if err != nil {
		return Credential{}, err
	}
	return credentialOf(&rec), nil
}

// ListCredentials returns the credentials of a cluster, ordered by id.
func (e *Engine) ListCredentials(ctx context.Context, cl keys.ClusterID) ([]Credential, error) {
	if _, _, err := e.readCluster(ctx, cl); err != nil {
		return nil, err
	}
	var out []Credential
	err := scanIDs(ctx, e, record.ClusterCredentialsPrefix(cl), func(id keys.CredentialID) error {
		rec, _, err := e.readCredential(ctx, id)
		if deletedSince(err) {
			return nil
		} else if err != nil {
			return err
		}
		out = append(out, credentialOf(&rec))
		return nil
	})
	return out, err
}

// DeleteCredential deletes a credential: once it returns, the credential
// never authenticates again, and no remembered PLAIN check of it is left.
// Deleting an absent credential is ErrNotFound.
func (e *Engine) DeleteCredential(ctx context.Context, id keys.CredentialID) error {
	return e.update(ctx, func(b *write) error {
		rec, raw, err := e.readCredential(ctx, id)
		if err != nil {
			return err
		}
		e.deleteCredential(b, &rec, raw)
		c, craw, err := e.readCluster(ctx, rec.Cluster)
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("auth: credential without its cluster: %w", store.ErrCorrupt)
		} else if err != nil {
			return err
		}
		e.bumpCluster(b, &c, craw)
		return nil
	})
}

// readCredential reads a credential record by id.
func (e *Engine) readCredential(ctx context.Context, id keys.CredentialID) (record.Credential, []byte, error) {
	if id.IsZero() {
		return record.Credential{}, nil, invalid("no credential id", nil)
	}
	raw, err := e.get(ctx, record.CredentialKey(id), "credential")
	if err != nil {
		return record.Credential{}, nil, err
	}
	rec, err := record.DecodeCredential(id, raw)
	return rec, raw, err
}

// deleteCredential adds the deletion of every record of a credential to b,
// guarded on the credential being unchanged.
func (e *Engine) deleteCredential(b *write, c *record.Credential, raw []byte) {
	ck := record.CredentialKey(c.ID)
	b.RequireValue(ck, raw)
	b.Delete(ck).Delete(record.ClusterCredentialKey(c.Cluster, c.ID)).Delete(record.LoginKey(c.Cluster, c.Username))
	b.removedCreds = append(b.removedCreds, c.ID)
}

func credentialOf(r *record.Credential) Credential {
	return Credential{
		ID:        r.ID,
		Cluster:   r.Cluster,
		Workspace: r.Workspace,
		Account:   r.Account,
		Username:  keys.Username(r.Username),
		Name:      r.Name,
		Superuser: r.Superuser,
		CreatedAt: timeOf(r.Created),
	}
}
