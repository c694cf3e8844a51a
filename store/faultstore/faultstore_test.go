package faultstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/streamauth/streamauth/store"
	"github.com/streamauth/streamauth/store/faultstore"
	"github.com/streamauth/streamauth/store/memstore"
	"github.com/streamauth/streamauth/store/storetest"
)

func TestFaultConformanceNeverFails(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return faultstore.New(memstore.New(), faultstore.FailNth(-1))
	})
}

func put(k, v string) *store.Batch {
	var b store.Batch
	return b.Put([]byte(k), []byte(v))
}

func TestFaultNth(t *testing.T) {
	ctx := context.Background()
	inner := memstore.New()
	defer inner.Close()
	s := faultstore.New(inner, faultstore.FailNth(1))

	if err := s.Commit(ctx, put("a", "1")); err != nil { // call 0
		t.Fatalf("call 0: %v", err)
	}
	err := s.Commit(ctx, put("b", "2")) // call 1: fails
	if !errors.Is(err, faultstore.ErrInjected) {
		t.Fatalf("call 1: got %v, want ErrInjected", err)
	}
	// The failed commit wrote nothing.
	if _, err := inner.Get(ctx, []byte("b")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("failed commit reached the inner store: %v", err)
	}
	// Only call 1 fails: later calls pass.
	if v, err := s.Get(ctx, []byte("a")); err != nil || string(v) != "1" { // call 2
		t.Fatalf("call 2: %q, %v", v, err)
	}
	n := 0
	if err := s.Scan(ctx, nil, func(_, _ []byte) error { n++; return nil }); err != nil || n != 1 { // call 3
		t.Fatalf("call 3: %d keys, %v", n, err)
	}
	if got := s.Calls(); got != 4 {
		t.Fatalf("Calls() = %d, want 4", got)
	}
	if got := s.Failures(); got != 1 {
		t.Fatalf("Failures() = %d, want 1", got)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := s.Calls(); got != 4 {
		t.Fatalf("Close was counted: Calls() = %d", got)
	}
}

func TestFaultNthEachKind(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		call func(s store.Store) error
	}{
		{"get", func(s store.Store) error { _, err := s.Get(ctx, []byte("a")); return err }},
		{"scan", func(s store.Store) error {
			return s.Scan(ctx, nil, func(_, _ []byte) error { t.Error("fn called on a failed scan"); return nil })
		}},
		{"commit", func(s store.Store) error { return s.Commit(ctx, put("a", "1")) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inner := memstore.New()
			defer inner.Close()
			if err := inner.Commit(ctx, put("z", "0")); err != nil {
				t.Fatal(err)
			}
			s := faultstore.New(inner, faultstore.FailNth(0))
			if err := tc.call(s); !errors.Is(err, faultstore.ErrInjected) {
				t.Fatalf("got %v, want ErrInjected", err)
			}
			if _, err := inner.Get(ctx, []byte("a")); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("inner store changed: %v", err)
			}
		})
	}
}

func TestFaultProbability(t *testing.T) {
	ctx := context.Background()
	const calls = 10000
	run := func(p float64, seed uint64) []bool {
		inner := memstore.New()
		defer inner.Close()
		s := faultstore.New(inner, faultstore.FailProbability(p, seed))
		out := make([]bool, calls)
		for i := range out {
			_, err := s.Get(ctx, []byte("k"))
			switch {
			case errors.Is(err, faultstore.ErrInjected):
				out[i] = true
			case !errors.Is(err, store.ErrNotFound):
				t.Fatalf("call %d: %v", i, err)
			}
		}
		if s.Calls() != calls {
			t.Fatalf("Calls() = %d, want %d", s.Calls(), calls)
		}
		return out
	}
	count := func(fs []bool) (n int) {
		for _, f := range fs {
			if f {
				n++
			}
		}
		return n
	}

	a, b := run(0.1, 42), run(0.1, 42)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed, different outcome at call %d", i)
		}
	}
	if n := count(a); n < 800 || n > 1200 {
		t.Fatalf("p=0.1 failed %d of %d calls", n, calls)
	}
	c := run(0.1, 43)
	same := true
	for i := range a {
		same = same && a[i] == c[i]
	}
	if same {
		t.Fatal("seeds 42 and 43 gave the same failures")
	}
	if n := count(run(0, 1)); n != 0 {
		t.Fatalf("p=0 failed %d calls", n)
	}
	if n := count(run(1, 1)); n != calls {
		t.Fatalf("p=1 failed %d of %d calls", n, calls)
	}
}
