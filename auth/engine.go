package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/streamauth/streamauth/internal/record"
	"github.com/streamauth/streamauth/keys"
	"github.com/streamauth/streamauth/store"
)

// Options configure an [Engine]. The zero Options are valid.
type Options struct {
	// Pepper, if not empty, keys every digest (HMAC-SHA-256) with this
	// server-side secret of 16 to 64 bytes. Keep it outside the store.
	// Changing it invalidates every issued key. Default: none (SHA-256).
	Pepper []byte
	// Now returns the current time. Default: time.Now.
	Now func() time.Time
	// MaxAttempts bounds how often a write is retried when a concurrent
	// writer changed what it read. Default: 16.
	MaxAttempts int
	// CacheSize is how many keys the engine keeps in memory once they have
	// authenticated, so that a hot key costs no store read; each takes
	// about 75 bytes. A revocation drops its key before it returns.
	// Default (0): [DefaultCacheSize], or every key over a store held in
	// memory ([store.InMemory]), which holds every key in memory already:
	// there a cached key authenticates by reading one cache line where the
	// store's record takes two reads, one after the other. Negative: no
	// cache.
	CacheSize int
	// NoIndex turns off the in-memory index of the digest prefixes of live
	// keys, with which the engine refuses an unknown secret without
	// reading the store, so that a flood of made-up secrets does not turn
	// into a flood of reads. The index costs about 16 bytes per key and,
	// in New, one scan of the keys. It is never kept over a store held in
	// memory.
	NoIndex bool
	// PasswordHash sets the argon2id parameters of new credentials' PLAIN
	// hashes. Default (zero): [DefaultArgon2].
	PasswordHash Argon2Params
	// SCRAMIterations is the PBKDF2 iteration count of new credentials'
	// SCRAM verifiers, 4096 to 16384. Default: 4096, Kafka's.
	SCRAMIterations int
	// MaxPasswordChecks bounds how many argon2id runs (PLAIN logins and
	// credential creations) go at once; each holds PasswordHash.MemoryKiB.
	// Default: GOMAXPROCS.
	MaxPasswordChecks int
	// PasswordCheckWait is how long a PLAIN login or a credential creation
	// waits for a free slot before it fails with ErrBusy. Default: 200ms.
	PasswordCheckWait time.Duration
	// RememberPlain is how long a successful PLAIN check is remembered, so
	// that a reconnecting client costs no argon2id run. Deleting the
	// credential forgets it at once. Default: 5 minutes; negative: never
	// remember.
	RememberPlain time.Duration
	// Shared declares that other engines write to the same store. The
	// cache, the index and the clusters' scopes (what an authorization
	// needs of a cluster) follow the writes made through this engine only,
	// so Shared turns them off and every lookup reads the store.
	Shared bool
}

// DefaultCacheSize is the number of keys an engine caches by default over
// a store that is not held in memory: about 5 MB.
const DefaultCacheSize = 65536

// cacheEveryKey is the cache size of an engine that caches every key: one
// that never evicts.
const cacheEveryKey = math.MaxInt

// Engine issues, looks up, authorizes and revokes streamauth's secrets over
// one [store.Store]. It is safe for concurrent use. Several engines may
// share one store if each is made with [Options.Shared]: every write is a
// guarded commit that is retried when another writer got there first.
//
// The engine does not own the store: closing the store is the caller's job,
// after the last call to the engine.
type Engine struct {
	s           store.Store
	hasher      *keys.Hasher
	now         func() time.Time
	maxAttempts int
	keyBufs     sync.Pool      // of *keyBuf
	hot         *hotKeys       // index and cache of live keys; nil if neither
	scopes      *clusterScopes // clusters' scopes for authorizations; nil if Shared
	passwords   *passwords
	remembered  *remembered // successful PLAIN checks; nil if not kept
	fakeKey     []byte      // the store's key of fake SCRAM salts
	// fixedFakeKey, on an agent, is the served cluster's key of fake
	// SCRAM salts, from its snapshot: the control plane's, so that both
	// answer an unknown user alike.
	fixedFakeKey atomic.Pointer[[sha256.Size]byte]
}

// keyBuf is a buffer for a store key made of a table's byte and a 16-byte
// id or digest prefix (record.HashKey, record.ClusterKeyTo, …), pooled
// because a key handed to the store's interface escapes to the heap. It is
// padded to 128 bytes, a size class whose objects Go places 128 bytes
// apart, so that the buffers two processors write on every lookup never
// share a cache line: at 17 bytes, two of them could, and the line then
// bounced between the cores on every lookup.
type keyBuf struct {
	b [1 + keys.UUIDSize]byte
	_ [128 - 1 - keys.UUIDSize]byte
}

