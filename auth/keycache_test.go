package auth

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"testing"

	"pgregory.net/rapid"

	"github.com/streamauth/streamauth/keys"
)

// drawCacheEntry draws an entry whose prefix collides often with others:
// its tag byte (1) and its group bytes (8-15) come from small sets, so
// groups overflow and probe sequences cross. Byte 0 (the shard's) is
// free; it plays no part inside one keyCache.
func drawCacheEntry(t *rapid.T) cacheEntry {
	var e cacheEntry
	b := rapid.SliceOfN(rapid.Byte(), keys.DigestSize, keys.DigestSize).Draw(t, "digest")
	copy(e.digest[:], b)
	e.digest[1] = rapid.ByteRange(0, 3).Draw(t, "tag")
	for i := 8; i < 16; i++ {
		e.digest[i] = 0
	}
	e.digest[15] = rapid.ByteRange(0, 15).Draw(t, "group")
	copy(e.id[:], rapid.SliceOfN(rapid.Byte(), keys.UUIDSize, keys.UUIDSize).Draw(t, "id"))
	e.expires = rapid.Int64().Draw(t, "expires")
	e.scope = rapid.Uint32().Draw(t, "scope")
	return e
}

func prefixOf(e *cacheEntry) *[keys.PrefixSize]byte {
	return (*[keys.PrefixSize]byte)(e.digest[:keys.PrefixSize])
}

// digestOfEntry returns e's digest as a keys.Digest (a 32-byte slice
// always converts).
func digestOfEntry(e *cacheEntry) keys.Digest {
	d, _ := keys.DigestFromBytes(e.digest[:])
	return d
}

// TestKeyCacheModel runs random puts, removes, evictions and lookups
// against a map, and after each step checks every entry, the entry count
// and every group's overflow count.
func TestKeyCacheModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var c keyCache
		model := make(map[[keys.PrefixSize]byte]cacheEntry)
		pick := func(t *rapid.T) cacheEntry {
			if len(model) > 0 && rapid.Bool().Draw(t, "existing") {
				ps := make([][keys.PrefixSize]byte, 0, len(model))
				for p := range model {
					ps = append(ps, p)
				}
				sortPrefixes(ps)
				return model[rapid.SampledFrom(ps).Draw(t, "prefix")]
			}
			return drawCacheEntry(t)
		}
		t.Repeat(map[string]func(*rapid.T){
			"put": func(t *rapid.T) {
				e := drawCacheEntry(t)
				c.put(&e)
				model[*prefixOf(&e)] = e
			},
			"replace": func(t *rapid.T) {
				e := pick(t)
				e.digest[31] ^= 1 // same prefix, another digest
				e.expires++
				c.put(&e)
				model[*prefixOf(&e)] = e
			},
			"remove": func(t *rapid.T) {
				e := pick(t)
				_, want := model[*prefixOf(&e)]
				if got := c.remove(prefixOf(&e)); got != want {
					t.Fatalf("remove = %v, want %v", got, want)
				}
				delete(model, *prefixOf(&e))
			},
			"evict": func(t *rapid.T) {
				before := c.n
				if got := c.evict(); got != (before > 0) {
					t.Fatalf("evict of a cache of %d = %v", before, got)
				}
				for p := range model {
					if !c.has(&p) {
						delete(model, p)
					}
				}
			},
			"get": func(t *rapid.T) {
				e := pick(t)
				if rapid.Bool().Draw(t, "other digest") {
					e.digest[16+rapid.IntRange(0, 15).Draw(t, "byte")] ^= 0x40
				}
				d := digestOfEntry(&e)
				var got cacheEntry
				m, inModel := model[*prefixOf(&e)]
				want := inModel && m.digest == e.digest
				if hit := c.get(&d, &got); hit != want {
					t.Fatalf("get = %v, want %v", hit, want)
				}
				if want && got != m {
					t.Fatalf("get returned %+v, want %+v", got, m)
				}
			},
			"": func(t *rapid.T) { checkKeyCache(t, &c, model) },
		})
	})
}

func sortPrefixes(ps [][keys.PrefixSize]byte) {
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && string(ps[j][:]) < string(ps[j-1][:]); j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}

