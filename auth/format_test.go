package auth_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/streamauth/streamauth/auth"
	"github.com/streamauth/streamauth/cluster"
	"github.com/streamauth/streamauth/internal/record"
	"github.com/streamauth/streamauth/keys"
	"github.com/streamauth/streamauth/store"
	"github.com/streamauth/streamauth/store/memstore"
)

// Stores of format 1, written by releases whose hot key records held the
// whole digest (the wire form, now only a snapshot's), must keep working:
// New upgrades the format record alone, the records already there are
// read as they are, and what is written from then on is in the store form.

// downgrade rewrites s as a release of store format 1 would have left it:
// every hot key record in the wire form, and the format record naming
// format 1. Every other record is the same in both formats. It returns the
// number of hot records rewritten.
func downgrade(t *testing.T, ctx context.Context, s store.Store) int {
	t.Helper()
	var b store.Batch
	n := 0
	err := s.Scan(ctx, record.HashPrefix(), func(k, v []byte) error {
		p, err := record.HashKeyPrefix(k)
		if err != nil {
			return err
		}
		view, err := record.ViewKey(p, v)
		if err != nil {
			return err
		}
		hk := view.Key()
		b.Put(bytes.Clone(k), record.AppendKeyWire(nil, &hk))
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	b.Put(record.MetaKey, record.MetaValueOf(1))
	if err := s.Commit(ctx, &b); err != nil {
		t.Fatal(err)
	}
	return n
}

// dump returns every record of s.
func dump(t *testing.T, ctx context.Context, s store.Store) map[string]string {
	t.Helper()
	m := map[string]string{}
	if err := s.Scan(ctx, nil, func(k, v []byte) error { m[string(k)] = string(v); return nil }); err != nil {
		t.Fatal(err)
	}
	return m
}

// hotValues returns the value of every hot key record of s.
func hotValues(t *testing.T, ctx context.Context, s store.Store) [][]byte {
	t.Helper()
	var out [][]byte
	if err := s.Scan(ctx, record.HashPrefix(), func(_, v []byte) error { out = append(out, bytes.Clone(v)); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// hotValue returns the value of the hot record of key id, as the engine
// finds it: through its meta record.
func hotValue(t *testing.T, ctx context.Context, s store.Store, id keys.KeyID) []byte {
	t.Helper()
	meta, err := s.Get(ctx, record.KeyByIDKey(id))
	if err != nil {
		t.Fatal(err)
	}
	p, err := record.MetaPrefix(meta)
	if err != nil {
		t.Fatal(err)
	}
	var hk [1 + keys.PrefixSize]byte
	v, err := s.Get(ctx, record.HashKey(&hk, p))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// formatDiff fails the test if want and got differ, ids compared by value.
func formatDiff(t *testing.T, what string, want, got any) {
	t.Helper()
	opts := cmp.Options{
		cmp.Comparer(func(a, b keys.AccountID) bool { return a == b }),
		cmp.Comparer(func(a, b keys.WorkspaceID) bool { return a == b }),
		cmp.Comparer(func(a, b keys.ClusterID) bool { return a == b }),
		cmp.Comparer(func(a, b keys.KeyID) bool { return a == b }),
	}
	if d := cmp.Diff(want, got, opts); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

// wantFormat fails unless s's format record names format f.
func wantFormat(t *testing.T, ctx context.Context, s store.Store, f byte) {
	t.Helper()
	v, err := s.Get(ctx, record.MetaKey)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := record.MetaFormat(v); err != nil || got != f {
		t.Fatalf("store format %d (%v), want %d", got, err, f)
	}
}

// formatStores are the two ways the format tests see a memory store: as
// it is, held in memory (a cache of every key, no index), and wrapped so
// that it is not (the index and a bounded cache).
var formatStores = []struct {
	name string
	wrap func(store.Store) store.Store
}{
	{"in memory", func(s store.Store) store.Store { return s }},
	{"indexed and cached", func(s store.Store) store.Store { return &auth.CountingStore{Store: s} }},
}

// TestFormat1Store opens an engine over a store of format 1 holding keys
// of every kind: they authenticate, list and delete as before, the store
// becomes of format 2 with only its format record changed, a new key is
// written in the store form, and a snapshot exported from the store
// carries the old keys to an agent. Over a store held in memory (no index,
// a cache of every key) and over one that is not (the index and a bounded
// cache).
func TestFormat1Store(t *testing.T) {
	for _, tc := range formatStores {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			mem := memstore.New()
			defer mem.Close()
			opts := auth.Options{PasswordHash: auth.CheapArgon2}
			prev := must(auth.New(ctx, mem, opts))
			acct := must(prev.CreateAccount(ctx, "acme"))
			ws := must(prev.CreateWorkspace(ctx, acct.ID, "prod"))
			cl := must(prev.CreateCluster(ctx, ws.ID, auth.ClusterSpec{Name: "a", Type: cluster.BYOC}))
			app := must(prev.CreateApplicationKey(ctx, ws.ID, "akn_app", time.Time{}))
			ops := must(prev.CreateAccountKey(ctx, acct.ID, "akn_ops", time.Now().Add(time.Hour)))
			fleet := must(prev.CreateKey(ctx, auth.KeySpec{Name: "akn_fleet",
				Grant: auth.Grant{Workspace: ws.ID, Principal: auth.KindAgent, Resource: auth.VirtualCluster, ResourceID: auth.AnyID}}))
			issued := []auth.IssuedKey{app, ops, *cl.AgentKey, fleet}
			var want []auth.Principal
			for _, k := range issued {
				want = append(want, must(prev.Authenticate(ctx, k.Secret.Reveal())))
			}
			if n := downgrade(t, ctx, mem); n != len(issued) {
				t.Fatalf("%d hot records, want %d", n, len(issued))
			}
			before := dump(t, ctx, mem)

			s := tc.wrap(mem)
			e, err := auth.New(ctx, s, opts)
			if err != nil {
				t.Fatalf("New over a store of format 1: %v", err)
			}
			// The format record is all that changed.
			wantFormat(t, ctx, mem, record.StoreFormat)
			after := dump(t, ctx, mem)
			delete(before, string(record.MetaKey))
			delete(after, string(record.MetaKey))
			formatDiff(t, "records other than the format record after New", before, after)
			for _, k := range issued {
				if v := hotValue(t, ctx, mem, k.Key.ID); len(v) != record.KeyWireSize {
					t.Fatalf("key %s: hot record of %d bytes after the upgrade, want the %d it had", k.Key.ID, len(v), record.KeyWireSize)
				}
			}

			// Twice: from the store, then from the cache if there is one.
			for range 2 {
				for i, k := range issued {
					p, err := e.Authenticate(ctx, k.Secret.Reveal())
					if err != nil {
						t.Fatalf("key %d of format 1: %v", i, err)
					}
					formatDiff(t, "principal of a key of format 1", want[i], p)
				}
			}
			for _, k := range issued {
				formatDiff(t, "GetKey of a key of format 1", k.Key, must(e.GetKey(ctx, k.Key.ID)))
			}
			formatDiff(t, "ListKeys of the account", []auth.Key{ops.Key},
				must(e.ListKeys(ctx, auth.KeyFilter{Account: acct.ID})))
			formatDiff(t, "ListKeys of the cluster", []auth.Key{cl.AgentKey.Key},
				must(e.ListKeys(ctx, auth.KeyFilter{Cluster: cl.Cluster.ID})))
			if got := must(e.ListKeys(ctx, auth.KeyFilter{Workspace: ws.ID})); len(got) != 3 {
				t.Fatalf("ListKeys of the workspace: %d keys, want 3", len(got))
			}

			// A key created now is written in the store form; the others
			// stay as they are.
			fresh := must(e.CreateApplicationKey(ctx, ws.ID, "akn_fresh", time.Time{}))
			if v := hotValue(t, ctx, mem, fresh.Key.ID); len(v) != record.KeyStoreSize || v[0] != 2 {
				t.Fatalf("a new key's hot record: %d bytes, version %d; want %d bytes, version 2", len(v), v[0], record.KeyStoreSize)
			}
			if v := hotValue(t, ctx, mem, app.Key.ID); len(v) != record.KeyWireSize {
				t.Fatalf("an old key's hot record rewritten: %d bytes", len(v))
			}
			if _, err := e.Authenticate(ctx, fresh.Secret.Reveal()); err != nil {
				t.Fatalf("a key created after the upgrade: %v", err)
			}

			// A snapshot carries the old agent keys to an agent.
			pub, priv, err := ed25519.GenerateKey(rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			snap := must(e.ExportSnapshot(ctx, cl.Cluster.ID, priv, time.Hour))
			agentStore := memstore.New()
			defer agentStore.Close()
			ag := must(auth.NewAgent(ctx, agentStore, auth.AgentOptions{Cluster: cl.Cluster.ID, Trusted: []ed25519.PublicKey{pub},
				Engine: auth.Options{PasswordHash: auth.CheapArgon2}}))
			if err := ag.Apply(ctx, snap); err != nil {
				t.Fatalf("applying a snapshot exported from a store of format 1: %v", err)
			}
			for _, k := range []auth.IssuedKey{*cl.AgentKey, fleet} {
				if _, err := ag.AuthenticateAgent(ctx, k.Secret.Reveal()); err != nil {
					t.Errorf("agent key %s, exported from a record of format 1: %v", k.Key.Name, err)
				}
			}
			for _, v := range hotValues(t, ctx, agentStore) {
				if len(v) != record.KeyStoreSize {
					t.Errorf("the agent's store holds a hot record of %d bytes, want %d", len(v), record.KeyStoreSize)
				}
			}

			// Old keys are deleted as new ones are.
			for _, k := range []auth.IssuedKey{app, *cl.AgentKey} {
				if err := e.DeleteKey(ctx, k.Key.ID); err != nil {
					t.Fatalf("DeleteKey of a key of format 1: %v", err)
				}
				if _, err := e.Authenticate(ctx, k.Secret.Reveal()); !errors.Is(err, auth.ErrUnauthenticated) {
					t.Errorf("a deleted key of format 1 authenticates: %v", err)
				}
				if _, err := e.GetKey(ctx, k.Key.ID); !errors.Is(err, auth.ErrNotFound) {
					t.Errorf("GetKey of a deleted key of format 1: %v", err)
				}
			}
			if n := len(hotValues(t, ctx, mem)); n != 3 {
				t.Errorf("%d hot records after two deletes, want 3", n)
			}

			// Another engine over the upgraded store changes nothing.
			before = dump(t, ctx, mem)
			if _, err := auth.New(ctx, tc.wrap(mem), opts); err != nil {
				t.Fatalf("New over the upgraded store: %v", err)
			}
			formatDiff(t, "store after a second New", before, dump(t, ctx, mem))
		})
	}
}

// TestFormatUpgradeRace: another engine changing the format record
// between New's read and its upgrade makes the upgrade's guarded commit
// conflict; New reads the record again and checks it: format 2 is
// accepted, a newer format refused.
func TestFormatUpgradeRace(t *testing.T) {
	for _, tc := range []struct {
		name  string
		other []byte // what the other engine writes
		want  error
	}{
		{"upgraded by another engine", record.MetaValue(), nil},
		{"upgraded by a newer release", record.MetaValueOf(record.StoreFormat + 1), record.ErrUnknownFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			mem := memstore.New()
			defer mem.Close()
			must(auth.New(ctx, mem, auth.Options{}))
			downgrade(t, ctx, mem)
			hs := &auth.HookStore{Store: mem}
			hs.Arm(record.MetaKey, func() {
				if err := mem.Commit(ctx, new(store.Batch).Put(record.MetaKey, tc.other)); err != nil {
					t.Error(err)
				}
			})
			_, err := auth.New(ctx, hs, auth.Options{})
			if !hs.Fired() {
				t.Fatal("New did not read the format record")
			}
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("New: %v, want %v", err, tc.want)
			}
			got, err := mem.Get(ctx, record.MetaKey)
			if err != nil || !bytes.Equal(got, tc.other) {
				t.Fatalf("format record %q (%v), want the other engine's %q", got, err, tc.other)
			}
		})
	}
}

// TestFormatRaceOnEmptyStore: an engine of an earlier release writes its
// format record into an empty store between this engine's look at the
// store and its own write. This engine, which then reads format 1, still
// upgrades the store before it writes records of format 2.
func TestFormatRaceOnEmptyStore(t *testing.T) {
	ctx := t.Context()
	mem := memstore.New()
	defer mem.Close()
	hs := &auth.HookStore{Store: mem}
	// The first read of the format record is New's look; the second is
	// the one before its write, after which the other engine writes.
	hs.Arm(record.MetaKey, func() {
		hs.Arm(record.MetaKey, func() {
			if err := mem.Commit(ctx, new(store.Batch).Put(record.MetaKey, record.MetaValueOf(1))); err != nil {
				t.Error(err)
			}
		})
	})
	e := must(auth.New(ctx, hs, auth.Options{}))
	if got, err := mem.Get(ctx, record.MetaKey); err != nil || !bytes.Equal(got, record.MetaValue()) {
		t.Fatalf("format record %q (%v), want %q", got, err, record.MetaValue())
	}
	acct := must(e.CreateAccount(ctx, "acme"))
	k := must(e.CreateAccountKey(ctx, acct.ID, "akn_ops", time.Time{}))
	if _, err := e.Authenticate(ctx, k.Secret.Reveal()); err != nil {
		t.Fatal(err)
	}
}

// TestFormatUpgradeConcurrent: engines opened at once over a store of
// format 1 all start, and the store ends of format 2.
func TestFormatUpgradeConcurrent(t *testing.T) {
	ctx := t.Context()
	mem := memstore.New()
	defer mem.Close()
	prev := must(auth.New(ctx, mem, auth.Options{}))
	acct := must(prev.CreateAccount(ctx, "acme"))
	k := must(prev.CreateAccountKey(ctx, acct.ID, "akn_ops", time.Time{}))
	downgrade(t, ctx, mem)
	var wg sync.WaitGroup
	engines := make([]*auth.Engine, 8)
	errs := make([]error, len(engines))
	for i := range engines {
		wg.Go(func() { engines[i], errs[i] = auth.New(ctx, mem, auth.Options{Shared: true}) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("engine %d: %v", i, err)
		}
		if _, err := engines[i].Authenticate(ctx, k.Secret.Reveal()); err != nil {
			t.Fatalf("engine %d: %v", i, err)
		}
	}
	wantFormat(t, ctx, mem, record.StoreFormat)
}

// TestAgentStoreOfFormat1: an agent's store written by an earlier release
// holds its agent keys in the wire form. An agent opened over it upgrades
// it and answers from it; its next apply rewrites those records in the
// store form, and the keys keep answering.
func TestAgentStoreOfFormat1(t *testing.T) {
	o := newOffline(t)
	for _, tc := range formatStores {
		t.Run(tc.name, func(t *testing.T) {
			mem := memstore.New()
			defer mem.Close()
			ag := o.agent(t, tc.wrap(mem), auth.AgentOptions{})
			if err := ag.Apply(o.ctx, o.export(t, o.a.Cluster.ID, time.Hour)); err != nil {
				t.Fatal(err)
			}
			// The agent keys of the workspace: a's, b's and the fleet's.
			if n := downgrade(t, o.ctx, mem); n != 3 {
				t.Fatalf("%d hot records in the agent's store, want 3", n)
			}
			check := func(ag *auth.Agent, what string) {
				t.Helper()
				for range 2 {
					if _, err := ag.AuthenticateAgent(o.ctx, o.a.AgentKey.Secret.Reveal()); err != nil {
						t.Errorf("%s: own agent key: %v", what, err)
					}
					if _, err := ag.AuthenticateAgent(o.ctx, o.anyAgent.Secret.Reveal()); err != nil {
						t.Errorf("%s: workspace-wide agent key: %v", what, err)
					}
					if _, err := ag.AuthenticateAgent(o.ctx, o.b.AgentKey.Secret.Reveal()); !errors.Is(err, auth.ErrPermissionDenied) {
						t.Errorf("%s: another cluster's agent key: %v, want ErrPermissionDenied", what, err)
					}
				}
			}
			ag = o.agent(t, tc.wrap(mem), auth.AgentOptions{})
			wantFormat(t, o.ctx, mem, record.StoreFormat)
			check(ag, "store of format 1")
			for _, v := range hotValues(t, o.ctx, mem) {
				if len(v) != record.KeyWireSize {
					t.Fatalf("hot record of %d bytes before the next apply, want %d", len(v), record.KeyWireSize)
				}
			}

			if err := ag.Apply(o.ctx, o.export(t, o.a.Cluster.ID, time.Hour)); err != nil {
				t.Fatalf("applying over a store of format 1: %v", err)
			}
			values := hotValues(t, o.ctx, mem)
			if len(values) != 3 {
				t.Fatalf("%d hot records after the apply, want 3", len(values))
			}
			for _, v := range values {
				if len(v) != record.KeyStoreSize || v[0] != 2 {
					t.Fatalf("hot record of %d bytes, version %d, after the apply; want the store form", len(v), v[0])
				}
			}
			check(ag, "after the next apply")
			check(o.agent(t, tc.wrap(mem), auth.AgentOptions{}), "after a restart")
		})
	}
}
