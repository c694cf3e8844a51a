package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/streamauth/streamauth/store"
)

var commitTests = []test{
	{"Guards", testGuards},
	{"OneFailingGuardOfMany", testOneFailingGuardOfMany},
	{"GuardsSeeStateBeforeBatch", testGuardsSeeStateBeforeBatch},
	{"LaterOpWins", testLaterOpWins},
	{"EmptyBatch", testEmptyBatch},
	{"ManyOps", testManyOps},
}

// guardCase is a guard checked against a store holding "k" = "v" and
// "e" = "" (an empty value).
type guardCase struct {
	name  string
	guard func(b *store.Batch)
	holds bool
}

var guardCases = []guardCase{
	{"AbsentOfAbsent", func(b *store.Batch) { b.RequireAbsent([]byte("x")) }, true},
	{"AbsentOfPresent", func(b *store.Batch) { b.RequireAbsent([]byte("k")) }, false},
	{"AbsentOfEmptyValue", func(b *store.Batch) { b.RequireAbsent([]byte("e")) }, false},
	{"AbsentOfPrefixOfKey", func(b *store.Batch) { b.RequireAbsent([]byte("k\x00")) }, true},
	{"PresentOfPresent", func(b *store.Batch) { b.RequirePresent([]byte("k")) }, true},
	{"PresentOfEmptyValue", func(b *store.Batch) { b.RequirePresent([]byte("e")) }, true},
	{"PresentOfAbsent", func(b *store.Batch) { b.RequirePresent([]byte("x")) }, false},
	{"ValueEqual", func(b *store.Batch) { b.RequireValue([]byte("k"), []byte("v")) }, true},
	{"ValueDifferent", func(b *store.Batch) { b.RequireValue([]byte("k"), []byte("w")) }, false},
	{"ValueLonger", func(b *store.Batch) { b.RequireValue([]byte("k"), []byte("v\x00")) }, false},
	{"ValueEmptyOfNonEmpty", func(b *store.Batch) { b.RequireValue([]byte("k"), nil) }, false},
	{"ValueOfAbsent", func(b *store.Batch) { b.RequireValue([]byte("x"), []byte("v")) }, false},
	{"EmptyValueOfAbsent", func(b *store.Batch) { b.RequireValue([]byte("x"), nil) }, false},
	{"EmptyValueOfEmpty", func(b *store.Batch) { b.RequireValue([]byte("e"), []byte{}) }, true},
	{"NilValueOfEmpty", func(b *store.Batch) { b.RequireValue([]byte("e"), nil) }, true},
	{"ValueOfEmpty", func(b *store.Batch) { b.RequireValue([]byte("e"), []byte("v")) }, false},
}

// testGuards commits, under each guard, a batch that adds a key, overwrites
// one and deletes another: all of it must happen if the guard holds, none of
// it (and ErrConflict) if it does not.
func testGuards(t *testing.T, open opener) {
	for _, c := range guardCases {
		t.Run(c.name, func(t *testing.T) {
			s := open(t)
			put(t, s, "k", "v")
			put(t, s, "e", "")
			put(t, s, "gone", "soon")
			before := scan(t, s, "")
			var b store.Batch
			b.Put([]byte("new"), []byte("n")).Put([]byte("k"), []byte("v2")).Delete([]byte("gone"))
			c.guard(&b)
			if !c.holds {
				commitErr(t, s, &b, store.ErrConflict)
				if got := scan(t, s, ""); !slices.Equal(got, before) {
					t.Fatalf("a batch with a failed guard wrote: Scan = %q, want %q", got, before)
				}
				return
			}
			commit(t, s, &b)
			want := []kv{{"e", ""}, {"k", "v2"}, {"new", "n"}}
			if got := scan(t, s, ""); !slices.Equal(got, want) {
				t.Fatalf("after a guarded batch Scan = %q, want %q", got, want)
			}
		})
	}
}

func testOneFailingGuardOfMany(t *testing.T, open opener) {
	s := open(t)
	put(t, s, "a", "1")
	put(t, s, "b", "2")
	var b store.Batch
	b.RequirePresent([]byte("a")).
		RequireValue([]byte("a"), []byte("1")).
		RequireAbsent([]byte("c")).
		RequireValue([]byte("b"), []byte("3")).
		RequirePresent([]byte("b"))
	b.Put([]byte("a"), []byte("changed")).Delete([]byte("b")).Put([]byte("c"), []byte("3"))
	commitErr(t, s, &b, store.ErrConflict)
	want := []kv{{"a", "1"}, {"b", "2"}}
	if got := scan(t, s, ""); !slices.Equal(got, want) {
		t.Fatalf("a batch with one failed guard of many wrote: Scan = %q, want %q", got, want)
	}
}

