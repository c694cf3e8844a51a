package auth

import (
	"encoding/binary"
	"sync/atomic"

	"github.com/streamauth/streamauth/internal/plock"
	"github.com/streamauth/streamauth/internal/record"
	"github.com/streamauth/streamauth/keys"
)

// hotKeys is what the engine remembers of the live keys, in front of its
// store: over a store slower than memory, an exact index of their digest
// prefixes, so that an unknown secret costs no store read, and a bounded
// cache of recently authenticated keys, so that a known one costs none
// either; over a store held in memory, a cache of every key that
// authenticates, which reads one cache line where the store reads two.
//
// Both follow the writes made through the engine (see [write]):
//
//   - A created key enters the index before its commit and leaves it again
//     only if the commit certainly failed (a conflict). So the index never
//     misses a live key; it may, after an ambiguous store failure, hold a
//     prefix of a key that does not exist, which costs one read.
//   - A deleted key is marked pending before its commit: while the delete
//     is in flight, lookups of its prefix bypass the cache and read the
//     store. After the commit, its cache entry is dropped, its shard's epoch
//     advances, the mark is cleared and, if the commit succeeded, the index
//     forgets the prefix.
//   - A lookup that misses the cache notes its shard's epoch before reading
//     the store, and caches what it read only if the epoch is unchanged and
//     no delete of that prefix is pending. A lookup that read a key before
//     its revocation therefore cannot put it back after: the
//     check-then-insert race is closed.
//
// Together these keep Authenticate linearizable with DeleteKey and
// DeleteCluster: once a delete returns, no lookup of the key succeeds, and
// while it runs, lookups see what the store holds.
//
// The state is split into shards by the digest's first byte, each under its
// own lock, an internal/plock.RWMutex, whose readers on different cores
// take the read locks of different slots (up to plock.Slots cores), so
// that lookups on two cores do not write one reader count. A cache hit
// usually takes no lock at all: the cache is read under a seqlock
// (keyCache), and so does a miss when there is no index (over a store in
// memory), reading the epoch atomically. A lookup that misses the cache
// with an index to ask, or keeps meeting writers in the cache, takes the
// read lock for the index, a second look at the cache and the epoch.
type hotKeys struct {
	shards   [hotShards]hotShard
	index    bool // whether the index is kept (and may refuse lookups)
	cacheCap int  // entries in all shards; 0 when there is no cache
	// The padding keeps cached, which inserts and drops write, off the
	// lines that hits read.
	_ [64]byte
	// cached counts the entries of every shard. It is touched on inserts
	// and evictions only, never on a hit. Keys spread unevenly over the
	// shards, so the bound is on the total, not per shard.
	cached atomic.Int64
	_      [56]byte

	// Tests only: afterRead, if set, runs between a lookup's store read and
	// its cache insert, to widen the race window; ignoreEpoch makes insert
	// skip its epoch and pending checks, the broken cache that the
	// linearizability test must catch.
	afterRead   func()
	ignoreEpoch bool
}

const hotShards = 64

type hotShard struct {
	mu plock.RWMutex
	// epoch counts the deletes this shard has seen end. Writers change it
	// under mu; a lookup may read it without.
	epoch   atomic.Uint64
	live    prefixSet
	pending map[[keys.PrefixSize]byte]int // deletes in flight, by prefix
	cache   keyCache
}

// cachedKey is a hot key record as the cache takes it in and gives it
// back: the slot's part and the scope's.
type cachedKey struct {
	cacheEntry
	keyScope
}

func cachedOf(v record.KeyView) cachedKey {
	c := cachedKey{
		cacheEntry: cacheEntry{digest: v.Digest(), id: v.ID(), expires: v.Expires()},
		keyScope: keyScope{
			account:   v.Account(),
			workspace: v.Workspace(),
			cluster:   v.Cluster(),
			kind:      v.Kind(),
			flags:     v.Flags(),
		},
	}
	return c
}

// fill sets *p from a cache hit.
func (r *cacheRead) fill(p *Principal) {
	fillPrincipal(p, &r.id, r.scope, r.expires)
}

// newHotKeys returns the engine's hot-key state, or nil when it keeps
// neither an index nor a cache.
func newHotKeys(index bool, cacheSize int) *hotKeys {
	if !index && cacheSize <= 0 {
		return nil
	}
	return &hotKeys{index: index, cacheCap: max(0, cacheSize)}
}

func (h *hotKeys) shard(p *[keys.PrefixSize]byte) *hotShard {
	return &h.shards[p[0]%hotShards]
}

// indexWord is the part of a digest prefix the index holds. It skips the
// first byte, which picks the shard.
func indexWord(p *[keys.PrefixSize]byte) uint64 {
	return binary.LittleEndian.Uint64(p[8:])
}

