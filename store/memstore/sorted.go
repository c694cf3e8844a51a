package memstore

import (
	"slices"
	"strings"
)

// chunkMax is the most keys a chunk holds before it splits. Chunks keep
// inserts and deletes to a short copy while costing one string header per
// key, about a tenth of a balanced tree's per-node overhead.
const chunkMax = 512

// sortedKeys is an ordered set of strings kept as a sorted list of sorted
// chunks: a two-level B-tree. Every chunk is non-empty; the chunks' keys
// are in increasing order across chunks.
type sortedKeys struct {
	chunks [][]string
}

// chunkFor returns the index of the chunk where k belongs: the last chunk
// whose first key is <= k, or 0.
func (s *sortedKeys) chunkFor(k string) int {
	i, _ := slices.BinarySearchFunc(s.chunks, k, func(c []string, k string) int {
		return strings.Compare(c[0], k)
	})
	// i is the first chunk whose first key is >= k.
	if i < len(s.chunks) && s.chunks[i][0] == k {
		return i
	}
	if i > 0 {
		return i - 1
	}
	return 0
}

// insert adds k, which must not be present.
func (s *sortedKeys) insert(k string) {
	if len(s.chunks) == 0 {
		s.chunks = append(s.chunks, []string{k})
		return
	}
	ci := s.chunkFor(k)
	c := s.chunks[ci]
	i, _ := slices.BinarySearch(c, k)
	c = slices.Insert(c, i, k)
	if len(c) <= chunkMax {
		s.chunks[ci] = c
		return
	}
	// Split in two; each half gets its own backing array so that later
	// inserts into one never overwrite the other.
	half := len(c) / 2
	left := append(make([]string, 0, chunkMax/2+chunkMax/4), c[:half]...)
	right := append(make([]string, 0, chunkMax/2+chunkMax/4), c[half:]...)
	s.chunks[ci] = left
	s.chunks = slices.Insert(s.chunks, ci+1, right)
}

// remove deletes k, which must be present.
func (s *sortedKeys) remove(k string) {
	ci := s.chunkFor(k)
	c := s.chunks[ci]
	i, found := slices.BinarySearch(c, k)
	if !found {
		return
	}
	c = slices.Delete(c, i, i+1)
	if len(c) == 0 {
		s.chunks = slices.Delete(s.chunks, ci, ci+1)
		return
	}
	s.chunks[ci] = c
}

// ascend calls fn for every key that starts with prefix, in order, until fn
// returns false.
func (s *sortedKeys) ascend(prefix string, fn func(string) bool) {
	if len(s.chunks) == 0 {
		return
	}
	ci := s.chunkFor(prefix)
	i, _ := slices.BinarySearch(s.chunks[ci], prefix)
	for ; ci < len(s.chunks); ci, i = ci+1, 0 {
		for _, k := range s.chunks[ci][i:] {
			if !strings.HasPrefix(k, prefix) || !fn(k) {
				return
			}
		}
	}
}
