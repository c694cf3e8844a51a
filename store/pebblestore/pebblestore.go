package pebblestore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/streamauth/streamauth/store"
)

// DefaultCacheSize is the size of Pebble's block cache when
// [Options.CacheSize] is zero.
const DefaultCacheSize = 64 << 20

// formatVersion is the version of the layout described in the package doc,
// stored in the meta record.
const formatVersion = 1

// pebbleFormat is the Pebble format major version of new stores.
const pebbleFormat = pebble.FormatValueSeparation

// Prefixes of the two parts of Pebble's keyspace.
const (
	metaPrefix = 0x00
	userPrefix = 0x01
)

// metaFormatKey is the key of the format record.
var metaFormatKey = append([]byte{metaPrefix}, "format"...)

// ErrUnknownFormat is returned by [Open] for a store whose format version is
// newer than this package knows: it was written by a newer streamauth. It is
// store.ErrUnknownFormat, shared by every backend.
var ErrUnknownFormat = store.ErrUnknownFormat

// Options configures [Open]. The zero value is the safe default.
type Options struct {
	// NoSync, if true, makes Commit return without waiting for the
	// write-ahead log to reach the disk. Default false: every Commit syncs
	// the log before returning.
	//
	// NoSync is unsafe for revocations: an acknowledged Commit, a delete of
	// a credential included, may be lost on a power loss, a kernel crash or
	// a crash of the process (not on a clean Close, which syncs).
	NoSync bool

	// Logger receives Pebble's messages: its informational messages at
	// Debug level, background errors and detected corruption at Error,
	// slow disks and write stalls at Warn. Default nil: nothing is logged
	// anywhere, Pebble included.
	//
	// Pebble reports errors it cannot recover from (a failed write or sync
	// of the log or MANIFEST) as fatal; the Store logs them at Error level,
	// if it has a Logger, then panics: carrying on could acknowledge writes
	// that are not on disk.
	Logger *slog.Logger

	// CacheSize is the size in bytes of Pebble's block cache. Default 0
	// means DefaultCacheSize (64 MiB); it must not be negative.
	CacheSize int64

	// FS is the file system the store lives in. Default nil: the
	// operating system's (with Pebble's disk-health checks). Tests may pass
	// vfs.NewMem() or vfs.NewCrashableMem().
	FS vfs.FS
}

// Store is a durable store on Pebble. Its methods are safe for concurrent
// use. Open one with [Open].
type Store struct {
	db        *pebble.DB
	lock      *pebble.Lock
	writeOpts *pebble.WriteOptions

	// mu guards closed and the lifetime of db: Get, Commit and each chunk of
	// a Scan hold it for reading while they use db, Close for writing.
	mu     sync.RWMutex
	closed bool

	// commitMu serializes Commits, so that checking the guards and applying
	// the writes is atomic with respect to other Commits. It is taken
	// after mu.
	commitMu sync.Mutex

	// snaps holds the snapshots of the scans in progress, which Close
	// closes. Guarded by snapMu, taken with mu held (for reading or
	// writing).
	snapMu sync.Mutex
	snaps  map[*pebble.Snapshot]struct{}
}

var _ store.Store = (*Store)(nil)

