package auth

import (
	"encoding/binary"
	"sync"
	"sync/atomic"

	"github.com/streamauth/streamauth/internal/record"
	"github.com/streamauth/streamauth/keys"
	"github.com/streamauth/streamauth/store"
)

// clusterScopes remembers, for the clusters that authorizations asked
// about, what an authorization needs of them: their account, workspace and
// type. No API changes those in a cluster's life (its SASL policy and its
// generation change, and are not kept here), and a cluster id is never
// used again, so the only write that can make an entry wrong is the
// deletion of the cluster's record.
//
// It follows the engine's writes as hotKeys does for deleted keys (see
// [Engine.commit]): a commit that deletes a cluster record first drops the
// entry and marks the cluster pending, so that while the delete is in
// flight lookups of it read the store; after the commit, the entry is
// dropped again, the epoch advances and the mark is cleared. A lookup that
// misses notes the epoch before it reads the store, and inserts what it
// read only if the epoch is unchanged and no delete of the cluster is
// pending, so a read made before a delete cannot put the cluster back
// after it. Once DeleteCluster returns, no authorization finds the
// cluster.
//
// Lookups take no lock: they read the table with atomic loads (a plain
// load on amd64, a load-acquire on arm64).
//
// An engine over a store that others write too (Options.Shared) keeps no
// scopes: it does not see their deletes.
type clusterScopes struct {
	tab   atomic.Pointer[scopeTable] // read without a lock
	epoch atomic.Uint64              // advanced by every completed delete

	mu       sync.Mutex // serializes the writers below
	pending  map[keys.ClusterID]int
	maxSlots int

	// Tests only: afterRead, if set, runs between a lookup's store read
	// and its insert, to widen the race window; ignoreEpoch makes insert
	// skip its epoch and pending checks, and end keep the entries, the
	// broken cache a test must catch.
	afterRead   func()
	ignoreEpoch bool
}

// A scopeTable is an open-addressing hash table of immutable entries, read
// with atomic loads and no lock, written under clusterScopes.mu. A removed
// entry leaves a tombstone, so that the probe sequences of the others stay
// whole. A table is never resized in place: a writer that needs room
// builds a bigger one (without tombstones) and publishes it, and a reader
// still on the old one at worst misses an entry and reads the store.
type scopeTable struct {
	slots []atomic.Pointer[scopeEntry]
	mask  uint64
	used  int // slots holding an entry or a tombstone; under mu
	live  int // slots holding an entry; under mu
}

type scopeEntry struct {
	id keys.ClusterID
	s  clusterScope
}

var tombstone = new(scopeEntry)

const (
	// scopeProbes bounds a probe sequence, so that a lookup of an
	// unknown cluster (which a caller may choose) costs a few loads.
	scopeProbes = 8
	// scopeCap bounds the clusters remembered. A table holds at most half
	// as many entries as it has slots, so at most 16384 entries (64 bytes
	// each, their allocation class) and 32768 slots of 8 bytes: 1.25 MiB.
	scopeCap       = 16384
	scopeFirstSize = 64
)

// clusterScope is what an authorization needs of a cluster.
type clusterScope struct {
	account   keys.AccountID
	workspace keys.WorkspaceID
	typ       uint8
}

func newClusterScopes(capacity int) *clusterScopes {
	c := &clusterScopes{pending: make(map[keys.ClusterID]int), maxSlots: scopeFirstSize}
	for c.maxSlots < 2*capacity {
		c.maxSlots *= 2
	}
	c.tab.Store(newScopeTable(scopeFirstSize))
	return c
}

func newScopeTable(size int) *scopeTable {
	return &scopeTable{slots: make([]atomic.Pointer[scopeEntry], size), mask: uint64(size - 1)}
}

// home returns the first slot of cluster id's probe sequence. Issued ids
// are random, but not every bit of them (a UUID's version and variant
// bits), so both halves are mixed.
func (t *scopeTable) home(id keys.ClusterID) uint64 {
	b := id.Bytes()
	h := (binary.LittleEndian.Uint64(b[:8]) ^ binary.LittleEndian.Uint64(b[8:])) * 0x9e3779b97f4a7c15
	return (h >> 32) & t.mask
}

// find returns cluster id's entry in t and its slot, or nil and -1. A
// reader uses the entry it loaded, never the slot again: a writer may have
// put another entry there since.
func (t *scopeTable) find(id keys.ClusterID) (*scopeEntry, int) {
	i := t.home(id)
	for range scopeProbes {
		e := t.slots[i].Load()
		if e == nil {
			break
		}
		if e != tombstone && e.id == id {
			return e, int(i)
		}
		i = (i + 1) & t.mask
	}
	return nil, -1
}

// lookup returns the scope of cluster id if it is remembered.
func (c *clusterScopes) lookup(id keys.ClusterID) (clusterScope, bool) {
	if e, _ := c.tab.Load().find(id); e != nil {
		return e.s, true
	}
	return clusterScope{}, false
}

