// Package faultstore wraps a [store.Store] and makes some of its calls fail,
// for fault-injection tests of code written against store.Store.
//
// Every call of Get, Scan and Commit gets a number, 0, 1, 2, ... in the order
// the calls start (Close is neither numbered nor ever failed). A [Policy]
// decides from that number whether the call fails. A failed call returns an
// error wrapping [ErrInjected] and does not reach the inner store: a failed
// Commit writes nothing, a failed Scan calls its function never.
//
// A typical sweep runs a workload once per n = 0, 1, 2, ... with
// [FailNth](n), and stops once [Store.Calls] shows the workload made no more
// than n calls, so that the failure no longer fired.
package faultstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/streamauth/streamauth/store"
)

// ErrInjected is wrapped by every error the wrapper makes up.
var ErrInjected = errors.New("faultstore: injected failure")

// Policy decides which calls fail. Fail is called once per numbered call,
// with its number, and must be safe for concurrent use.
type Policy interface {
	Fail(call int) bool
}

// PolicyFunc adapts a function to a Policy.
type PolicyFunc func(call int) bool

// Fail calls f.
func (f PolicyFunc) Fail(call int) bool { return f(call) }

// FailNth fails call n only (0-based). A negative n never fails.
func FailNth(n int) Policy {
	return PolicyFunc(func(call int) bool { return n >= 0 && call == n })
}

// Never fails no call.
func Never() Policy { return FailNth(-1) }

// FailProbability fails each call with probability p, drawn from a PCG
// generator seeded with seed: the same sequence of calls fails the same way
// on every run. Under concurrent calls the draws are taken in the order the
// calls reach the policy.
func FailProbability(p float64, seed uint64) Policy {
	return &probPolicy{p: p, r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

type probPolicy struct {
	p  float64
	mu sync.Mutex
	r  *rand.Rand
}

func (q *probPolicy) Fail(int) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.r.Float64() < q.p
}

// Store is a store.Store that fails the calls its policy selects and passes
// every other call to the inner store. It is safe for concurrent use if the
// inner store is.
type Store struct {
	inner  store.Store
	policy Policy
	calls  atomic.Int64
	failed atomic.Int64
}

var _ store.Store = (*Store)(nil)

// New wraps inner. A nil policy never fails.
func New(inner store.Store, policy Policy) *Store {
	if policy == nil {
		policy = Never()
	}
	return &Store{inner: inner, policy: policy}
}

// Calls returns how many Get, Scan and Commit calls were made so far,
// failed ones included.
func (s *Store) Calls() int { return int(s.calls.Load()) }

// Failures returns how many calls were failed so far.
func (s *Store) Failures() int { return int(s.failed.Load()) }

// Inner returns the wrapped store.
func (s *Store) Inner() store.Store { return s.inner }

// check numbers a call and returns an injected error if it must fail.
func (s *Store) check(op string) error {
	n := int(s.calls.Add(1) - 1)
	if !s.policy.Fail(n) {
		return nil
	}
	s.failed.Add(1)
	return fmt.Errorf("%w: %s (call %d)", ErrInjected, op, n)
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, key []byte) ([]byte, error) {
	if err := s.check("get"); err != nil {
		return nil, err
	}
	return s.inner.Get(ctx, key)
}

// Scan implements store.Store.
func (s *Store) Scan(ctx context.Context, prefix []byte, fn func(key, value []byte) error) error {
	if err := s.check("scan"); err != nil {
		return err
	}
	return s.inner.Scan(ctx, prefix, fn)
}

// Commit implements store.Store.
func (s *Store) Commit(ctx context.Context, b *store.Batch) error {
	if err := s.check("commit"); err != nil {
		return err
	}
	return s.inner.Commit(ctx, b)
}

// Close closes the inner store; it is never failed.
func (s *Store) Close() error { return s.inner.Close() }
