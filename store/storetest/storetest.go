// Package storetest is the conformance suite of [store.Store]: every backend
// runs it, so that they all honour the same contract and package auth can
// rely on it whatever the backend.
//
// A backend hooks itself to the suite with one test:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			s, err := pebblestore.Open(t.TempDir())
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s
//		})
//	}
//
// newStore must return a fresh, empty store each time it is called. The suite
// closes every store it opens, and checks that Close returns nil; newStore
// may register further cleanup (removing a directory) with t.Cleanup.
//
// The suite covers point reads and writes, the key and value limits, slice
// ownership, ordered prefix scans over a snapshot, atomic guarded commits,
// concurrent use, Close and context cancellation, and a property test that
// compares random sequences of batches with a map model. It is correct under
// the race detector and takes a few seconds at most on an in-memory backend.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/streamauth/streamauth/store"
)

// opener returns a fresh, empty store that is closed when t ends.
type opener func(t *testing.T) store.Store

// group is one named part of the suite: a set of subtests.
type group struct {
	name  string
	tests []test
}

// test is one subtest of a group.
type test struct {
	name string
	fn   func(t *testing.T, open opener)
}

// Run runs the conformance suite against the stores made by newStore, each
// subtest with a fresh store.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	open := func(t *testing.T) store.Store {
		t.Helper()
		s := newStore(t)
		if s == nil {
			t.Fatal("newStore returned nil")
		}
		t.Cleanup(func() { closeInTime(t, s) })
		return s
	}
	groups := []group{
		{"Basic", basicTests},
		{"Limits", limitTests},
		{"Ownership", ownershipTests},
		{"Scan", scanTests},
		{"Commit", commitTests},
		{"Concurrency", concurrencyTests},
		{"Lifecycle", lifecycleTests},
		{"Context", contextTests},
		{"Properties", propertyTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
			}
		})
	}
}

// closeTimeout bounds how long the suite waits for Close, so that a store
// left locked by a deadlocked call fails its test instead of hanging the
// whole suite.
const closeTimeout = 10 * time.Second

// closeInTime closes s and checks that Close returns nil in time.
func closeInTime(t *testing.T, s store.Store) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(closeTimeout):
		t.Errorf("Close did not return within %v: is a call still holding the store?", closeTimeout)
	}
}

// kv is one key-value pair as seen by a scan, copied out of the store.
type kv struct {
	Key, Value string
}

// put commits a single put and fails the test if it does not succeed.
func put(t *testing.T, s store.Store, key, value string) {
	t.Helper()
	var b store.Batch
	b.Put([]byte(key), []byte(value))
	commit(t, s, &b)
}

// del commits a single delete and fails the test if it does not succeed.
func del(t *testing.T, s store.Store, key string) {
	t.Helper()
	var b store.Batch
	b.Delete([]byte(key))
	commit(t, s, &b)
}

// commit commits b and fails the test if it does not succeed.
func commit(t *testing.T, s store.Store, b *store.Batch) {
	t.Helper()
	if err := s.Commit(context.Background(), b); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

// commitErr commits b and checks that it fails with want.
func commitErr(t *testing.T, s store.Store, b *store.Batch, want error) {
	t.Helper()
	err := s.Commit(context.Background(), b)
	if !errors.Is(err, want) {
		t.Fatalf("Commit: got error %v, want %v", err, want)
	}
}

// wantValue checks that key holds exactly want.
func wantValue(t *testing.T, s store.Store, key, want string) {
	t.Helper()
	got, err := s.Get(context.Background(), []byte(key))
	if err != nil {
		t.Fatalf("Get(%q): %v, want value of %d bytes", key, err, len(want))
	}
	if !bytes.Equal(got, []byte(want)) {
		t.Fatalf("Get(%q) = %s, want %s", key, short(got), short([]byte(want)))
	}
}

// wantAbsent checks that Get of key is ErrNotFound.
func wantAbsent(t *testing.T, s store.Store, key string) {
	t.Helper()
	got, err := s.Get(context.Background(), []byte(key))
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(%q) = %s, %v; want ErrNotFound", key, short(got), err)
	}
}

// scan returns a copy of every pair under prefix, in the order of the scan.
func scan(t *testing.T, s store.Store, prefix string) []kv {
	t.Helper()
	got, err := scanErr(s, []byte(prefix))
	if err != nil {
		t.Fatalf("Scan(%q): %v", prefix, err)
	}
	return got
}

// scanErr is scan for use off the test goroutine: it returns the error.
func scanErr(s store.Store, prefix []byte) ([]kv, error) {
	var got []kv
	err := s.Scan(context.Background(), prefix, func(k, v []byte) error {
		got = append(got, kv{string(k), string(v)})
		return nil
	})
	return got, err
}

// short formats a value for a failure message, eliding long ones.
func short(v []byte) string {
	const limit = 64
	if v == nil {
		return "nil"
	}
	if len(v) > limit {
		return fmt.Sprintf("%q...(%d bytes)", v[:limit], len(v))
	}
	return fmt.Sprintf("%q", v)
}
