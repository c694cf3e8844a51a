package storetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/streamauth/streamauth/store"
)

var scanTests = []test{
	{"EmptyStore", testScanEmptyStore},
	{"Order", testScanOrder},
	{"PrefixBounds", testScanPrefixBounds},
	{"PrefixOfFF", testScanPrefixOfFF},
	{"NoMatch", testScanNoMatch},
	{"EmptyPrefix", testScanEmptyPrefix},
	{"Values", testScanValues},
	{"FnError", testScanFnError},
	{"WritesFromFn", testScanWritesFromFn},
	{"LongPrefix", testScanLongPrefix},
}

// testScanLongPrefix checks that a prefix longer than any key can be is
// refused, and fn never called.
func testScanLongPrefix(t *testing.T, open opener) {
	s := open(t)
	err := s.Scan(context.Background(), make([]byte, store.MaxKeySize+1), func(_, _ []byte) error {
		t.Fatal("fn called for an over-long prefix")
		return nil
	})
	if !errors.Is(err, store.ErrInvalidArgument) {
		t.Fatalf("Scan with a prefix of MaxKeySize+1 bytes = %v, want ErrInvalidArgument", err)
	}
}

func testScanEmptyStore(t *testing.T, open opener) {
	s := open(t)
	for _, p := range []string{"", "a", "\xff"} {
		if got := scan(t, s, p); len(got) != 0 {
			t.Fatalf("Scan(%q) of an empty store = %q", p, got)
		}
	}
}

// testScanOrder inserts random binary keys, including the bytes 0x00 and
// 0xff, in random order, and checks that a scan returns them sorted
// bytewise.
func testScanOrder(t *testing.T, open opener) {
	s := open(t)
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte{0x00, 0x01, 'A', 'a', 'b', 0x7f, 0x80, 0xfe, 0xff}
	set := make(map[string]bool)
	var b store.Batch
	for range 600 {
		k := make([]byte, 1+rng.IntN(4))
		for i := range k {
			k[i] = alphabet[rng.IntN(len(alphabet))]
		}
		set[string(k)] = true
		b.Put(k, k)
		if b.Len() == 50 {
			commit(t, s, &b)
			b = store.Batch{}
		}
	}
	commit(t, s, &b)
	want := make([]kv, 0, len(set))
	for _, k := range slices.Sorted(maps.Keys(set)) {
		want = append(want, kv{k, k})
	}
	if got := scan(t, s, ""); !slices.Equal(got, want) {
		t.Fatalf("Scan is not in bytewise order (-got +want):\n%s", cmp.Diff(got, want))
	}
}

func testScanPrefixBounds(t *testing.T, open opener) {
	s := open(t)
	keys := []string{
		"A", "Z", "`", "a", "a\x00", "a\x00\x00", "a\x7f", "a\xff", "a\xff\xff",
		"ab", "abc", "abd", "ac", "b", "b\x00", "\x00", "\xff",
	}
	for _, k := range shuffled(keys, 3) {
		put(t, s, k, "v"+k)
	}
	cases := []struct {
		prefix string
		want   []string
	}{
		{"a", []string{"a", "a\x00", "a\x00\x00", "ab", "abc", "abd", "ac", "a\x7f", "a\xff", "a\xff\xff"}},
		{"ab", []string{"ab", "abc", "abd"}},
		{"abc", []string{"abc"}},
		{"a\x00", []string{"a\x00", "a\x00\x00"}},
		{"a\xff", []string{"a\xff", "a\xff\xff"}},
		{"b", []string{"b", "b\x00"}},
		{"\x00", []string{"\x00"}},
		{"A", []string{"A"}},
		{"`", []string{"`"}},
	}
	for _, c := range cases {
		got := scan(t, s, c.prefix)
		if !slices.Equal(keysOf(got), c.want) {
			t.Errorf("Scan(%q) keys = %q, want %q", c.prefix, keysOf(got), c.want)
		}
		for _, p := range got {
			if p.Value != "v"+p.Key {
				t.Errorf("Scan(%q): key %q has value %q, want %q", c.prefix, p.Key, p.Value, "v"+p.Key)
			}
		}
	}
}

// testScanPrefixOfFF checks prefixes made only of 0xff bytes, which have no
// exclusive upper bound (store.PrefixEnd returns nil).
func testScanPrefixOfFF(t *testing.T, open opener) {
	s := open(t)
	for _, k := range []string{"\xfe", "\xfe\xff", "\xff", "\xff\x00", "\xff\xff", "\xff\xff\x00", "\xff\xff\xff"} {
		put(t, s, k, "v")
	}
	cases := []struct {
		prefix string
		want   []string
	}{
		{"\xff", []string{"\xff", "\xff\x00", "\xff\xff", "\xff\xff\x00", "\xff\xff\xff"}},
		{"\xff\xff", []string{"\xff\xff", "\xff\xff\x00", "\xff\xff\xff"}},
		{"\xff\xff\xff", []string{"\xff\xff\xff"}},
		{"\xff\xff\xff\xff", nil},
		{"\xfe", []string{"\xfe", "\xfe\xff"}},
	}
	for _, c := range cases {
		if got := keysOf(scan(t, s, c.prefix)); !slices.Equal(got, c.want) {
			t.Errorf("Scan(%q) keys = %q, want %q", c.prefix, got, c.want)
		}
	}
}

