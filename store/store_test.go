package store_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/streamauth/streamauth/store"
)

func TestPrefixEnd(t *testing.T) {
	for _, tc := range []struct{ in, want []byte }{
		{nil, nil},
		{[]byte{}, nil},
		{[]byte("a"), []byte("b")},
		{[]byte("a\xff"), []byte("b")},
		{[]byte("ab\xff\xff"), []byte("ac")},
		{[]byte("\xff\xff"), nil},
		{[]byte{0}, []byte{1}},
	} {
		in := append([]byte(nil), tc.in...)
		got := store.PrefixEnd(in)
		if !bytes.Equal(got, tc.want) || (got == nil) != (tc.want == nil) {
			t.Errorf("PrefixEnd(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if !bytes.Equal(in, tc.in) {
			t.Errorf("PrefixEnd modified its argument %q", tc.in)
		}
	}
}

func TestBatchValidate(t *testing.T) {
	long := make([]byte, store.MaxKeySize+1)
	for name, b := range map[string]*store.Batch{
		"empty put key":     new(store.Batch).Put(nil, []byte("v")),
		"empty delete key":  new(store.Batch).Delete([]byte{}),
		"long key":          new(store.Batch).Put(long, nil),
		"long guard key":    new(store.Batch).RequireAbsent(long),
		"empty guard key":   new(store.Batch).RequireValue(nil, nil),
		"long value":        new(store.Batch).Put([]byte("k"), make([]byte, store.MaxValueSize+1)),
		"bad after good op": new(store.Batch).Put([]byte("k"), nil).Delete(nil),
	} {
		if err := b.Validate(); !errors.Is(err, store.ErrInvalidArgument) {
			t.Errorf("%s: Validate = %v, want ErrInvalidArgument", name, err)
		}
	}
	var b store.Batch
	b.Put([]byte("k"), make([]byte, store.MaxValueSize)).Delete(make([]byte, store.MaxKeySize)).RequirePresent([]byte("x"))
	if err := b.Validate(); err != nil {
		t.Errorf("Validate of a batch at the limits = %v", err)
	}
	if b.Len() != 2 || len(b.Guards()) != 1 {
		t.Errorf("Len = %d, guards = %d; want 2, 1", b.Len(), len(b.Guards()))
	}
	b.Reset()
	if b.Len() != 0 || len(b.Guards()) != 0 || b.Validate() != nil {
		t.Error("Reset did not empty the batch")
	}
}

// TestBatchGrow: Grow makes room without adding or changing operations.
func TestBatchGrow(t *testing.T) {
	var b store.Batch
	b.Put([]byte("a"), []byte("1"))
	b.Grow(100)
	if b.Len() != 1 || cap(b.Ops()) < 101 {
		t.Fatalf("after Grow(100): %d ops, room for %d, want 1 and at least 101", b.Len(), cap(b.Ops()))
	}
	b.Delete([]byte("b"))
	if ops := b.Ops(); len(ops) != 2 || string(ops[0].Key) != "a" || ops[1].Kind != store.OpDelete {
		t.Fatalf("ops after Grow: %+v", ops)
	}
}
