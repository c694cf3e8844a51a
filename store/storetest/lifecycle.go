package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/streamauth/streamauth/store"
)

var lifecycleTests = []test{
	{"UseAfterClose", testUseAfterClose},
	{"CloseTwice", testCloseTwice},
	{"CloseWhileInUse", testCloseWhileInUse},
}

var contextTests = []test{
	{"Canceled", func(t *testing.T, open opener) { testDoneContext(t, open, canceledContext, context.Canceled) }},
	{"DeadlineExceeded", func(t *testing.T, open opener) { testDoneContext(t, open, expiredContext, context.DeadlineExceeded) }},
}

func testUseAfterClose(t *testing.T, open opener) {
	s := open(t)
	put(t, s, "k", "v")
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := checkClosed(s); err != nil {
		t.Fatal(err)
	}
}

// checkClosed checks that Get, Scan and Commit of a closed store return
// ErrClosed.
func checkClosed(s store.Store) error {
	ctx := context.Background()
	if _, err := s.Get(ctx, []byte("k")); !errors.Is(err, store.ErrClosed) {
		return fmt.Errorf("get after close: got %v, want ErrClosed", err)
	}
	called := false
	err := s.Scan(ctx, nil, func(_, _ []byte) error {
		called = true
		return nil
	})
	if !errors.Is(err, store.ErrClosed) {
		return fmt.Errorf("scan after close: got %v, want ErrClosed", err)
	}
	if called {
		return errors.New("scan after close called fn")
	}
	batches := []*store.Batch{
		new(store.Batch).Put([]byte("k"), []byte("w")),
		new(store.Batch).Delete([]byte("k")),
		new(store.Batch).RequirePresent([]byte("k")),
	}
	for _, b := range batches {
		if err := s.Commit(ctx, b); !errors.Is(err, store.ErrClosed) {
			return fmt.Errorf("commit after close: got %v, want ErrClosed", err)
		}
	}
	return nil
}

func testCloseTwice(t *testing.T, open opener) {
	s := open(t)
	put(t, s, "k", "v")
	for i := range 3 {
		if err := s.Close(); err != nil {
			t.Fatalf("Close #%d: %v", i+1, err)
		}
	}
	if err := checkClosed(s); err != nil {
		t.Fatal(err)
	}
}

// testCloseWhileInUse closes the store while goroutines use it: they may
// see their calls succeed or fail with ErrClosed, nothing else, and once
// Close returned every call fails with ErrClosed.
func testCloseWhileInUse(t *testing.T, open opener) {
	s := open(t)
	put(t, s, "k", "0")
	started := make(chan struct{}, 3)
	workers := []func() error{
		func() error { return untilClosed(started, func() error { return usePut(s) }) },
		func() error { return untilClosed(started, func() error { return useGet(s) }) },
		func() error { return untilClosed(started, func() error { _, err := scanErr(s, nil); return err }) },
	}
	errs := make(chan error, 1)
	go func() {
		for range workers {
			<-started
		}
		time.Sleep(time.Millisecond)
		errs <- s.Close()
	}()
	parallel(t, workers)
	if err := <-errs; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := checkClosed(s); err != nil {
		t.Fatal(err)
	}
}

// untilClosed calls op until it returns ErrClosed, after signalling started
// once; any other error stops it.
func untilClosed(started chan<- struct{}, op func() error) error {
	for i := 0; ; i++ {
		err := op()
		if i == 0 {
			started <- struct{}{}
		}
		switch {
		case errors.Is(err, store.ErrClosed):
			return nil
		case err != nil:
			return fmt.Errorf("while closing: %w", err)
		}
	}
}

func usePut(s store.Store) error {
	var b store.Batch
	b.Put([]byte("k"), []byte("1")).Put([]byte("j"), []byte("1"))
	return s.Commit(context.Background(), &b)
}

func useGet(s store.Store) error {
	_, err := s.Get(context.Background(), []byte("k"))
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("get of a key never deleted: %w", err)
	}
	return err
}

func canceledContext() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

func expiredContext() context.Context {
	ctx, cancel := context.WithDeadline(context.Background(), time.Unix(1, 0))
	cancel()
	return ctx
}

// testDoneContext checks that Get, Scan and Commit with a done context
// return its error and do nothing.
func testDoneContext(t *testing.T, open opener, done func() context.Context, want error) {
	s := open(t)
	put(t, s, "k", "v")
	ctx := done()
	if _, err := s.Get(ctx, []byte("k")); !errors.Is(err, want) {
		t.Errorf("Get: got %v, want %v", err, want)
	}
	called := false
	err := s.Scan(ctx, nil, func(_, _ []byte) error {
		called = true
		return nil
	})
	if !errors.Is(err, want) {
		t.Errorf("Scan: got %v, want %v", err, want)
	}
	if called {
		t.Errorf("Scan with a done context called fn")
	}
	var b store.Batch
	b.Put([]byte("k"), []byte("w")).Put([]byte("n"), []byte("n"))
	if err := s.Commit(ctx, &b); !errors.Is(err, want) {
		t.Errorf("Commit: got %v, want %v", err, want)
	}
	if got, want := scan(t, s, ""), []kv{{"k", "v"}}; !slices.Equal(got, want) {
		t.Fatalf("a Commit with a done context wrote: Scan = %q, want %q", got, want)
	}
}
