package auth

import (
	"bytes"
	"context"
	"sync"
	"sync/atomic"

	"github.com/streamauth/streamauth/store"
)

// Helpers shared by the tests of this package and of auth_test (which sees
// them as auth.CountingStore, auth.HookStore, auth.CheapArgon2 and
// auth.WantErr: test files of package auth are part of it when its tests
// build).

// CheapArgon2 keeps password hashing cheap in tests: one pass over 64 KiB.
var CheapArgon2 = Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1}

// WantErr fails the test unless err is nil when want is, or matches want
// and no other sentinel of this package.
var WantErr = wantErr

// CountingStore counts the Get calls that reach a store. Unlike a memory
// store it wraps, it does not declare itself held in memory, so an engine
// over it keeps an index and a cache as it would over a disk.
type CountingStore struct {
	store.Store
	Gets atomic.Int64
}

func (c *CountingStore) Get(ctx context.Context, key []byte) ([]byte, error) {
	c.Gets.Add(1)
	return c.Store.Get(ctx, key)
}

// HookStore runs a hook once, right after the first Get of one key, before
// that Get returns: a way to put a concurrent write between two reads.
type HookStore struct {
	store.Store
	mu    sync.Mutex
	key   []byte
	hook  func()
	fired atomic.Bool
}

// Arm sets the hook to run after the next Get of key.
func (h *HookStore) Arm(key []byte, hook func()) {
	h.mu.Lock()
	h.key, h.hook = key, hook
	h.mu.Unlock()
}

// Fired reports whether the hook has run.
func (h *HookStore) Fired() bool { return h.fired.Load() }

func (h *HookStore) Get(ctx context.Context, key []byte) ([]byte, error) {
	v, err := h.Store.Get(ctx, key)
	h.mu.Lock()
	var hook func()
	if h.hook != nil && bytes.Equal(key, h.key) {
		hook, h.hook = h.hook, nil
	}
	h.mu.Unlock()
	if hook != nil {
		hook()
		h.fired.Store(true)
	}
	return v, err
}
