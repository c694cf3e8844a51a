package auth

import (
	"testing"

	"pgregory.net/rapid"
)

// TestPrefixSetModel checks prefixSet against a counting map under random
// adds and removes. The prefixes are drawn so that they collide: a few
// distinct values, many sharing their low bits (the same home slot), and
// 0, which the set stores as 1. Every step checks membership of every
// value ever drawn and the count.
func TestPrefixSetModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var s prefixSet
		model := map[uint64]int{} // occurrences, with 0 folded into 1
		gen := rapid.Custom(func(t *rapid.T) uint64 {
			low := rapid.Uint64Range(0, 3).Draw(t, "low")
			high := rapid.Uint64Range(0, 5).Draw(t, "high")
			return high<<48 | low
		})
		seen := map[uint64]bool{}
		total := 0
		for range rapid.IntRange(0, 400).Draw(t, "steps") {
			p := gen.Draw(t, "p")
			seen[p] = true
			f := foldPrefix(p)
			if rapid.Bool().Draw(t, "add") {
				s.add(p)
				model[f]++
				total++
			} else {
				got := s.remove(p)
				if want := model[f] > 0; got != want {
					t.Fatalf("remove(%#x) = %v, want %v", p, got, want)
				}
				if got {
					model[f]--
					total--
				}
			}
			if s.n != total {
				t.Fatalf("n = %d, want %d", s.n, total)
			}
			for q := range seen {
				if got, want := s.has(q), model[foldPrefix(q)] > 0; got != want {
					t.Fatalf("has(%#x) = %v, want %v", q, got, want)
				}
			}
			if len(s.slots) > 0 && 4*s.n > 3*len(s.slots) {
				t.Fatalf("load %d/%d above 3/4", s.n, len(s.slots))
			}
		}
	})
}

// TestPrefixSetGrowAndShrink fills a set far past its first table and
// empties it again.
func TestPrefixSetGrowAndShrink(t *testing.T) {
	var s prefixSet
	const n = 10_000
	for i := range uint64(n) {
		s.add(i * 0x9e3779b97f4a7c15)
	}
	for i := range uint64(n) {
		if !s.has(i * 0x9e3779b97f4a7c15) {
			t.Fatalf("lost prefix %d after growing", i)
		}
	}
	for i := range uint64(n) {
		if !s.remove(i * 0x9e3779b97f4a7c15) {
			t.Fatalf("prefix %d not removable", i)
		}
	}
	if s.n != 0 || len(s.slots) > minPrefixSlots {
		t.Fatalf("empty set holds n=%d in %d slots", s.n, len(s.slots))
	}
	if s.has(0) || s.remove(42) {
		t.Fatal("empty set claims a member")
	}
}