func testScanNoMatch(t *testing.T, open opener) {
	s := open(t)
	for _, k := range []string{"a", "c", "ca"} {
		put(t, s, k, "v")
	}
	for _, p := range []string{"b", "aa", "cb", "\x00", "\xff", "A"} {
		if got := scan(t, s, p); len(got) != 0 {
			t.Errorf("Scan(%q) = %q, want nothing", p, got)
		}
	}
}

func testScanEmptyPrefix(t *testing.T, open opener) {
	s := open(t)
	keys := []string{"\x00", "a", "b\xff", "\xff\xff"}
	for _, k := range keys {
		put(t, s, k, "v")
	}
	for _, p := range [][]byte{nil, {}} {
		got, err := scanErr(s, p)
		if err != nil {
			t.Fatalf("Scan(%#v): %v", p, err)
		}
		if !slices.Equal(keysOf(got), keys) {
			t.Errorf("Scan(%#v) keys = %q, want %q", p, keysOf(got), keys)
		}
	}
}

func testScanValues(t *testing.T, open opener) {
	s := open(t)
	put(t, s, "k1", "one")
	put(t, s, "k2", "")
	put(t, s, "k3", "three")
	put(t, s, "k1", "uno")
	del(t, s, "k3")
	want := []kv{{"k1", "uno"}, {"k2", ""}}
	if got := scan(t, s, "k"); !slices.Equal(got, want) {
		t.Fatalf("Scan = %q, want %q", got, want)
	}
}

func testScanFnError(t *testing.T, open opener) {
	s := open(t)
	for _, k := range []string{"a", "b", "c", "d"} {
		put(t, s, k, "v")
	}
	errStop := errors.New("stop here")
	var seen []string
	err := s.Scan(context.Background(), nil, func(k, _ []byte) error {
		seen = append(seen, string(k))
		if string(k) == "b" {
			return fmt.Errorf("wrapped: %w", errStop)
		}
		return nil
	})
	if !errors.Is(err, errStop) {
		t.Fatalf("Scan returned %v, want the error of fn", err)
	}
	if want := []string{"a", "b"}; !slices.Equal(seen, want) {
		t.Fatalf("Scan went on after fn failed: saw %q, want %q", seen, want)
	}
}

// testScanWritesFromFn writes to the store from inside fn: the writes must
// be visible to later calls but not to the ongoing scan, which works on a
// snapshot, and nothing may deadlock.
func testScanWritesFromFn(t *testing.T, open opener) {
	s := open(t)
	for _, k := range []string{"s/1", "s/2", "s/3", "s/4"} {
		put(t, s, k, "old"+k)
	}
	done := make(chan []kv, 1)
	fail := make(chan error, 1)
	go func() {
		got, err := scanWhileWriting(s)
		if err != nil {
			fail <- err
			return
		}
		done <- got
	}()
	select {
	case got := <-done:
		want := []kv{{"s/1", "olds/1"}, {"s/2", "olds/2"}, {"s/3", "olds/3"}, {"s/4", "olds/4"}}
		if !slices.Equal(got, want) {
			t.Fatalf("a scan saw writes made during it:\ngot  %q\nwant %q", got, want)
		}
	case err := <-fail:
		t.Fatal(err)
	case <-time.After(10 * time.Second):
		t.Fatal("Scan with writes from fn did not return: deadlock")
	}
	wantValue(t, s, "s/1", "new")
	wantValue(t, s, "s/2", "olds/2")
	wantAbsent(t, s, "s/3")
	wantValue(t, s, "s/4", "new")
	wantValue(t, s, "s/5", "added")
}

// scanWhileWriting scans "s/" and, at the first key, overwrites the first
// and last keys, deletes the third, adds a fifth, and reads its own writes
// back.
func scanWhileWriting(s store.Store) ([]kv, error) {
	ctx := context.Background()
	var got []kv
	err := s.Scan(ctx, []byte("s/"), func(k, v []byte) error {
		got = append(got, kv{string(k), string(v)})
		if string(k) != "s/1" {
			return nil
		}
		var b store.Batch
		b.Put([]byte("s/1"), []byte("new")).Put([]byte("s/4"), []byte("new")).
			Delete([]byte("s/3")).Put([]byte("s/5"), []byte("added"))
		if err := s.Commit(ctx, &b); err != nil {
			return fmt.Errorf("commit from inside scan: %w", err)
		}
		v, err := s.Get(ctx, []byte("s/5"))
		if err != nil || string(v) != "added" {
			return fmt.Errorf("get from inside scan after a write = %q, %v; want %q", v, err, "added")
		}
		return nil
	})
	return got, err
}

// keysOf returns the keys of a scan.
func keysOf(pairs []kv) []string {
	var keys []string
	for _, p := range pairs {
		keys = append(keys, p.Key)
	}
	return keys
}

// shuffled returns a copy of keys in an order fixed by seed.
func shuffled(keys []string, seed uint64) []string {
	out := slices.Clone(keys)
	rng := rand.New(rand.NewPCG(seed, seed))
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}
