package auth_test

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streamauth/streamauth/auth"
	"github.com/streamauth/streamauth/internal/record"
	"github.com/streamauth/streamauth/store"
	"github.com/streamauth/streamauth/store/badgerstore"
	"github.com/streamauth/streamauth/store/faultstore"
	"github.com/streamauth/streamauth/store/memstore"
)

// largeReapply is a control plane whose cluster a changes a lot between
// two snapshots: v1 holds 200 fleet keys and credential credA; v2 revokes
// every other fleet key and credA and adds n new agent keys, more than
// one commit of an apply holds.
type largeReapply struct {
	*offline
	v1, v2  []byte
	fleet   []auth.IssuedKey // in v1; the odd ones are revoked in v2
	added   []auth.IssuedKey // in v2 only
	revoked []auth.IssuedKey // the odd ones of fleet
}

func newLargeReapply(t *testing.T, n int) *largeReapply {
	t.Helper()
	l := &largeReapply{offline: newOffline(t)}
	o := l.offline
	for range 200 {
		l.fleet = append(l.fleet, must(o.cp.CreateAgentKey(o.ctx, o.a.Cluster.Workspace, o.a.Cluster.ID, "akn_fleet", time.Time{})))
	}
	l.v1 = o.export(t, o.a.Cluster.ID, 24*time.Hour)
	for i := 1; i < len(l.fleet); i += 2 {
		if err := o.cp.DeleteKey(o.ctx, l.fleet[i].Key.ID); err != nil {
			t.Fatal(err)
		}
		l.revoked = append(l.revoked, l.fleet[i])
	}
	if err := o.cp.DeleteCredential(o.ctx, o.credA.Credential.ID); err != nil {
		t.Fatal(err)
	}
	for range n {
		l.added = append(l.added, must(o.cp.CreateAgentKey(o.ctx, o.a.Cluster.Workspace, o.a.Cluster.ID, "akn_fleet", time.Time{})))
	}
	l.v2 = o.export(t, o.a.Cluster.ID, 24*time.Hour)
	return l
}

// check fails t unless ag answers exactly as snapshot version v says:
// every key and credential of it authenticates, and nothing else does.
func (l *largeReapply) check(t *testing.T, ag *auth.Agent, v uint64, what string) {
	t.Helper()
	if got := ag.Version(); got != v {
		t.Fatalf("%s: version %d, want %d", what, got, v)
	}
	count := func(ks []auth.IssuedKey) int { return countAuthenticated(t, l, ag, ks) }
	_, credErr := ag.AuthenticatePlain(l.ctx, plainMsg(l.credA))
	added, revoked, kept := count(l.added), count(l.revoked), count(l.fleet)-count(l.revoked)
	want := map[uint64][3]int{1: {0, len(l.revoked), len(l.fleet) - len(l.revoked)}, 2: {len(l.added), 0, len(l.fleet) - len(l.revoked)}}[v]
	if [3]int{added, revoked, kept} != want || (credErr == nil) != (v == 1) {
		t.Fatalf("%s: at version %d, %d added, %d revoked and %d kept keys authenticate (want %v), the revoked credential: %v",
			what, v, added, revoked, kept, want, credErr)
	}
}

// TestAgentLargeReapplyInterrupted fails every call, in turn, of an apply
// whose changes do not fit in one commit (staged, put in force, moved into
// place). The store then holds one snapshot, whole: the previous one if
// the failure came before the new one was put in force, the new one after;
// the agent that applied answers as the store holds, and so does a new
// agent over the store, which finishes an interrupted move.
func TestAgentLargeReapplyInterrupted(t *testing.T) {
	l := newLargeReapply(t, 5000)
	for n := 0; ; n++ {
		inner := memstore.New()
		if err := l.agent(t, inner, auth.AgentOptions{}).Apply(l.ctx, l.v1); err != nil {
			t.Fatal(err)
		}
		base := -1
		fs := faultstore.New(inner, faultstore.PolicyFunc(func(call int) bool { return base >= 0 && call == base+n }))
		ag := l.agent(t, fs, auth.AgentOptions{})
		base = fs.Calls()
		err := ag.Apply(l.ctx, l.v2)
		calls := fs.Calls() - base
		base = -1
		v := ag.Version()
		if err == nil && v != 2 {
			t.Fatalf("fail at %d: apply succeeded, version %d", n, v)
		}
		l.check(t, ag, v, "the applying agent")
		l.check(t, l.agent(t, inner, auth.AgentOptions{}), v, "a new agent over its store")
		if v == 2 {
			// Nothing staged is left once the move is done.
			if err := inner.Scan(l.ctx, []byte("S"), func(k, _ []byte) error { return errors.New("staged change left") }); err != nil {
				t.Fatalf("fail at %d: %v", n, err)
			}
		}
		// A later apply, by an agent opened over the store (the
		// restarted agent), succeeds over whatever is left.
		again := l.agent(t, inner, auth.AgentOptions{})
		if err := again.Apply(l.ctx, l.v2); v == 1 && err != nil || v == 2 && !errors.Is(err, auth.ErrSnapshotRollback) {
			t.Fatalf("fail at %d: applying again at version %d: %v", n, v, err)
		}
		l.check(t, again, 2, "after applying again")
		inner.Close()
		if calls <= n {
			if err != nil {
				t.Fatalf("apply failed with no injected failure: %v", err)
			}
			t.Logf("swept %d failure points", n)
			return
		}
	}
}

