package record

import "github.com/streamauth/streamauth/keys"

// Account is the stored form of an account.
type Account struct {
	ID      keys.AccountID // from the store key; not encoded
	Created int64          // Unix nanoseconds
	Name    string
}

// accountFixed: version, created.
const accountFixed = 1 + 8

// AppendAccount appends the encoding of a to b.
func AppendAccount(b []byte, a *Account) []byte {
	start := len(b)
	b = append(b, Version)
	b = appendInt64(b, a.Created)
	return seal(appendName(b, a.Name), start)
}

// DecodeAccount decodes an account record; id comes from its store key.
func DecodeAccount(id keys.AccountID, b []byte) (Account, error) {
	body, err := open(b, accountFixed)
	if err != nil {
		return Account{}, err
	}
	name, err := nameAt(body, accountFixed)
	if err != nil {
		return Account{}, err
	}
	return Account{ID: id, Created: int64At(body, 1), Name: string(name)}, nil
}

// Workspace is the stored form of a workspace.
type Workspace struct {
	ID      keys.WorkspaceID // from the store key; not encoded
	Account keys.AccountID
	Created int64
	Name    string
}

// workspaceFixed: version, account, created.
const workspaceFixed = 1 + keys.UUIDSize + 8

// AppendWorkspace appends the encoding of w to b.
func AppendWorkspace(b []byte, w *Workspace) []byte {
	start := len(b)
	b = append(b, Version)
	ab := w.Account.Bytes()
	b = append(b, ab[:]...)
	b = appendInt64(b, w.Created)
	return seal(appendName(b, w.Name), start)
}

// DecodeWorkspace decodes a workspace record; id comes from its store key.
func DecodeWorkspace(id keys.WorkspaceID, b []byte) (Workspace, error) {
	return decodeWorkspace(id, b, true)
}

// DecodeWorkspaceScope decodes and checks a workspace record as
// DecodeWorkspace does, but leaves Name empty: what an authorization
// reads, with no allocation.
func DecodeWorkspaceScope(id keys.WorkspaceID, b []byte) (Workspace, error) {
	return decodeWorkspace(id, b, false)
}

func decodeWorkspace(id keys.WorkspaceID, b []byte, withName bool) (Workspace, error) {
	body, err := open(b, workspaceFixed)
	if err != nil {
		return Workspace{}, err
	}
	name, err := nameAt(body, workspaceFixed)
	if err != nil {
		return Workspace{}, err
	}
	w := Workspace{ID: id, Created: int64At(body, 1+keys.UUIDSize)}
	if withName {
		w.Name = string(name)
	}
	if err := idAt(&w.Account, body, 1); err != nil {
		return Workspace{}, err
	}
	return w, nil
}

// Cluster is the stored form of a virtual cluster. Type and SASL are the
// numeric values of cluster.Type and cluster.SASLPolicy; package auth checks
// them.
type Cluster struct {
	ID        keys.ClusterID // from the store key; not encoded
	Type      uint8
	SASL      uint8
	Account   keys.AccountID
	Workspace keys.WorkspaceID
	Created   int64
	// Gen changes whenever an agent key bound to the cluster is created or
	// deleted, so that a delete of the cluster guarded on this record
	// conflicts with a concurrent key creation instead of orphaning it.
	Gen  uint64
	Name string
}

// clusterFixed: version, type, sasl, account, workspace, created, gen.
const clusterFixed = 1 + 1 + 1 + 2*keys.UUIDSize + 8 + 8

// AppendCluster appends the encoding of c to b.
func AppendCluster(b []byte, c *Cluster) []byte {
	start := len(b)
	b = append(b, Version, c.Type, c.SASL)
	ab, wb := c.Account.Bytes(), c.Workspace.Bytes()
	b = append(append(b, ab[:]...), wb[:]...)
	b = appendInt64(b, c.Created)
	b = appendInt64(b, int64(c.Gen))
	return seal(appendName(b, c.Name), start)
}

// ClusterScope is what an authorization reads of a cluster record.
type ClusterScope struct {
	Account    keys.AccountID
	Workspace  keys.WorkspaceID
	Type, SASL uint8
}

// DecodeClusterScope decodes and checks a cluster record as DecodeCluster
// does, and returns its scope only: with no allocation and no copy of the
// rest.
func DecodeClusterScope(b []byte) (ClusterScope, error) {
	body, err := open(b, clusterFixed)
	if err != nil {
		return ClusterScope{}, err
	}
	if _, err := nameAt(body, clusterFixed); err != nil {
		return ClusterScope{}, err
	}
	c := ClusterScope{Type: body[1], SASL: body[2]}
	if err := idAt(&c.Account, body, 3); err != nil {
		return ClusterScope{}, err
	}
	if err := idAt(&c.Workspace, body, 3+keys.UUIDSize); err != nil {
		return ClusterScope{}, err
	}
	return c, nil
}

// DecodeCluster decodes a cluster record; id comes from its store key.
func DecodeCluster(id keys.ClusterID, b []byte) (Cluster, error) {
	body, err := open(b, clusterFixed)
	if err != nil {
		return Cluster{}, err
	}
	name, err := nameAt(body, clusterFixed)
	if err != nil {
		return Cluster{}, err
	}
	const off = 3 + 2*keys.UUIDSize
	c := Cluster{
		ID:      id,
		Type:    body[1],
		SASL:    body[2],
		Created: int64At(body, off),
		Gen:     uint64(int64At(body, off+8)),
		Name:    string(name),
	}
	if err := idAt(&c.Account, body, 3); err != nil {
		return Cluster{}, err
	}
	if err := idAt(&c.Workspace, body, 3+keys.UUIDSize); err != nil {
		return Cluster{}, err
	}
	return c, nil
}

// idAt reads a 16-byte id at off into dst.
func idAt[K keys.Kind](dst *keys.ID[K], body []byte, off int) error {
	if off+keys.UUIDSize > len(body) {
		return errShort
	}
	if err := dst.SetBytes(body[off : off+keys.UUIDSize]); err != nil {
		return errField
	}
	return nil
}
