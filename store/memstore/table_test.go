package memstore

import (
	"bytes"
	"fmt"
	"hash/maphash"
	"maps"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"unsafe"
)

// TestSizes checks the layout that the package's cost model rests on.
func TestSizes(t *testing.T) {
	if headerSize != 8 {
		t.Errorf("an entry header is %d bytes, want 8", headerSize)
	}
	if s := unsafe.Sizeof(group{}); s != 64 {
		t.Errorf("a group is %d bytes, want 64", s)
	}
}

// TestEntryLayout checks that an entry's header, key and value read back
// what newEntry was given, that its views cannot be appended into each
// other, and that its allocation is the smallest that holds them.
func TestEntryLayout(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for _, kl := range []int{1, 7, 8, 9, 17, 33, 4096} {
		for _, vl := range []int{0, 1, 7, 8, 39, 95, 111, 1 << 20} {
			key, value := make([]byte, kl), make([]byte, vl)
			for i := range key {
				key[i] = byte(rng.Uint32())
			}
			for i := range value {
				value[i] = byte(rng.Uint32())
			}
			h := rng.Uint64()
			e := newEntry(key, value, h)
			if e.klen() != kl || e.vlen() != vl || e.meta>>hashShift != h>>hashShift {
				t.Fatalf("key %d, value %d bytes, hash %#x: header %#x", kl, vl, h, e.meta)
			}
			if e.meta&matchMask != probeMeta(key, h) {
				t.Fatalf("key %d bytes: header %#x does not match probe %#x", kl, e.meta, probeMeta(key, h))
			}
			if !bytes.Equal(e.key(), key) || !bytes.Equal(e.value(), value) {
				t.Fatalf("key %d, value %d bytes: views differ from the input", kl, vl)
			}
			if cap(e.key()) != kl || e.value() == nil || cap(e.value()) != vl {
				t.Fatalf("key %d, value %d bytes: views of capacity %d and %d", kl, vl, cap(e.key()), cap(e.value()))
			}
		}
	}
	// The engine's hot record, 17-byte key and 95-byte value, fits the
	// 128-byte size class with its header.
	key, value := make([]byte, 17), make([]byte, 95)
	if got := testing.AllocsPerRun(100, func() { newEntry(key, value, 0) }); got != 1 {
		t.Fatalf("newEntry made %v allocations, want 1", got)
	}
	var before, after runtime.MemStats
	keep := make([]*entry, 1000)
	runtime.ReadMemStats(&before)
	for i := range keep {
		keep[i] = newEntry(key, value, 0)
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / 1000; per != 128 {
		t.Fatalf("an entry of a 17-byte key and a 95-byte value takes %d bytes, want 128", per)
	}
	runtime.KeepAlive(keep)
}

// TestMatch checks the SWAR matches of a control word against a plain loop
// over its bytes, for random words of valid control bytes.
func TestMatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for range 100000 {
		var ctrl uint64
		var tags [groupSize]int // -1 for empty
		for i := range groupSize {
			tags[i] = -1
			c := uint64(ctrlEmpty)
			if rng.IntN(3) > 0 {
				// Few distinct tags, so that equal neighbours are common.
				tags[i] = rng.IntN(4) * 0x21
				c = uint64(tags[i])
			}
			ctrl |= c << (8 * i)
		}
		// The filter's byte: any filter, the top bit set.
		ctrl |= filterTop | uint64(rng.IntN(128))<<filterShift
		tag := uint8(rng.IntN(4) * 0x21)
		var tagged, empty, full slotset
		for i, tg := range tags {
			bit := slotset(0x80) << (8 * i)
			switch {
			case tg < 0:
				empty |= bit
			default:
				full |= bit
				if tg == int(tag) {
					tagged |= bit
				}
			}
		}
		if got := matchEmpty(ctrl); got != empty {
			t.Fatalf("matchEmpty(%#x) = %#x, want %#x", ctrl, got, empty)
		}
		if got := matchFull(ctrl); got != full {
			t.Fatalf("matchFull(%#x) = %#x, want %#x", ctrl, got, full)
		}
		// matchTag may also report full slots just above a match.
		got := matchTag(ctrl, tag)
		if got&tagged != tagged || got&^full != 0 {
			t.Fatalf("matchTag(%#x, %#x) = %#x, want all of %#x within %#x", ctrl, tag, got, tagged, full)
		}
		if extra := got &^ tagged; extra != 0 && (tagged == 0 || extra&-extra < tagged&-tagged) {
			t.Fatalf("matchTag(%#x, %#x) = %#x: a false match below the first true one", ctrl, tag, got)
		}
	}
}

