package memstore

import (
	"bytes"
	"encoding/binary"
	"slices"
)

// index is the ordered index of the store for Scan: pointers to every
// entry, in increasing key order, kept as a sorted list of sorted chunks (a
// two-level B-tree). It points to the same entries as the table, so keys
// are stored once, in the entries.
//
// Chunks hold at most chunkMax entries. A full chunk splits in two before
// an insert; a chunk that falls under chunkMax/4 merges with a neighbour
// when the two fit in 3/4 of a chunk, and an empty chunk goes. Every
// chunk's array has fewer than 2×chunkStep spare places, growing and
// shrinking by that step (128 bytes, a size class of its own at every
// multiple up to 1152 bytes), so the index costs about 9 bytes per entry.
//
// Each chunk also keeps the first 8 bytes of its first key as a big-endian
// number: the search for a key's chunk compares those without reading any
// entry, but on a tie. Within a chunk, the binary search reads an entry at
// each step, and that dominates the cost of an insert at scale. 128
// entries per chunk was the fastest to build 3M entries of random keys
// (ns/entry for chunks of 64, 128, 256, 512: 2827, 1758, 2078, 2385, with
// the 16-byte references of an earlier layout): smaller chunks move more
// of the chunk list on splits (32 bytes per chunk, 1 MiB at 3M entries),
// larger ones more pointers within the chunk (under GC, with write
// barriers) and read more entries per search.
type index struct {
	chunks []chunk // every chunk non-empty; keys increase across chunks
}

type chunk struct {
	first uint64 // prefix8 of refs[0]'s key
	refs  []*entry
}

const (
	chunkMax  = 128
	chunkStep = 16
)

// prefix8 is the first 8 bytes of k, zero-padded, as a big-endian number.
// prefix8(a) < prefix8(b) implies a < b; equal prefixes decide nothing.
func prefix8(k []byte) uint64 {
	if len(k) >= 8 {
		return binary.BigEndian.Uint64(k)
	}
	var b [8]byte
	copy(b[:], k)
	return binary.BigEndian.Uint64(b[:])
}

// cmpFirst compares the first key of c with k, whose prefix8 is kp.
func (c *chunk) cmpFirst(k []byte, kp uint64) int {
	switch {
	case c.first < kp:
		return -1
	case c.first > kp:
		return 1
	}
	return bytes.Compare(c.refs[0].key(), k)
}

// chunkFor returns the index of the chunk where k belongs: the last chunk
// whose first key is <= k, or 0. The index must not be empty.
func (x *index) chunkFor(k []byte) int {
	kp := prefix8(k)
	lo, hi := 0, len(x.chunks)
	for lo < hi { // find the first chunk whose first key is > k
		mid := int(uint(lo+hi) >> 1)
		if x.chunks[mid].cmpFirst(k, kp) <= 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return max(lo-1, 0)
}

// search returns the position of the first entry of refs whose key is >= k,
// and whether that key is k.
func search(refs []*entry, k []byte) (int, bool) {
	lo, hi := 0, len(refs)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if bytes.Compare(refs[mid].key(), k) < 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, lo < len(refs) && bytes.Equal(refs[lo].key(), k)
}

// locate returns the chunk and position where k is or belongs.
func (x *index) locate(k []byte) (ci, i int, found bool) {
	ci = x.chunkFor(k)
	i, found = search(x.chunks[ci].refs, k)
	return ci, i, found
}

// resized returns a copy of refs with room for n entries or more, rounded
// up to a multiple of chunkStep.
func resized(refs []*entry, n int) []*entry {
	n = (n + chunkStep - 1) / chunkStep * chunkStep
	return append(make([]*entry, 0, n), refs...)
}

// insert adds r, whose key must be absent.
func (x *index) insert(r *entry) {
	k := r.key()
	if len(x.chunks) == 0 {
		x.chunks = []chunk{{first: prefix8(k), refs: append(resized(nil, 1), r)}}
		return
	}
	ci, i, _ := x.locate(k)
	if len(x.chunks[ci].refs) == chunkMax {
		x.split(ci)
		if half := chunkMax / 2; i > half {
			ci, i = ci+1, i-half
		}
	}
	c := &x.chunks[ci]
	if len(c.refs) == cap(c.refs) {
		c.refs = resized(c.refs, len(c.refs)+1)
	}
	c.refs = slices.Insert(c.refs, i, r)
	if i == 0 {
		c.first = prefix8(k)
	}
}

// split cuts chunk ci, which is full, into two halves, each in an array of
// its own.
func (x *index) split(ci int) {
	refs := x.chunks[ci].refs
	half := len(refs) / 2
	right := resized(refs[half:], len(refs)-half+1)
	x.chunks[ci].refs = resized(refs[:half], half+1)
	x.chunks = slices.Insert(x.chunks, ci+1, chunk{first: prefix8(right[0].key()), refs: right})
}

// replace swaps the entry of a key present in the index for r, a newer
// entry of the same key.
func (x *index) replace(r *entry) {
	ci, i, found := x.locate(r.key())
	if !found {
		panic("memstore: index out of step with the table")
	}
	x.chunks[ci].refs[i] = r
}

// remove deletes the entry of k, which must be present.
func (x *index) remove(k []byte) {
	ci, i, found := x.locate(k)
	if !found {
		panic("memstore: index out of step with the table")
	}
	c := &x.chunks[ci]
	c.refs = slices.Delete(c.refs, i, i+1) // clears the vacated place
	switch n := len(c.refs); {
	case n == 0:
		x.chunks = slices.Delete(x.chunks, ci, ci+1)
		return
	case n < chunkMax/4 && x.merge(ci):
		return
	case cap(c.refs)-n >= 2*chunkStep:
		c.refs = resized(c.refs, n+1)
	}
	if i == 0 {
		c.first = prefix8(c.refs[0].key())
	}
}

// merge joins chunk ci with its right or left neighbour if the two fit in
// 3/4 of a chunk, and reports whether it did.
func (x *index) merge(ci int) bool {
	for _, left := range [2]int{ci, ci - 1} {
		if left < 0 || left+1 >= len(x.chunks) {
			continue
		}
		a, b := x.chunks[left].refs, x.chunks[left+1].refs
		if len(a)+len(b) > chunkMax*3/4 {
			continue
		}
		joined := append(resized(a, len(a)+len(b)+1), b...)
		x.chunks[left] = chunk{first: prefix8(joined[0].key()), refs: joined}
		x.chunks = slices.Delete(x.chunks, left+1, left+2)
		return true
	}
	return false
}

// ascend calls fn for every entry whose key starts with prefix, in order,
// until fn returns false.
func (x *index) ascend(prefix []byte, fn func(*entry) bool) {
	if len(x.chunks) == 0 {
		return
	}
	ci, i, _ := x.locate(prefix)
	for ; ci < len(x.chunks); ci, i = ci+1, 0 {
		for _, r := range x.chunks[ci].refs[i:] {
			if !bytes.HasPrefix(r.key(), prefix) || !fn(r) {
				return
			}
		}
	}
}