// Open opens the store in directory dir, creating it if needed (see the
// package doc for what it accepts and refuses).
func Open(dir string, opts Options) (*Store, error) {
	if dir == "" {
		return nil, fmt.Errorf("pebblestore: %w: empty directory name", store.ErrInvalidArgument)
	}
	if opts.CacheSize < 0 {
		return nil, fmt.Errorf("pebblestore: %w: negative CacheSize %d", store.ErrInvalidArgument, opts.CacheSize)
	}
	cacheSize := opts.CacheSize
	if cacheSize == 0 {
		cacheSize = DefaultCacheSize
	}
	fs := opts.FS
	if fs == nil {
		fs = vfs.Default
	}

	fresh, err := checkDir(fs, dir)
	if err != nil {
		return nil, err
	}
	if err := fs.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("pebblestore: create %s: %w", dir, err)
	}
	lock, err := pebble.LockDirectory(dir, fs)
	if err != nil {
		return nil, fmt.Errorf("pebblestore: lock %s (is it in use by another Store, of this process or another?): %w", dir, err)
	}

	logger := pebbleLogger{opts.Logger}
	popts := &pebble.Options{
		FS:            opts.FS, // nil: pebble wraps the OS's with disk-health checks
		Lock:          lock,
		CacheSize:     cacheSize,
		Logger:        logger,
		EventListener: eventListener(opts.Logger),
	}
	if fresh {
		popts.FormatMajorVersion = pebbleFormat
	}
	// With FormatMajorVersion left zero, an existing database keeps its
	// version: a foreign one is not upgraded before its format is checked.
	db, err := openPebble(dir, popts)
	if err != nil {
		_ = lock.Close()
		if pebble.IsCorruptionError(err) {
			return nil, fmt.Errorf("pebblestore: open %s: %w: %w", dir, store.ErrCorrupt, err)
		}
		return nil, fmt.Errorf("pebblestore: open %s: %w", dir, err)
	}
	s := &Store{
		db:        db,
		lock:      lock,
		writeOpts: pebble.Sync,
		snaps:     make(map[*pebble.Snapshot]struct{}),
	}
	if opts.NoSync {
		s.writeOpts = pebble.NoSync
	}
	if err := s.checkFormat(dir); err != nil {
		_ = db.Close()
		_ = lock.Close()
		return nil, err
	}
	return s, nil
}

// openPebble is pebble.Open, turning a panic into an error: a damaged
// directory must not take the process down.
func openPebble(dir string, popts *pebble.Options) (db *pebble.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			db = nil
			err = fmt.Errorf("%w: pebble failed: %v", store.ErrCorrupt, r)
		}
	}()
	return pebble.Open(dir, popts)
}

// checkDir looks at dir before Pebble does. It reports whether dir is
// missing or empty (a new store), and refuses a directory that holds files
// none of which is Pebble's.
func checkDir(fs vfs.FS, dir string) (fresh bool, err error) {
	names, err := fs.List(dir)
	if errors.Is(err, os.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("pebblestore: open %s: %w", dir, err)
	}
	n := 0
	for _, name := range names {
		switch {
		case name == "lost+found": // the root of a file system
		case isPebbleFile(name):
			return false, nil
		default:
			n++
		}
	}
	if n > 0 {
		return false, fmt.Errorf("pebblestore: open %s: %w: the directory holds files but no pebble database", dir, store.ErrCorrupt)
	}
	return true, nil
}

