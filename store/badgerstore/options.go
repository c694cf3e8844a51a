package badgerstore

import (
	"fmt"
	"log/slog"

	"github.com/streamauth/streamauth/store"
)

// Default sizes of the settings of [Options] left at zero. They are sized for
// a small agent: badger's own defaults (64 MiB memtables, five of them, a
// 256 MiB block cache, 1 GiB value log files) are made for a database server.
const (
	DefaultMemTableSize     = 8 << 20
	DefaultNumMemtables     = 2
	DefaultBlockCacheSize   = 4 << 20
	DefaultValueThreshold   = 64 << 10
	DefaultValueLogFileSize = 64 << 20
)

// minValueLogFileSize is the smallest value log file that holds a value of
// store.MaxValueSize with its key and header: badger refuses a value larger
// than a value log file.
const minValueLogFileSize = store.MaxValueSize + store.MaxKeySize + 1<<10

// Options configures [Open]. The zero Options is the recommended
// configuration: synced commits, no logging, modest memory.
type Options struct {
	// NoSync, if true, lets Commit return before its writes reach stable
	// storage (badger's SyncWrites=false): a crash of the machine (not only
	// of the process) may then lose the last commits acknowledged before it.
	// It is unsafe for data that must not be lost once acknowledged, such
	// as revocations: a revocation lost in a crash makes a revoked
	// credential valid again. Default false: every Commit is durable when it
	// returns.
	NoSync bool

	// Logger receives badger's log messages, at their level (badger logs on
	// open and close, and on compactions and errors). Default nil: nothing
	// is logged, and Open and Close print nothing.
	Logger *slog.Logger

	// MemTableSize is the size of one memtable, the in-memory write buffer
	// that is flushed to a table file on disk when full. Badger allocates a
	// memtable's whole arena up front, on the Go heap: about 1.3 times
	// MemTableSize per memtable (the memtable plus room for one batch). It
	// also bounds a batch: a Commit may write at most about 15% of it (keys
	// plus the values stored inline, see ValueThreshold), else it fails with
	// [ErrBatchTooLarge]. Default [DefaultMemTableSize] (8 MiB: a 10.4 MiB
	// arena, batches of up to about 1.2 MiB).
	//
	// Larger memtables make bulk writes faster, at the cost of their
	// arenas: an agent's first apply of a snapshot of 100,000 credentials
	// (300,000 records, 45 MB) takes about 1.2 s at the default and 0.9 s
	// at 32 MiB (two 42 MiB arenas), on the 2-core machine of the README
	// (bench: BenchmarkSnapshotApply/badger and .../badger-memtable32).
	MemTableSize int64

	// NumMemtables is how many memtables may exist at once, the one being
	// written and those waiting to be flushed; writes stall when they are
	// all full. Each costs one arena (see MemTableSize). Default
	// [DefaultNumMemtables] (2).
	NumMemtables int

	// BlockCacheSize is the size of the cache of decoded table blocks.
	// Tables are memory-mapped and not compressed, so reads work without
	// it: the cache only saves decoding a block again. A negative value
	// disables it. Default [DefaultBlockCacheSize] (4 MiB).
	BlockCacheSize int64

	// ValueThreshold is the size above which a value is stored in the value
	// log instead of inline in the tables. Values in the value log cost an
	// extra read and their space is reclaimed only by value log garbage
	// collection, which this package does not run: keep it above the size
	// of the values the store usually holds. It must not exceed 1 MiB nor
	// 15% of MemTableSize. Default [DefaultValueThreshold] (64 KiB).
	ValueThreshold int64

	// ValueLogFileSize is the size at which a value log file is rotated.
	// Files are memory-mapped at twice this size (a sparse mapping: address
	// space, not memory). It must hold a value of store.MaxValueSize, so
	// it is at least a little over 4 MiB. Default [DefaultValueLogFileSize]
	// (64 MiB).
	ValueLogFileSize int64
}

// withDefaults returns o with every zero setting replaced by its default,
// and checks the settings.
func (o Options) withDefaults() (Options, error) {
	if o.MemTableSize == 0 {
		o.MemTableSize = DefaultMemTableSize
	}
	if o.NumMemtables == 0 {
		o.NumMemtables = DefaultNumMemtables
	}
	switch {
	case o.BlockCacheSize == 0:
		o.BlockCacheSize = DefaultBlockCacheSize
	case o.BlockCacheSize < 0:
		o.BlockCacheSize = 0
	}
	if o.ValueThreshold == 0 {
		o.ValueThreshold = min(DefaultValueThreshold, o.MemTableSize*15/100)
	}
	if o.ValueLogFileSize == 0 {
		o.ValueLogFileSize = DefaultValueLogFileSize
	}
	switch {
	case o.MemTableSize < 1<<20:
		return o, fmt.Errorf("badgerstore: MemTableSize %d is below 1 MiB", o.MemTableSize)
	case o.NumMemtables < 1:
		return o, fmt.Errorf("badgerstore: NumMemtables %d is below 1", o.NumMemtables)
	case o.ValueThreshold < 1 || o.ValueThreshold > 1<<20 || o.ValueThreshold > o.MemTableSize*15/100:
		return o, fmt.Errorf("badgerstore: ValueThreshold %d is not in [1, min(1 MiB, 15%% of MemTableSize)]", o.ValueThreshold)
	case o.ValueLogFileSize < minValueLogFileSize || o.ValueLogFileSize >= 2<<30:
		return o, fmt.Errorf("badgerstore: ValueLogFileSize %d is not in [%d, 2 GiB)", o.ValueLogFileSize, minValueLogFileSize)
	}
	return o, nil
}