// hashFuncs are the hash functions of TestHashTableModel: the real one, and
// degraded ones that make the rare cases common.
var hashFuncs = map[string]func(seed maphash.Seed, key []byte) uint64{
	"maphash": hashKey,
	// Every key has the same tag: every full slot matches it, and the
	// stored hash bits and key length must tell them apart.
	"one tag": func(seed maphash.Seed, key []byte) uint64 {
		return hashKey(seed, key)&^0x7f | 0x2a
	},
	// Keys start probing at only 16 groups of a table, so that long
	// overflow chains form, and cross each other; the top bits still split
	// tables.
	"few groups": func(seed maphash.Seed, key []byte) uint64 {
		return hashKey(seed, key) &^ ((1<<(startBits-4) - 1) << hashShift)
	},
	// The bits above the start bits are 0: a full table cannot split
	// (either half would be empty) and must grow past maxGroups.
	"no top bits": func(seed maphash.Seed, key []byte) uint64 {
		return hashKey(seed, key) & (1<<(hashShift+startBits) - 1)
	},
	// 16 hashes in all: equal hashes are the rule, only the key bytes
	// decide, and tables can barely split.
	"16 hashes": func(seed maphash.Seed, key []byte) uint64 {
		return hashKey(seed, []byte{key[0] & 15})
	},
}

// TestHashTableModel drives a hashTable through growth, churn and
// shrinking with random keys, against a map, under each hash function,
// checking its invariants as it goes.
func TestHashTableModel(t *testing.T) {
	for _, name := range slices.Sorted(maps.Keys(hashFuncs)) {
		t.Run(name, func(t *testing.T) {
			n := 20000
			switch name {
			case "16 hashes":
				n = 3000 // every probe walks a long chain
			}
			testHashTable(t, hashFuncs[name], n)
		})
	}
}

func testHashTable(t *testing.T, hf func(maphash.Seed, []byte) uint64, n int) {
	rng := rand.New(rand.NewPCG(2, 2))
	seed := maphash.MakeSeed()
	var m hashTable
	model := make(map[string]string)
	pool := make([]string, n)
	for i := range pool {
		k := make([]byte, 1+rng.IntN(24))
		for j := range k {
			k[j] = byte(rng.IntN(256))
		}
		pool[i] = fmt.Sprintf("%s%d", k, i) // distinct
	}
	put := func(k, v string) {
		h := hf(seed, []byte(k))
		e := newEntry([]byte(k), []byte(v), h)
		if tb, gi, i, ok := m.find([]byte(k), h); ok {
			tb.groups[gi].slots[i].Store(e)
		} else {
			m.insert(e, h)
		}
		model[k] = v
	}
	del := func(k string) {
		h := hf(seed, []byte(k))
		if tb, gi, i, ok := m.find([]byte(k), h); ok {
			m.remove(tb, gi, i, h)
		}
		delete(model, k)
	}
	// Phases: grow to most of the pool, churn, shrink, regrow, drain to a
	// few (so that tables shrink).
	phases := []struct {
		name   string
		ops    int
		putPct int
	}{{"grow", 2 * n, 85}, {"churn", n, 50}, {"shrink", 3 * n, 10}, {"regrow", n, 90}, {"drain", 4 * n, 3}}
	for _, ph := range phases {
		for op := range ph.ops {
			k := pool[rng.IntN(len(pool))]
			if rng.IntN(100) < ph.putPct {
				put(k, fmt.Sprint(op))
			} else {
				del(k)
			}
			if op%(n/4) == 0 {
				checkHashTable(t, &m, func(k []byte) uint64 { return hf(seed, k) }, model, pool)
			}
		}
		checkHashTable(t, &m, func(k []byte) uint64 { return hf(seed, k) }, model, pool)
		t.Logf("after %s: %d entries, depth %d", ph.name, m.used, m.depth)
	}
	for k := range maps.Clone(model) {
		del(k)
	}
	checkHashTable(t, &m, func(k []byte) uint64 { return hf(seed, k) }, model, pool)
	for _, e := range m.dir {
		if len(e.groups) != 1 {
			t.Fatalf("empty table of %d groups: did not shrink", len(e.groups))
		}
	}
}

