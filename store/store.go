// Package store defines the ordered key-value interface that every storage
// backend of streamauth implements, and the errors it returns.
//
// The interface is small on purpose: every rule of the auth domain lives once,
// in package auth, and a backend only has to store bytes in order and apply a
// batch of writes atomically under preconditions. The conformance suite in
// package storetest checks a backend against this contract.
//
// # Keys and values
//
// Keys are non-empty byte strings of at most [MaxKeySize] bytes, ordered
// bytewise. Values are byte strings of at most [MaxValueSize] bytes, and may be
// empty. A backend copies what it is given: a caller may reuse its slices as
// soon as a call returns.
//
// # Atomic, guarded writes
//
// [Store.Commit] applies a [Batch] of puts and deletes all at once or not at
// all. A batch may carry guards ("this key is absent", "this key holds exactly
// this value"), checked against the state just before the batch; if any guard
// fails, Commit writes nothing and returns [ErrConflict]. The guards are what
// lets several writers share a store: read, decide, then commit guarded by
// what was read, and retry on ErrConflict.
package store

import (
	"context"
	"errors"
	"fmt"
)

// Limits every backend enforces; a larger key or value is
// [ErrInvalidArgument].
const (
	MaxKeySize   = 4 << 10
	MaxValueSize = 4 << 20
)

// Sentinel errors, matched with errors.Is. A backend may wrap them with
// detail; the detail never contains a value's bytes.
var (
	// ErrNotFound: Get of a key that is absent.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: a guard of a batch did not hold; nothing was written.
	ErrConflict = errors.New("store: conflict")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store: closed")
	// ErrInvalidArgument: an empty or oversized key, an oversized value.
	ErrInvalidArgument = errors.New("store: invalid argument")
	// ErrCorrupt: stored data failed a check on reading; the store's content
	// cannot be trusted.
	ErrCorrupt = errors.New("store: corrupt")
	// ErrUnknownFormat: the data was written in a format this build does not
	// read, for example by a newer release. Nothing was changed.
	ErrUnknownFormat = errors.New("store: unknown format version")
)

// Store is an ordered key-value store with atomic, guarded batch writes.
//
// Every method is safe for concurrent use. Every method but Close takes a
// context; a backend checks it before doing work and returns ctx.Err() if it
// is done. After Close, every method returns [ErrClosed].
type Store interface {
	// Get returns the value of key, or ErrNotFound.
	//
	// The returned slice belongs to the caller and stays valid after later
	// writes, but the caller must not modify it (a backend may hand out an
	// immutable copy it shares with other readers).
	Get(ctx context.Context, key []byte) ([]byte, error)

	// Scan calls fn for every key that starts with prefix, in increasing
	// key order, over a consistent snapshot taken when Scan starts. An
	// empty prefix scans everything. key and value are valid only during
	// the call and must not be modified; fn may call other methods of the
	// store. If fn returns an error, Scan stops and returns that error. A
	// prefix longer than MaxKeySize is ErrInvalidArgument.
	Scan(ctx context.Context, prefix []byte, fn func(key, value []byte) error) error

	// Commit applies b atomically: either every guard holds and every
	// operation is applied, or nothing is written. A failed guard is
	// ErrConflict. An empty batch is a no-op that still checks its guards.
	// When Commit returns nil the writes are visible to every later call;
	// a durable backend has also made them durable, unless configured not
	// to.
	Commit(ctx context.Context, b *Batch) error

	// Close releases the store. It is safe to call more than once; later
	// calls return nil.
	Close() error
}

// InMemory is implemented by a Store that holds all its data in memory, so
// that a read costs no I/O. Its InMemory method reports whether that is so.
// An engine keeps no index of digest prefixes in front of such a store, as
// a read that finds nothing is cheap already, and caches every key that
// authenticates: the store holds every key in memory anyway, and a cached
// key is one cache line to read where the store's record is two reads, one
// after the other.
type InMemory interface {
	Store
	InMemory() bool
}

// IsInMemory reports whether s declares itself held in memory.
func IsInMemory(s Store) bool {
	m, ok := s.(InMemory)
	return ok && m.InMemory()
}

// CheckKey reports whether k is a valid key.
func CheckKey(k []byte) error {
	if len(k) == 0 {
		return errEmptyKey
	}
	if len(k) > MaxKeySize {
		return errLongKey
	}
	return nil
}

var (
	errEmptyKey  = fmt.Errorf("%w: empty key", ErrInvalidArgument)
	errLongKey   = fmt.Errorf("%w: key longer than %d bytes", ErrInvalidArgument, MaxKeySize)
	errLongValue = fmt.Errorf("%w: value longer than %d bytes", ErrInvalidArgument, MaxValueSize)
	errBadKind   = fmt.Errorf("%w: unknown operation or guard kind", ErrInvalidArgument)
)

// PrefixEnd returns the smallest key greater than every key that starts with
// prefix, or nil if there is none (prefix is empty or all 0xff). It is the
// exclusive upper bound of a prefix scan.
func PrefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
