package memstore

import (
	"sync"
	"unsafe"
)

// lockShards is the number of shards of a store's lock. A power of two.
const lockShards = 32

// shardedLock is a reader-writer lock made of lockShards reader-writer
// locks, each on its own cache line. A reader takes one shard's read lock,
// the shard of its key's hash; a writer takes every shard's write lock, in
// order. Holding any one shard's read lock excludes every writer, as one
// lock would; but readers on different cores update different cache lines,
// where one lock's reader count would bounce between them on every read
// and keep reads on two cores from running much faster than on one. A
// write pays lockShards lock operations instead of one: writes are rare
// next to reads.
//
// Each shard takes 128 bytes and the shards are fenced off from the
// store's other fields by 128 bytes on each side, so that however the
// store is aligned, no two shards, and no shard and another field read on
// every Get, share a 64-byte cache line (nor, mostly, the line pair that
// processors fetch together).
type shardedLock struct {
	_      [128]byte
	shards [lockShards]paddedRWMutex
	_      [128]byte
}

type paddedRWMutex struct {
	sync.RWMutex
	_ [128 - unsafe.Sizeof(sync.RWMutex{})]byte
}

// rlock takes the read lock of the shard of hash h and returns it, for
// the caller to RUnlock.
func (l *shardedLock) rlock(h uint64) *sync.RWMutex {
	m := &l.shards[h&(lockShards-1)].RWMutex
	m.RLock()
	return m
}

// lock takes every shard's write lock.
func (l *shardedLock) lock() {
	for i := range l.shards {
		l.shards[i].Lock()
	}
}

// unlock releases every shard's write lock.
func (l *shardedLock) unlock() {
	for i := range l.shards {
		l.shards[i].Unlock()
	}
}