// testGuardsSeeStateBeforeBatch checks that guards are checked against the
// state before the batch, not after its own writes.
func testGuardsSeeStateBeforeBatch(t *testing.T, open opener) {
	s := open(t)
	var b store.Batch
	b.Put([]byte("k"), []byte("v")).RequireAbsent([]byte("k"))
	commit(t, s, &b)
	wantValue(t, s, "k", "v")

	b = store.Batch{}
	b.Delete([]byte("k")).RequireValue([]byte("k"), []byte("v"))
	commit(t, s, &b)
	wantAbsent(t, s, "k")

	b = store.Batch{}
	b.Put([]byte("k"), []byte("v")).RequirePresent([]byte("k"))
	commitErr(t, s, &b, store.ErrConflict)
	wantAbsent(t, s, "k")

	put(t, s, "k", "v")
	b = store.Batch{}
	b.Put([]byte("k"), []byte("w")).RequireValue([]byte("k"), []byte("w"))
	commitErr(t, s, &b, store.ErrConflict)
	wantValue(t, s, "k", "v")
}

func testLaterOpWins(t *testing.T, open opener) {
	s := open(t)
	put(t, s, "present", "p")
	var b store.Batch
	b.Put([]byte("pd"), []byte("1")).Delete([]byte("pd"))
	b.Delete([]byte("dp")).Put([]byte("dp"), []byte("2"))
	b.Put([]byte("pp"), []byte("first")).Put([]byte("pp"), []byte("second"))
	b.Delete([]byte("present")).Put([]byte("present"), []byte("again")).Delete([]byte("present"))
	b.Put([]byte("pdp"), []byte("a")).Delete([]byte("pdp")).Put([]byte("pdp"), []byte("b"))
	commit(t, s, &b)
	wantAbsent(t, s, "pd")
	wantAbsent(t, s, "present")
	wantValue(t, s, "dp", "2")
	wantValue(t, s, "pp", "second")
	wantValue(t, s, "pdp", "b")
	want := []kv{{"dp", "2"}, {"pdp", "b"}, {"pp", "second"}}
	if got := scan(t, s, ""); !slices.Equal(got, want) {
		t.Fatalf("Scan = %q, want %q", got, want)
	}
}

func testEmptyBatch(t *testing.T, open opener) {
	s := open(t)
	var b store.Batch
	commit(t, s, &b)
	put(t, s, "k", "v")
	commit(t, s, new(store.Batch).RequirePresent([]byte("k")))
	commit(t, s, new(store.Batch).RequireValue([]byte("k"), []byte("v")))
	commit(t, s, new(store.Batch).RequireAbsent([]byte("x")))
	commitErr(t, s, new(store.Batch).RequireAbsent([]byte("k")), store.ErrConflict)
	commitErr(t, s, new(store.Batch).RequirePresent([]byte("x")), store.ErrConflict)
	commitErr(t, s, new(store.Batch).RequireValue([]byte("k"), []byte("w")), store.ErrConflict)
	want := []kv{{"k", "v"}}
	if got := scan(t, s, ""); !slices.Equal(got, want) {
		t.Fatalf("Scan = %q, want %q", got, want)
	}
}

// testManyOps commits one batch of a thousand puts, then one that deletes
// every other key, guarded on a key it deletes.
func testManyOps(t *testing.T, open opener) {
	s := open(t)
	var b store.Batch
	var want []kv
	for i := range 1000 {
		k := fmtKey(i)
		b.Put([]byte(k), []byte(k))
		if i%2 == 1 {
			want = append(want, kv{k, k})
		}
	}
	commit(t, s, &b)
	b = store.Batch{}
	b.RequireValue([]byte(fmtKey(0)), []byte(fmtKey(0)))
	for i := 0; i < 1000; i += 2 {
		b.Delete([]byte(fmtKey(i)))
	}
	commit(t, s, &b)
	if got := scan(t, s, "m/"); !slices.Equal(got, want) {
		t.Fatalf("after deleting every other key, Scan has %d pairs, want %d", len(got), len(want))
	}
}

// fmtKey returns a key under "m/" whose order follows i.
func fmtKey(i int) string {
	return fmt.Sprintf("m/%04d", i)
}
