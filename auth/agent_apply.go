package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/streamauth/streamauth/internal/record"
	"github.com/streamauth/streamauth/internal/snapshot"
	"github.com/streamauth/streamauth/store"
)

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
//
// Only the last Agent opened over a store applies: an earlier one gets
// [ErrAgentReplaced].
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
	// A replaced agent must not finish, or even read as in force, a move
	// its successor left in the store.
	if err := a.owns(ctx); err != nil {
		return err
	}
	// Catch up with the store first: a move a failed apply left
	// unfinished, or a snapshot a commit put in force while reporting an
	// error.
	if err := a.resume(ctx); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return a.conflict(ctx, err)
		}
		return err
	}
	if cur := a.state.Load(); cur != nil && snap.Version <= cur.Version {
		return ErrSnapshotRollback
	}
	st := record.AgentState{Cluster: snap.Cluster, Workspace: snap.Workspace, Type: snap.Type, SASL: snap.SASL,
		Version: snap.Version, Expires: snap.Expires, FakeSaltKey: snap.FakeSaltKey}
	want := snapshotRecords(snap)
	err = a.apply(ctx, &st, want)
	if errors.Is(err, store.ErrConflict) {
		// Only the owner writes the store, under applyMu: a conflict is
		// another Agent having taken the store over.
		return a.conflict(ctx, err)
	}
	return err
}

// resume brings the agent up to its store: it finishes a move of staged
// changes that is in force, and installs the state the store holds if it
// is newer than the one in memory.
func (a *Agent) resume(ctx context.Context) error {
	if _, err := a.finishMove(ctx); err != nil {
		return err
	}
	return a.loadState(ctx)
}

// finishMove finishes a move of staged changes that is in force, if there
// is one, and reports whether there was.
func (a *Agent) finishMove(ctx context.Context) (bool, error) {
	raw, err := a.s.Store.Get(ctx, record.StagedLiveKey)
	if isNotFound(err) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("auth: reading the staged-apply marker: %w", err)
	}
	v, err := record.DecodeStagedLive(raw)
	if err != nil {
		return false, err
	}
	if err := a.moveStaged(ctx, v); err != nil {
		return false, fmt.Errorf("auth: finishing the apply of snapshot version %d: %w", v, err)
	}
	return true, nil
}

// loadState installs the state the store holds if it is newer than the one
// in memory.
func (a *Agent) loadState(ctx context.Context) error {
	st, _, err := readState(ctx, a.s.Store, a.cluster)
	if err != nil {
		return err
	}
	if cur := a.state.Load(); st != nil && (cur == nil || st.Version > cur.Version) {
		a.install(st)
	}
	return nil
}

// apply makes st, whose records are want (sorted by key), the agent's
// state, guarded by the state it reads and by the agent's ownership of the
// store.
func (a *Agent) apply(ctx context.Context, st *record.AgentState, want []record.KV) error {
	var w write
	a.own(&w.Batch)
	// The version in the store decides, so that a restarted agent never
	// rolls back.
	old, raw, err := readState(ctx, a.s.Store, st.Cluster)
	if err != nil {
		return err
	}
	first := old == nil
	if first {
		w.RequireAbsent(record.AgentStateKey)
	} else {
		if st.Version <= old.Version {
			return ErrSnapshotRollback
		}
		w.RequireValue(record.AgentStateKey, raw)
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
			a.own(&cw.Batch)
			addChanges(&cw, part, true)
			return a.e.commit(ctx, &cw)
		})
		if err != nil {
			return fmt.Errorf("auth: applying a first snapshot: %w", err)
		}
	default:
		if err := a.stage(ctx, st.Version, changes); err != nil {
			return err
		}
		addChanges(&w, changes, false)
		w.Put(record.StagedLiveKey, record.StagedLiveValue(st.Version))
		w.committed = func() { a.s.moving.Store(st.Version) }
		staged = true
	}
	rec := record.AppendAgentState(nil, st)
	w.Put(record.AgentStateKey, rec)
	// A commit that took effect but reported an error (a sync that failed
	// after the write, say) puts the snapshot in force all the same; the
	// engine learns so before its caches take reads again, so that none
	// keeps a record this snapshot replaces.
	w.tookEffect = func() bool { return a.tookEffect(ctx, rec) }
	if err := a.e.commit(ctx, &w); err != nil {
		return err
	}
	a.install(st)
	if staged {
		if err := a.moveStaged(ctx, st.Version); err != nil {
			return fmt.Errorf("auth: snapshot version %d is in force, but moving its records into place failed (the next Apply, or NewAgent, finishes it): %w", st.Version, err)
		}
	}
	return nil
}

// tookEffect reports whether the store holds rec as its agent state: a
// commit that reported an error may still have taken effect.
func (a *Agent) tookEffect(ctx context.Context, rec []byte) bool {
	raw, err := a.s.Store.Get(ctx, record.AgentStateKey)
	return err == nil && bytes.Equal(raw, rec)
}

// own guards b on the agent's ownership of its store.
func (a *Agent) own(b *store.Batch) { b.RequireValue(record.AgentOwnerKey, a.token[:]) }

