package memstore

import (
	"unsafe"

	"github.com/streamauth/streamauth/store"
)

// An entry is one key-value pair, stored as one allocation: a header word,
// then the key, then the value. It is never modified once made (an
// overwrite makes a new entry), so a reader can be handed views of it
// (Get's value, Scan's key and value) that stay valid and unchanged for as
// long as it keeps them, whatever later writes do.
//
// Both the hash table and the ordered index refer to an entry by a plain
// pointer, 8 bytes: everything else a lookup needs is in the header, on
// the same cache line as the key's first bytes. The header packs the
// lengths of key and value with 28 bits of the key's hash:
//
//	bits  0-12  key length    (1..8191; keys are at most 4 KiB)
//	bits 13-35  value length  (0..8388607; values are at most 4 MiB)
//	bits 36-63  the key's hash >> 36
//
// The lengths make the entry self-describing; the hash bits let a lookup
// reject most entries whose tag matched by chance after reading the
// header alone, and let the table rehash on growth without hashing any
// key again.
//
// The allocation is a []uint64, so that the header is aligned whatever the
// lengths, and holds no pointer, so that the garbage collector never scans
// it.
type entry struct {
	meta uint64 // the header; the key and the value follow it
}

// headerSize is the size of an entry's header.
const headerSize = int(unsafe.Sizeof(entry{}))

const (
	klenBits  = 13
	vlenBits  = 23
	hashShift = klenBits + vlenBits // 36: meta>>hashShift == hash>>hashShift
	klenMask  = 1<<klenBits - 1
	vlenMask  = 1<<vlenBits - 1
	// matchMask selects what a lookup compares before it compares keys:
	// the hash bits and the key length.
	matchMask = ^uint64(1<<hashShift-1) | klenMask
)

// The limits must fit the packing; a negative constant fails to compile.
const (
	_ = uint(klenMask - store.MaxKeySize)
	_ = uint(vlenMask - store.MaxValueSize)
)

// newEntry copies key and value (key non-empty) into one new allocation
// behind a header; h is the key's hash.
func newEntry(key, value []byte, h uint64) *entry {
	n := headerSize + len(key) + len(value)
	words := make([]uint64, (n+7)/8)
	words[0] = h>>hashShift<<hashShift | uint64(len(value))<<klenBits | uint64(len(key))
	e := (*entry)(unsafe.Pointer(&words[0]))
	b := e.bytes()
	copy(b, key)
	copy(b[len(key):], value)
	return e
}

// probeMeta is what the header of an entry of key, with hash h, has in the
// bits of matchMask.
func probeMeta(key []byte, h uint64) uint64 {
	return h>>hashShift<<hashShift | uint64(len(key))
}

func (e *entry) klen() int { return int(e.meta & klenMask) }
func (e *entry) vlen() int { return int(e.meta >> klenBits & vlenMask) }

// bytes returns the key and the value, back to back. This is the package's
// one use of unsafe besides newEntry's: the bytes after the header, as
// many as the header says, all inside the allocation newEntry made (so
// the checkptr instrumentation of -race accepts it). Views of an entry
// must never be written to, but by newEntry.
func (e *entry) bytes() []byte {
	return unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(e), headerSize)), e.klen()+e.vlen())
}

// key returns a read-only view of the entry's key, capacity limited so that
// an append by the caller cannot reach the value.
func (e *entry) key() []byte {
	n := e.klen()
	return e.bytes()[:n:n]
}

// value returns a read-only view of the entry's value (empty, not nil, for
// an empty value).
func (e *entry) value() []byte {
	return e.bytes()[e.klen():]
}
