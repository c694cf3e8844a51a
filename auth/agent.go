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
	s       *agentStore // the agent's store, as e reads it
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
	as := &agentStore{Store: s}
	e, err := New(ctx, as, opts.Engine)
	if err != nil {
		return nil, err
	}
	a := &Agent{e: e, s: as, cluster: opts.Cluster, trusted: opts.Trusted, grace: opts.Grace}
	// A large apply interrupted after its snapshot was put in force is
	// finished; one interrupted before is forgotten.
	switch _, err := s.Get(ctx, record.StagedLiveKey); {
	case err == nil:
		if err := a.moveStaged(ctx); err != nil {
			return nil, fmt.Errorf("auth: finishing an interrupted apply: %w", err)
		}
		// The engine's index was loaded before the move.
		if a.e, err = New(ctx, as, opts.Engine); err != nil {
			return nil, err
		}
	case isNotFound(err):
		if err := a.clearStaged(ctx); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("auth: reading agent state: %w", err)
	}
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
// passes, replaces the agent's state with it atomically: every check
// answers from the previous snapshot until the new one is in force, and
// from the new one, whole, once it is.
//
// Only what changed is written. Changes that fit in one commit of the
// store go in one commit with the new state. Larger ones are staged first
// and put in force by one small commit, then moved into place while the
// agent answers from them (see agentStore); a first snapshot, with nothing
// in force yet, goes in place in chunks and is put in force by its state
// record, written last. A refused snapshot writes nothing; an apply that
// fails or is interrupted before its snapshot is in force leaves the
// previous one in force, and what it wrote is forgotten or replaced by the
// next apply. In the one case where Apply fails after its snapshot is in
// force (a store error while its staged changes are moved into place), the
// error says so, the agent answers from the new snapshot, and the next
// Apply, or NewAgent after a restart, finishes the move.
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
	if a.s.moving.Load() {
		if err := a.moveStaged(ctx); err != nil {
			return fmt.Errorf("auth: finishing the previous apply: %w", err)
		}
	}
	if cur := a.state.Load(); cur != nil && snap.Version <= cur.Version {
		return ErrSnapshotRollback
	}
	st := record.AgentState{Cluster: snap.Cluster, Workspace: snap.Workspace, Type: snap.Type, SASL: snap.SASL,
		Version: snap.Version, Expires: snap.Expires, FakeSaltKey: snap.FakeSaltKey}
	want := snapshotRecords(snap)
	for range a.e.maxAttempts {
		// A conflict is another agent over the same store applying
		// first: read its state again.
		if err := a.apply(ctx, &st, want); !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("auth: gave up applying after %d conflicting writes: %w", a.e.maxAttempts, store.ErrConflict)
}

// apply makes st, whose records are want (sorted by key), the agent's
// state, guarded by the state it reads.
func (a *Agent) apply(ctx context.Context, st *record.AgentState, want []record.KV) error {
	var w write
	// The version in the store decides, so that two agents over one store
	// (or a restarted one) never roll back.
	raw, err := a.s.Store.Get(ctx, record.AgentStateKey)
	first := isNotFound(err)
	switch {
	case err == nil:
		old, err := record.DecodeAgentState(raw)
		if err != nil {
			return err
		}
		if old.Cluster != st.Cluster {
			return ErrSnapshotCluster
		}
		if st.Version <= old.Version {
			return ErrSnapshotRollback
		}
		w.RequireValue(record.AgentStateKey, raw)
	case first:
		w.RequireAbsent(record.AgentStateKey)
	default:
		return fmt.Errorf("auth: reading agent state: %w", err)
	}
	// A first apply writes every record: make room for them at once.
	hint := 0
	if first {
		hint = len(want)
	}
	changes, err := a.diff(ctx, want, hint)
	if err != nil {
		return err
	}
	staged := false
	switch {
	case fitsOneCommit(changes):
		addChanges(&w, changes, true)
	case first:
		// Nothing is in force and nothing reads the tables: the records
		// go in place in chunks, and the state record puts them in force.
		err := inChunks(changes, 1, func(part []change) error {
			var cw write
			cw.Grow(len(part))
			addChanges(&cw, part, true)
			return a.e.commit(ctx, &cw)
		})
		if err != nil {
			return fmt.Errorf("auth: applying a first snapshot: %w", err)
		}
	default:
		if err := a.stage(ctx, changes); err != nil {
			return err
		}
		addChanges(&w, changes, false)
		w.Put(record.StagedLiveKey, []byte{})
		w.committed = func() { a.s.moving.Store(true) }
		staged = true
	}
	w.Put(record.AgentStateKey, record.AppendAgentState(nil, st))
	if err := a.e.commit(ctx, &w); err != nil {
		return err
	}
	a.install(st)
	if staged {
		if err := a.moveStaged(ctx); err != nil {
			return fmt.Errorf("auth: snapshot version %d is in force, but moving its records into place failed (the next Apply, or NewAgent, finishes it): %w", st.Version, err)
		}
	}
	return nil
}

// One commit of an apply holds at most applyChunkOps operations and about
// applyChunkBytes of keys and values: within what one badger transaction
// holds at its default memtable size. Variables, so that tests can make
// small snapshots large.
var (
	applyChunkOps   = 4096
	applyChunkBytes = 512 << 10
)

// fitsOneCommit reports whether changes and the state record fit in one
// commit.
func fitsOneCommit(changes []change) bool {
	if len(changes)+2 > applyChunkOps {
		return false
	}
	size := 0
	for _, c := range changes {
		size += len(c.key) + len(c.value)
	}
	return size <= applyChunkBytes
}

