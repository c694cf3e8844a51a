package memstore

import (
	"math/bits"
	"sync/atomic"
)

// A group is 7 slots of a hash table and their control word, in 64 bytes:
// one cache line. An array of more than 512 groups (over 32 KiB: every
// table past about 2,900 entries, which takes in every table of a large
// store) is a large object to the allocator, which starts it at a page
// boundary, so each of its groups is exactly one line. (A smaller array of
// more than 8 groups holds pointers and is over 512 bytes, so the
// allocator puts an 8-byte header before it, and each group straddles two
// lines; such small tables stay in cache anyway.)
//
// The control word holds a control byte per slot, in bytes 0-6, and the
// group's overflow filter in byte 7. A slot's control byte says whether
// the slot is empty, or holds the low 7 bits of its key's hash (its tag).
// The word is matched against a tag for all slots at once (SWAR), so a
// lookup reads an entry only for a slot whose tag matches, and compares
// its key only if the hash bits and key length in the entry's header
// match too.
//
// The filter is for the entries that wanted a slot in this group, found it
// full, and went on to a later group (the "outbound overflow" of Facebook's
// F14 tables): bit tag%7 is set for each, and the top bit is always set,
// so that no match ever reports byte 7. A lookup that does not find its
// key in a group whose filter lacks the key's bit stops there, whether the
// group is full or not. The number of such entries, which a deletion needs
// to know when it may clear the filter, is kept apart (table.overflow),
// since lookups never read it: a deletion decrements the counts along its
// entry's probe path and clears a filter whose count falls to 0 (a
// rebuild clears the other stale bits), so no tombstones are needed.
//
// Readers take no lock (memstore.go): the control word and the slots are
// read and written atomically, a slot holds a plain pointer to an entry
// that never changes, and a lookup that saw a commit's writes finds out
// from the store's sequence number and looks again.
type group struct {
	ctrl  atomic.Uint64 // control byte of slot i in bits 8i..8i+7; the filter in bits 56-63
	slots [groupSize]atomic.Pointer[entry]
}

// groupSize is the number of slots of a group.
const groupSize = 7

// Control bytes. A full slot's is its tag, 0x00-0x7f. The SWAR matches
// below rely on these exact encodings.
const (
	ctrlEmpty   = 0x80
	filterShift = 8 * groupSize       // the filter's byte
	filterTop   = 0x80 << filterShift // always set: byte 7 never matches
	filterBits  = 0x7f << filterShift // the filter proper
	allEmpty    = 0x8080808080808080  // a new group: 7 empty slots, an empty filter
	lsbs        = 0x0101010101010101
	msbs        = 0x8080808080808080
	slotMSBs    = msbs &^ filterTop // the top bits of the 7 slots
)

// passBit is the bit of a tag in a control word's filter.
func passBit(tag uint8) uint64 { return 1 << (filterShift + uint(tag%7)) }

// tagOf is the 7-bit tag of a hash; the table and group come from other
// bits.
func tagOf(h uint64) uint8 { return uint8(h & 0x7f) }

// slotset is a set of slots of a group: bit 8i+7 for slot i.
type slotset uint64

func (s slotset) first() int            { return bits.TrailingZeros64(uint64(s)) >> 3 }
func (s slotset) withoutFirst() slotset { return s & (s - 1) }

// matchTag returns the full slots whose tag may be tag: every slot with
// that tag, and rarely a full slot just above one (the borrow of the
// zero-byte trick); the caller checks each slot's entry anyway. Empty
// slots and the filter's byte never match, their top bit being set.
func matchTag(ctrl uint64, tag uint8) slotset {
	v := ctrl ^ lsbs*uint64(tag)
	return slotset((v - lsbs) &^ v & msbs)
}

// matchEmpty returns the empty slots.
func matchEmpty(ctrl uint64) slotset { return slotset(ctrl & slotMSBs) }

// matchFull returns the full slots.
func matchFull(ctrl uint64) slotset { return slotset(^ctrl & msbs) }

func (g *group) ctrlAt(i int) uint8 { return uint8(g.ctrl.Load() >> (8 * i)) }

// The writer's methods below need the store's lock.

// setCtrl sets the control byte of slot i.
func (g *group) setCtrl(i int, c uint8) {
	g.ctrl.Store(g.ctrl.Load()&^(0xff<<(8*i)) | uint64(c)<<(8*i))
}

// pass adds tag to the filter.
func (g *group) pass(tag uint8) { g.ctrl.Store(g.ctrl.Load() | passBit(tag)) }

// clearFilter empties the filter.
func (g *group) clearFilter() { g.ctrl.Store(g.ctrl.Load() &^ filterBits) }
