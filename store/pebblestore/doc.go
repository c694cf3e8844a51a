// Package pebblestore is the durable [store.Store]: a directory on disk
// managed by Pebble (github.com/cockroachdb/pebble/v2), the log-structured
// merge tree of CockroachDB. It is what a streamauth server runs on when its
// state has to survive a restart or a power loss.
//
// # Durability
//
// By default every [Store.Commit] writes its batch to Pebble's write-ahead
// log and syncs the log (fsync) before returning: once Commit returns nil,
// the batch survives a crash of the process, of the kernel, or a power loss,
// as far as the disk honours fsync. A batch is atomic in the log too: after
// a crash it is there entirely or not at all.
//
// With [Options.NoSync], Commit returns as soon as the batch is in Pebble's
// log buffer and visible to readers, without waiting for the disk (Pebble
// writes the buffer to the file from a background goroutine, and syncs it
// only when a synced write, a flush or Close asks). A clean [Store.Close]
// still syncs, but a crash of the process, of the kernel, or a power loss
// may lose the recent Commits; what survives is the earliest of them, never
// a later batch without an earlier one. NoSync is unsafe for revocations: a
// revocation that was acknowledged, and acted on, may be undone by a crash.
// Use it for tests, benchmarks and caches that can be rebuilt.
//
// # Keyspace and format
//
// Pebble's keyspace is split by the first byte of each key:
//
//	0x00 + name   metadata of this package (today only 0x00 "format")
//	0x01 + key    a key of the store, with its value as given
//
// The record 0x00 "format" holds the format version of the layout, in
// decimal ASCII ("1"). [Open] writes it, synced, when it creates a store (a
// new or empty directory, or a Pebble database holding no key at all), and
// checks it on every later open:
//
//   - a Pebble database with keys but without the record was not written by
//     this package (a "foreign" directory): Open fails with an error that
//     wraps [store.ErrCorrupt], and writes no key to it (opening it with
//     Pebble to look may still make Pebble tidy its own files);
//   - a version newer than this package knows fails with [ErrUnknownFormat]
//     (the store was written by a newer streamauth; do not downgrade);
//   - an unreadable record wraps [store.ErrCorrupt].
//
// A directory that holds files but no Pebble database is refused (wrapping
// [store.ErrCorrupt]) rather than written into, so a mistyped path cannot
// scatter a database into an unrelated directory. A damaged database (a
// truncated or corrupted MANIFEST or sstable) makes Open fail with Pebble's
// error, wrapped, and wrapping [store.ErrCorrupt] when Pebble flags it as
// corruption; a log cut short loses its tail, the store opening with the
// state after the batches that are whole. A corruption detected by Pebble
// later, on a read, is returned wrapping [store.ErrCorrupt]. Open turns a
// panic inside Pebble into an error wrapping [store.ErrCorrupt].
//
// The Pebble on-disk format is pinned to [pebble.FormatValueSeparation]
// (new stores are created at it, older ones of this package raised to it
// once their format record is checked), so that upgrading Pebble does not
// silently change the files; raising it is a deliberate change of this
// package.
//
// # Concurrency
//
// A directory is locked (Pebble's LOCK file, an fcntl lock) while a Store
// has it open: a second Open of the same directory, from this process or
// another, fails. Within the process, Commits are serialized by a mutex of
// the Store, which makes checking a batch's guards and applying its writes
// one atomic step with respect to every other Commit; the sync happens under
// that mutex, so synced Commits do not share fsyncs and their rate is bounded
// by the disk's sync latency. Get and Scan never wait for a Commit.
//
// [Store.Scan] reads a Pebble snapshot taken when it starts, in chunks: each
// chunk is copied out under a read lock, then fn is called without any lock
// held, so fn may call every method of the store, Close included (the scan
// then ends with [store.ErrClosed]).
//
// Close waits for the calls in flight, closes the snapshots of unfinished
// scans and Pebble, and releases the directory; it leaves no goroutine
// behind.
//
// # Options
//
// The zero [Options] is the safe default: synced commits, a 64 MiB block
// cache, nothing logged, the real file system. See [Options] for each field.
package pebblestore
