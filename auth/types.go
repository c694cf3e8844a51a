package auth

import (
	"fmt"
	"time"

	"github.com/streamauth/streamauth/cluster"
	"github.com/streamauth/streamauth/internal/record"
	"github.com/streamauth/streamauth/keys"
)

// Kind is the principal kind of an API key.
type Kind uint8

// The principal kinds. The zero Kind is invalid; as a filter it means "any".
const (
	// KindAccount keys act at account level and on every workspace of
	// their account.
	KindAccount Kind = record.KindAccount
	// KindApplication keys act on everything in their one workspace.
	KindApplication Kind = record.KindApplication
	// KindAgent keys run agent operations for one BYOC cluster, or for
	// every BYOC cluster of their workspace.
	KindAgent Kind = record.KindAgent
)

// String returns "account", "application" or "agent".
func (k Kind) String() string {
	switch k {
	case KindAccount:
		return "account"
	case KindApplication:
		return "application"
	case KindAgent:
		return "agent"
	}
	return fmt.Sprintf("auth.Kind(%d)", uint8(k))
}

func (k Kind) valid() bool { return k >= KindAccount && k <= KindAgent }

// ResourceKind is the kind of resource an access grant covers.
type ResourceKind string

// The resource kinds of a grant.
const (
	AnyResource    ResourceKind = "*"
	VirtualCluster ResourceKind = "virtual_cluster"
)

// AnyID is the resource id of a grant that covers every resource of its kind.
const AnyID = "*"

// Grant is an API key's permission: who the key is (its principal kind),
// where (its workspace), and over which resources.
//
// The valid grants are exactly:
//
//	application: {Workspace: W, Principal: KindApplication, Resource: "*", ResourceID: "*"}
//	agent:       {Workspace: W, Principal: KindAgent, Resource: "virtual_cluster", ResourceID: a cluster id or "*"}
//	account:     {Principal: KindAccount, Resource: "*", ResourceID: "*"} (no workspace; see KeySpec.Account)
//
// Anything else mixes kinds and is refused with ErrInvalidArgument.
type Grant struct {
	Workspace  keys.WorkspaceID
	Principal  Kind
	Resource   ResourceKind
	ResourceID string
}

// Account is a tenant: it holds workspaces.
type Account struct {
	ID        keys.AccountID
	Name      string
	CreatedAt time.Time
}

// Workspace holds virtual clusters and the keys that act on them.
type Workspace struct {
	ID        keys.WorkspaceID
	Account   keys.AccountID
	Name      string
	CreatedAt time.Time
}

// Cluster is a virtual cluster.
type Cluster struct {
	ID        keys.ClusterID
	Account   keys.AccountID
	Workspace keys.WorkspaceID
	Name      string
	Type      cluster.Type
	SASL      cluster.SASLPolicy
	CreatedAt time.Time
}

// ClusterSpec describes a cluster to create.
type ClusterSpec struct {
	// Name is free text, unique within the workspace.
	Name string
	Type cluster.Type
	// SASL is the cluster's SASL policy; zero means the type's default
	// (off for BYOC, required for serverless).
	SASL cluster.SASLPolicy
}

// CreatedCluster is what CreateCluster returns: the cluster and, for a BYOC
// cluster, its agent key with the secret, shown this once.
type CreatedCluster struct {
	Cluster  Cluster
	AgentKey *IssuedKey // nil for a serverless cluster
}

// Key is an API key's metadata. It never holds the secret or its digest.
type Key struct {
	ID        keys.KeyID
	Name      keys.KeyName
	Account   keys.AccountID
	Grant     Grant
	CreatedAt time.Time
	ExpiresAt time.Time // zero: never expires
}

// IssuedKey is a newly created key with its secret. The secret is shown
// only here, once: the store keeps only its digest.
type IssuedKey struct {
	Key    Key
	Secret keys.Secret
}

// KeySpec describes an API key to create.
type KeySpec struct {
	// Name is "akn_" followed by letters, digits and underscores.
	Name keys.KeyName
	// Account is the account of an account key; it must be zero for other
	// kinds, whose account is their workspace's.
	Account keys.AccountID
	Grant   Grant
	// ExpiresAt, if not zero, is when the key stops authenticating. It
	// must be in the future and no later than the year 2262; the zero
	// time means the key never expires.
	ExpiresAt time.Time
}

// KeyFilter selects the keys ListKeys returns. Exactly one of Account,
// Workspace and Cluster is set:
//
//   - Account: the account keys of that account;
//   - Workspace: the application and agent keys of that workspace;
//   - Cluster: the agent keys bound to that cluster (not the "*" agent keys
//     of its workspace, which ListKeys returns for the workspace).
//
// Kind, if not zero, keeps only keys of that kind.
type KeyFilter struct {
	Account   keys.AccountID
	Workspace keys.WorkspaceID
	Cluster   keys.ClusterID
	Kind      Kind
}

// Principal is who a secret authenticates as: its key, kind and scope. It
// is a value taken at authentication; authorize with it right away rather
// than keeping it, since the key may be deleted later.
type Principal struct {
	Key       keys.KeyID
	Kind      Kind
	Account   keys.AccountID
	Workspace keys.WorkspaceID // zero for account keys
	// Cluster is an agent key's one cluster; zero for every other key and
	// for an agent key with AnyCluster.
	Cluster    keys.ClusterID
	AnyCluster bool      // an agent key granted every BYOC cluster of its workspace
	ExpiresAt  time.Time // zero: never
}

// Target is what a public-API action acts on. Set exactly one field: the
// most specific resource. An account alone means an account-level action.
type Target struct {
	Account   keys.AccountID
	Workspace keys.WorkspaceID
	Cluster   keys.ClusterID
}

// timeOf turns stored Unix nanoseconds into a UTC time; 0 is the zero time.
// It is small enough to inline, so that a key with no expiry costs a
// test and no call.
func timeOf(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return unixUTC(ns)
}

func unixUTC(ns int64) time.Time { return time.Unix(0, ns).UTC() }