// inChunks calls commit with successive parts of changes, each within one
// commit's bounds, with one operation to spare, when every change costs
// opsPer operations.
func inChunks(changes []change, opsPer int, commit func(part []change) error) error {
	for len(changes) > 0 {
		n, size := 0, 0
		for n < len(changes) && (n+1)*opsPer < applyChunkOps && size < applyChunkBytes {
			size += len(changes[n].key) + len(changes[n].value)
			n++
		}
		if err := commit(changes[:n]); err != nil {
			return err
		}
		changes = changes[n:]
	}
	return nil
}

// stage writes changes under their staged keys, in commits that nothing
// reads, after forgetting what an earlier apply left staged.
func (a *Agent) stage(ctx context.Context, changes []change) error {
	if err := a.clearStaged(ctx); err != nil {
		return err
	}
	err := inChunks(changes, 1, func(part []change) error {
		var b store.Batch
		b.Grow(len(part))
		for _, c := range part {
			b.Put(record.StagedKey(c.key), record.AppendStaged(nil, c.del, c.value))
		}
		return a.s.Store.Commit(ctx, &b)
	})
	if err != nil {
		return fmt.Errorf("auth: staging a snapshot: %w", err)
	}
	return nil
}

// scanStaged returns every staged change as a change of the key it
// changes.
func (a *Agent) scanStaged(ctx context.Context) ([]change, error) {
	var out []change
	err := a.s.Store.Scan(ctx, record.StagedPrefix(), func(k, v []byte) error {
		key, err := record.UnstagedKey(k)
		if err != nil {
			return err
		}
		value, del, err := record.DecodeStaged(v)
		if err != nil {
			return err
		}
		out = append(out, change{key: bytes.Clone(key), value: bytes.Clone(value), del: del})
		return nil
	})
	return out, err
}

// clearStaged deletes the staged changes of an apply that never put its
// snapshot in force.
func (a *Agent) clearStaged(ctx context.Context) error {
	left, err := a.scanStaged(ctx)
	if err != nil {
		return fmt.Errorf("auth: reading staged changes: %w", err)
	}
	err = inChunks(left, 1, func(part []change) error {
		var b store.Batch
		b.Grow(len(part))
		for _, c := range part {
			b.Delete(record.StagedKey(c.key))
		}
		return a.s.Store.Commit(ctx, &b)
	})
	if err != nil {
		return fmt.Errorf("auth: clearing staged changes: %w", err)
	}
	return nil
}

// moveStaged moves the staged changes, which are in force, into place:
// each chunk in one commit that applies them and deletes their staged
// copies, the last one also deleting the live marker. Then reads go to the
// store alone again.
func (a *Agent) moveStaged(ctx context.Context) error {
	staged, err := a.scanStaged(ctx)
	if err != nil {
		return err
	}
	remaining := len(staged)
	err = inChunks(staged, 2, func(part []change) error {
		var b store.Batch
		b.Grow(2*len(part) + 1)
		for _, c := range part {
			if c.del {
				b.Delete(c.key)
			} else {
				b.Put(c.key, c.value)
			}
			b.Delete(record.StagedKey(c.key))
		}
		if remaining -= len(part); remaining == 0 {
			b.Delete(record.StagedLiveKey)
		}
		return a.s.Store.Commit(ctx, &b)
	})
	if err != nil {
		return err
	}
	if len(staged) == 0 {
		if err := a.s.Store.Commit(ctx, new(store.Batch).Delete(record.StagedLiveKey)); err != nil {
			return err
		}
	}
	a.s.moving.Store(false)
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
func (a *Agent) diff(ctx context.Context, want []record.KV, hint int) ([]change, error) {
	// The walk is only right over sorted records: check, rather than
	// write a wrong state.
	if !slices.IsSortedFunc(want, func(a, b record.KV) int { return bytes.Compare(a.Key, b.Key) }) {
		return nil, errors.New("auth: snapshot records out of key order")
	}
	out := make([]change, 0, hint)
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

// addChanges tells the engine's index, key cache and remembered logins,
// through w, what changes replace; with ops, it also adds the changes to
// w's batch.
func addChanges(w *write, changes []change, ops bool) {
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
			if ops {
				w.Delete(c.key)
			}
			continue
		}
		if ops {
			w.Put(c.key, c.value)
		}
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
	// entries; their login entries go by username. Their keys, and the
	// login entries' values, are cut from one buffer.
	size := 0
	for _, cr := range snap.Credentials {
		size += 3*(1+keys.UUIDSize) + 2*keys.UUIDSize + len(cr.Username)
	}
	buf := make([]byte, 0, size)
	cut := func(start int) []byte { return buf[start:len(buf):len(buf)] }
	for _, cr := range snap.Credentials {
		start := len(buf)
		buf = record.AppendCredentialKey(buf, cr.ID)
		out = append(out, record.KV{Key: cut(start), Value: cr.Record})
	}
	logins := make([]record.KV, 0, len(snap.Credentials))
	for _, cr := range snap.Credentials {
		start := len(buf)
		buf = record.AppendClusterCredentialKey(buf, snap.Cluster, cr.ID)
		out = append(out, record.KV{Key: cut(start), Value: []byte{}})
		start = len(buf)
		buf = record.AppendLoginKey(buf, snap.Cluster, cr.Username)
		login := cut(start)
		start = len(buf)
		idb := cr.ID.Bytes()
		buf = append(buf, idb[:]...)
		logins = append(logins, record.KV{Key: login, Value: cut(start)})
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
