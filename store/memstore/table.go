package memstore

import (
	"hash/maphash"
	"sync/atomic"
)

// table is one open-addressing hash table of entry refs, in the style of
// SwissTable and F14, over an array of groups (group.go) of any length.
// The store's hash table (dir.go) is a directory of such tables.
//
// A key's probe sequence starts at the group that 13 of the hash bits kept
// in refs pick (bits 36-48, by Lemire's multiply-shift range reduction),
// and moves on group by group, wrapping around. An insert takes the first
// empty slot on it, adding itself to the overflow count and filter of
// every full group it passes; a lookup stops at the first group whose
// filter rules it out; a deletion empties its slot and takes one off the
// counts it added. There are no tombstones, and a miss usually reads one
// group even when groups are full (1.09 groups on average at 3M entries,
// and a hit 1.17).
//
// The table is rebuilt, a quarter larger, when 7/8 of its slots are full:
// the load at which groups of 7 slots with 7-bit tags still probe about
// one group per lookup (Go's maps and Abseil's also grow at 7/8; F14 at
// 6/7). A rebuild sizes the table for a load of 0.7, so the load stays
// between 0.7 and 0.875 as entries are added, and the memory per entry
// with it (21 to 26 bytes of table), where doubling would swing it between
// 0.44 and 0.875 (measured: 351 to 406 bytes per API key of the engine's
// shape, against 355 to 361). Deletions shrink the table once fewer than
// 1/16 of its slots are full. A rebuild reads the hash bits kept in each
// ref, never a key; growing by a quarter rebuilds each entry four times
// over instead of once, at a few nanoseconds each.
type table struct {
	groups []group
	used   int  // full slots
	growAt int  // rebuild when used reaches it
	depth  uint // local depth: how many top hash bits its keys share
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
// low ones of those refs keep, below the directory's.
const startBits = 13

// probeOf starts the probe sequence of a hash, or of a ref's meta, whose
// hash bits are the same, over groups: it maps the start bits to a group
// by multiplying (Lemire's fast range), as tables need not be a power of
// two long.
func probeOf(meta uint64, groups []group) probe {
	n := uint64(len(groups))
	return probe{gi: (meta >> hashShift & (1<<startBits - 1)) * n >> startBits, n: n}
}

func (p *probe) next() {
	if p.gi++; p.gi == p.n {
		p.gi = 0
	}
}

// A validator tells a lookup that holds no lock whether a commit has begun
// since it started: seq is the store's sequence number, and at its value
// when the lookup began. The zero validator, a writer's, never reports a
// change.
type validator struct {
	seq *atomic.Uint64
	at  uint64
}

func (v validator) changed() bool { return v.seq != nil && v.seq.Load() != v.at }

// find returns the group, slot and ref of key, whose hash is h, in groups,
// the groups of a table.
//
// A lookup without the lock passes its validator: while a commit changes
// the groups, a slot may show the pointer of one ref and the lengths of
// another, so find checks that no commit has begun before it follows a
// pointer. It may return a wrong answer then (the caller checks the
// sequence number again and looks again), but it never reads outside an
// entry, and it visits each group at most once.
func find(groups []group, key []byte, h uint64, v validator) (gi uint64, i int, r ref, ok bool) {
	tag, want := tagOf(h), probeMeta(key, h)
	pass := passBit(tag)
	p := probeOf(h, groups)
	for range len(groups) {
		g := &groups[p.gi]
		for m := matchTag(g.ctrl.Load(), tag); m != 0; m = m.withoutFirst() {
			i := m.first()
			r := g.slots[i].load()
			if r.meta&matchMask != want || r.p == nil {
				continue
			}
			if v.changed() {
				return 0, 0, ref{}, false
			}
			if string(r.key()) == string(key) {
				return p.gi, i, r, true
			}
		}
		if g.passed.Load()&pass == 0 {
			break
		}
		p.next()
	}
	return 0, 0, ref{}, false
}

// add puts r, with tag tag, in the first empty slot of its probe sequence,
// counting it in the groups it passes. Its key must be absent, and used
// below growAt.
func (t *table) add(r ref, tag uint8) {
	for p := probeOf(r.meta, t.groups); ; p.next() {
		g := &t.groups[p.gi]
		if m := matchEmpty(g.ctrl.Load()); m != 0 {
			i := m.first()
			g.slots[i].store(r)
			g.setCtrl(i, tag)
			t.used++
			return
		}
		g.overflow++
		g.passed.Store(g.passed.Load() | passBit(tag))
	}
}

// remove empties slot i of group gi, found by find, and shrinks the table
// if it is mostly empty; it reports whether it did.
func (t *table) remove(gi uint64, i int) (rebuilt bool) {
	g := &t.groups[gi]
	r := g.slots[i].load()
	g.setCtrl(i, ctrlEmpty)
	g.slots[i].store(ref{}) // let the entry go
	for p := probeOf(r.meta, t.groups); p.gi != gi; p.next() {
		pg := &t.groups[p.gi]
		if pg.overflow--; pg.overflow == 0 {
			pg.passed.Store(0)
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

// eachFull calls fn with the ref and tag of every full slot of groups.
func eachFull(groups []group, fn func(r ref, tag uint8)) {
	for gi := range groups {
		g := &groups[gi]
		for m := matchFull(g.ctrl.Load()); m != 0; m = m.withoutFirst() {
			i := m.first()
			fn(g.slots[i].load(), g.ctrlAt(i))
		}
	}
}
