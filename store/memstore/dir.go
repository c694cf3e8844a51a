package memstore

import (
	"slices"
	"sync/atomic"
)

// hashTable is the store's hash table: a directory of tables, grown by
// extendible hashing so that no single rebuild is large. The top depth
// bits of a key's hash pick a directory entry, which points to the table
// that holds the key; a table of local depth d < depth is shared by the
// 2^(depth-d) entries that agree on its top d bits.
//
// A table that must grow past maxGroups splits instead, by the next hash
// bit, into two tables of one more local depth (doubling the directory if
// it was as deep). So growth rebuilds at most one table of maxGroups groups
// (64 KiB, under 6,300 entries) at a time under the store's write lock:
// building 3M entries, the slowest commit took 3 ms with the GC off, where
// with a single table it took 125 ms, stalling every reader, when the
// table doubled. The directory is small (1024 entries of 32 bytes at 3M
// entries) and stays in cache: lookups cost the same as with a single
// table (measured).
//
// Entry headers keep hash bits 36-63 (entry.go): tables use the low 13 to pick
// a key's first group, the directory the high end, up to maxDepth bits, so
// that the two never overlap. Past that depth, which takes over 10^8
// entries, tables grow without splitting.
//
// The directory a writer changes is never the one lookups read: after each
// change (a rebuild, a split) the writer publishes a copy, which lookups
// load atomically and which never changes after, so that a lookup holding
// no lock reads a directory entry whole. The groups themselves are shared,
// and read and written atomically (group.go).
type hashTable struct {
	dir   []dirEntry // 1<<depth entries; nil until the first insert
	depth uint
	used  int // entries, over all tables

	pub atomic.Pointer[directory] // a copy of dir and depth; nil while empty
}

// directory is a published copy of a hash table's directory.
type directory struct {
	entries []dirEntry
	depth   uint
}

// publish makes the current directory the one lookups read.
func (m *hashTable) publish() {
	if m.dir == nil {
		m.pub.Store(nil)
		return
	}
	m.pub.Store(&directory{entries: slices.Clone(m.dir), depth: m.depth})
}

// clear empties the table.
func (m *hashTable) clear() {
	m.dir, m.depth, m.used = nil, 0, 0
	m.publish()
}

// dirEntry is a directory entry: a table, and a copy of its groups slice,
// which is all that a lookup needs, so that it goes from the directory
// straight to the group.
type dirEntry struct {
	groups []group
	t      *table
}

const (
	maxGroups = 1 << 10
	maxDepth  = 64 - hashShift - startBits
)

// entryFor returns the directory entry of hash h. The directory must not
// be empty.
func (m *hashTable) entryFor(h uint64) *dirEntry {
	return &m.dir[h>>(64-m.depth)] // a shift by 64 is 0, for depth 0
}

// tableFor returns the table of hash h. The directory must not be empty.
func (m *hashTable) tableFor(h uint64) *table { return m.entryFor(h).t }

// find returns the table, group and slot of key, whose hash is h.
func (m *hashTable) find(key []byte, h uint64) (t *table, gi uint64, i int, ok bool) {
	if m.used == 0 {
		return nil, 0, 0, false
	}
	d := m.entryFor(h)
	gi, i, _, ok = find(d.groups, key, h)
	return d.t, gi, i, ok
}

// point sets the 2^(depth - t.depth) directory entries of table t, which
// holds hash h, to t.
func (m *hashTable) point(t *table, h uint64) {
	width := 1 << (m.depth - t.depth)
	first := int(h>>(64-m.depth)) &^ (width - 1)
	for i := range width {
		m.dir[first+i] = dirEntry{t.groups, t}
	}
}

// get returns the entry of key, whose hash is h.
func (m *hashTable) get(key []byte, h uint64) (*entry, bool) {
	if m.used == 0 {
		return nil, false
	}
	_, _, e, ok := find(m.entryFor(h).groups, key, h)
	return e, ok
}

// lookup returns the entry of key, whose hash is h, from the published
// directory. Without the lock, the answer counts only if the store's
// sequence number has not changed after it.
func (m *hashTable) lookup(key []byte, h uint64) (*entry, bool) {
	d := m.pub.Load()
	if d == nil {
		return nil, false
	}
	_, _, e, ok := find(d.entries[h>>(64-d.depth)].groups, key, h)
	return e, ok
}

// insert adds e, with hash h, whose key must be absent.
func (m *hashTable) insert(e *entry, h uint64) {
	if m.dir == nil {
		t := newTable(1, 0)
		m.dir = []dirEntry{{t.groups, t}}
		m.publish()
	}
	if t := m.tableFor(h); t.used >= t.growAt {
		size := groupsFor(t.used)
		if size <= maxGroups || t.depth >= maxDepth || !m.split(t, h) {
			t.rebuild(size)
			m.point(t, h)
		}
		m.publish()
	}
	m.tableFor(h).add(e, tagOf(h))
	m.used++
}

// remove empties slot i of group gi of t, found by find for hash h.
func (m *hashTable) remove(t *table, gi uint64, i int, h uint64) {
	if t.remove(gi, i) {
		m.point(t, h)
		m.publish()
	}
	m.used--
}

// split replaces t, the table of hash h, by two tables of one more local
// depth, the one for the keys whose next hash bit is 0 and the one for 1.
// It does nothing and returns false if either would be empty: t must grow
// instead (which only hashes built to collide would make happen).
func (m *hashTable) split(t *table, h uint64) bool {
	bit := 63 - t.depth // the hash bit, also in each entry's header
	var n [2]int
	eachFull(t.groups, func(e *entry, _ uint8) { n[e.meta>>bit&1]++ })
	if n[0] == 0 || n[1] == 0 {
		return false
	}
	if t.depth == m.depth {
		dir := make([]dirEntry, 2*len(m.dir))
		for i, x := range m.dir {
			dir[2*i], dir[2*i+1] = x, x
		}
		m.dir, m.depth = dir, m.depth+1
	}
	halves := [2]*table{newTable(groupsFor(n[0]), t.depth+1), newTable(groupsFor(n[1]), t.depth+1)}
	eachFull(t.groups, func(e *entry, tag uint8) { halves[e.meta>>bit&1].add(e, tag) })
	// h with its bit set to 0, then to 1, is a hash of each half.
	m.point(halves[0], h&^(1<<bit))
	m.point(halves[1], h|1<<bit)
	return true
}
