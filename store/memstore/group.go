package memstore

import (
	"math/bits"
	"sync/atomic"
)

// A group is 7 slots of a hash table with their control bytes, an overflow
// count and filter, laid out in 128 bytes: one word of control bytes, the 7
// refs (16 bytes each), the count and the filter. The allocator places an
// array of 256 groups or more (32 KiB: every table of a store past about
// 1,300 entries) at a page boundary, so each of its groups is exactly
// two adjacent cache lines, a pair that x86 CPUs prefetch together.
// (Arrays of 5 to 255 groups start 8 bytes past a multiple of 128, after
// the allocator's header; such small tables stay in cache anyway.)
//
// Each slot's control byte says whether the slot is empty, or holds the
// low 7 bits of its key's hash (its tag). The control word is matched
// against a tag for all slots at once (SWAR), so a lookup dereferences an
// entry only for a slot whose tag, and then stored hash bits and key
// length, match. The eighth control byte has no slot: it is always
// ctrlNone, which no match reports.
//
// overflow counts the entries that wanted a slot in this group, found it
// full, and went on to a later group (the "outbound overflow" of Facebook's
// F14 tables); passed is a one-word Bloom filter of their tags (bit tag%32
// set for each). A lookup that does not find its key in a group whose
// filter lacks the key's bit stops there, whether the group is full or
// not: at 3M entries 30% of the groups have overflowed, but a miss reads
// 1.09 groups on average. A deletion decrements the counts along its
// entry's probe path, and clears a filter whose count falls to 0 (a
// rebuild clears the other stale bits), so no tombstones are needed.
//
// Readers take no lock (memstore.go): every field a lookup reads, the
// control word, the slots and the filter, is read and written atomically,
// and a lookup that saw a commit's writes finds out from the store's
// sequence number and looks again. overflow is read only by writers.
type group struct {
	ctrl     atomic.Uint64 // control byte of slot i in bits 8i..8i+7
	slots    [groupSize]slot
	overflow uint32        // entries that went past this group
	passed   atomic.Uint32 // Bloom filter of their tags; 0 if overflow is 0
}

// A slot holds one ref, as two words written one after the other. A
// writer (holding the store's lock) reads a consistent ref; a lookup may
// read the pointer of one ref and the word of another while a commit is
// under way, so it must not follow the pointer before it has checked that
// no commit began (see find).
type slot struct {
	p    atomic.Pointer[byte]
	meta atomic.Uint64
}

func (s *slot) load() ref { return ref{p: s.p.Load(), meta: s.meta.Load()} }

func (s *slot) store(r ref) {
	s.p.Store(r.p)
	s.meta.Store(r.meta)
}

// passBit is the bit of a tag in a group's passed filter.
func passBit(tag uint8) uint32 { return 1 << (tag & 31) }

// groupSize is the number of slots of a group.
const groupSize = 7

// Control bytes. A full slot's is its tag, 0x00-0x7f. The SWAR matches
// below rely on these exact encodings.
const (
	ctrlEmpty = 0x80
	ctrlNone  = 0xfe               // the eighth byte
	allEmpty  = 0xfe80808080808080 // a new group: 7 empty slots
	lsbs      = 0x0101010101010101
	msbs      = 0x8080808080808080
	slotMSBs  = msbs >> 8 // the top bits of the 7 slots
)

// tagOf is the 7-bit tag of a hash; the table and group come from other
// bits.
func tagOf(h uint64) uint8 { return uint8(h & 0x7f) }

// slotset is a set of slots of a group: bit 8i+7 for slot i.
type slotset uint64

func (s slotset) first() int            { return bits.TrailingZeros64(uint64(s)) >> 3 }
func (s slotset) withoutFirst() slotset { return s & (s - 1) }

// matchTag returns the full slots whose tag may be tag: every slot with
// that tag, and rarely a full slot just above one (the borrow of the
// zero-byte trick); the caller checks each slot's ref anyway. Empty slots
// and the eighth byte never match, their top bit being set.
func matchTag(ctrl uint64, tag uint8) slotset {
	v := ctrl ^ lsbs*uint64(tag)
	return slotset((v - lsbs) &^ v & msbs)
}

// matchEmpty returns the empty slots.
func matchEmpty(ctrl uint64) slotset { return slotset(ctrl & slotMSBs) }

// matchFull returns the full slots.
func matchFull(ctrl uint64) slotset { return slotset(^ctrl & msbs) }

func (g *group) ctrlAt(i int) uint8 { return uint8(g.ctrl.Load() >> (8 * i)) }

// setCtrl sets the control byte of slot i; only a writer may call it.
func (g *group) setCtrl(i int, c uint8) {
	g.ctrl.Store(g.ctrl.Load()&^(0xff<<(8*i)) | uint64(c)<<(8*i))
}
