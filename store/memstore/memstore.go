// Package memstore is the in-memory [store.Store], laid out for memory and
// lookup latency at millions of entries. Nothing survives Close or the
// process. It is the reference backend: the conformance suite and the
// property tests compare every other backend with it.
//
// # Layout
//
// Each entry (key-value pair) is one allocation holding a header word, the
// key and the value back to back, immutable once made: an overwrite makes
// a new entry. The header packs both lengths with 28 bits of the key's
// hash (entry.go). Two structures point to the entry, with plain 8-byte
// pointers:
//
//   - a hash table written for it: a small directory (dir.go) of
//     open-addressing tables (table.go) of groups of 7 slots (group.go).
//     A group is 64 bytes, one cache line: a word of one-byte tags (7 bits
//     of the hash) and an overflow filter, and the 7 pointers. A Get
//     hashes the key with hash/maphash under a per-store seed, matches the
//     tag against the group's 7 tags at once, and reads the entry of a
//     slot that matches, where it checks the hash bits and key length in
//     the header, compares the key and finds the value right after it: a
//     hit costs its group (sometimes the next one too) and its entry.
//   - an ordered index for Scan (sorted.go): the same pointers again, in
//     key order, in a sorted list of sorted chunks of at most 128.
//
// At the auth engine's shape (17- and 33-byte keys, values of 0 to 95
// bytes) a store of 3M entries costs the entries themselves with their
// headers, rounded up to their size class, plus about 13 bytes of table
// (11 to 14 as it grows) and 9 of index per entry. See bench_test.go.
//
// # Sharing
//
// Because an entry never changes, Get returns its value, and Scan passes fn
// its key and value, as views of the entry, without copying. The slices
// must not be modified (their capacity is their length, so an append
// copies); they stay valid and unchanged after any later write, and after
// Close, the entry living as long as a view of it does.
//
// # Concurrency
//
// Get takes no lock. Commit, holding the store's write lock, makes the
// store's sequence number odd before it changes anything and even again
// after, like a seqlock; a Get reads the number, looks the key up, and
// keeps the answer only if the number was even and has not changed,
// otherwise it looks again, yielding its processor after the first few
// tries (and taking the read lock only after many). So a Get sees every
// write of a commit or none, and never waits for a writer unless one is
// at work on the table just then. Everything a lookup reads while a
// commit may be writing is read atomically, the published directory
// (dir.go), the groups' control words and slots (group.go), or never
// changes: the entries, whole before a pointer to them is published.
//
// Scan takes the read lock, so scans run side by side but not during a
// commit; it collects the entries under the lock and calls fn after
// releasing it, so fn may use the store. Hashing keys and copying new
// entries happen before Commit takes the lock; growing the hash table
// rebuilds at most one table of 6,272 entries at a time under it.
package memstore

import (
	"bytes"
	"context"
	"hash/maphash"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/streamauth/streamauth/store"
)

// Store is an in-memory store. The zero value is not usable; call [New].
type Store struct {
	seed maphash.Seed // immutable: keys are hashed without the lock

	// seq is odd while a commit or Close changes the table, and grows by
	// 2 with each; Get compares it before and after a lookup.
	seq    atomic.Uint64
	closed atomic.Bool

	mu    sync.RWMutex // Commit and Close write; Scan, and Get after a few tries, read
	table hashTable
	index index
}

// A Get that finds a commit at work looks again at once spinTries times,
// then yields its processor before each try, for up to yieldTries more,
// and only then takes the read lock. A commit takes microseconds (up to a
// few milliseconds for a rebuild), so yielding lets it finish; taking the
// read lock early would not be faster, and would hold up the writer: the
// readers it wakes on Unlock must all run and leave before the next Commit
// gets the lock, and while lock-free readers keep every processor busy,
// that can take the scheduler's 10 ms time slice (measured with three
// readers on two cores: a median commit of 12.9 ms, against under 1 µs,
// and 18 µs at most, when they yield).
const (
	spinTries  = 2
	yieldTries = 64
)

var _ store.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{seed: maphash.MakeSeed()}
}

// Get implements [store.Store]. The returned slice is a view of the stored
// entry, shared with other readers: it must not be modified, and stays
// unchanged after later writes.
func (s *Store) Get(ctx context.Context, key []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := store.CheckKey(key); err != nil {
		return nil, err
	}
	h := hashKey(s.seed, key)
	e, ok, closed := s.lookup(key, h)
	switch {
	case closed:
		return nil, store.ErrClosed
	case !ok:
		return nil, store.ErrNotFound
	}
	return e.value(), nil
}