// verdict is what a lookup in memory decided.
type verdict uint8

const (
	lookupStore   verdict = iota // not decided: read the store
	lookupUnknown                // no live key has this prefix
	lookupHit                    // the cached key matches the digest
)

// lookup decides what it can from memory. On lookupHit, *out is what the
// cache holds of the key; on lookupStore, the returned epoch is what a
// later [hotKeys.insert] of what the store answered must present.
//
// A hit usually takes no lock (see keyCache). It cannot miss a delete: a delete
// drops the entry before its commit, and insert refuses while a delete of
// the prefix is pending, so a lookup that finds the entry began before the
// delete did.
func (h *hotKeys) lookup(d *keys.Digest, out *cacheRead) (verdict, uint64) {
	p := d.Prefix()
	sh := h.shard(p)
	busy := false
	if h.cacheCap > 0 {
		switch sh.cache.read(d, out) {
		case cacheHit:
			return lookupHit, 0
		case cacheBusy:
			busy = true
		}
	}
	if !h.index && !busy {
		// A clean miss with no index to ask: nothing needs the lock.
		return lookupStore, sh.epoch.Load()
	}
	m := sh.mu.RLock()
	if h.index && !sh.live.has(indexWord(p)) {
		m.RUnlock()
		return lookupUnknown, 0
	}
	// No writer is at work while the read lock is held: a lookup that kept
	// meeting writers above gets a clean read of the cache here, and a
	// cached key never costs a store read.
	if busy && sh.cache.read(d, out) == cacheHit {
		m.RUnlock()
		return lookupHit, 0
	}
	epoch := sh.epoch.Load()
	m.RUnlock()
	return lookupStore, epoch
}

// insert caches a key read from the store by a lookup that began at epoch,
// unless a delete of its prefix has run or is running since.
func (h *hotKeys) insert(p *[keys.PrefixSize]byte, c *cachedKey, epoch uint64) {
	if h.cacheCap == 0 {
		return
	}
	sh := h.shard(p)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if (sh.epoch.Load() != epoch || sh.pending[*p] != 0) && !h.ignoreEpoch {
		return
	}
	if !sh.cache.has(p) {
		if h.cached.Load() >= int64(h.cacheCap) {
			if !sh.cache.evict() {
				return // the other shards hold the whole allowance
			}
		} else {
			h.cached.Add(1)
		}
	}
	sh.cache.put(&c.cacheEntry, &c.keyScope)
}

// drop removes p's cache entry from sh, whose lock the caller holds.
func (h *hotKeys) drop(sh *hotShard, p *[keys.PrefixSize]byte) {
	if sh.cache.remove(p) {
		h.cached.Add(-1)
	}
}

// load adds the prefix of a key found in the store when the engine starts.
func (h *hotKeys) load(p *[keys.PrefixSize]byte) {
	sh := h.shard(p)
	sh.mu.Lock()
	sh.live.add(indexWord(p))
	sh.mu.Unlock()
}

// begin runs before w is committed: created keys enter the index and
// deleted ones are marked pending.
func (h *hotKeys) begin(w *write) {
	for i := range w.added {
		h.load(&w.added[i])
	}
	for i := range w.removed {
		p := &w.removed[i]
		sh := h.shard(p)
		sh.mu.Lock()
		if sh.pending == nil {
			sh.pending = make(map[[keys.PrefixSize]byte]int)
		}
		sh.pending[*p]++
		h.drop(sh, p)
		sh.mu.Unlock()
	}
}

// end runs after the commit of w returned: applied tells whether the
// commit took effect, certain tells whether that is known (a failed guard
// writes nothing; another store error may or may not have).
func (h *hotKeys) end(w *write, applied, certain bool) {
	if !applied && certain {
		for i := range w.added {
			p := &w.added[i]
			sh := h.shard(p)
			sh.mu.Lock()
			sh.live.remove(indexWord(p))
			sh.mu.Unlock()
		}
	}
	for i := range w.removed {
		p := &w.removed[i]
		sh := h.shard(p)
		sh.mu.Lock()
		h.drop(sh, p)
		sh.epoch.Add(1)
		if sh.pending[*p]--; sh.pending[*p] == 0 {
			delete(sh.pending, *p)
		}
		if applied {
			sh.live.remove(indexWord(p))
		}
		sh.mu.Unlock()
	}
}

// cacheLen returns the number of cached keys, counted shard by shard.
func (h *hotKeys) cacheLen() int {
	n := 0
	for i := range h.shards {
		sh := &h.shards[i]
		m := sh.mu.RLock()
		n += sh.cache.n
		m.RUnlock()
	}
	return n
}