// checkKeyCache checks that c holds exactly model: every entry found with
// its fields, no other, and each group's overflow count equal to the
// number of entries whose probe passed it.
func checkKeyCache(t *rapid.T, c *keyCache, model map[[keys.PrefixSize]byte]cacheEntry) {
	if c.n != len(model) {
		t.Fatalf("n = %d, model holds %d", c.n, len(model))
	}
	tab := c.tab.Load()
	if tab == nil {
		if len(model) > 0 {
			t.Fatalf("no table, model holds %d", len(model))
		}
		return
	}
	if len(tab.slots) != len(tab.groups)*cacheGroupSize {
		t.Fatalf("%d slots for %d groups", len(tab.slots), len(tab.groups))
	}
	if c.n > tab.growAt {
		t.Fatalf("%d entries past the growth point %d", c.n, tab.growAt)
	}
	n := len(tab.groups)
	overflow := make([]uint64, n)
	full := 0
	for gi := range tab.groups {
		ctrl := tab.groups[gi].ctrl.Load()
		for bi := range cacheGroupSize {
			b := uint8(ctrl >> (8 * bi))
			if b == 0 {
				continue
			}
			full++
			var e cacheEntry
			tab.slots[gi*cacheGroupSize+bi].load(&e)
			p := prefixOf(&e)
			if b != tagOf(p) {
				t.Fatalf("slot %d/%d: tag %#x, want %#x", gi, bi, b, tagOf(p))
			}
			if m, ok := model[*p]; !ok || m != e {
				t.Fatalf("slot %d/%d holds %+v, model %+v (%v)", gi, bi, e, m, ok)
			}
			for hi := homeGroup(p, n); hi != gi; hi = (hi + 1) % n {
				overflow[hi]++
			}
		}
	}
	if full != len(model) {
		t.Fatalf("%d full slots, model holds %d", full, len(model))
	}
	for gi := range tab.groups {
		if got := tab.groups[gi].overflow.Load(); got != overflow[gi] {
			t.Fatalf("group %d: overflow %d, want %d", gi, got, overflow[gi])
		}
	}
	for p, m := range model {
		d := digestOfEntry(&m)
		var got cacheEntry
		if !c.get(&d, &got) || got != m {
			t.Fatalf("entry of prefix %x: get = %+v", p, got)
		}
	}
}

// TestKeyCacheGrowsAndShrinks fills a cache far past its first table and
// empties it again, checking the table's load on the way.
func TestKeyCacheGrowsAndShrinks(t *testing.T) {
	var c keyCache
	const n = 20_000
	es := make([]cacheEntry, n)
	for i := range es {
		es[i] = testCacheEntry(uint64(i))
		c.put(&es[i])
		tab := c.tab.Load()
		if c.n > tab.growAt || tab.growAt >= len(tab.slots) {
			t.Fatalf("after %d puts: %d entries, growAt %d, %d slots", i+1, c.n, tab.growAt, len(tab.slots))
		}
	}
	if load := float64(c.n) / float64(len(c.tab.Load().slots)); load < 0.5 {
		t.Errorf("load %.2f after growing to %d entries", load, n)
	}
	for i := range es {
		if !c.remove(prefixOf(&es[i])) {
			t.Fatalf("remove %d: not found", i)
		}
		if c.n > 0 && c.n*16 < len(c.tab.Load().slots) {
			t.Fatalf("after %d removes: %d entries in %d slots", i+1, c.n, len(c.tab.Load().slots))
		}
	}
	if got := len(c.tab.Load().groups); got != 1 {
		t.Errorf("empty cache keeps %d groups", got)
	}
}

// testCacheEntry returns an entry made from i, spread over the groups as
// random prefixes are.
func testCacheEntry(i uint64) cacheEntry {
	var e cacheEntry
	x := i*0x9e3779b97f4a7c15 + 1
	for w := range 4 {
		x ^= x >> 29
		x *= 0xbf58476d1ce4e5b9
		le.PutUint64(e.digest[8*w:], x+uint64(w))
	}
	le.PutUint64(e.id[:], i)
	e.expires = int64(i)
	e.scope = uint32(i)
	return e
}