// insert remembers the scope of cluster id, read from the store after
// epoch was read, unless a delete of the cluster is in flight or any
// delete of a cluster has completed since.
//
// Below its largest size, a table grows when half full, or when an entry
// finds no free slot on its probe sequence. At its largest, it first sheds
// its tombstones once they are half of what it holds; then, once half its
// slots hold entries, a new entry takes the place of the first entry on
// its probe sequence (or, if it meets none, is not remembered).
func (c *clusterScopes) insert(id keys.ClusterID, s clusterScope, epoch uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.ignoreEpoch && (c.epoch.Load() != epoch || c.pending[id] != 0) {
		return
	}
	t := c.tab.Load()
	if e, _ := t.find(id); e != nil {
		return
	}
	if 2*(t.used+1) > len(t.slots) && (len(t.slots) < c.maxSlots || 2*t.live < t.used) {
		t = c.rebuild(t)
	}
	e := &scopeEntry{id: id, s: s}
	for {
		if len(t.slots) >= c.maxSlots && 2*(t.live+1) > len(t.slots) {
			t.replace(e)
			return
		}
		if t.put(e) {
			return
		}
		if len(t.slots) >= c.maxSlots {
			t.replace(e)
			return
		}
		t = c.rebuild(t)
	}
}

// put stores e in the first free slot of its probe sequence, and reports
// false if there is none. Under mu.
func (t *scopeTable) put(e *scopeEntry) bool {
	i := t.home(e.id)
	for range scopeProbes {
		switch old := t.slots[i].Load(); old {
		case nil:
			t.used++
			fallthrough
		case tombstone:
			t.live++
			t.slots[i].Store(e)
			return true
		}
		i = (i + 1) & t.mask
	}
	return false
}

// replace stores e in place of the first entry on its probe sequence; if
// there is none, it leaves t as it is. Under mu.
func (t *scopeTable) replace(e *scopeEntry) {
	i := t.home(e.id)
	for range scopeProbes {
		switch old := t.slots[i].Load(); old {
		case nil:
			return
		case tombstone:
		default:
			t.slots[i].Store(e)
			return
		}
		i = (i + 1) & t.mask
	}
}

// rebuild publishes a table with t's entries and no tombstones, twice t's
// size unless that would pass maxSlots, and returns it. Below the largest
// size, a table in which an entry finds no free slot doubles again; at the
// largest, it keeps what fits, at most half a table.
func (c *clusterScopes) rebuild(t *scopeTable) *scopeTable {
	size := min(2*len(t.slots), c.maxSlots)
	for {
		n, lost := newScopeTable(size), false
		for i := range t.slots {
			if e := t.slots[i].Load(); e != nil && e != tombstone && 2*(n.used+1) <= size {
				lost = !n.put(e) || lost
			}
		}
		if !lost || size >= c.maxSlots {
			c.tab.Store(n)
			return n
		}
		size *= 2
	}
}

// remove forgets cluster id. Under mu.
func (c *clusterScopes) remove(id keys.ClusterID) {
	t := c.tab.Load()
	if _, i := t.find(id); i >= 0 {
		t.slots[i].Store(tombstone)
		t.live--
	}
}

// begin marks the clusters ids as being deleted, before the commit that
// deletes them, and forgets them: until the commit is over, their lookups
// read the store.
func (c *clusterScopes) begin(ids []keys.ClusterID) {
	if len(ids) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		c.pending[id]++
		c.remove(id)
	}
}

// end follows the commit begun by begin, whatever its result: the clusters
// are forgotten again (begin's marks already kept lookups from inserting
// them; this does not rest on that alone), the epoch advances, so that no
// lookup that read the store before the commit inserts what it read, and
// the marks are cleared.
func (c *clusterScopes) end(ids []keys.ClusterID) {
	if len(ids) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch.Add(1)
	for _, id := range ids {
		if !c.ignoreEpoch {
			c.remove(id)
		}
		if c.pending[id]--; c.pending[id] <= 0 {
			delete(c.pending, id)
		}
	}
}

// deletedClusters returns the clusters whose records b deletes. It reads
// the batch itself rather than trusting each caller to list them; the one
// write that deletes records other than through its batch, an agent's
// staged apply, lists them in write.deletedClusters. A rewrite of a
// cluster record (a new SASL policy, a generation bumped by a key or
// credential of the cluster, an agent's snapshot) keeps its scope.
func deletedClusters(b *store.Batch) []keys.ClusterID {
	var out []keys.ClusterID
	for _, op := range b.Ops() {
		if op.Kind != store.OpDelete {
			continue
		}
		if id, ok := record.ClusterKeyID(op.Key); ok {
			out = append(out, id)
		}
	}
	return out
}
