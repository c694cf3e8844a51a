package memstore

import (
	"unsafe"

	"github.com/streamauth/streamauth/store"
)

// An entry is one key-value pair, stored as one allocation holding the key
// and the value back to back, and never modified once made: an overwrite
// makes a new entry. A reader can therefore be handed views of it (Get's
// value, Scan's key and value) that stay valid and unchanged for as long as
// it keeps them, whatever later writes do.
//
// Both the hash table and the ordered index refer to an entry through the
// same 16-byte ref: a pointer to its first byte, and a word that packs the
// lengths of key and value with 28 bits of the key's hash:
//
//	bits  0-12  key length    (0..8191; keys are at most 4 KiB)
//	bits 13-35  value length  (0..8388607; values are at most 4 MiB)
//	bits 36-63  the key's hash >> 36
//
// The lengths make the ref self-contained (no length prefix to decode); the
// hash bits let the table compare most of a hash before dereferencing an
// entry, and rehash on growth without reading any key.
type ref struct {
	p    *byte  // first byte of the key; nil for no entry
	meta uint64 // lengths and hash bits, as above
}

const (
	klenBits  = 13
	vlenBits  = 23
	hashShift = klenBits + vlenBits // 36: meta>>hashShift == hash>>hashShift
	klenMask  = 1<<klenBits - 1
	vlenMask  = 1<<vlenBits - 1
	// matchMask selects what a lookup compares before reading the key:
	// the hash bits and the key length.
	matchMask = ^uint64(1<<hashShift-1) | klenMask
)

// The limits must fit the packing; a negative constant fails to compile.
const (
	_ = uint(klenMask - store.MaxKeySize)
	_ = uint(vlenMask - store.MaxValueSize)
)

// newEntry copies key and value (key non-empty) into one new allocation and
// returns its ref; h is the key's hash.
func newEntry(key, value []byte, h uint64) ref {
	b := make([]byte, len(key)+len(value))
	copy(b, key)
	copy(b[len(key):], value)
	return ref{
		p:    &b[0],
		meta: h>>hashShift<<hashShift | uint64(len(value))<<klenBits | uint64(len(key)),
	}
}

// probeMeta is what a ref of key, with hash h, has in the bits of matchMask.
func probeMeta(key []byte, h uint64) uint64 {
	return h>>hashShift<<hashShift | uint64(len(key))
}

func (r ref) klen() int { return int(r.meta & klenMask) }
func (r ref) vlen() int { return int(r.meta >> klenBits & vlenMask) }

// bytes returns the whole entry, key then value. This is the one use of
// unsafe in the package: rebuilding the slice from the pointer that
// newEntry took of a []byte and the length it recorded, which is exactly
// that allocation (so the checkptr instrumentation of -race accepts it).
// Views of an entry must never be written to.
func (r ref) bytes() []byte {
	return unsafe.Slice(r.p, r.klen()+r.vlen())
}

// key returns a read-only view of the entry's key, capacity limited so that
// an append by the caller cannot reach the value.
func (r ref) key() []byte {
	n := r.klen()
	return r.bytes()[:n:n]
}

// value returns a read-only view of the entry's value (empty, not nil, for
// an empty value).
func (r ref) value() []byte {
	return r.bytes()[r.klen():]
}