// lookup finds key, whose hash is h, and reports whether the store was
// closed, without the lock if it can (see the package doc).
func (s *Store) lookup(key []byte, h uint64) (e *entry, ok, closed bool) {
	for try := range spinTries + yieldTries {
		if try >= spinTries {
			runtime.Gosched()
		}
		at := s.seq.Load()
		if at&1 != 0 {
			continue
		}
		e, ok = s.table.lookup(key, h)
		closed = s.closed.Load()
		if s.seq.Load() == at {
			return e, ok, closed
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok = s.table.lookup(key, h)
	return e, ok, s.closed.Load()
}

// Scan implements [store.Store]. It collects the matching entries under
// the read lock and calls fn after releasing it, so fn may write to the
// store; the entries being immutable, they are the snapshot. key and value
// are views of the entries and must not be modified.
func (s *Store) Scan(ctx context.Context, prefix []byte, fn func(key, value []byte) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(prefix) > store.MaxKeySize {
		return store.ErrInvalidArgument
	}
	var es []*entry
	s.mu.RLock()
	if s.closed.Load() {
		s.mu.RUnlock()
		return store.ErrClosed
	}
	s.index.ascend(prefix, func(e *entry) bool {
		es = append(es, e)
		return true
	})
	s.mu.RUnlock()
	for _, e := range es {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(e.key(), e.value()); err != nil {
			return err
		}
	}
	return nil
}

// prepared is an op of a batch made ready outside the lock: its key's hash
// and, for a put, the new entry.
type prepared struct {
	h     uint64
	entry *entry // nil for a delete
}

// Commit implements [store.Store].
func (s *Store) Commit(ctx context.Context, b *store.Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := b.Validate(); err != nil {
		return err
	}
	// Hash every key and copy every put before taking the lock.
	ops, guards := b.Ops(), b.Guards()
	var small [4]prepared
	preps := small[:0]
	for _, op := range ops {
		h := hashKey(s.seed, op.Key)
		var e *entry
		if op.Kind == store.OpPut {
			e = newEntry(op.Key, op.Value, h)
		}
		preps = append(preps, prepared{h, e})
	}
	var gsmall [4]uint64
	ghashes := gsmall[:0]
	for _, g := range guards {
		ghashes = append(ghashes, hashKey(s.seed, g.Key))
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return store.ErrClosed
	}
	for i, g := range guards {
		e, ok := s.table.get(g.Key, ghashes[i])
		switch g.Kind {
		case store.GuardAbsent:
			ok = !ok
		case store.GuardEqual:
			ok = ok && bytes.Equal(e.value(), g.Value)
		}
		if !ok {
			return store.ErrConflict
		}
	}
	w := writeWindow{seq: &s.seq}
	defer w.close()
	for i, op := range ops {
		p := preps[i]
		t, gi, slot, found := s.table.find(op.Key, p.h)
		switch {
		case op.Kind == store.OpPut && found:
			old := &t.groups[gi].slots[slot]
			if bytes.Equal(old.Load().value(), p.entry.value()) {
				continue // same bytes: keep the entry, skip the index
			}
			w.open()
			old.Store(p.entry)
			s.index.replace(p.entry)
		case op.Kind == store.OpPut:
			w.open()
			s.table.insert(p.entry, p.h)
			s.index.insert(p.entry)
		case found: // a delete of a present key
			w.open()
			s.table.remove(t, gi, slot, p.h)
			s.index.remove(op.Key)
		}
	}
	return nil
}

// writeWindow makes the store's sequence number odd before a commit's
// first change to the hash table, so that lookups without the lock look
// again, and even after its last. A batch that changes nothing (no ops,
// deletes of absent keys, puts of the bytes already there) leaves the
// number alone and sends no lookup back.
type writeWindow struct {
	seq    *atomic.Uint64
	opened bool
}

func (w *writeWindow) open() {
	if !w.opened {
		w.seq.Add(1)
		w.opened = true
	}
}

func (w *writeWindow) close() {
	if w.opened {
		w.seq.Add(1)
	}
}

// Close implements [store.Store]. It drops the contents; views handed out
// earlier stay valid.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq.Add(1)
	defer s.seq.Add(1)
	s.closed.Store(true)
	s.table.clear()
	s.index = index{}
	return nil
}

// Len returns the number of keys in the store.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.table.used
}

// InMemory implements [store.InMemory]: it reports true.
func (s *Store) InMemory() bool { return true }
