// Package plock provides RWMutex, a reader-writer lock for data that is
// read far more often than written, whose readers on different processors
// do not slow each other down.
//
// A sync.RWMutex keeps one count of its readers. Every RLock and RUnlock
// writes it, so on two cores reading at once the count's cache line moves
// from one core to the other on every read, and two cores read little
// faster than one. An RWMutex here is Slots reader-writer locks, each on
// cache lines of its own. A reader takes one slot's read lock: that of the
// processor it runs on, as far as Go lets a program tell, so that a slot's
// line stays in one core's cache. A writer takes every slot's write lock,
// in order. Holding any slot's read lock excludes every writer, as one
// lock would.
//
// A write costs Slots lock operations instead of one: use it where writes
// are rare next to reads.
package plock

import (
	"sync"
	"sync/atomic"
	"unsafe"
)

// Slots is the number of slots of an RWMutex. A power of two. Processors
// beyond it share slots: a reader's slot is its processor's token modulo
// Slots.
const Slots = 8

// lineSize is the span each slot takes: two 64-byte cache lines, the pair
// processors often fetch together.
const lineSize = 128

// RWMutex is a reader-writer lock whose readers take the read lock of
// their processor's slot. The zero RWMutex is unlocked. It must not be
// copied after first use.
//
// The slots are fenced off from the fields around the RWMutex by a line on
// each side, so that however it is placed, no slot shares a cache line with
// another slot or with a neighbour.
type RWMutex struct {
	_     [lineSize]byte
	slots [Slots]slot
	_     [lineSize]byte
}

type slot struct {
	sync.RWMutex
	_ [lineSize - unsafe.Sizeof(sync.RWMutex{})]byte
}

// tokens holds one slot index per processor: sync.Pool keeps a private
// item per processor, so that a reader mostly gets back the index it put
// there. A reader that finds none (the first on its processor, or after
// the garbage collector emptied the pool twice) takes the next index.
var (
	tokens    sync.Pool // of *int
	nextToken atomic.Uint32
)

// RLock takes the read lock of the calling processor's slot and returns
// that slot's lock, for the caller to RUnlock.
func (l *RWMutex) RLock() *sync.RWMutex {
	t, _ := tokens.Get().(*int)
	if t == nil {
		t = new(int)
		*t = int(nextToken.Add(1) % Slots)
	}
	m := &l.slots[*t].RWMutex
	tokens.Put(t)
	m.RLock()
	return m
}

// Lock takes every slot's write lock.
func (l *RWMutex) Lock() {
	for i := range l.slots {
		l.slots[i].Lock()
	}
}

// Unlock releases every slot's write lock.
func (l *RWMutex) Unlock() {
	for i := range l.slots {
		l.slots[i].Unlock()
	}
}
