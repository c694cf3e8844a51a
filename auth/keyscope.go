package auth

import (
	"sync"
	"sync/atomic"

	"github.com/streamauth/streamauth/keys"
)

// keyScope is what a principal holds besides its key id and expiry: the
// part many keys share (every application key of a workspace has the
// same). The read cache keeps each distinct scope once, in a keyScopes,
// and a cached key refers to its scope by index; so a cached key fits one
// cache line.
type keyScope struct {
	account, workspace, cluster [keys.UUIDSize]byte
	kind, flags                 uint8
}

// keyScopes interns key scopes: each distinct scope gets the next index,
// for good. Readers look an index up without a lock; writers (the cache's
// inserts, under a shard lock) take mu.
//
// Scopes are never removed: a table holds one entry (under 200 bytes with
// its map entry) per distinct scope the cache has held, which is bounded
// by the workspaces and agent clusters that ever had a key authenticated,
// and is small next to the cache itself.
type keyScopes struct {
	mu  sync.Mutex
	ids map[keyScope]uint32
	// list is the scopes by index. An intern that needs room copies it to
	// a larger array; one that has room writes past the published length,
	// where no reader looks, and then publishes the longer slice. Readers
	// load it after the slot that gave them an index, so they see that
	// index in it.
	list atomic.Pointer[[]keyScope]
}

// intern returns the index of s, adding it if it is new.
func (t *keyScopes) intern(s keyScope) uint32 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if i, ok := t.ids[s]; ok {
		return i
	}
	var list []keyScope
	if p := t.list.Load(); p != nil {
		list = *p
	}
	i := uint32(len(list))
	list = append(list, s)
	t.list.Store(&list)
	if t.ids == nil {
		t.ids = make(map[keyScope]uint32)
	}
	t.ids[s] = i
	return i
}

// at returns the scope of index i; ok is false for an index not handed
// out, which only a torn read of a slot could produce.
func (t *keyScopes) at(i uint32) (s *keyScope, ok bool) {
	p := t.list.Load()
	if p == nil || int(i) >= len(*p) {
		return nil, false
	}
	return &(*p)[i], true
}
