package storetest

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/streamauth/streamauth/store"
)

var basicTests = []test{
	{"GetMissing", testGetMissing},
	{"PutGet", testPutGet},
	{"Overwrite", testOverwrite},
	{"Delete", testDelete},
	{"DeleteAbsent", testDeleteAbsent},
	{"EmptyValue", testEmptyValue},
	{"LargeValue", testLargeValue},
	{"BinaryKeys", testBinaryKeys},
}

var limitTests = []test{
	{"MaxKeySize", testMaxKeySize},
	{"KeyTooLong", testKeyTooLong},
	{"EmptyKey", testEmptyKey},
	{"MaxValueSize", testMaxValueSize},
	{"ValueTooLong", testValueTooLong},
}

var ownershipTests = []test{
	{"PutSlicesReused", testPutSlicesReused},
	{"GetKeyReused", testGetKeyReused},
	{"GuardSlicesReused", testGuardSlicesReused},
	{"BatchReset", testBatchReset},
	{"GetResultStable", testGetResultStable},
}

func testGetMissing(t *testing.T, open opener) {
	s := open(t)
	wantAbsent(t, s, "missing")
	put(t, s, "a", "1")
	wantAbsent(t, s, "missing")
	wantAbsent(t, s, "a\x00")
	wantAbsent(t, s, "A")
}

func testPutGet(t *testing.T, open opener) {
	s := open(t)
	put(t, s, "k1", "v1")
	put(t, s, "k2", "v2")
	wantValue(t, s, "k1", "v1")
	wantValue(t, s, "k2", "v2")
}

func testOverwrite(t *testing.T, open opener) {
	s := open(t)
	put(t, s, "k", "first")
	put(t, s, "k", "second, longer")
	wantValue(t, s, "k", "second, longer")
	put(t, s, "k", "3")
	wantValue(t, s, "k", "3")
	if got := scan(t, s, ""); len(got) != 1 {
		t.Fatalf("after overwrites Scan = %v, want one key", got)
	}
}

func testDelete(t *testing.T, open opener) {
	s := open(t)
	put(t, s, "k", "v")
	put(t, s, "other", "o")
	del(t, s, "k")
	wantAbsent(t, s, "k")
	wantValue(t, s, "other", "o")
	put(t, s, "k", "again")
	wantValue(t, s, "k", "again")
}

func testDeleteAbsent(t *testing.T, open opener) {
	s := open(t)
	del(t, s, "never")
	put(t, s, "k", "v")
	del(t, s, "k")
	del(t, s, "k")
	wantAbsent(t, s, "k")
	if got := scan(t, s, ""); len(got) != 0 {
		t.Fatalf("Scan = %v, want nothing", got)
	}
}

func testEmptyValue(t *testing.T, open opener) {
	s := open(t)
	var b store.Batch
	b.Put([]byte("nil"), nil).Put([]byte("empty"), []byte{})
	commit(t, s, &b)
	for _, k := range []string{"nil", "empty"} {
		got, err := s.Get(context.Background(), []byte(k))
		if err != nil {
			t.Fatalf("Get(%q) of empty value: %v", k, err)
		}
		if len(got) != 0 {
			t.Fatalf("Get(%q) = %q, want empty", k, got)
		}
	}
	wantAbsent(t, s, "absent")
	want := []kv{{"empty", ""}, {"nil", ""}}
	if got := scan(t, s, ""); !slices.Equal(got, want) {
		t.Fatalf("Scan = %q, want %q", got, want)
	}
}

func testLargeValue(t *testing.T, open opener) {
	s := open(t)
	v := pattern(1 << 20)
	put(t, s, "big", string(v))
	wantValue(t, s, "big", string(v))
	got := scan(t, s, "big")
	if len(got) != 1 || got[0].Value != string(v) {
		t.Fatalf("Scan of 1 MiB value: got %d pairs, or a different value", len(got))
	}
}

