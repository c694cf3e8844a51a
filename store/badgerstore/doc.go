// Package badgerstore is a durable [store.Store] kept in a badger (v4)
// database in a directory of its own.
//
//	s, err := badgerstore.Open(dir, badgerstore.Options{})
//
// # Durability
//
// Every Commit is one badger transaction. By default badger writes it to
// its write-ahead log and syncs that log (SyncWrites) before Commit
// returns: a commit that returned nil survives a crash of the process or of
// the machine. [Options.NoSync] skips the sync, for speed (a synced Commit
// costs one fsync, 0.2 to 0.7 ms on the SSD it was measured on; an unsynced
// one about 8 µs): a machine crash may then lose the commits of the last
// moments before it. That is not safe for revocations, whose loss makes a
// revoked credential valid again.
//
// Commits are serialized by the store (one at a time, each transaction
// begun after the previous one committed), so that the guards of a batch
// are checked against every earlier commit and nothing is written between
// the check and the writes; badger's own conflict detection is off. Gets
// and Scans run concurrently with them and with each other, each over a
// badger snapshot.
//
// # Layout
//
// The store owns its directory: Open creates a store only in a directory
// that does not exist or is empty, and refuses a directory that holds other
// files ([ErrNotStore]). Inside badger, a user key k is stored under the
// key 0x01+k, and its value v as v followed by the CRC-32C of k and v: a
// value badger fails to read (badger then logs the error and yields an
// empty value) or reads damaged is an error wrapping [store.ErrCorrupt],
// not a wrong value (but for the odds of a CRC collision). The key 0x00+"format" holds the format version,
// "streamauth/badgerstore v1", written (and synced) when the store is
// created. Open fails on a badger database without that record with
// store.ErrCorrupt, and on a version it does not know with
// [ErrUnknownFormat].
//
// # Opening and damaged files
//
// Before badger opens a directory, Open locks it (an exclusive flock of the
// directory, the lock badger and its tools take: a second Open, in this
// process or another, fails with [ErrLocked]), then checks what badger
// trusts: it replays the MANIFEST, reads the KEYREGISTRY, checks the
// headers of the logs, and checks every table file the MANIFEST lists
// (bounds and checksums of its footer, its index and every block). Badger
// would otherwise end the process (log.Fatal) on a truncated table, panic
// in one of its goroutines on a damaged one, and leak goroutines when it
// fails to open. Open fails with an error wrapping store.ErrCorrupt on any
// damage it finds, or that badger reports, and changes no file then.
// Checking the tables reads them whole: a few milliseconds per 10 MB.
//
// What remains is badger's recovery after a crash. It treats a damaged
// entry of its write-ahead log as the end of the log, as after a torn
// write: the commits after it are dropped without an error. It deletes a
// table file its MANIFEST does not list, which is normal after a crash;
// Open refuses one where that cannot be (a store closed cleanly, which has
// no write-ahead log).
//
// # Memory
//
// Badger's defaults are sized for a server (64 MiB memtables, up to five, a
// 256 MiB block cache, 1 GiB value log files). [Options] has smaller
// defaults for a small agent:
//
//   - MemTableSize 8 MiB: the memtable's arena (about 1.3 times its size,
//     10.4 MiB) is allocated on the Go heap when the store opens, and again
//     each time one fills; it also bounds a batch to about 1.2 MiB
//     ([ErrBatchTooLarge]).
//   - NumMemtables 2: at most one full memtable waits for its flush while
//     the next one fills, so at most about 21 MiB of arenas.
//   - BlockCacheSize 4 MiB: tables are memory-mapped and not compressed, so
//     the cache is optional (a negative size disables it).
//   - ValueThreshold 64 KiB: larger values go to the value log.
//   - ValueLogFileSize 64 MiB: value log files are memory-mapped at twice
//     that size (address space, not memory).
//
// Bulk writes are faster with larger memtables: an agent that applies
// snapshots of 100,000 credentials or more, and must do it within a
// second, sets MemTableSize to 32 MiB (about 84 MiB of arenas at most);
// see Options.MemTableSize for the figures.
//
// An open empty store costs about 11 MiB of heap (the arena) and 2 to 3
// MiB of resident memory, and 14 goroutines of badger's, all ended by
// Close. Tables and logs are memory-mapped: the pages of a large store that
// are read count in the resident set as file-backed, reclaimable memory.
//
// The value log is not garbage-collected by this package: space held by
// overwritten or deleted values of more than ValueThreshold is not
// reclaimed.
package badgerstore
