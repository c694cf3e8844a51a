package auth

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
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
	// ErrAgentReplaced: another Agent was opened over this agent's store
	// since; it owns the store, and this one applies nothing more.
	ErrAgentReplaced = errors.New("auth: another agent has taken the store over")
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
// fails or is interrupted, leaves the previous snapshot in force. The last
// Agent opened over a store owns it: an earlier one keeps answering from
// what it applied, but its Apply fails with [ErrAgentReplaced], so that two
// of them never write the store at once.
type Agent struct {
	e       *Engine
	s       *agentStore // the agent's store, as e reads it
	token   [16]byte    // this Agent's ownership of the store (record.AgentOwnerKey)
	cluster keys.ClusterID
	trusted []ed25519.PublicKey
	grace   time.Duration
	state   atomic.Pointer[record.AgentState] // nil until a snapshot is applied
	applyMu sync.Mutex
}

// NewAgent opens an agent over its local store s, resuming from the
// snapshot the store holds, if any, and taking the store over from any
// Agent opened over it before. A store holding another cluster's snapshot
// is refused, before anything is written.
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
	if _, _, err := readState(ctx, s, opts.Cluster); err != nil {
		return nil, err
	}
	as := &agentStore{Store: s}
	e, err := New(ctx, as, opts.Engine)
	if err != nil {
		return nil, err
	}
	a := &Agent{e: e, s: as, cluster: opts.Cluster, trusted: opts.Trusted, grace: opts.Grace}
	if _, err := rand.Read(a.token[:]); err != nil {
		return nil, err
	}
	if err := s.Commit(ctx, new(store.Batch).Put(record.AgentOwnerKey, a.token[:])); err != nil {
		return nil, fmt.Errorf("auth: taking the agent's store over: %w", err)
	}
	// A large apply interrupted after its snapshot was put in force is
	// finished, and the engine loads its index again from the tables as
	// they are then; one interrupted before is forgotten.
	moved, err := a.finishMove(ctx)
	switch {
	case errors.Is(err, store.ErrConflict):
		return nil, a.conflict(ctx, err)
	case err != nil:
		return nil, err
	case moved:
		if a.e, err = New(ctx, as, opts.Engine); err != nil {
			return nil, err
		}
	default:
		if err := a.clearStaged(ctx); errors.Is(err, store.ErrConflict) {
			return nil, a.conflict(ctx, err)
		} else if err != nil {
			return nil, err
		}
	}
	if err := a.loadState(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// readState returns the agent state s holds, with its record, or nil if it
// holds none. A state of a cluster other than cl is ErrSnapshotCluster.
func readState(ctx context.Context, s store.Store, cl keys.ClusterID) (*record.AgentState, []byte, error) {
	raw, err := s.Get(ctx, record.AgentStateKey)
	if isNotFound(err) {
		return nil, nil, nil
	} else if err != nil {
		return nil, nil, fmt.Errorf("auth: reading agent state: %w", err)
	}
	st, err := record.DecodeAgentState(raw)
	if err != nil {
		return nil, nil, err
	}
	if st.Cluster != cl {
		return nil, nil, fmt.Errorf("%w: the store holds a snapshot of cluster %v", ErrSnapshotCluster, st.Cluster)
	}
	return &st, raw, nil
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

// snapshotRecords returns every record snap puts in the agent's store, in
// the engine's keyspace (so that the engine's own lookups answer from
// them), sorted by key. The tables' tags sort in the order
// record.AgentTablePrefixes lists them; within a table the snapshot's own
// order serves where it is the key order, and the rest is sorted.
//
// The agent keys come in the wire form of their hot records, whole; they
// go into the store in the store form, under their digest prefix, as the
// engine writes them. So what an apply compares with the store (see
// Agent.diff) is a store form on both sides, and an agent store holding
// the wire form, as an earlier release wrote it, has those records
// rewritten in the store form by the next apply.
func snapshotRecords(snap *snapshot.Snapshot) []record.KV {
	out := make([]record.KV, 0, 1+len(snap.AgentKeys)+3*len(snap.Credentials))
	c := record.Cluster{ID: snap.Cluster, Type: snap.Type, SASL: snap.SASL, Account: snap.Account, Workspace: snap.Workspace}
	out = append(out, record.KV{Key: record.ClusterKey(snap.Cluster), Value: record.AppendCluster(nil, &c)})
	start := len(out)
	// Their keys and values are cut from one buffer.
	hotBuf := make([]byte, 0, len(snap.AgentKeys)*(1+keys.PrefixSize+record.KeyStoreSize))
	for _, hot := range snap.AgentKeys {
		v, _ := record.ViewKeyWire(hot) // checked by snapshot.Decode
		k := v.Key()
		start := len(hotBuf)
		hotBuf = record.AppendHashKey(hotBuf, (*[keys.PrefixSize]byte)(k.Digest[:]))
		key := tail(hotBuf, start)
		start = len(hotBuf)
		hotBuf = record.AppendKey(hotBuf, &k)
		out = append(out, record.KV{Key: key, Value: tail(hotBuf, start)})
	}
	sortKV(out[start:])
	// Credentials are sorted by id, and so are their records and listing
	// entries; their login entries go by username. Their keys, and the
	// login entries' values, are cut from one buffer.
	size := 0
	for _, cr := range snap.Credentials {
		size += 3*(1+keys.UUIDSize) + 2*keys.UUIDSize + len(cr.Username)
	}
	buf := make([]byte, 0, size)
	for _, cr := range snap.Credentials {
		start := len(buf)
		buf = record.AppendCredentialKey(buf, cr.ID)
		out = append(out, record.KV{Key: tail(buf, start), Value: cr.Record})
	}
	logins := make([]record.KV, 0, len(snap.Credentials))
	for _, cr := range snap.Credentials {
		start := len(buf)
		buf = record.AppendClusterCredentialKey(buf, snap.Cluster, cr.ID)
		out = append(out, record.KV{Key: tail(buf, start), Value: []byte{}})
		start = len(buf)
		buf = record.AppendLoginKey(buf, snap.Cluster, cr.Username)
		login := tail(buf, start)
		start = len(buf)
		idb := cr.ID.Bytes()
		buf = append(buf, idb[:]...)
		logins = append(logins, record.KV{Key: login, Value: tail(buf, start)})
	}
	sortKV(logins)
	return append(out, logins...)
}

func sortKV(kvs []record.KV) {
	slices.SortFunc(kvs, func(a, b record.KV) int { return bytes.Compare(a.Key, b.Key) })
}

// check returns the applied snapshot's state, refusing to answer without a
// snapshot, or from an expired one, at time now (Unix nanoseconds).
func (a *Agent) check(now int64) (*record.AgentState, error) {
	st := a.state.Load()
	if st == nil {
		return nil, ErrNoSnapshot
	}
	if now >= st.Expires+a.grace.Nanoseconds() {
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
	st, err := a.check(a.e.nowNano())
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
	st, err := a.check(a.e.nowNano())
	if err != nil {
		return false, err
	}
	return cluster.SASLPolicy(st.SASL).AllowsUnauthenticated(), nil
}

// AuthenticatePlain checks a SASL PLAIN message, as
// [Engine.AuthenticatePlain] does on the control plane.
func (a *Agent) AuthenticatePlain(ctx context.Context, msg []byte) (CredentialPrincipal, error) {
	now := a.e.nowNano()
	if _, err := a.check(now); err != nil {
		return CredentialPrincipal{}, err
	}
	return a.e.authenticatePlain(ctx, a.cluster, msg, now)
}

// StartSCRAM begins a SCRAM exchange, as [Engine.StartSCRAM] does on the
// control plane, with the same fake salts for unknown users.
func (a *Agent) StartSCRAM(ctx context.Context, mechanism string) (*SCRAMExchange, error) {
	if _, err := a.check(a.e.nowNano()); err != nil {
		return nil, err
	}
	return a.e.StartSCRAM(ctx, a.cluster, mechanism)
}

// Cluster returns the cluster the agent serves.
func (a *Agent) Cluster() keys.ClusterID { return a.cluster }

// tail returns b from start on, with no room to grow: a record cut from a
// shared buffer, which a later append must not reach.
func tail(b []byte, start int) []byte { return b[start:len(b):len(b)] }
