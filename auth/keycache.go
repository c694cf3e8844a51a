package auth

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"sync/atomic"
	"unsafe"

	"github.com/streamauth/streamauth/internal/prefetch"
	"github.com/streamauth/streamauth/keys"
)

// keyCache is one shard's part of the engine's read cache (see hotKeys):
// hot key records by digest prefix, at most one per prefix, read without a
// lock.
//
// A record takes one 64-byte slot, one cache line, that holds all a hit
// needs: the whole digest, the key id, the expiry, and the index of the
// key's scope (account, workspace, cluster, kind and flags) in the
// table's list of scopes, which many keys share (every application key of
// a workspace has the same) and which stays in the processor's cache. So
// of the memory that grows with the keys, a hit reads a 16-byte group
// header and one line of the slots, where a Go map of the records took
// about three times the memory and several lines.
//
// The slots form an open-addressing table in groups of 8, in the style of
// SwissTable: each group has a header word of one-byte tags (0 for an
// empty slot, else 0x80 with 7 bits of the prefix) and an overflow word,
// the count of the entries that passed the group full and a one-word
// Bloom filter of them (as in Facebook's F14 tables). A lookup starts at
// the group picked by prefix bytes 12-15 (the shard used byte 0, the tag
// byte 1), matches the tag against all 8 at once, compares the 16-byte
// prefix of the slots that match, and moves on to the next group only if
// this one's filter holds the prefix (bit byte 2 % 32): an unknown prefix
// usually stops at its home group, however full the table. There are no
// tombstones: a removal takes one off the overflow count of every group
// its entry's probe passed, and clears a filter whose count falls to 0.
//
// The table is rebuilt for a load of 0.84 when 15/16 of its slots are
// full, so while it fills an entry costs 70 to 79 bytes; it shrinks when
// fewer than 1/16 are. So dense a table still finds most keys in their
// home group, and a hit reads one line of the slots wherever its key is:
// the groups probed on the way cost their 16-byte headers only, which sit
// together in their own array.
//
// Each prefix also has two chosen slots in its home group (bits of prefix
// byte 3), which a lookup prefetches before it reads the group's header,
// so before it knows where the tags point: a key in one of them costs one
// wait on memory, where reading the header and then the slot costs two.
// An entry takes a chosen slot when one is empty; when both are taken, an
// entry at home in one of them moves to its own other chosen slot if that
// is empty. That puts 74% to 80% of the entries in a chosen slot at the
// table's loads (simulated, two chosen slots and no moves put 67% at the
// highest; one chosen slot, about 55%). A hit at 1M keys, where the
// headers no longer stay in the processor's cache, took 18% less time;
// at 100k keys, 8% (p=0.065). Plain loads of the two slots in place of
// prefetches cost a prefix that is not cached a wait for slots it never
// needed: 81% more on a miss at 1M keys over mem.
//
// Scopes are interned per table: a put adds its scope to the list if it is
// new, and a rebuild keeps only the scopes of the entries it moves. A
// put into a table whose list holds more than twice its entries, plus 8
// (keys of short-lived tenants coming and going), rebuilds it first, at the
// same size unless the put also grows it, so the list stays bounded by the
// cache.
//
// Digest prefixes are uniformly random and only the engine inserts them,
// after reading them from its own store, so the prefix serves as its own
// hash: no seed, no hashing.
//
// # Concurrency
//
// Writers hold the shard's lock. Readers hold none: every word they read
// is read atomically, and seq works as a seqlock. A writer makes it odd
// before it changes a published table in place and even after (a rebuild
// publishes a new table, and needs no seqlock); a reader keeps what it
// found only if seq was even and did not change meanwhile. A reader that
// keeps failing gives up (cacheBusy), which is always safe: the engine
// then looks again under the shard's read lock, where no writer is at
// work, and reads the store only if that misses too.
type keyCache struct {
	seq atomic.Uint64
	tab atomic.Pointer[cacheTable] // nil until the first put
	n   int                        // entries; the writer's

	// Tests only: beforePublish, if set, runs in a rebuild between
	// building the new table and publishing it.
	beforePublish func()
}

// cacheTable is one array of groups and their slots. A writer changes it
// in place, or replaces it whole when it grows, shrinks or drops unused
// scopes; it never changes a table once it has replaced it.
type cacheTable struct {
	groups []cacheGroup
	slots  []cacheSlot // cacheGroupSize per group
	growAt int         // entries at which the table is rebuilt larger
	// scopes is the list of scopes by index. A put that needs room copies
	// it to a larger array; one that has room writes past the published
	// length, where no reader looks, and then publishes the longer slice.
	// An element never changes once published. A reader loads the list
	// after the slot that gave it an index, so it sees that index in it.
	scopes   atomic.Pointer[[]keyScope]
	scopeIDs map[keyScope]uint32 // the writer's index of scopes
}