// TestKeyCacheConcurrent runs lock-free lookups while a writer churns the
// cache through growths and shrinks: a lookup of a key that stays cached
// returns exactly that key or, rarely, a miss; one of a key never cached
// never hits. Under the race detector it also shows that readers and the
// writer share no plain memory.
func TestKeyCacheConcurrent(t *testing.T) {
	var (
		c      keyCache
		mu     sync.Mutex // the shard lock, for the writer
		stable = make([]cacheEntry, 64)
		absent = make([]cacheEntry, 64)
	)
	for i := range stable {
		stable[i] = testCacheEntry(uint64(i))
		absent[i] = testCacheEntry(uint64(1<<40 + i))
		c.put(&stable[i])
	}
	var (
		stop         atomic.Bool
		hits, misses atomic.Int64
		wg           sync.WaitGroup
	)
	for r := range 2 {
		wg.Go(func() {
			var got cacheEntry
			for i := 0; !stop.Load(); i++ {
				e := &stable[(i+r)%len(stable)]
				d := digestOfEntry(e)
				if c.get(&d, &got) {
					if got != *e {
						t.Errorf("lookup of %d returned another entry", i%len(stable))
						return
					}
					hits.Add(1)
				} else {
					misses.Add(1)
				}
				a := &absent[i%len(absent)]
				da := digestOfEntry(a)
				if c.get(&da, &got) {
					t.Errorf("lookup of an absent key hit")
					return
				}
			}
		})
	}
	churn := 3000
	if testing.Short() {
		churn = 500
	}
	for round := range 4 {
		base := uint64(1<<20 + round*churn)
		for i := range churn {
			e := testCacheEntry(base + uint64(i))
			mu.Lock()
			c.put(&e)
			mu.Unlock()
		}
		for i := range churn {
			e := testCacheEntry(base + uint64(i))
			mu.Lock()
			c.remove(prefixOf(&e))
			mu.Unlock()
		}
	}
	stop.Store(true)
	wg.Wait()
	if hits.Load() == 0 {
		t.Errorf("no lookup hit (%d misses)", misses.Load())
	}
	t.Logf("%d hits, %d misses under churn", hits.Load(), misses.Load())
}

// TestKeyScopesIntern: interning gives each distinct scope one index, in
// order, and at gives it back.
func TestKeyScopesIntern(t *testing.T) {
	var ks keyScopes
	if _, ok := ks.at(0); ok {
		t.Fatal("an empty table knows index 0")
	}
	scopes := make([]keyScope, 40)
	for i := range scopes {
		scopes[i].account[0] = byte(i)
		scopes[i].kind = uint8(i % 3)
	}
	for round := range 2 {
		for i, s := range scopes {
			if got := ks.intern(s); got != uint32(i) {
				t.Fatalf("round %d: intern of scope %d = %d", round, i, got)
			}
		}
	}
	for i, s := range scopes {
		if got, ok := ks.at(uint32(i)); !ok || *got != s {
			t.Fatalf("at(%d) = %+v, %v", i, got, ok)
		}
	}
	if _, ok := ks.at(uint32(len(scopes))); ok {
		t.Fatal("at past the end succeeded")
	}
}

// TestMatchTag: matchTag finds every byte equal to the tag, and reports
// no empty byte.
func TestMatchTag(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var ctrl uint64
		for i := range cacheGroupSize {
			if rapid.Bool().Draw(t, "full") {
				ctrl |= uint64(0x80|rapid.ByteRange(0, 3).Draw(t, "tag")) << (8 * i)
			}
		}
		tag := 0x80 | rapid.ByteRange(0, 3).Draw(t, "want")
		m := matchTag(ctrl, tag)
		for i := range cacheGroupSize {
			b := uint8(ctrl >> (8 * i))
			got := m>>(8*i+7)&1 == 1
			if b == tag && !got {
				t.Fatalf("ctrl %#x tag %#x: byte %d missed", ctrl, tag, i)
			}
			if b == 0 && got {
				t.Fatalf("ctrl %#x tag %#x: empty byte %d matched", ctrl, tag, i)
			}
		}
		if e := matchEmpty(ctrl); bits.OnesCount64(e) != cacheGroupSize-bits.OnesCount64(ctrl&msb) {
			t.Fatalf("ctrl %#x: matchEmpty %#x", ctrl, e)
		}
	})
}