// isPebbleFile reports whether name is one of the files Pebble keeps in its
// directory.
func isPebbleFile(name string) bool {
	switch name {
	case "LOCK", "CURRENT":
		return true
	}
	for _, p := range []string{"MANIFEST-", "OPTIONS-", "marker.", "temporary."} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	for _, s := range []string{".log", ".sst", ".blob", ".dbtmp"} {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// checkFormat checks the format record, writing it (synced) into a
// database that holds no key at all.
func (s *Store) checkFormat(dir string) error {
	v, closer, err := s.db.Get(metaFormatKey)
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		empty, err := s.isEmpty()
		if err != nil {
			return wrapErr("open "+dir, err)
		}
		if !empty {
			return fmt.Errorf("pebblestore: open %s: %w: a pebble database without the format record of a pebblestore (not written by this package)", dir, store.ErrCorrupt)
		}
		if err := s.db.Set(metaFormatKey, []byte(strconv.Itoa(formatVersion)), pebble.Sync); err != nil {
			return wrapErr("open "+dir+": write format record", err)
		}
	case err != nil:
		return wrapErr("open "+dir+": read format record", err)
	default:
		text := string(v)
		_ = closer.Close()
		n, err := strconv.ParseUint(text, 10, 32)
		switch {
		case err != nil || n == 0 || text != strconv.FormatUint(n, 10):
			return fmt.Errorf("pebblestore: open %s: %w: unreadable format record (%d bytes)", dir, store.ErrCorrupt, len(text))
		case n > formatVersion:
			return fmt.Errorf("pebblestore: open %s: %w: the store has format %d, this build reads format %d (written by a newer version?)", dir, ErrUnknownFormat, n, formatVersion)
		}
	}
	if s.db.FormatMajorVersion() < pebbleFormat {
		if err := s.db.RatchetFormatMajorVersion(pebbleFormat); err != nil {
			return wrapErr("open "+dir+": upgrade pebble format", err)
		}
	}
	return nil
}

// isEmpty reports whether the database holds no key at all.
func (s *Store) isEmpty() (bool, error) {
	it, err := s.db.NewIter(nil)
	if err != nil {
		return false, err
	}
	found := it.First()
	return !found, errors.Join(it.Error(), it.Close())
}

// Get implements [store.Store]. The value is a copy owned by the caller.
func (s *Store) Get(ctx context.Context, key []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := store.CheckKey(key); err != nil {
		return nil, err
	}
	k := userKey(key)
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, store.ErrClosed
	}
	v, closer, err := s.db.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, wrapErr("get", err)
	}
	out := bytes.Clone(v)
	if out == nil {
		out = []byte{}
	}
	return out, closer.Close()
}

// Scan sizes: a chunk of a scan stops at whichever limit comes first, and
// holds at least one pair.
const (
	scanChunkPairs = 1024
	scanChunkBytes = 1 << 20
)

// Scan implements [store.Store]. It reads a snapshot taken when it starts,
// chunk by chunk, and calls fn on copies with no lock held: key and value
// are valid only during the call.
func (s *Store) Scan(ctx context.Context, prefix []byte, fn func(key, value []byte) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(prefix) > store.MaxKeySize {
		return store.ErrInvalidArgument
	}
	lower := userKey(prefix)
	upper := store.PrefixEnd(lower) // never nil: lower starts with userPrefix < 0xff

	snap, err := s.newSnapshot()
	if err != nil {
		return err
	}
	defer s.releaseSnapshot(snap)

	var c chunk
	for {
		more, err := s.readChunk(snap, lower, upper, &c)
		if err != nil {
			return err
		}
		for i := range c.n {
			if err := ctx.Err(); err != nil {
				return err
			}
			k, v := c.pair(i)
			if err := fn(k, v); err != nil {
				return err
			}
		}
		if !more {
			return nil
		}
		// Resume just after the last key read: its immediate successor.
		last, _ := c.pair(c.n - 1)
		lower = append(append(append(lower[:0], userPrefix), last...), 0)
	}
}

// chunk is a run of pairs of a scan, copied back to back into buf, keys
// without their prefix byte.
type chunk struct {
	buf  []byte
	ends []int // per pair: end of key, end of value in buf
	n    int
}

func (c *chunk) reset() {
	c.buf, c.ends, c.n = c.buf[:0], c.ends[:0], 0
}

func (c *chunk) add(k, v []byte) {
	c.buf = append(c.buf, k...)
	ke := len(c.buf)
	c.buf = append(c.buf, v...)
	c.ends = append(c.ends, ke, len(c.buf))
	c.n++
}

func (c *chunk) pair(i int) (k, v []byte) {
	start := 0
	if i > 0 {
		start = c.ends[2*i-1]
	}
	ke, ve := c.ends[2*i], c.ends[2*i+1]
	return c.buf[start:ke:ke], c.buf[ke:ve:ve]
}

// newSnapshot takes a snapshot for a scan, registered for Close.
func (s *Store) newSnapshot() (*pebble.Snapshot, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, store.ErrClosed
	}
	snap := s.db.NewSnapshot()
	s.snapMu.Lock()
	s.snaps[snap] = struct{}{}
	s.snapMu.Unlock()
	return snap, nil
}

