package badgerstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"strconv"
	"sync"
	"syscall"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"github.com/streamauth/streamauth/store"
)

// Errors of Open and Commit, besides those of package store.
var (
	// ErrUnknownFormat: the directory holds a store of a format version
	// this package does not know, written by a newer (or an unrelated)
	// version of it. Nothing was changed. It is store.ErrUnknownFormat,
	// shared by every backend.
	ErrUnknownFormat = store.ErrUnknownFormat
	// ErrLocked: the directory is in use by a store open in this process or
	// another one (or by a badger tool).
	ErrLocked = errors.New("badgerstore: directory in use")
	// ErrNotStore: the directory holds files but no badger store; Open does
	// not create a store in a directory that is not empty.
	ErrNotStore = errors.New("badgerstore: not a store")
	// ErrBatchTooLarge: a batch is too large for one badger transaction
	// (see Options.MemTableSize); nothing was written.
	ErrBatchTooLarge = errors.New("badgerstore: batch too large")
)

// The layout of keys in badger. A user key k is stored as userPrefix+k, its
// value v as v+crc (see seal); metaPrefix+"format" holds the format version
// as "streamauth/badgerstore v<N>".
const (
	metaPrefix byte = 0x00
	userPrefix byte = 0x01

	formatVersion = 1
	formatMagic   = "streamauth/badgerstore v"
)

var (
	formatKey   = []byte{metaPrefix, 'f', 'o', 'r', 'm', 'a', 't'}
	formatValue = []byte(formatMagic + strconv.Itoa(formatVersion))
)

// Store is a [store.Store] kept in a badger database. The zero value is not
// usable; call [Open].
type Store struct {
	db     *badger.DB
	dir    string
	unlock func() error // releases the directory lock taken by Open

	// mu guards the lifecycle: active counts the calls in flight, which
	// Close waits for once it has set closed, so that badger is closed
	// only when no call uses it. A call that finds closed set fails with
	// store.ErrClosed, so a call made by a Scan's fn while Close waits
	// fails instead of deadlocking.
	mu      sync.Mutex
	idle    sync.Cond // signalled when active drops to zero after Close began
	active  int
	closed  bool
	closing chan struct{} // closed when the first Close returns

	// commitMu serializes Commits: each runs in one badger read-write
	// transaction, begun after the previous Commit ended, so its guards
	// see every earlier commit and no other write can slip in between its
	// reads and its writes.
	commitMu sync.Mutex
}

var _ store.Store = (*Store)(nil)

// Open opens the store in dir, creating dir and an empty store if dir does
// not exist or is empty. See the package documentation for the errors it
// returns on a directory that holds something else.
func Open(dir string, opts Options) (*Store, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("badgerstore: %w", err)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	s, err := open(dir, opts)
	if err != nil {
		unlock()
		return nil, err
	}
	s.unlock = unlock
	return s, nil
}

// open opens the store in dir, which the caller locked.
func open(dir string, opts Options) (*Store, error) {
	fresh, err := inspectDir(dir)
	if err != nil {
		return nil, err
	}
	db, err := openBadger(badgerOptions(dir, opts))
	if err != nil {
		return nil, err
	}
	if err := checkFormat(db, fresh, opts.NoSync); err != nil {
		db.Close()
		return nil, fmt.Errorf("%w (%s)", err, dir)
	}
	s := &Store{db: db, dir: dir, closing: make(chan struct{})}
	s.idle.L = &s.mu
	return s, nil
}

// badgerOptions returns the badger options of a store in dir.
func badgerOptions(dir string, opts Options) badger.Options {
	bo := badger.DefaultOptions(dir)
	bo.Logger = logger{l: opts.Logger, dir: dir}
	bo.SyncWrites = !opts.NoSync
	bo.MetricsEnabled = false
	bo.BypassLockGuard = ownLock

	bo.MemTableSize = opts.MemTableSize
	bo.NumMemtables = opts.NumMemtables
	bo.BlockCacheSize = opts.BlockCacheSize
	bo.IndexCacheSize = 0 // only used for encrypted tables
	bo.ValueThreshold = opts.ValueThreshold
	bo.ValueLogFileSize = opts.ValueLogFileSize
	// Tables are not compressed, so that reads need no block cache and
	// Open can check every block (check.go).
	bo.Compression = options.None
	bo.NumCompactors = 2
	bo.VerifyValueChecksum = true
	// Commits are serialized by Store.commitMu, so transactions never
	// conflict: badger need not track their reads and writes.
	bo.DetectConflicts = false
	return bo
}

// openBadger calls badger.Open, turning a panic into an error. Open checked
// the directory first, so that badger should not panic; but a panic in the
// goroutine calling badger.Open is caught here all the same. (Badger opens
// tables in goroutines of its own, where no recover reaches: that is what
// the checks of check.go are for.)
//
// An error of badger that is not one of the operating system (a failed
// system call, a missing file or permission) is one of badger reading its
// files, given options Open checked: it wraps store.ErrCorrupt.
func openBadger(bo badger.Options) (db *badger.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("%w: badger panicked opening %s: %v", store.ErrCorrupt, bo.Dir, r)
		}
	}()
	db, err = badger.Open(bo)
	var pathErr *fs.PathError
	var errno syscall.Errno
	switch {
	case err == nil:
		return db, nil
	case errors.As(err, &pathErr), errors.As(err, &errno):
		return nil, fmt.Errorf("badgerstore: open %s: %w", bo.Dir, err)
	default:
		return nil, fmt.Errorf("%w: open %s: %w", store.ErrCorrupt, bo.Dir, err)
	}
}