// New returns an engine over s. On an empty store it records the store
// format; on a store of another format, or one that holds data but no
// format record (not a streamauth store), it fails.
//
// A store of format 1, written by a release whose hot key records held the
// whole digest, is upgraded to format 2 before New writes anything else:
// only its format record changes. The engine reads the keys already there
// as they are and writes the keys it creates in the shorter form of format
// 2. An upgraded store is refused by earlier releases
// ([store.ErrUnknownFormat]); an engine of an earlier release already
// running over it (see [Options.Shared]) cannot read the keys created
// since, so stop those before opening the store with this one.
func New(ctx context.Context, s store.Store, opts Options) (*Engine, error) {
	h, err := keys.NewHasher(opts.Pepper)
	if err != nil {
		return nil, invalid("pepper", err)
	}
	e := &Engine{s: s, hasher: h, now: opts.Now, maxAttempts: opts.MaxAttempts}
	if e.now == nil {
		e.now = time.Now
	}
	if e.maxAttempts <= 0 {
		e.maxAttempts = 16
	}
	e.keyBufs.New = func() any { return new(keyBuf) }
	if e.passwords, err = newPasswords(opts.PasswordHash, opts.SCRAMIterations, opts.MaxPasswordChecks, opts.PasswordCheckWait); err != nil {
		return nil, err
	}
	if err := e.checkFormat(ctx); err != nil {
		return nil, err
	}
	if e.fakeKey, err = e.loadFakeKey(ctx); err != nil {
		return nil, err
	}
	if ttl := opts.RememberPlain; ttl >= 0 && !opts.Shared {
		if ttl == 0 {
			ttl = 5 * time.Minute
		}
		if e.remembered, err = newRemembered(ttl.Nanoseconds()); err != nil {
			return nil, err
		}
	}
	if !opts.Shared {
		e.scopes = newClusterScopes(scopeCap)
		inMemory := store.IsInMemory(s)
		cacheSize := opts.CacheSize
		if cacheSize == 0 {
			cacheSize = DefaultCacheSize
			if inMemory {
				cacheSize = cacheEveryKey
			}
		}
		e.hot = newHotKeys(!opts.NoIndex && !inMemory, cacheSize)
	}
	if e.hot != nil && e.hot.index {
		if err := e.loadIndex(ctx); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// loadFakeKey returns the store's key of fake SCRAM salts, drawing and
// writing one if the store has none yet.
func (e *Engine) loadFakeKey(ctx context.Context) ([]byte, error) {
	k := make([]byte, fakeKeyLen)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	v, err := e.putOnce(ctx, record.FakeSaltKey, k, "fake salt key")
	if err != nil {
		return nil, err
	}
	if len(v) != fakeKeyLen {
		return nil, fmt.Errorf("%w: fake salt key of %d bytes", store.ErrCorrupt, len(v))
	}
	return v, nil
}

// putOnce writes value under key unless the key holds a value already, and
// returns what the key holds: value, or what an earlier (or a concurrent)
// writer put there.
func (e *Engine) putOnce(ctx context.Context, key, value []byte, what string) ([]byte, error) {
	v, err := e.s.Get(ctx, key)
	if err == nil {
		return v, nil
	}
	if !isNotFound(err) {
		return nil, fmt.Errorf("auth: reading %s: %w", what, err)
	}
	var b store.Batch
	b.RequireAbsent(key).Put(key, value)
	if err := e.s.Commit(ctx, &b); err == nil {
		return value, nil
	} else if !errors.Is(err, store.ErrConflict) {
		return nil, fmt.Errorf("auth: writing %s: %w", what, err)
	}
	// Another engine wrote it first; read what it wrote.
	if v, err = e.s.Get(ctx, key); err != nil {
		return nil, fmt.Errorf("auth: reading %s: %w", what, err)
	}
	return v, nil
}

const fakeKeyLen = 32

// loadIndex fills the index with the digest prefix of every key in the
// store.
func (e *Engine) loadIndex(ctx context.Context) error {
	err := e.s.Scan(ctx, record.HashPrefix(), func(k, _ []byte) error {
		p, err := record.HashKeyPrefix(k)
		if err != nil {
			return err
		}
		e.hot.load(p)
		return nil
	})
	if err != nil {
		return fmt.Errorf("auth: loading the key index: %w", err)
	}
	return nil
}

// checkFormat checks the store's format record, writing one on an empty
// store, and upgrades a store of an older format this code reads
// (record.MinStoreFormat) to record.StoreFormat before anything else is
// written: see [New].
func (e *Engine) checkFormat(ctx context.Context) error {
	v, err := e.s.Get(ctx, record.MetaKey)
	if err == nil {
		return e.upgradeFormat(ctx, v)
	}
	if !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("auth: reading store format: %w", err)
	}
	empty := true
	err = e.s.Scan(ctx, nil, func(_, _ []byte) error {
		empty = false
		return errStopScan
	})
	if err != nil && !errors.Is(err, errStopScan) {
		return fmt.Errorf("auth: reading store: %w", err)
	}
	if !empty {
		return fmt.Errorf("%w: store holds data but no streamauth format record", store.ErrCorrupt)
	}
	if v, err = e.putOnce(ctx, record.MetaKey, record.MetaValue(), "store format"); err != nil {
		return err
	}
	// Another engine may have written the format record first, an earlier
	// release's among them: what it wrote is upgraded as a store found so.
	return e.upgradeFormat(ctx, v)
}

// upgradeFormat brings a store whose format record holds v to
// record.StoreFormat. The records of the older format stay as they are
// (this code reads them); only the format record changes, in a commit
// guarded on its old value, so that an earlier release opened over the
// store afterwards refuses it rather than misreading what this code
// writes. A conflict is another engine having changed the record first:
// the record is read again and checked again.
func (e *Engine) upgradeFormat(ctx context.Context, v []byte) error {
	for range e.maxAttempts {
		f, err := record.MetaFormat(v)
		if err != nil || f == record.StoreFormat {
			return err
		}
		var b store.Batch
		b.RequireValue(record.MetaKey, v).Put(record.MetaKey, record.MetaValue())
		err = e.s.Commit(ctx, &b)
		if err == nil {
			return nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("auth: upgrading store format %d to %d: %w", f, record.StoreFormat, err)
		}
		if v, err = e.s.Get(ctx, record.MetaKey); err != nil {
			return fmt.Errorf("auth: reading store format: %w", err)
		}
	}
	return fmt.Errorf("auth: gave up upgrading the store format after %d conflicting writes: %w", e.maxAttempts, store.ErrConflict)
}

var errStopScan = errors.New("auth: stop scan")

// nowNano returns the current time in Unix nanoseconds.
func (e *Engine) nowNano() int64 { return e.now().UnixNano() }

// write is one transaction's guarded batch, with what it does to the set
// of live keys, so that the engine's index and cache can follow it.
type write struct {
	store.Batch
	added, removed [][keys.PrefixSize]byte // digest prefixes of keys created and deleted
	removedCreds   []keys.CredentialID     // credentials deleted
	// clusters whose records are deleted other than through the batch's
	// own ops (an agent's staged apply); those the batch deletes are found
	// in it
	deletedClusters []keys.ClusterID
	// committed, if set, runs once the store committed the batch, before
	// the index, cache, remembered logins and clusters' scopes learn of it.
	committed func()
	// tookEffect, if set, tells whether a commit that failed other than on
	// a guard took effect all the same (a sync that failed after the
	// write, say). If it did, commit treats it as a commit that succeeded.
	tookEffect func() bool
}

// update runs a read-decide-write transaction: build reads the store and
// fills a guarded batch, which is committed; if a guard fails because a
// concurrent writer changed what build read, build runs again on the new
// state. An error from build ends the transaction unchanged.
func (e *Engine) update(ctx context.Context, build func(b *write) error) error {
	for range e.maxAttempts {
		var w write
		if err := build(&w); err != nil {
			return err
		}
		err := e.commit(ctx, &w)
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("auth: gave up after %d conflicting writes: %w", e.maxAttempts, store.ErrConflict)
}

// commit commits w, with the engine's own state (index, cache, remembered
// logins, clusters' scopes) told before and after. A commit that failed but
// took effect, as w.tookEffect tells, returns nil.
func (e *Engine) commit(ctx context.Context, w *write) error {
	hot := e.hot != nil && len(w.added)+len(w.removed) > 0
	creds := e.remembered != nil && len(w.removedCreds) > 0
	var deleted []keys.ClusterID
	if e.scopes != nil {
		deleted = append(deletedClusters(&w.Batch), w.deletedClusters...)
		e.scopes.begin(deleted)
	}
	if hot {
		e.hot.begin(w)
	}
	if creds {
		e.remembered.begin()
	}
	err := e.s.Commit(ctx, &w.Batch)
	conflict := errors.Is(err, store.ErrConflict)
	if err != nil && !conflict && w.tookEffect != nil && w.tookEffect() {
		err = nil
	}
	if err == nil && w.committed != nil {
		w.committed()
	}
	if hot {
		// A failed guard writes nothing; any other failure may have
		// happened after the write took effect.
		e.hot.end(w, err == nil, err == nil || conflict)
	}
	if creds {
		e.remembered.end(w.removedCreds)
	}
	if e.scopes != nil {
		e.scopes.end(deleted)
	}
	return err
}

// get reads a record; an absent key is ErrNotFound of this package, with
// what names the kind of thing.
func (e *Engine) get(ctx context.Context, key []byte, what string) ([]byte, error) {
	v, err := e.s.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, what)
	}
	return v, err
}

// scanIDs calls fn with the trailing id of every listing entry under
// prefix, in order.
func scanIDs[K keys.Kind](ctx context.Context, e *Engine, prefix []byte, fn func(keys.ID[K]) error) error {
	return e.s.Scan(ctx, prefix, func(k, _ []byte) error {
		b, err := record.LastID(k)
		if err != nil {
			return err
		}
		var id keys.ID[K]
		if err := id.SetBytes(b); err != nil {
			return err
		}
		return fn(id)
	})
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

// deletedSince reports whether a record listed by a scan was not found when
// read: it was deleted after the scan began, and a listing leaves it out.
func deletedSince(err error) bool { return errors.Is(err, ErrNotFound) }