// releaseSnapshot closes snap, unless Close already did.
func (s *Store) releaseSnapshot(snap *pebble.Snapshot) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	if _, ok := s.snaps[snap]; ok {
		delete(s.snaps, snap)
		_ = snap.Close()
	}
}

// readChunk copies into c the next pairs of snap in [lower, upper), and
// reports whether there may be more.
func (s *Store) readChunk(snap *pebble.Snapshot, lower, upper []byte, c *chunk) (more bool, err error) {
	c.reset()
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return false, store.ErrClosed
	}
	it, err := snap.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return false, wrapErr("scan", err)
	}
	defer func() {
		if cerr := it.Close(); err == nil && cerr != nil {
			more, err = false, wrapErr("scan", cerr)
		}
	}()
	for valid := it.First(); valid; valid = it.Next() {
		if c.n == scanChunkPairs || len(c.buf) >= scanChunkBytes {
			return true, nil
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return false, wrapErr("scan", err)
		}
		c.add(it.Key()[1:], v)
	}
	if err := it.Error(); err != nil {
		return false, wrapErr("scan", err)
	}
	return false, nil
}

// Commit implements [store.Store]. Guards and writes are atomic with
// respect to every other Commit of this Store; the write is synced unless
// the store was opened with NoSync.
func (s *Store) Commit(ctx context.Context, b *store.Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := b.Validate(); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return store.ErrClosed
	}

	var pb *pebble.Batch
	if ops := b.Ops(); len(ops) > 0 {
		pb = s.db.NewBatch()
		defer pb.Close()
		for _, op := range ops {
			var d *pebble.DeferredBatchOp
			if op.Kind == store.OpPut {
				d = pb.SetDeferred(1+len(op.Key), len(op.Value))
				copy(d.Value, op.Value)
			} else {
				d = pb.DeleteDeferred(1 + len(op.Key))
			}
			d.Key[0] = userPrefix
			copy(d.Key[1:], op.Key)
			if err := d.Finish(); err != nil {
				return wrapErr("commit", err)
			}
		}
	}

	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	for _, g := range b.Guards() {
		ok, err := s.guardHolds(g)
		if err != nil {
			return err
		}
		if !ok {
			return store.ErrConflict
		}
	}
	if pb == nil {
		return nil
	}
	if err := s.db.Apply(pb, s.writeOpts); err != nil {
		return wrapErr("commit", err)
	}
	return nil
}

// guardHolds reads the current value of g's key and checks g.
func (s *Store) guardHolds(g store.Guard) (bool, error) {
	v, closer, err := s.db.Get(userKey(g.Key))
	if errors.Is(err, pebble.ErrNotFound) {
		return g.Kind == store.GuardAbsent, nil
	}
	if err != nil {
		return false, wrapErr("commit: read guard", err)
	}
	ok := g.Kind == store.GuardPresent || (g.Kind == store.GuardEqual && bytes.Equal(v, g.Value))
	return ok, closer.Close()
}

// Close implements [store.Store]. It waits for the calls in flight, closes
// Pebble and releases the directory. Later calls return nil.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.snapMu.Lock()
	var errs []error
	for snap := range s.snaps {
		errs = append(errs, snap.Close())
	}
	clear(s.snaps)
	s.snapMu.Unlock()
	errs = append(errs, s.db.Close(), s.lock.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("pebblestore: close: %w", err)
	}
	return nil
}

// userKey returns key in the user part of Pebble's keyspace.
func userKey(key []byte) []byte {
	k := make([]byte, 1+len(key))
	k[0] = userPrefix
	copy(k[1:], key)
	return k
}

// wrapErr wraps an error of Pebble, marking corruption as
// [store.ErrCorrupt].
func wrapErr(op string, err error) error {
	if pebble.IsCorruptionError(err) {
		return fmt.Errorf("pebblestore: %s: %w: %w", op, store.ErrCorrupt, err)
	}
	return fmt.Errorf("pebblestore: %s: %w", op, err)
}
