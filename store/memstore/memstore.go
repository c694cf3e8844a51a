// Package memstore is the in-memory [store.Store]: a hash map for point
// reads and a sorted index of keys for ordered scans, under one
// reader-writer lock. Nothing survives Close or the process.
//
// It is the reference backend: the conformance suite and the property tests
// compare every other backend with it.
package memstore

import (
	"context"
	"sync"

	"github.com/streamauth/streamauth/store"
)

// Store is an in-memory store. The zero value is not usable; call [New].
type Store struct {
	mu     sync.RWMutex
	closed bool
	// m holds each value as an immutable copy, so that Get can hand it out
	// without copying again.
	m     map[string][]byte
	order sortedKeys
}

var _ store.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{m: make(map[string][]byte)}
}

// Get implements [store.Store]. The returned slice is shared with other
// readers and must not be modified.
func (s *Store) Get(ctx context.Context, key []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := store.CheckKey(key); err != nil {
		return nil, err
	}
	s.mu.RLock()
	v, ok := s.m[string(key)]
	closed := s.closed
	s.mu.RUnlock()
	switch {
	case closed:
		return nil, store.ErrClosed
	case !ok:
		return nil, store.ErrNotFound
	}
	return v, nil
}

// Scan implements [store.Store]. It copies the matching keys under the read
// lock and calls fn after releasing it, so fn may write to the store.
func (s *Store) Scan(ctx context.Context, prefix []byte, fn func(key, value []byte) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(prefix) > store.MaxKeySize {
		return store.ErrInvalidArgument
	}
	type pair struct{ key, value []byte }
	var (
		pairs []pair
		arena []byte
	)
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return store.ErrClosed
	}
	s.order.ascend(string(prefix), func(k string) bool {
		// Keys already sliced from an outgrown arena keep its old array,
		// which is never written again.
		start := len(arena)
		arena = append(arena, k...)
		pairs = append(pairs, pair{arena[start:len(arena):len(arena)], s.m[k]})
		return true
	})
	s.mu.RUnlock()
	for _, p := range pairs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(p.key, p.value); err != nil {
			return err
		}
	}
	return nil
}

// Commit implements [store.Store].
func (s *Store) Commit(ctx context.Context, b *store.Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := b.Validate(); err != nil {
		return err
	}
	// Copy values before taking the lock.
	ops := b.Ops()
	values := make([][]byte, len(ops))
	for i, op := range ops {
		if op.Kind == store.OpPut {
			values[i] = append(make([]byte, 0, len(op.Value)), op.Value...)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.ErrClosed
	}
	for _, g := range b.Guards() {
		v, ok := s.m[string(g.Key)]
		switch g.Kind {
		case store.GuardAbsent:
			ok = !ok
		case store.GuardEqual:
			ok = ok && string(v) == string(g.Value)
		}
		if !ok {
			return store.ErrConflict
		}
	}
	for i, op := range ops {
		switch op.Kind {
		case store.OpPut:
			if _, ok := s.m[string(op.Key)]; ok {
				s.m[string(op.Key)] = values[i]
				continue
			}
			k := string(op.Key)
			s.m[k] = values[i]
			s.order.insert(k)
		case store.OpDelete:
			if _, ok := s.m[string(op.Key)]; ok {
				delete(s.m, string(op.Key))
				s.order.remove(string(op.Key))
			}
		}
	}
	return nil
}

// Close implements [store.Store]. It drops the contents.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.m = nil
	s.order = sortedKeys{}
	return nil
}

// Len returns the number of keys in the store.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.m)
}