const cacheGroupSize = 8

type cacheGroup struct {
	ctrl atomic.Uint64 // byte i: 0 if slot i is empty, else its tag
	// overflow is, in its low 32 bits, the number of entries whose probe
	// passed this group full and, in its high 32, a Bloom filter of them:
	// bit passBit(p) for each, cleared when the count falls to 0.
	overflow atomic.Uint64
}

// passBit is the bit of a prefix in a group's overflow filter. It takes
// byte 2 of the prefix, which neither the shard (byte 0), the tag (byte 1)
// nor the home group (bytes 12-15) uses, so that it tells apart prefixes
// that those agree on.
func passBit(p *[keys.PrefixSize]byte) uint64 { return 1 << (32 + p[2]&31) }

// overflowCount is the count part of a group's overflow word.
func overflowCount(ov uint64) uint32 { return uint32(ov) }

// cacheSlot is a cached record in 8 words: the digest's 4 (the first two
// are the prefix), the key id's 2, the expiry (Unix nanoseconds, 0 for
// none) and the scope index. Slices of slots (512 bytes a group) are
// 64-byte aligned with Go's allocator as it is: it places a small object
// at a multiple of its size class from a page boundary, every size class a
// multiple of 512 bytes rounds up to is a multiple of 64, large objects
// start on a page, and pointer-free objects carry no header. The language
// does not promise it; a misaligned slice would cost speed, not
// correctness.
type cacheSlot struct {
	w [8]atomic.Uint64
}

const (
	slotID      = 4 // and 5
	slotExpires = 6
	slotScope   = 7
)

// cacheEntry is what a slot holds, unpacked.
type cacheEntry struct {
	digest  [keys.DigestSize]byte
	id      [keys.UUIDSize]byte
	expires int64
	scope   uint32
}

// prefix returns the digest prefix of e: its key in the cache.
func (e *cacheEntry) prefix() *[keys.PrefixSize]byte {
	return (*[keys.PrefixSize]byte)(e.digest[:keys.PrefixSize])
}

// cacheTries bounds how often a reader looks again when writers are at
// work, before it gives up; the engine then looks once more under the
// shard's read lock, where no writer is at work.
const cacheTries = 4

var le = binary.LittleEndian

// tagOf is the control byte of a prefix's slot.
func tagOf(p *[keys.PrefixSize]byte) uint8 { return 0x80 | p[1] }

