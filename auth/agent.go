package auth

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/streamauth/streamauth/cluster"
	"github.com/streamauth/streamauth/internal/record"
	"github.com/streamauth/streamauth/internal/snapshot"
	"github.com/streamauth/streamauth/keys"
	"github.com/streamauth/streamauth/store"
)

// Snapshot errors, matched with errors.Is: each refusal of a snapshot has
// its own, and a refused snapshot writes nothing.
var (
	// ErrSnapshotSignature: the signature does not verify: the bytes
	// changed after signing.
	ErrSnapshotSignature = errors.New("auth: snapshot signature does not verify")
	// ErrSnapshotUntrustedKey: the snapshot is signed by a key the agent
	// does not trust.
	ErrSnapshotUntrustedKey = errors.New("auth: snapshot signed by an untrusted key")
	// ErrSnapshotMalformed: the signed bytes do not decode to a valid
	// snapshot.
	ErrSnapshotMalformed = errors.New("auth: malformed snapshot")
	// ErrSnapshotCluster: the snapshot is of another cluster.
	ErrSnapshotCluster = errors.New("auth: snapshot of another cluster")
	// ErrSnapshotRollback: the snapshot is not newer than the one applied.
	ErrSnapshotRollback = errors.New("auth: snapshot older than the one applied")
	// ErrSnapshotExpired: the snapshot (to apply, or the one applied, past
	// its grace period) has expired.
	ErrSnapshotExpired = errors.New("auth: snapshot expired")
	// ErrNoSnapshot: the agent has applied no snapshot yet.
	ErrNoSnapshot = errors.New("auth: no snapshot applied")
)

// AgentOptions configure an [Agent].
type AgentOptions struct {
	// Cluster is the one BYOC cluster the agent serves. Required.
	Cluster keys.ClusterID
	// Trusted are the public keys whose signatures the agent accepts. To
	// rotate the control plane's signing key without downtime: add the
	// new public key to every agent; then sign with the new key; then
	// remove the old one.
	Trusted []ed25519.PublicKey
	// Grace is how long past its expiry the applied snapshot still
	// answers. Default 0: an expired snapshot fails closed at once, every
	// check returning ErrSnapshotExpired until a newer one is applied.
	Grace time.Duration
	// Engine configures the agent's local engine (clock, cache, password
	// check bounds). Its Pepper must be the control plane's.
	Engine Options
}

// Agent is what an agent embeds to check its Kafka clients and its own
// key with no control plane: it applies signed snapshots of its cluster
// into its own local store and answers from it.
//
// The store is the agent's alone (pebble or badger in a directory of its
// own). Apply is atomic: a snapshot that is refused, or an apply that
// fails or is interrupted, leaves the previous snapshot in force.
type Agent struct {
	e       *Engine
	cluster keys.ClusterID
	trusted []ed25519.PublicKey
	grace   time.Duration
	state   atomic.Pointer[record.AgentState] // nil until a snapshot is applied
	applyMu sync.Mutex
}

// NewAgent opens an agent over its local store s, resuming from the
// snapshot the store holds, if any. A store holding another cluster's
// snapshot is refused.
func NewAgent(ctx context.Context, s store.Store, opts AgentOptions) (*Agent, error) {
	if opts.Cluster.IsZero() {
		return nil, invalid("agent needs its cluster id", nil)
	}
	if len(opts.Trusted) == 0 {
		return nil, invalid("agent needs at least one trusted public key", nil)
	}
	for _, k := range opts.Trusted {
		if len(k) != ed25519.PublicKeySize {
			return nil, invalid("trusted key is not an ed25519 public key", nil)
		}
	}
	if opts.Grace < 0 {
		return nil, invalid("negative grace period", nil)
	}
	e, err := New(ctx, s, opts.Engine)
	if err != nil {
		return nil, err
	}
	a := &Agent{e: e, cluster: opts.Cluster, trusted: opts.Trusted, grace: opts.Grace}
	raw, err := s.Get(ctx, record.AgentStateKey)
	if isNotFound(err) {
		return a, nil
	} else if err != nil {
		return nil, fmt.Errorf("auth: reading agent state: %w", err)
	}
	st, err := record.DecodeAgentState(raw)
	if err != nil {
		return nil, err
	}
	if st.Cluster != opts.Cluster {
		return nil, fmt.Errorf("%w: the store holds a snapshot of cluster %v", ErrSnapshotCluster, st.Cluster)
	}
	a.install(&st)
	return a, nil
}