// checkFormat checks the format record of db, writing it if db is new: a
// directory Open found empty, or a badger database with no table that holds
// no key at all (one whose creation was interrupted before the record was
// written).
func checkFormat(db *badger.DB, fresh, noSync bool) error {
	var v []byte
	err := db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(formatKey)
		if err != nil {
			return err
		}
		v, err = item.ValueCopy(nil)
		return err
	})
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
		empty := false
		if fresh {
			if empty, err = isEmpty(db); err != nil {
				return fmt.Errorf("badgerstore: %w", err)
			}
		}
		if !empty {
			return fmt.Errorf("%w: a badger database without the format record of a badgerstore", store.ErrCorrupt)
		}
		return writeFormat(db, noSync)
	case err != nil:
		return fmt.Errorf("badgerstore: read format: %w", err)
	}
	rest, ok := bytes.CutPrefix(v, []byte(formatMagic))
	if !ok {
		return fmt.Errorf("%w: format record %q is not a badgerstore's", store.ErrCorrupt, v)
	}
	if n, err := strconv.Atoi(string(rest)); err != nil || n != formatVersion {
		return fmt.Errorf("%w: %q (this package reads v%d)", ErrUnknownFormat, v, formatVersion)
	}
	return nil
}

// isEmpty reports whether db holds no key.
func isEmpty(db *badger.DB) (bool, error) {
	empty := true
	err := db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{})
		defer it.Close()
		it.Rewind()
		empty = !it.Valid()
		return nil
	})
	return empty, err
}

// writeFormat writes the format record, durably even when noSync.
func writeFormat(db *badger.DB, noSync bool) error {
	err := db.Update(func(txn *badger.Txn) error {
		return txn.Set(formatKey, formatValue)
	})
	if err == nil && noSync {
		err = db.Sync()
	}
	if err != nil {
		return fmt.Errorf("badgerstore: write format: %w", err)
	}
	return nil
}

// enter registers a call in flight, or returns store.ErrClosed.
func (s *Store) enter() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.ErrClosed
	}
	s.active++
	return nil
}

// leave ends a call registered by enter.
func (s *Store) leave() {
	s.mu.Lock()
	s.active--
	if s.active == 0 && s.closed {
		s.idle.Broadcast()
	}
	s.mu.Unlock()
}

// crcTable is the table of the checksum that seals each value.
var crcTable = crc32.MakeTable(crc32.Castagnoli)

// crcSize is the size of the checksum that seals each value.
const crcSize = 4

// checksum returns the checksum of the pair key, value.
func checksum(key, value []byte) uint32 {
	return crc32.Update(crc32.Update(0, crcTable, key), crcTable, value)
}

// seal appends to dst the value stored for user key k and value v: v
// followed by the big-endian CRC-32C of k and v. Badger does not report a
// value it fails to read from its value log (it logs the error and yields
// an empty value), and does not check table blocks on every read: the
// checksum turns both into ErrCorrupt, where a value would otherwise come
// back empty or wrong.
func seal(dst, k, v []byte) []byte {
	dst = append(dst, v...)
	return binary.BigEndian.AppendUint32(dst, checksum(k, v))
}

// unseal returns the value of user key k stored as sealed, a subslice of
// sealed, or an error wrapping store.ErrCorrupt.
func unseal(k, sealed []byte) ([]byte, error) {
	n := len(sealed) - crcSize
	if n < 0 {
		return nil, fmt.Errorf("%w: stored value of %d bytes, shorter than its checksum", store.ErrCorrupt, len(sealed))
	}
	v := sealed[:n:n]
	if binary.BigEndian.Uint32(sealed[n:]) != checksum(k, v) {
		return nil, fmt.Errorf("%w: stored value: checksum mismatch", store.ErrCorrupt)
	}
	return v, nil
}

// userKey returns the badger key of the user key k, appended to dst.
func userKey(dst, k []byte) []byte {
	dst = append(dst, userPrefix)
	return append(dst, k...)
}

// Get implements [store.Store]. The returned slice is a copy owned by the
// caller.
func (s *Store) Get(ctx context.Context, key []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := store.CheckKey(key); err != nil {
		return nil, err
	}
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	var sealed []byte
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(userKey(make([]byte, 0, 1+len(key)), key))
		if err != nil {
			return err
		}
		sealed, err = item.ValueCopy(nil)
		return err
	})
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
		return nil, store.ErrNotFound
	case err != nil:
		return nil, s.wrap("get", err)
	}
	v, err := unseal(key, sealed)
	if err != nil {
		return nil, s.wrap("get", err)
	}
	return v, nil
}

