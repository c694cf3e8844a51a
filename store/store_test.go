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