func (a *Agent) install(st *record.AgentState) {
	fake := st.FakeSaltKey
	a.e.fixedFakeKey.Store(&fake)
	a.state.Store(st)
}

// Version returns the version of the applied snapshot, 0 if none.
func (a *Agent) Version() uint64 {
	if st := a.state.Load(); st != nil {
		return st.Version
	}
	return 0
}

// Apply checks a snapshot (signature, cluster, version, expiry) and, if it
// passes, replaces the agent's state with it in one atomic commit.
func (a *Agent) Apply(ctx context.Context, b []byte) error {
	snap, err := snapshot.Decode(b, a.trusted)
	switch {
	case errors.Is(err, snapshot.ErrUnknownKey):
		return ErrSnapshotUntrustedKey
	case errors.Is(err, snapshot.ErrSignature):
		return ErrSnapshotSignature
	case err != nil:
		return fmt.Errorf("%w: %w", ErrSnapshotMalformed, err)
	case snap.Cluster != a.cluster:
		return ErrSnapshotCluster
	case a.e.nowNano() >= snap.Expires:
		return ErrSnapshotExpired
	}
	a.applyMu.Lock()
	defer a.applyMu.Unlock()
	if cur := a.state.Load(); cur != nil && snap.Version <= cur.Version {
		return ErrSnapshotRollback
	}
	st := record.AgentState{Cluster: snap.Cluster, Workspace: snap.Workspace, Type: snap.Type, SASL: snap.SASL,
		Version: snap.Version, Expires: snap.Expires, FakeSaltKey: snap.FakeSaltKey}
	want := snapshotRecords(snap)
	preloaded := false
	if _, err := a.e.s.Get(ctx, record.AgentStateKey); isNotFound(err) {
		// A first snapshot may be larger than one commit of the store
		// can hold. No snapshot is in force yet, so its records go in
		// several commits; the state record, written last, puts it in
		// force. An interrupted first apply leaves records that the next
		// one finds in place or replaces.
		if err := a.preload(ctx, want); err != nil {
			return err
		}
		preloaded = true
	} else if err != nil {
		return fmt.Errorf("auth: reading agent state: %w", err)
	}
	err = a.e.update(ctx, func(w *write) error {
		// The version in the store decides, so that two agents over one
		// store (or a restarted one) never roll back.
		raw, err := a.e.s.Get(ctx, record.AgentStateKey)
		switch {
		case err == nil:
			old, err := record.DecodeAgentState(raw)
			if err != nil {
				return err
			}
			if old.Cluster != snap.Cluster {
				return ErrSnapshotCluster
			}
			if snap.Version <= old.Version {
				return ErrSnapshotRollback
			}
			w.RequireValue(record.AgentStateKey, raw)
		case isNotFound(err):
			w.RequireAbsent(record.AgentStateKey)
			if preloaded {
				// The tables hold want already: only this agent writes
				// its store, under applyMu.
				w.Put(record.AgentStateKey, record.AppendAgentState(nil, &st))
				return nil
			}
		default:
			return err
		}
		changes, err := a.diff(ctx, want)
		if err != nil {
			return err
		}
		addChanges(w, changes)
		w.Put(record.AgentStateKey, record.AppendAgentState(nil, &st))
		return nil
	})
	if err != nil {
		return err
	}
	a.install(&st)
	return nil
}

