package memstore

import "hash/maphash"

// table is one open-addressing hash table of entries, in the style of
// SwissTable and F14, over an array of groups (group.go) of any length.
// The store's hash table (dir.go) is a directory of such tables.
//
// A key's probe sequence starts at the group that 13 of the hash bits kept
// in entry headers pick (bits 36-48, by Lemire's multiply-shift range
// reduction), and moves on group by group, wrapping around. An insert
// takes the first empty slot on it, adding itself to the overflow count
// and filter of every full group it passes; a lookup stops at the first
// group whose filter rules it out; a deletion empties its slot and takes
// one off the counts it added. There are no tombstones, and a lookup
// usually reads one group even when groups are full.
//
// The table is rebuilt, a quarter larger, when 7/8 of its slots are full:
// the load at which groups of 7 slots with 7-bit tags still probe about
// one group per lookup (Go's maps and Abseil's also grow at 7/8; F14 at
// 6/7). A rebuild sizes the table for a load of 0.7, so the load stays
// between 0.7 and 0.875 as entries are added, and the memory per entry
// with it (11 to 14 bytes of table, with the overflow counts), where
// doubling would swing it between 0.44 and 0.875. Deletions shrink the
// table once fewer than 1/16 of its slots are full. A rebuild takes each
// entry's hash bits from its header, never hashing a key again.
type table struct {
	groups []group
	// overflow counts, per group, the entries whose probe passed it full:
	// the writer's alone, so kept out of the groups that lookups read.
	overflow []uint32
	used     int  // full slots
	growAt   int  // rebuild when used reaches it
	depth    uint // local depth: how many top hash bits its keys share
}

// growAt is the number of entries that a table of size groups holds
// before it is rebuilt: 7/8 of its slots.
func growAt(size int) int { return size * groupSize * 7 / 8 }

// groupsFor returns the size of a table rebuilt for n entries: about n/4.9
// groups, a load of 0.7. So a full table grows by a quarter.
func groupsFor(n int) int { return n*10/49 + 1 }

// newTable returns an empty table of size groups and local depth depth.
func newTable(size int, depth uint) *table {
	t := &table{depth: depth}
	t.reset(size)
	return t
}

// reset makes t an empty table of size groups.
func (t *table) reset(size int) {
	t.groups = make([]group, size)
	for gi := range t.groups {
		t.groups[gi].ctrl.Store(allEmpty)
	}
	t.overflow = make([]uint32, size)
	t.used = 0
	t.growAt = growAt(size)
}

// hashKey hashes a key; it allocates nothing.
func hashKey(seed maphash.Seed, key []byte) uint64 { return maphash.Bytes(seed, key) }

// probe is a probe sequence over a table of n groups.
type probe struct {
	gi, n uint64
}

// startBits is how many hash bits pick a probe sequence's first group: the
// low ones of those entry headers keep, below the directory's.
const startBits = 13

// probeOf starts the probe sequence of a hash, or of an entry's header,
// whose hash bits are the same, over groups: it maps the start bits to a
// group by multiplying (Lemire's fast range), as tables need not be a
// power of two long.
func probeOf(meta uint64, groups []group) probe {
	n := uint64(len(groups))
	return probe{gi: (meta >> hashShift & (1<<startBits - 1)) * n >> startBits, n: n}
}

func (p *probe) next() {
	if p.gi++; p.gi == p.n {
		p.gi = 0
	}
}

// find returns the group, slot and entry of key, whose hash is h, in
// groups, the groups of a table.
//
// A lookup that holds no lock may meet a commit at work: a control byte
// that names a slot not yet (or no longer) holding an entry of that tag,
// a filter not yet updated. Every slot holds nil or a pointer to a whole
// entry, which never changes, so find reads nothing but entries and never
// outside one; it may then return a wrong answer, which the caller finds
// out from the store's sequence number, and it visits each group at most
// once.
func find(groups []group, key []byte, h uint64) (gi uint64, i int, e *entry, ok bool) {
	tag, want := tagOf(h), probeMeta(key, h)
	pass := passBit(tag)
	p := probeOf(h, groups)
	for range len(groups) {
		g := &groups[p.gi]
		ctrl := g.ctrl.Load()
		for m := matchTag(ctrl, tag); m != 0; m = m.withoutFirst() {
			i := m.first()
			e := g.slots[i].Load()
			if e == nil || e.meta&matchMask != want {
				continue
			}
			if string(e.key()) == string(key) {
				return p.gi, i, e, true
			}
		}
		if ctrl&pass == 0 {
			break
		}
		p.next()
	}
	return 0, 0, nil, false
}

// add puts e, with tag tag, in the first empty slot of its probe sequence,
// counting it in the groups it passes. Its key must be absent, and used
// below growAt.
func (t *table) add(e *entry, tag uint8) {
	for p := probeOf(e.meta, t.groups); ; p.next() {
		g := &t.groups[p.gi]
		if m := matchEmpty(g.ctrl.Load()); m != 0 {
			i := m.first()
			g.slots[i].Store(e)
			g.setCtrl(i, tag)
			t.used++
			return
		}
		t.overflow[p.gi]++
		g.pass(tag)
	}
}

// remove empties slot i of group gi, found by find, and shrinks the table
// if it is mostly empty; it reports whether it did.
func (t *table) remove(gi uint64, i int) (rebuilt bool) {
	g := &t.groups[gi]
	e := g.slots[i].Load()
	g.setCtrl(i, ctrlEmpty)
	g.slots[i].Store(nil) // let the entry go
	for p := probeOf(e.meta, t.groups); p.gi != gi; p.next() {
		if t.overflow[p.gi]--; t.overflow[p.gi] == 0 {
			t.groups[p.gi].clearFilter()
		}
	}
	t.used--
	if len(t.groups) > 1 && t.used*16 < len(t.groups)*groupSize {
		t.rebuild(groupsFor(t.used))
		return true
	}
	return false
}

// rebuild moves every entry to a new array of size groups.
func (t *table) rebuild(size int) {
	old := t.groups
	t.reset(size)
	eachFull(old, t.add)
}

// eachFull calls fn with the entry and tag of every full slot of groups.
func eachFull(groups []group, fn func(e *entry, tag uint8)) {
	for gi := range groups {
		g := &groups[gi]
		for m := matchFull(g.ctrl.Load()); m != 0; m = m.withoutFirst() {
			i := m.first()
			fn(g.slots[i].Load(), g.ctrlAt(i))
		}
	}
}
