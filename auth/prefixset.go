package auth

// prefixSet is a multiset of 64-bit digest prefixes: the index of live keys
// that lets the engine refuse an unknown secret without reading the store.
//
// It is an open-addressing table with linear probing. Each occurrence of a
// prefix takes a slot of its own, so two live keys that happen to share a
// prefix are both counted, and deleting one leaves the other. A delete
// shifts the rest of its probe run back instead of leaving a tombstone, so
// lookups never slow down with churn. Slot value 0 means empty; a prefix of
// 0 is stored as 1, which can only make a lookup answer "maybe" for a key
// that is absent (the store then decides), never "no" for one that is live.
//
// Digest prefixes are uniformly random, so the low bits of a prefix serve as
// its hash. A prefixSet is not safe for concurrent use: its shard's lock
// guards it.
type prefixSet struct {
	slots []uint64 // len is 0 or a power of two
	n     int      // occupied slots
}

// minPrefixSlots is the size of a table's first allocation.
const minPrefixSlots = 16

func foldPrefix(p uint64) uint64 {
	if p == 0 {
		return 1
	}
	return p
}

// has reports whether p occurs at least once.
func (s *prefixSet) has(p uint64) bool {
	if s.n == 0 {
		return false
	}
	p = foldPrefix(p)
	mask := uint64(len(s.slots) - 1)
	for i := p & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case p:
			return true
		case 0:
			return false
		}
	}
}

// add adds one occurrence of p.
func (s *prefixSet) add(p uint64) {
	// Keep the load at or below 3/4: linear probing degrades beyond.
	if 4*(s.n+1) > 3*len(s.slots) {
		s.resize(max(minPrefixSlots, 2*len(s.slots)))
	}
	s.put(foldPrefix(p))
	s.n++
}

// put stores a folded prefix in the first free slot of its run.
func (s *prefixSet) put(p uint64) {
	mask := uint64(len(s.slots) - 1)
	i := p & mask
	for s.slots[i] != 0 {
		i = (i + 1) & mask
	}
	s.slots[i] = p
}

// remove removes one occurrence of p and reports whether there was one.
func (s *prefixSet) remove(p uint64) bool {
	if s.n == 0 {
		return false
	}
	p = foldPrefix(p)
	mask := uint64(len(s.slots) - 1)
	i := p & mask
	for s.slots[i] != p {
		if s.slots[i] == 0 {
			return false
		}
		i = (i + 1) & mask
	}
	// Backward-shift delete: walk the run after the hole and move back
	// every entry whose home slot does not lie cyclically in (hole, j].
	for j := (i + 1) & mask; s.slots[j] != 0; j = (j + 1) & mask {
		home := s.slots[j] & mask
		if (j-home)&mask >= (j-i)&mask {
			s.slots[i] = s.slots[j]
			i = j
		}
	}
	s.slots[i] = 0
	s.n--
	if len(s.slots) > minPrefixSlots && 8*s.n < len(s.slots) {
		s.resize(len(s.slots) / 2)
	}
	return true
}

// resize rehashes every entry into a table of size slots.
func (s *prefixSet) resize(size int) {
	old := s.slots
	s.slots = make([]uint64, size)
	for _, p := range old {
		if p != 0 {
			s.put(p)
		}
	}
}