// A first apply commits at most applyChunkOps operations and about
// applyChunkBytes of keys and values at a time: within what one badger
// transaction holds at its default memtable size.
const (
	applyChunkOps   = 4096
	applyChunkBytes = 512 << 10
)

// preload writes the records of a first snapshot in commits of bounded
// size.
func (a *Agent) preload(ctx context.Context, want []record.KV) error {
	changes, err := a.diff(ctx, want)
	if err != nil {
		return err
	}
	for len(changes) > 0 {
		n, size := 0, 0
		for n < len(changes) && n < applyChunkOps && size < applyChunkBytes {
			size += len(changes[n].key) + len(changes[n].value)
			n++
		}
		var w write
		addChanges(&w, changes[:n])
		if err := a.e.commit(ctx, &w); err != nil {
			return fmt.Errorf("auth: applying a first snapshot: %w", err)
		}
		changes = changes[n:]
	}
	return nil
}

// change is one record an apply deletes or puts.
type change struct {
	key, value []byte
	gone       bool // the record under key is deleted or replaced
	del        bool // delete, rather than put value
}

// diff returns what turns the agent's tables into want (sorted by key):
// records that are gone are deleted, records that differ or are new are
// put, and records that are the same are left alone, so that an apply
// costs what changed, and the keys and logins it did not touch stay
// cached. It walks the tables and want side by side, both in key order, so
// its changes come out in key order too.
func (a *Agent) diff(ctx context.Context, want []record.KV) ([]change, error) {
	// The walk is only right over sorted records: check, rather than
	// write a wrong state.
	if !slices.IsSortedFunc(want, func(a, b record.KV) int { return bytes.Compare(a.Key, b.Key) }) {
		return nil, errors.New("auth: snapshot records out of key order")
	}
	var out []change
	i := 0
	for _, prefix := range record.AgentTablePrefixes() {
		err := a.e.s.Scan(ctx, prefix, func(k, v []byte) error {
			for i < len(want) && bytes.Compare(want[i].Key, k) < 0 {
				out = append(out, change{key: want[i].Key, value: want[i].Value})
				i++
			}
			if i < len(want) && bytes.Equal(want[i].Key, k) {
				if !bytes.Equal(want[i].Value, v) {
					out = append(out, change{key: want[i].Key, value: want[i].Value, gone: true})
				}
				i++
				return nil
			}
			out = append(out, change{key: bytes.Clone(k), gone: true, del: true})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	for ; i < len(want); i++ {
		out = append(out, change{key: want[i].Key, value: want[i].Value})
	}
	return out, nil
}

// addChanges adds changes to w, and tells the engine's index, key cache
// and remembered logins what they replace.
func addChanges(w *write, changes []change) {
	for _, c := range changes {
		p, hotErr := record.HashKeyPrefix(c.key)
		if c.gone {
			if hotErr == nil {
				w.removed = append(w.removed, *p)
			}
			if id, ok := record.CredentialIDOfKey(c.key); ok {
				w.removedCreds = append(w.removedCreds, id)
			}
		}
		if c.del {
			w.Delete(c.key)
			continue
		}
		w.Put(c.key, c.value)
		if hotErr == nil {
			w.added = append(w.added, *p)
		}
	}
}

// snapshotRecords returns every record snap puts in the agent's store, in
// the engine's keyspace (so that the engine's own lookups answer from
// them), sorted by key. The tables' tags sort in the order
// record.AgentTablePrefixes lists them; within a table the snapshot's own
// order serves where it is the key order, and the rest is sorted.
func snapshotRecords(snap *snapshot.Snapshot) []record.KV {
	out := make([]record.KV, 0, 1+len(snap.AgentKeys)+3*len(snap.Credentials))
	c := record.Cluster{ID: snap.Cluster, Type: snap.Type, SASL: snap.SASL, Account: snap.Account, Workspace: snap.Workspace}
	out = append(out, record.KV{Key: record.ClusterKey(snap.Cluster), Value: record.AppendCluster(nil, &c)})
	start := len(out)
	for _, hot := range snap.AgentKeys {
		v, _ := record.ViewKey(hot) // checked by snapshot.Decode
		var hk [1 + keys.PrefixSize]byte
		key := bytes.Clone(record.HashKey(&hk, (*[keys.PrefixSize]byte)(v.Digest())))
		out = append(out, record.KV{Key: key, Value: hot})
	}
	sortKV(out[start:])
	// Credentials are sorted by id, and so are their records and listing
	// entries; their login entries go by username.
	logins := make([]record.KV, 0, len(snap.Credentials))
	for _, cr := range snap.Credentials {
		out = append(out, record.KV{Key: record.CredentialKey(cr.ID), Value: cr.Record})
	}
	for _, cr := range snap.Credentials {
		out = append(out, record.KV{Key: record.ClusterCredentialKey(snap.Cluster, cr.ID), Value: []byte{}})
		rec, _ := record.DecodeCredential(cr.ID, cr.Record) // checked by snapshot.Decode
		idb := cr.ID.Bytes()
		logins = append(logins, record.KV{Key: record.LoginKey(snap.Cluster, rec.Username), Value: idb[:]})
	}
	sortKV(logins)
	return append(out, logins...)
}

func sortKV(kvs []record.KV) {
	slices.SortFunc(kvs, func(a, b record.KV) int { return bytes.Compare(a.Key, b.Key) })
}

// check returns the applied snapshot's state, refusing to answer without a
// snapshot, or from an expired one.
func (a *Agent) check() (*record.AgentState, error) {
	st := a.state.Load()
	if st == nil {
		return nil, ErrNoSnapshot
	}
	if a.e.nowNano() >= st.Expires+a.grace.Nanoseconds() {
		return nil, ErrSnapshotExpired
	}
	return st, nil
}

// AuthenticateAgent checks the agent's own key: ErrUnauthenticated for a
// secret the snapshot does not know, ErrPermissionDenied for the key of
// another cluster of the workspace.
//
// The cluster's workspace and type come from the snapshot's state, held
// in memory: a check costs the key lookup and nothing more.
func (a *Agent) AuthenticateAgent(ctx context.Context, secret string) (Principal, error) {
	st, err := a.check()
	if err != nil {
		return Principal{}, err
	}
	p, err := a.e.Authenticate(ctx, secret)
	if err != nil {
		return Principal{}, err
	}
	if p.Kind != KindAgent {
		return Principal{}, errNotAgent
	}
	if err := agentScope(&p, a.cluster, st.Workspace, cluster.Type(st.Type)); err != nil {
		return Principal{}, err
	}
	return p, nil
}

// AllowUnauthenticated reports whether a Kafka connection may proceed
// without SASL: the cluster's policy, as of the snapshot.
func (a *Agent) AllowUnauthenticated(context.Context) (bool, error) {
	st, err := a.check()
	if err != nil {
		return false, err
	}
	return cluster.SASLPolicy(st.SASL).AllowsUnauthenticated(), nil
}

// AuthenticatePlain checks a SASL PLAIN message, as
// [Engine.AuthenticatePlain] does on the control plane.
func (a *Agent) AuthenticatePlain(ctx context.Context, msg []byte) (CredentialPrincipal, error) {
	if _, err := a.check(); err != nil {
		return CredentialPrincipal{}, err
	}
	return a.e.AuthenticatePlain(ctx, a.cluster, msg)
}

// StartSCRAM begins a SCRAM exchange, as [Engine.StartSCRAM] does on the
// control plane, with the same fake salts for unknown users.
func (a *Agent) StartSCRAM(ctx context.Context, mechanism string) (*SCRAMExchange, error) {
	if _, err := a.check(); err != nil {
		return nil, err
	}
	return a.e.StartSCRAM(ctx, a.cluster, mechanism)
}

// Cluster returns the cluster the agent serves.
func (a *Agent) Cluster() keys.ClusterID { return a.cluster }
