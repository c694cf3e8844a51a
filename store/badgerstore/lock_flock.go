//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package badgerstore

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// ownLock reports whether this package locks the directory itself (and
// opens badger with BypassLockGuard). It does where flock exists: the lock
// is then held before the directory is inspected, and is the same lock
// badger and its tools take (an exclusive flock of the directory), so they
// exclude each other.
const ownLock = true

// lockDir takes an exclusive, non-blocking flock of dir and returns the
// function that releases it. An flock belongs to an open file description,
// so a second lock fails whether it is taken by another process or by this
// one.
func lockDir(dir string) (unlock func() error, err error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("badgerstore: lock %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, dir)
		}
		return nil, fmt.Errorf("badgerstore: lock %s: %w", dir, err)
	}
	return f.Close, nil // closing the last descriptor releases the lock
}