func testBinaryKeys(t *testing.T, open opener) {
	s := open(t)
	keys := []string{"\x00", "\x00\x00", "\xff", "\xff\xff", "a\x00b", "\x80"}
	for i, k := range keys {
		put(t, s, k, string(rune('0'+i)))
	}
	for i, k := range keys {
		wantValue(t, s, k, string(rune('0'+i)))
	}
}

func testMaxKeySize(t *testing.T, open opener) {
	s := open(t)
	k := string(bytes.Repeat([]byte{'k'}, store.MaxKeySize))
	put(t, s, k, "v")
	wantValue(t, s, k, "v")
	if got := scan(t, s, "k"); len(got) != 1 || got[0].Key != k {
		t.Fatalf("Scan did not return the key of MaxKeySize bytes: %d pairs", len(got))
	}
	var b store.Batch
	b.RequireValue([]byte(k), []byte("v")).Delete([]byte(k))
	commit(t, s, &b)
	wantAbsent(t, s, k)
}

func testKeyTooLong(t *testing.T, open opener) {
	s := open(t)
	long := bytes.Repeat([]byte{'k'}, store.MaxKeySize+1)
	if _, err := s.Get(context.Background(), long); !errors.Is(err, store.ErrInvalidArgument) {
		t.Fatalf("Get of key of MaxKeySize+1 bytes: got %v, want ErrInvalidArgument", err)
	}
	batches := map[string]*store.Batch{
		"put":    new(store.Batch).Put([]byte("ok"), nil).Put(long, []byte("v")),
		"delete": new(store.Batch).Put([]byte("ok"), nil).Delete(long),
		"guard":  new(store.Batch).Put([]byte("ok"), nil).RequireAbsent(long),
	}
	for _, name := range []string{"put", "delete", "guard"} {
		err := s.Commit(context.Background(), batches[name])
		if !errors.Is(err, store.ErrInvalidArgument) {
			t.Errorf("Commit with a %s of a too long key: got %v, want ErrInvalidArgument", name, err)
		}
	}
	wantEmpty(t, s)
}

func testEmptyKey(t *testing.T, open opener) {
	s := open(t)
	for _, k := range [][]byte{nil, {}} {
		if _, err := s.Get(context.Background(), k); !errors.Is(err, store.ErrInvalidArgument) {
			t.Errorf("Get(%#v): got %v, want ErrInvalidArgument", k, err)
		}
	}
	batches := map[string]*store.Batch{
		"put nil":       new(store.Batch).Put([]byte("ok"), nil).Put(nil, []byte("v")),
		"put empty":     new(store.Batch).Put([]byte("ok"), nil).Put([]byte{}, []byte("v")),
		"delete":        new(store.Batch).Put([]byte("ok"), nil).Delete(nil),
		"guard absent":  new(store.Batch).Put([]byte("ok"), nil).RequireAbsent(nil),
		"guard present": new(store.Batch).Put([]byte("ok"), nil).RequirePresent([]byte{}),
		"guard value":   new(store.Batch).Put([]byte("ok"), nil).RequireValue(nil, nil),
		"guard only":    new(store.Batch).RequireAbsent(nil),
	}
	for _, name := range slices.Sorted(maps.Keys(batches)) {
		err := s.Commit(context.Background(), batches[name])
		if !errors.Is(err, store.ErrInvalidArgument) {
			t.Errorf("Commit with empty key (%s): got %v, want ErrInvalidArgument", name, err)
		}
	}
	wantEmpty(t, s)
}

func testMaxValueSize(t *testing.T, open opener) {
	s := open(t)
	v := pattern(store.MaxValueSize)
	put(t, s, "max", string(v))
	wantValue(t, s, "max", string(v))
}