// TestAgentLargeReapplyReaders: agents keep answering while a large
// apply is staged, put in force and moved into place, and each reader
// sees the switch once: after it has seen one change of the new snapshot,
// it never sees the old one again (a revoked key valid, an added key
// unknown).
//
// It runs over the memory store, where every lookup reads the store
// through the agent's overlay, and over a wrapper that hides that the
// store is in memory, where the engine's index and cache answer first.
func TestAgentLargeReapplyReaders(t *testing.T) {
	l := newLargeReapply(t, 6000)
	for name, wrap := range map[string]func(store.Store) store.Store{
		"store":       func(s store.Store) store.Store { return s },
		"index+cache": func(s store.Store) store.Store { return &auth.CountingStore{Store: s} },
	} {
		t.Run(name, func(t *testing.T) { readersSeeSwitchOnce(t, l, wrap) })
	}
}

func readersSeeSwitchOnce(t *testing.T, l *largeReapply, wrap func(store.Store) store.Store) {
	s := memstore.New()
	defer s.Close()
	ag := l.agent(t, wrap(s), auth.AgentOptions{})
	if err := ag.Apply(l.ctx, l.v1); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	var switched atomic.Int64
	for r := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(r), 1))
			seenNew := false
			for !stop.Load() {
				add := l.added[rng.IntN(len(l.added))]
				rev := l.revoked[rng.IntN(len(l.revoked))]
				_, errAdd := ag.AuthenticateAgent(l.ctx, add.Secret.Reveal())
				_, errRev := ag.AuthenticateAgent(l.ctx, rev.Secret.Reveal())
				if seenNew && (errAdd != nil || errRev == nil) {
					t.Errorf("reader %d: after the switch, added key: %v, revoked key: %v", r, errAdd, errRev)
					return
				}
				// The switch may fall between the two reads: from the
				// next round on, both are the new snapshot's.
				if !seenNew && (errAdd == nil || errRev != nil) {
					seenNew = true
					switched.Add(1)
				}
			}
		})
	}
	time.Sleep(20 * time.Millisecond)
	if err := ag.Apply(l.ctx, l.v2); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	if switched.Load() != 4 {
		t.Fatalf("%d of 4 readers saw the switch", switched.Load())
	}
	l.check(t, ag, 2, "after the apply")
}

// TestAgentLargeReapplyBadger: a change larger than one badger
// transaction (20,000 new agent keys) applies over a badger store with its
// default options, and survives a reopen.
func TestAgentLargeReapplyBadger(t *testing.T) {
	if testing.Short() {
		t.Skip("20,000 keys")
	}
	l := newLargeReapply(t, 20000)
	dir := filepath.Join(t.TempDir(), "agent")
	open := func() store.Store {
		s, err := badgerstore.Open(dir, badgerstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open()
	ag := l.agent(t, s, auth.AgentOptions{})
	if err := ag.Apply(l.ctx, l.v1); err != nil {
		t.Fatal(err)
	}
	if err := ag.Apply(l.ctx, l.v2); err != nil {
		t.Fatalf("applying 20,000 new keys over badger: %v", err)
	}
	l.check(t, ag, 2, "after the apply")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open()
	defer s.Close()
	l.check(t, l.agent(t, s, auth.AgentOptions{}), 2, "after a reopen")
}

// TestAgentLargeReapplyLostAck applies a large snapshot whose commit that
// puts it in force loses its acknowledgement (it takes effect, then
// reports an error, as a sync that failed after the write would), and authenticates a key the
// snapshot revokes at the worst moment: right when the agent reads back
// its state to learn that the commit took effect. The apply succeeds, and
// afterwards the revoked key is refused: the engine's key cache (on, over
// a store that does not declare itself in memory) did not keep the record
// that lookup read.
func TestAgentLargeReapplyLostAck(t *testing.T) {
	l := newLargeReapply(t, 5000)
	inner := memstore.New()
	t.Cleanup(func() { inner.Close() })
	// A commit store under a read hook store: the reads of the apply, and
	// of the lookup the hook makes, go through both.
	cs := &commitHookStore{Store: inner}
	hs := &auth.HookStore{Store: cs}
	ag := l.agent(t, hs, auth.AgentOptions{})
	if err := ag.Apply(l.ctx, l.v1); err != nil {
		t.Fatal(err)
	}
	revoked := l.revoked[0].Secret.Reveal()
	if _, err := ag.AuthenticateAgent(l.ctx, revoked); err != nil {
		t.Fatalf("a key of snapshot 1: %v", err)
	}
	// The commit that writes the new state takes effect, then reports an
	// error, and arms the lookup for the agent's read of its state.
	cs.setHook(func(ctx context.Context, b *store.Batch) (bool, error) {
		if !slices.ContainsFunc(b.Ops(), func(op store.Op) bool { return bytes.Equal(op.Key, record.AgentStateKey) }) {
			return false, nil
		}
		cs.setHook(nil)
		if err := inner.Commit(ctx, b); err != nil {
			return true, err
		}
		hs.Arm(record.AgentStateKey, func() {
			// The answer may be either: the apply is in progress.
			_, _ = ag.AuthenticateAgent(l.ctx, revoked)
		})
		return true, errors.New("lost acknowledgement")
	})
	if err := ag.Apply(l.ctx, l.v2); err != nil {
		t.Fatalf("an apply whose commit took effect: %v", err)
	}
	if !hs.Fired() {
		t.Fatal("the hook did not run: the apply did not read its state back")
	}
	l.check(t, ag, 2, "after the apply")
}
