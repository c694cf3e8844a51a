package auth_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/streamauth/streamauth/auth"
	"github.com/streamauth/streamauth/store"
	"github.com/streamauth/streamauth/store/memstore"
)

// commitHookStore runs a hook before each Commit, which may take the
// commit over (handled) and return its error.
type commitHookStore struct {
	store.Store
	mu   sync.Mutex
	hook func(ctx context.Context, b *store.Batch) (handled bool, err error)
}

func (s *commitHookStore) setHook(f func(ctx context.Context, b *store.Batch) (bool, error)) {
	s.mu.Lock()
	s.hook = f
	s.mu.Unlock()
}

func (s *commitHookStore) Commit(ctx context.Context, b *store.Batch) error {
	s.mu.Lock()
	f := s.hook
	s.mu.Unlock()
	if f != nil {
		if handled, err := f(ctx, b); handled {
			return err
		}
	}
	return s.Store.Commit(ctx, b)
}

// hookedAgent returns a memory store, a commitHookStore over it and an
// agent over that, which applied v1.
func (l *largeReapply) hookedAgent(t *testing.T) (*memstore.Store, *commitHookStore, *auth.Agent) {
	t.Helper()
	inner := memstore.New()
	t.Cleanup(func() { inner.Close() })
	hs := &commitHookStore{Store: inner}
	ag := l.agent(t, hs, auth.AgentOptions{})
	if err := ag.Apply(l.ctx, l.v1); err != nil {
		t.Fatal(err)
	}
	return inner, hs, ag
}

// failMoves returns a commit hook that fails every commit moving staged
// changes into place with err, and lets the others through.
func failMoves(err error) func(context.Context, *store.Batch) (bool, error) {
	return func(_ context.Context, b *store.Batch) (bool, error) {
		if isMoveChunk(b) {
			return true, err
		}
		return false, nil
	}
}

// isMoveChunk reports whether b moves staged changes into place: it
// deletes a staged key ('S') and writes another.
func isMoveChunk(b *store.Batch) bool {
	ops := b.Ops()
	return len(ops) > 1 && ops[1].Kind == store.OpDelete && ops[1].Key[0] == 'S'
}

// TestAgentApplyTookEffectDespiteError makes each commit of a large apply,
// in turn, take effect and then report an error (a sync that failed after
// the write). Whatever the commit, the applying agent answers as its store
// holds, a restarted agent finds one whole snapshot and nothing staged
// left, and a later snapshot applies over it.
func TestAgentApplyTookEffectDespiteError(t *testing.T) {
	l := newLargeReapply(t, 5000)
	for n := 0; ; n++ {
		inner := memstore.New()
		if err := l.agent(t, inner, auth.AgentOptions{}).Apply(l.ctx, l.v1); err != nil {
			t.Fatal(err)
		}
		hs := &commitHookStore{Store: inner}
		ag := l.agent(t, hs, auth.AgentOptions{})
		commits := 0
		hs.setHook(func(ctx context.Context, b *store.Batch) (bool, error) {
			if commits++; commits-1 != n {
				return false, nil
			}
			if err := inner.Commit(ctx, b); err != nil {
				return true, err
			}
			return true, errors.New("injected: sync failed after the write")
		})
		err := ag.Apply(l.ctx, l.v2)
		hs.setHook(nil)
		v := ag.Version()
		if err == nil && v != 2 {
			t.Fatalf("commit %d: apply succeeded at version %d", n, v)
		}
		l.check(t, ag, v, "the applying agent")
		restarted := l.agent(t, inner, auth.AgentOptions{})
		l.check(t, restarted, v, "a restarted agent")
		if err := inner.Scan(l.ctx, []byte("S"), func(k, _ []byte) error { return errors.New("staged change left") }); err != nil {
			t.Fatalf("commit %d: after a restart: %v", n, err)
		}
		if _, err := inner.Get(l.ctx, []byte("L")); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("commit %d: after a restart, the live marker: %v", n, err)
		}
		if err := restarted.Apply(l.ctx, l.v2); v == 1 && err != nil || v == 2 && !errors.Is(err, auth.ErrSnapshotRollback) {
			t.Fatalf("commit %d: applying again at version %d: %v", n, v, err)
		}
		l.check(t, restarted, 2, "after applying again")
		inner.Close()
		if commits <= n {
			t.Logf("swept %d commits", n)
			return
		}
	}
}