func testValueTooLong(t *testing.T, open opener) {
	s := open(t)
	put(t, s, "keep", "old")
	var b store.Batch
	b.Put([]byte("before"), []byte("1")).
		Delete([]byte("keep")).
		Put([]byte("huge"), pattern(store.MaxValueSize+1)).
		Put([]byte("after"), []byte("2"))
	commitErr(t, s, &b, store.ErrInvalidArgument)
	wantAbsent(t, s, "before")
	wantAbsent(t, s, "huge")
	wantAbsent(t, s, "after")
	wantValue(t, s, "keep", "old")
	if got := scan(t, s, ""); len(got) != 1 {
		t.Fatalf("after a rejected batch Scan = %d pairs, want 1", len(got))
	}
}

func testPutSlicesReused(t *testing.T, open opener) {
	s := open(t)
	key, value := []byte("key1"), []byte("value1")
	var b store.Batch
	b.Put(key, value)
	commit(t, s, &b)
	copy(key, "XXXX")
	copy(value, "YYYYYY")
	wantValue(t, s, "key1", "value1")
	wantAbsent(t, s, "XXXX1")
	want := []kv{{"key1", "value1"}}
	if got := scan(t, s, ""); !slices.Equal(got, want) {
		t.Fatalf("after modifying the caller's slices Scan = %q, want %q", got, want)
	}
}

func testGetKeyReused(t *testing.T, open opener) {
	s := open(t)
	put(t, s, "key", "v")
	k := []byte("key")
	if _, err := s.Get(context.Background(), k); err != nil {
		t.Fatalf("Get: %v", err)
	}
	copy(k, "zzz")
	wantValue(t, s, "key", "v")
	wantAbsent(t, s, "zzz")
	prefix := []byte("ke")
	err := s.Scan(context.Background(), prefix, func(_, _ []byte) error {
		copy(prefix, "zz")
		return nil
	})
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	wantValue(t, s, "key", "v")
}

func testGuardSlicesReused(t *testing.T, open opener) {
	s := open(t)
	put(t, s, "g", "old")
	gk, gv := []byte("g"), []byte("old")
	var b store.Batch
	b.RequireValue(gk, gv).Put([]byte("g"), []byte("new"))
	commit(t, s, &b)
	copy(gk, "h")
	copy(gv, "new")
	wantValue(t, s, "g", "new")
	wantAbsent(t, s, "h")
}

func testBatchReset(t *testing.T, open opener) {
	s := open(t)
	buf := []byte("aaaa")
	var b store.Batch
	b.Put(buf[:2], buf[2:])
	commit(t, s, &b)
	b.Reset()
	if b.Len() != 0 {
		t.Fatalf("Len after Reset = %d, want 0", b.Len())
	}
	copy(buf, "bbbb")
	b.Put(buf[:2], buf[2:])
	commit(t, s, &b)
	want := []kv{{"aa", "aa"}, {"bb", "bb"}}
	if got := scan(t, s, ""); !slices.Equal(got, want) {
		t.Fatalf("after reusing a reset batch Scan = %q, want %q", got, want)
	}
}

func testGetResultStable(t *testing.T, open opener) {
	s := open(t)
	put(t, s, "k", "first")
	got, err := s.Get(context.Background(), []byte("k"))
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	put(t, s, "k", "other")
	del(t, s, "k")
	put(t, s, "k", "third")
	if string(got) != "first" {
		t.Fatalf("a value returned by Get changed after later writes: %q, want %q", got, "first")
	}
}

// wantEmpty checks that a scan of the whole store finds nothing.
func wantEmpty(t *testing.T, s store.Store) {
	t.Helper()
	if got := scan(t, s, ""); len(got) != 0 {
		t.Fatalf("store should be empty, Scan = %q", got)
	}
}

// pattern returns n bytes that are not all equal, so that a truncated or
// shifted copy does not compare equal.
func pattern(n int) []byte {
	v := make([]byte, n)
	for i := range v {
		v[i] = byte(i*7 + i>>8)
	}
	return v
}