// commit commits b to the agent's store, guarded by its ownership: a
// conflict is another Agent having taken the store over.
func (a *Agent) commit(ctx context.Context, b *store.Batch) error {
	a.own(b)
	return a.s.Store.Commit(ctx, b)
}

// conflict turns a conflict of the agent's writes into ErrAgentReplaced if
// another Agent owns the store now.
func (a *Agent) conflict(ctx context.Context, err error) error {
	if a.owns(ctx) == ErrAgentReplaced {
		return ErrAgentReplaced
	}
	return err
}

// owns returns ErrAgentReplaced if another Agent has taken the store over
// (its owner record holds another token), and an error if the record
// cannot be read.
func (a *Agent) owns(ctx context.Context) error {
	raw, err := a.s.Store.Get(ctx, record.AgentOwnerKey)
	switch {
	case err == nil && !bytes.Equal(raw, a.token[:]):
		return ErrAgentReplaced
	case err != nil && !isNotFound(err):
		return fmt.Errorf("auth: reading the agent's owner: %w", err)
	}
	return nil
}

// One commit of an apply holds at most applyChunkOps operations and about
// applyChunkBytes of keys and values: within what one badger transaction
// holds at its default memtable size.
const (
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
		// At least one change per commit, so that the loop ends whatever
		// the bounds.
		for n < len(changes) && (n == 0 || (n+1)*opsPer < applyChunkOps && size < applyChunkBytes) {
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

// stage writes changes under their keys staged for version v, in commits
// that nothing reads, after forgetting what an earlier apply left staged.
func (a *Agent) stage(ctx context.Context, v uint64, changes []change) error {
	if err := a.clearStaged(ctx); err != nil {
		return err
	}
	err := inChunks(changes, 1, func(part []change) error {
		var b store.Batch
		b.Grow(len(part))
		for _, c := range part {
			b.Put(record.StagedKey(v, c.key), record.AppendStaged(nil, c.del, c.value))
		}
		return a.commit(ctx, &b)
	})
	if err != nil {
		return fmt.Errorf("auth: staging a snapshot: %w", err)
	}
	return nil
}

// scanStaged returns the changes staged under prefix, each as a change of
// the key it changes, with the key it is staged under.
func (a *Agent) scanStaged(ctx context.Context, prefix []byte) (changes []change, stagedKeys [][]byte, err error) {
	err = a.s.Store.Scan(ctx, prefix, func(k, v []byte) error {
		_, key, err := record.UnstagedKey(k)
		if err != nil {
			return err
		}
		value, del, err := record.DecodeStaged(v)
		if err != nil {
			return err
		}
		changes = append(changes, change{key: bytes.Clone(key), value: bytes.Clone(value), del: del})
		stagedKeys = append(stagedKeys, bytes.Clone(k))
		return nil
	})
	return changes, stagedKeys, err
}

// clearStaged deletes the staged changes of applies that never put their
// snapshot in force. It reads their keys only: what they hold is thrown
// away, and a damaged leftover must not keep the agent from starting.
func (a *Agent) clearStaged(ctx context.Context) error {
	var left []change
	err := a.s.Store.Scan(ctx, record.StagedPrefix(), func(k, _ []byte) error {
		left = append(left, change{key: bytes.Clone(k), del: true})
		return nil
	})
	if err != nil {
		return fmt.Errorf("auth: reading staged changes: %w", err)
	}
	err = inChunks(left, 1, func(part []change) error {
		var b store.Batch
		b.Grow(len(part))
		for _, c := range part {
			b.Delete(c.key)
		}
		return a.commit(ctx, &b)
	})
	if err != nil {
		return fmt.Errorf("auth: clearing staged changes: %w", err)
	}
	return nil
}

// moveStaged moves the changes staged for version v, which are in force,
// into place: each chunk in one commit that applies them and deletes their
// staged copies, the last one also deleting the live marker. Reads look
// for v's staged changes first until it is done.
func (a *Agent) moveStaged(ctx context.Context, v uint64) error {
	a.s.moving.Store(v)
	staged, stagedKeys, err := a.scanStaged(ctx, record.StagedVersionPrefix(v))
	if err != nil {
		return err
	}
	i, remaining := 0, len(staged)
	err = inChunks(staged, 2, func(part []change) error {
		var b store.Batch
		b.Grow(2*len(part) + 1)
		for _, c := range part {
			if c.del {
				b.Delete(c.key)
			} else {
				b.Put(c.key, c.value)
			}
			b.Delete(stagedKeys[i])
			i++
		}
		if remaining -= len(part); remaining == 0 {
			b.Delete(record.StagedLiveKey)
		}
		return a.commit(ctx, &b)
	})
	if err != nil {
		return err
	}
	if len(staged) == 0 {
		if err := a.commit(ctx, new(store.Batch).Delete(record.StagedLiveKey)); err != nil {
			return err
		}
	}
	a.s.moving.Store(0)
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
			if id, ok := record.ClusterKeyID(c.key); ok && c.del && !ops {
				w.deletedClusters = append(w.deletedClusters, id)
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
