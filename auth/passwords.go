package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"runtime"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/streamauth/streamauth/internal/record"
	"github.com/streamauth/streamauth/internal/scram"
	"github.com/streamauth/streamauth/keys"
)

// Argon2Params are the argon2id parameters with which new credentials'
// passwords are hashed for SASL PLAIN. Each check of a password holds
// MemoryKiB of memory while it runs.
type Argon2Params struct {
	Time      uint32 // passes over the memory, 1 to 10
	MemoryKiB uint32 // 8×Threads to 256 MiB
	Threads   uint8  // 1 to 16
}

// DefaultArgon2 is one pass over 64 MiB on one lane: more memory than
// OWASP's first recommendation for argon2id (46 MiB, one pass, one lane),
// RFC 9106's memory size with one lane instead of four, since logins run
// side by side and each may use one core. A check costs about 40 ms on one
// core of a current server. Generated passwords hold 256 random bits and
// need no stretching; the hash is there for imported ones.
var DefaultArgon2 = Argon2Params{Time: 1, MemoryKiB: 64 * 1024, Threads: 1}

func (a Argon2Params) check() error {
	if !record.ValidArgon2(a.Time, a.MemoryKiB, a.Threads) {
		return invalid("argon2 parameters out of bounds", nil)
	}
	return nil
}

const (
	argon2SaltLen = 16
	argon2KeyLen  = 32
)

// passwords hashes and checks cluster-credential passwords, with at most
// cap(slots) argon2id computations at once: each holds tens of MiB, and a
// storm of logins must not become an out-of-memory kill.
type passwords struct {
	argon     Argon2Params
	scramIter int
	slots     chan struct{}
	wait      time.Duration // how long a check waits for a slot
	fake      record.Argon2Hash
}

func newPasswords(a Argon2Params, scramIter, maxChecks int, wait time.Duration) (*passwords, error) {
	if a == (Argon2Params{}) {
		a = DefaultArgon2
	}
	if err := a.check(); err != nil {
		return nil, err
	}
	if scramIter == 0 {
		scramIter = scram.DefaultIterations
	}
	if scramIter < scram.MinIterations || scramIter > scram.MaxIterations {
		return nil, invalid("SCRAM iterations out of bounds", nil)
	}
	if maxChecks <= 0 {
		maxChecks = runtime.GOMAXPROCS(0)
	}
	if wait == 0 {
		wait = 200 * time.Millisecond
	}
	p := &passwords{argon: a, scramIter: scramIter, slots: make(chan struct{}, maxChecks), wait: wait}
	// An unknown user's password is checked against this, so that a
	// login costs the same whether or not the user exists.
	p.fake = record.Argon2Hash{Time: a.Time, Memory: a.MemoryKiB, Threads: a.Threads,
		Salt: make([]byte, argon2SaltLen), Hash: make([]byte, argon2KeyLen)}
	return p, nil
}

// acquire takes a hashing slot, waiting at most p.wait (or until ctx is
// done): excess logins are refused quickly, never queued without bound.
func (p *passwords) acquire(ctx context.Context) error {
	select {
	case p.slots <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(p.wait)
	defer t.Stop()
	select {
	case p.slots <- struct{}{}:
		return nil
	case <-t.C:
		return errBusy
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *passwords) release() { <-p.slots }

// derive fills rec's argon2id hash and SCRAM verifiers from password.
func (p *passwords) derive(ctx context.Context, rec *record.Credential, password keys.Password) error {
	plain := password.AppendPlain(make([]byte, 0, keys.MaxPasswordLen))
	defer clear(plain)
	salt := make([]byte, argon2SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return fmt.Errorf("auth: reading random bytes: %w", err)
	}
	if err := p.acquire(ctx); err != nil {
		return err
	}
	hash := argon2.IDKey(plain, salt, p.argon.Time, p.argon.MemoryKiB, p.argon.Threads, argon2KeyLen)
	p.release()
	rec.Argon2 = record.Argon2Hash{Time: p.argon.Time, Memory: p.argon.MemoryKiB, Threads: p.argon.Threads, Salt: salt, Hash: hash}
	for i, m := range [2]scram.Mechanism{scram.SHA256, scram.SHA512} {
		v, err := scram.NewVerifier(m, plain, nil, p.scramIter)
		if err != nil {
			return err
		}
		rec.SCRAM[i] = record.SCRAMVerifier{Iterations: uint32(v.Iterations), Salt: v.Salt, StoredKey: v.StoredKey, ServerKey: v.ServerKey}
	}
	return nil
}

// check reports whether password matches h, in constant time. A nil h
// checks against a fake hash and reports false, with the same work.
func (p *passwords) check(ctx context.Context, h *record.Argon2Hash, password []byte) (bool, error) {
	known := h != nil
	if !known {
		h = &p.fake
	}
	if err := p.acquire(ctx); err != nil {
		return false, err
	}
	got := argon2.IDKey(password, h.Salt, h.Time, h.Memory, h.Threads, uint32(len(h.Hash)))
	p.release()
	return subtle.ConstantTimeCompare(got, h.Hash) == 1 && known, nil
}