// homeGroup is the first group of a prefix's probe sequence among n: a
// multiply-shift of prefix bytes 12-15 (Lemire's fast range), since tables
// are not a power of two long.
func homeGroup(p *[keys.PrefixSize]byte, n int) int {
	return int(le.Uint64(p[8:]) >> 32 * uint64(n) >> 32)
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// matchTag returns the bytes of ctrl equal to tag as their high bits (a
// byte above a match may show a false one; callers check the prefix).
func matchTag(ctrl uint64, tag uint8) uint64 {
	x := ctrl ^ lsb*uint64(tag)
	return (x - lsb) &^ x & msb
}

// matchEmpty returns the empty bytes of ctrl as their high bits. Full
// bytes have their high bit set, so this is exact.
func matchEmpty(ctrl uint64) uint64 { return ^ctrl & msb }

// cacheAnswer is what a lookup in a keyCache found.
type cacheAnswer uint8

const (
	cacheMiss cacheAnswer = iota // d is not cached: a clean read says so
	cacheHit                     // d is cached; the entry is filled in
	cacheBusy                    // writers kept changing the table: no answer
)

// cacheRead is what a hit gives back: the key's id and expiry, and its
// scope, in place in the table's list of scopes, where it never changes
// once published.
type cacheRead struct {
	id      [keys.UUIDSize]byte
	expires int64
	scope   *keyScope
}

// read looks d up. On a hit it fills *out: the slot holds d's prefix and,
// compared in constant time, its whole digest. A miss, or an entry of the
// same prefix and another digest, is cacheMiss. A reader that met writers
// cacheTries times gives up with cacheBusy.
//
// A hit keeps the slot's words in registers, compares the digest there,
// and points at its scope in the list rather than copying it: the copies
// of the entry and its scope that the engine then copied again into the
// principal cost 6% of a hit at 1k keys.
func (c *keyCache) read(d *keys.Digest, out *cacheRead) cacheAnswer {
	p := d.Prefix()
	for range cacheTries {
		at := c.seq.Load()
		if at&1 != 0 {
			continue
		}
		t := c.tab.Load()
		if t == nil {
			return cacheMiss
		}
		i := t.find(p)
		if i < 0 {
			if c.seq.Load() != at {
				continue
			}
			return cacheMiss
		}
		s := &t.slots[i]
		w0, w1, w2, w3 := s.w[0].Load(), s.w[1].Load(), s.w[2].Load(), s.w[3].Load()
		id0, id1 := s.w[slotID].Load(), s.w[slotID+1].Load()
		expires := int64(s.w[slotExpires].Load())
		sc := t.scopeRef(uint32(s.w[slotScope].Load()))
		if c.seq.Load() != at {
			continue
		}
		if sc == nil || !d.EqualWords(w0, w1, w2, w3) {
			return cacheMiss
		}
		le.PutUint64(out.id[:8], id0)
		le.PutUint64(out.id[8:], id1)
		out.expires = expires
		out.scope = sc
		return cacheHit
	}
	return cacheBusy
}

// scopeRef returns scope i of the list, or nil for an index not in it,
// which only a read torn by a writer can produce.
func (t *cacheTable) scopeRef(i uint32) *keyScope {
	list := t.scopes.Load()
	if list == nil || int(i) >= len(*list) {
		return nil
	}
	return &(*list)[i]
}

// scopeAt copies scope i to *s; ok is false for an index not in the list.
func (t *cacheTable) scopeAt(i uint32, s *keyScope) bool {
	sc := t.scopeRef(i)
	if sc == nil {
		return false
	}
	*s = *sc
	return true
}

// find returns the index of the slot of prefix p, or -1. Without the lock it may
// return a wrong answer while a writer is at work (the caller checks the
// seqlock), but it reads only inside t and visits each group at most once.
//
// It first prefetches the prefix's two chosen slots in its home group
// (see slotChoices), then reads the group's tags: a key in one of those
// slots costs the time of one read from memory, not of the tags' read
// and then the slot's. A prefetch waits for nothing, so a prefix that is
// not cached costs no more than the tags' read.
func (t *cacheTable) find(p *[keys.PrefixSize]byte) int {
	w0, w1 := le.Uint64(p[:8]), le.Uint64(p[8:])
	tag, pass := tagOf(p), passBit(p)
	n := len(t.groups)
	gi := homeGroup(p, n)
	a, b := slotChoices(p)
	base := gi * cacheGroupSize
	prefetch.Two(uintptr(unsafe.Pointer(&t.slots[base+a])), uintptr(unsafe.Pointer(&t.slots[base+b])))
	for range n {
		g := &t.groups[gi]
		for m := matchTag(g.ctrl.Load(), tag); m != 0; m &= m - 1 {
			i := gi*cacheGroupSize + bits.TrailingZeros64(m)/8
			s := &t.slots[i]
			if s.w[0].Load() == w0 && s.w[1].Load() == w1 {
				return i
			}
		}
		if g.overflow.Load()&pass == 0 {
			return -1
		}
		if gi++; gi == n {
			gi = 0
		}
	}
	return -1
}

// slotChoices returns the two slots, distinct, that a prefix prefers in
// its home group: from bits 0-2 and 3-5 of prefix byte 3, which neither
// the shard, the tag, the filter nor the home group uses.
func slotChoices(p *[keys.PrefixSize]byte) (a, b int) {
	a, b = int(p[3]&7), int(p[3]>>3&7)
	if b == a {
		b = a ^ 1
	}
	return a, b
}

func (s *cacheSlot) load(e *cacheEntry) {
	for i := range 4 {
		le.PutUint64(e.digest[8*i:], s.w[i].Load())
	}
	le.PutUint64(e.id[:8], s.w[slotID].Load())
	le.PutUint64(e.id[8:], s.w[slotID+1].Load())
	e.expires = int64(s.w[slotExpires].Load())
	e.scope = uint32(s.w[slotScope].Load())
}

func (s *cacheSlot) store(e *cacheEntry) {
	for i := range 4 {
		s.w[i].Store(le.Uint64(e.digest[8*i:]))
	}
	s.w[slotID].Store(le.Uint64(e.id[:8]))
	s.w[slotID+1].Store(le.Uint64(e.id[8:]))
	s.w[slotExpires].Store(uint64(e.expires))
	s.w[slotScope].Store(uint64(e.scope))
}

func (s *cacheSlot) clear() {
	for i := range s.w {
		s.w[i].Store(0)
	}
}

// The writer's methods below need the shard's lock.

// has reports whether an entry of prefix p is cached.
func (c *keyCache) has(p *[keys.PrefixSize]byte) bool {
	t := c.tab.Load()
	return t != nil && t.find(p) >= 0
}

// put caches e with scope s, replacing the entry of the same prefix if
// there is one.
func (c *keyCache) put(e *cacheEntry, s *keyScope) {
	p := e.prefix()
	t := c.tab.Load()
	i := -1
	if t != nil {
		i = t.find(p)
	}
	// A table listing more than twice as many scopes as it has entries
	// (removes leave theirs behind) is rebuilt to drop the unused ones.
	compact := t != nil && len(t.scopeIDs) > 2*c.n+8
	if i >= 0 && !compact && t.holds(i, e, s) {
		return // nothing to change: readers need not look again
	}
	// A rebuild comes first, outside the seqlock: it publishes a whole
	// new table, and readers of either table meanwhile find what they
	// would have found before the put.
	if i < 0 && (t == nil || c.n >= t.growAt) {
		t = c.rebuild(cacheGroupsFor(c.n + 1))
	} else if compact {
		t = c.rebuild(len(t.groups))
		i = t.find(p)
	}
	c.seq.Add(1)
	defer c.seq.Add(1)
	e.scope = t.intern(s)
	if i >= 0 {
		t.slots[i].store(e)
		return
	}
	t.add(e)
	c.n++
}

// holds reports whether slot i holds e with scope s already.
func (t *cacheTable) holds(i int, e *cacheEntry, s *keyScope) bool {
	var cur cacheEntry
	var cs keyScope
	t.slots[i].load(&cur)
	if !t.scopeAt(cur.scope, &cs) || cs != *s {
		return false
	}
	cur.scope = e.scope
	return cur == *e
}

// intern returns the index of s in t's list of scopes, adding it if it is
// new.
func (t *cacheTable) intern(s *keyScope) uint32 {
	if i, ok := t.scopeIDs[*s]; ok {
		return i
	}
	var list []keyScope
	if l := t.scopes.Load(); l != nil {
		list = *l
	}
	i := uint32(len(list))
	list = append(list, *s)
	t.scopes.Store(&list)
	if t.scopeIDs == nil {
		t.scopeIDs = make(map[keyScope]uint32)
	}
	t.scopeIDs[*s] = i
	return i
}

// remove drops the entry of prefix p and reports whether there was one.
func (c *keyCache) remove(p *[keys.PrefixSize]byte) bool {
	t := c.tab.Load()
	if t == nil {
		return false
	}
	i := t.find(p)
	if i < 0 {
		return false
	}
	c.seq.Add(1)
	t.removeAt(p, i)
	c.n--
	c.seq.Add(1)
	// A shrink publishes a new table: outside the seqlock, as in put.
	if len(t.groups) > 1 && c.n*16 < len(t.slots) {
		c.rebuild(cacheGroupsFor(c.n))
	}
	return true
}

// evict drops one entry picked at random and reports whether there was
// one. Random eviction needs no bookkeeping on the hit path.
func (c *keyCache) evict() bool {
	t := c.tab.Load()
	if t == nil || c.n == 0 {
		return false
	}
	n := len(t.groups)
	gi := rand.IntN(n)
	for range n {
		if m := t.groups[gi].ctrl.Load() & msb; m != 0 {
			// The first full slot from a random one on, so that the
			// slot the last insert filled is no likelier than another.
			r := rand.IntN(cacheGroupSize)
			bi := (bits.TrailingZeros64(bits.RotateLeft64(m, -8*r))/8 + r) % cacheGroupSize
			var e cacheEntry
			t.slots[gi*cacheGroupSize+bi].load(&e)
			return c.remove(e.prefix())
		}
		if gi++; gi == n {
			gi = 0
		}
	}
	return false
}

// cacheGroupsFor returns the size of a table rebuilt for n entries: a
// load of 0.84, so a full table grows by about a ninth.
func cacheGroupsFor(n int) int { return n*100/(84*cacheGroupSize) + 1 }

func newCacheTable(groups int) *cacheTable {
	return &cacheTable{
		groups: make([]cacheGroup, groups),
		slots:  make([]cacheSlot, groups*cacheGroupSize),
		growAt: groups * cacheGroupSize * 15 / 16,
	}
}

// rebuild moves every entry to a new table of size groups, with a new list
// of the scopes they use, publishes it, and returns it. It changes neither
// table once readers may see it, so it needs no seqlock: while it copies,
// readers go on reading the old table, without waiting for it.
func (c *keyCache) rebuild(groups int) *cacheTable {
	nt := newCacheTable(groups)
	if t := c.tab.Load(); t != nil {
		var (
			e  cacheEntry
			sc keyScope
		)
		for gi := range t.groups {
			for m := t.groups[gi].ctrl.Load() & msb; m != 0; m &= m - 1 {
				t.slots[gi*cacheGroupSize+bits.TrailingZeros64(m)/8].load(&e)
				// A put interned the entry's scope in this table, so
				// it is listed. Were it not, moving the entry with
				// another scope would authenticate the key as another
				// tenant's: drop it instead, which costs a store read.
				if !t.scopeAt(e.scope, &sc) {
					c.n--
					continue
				}
				e.scope = nt.intern(&sc)
				nt.add(&e)
			}
		}
	}
	if c.beforePublish != nil {
		c.beforePublish()
	}
	c.tab.Store(nt)
	return nt
}

// add puts e, whose prefix is absent, in the first group of its probe
// sequence with an empty slot, counting it in the full groups it passes.
// In its home group it takes one of its two chosen slots if it can (see
// place). The table must have an empty slot.
func (t *cacheTable) add(e *cacheEntry) {
	p := e.prefix()
	n := len(t.groups)
	home := homeGroup(p, n)
	for gi := home; ; {
		g := &t.groups[gi]
		ctrl := g.ctrl.Load()
		if m := matchEmpty(ctrl); m != 0 {
			i := bits.TrailingZeros64(m) / 8
			if gi == home {
				i = t.place(gi, ctrl, p)
				ctrl = g.ctrl.Load()
			}
			t.slots[gi*cacheGroupSize+i].store(e)
			g.ctrl.Store(ctrl | uint64(tagOf(p))<<(8*i))
			return
		}
		g.overflow.Store((g.overflow.Load() + 1) | passBit(p))
		if gi++; gi == n {
			gi = 0
		}
	}
}

// place returns the slot of home group gi, whose tags are ctrl and which
// has an empty slot, for a new entry of prefix p: one of p's two chosen
// slots if either is empty. If both are taken, and the entry in one of
// them is at home with its other chosen slot empty, it moves there and
// the new entry takes its place, so that both find their keys in one
// read. Otherwise the first empty slot. An entry moves only within its
// group, so no overflow count changes.
func (t *cacheTable) place(gi int, ctrl uint64, p *[keys.PrefixSize]byte) int {
	empty := func(i int) bool { return uint8(ctrl>>(8*i)) == 0 }
	a, b := slotChoices(p)
	switch {
	case empty(a):
		return a
	case empty(b):
		return b
	}
	base := gi * cacheGroupSize
	for _, i := range [2]int{a, b} {
		var moved cacheEntry
		t.slots[base+i].load(&moved)
		q := moved.prefix()
		if homeGroup(q, len(t.groups)) != gi {
			continue
		}
		qa, qb := slotChoices(q)
		for _, to := range [2]int{qa, qb} {
			if to == i || !empty(to) {
				continue
			}
			t.slots[base+to].store(&moved)
			t.groups[gi].ctrl.Store(ctrl&^(0xff<<(8*i)) | uint64(tagOf(q))<<(8*to))
			return i
		}
	}
	return bits.TrailingZeros64(matchEmpty(ctrl)) / 8
}

// removeAt empties slot i, that of prefix p, and takes its entry off the
// overflow counts of the groups before it on its probe sequence.
func (t *cacheTable) removeAt(p *[keys.PrefixSize]byte, i int) {
	gi, bi := i/cacheGroupSize, i%cacheGroupSize
	g := &t.groups[gi]
	g.ctrl.Store(g.ctrl.Load() &^ (0xff << (8 * bi)))
	t.slots[i].clear()
	n := len(t.groups)
	for hi := homeGroup(p, n); hi != gi; {
		g := &t.groups[hi]
		ov := g.overflow.Load() - 1
		if overflowCount(ov) == 0 {
			ov = 0 // the last entry that passed: the filter empties too
		}
		g.overflow.Store(ov)
		if hi++; hi == n {
			hi = 0
		}
	}
}