// TestAgentReplacedWhileStaging: an agent opened over the store while
// another stages a large apply takes the store over; the first's apply
// fails with ErrAgentReplaced and changes nothing in force.
func TestAgentReplacedWhileStaging(t *testing.T) {
	l := newLargeReapply(t, 5000)
	inner, hs, ag := l.hookedAgent(t)
	var second *auth.Agent
	hs.setHook(func(ctx context.Context, b *store.Batch) (bool, error) {
		hs.setHook(nil)
		second = l.agent(t, inner, auth.AgentOptions{})
		return false, nil
	})
	if err := ag.Apply(l.ctx, l.v2); !errors.Is(err, auth.ErrAgentReplaced) {
		t.Fatalf("apply while another agent took the store over: %v, want ErrAgentReplaced", err)
	}
	l.check(t, ag, 1, "the replaced agent")
	l.check(t, l.agent(t, inner, auth.AgentOptions{}), 1, "an agent opened after")
	if err := second.Apply(l.ctx, l.v2); !errors.Is(err, auth.ErrAgentReplaced) {
		t.Fatalf("the second agent, replaced in turn: %v, want ErrAgentReplaced", err)
	}
}

// TestAgentReplacedWhileMoving: an agent opened over the store while
// another moves a large apply into place finishes the move and applies
// the next snapshot; the first stops at its next chunk, with
// ErrAgentReplaced, and writes nothing over the next snapshot.
func TestAgentReplacedWhileMoving(t *testing.T) {
	l := newLargeReapply(t, 5000)
	gone := l.added[:2500]
	for _, k := range gone {
		if err := l.cp.DeleteKey(l.ctx, k.Key.ID); err != nil {
			t.Fatal(err)
		}
	}
	l.now = l.now.Add(time.Second)
	v3 := l.export(t, l.a.Cluster.ID, 24*time.Hour)
	inner, hs, ag := l.hookedAgent(t)
	chunks := 0
	hs.setHook(func(ctx context.Context, b *store.Batch) (bool, error) {
		if isMoveChunk(b) {
			if chunks++; chunks == 2 {
				hs.setHook(nil)
				second := l.agent(t, inner, auth.AgentOptions{})
				if err := second.Apply(l.ctx, v3); err != nil {
					t.Errorf("the second agent's apply during the first's move: %v", err)
				}
			}
		}
		return false, nil
	})
	if err := ag.Apply(l.ctx, l.v2); !errors.Is(err, auth.ErrAgentReplaced) {
		t.Fatalf("apply while another agent took the store over: %v, want ErrAgentReplaced", err)
	}
	fresh := l.agent(t, inner, auth.AgentOptions{})
	if v := fresh.Version(); v != 3 {
		t.Fatalf("store at version %d, want 3", v)
	}
	if n := countAuthenticated(t, l, fresh, gone); n != 0 {
		t.Fatalf("%d of the %d keys version 3 revoked authenticate", n, len(gone))
	}
	if n := countAuthenticated(t, l, fresh, l.added[2500:]); n != 2500 {
		t.Fatalf("%d of the 2,500 keys version 3 kept authenticate", n)
	}
}

// countAuthenticated counts the keys of ks that authenticate at ag.
func countAuthenticated(t *testing.T, l *largeReapply, ag *auth.Agent, ks []auth.IssuedKey) int {
	t.Helper()
	n := 0
	for _, k := range ks {
		if _, err := ag.AuthenticateAgent(l.ctx, k.Secret.Reveal()); err == nil {
			n++
		} else if !errors.Is(err, auth.ErrUnauthenticated) {
			t.Fatal(err)
		}
	}
	return n
}

// readHookStore is a commitHookStore that also runs a hook before each Get
// and declares itself in memory, so that the engine keeps no index or
// cache and every lookup reads the store.
type readHookStore struct {
	commitHookStore
	get func(key []byte)
}

func (s *readHookStore) InMemory() bool { return true }

func (s *readHookStore) Get(ctx context.Context, key []byte) ([]byte, error) {
	s.mu.Lock()
	f := s.get
	s.mu.Unlock()
	if f != nil {
		f(key)
	}
	return s.Store.Get(ctx, key)
}