// Scan implements [store.Store]. It iterates over a badger read-only
// transaction, a snapshot, and calls fn with copies of each key and value
// in buffers reused from one call to the next. fn runs while the snapshot
// is open, which blocks nothing: fn may call any method of the store but
// Close.
func (s *Store) Scan(ctx context.Context, prefix []byte, fn func(key, value []byte) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(prefix) > store.MaxKeySize {
		return store.ErrInvalidArgument
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	txn := s.db.NewTransaction(false)
	defer txn.Discard()
	p := userKey(make([]byte, 0, 1+len(prefix)), prefix)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: p})
	defer it.Close()
	kbuf, vbuf := make([]byte, 0, 64), make([]byte, 0, 128)
	for it.Seek(p); it.ValidForPrefix(p); it.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		item := it.Item()
		kbuf = item.KeyCopy(kbuf[:0])
		var err error
		if vbuf, err = item.ValueCopy(vbuf[:0]); err != nil {
			return s.wrap("scan", err)
		}
		k := kbuf[1:len(kbuf):len(kbuf)]
		v, err := unseal(k, vbuf)
		if err != nil {
			return s.wrap("scan", err)
		}
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}

// Commit implements [store.Store]. It runs in one badger read-write
// transaction, serialized with every other Commit: the guards are read in
// it, then the operations are applied in order (a later one on a key
// replacing an earlier one) and the transaction committed, synced unless
// Options.NoSync. A batch too large for one transaction fails with
// [ErrBatchTooLarge] and writes nothing.
func (s *Store) Commit(ctx context.Context, b *store.Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := b.Validate(); err != nil {
		return err
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	// Commits are serialized and badger's conflict detection is off: a
	// transaction never conflicts with another.
	return s.commit(b)
}

// commit runs one transaction of Commit.
func (s *Store) commit(b *store.Batch) error {
	txn := s.db.NewTransaction(true)
	defer txn.Discard()
	var kbuf []byte
	for _, g := range b.Guards() {
		kbuf = userKey(kbuf[:0], g.Key)
		item, err := txn.Get(kbuf)
		present := err == nil
		if err != nil && !errors.Is(err, badger.ErrKeyNotFound) {
			return s.wrap("commit: read guard", err)
		}
		ok := false
		switch g.Kind {
		case store.GuardAbsent:
			ok = !present
		case store.GuardPresent:
			ok = present
		case store.GuardEqual:
			if present {
				err := item.Value(func(sealed []byte) error {
					v, err := unseal(g.Key, sealed)
					ok = err == nil && bytes.Equal(v, g.Value)
					return err
				})
				if err != nil {
					return s.wrap("commit: read guard", err)
				}
			}
		}
		if !ok {
			return store.ErrConflict
		}
	}
	ops := b.Ops()
	if len(ops) == 0 {
		return nil
	}
	// One buffer for every key and value: badger keeps the slices until
	// the commit.
	size := 0
	for _, op := range ops {
		size += 1 + len(op.Key)
		if op.Kind == store.OpPut {
			size += len(op.Value) + crcSize
		}
	}
	buf := make([]byte, 0, size)
	for _, op := range ops {
		start := len(buf)
		buf = userKey(buf, op.Key)
		k := buf[start:len(buf):len(buf)]
		var err error
		if op.Kind == store.OpPut {
			start = len(buf)
			buf = seal(buf, op.Key, op.Value)
			err = txn.Set(k, buf[start:len(buf):len(buf)])
		} else {
			err = txn.Delete(k)
		}
		if errors.Is(err, badger.ErrTxnTooBig) {
			return fmt.Errorf("%w: %d operations (%s): %w", ErrBatchTooLarge, len(ops), s.dir, err)
		}
		if err != nil {
			return s.wrap("commit", err)
		}
	}
	if err := txn.Commit(); err != nil {
		return s.wrap("commit", err)
	}
	return nil
}

// wrap adds context to an error of badger. Badger's own wrapping may
// quote the key it was reading (keys hold digest prefixes and usernames),
// so only the innermost error is kept: errors.Is still finds it.
func (s *Store) wrap(op string, err error) error {
	for u := errors.Unwrap(err); u != nil; u = errors.Unwrap(err) {
		err = u
	}
	return fmt.Errorf("badgerstore: %s (%s): %w", op, s.dir, err)
}

// Close implements [store.Store]. It waits for the calls in flight, then
// closes badger, which flushes the memtable to a table file, and releases
// the directory. Calls made once Close began fail with store.ErrClosed. A
// later Close waits for the first to finish and returns nil. Close must not
// be called from a Scan's fn: it would wait for that Scan.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		<-s.closing
		return nil
	}
	s.closed = true
	for s.active > 0 {
		s.idle.Wait()
	}
	s.mu.Unlock()
	defer close(s.closing)
	err := s.db.Close()
	if uerr := s.unlock(); err == nil && uerr != nil {
		err = uerr
	}
	if err != nil {
		return fmt.Errorf("badgerstore: close %s: %w", s.dir, err)
	}
	return nil
}