// checkHashTable checks m against model and its own invariants: the
// directory's shape, each table's counts, control bytes, stored hash bits,
// overflow counts and filters. absent keys of pool must not be found.
func checkHashTable(t *testing.T, m *hashTable, hf func([]byte) uint64, model map[string]string, pool []string) {
	t.Helper()
	if m.used != len(model) {
		t.Fatalf("used = %d, want %d", m.used, len(model))
	}
	for _, k := range pool {
		r, ok := m.get([]byte(k), hf([]byte(k)))
		v, want := model[k]
		if ok != want || ok && string(r.value()) != v {
			t.Fatalf("get(%q) = %q, %v; want %q, %v", k, r.value(), ok, v, want)
		}
		if lr, lok := m.lookup([]byte(k), hf([]byte(k))); lok != ok || lr != r {
			t.Fatalf("lookup(%q) in the published directory = %v, %v; get says %v, %v", k, lr, lok, r, ok)
		}
	}
	d := m.pub.Load()
	if m.dir == nil {
		if d != nil {
			t.Fatalf("empty table publishes a directory of %d entries", len(d.entries))
		}
		return
	}
	if d == nil || d.depth != m.depth || len(d.entries) != len(m.dir) || &d.entries[0] == &m.dir[0] {
		t.Fatal("the published directory is not a copy of the directory")
	}
	for i, e := range m.dir {
		if p := d.entries[i]; p.t != e.t || len(p.groups) != len(e.groups) || &p.groups[0] != &e.groups[0] {
			t.Fatalf("published directory entry %d is not the directory's", i)
		}
	}
	if len(m.dir) != 1<<m.depth {
		t.Fatalf("directory of %d entries at depth %d", len(m.dir), m.depth)
	}
	used := 0
	for d := 0; d < len(m.dir); {
		tb := m.dir[d].t
		width := 1 << (m.depth - tb.depth)
		if d%width != 0 {
			t.Fatalf("table of depth %d at directory entry %d", tb.depth, d)
		}
		for _, e := range m.dir[d : d+width] {
			if e.t != tb || len(e.groups) != len(tb.groups) || &e.groups[0] != &tb.groups[0] {
				t.Fatalf("directory entries %d-%d do not all point to one table", d, d+width-1)
			}
		}
		checkTable(t, tb, hf, model, uint64(d>>(m.depth-tb.depth)))
		used += tb.used
		d += width
	}
	if used != m.used {
		t.Fatalf("tables hold %d entries, directory counts %d", used, m.used)
	}
}

// checkTable checks one table, whose keys' top tb.depth hash bits are
// prefix.
func checkTable(t *testing.T, tb *table, hf func([]byte) uint64, model map[string]string, prefix uint64) {
	t.Helper()
	size := len(tb.groups)
	if size == 0 || tb.growAt != growAt(size) || tb.used > tb.growAt {
		t.Fatalf("table of %d groups, growAt %d, used %d", size, tb.growAt, tb.used)
	}
	if len(tb.overflow) != size {
		t.Fatalf("table of %d groups has %d overflow counts", size, len(tb.overflow))
	}
	overflow := make([]uint32, size)
	passed := make([]uint64, size)
	full := 0
	for gi := range tb.groups {
		g := &tb.groups[gi]
		if g.ctrlAt(groupSize)&0x80 == 0 {
			t.Fatalf("group %d: filter byte %#x without its top bit", gi, g.ctrlAt(groupSize))
		}
		for i := range g.slots {
			r, c := g.slots[i].Load(), g.ctrlAt(i)
			if c == ctrlEmpty {
				if r != nil {
					t.Fatalf("group %d slot %d: empty but holds an entry", gi, i)
				}
				continue
			}
			full++
			k := r.key()
			h := hf(k)
			switch {
			case c >= 0x80 || c != tagOf(h):
				t.Fatalf("key %q: control byte %#x, tag %#x", k, c, tagOf(h))
			case r.meta>>hashShift != h>>hashShift || r.klen() != len(k):
				t.Fatalf("key %q: header %#x for hash %#x", k, r.meta, h)
			case model[string(k)] != string(r.value()):
				t.Fatalf("key %q holds %q, want %q", k, r.value(), model[string(k)])
			case tb.depth > 0 && h>>(64-tb.depth) != prefix:
				t.Fatalf("key %q of hash %#x in the table of prefix %#x/%d", k, h, prefix, tb.depth)
			}
			p := probeOf(h, tb.groups)
			for steps := 0; p.gi != uint64(gi); p.next() {
				overflow[p.gi]++
				passed[p.gi] |= passBit(c)
				if steps++; steps > size {
					t.Fatalf("key %q not on its probe sequence", k)
				}
			}
		}
	}
	if full != tb.used {
		t.Fatalf("table has %d full slots, counts %d", full, tb.used)
	}
	for gi := range tb.groups {
		f, n := tb.groups[gi].ctrl.Load()&filterBits, tb.overflow[gi]
		if n != overflow[gi] || f&passed[gi] != passed[gi] || n == 0 && f != 0 {
			t.Fatalf("group %d: overflow %d, filter %#x; want %d, a superset of %#x",
				gi, n, f, overflow[gi], passed[gi])
		}
	}
}
