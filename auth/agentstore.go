package auth

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/streamauth/streamauth/internal/record"
	"github.com/streamauth/streamauth/store"
)

// agentStore is the store an agent's engine reads: the agent's own store,
// seen through the staged changes of a large apply while they are moved
// into place.
//
// A snapshot whose changes do not fit in one commit is applied in three
// steps: its changes are staged under record.StagedKey of its version
// (commits of bounded size that nothing reads); one small commit puts the
// new AgentState and record.StagedLiveKey, which puts the snapshot in
// force; then the changes are moved into place, each chunk in one commit
// that writes the changed records and deletes their staged copies. While
// moving holds a version, a read looks for a change staged for that
// version first, so that every read sees the new snapshot whole: a record
// is either still staged or already in place, never neither; and a reader
// that loaded the version of one move never reads what a later apply
// stages. Moving is 0 in the steady state, where a read costs one atomic
// load more than the store's own.
type agentStore struct {
	store.Store
	moving atomic.Uint64 // the version whose staged changes are being moved, or 0
}

// errScanWhileMoving: no scan runs while staged changes are moved (the
// agent's scans run under its apply lock, after any move ended).
var errScanWhileMoving = errors.New("auth: agent store scanned while a snapshot is moved into place")

// Get implements [store.Store].
func (s *agentStore) Get(ctx context.Context, key []byte) ([]byte, error) {
	if v := s.moving.Load(); v != 0 {
		raw, err := s.Store.Get(ctx, record.StagedKey(v, key))
		switch {
		case err == nil:
			v, del, err := record.DecodeStaged(raw)
			if err != nil {
				return nil, err
			}
			if del {
				return nil, store.ErrNotFound
			}
			return v, nil
		case !errors.Is(err, store.ErrNotFound):
			return nil, err
		}
	}
	return s.Store.Get(ctx, key)
}

// Scan implements [store.Store].
func (s *agentStore) Scan(ctx context.Context, prefix []byte, fn func(key, value []byte) error) error {
	if s.moving.Load() != 0 {
		return errScanWhileMoving
	}
	return s.Store.Scan(ctx, prefix, fn)
}

// InMemory implements [store.InMemory]: the agent's store is as the store
// it wraps.
func (s *agentStore) InMemory() bool { return store.IsInMemory(s.Store) }