// TestAgentStalledReaderAcrossApplies: a reader that began during the move
// of version 2 and is held up until version 3 is staged (and then fails to
// be put in force) never sees version 3's staged changes: it looks only
// for the changes staged for the version whose move it saw.
func TestAgentStalledReaderAcrossApplies(t *testing.T) {
	l := newLargeReapply(t, 5000)
	var v3keys []auth.IssuedKey
	for range 5000 {
		v3keys = append(v3keys, must(l.cp.CreateAgentKey(l.ctx, l.a.Cluster.Workspace, l.a.Cluster.ID, "akn_fleet", time.Time{})))
	}
	l.now = l.now.Add(time.Second)
	v3 := l.export(t, l.a.Cluster.ID, 24*time.Hour)
	inner := memstore.New()
	defer inner.Close()
	rs := &readHookStore{commitHookStore: commitHookStore{Store: inner}}
	ag := l.agent(t, rs, auth.AgentOptions{})
	if err := ag.Apply(l.ctx, l.v1); err != nil {
		t.Fatal(err)
	}
	blocked, release, readerDone := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	var once sync.Once
	rs.mu.Lock()
	rs.get = func(key []byte) {
		if len(key) > 9 && key[0] == 'S' && key[9] == 'H' { // the reader's look at a staged hot record
			once.Do(func() {
				close(blocked)
				<-release
			})
		}
	}
	rs.mu.Unlock()
	started := false
	rs.setHook(func(ctx context.Context, b *store.Batch) (bool, error) {
		if !started && isMoveChunk(b) {
			started = true
			go func() {
				_, err := ag.AuthenticateAgent(l.ctx, v3keys[0].Secret.Reveal())
				readerDone <- err
			}()
			<-blocked
		}
		return false, nil
	})
	if err := ag.Apply(l.ctx, l.v2); err != nil {
		t.Fatal(err)
	}
	var readerErr error
	rs.setHook(func(ctx context.Context, b *store.Batch) (bool, error) {
		for _, op := range b.Ops() {
			if op.Kind == store.OpPut && string(op.Key) == "L" {
				close(release)
				readerErr = <-readerDone
				return true, errors.New("injected: failed before the write")
			}
		}
		return false, nil
	})
	if err := ag.Apply(l.ctx, v3); err == nil {
		t.Fatal("the apply of version 3 succeeded despite its failed commit")
	}
	if !started || !errors.Is(readerErr, auth.ErrUnauthenticated) {
		t.Fatalf("a reader at version %d authenticated a key only version 3 holds: %v (reader ran: %v)", ag.Version(), readerErr, started)
	}
	l.check(t, ag, 2, "after the failed apply of version 3")
}

// TestAgentReplacedLeavesSuccessorsMove: an agent replaced by a second one,
// whose apply failed after putting its snapshot in force (the live marker
// and the staged changes are in the store), gets ErrAgentReplaced from
// Apply, and leaves the move to the second agent: it neither finishes it
// nor fails with the guard's conflict.
func TestAgentReplacedLeavesSuccessorsMove(t *testing.T) {
	l := newLargeReapply(t, 5000)
	inner, hs, first := l.hookedAgent(t)
	second := l.agent(t, hs, auth.AgentOptions{})
	failed := errors.New("injected move failure")
	hs.setHook(failMoves(failed))
	if err := second.Apply(l.ctx, l.v2); !errors.Is(err, failed) {
		t.Fatalf("second agent's apply with its move failing: %v, want the injected failure", err)
	}
	hs.setHook(func(ctx context.Context, b *store.Batch) (bool, error) {
		t.Errorf("the replaced agent committed a batch of %d operations", b.Len())
		return true, store.ErrConflict
	})
	if err := first.Apply(l.ctx, l.v2); !errors.Is(err, auth.ErrAgentReplaced) {
		t.Fatalf("replaced agent's apply over its successor's move: %v, want ErrAgentReplaced", err)
	}
	hs.setHook(nil)
	if err := second.Apply(l.ctx, l.v2); !errors.Is(err, auth.ErrSnapshotRollback) {
		t.Fatalf("second agent's apply of the version in force: %v, want ErrSnapshotRollback", err)
	}
	if n := countAuthenticated(t, l, second, l.added); n != len(l.added) {
		t.Fatalf("%d of the %d keys of version 2 authenticate once the second agent finished its move", n, len(l.added))
	}
	if err := inner.Scan(l.ctx, []byte("S"), func(k, _ []byte) error {
		return errors.New("a staged record is left")
	}); err != nil {
		t.Fatal(err)
	}
}

// TestAgentNextApplyFinishesMove: when the move of a large apply fails, the
// snapshot is in force and the same agent's next Apply finishes the move
// before it decides anything: applying the version in force again is then
// a rollback, and nothing staged is left.
func TestAgentNextApplyFinishesMove(t *testing.T) {
	l := newLargeReapply(t, 5000)
	inner, hs, ag := l.hookedAgent(t)
	failed := errors.New("injected move failure")
	hs.setHook(failMoves(failed))
	if err := ag.Apply(l.ctx, l.v2); !errors.Is(err, failed) {
		t.Fatalf("apply with its move failing: %v, want the injected failure", err)
	}
	if _, err := inner.Get(l.ctx, []byte("L")); err != nil {
		t.Fatalf("the live marker after a failed move: %v, want it in the store", err)
	}
	hs.setHook(nil)
	if err := ag.Apply(l.ctx, l.v2); !errors.Is(err, auth.ErrSnapshotRollback) {
		t.Fatalf("next apply of the version in force: %v, want ErrSnapshotRollback", err)
	}
	l.check(t, ag, 2, "the agent that finished its move")
	if err := inner.Scan(l.ctx, []byte("S"), func(k, _ []byte) error { return errors.New("staged change left") }); err != nil {
		t.Fatal(err)
	}
	if _, err := inner.Get(l.ctx, []byte("L")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the live marker after the move: %v, want none", err)
	}
}
