package bench

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/streamauth/streamauth/auth"
	"github.com/streamauth/streamauth/internal/record"
	"github.com/streamauth/streamauth/keys"
	"github.com/streamauth/streamauth/store"
	"github.com/streamauth/streamauth/store/badgerstore"
	"github.com/streamauth/streamauth/store/memstore"
)

// applyBackends are the backends of the apply benchmarks: every backend
// with its default options, and badger with 32 MiB memtables
// (badger-memtable32), the setting for agents that apply large snapshots
// (see badgerstore.Options.MemTableSize).
var applyBackends = append(slices.Clip(backends), backend{
	name: "badger-memtable32",
	open: func(dir string) (store.Store, error) {
		return asStore(badgerstore.Open(dir, badgerstore.Options{MemTableSize: 32 << 20}))
	},
})

// snapshotCredentials is the number of credentials of the snapshot
// benchmarks' cluster.
const snapshotCredentials = 100_000

// snapshotFixture is a control plane whose one BYOC cluster has
// snapshotCredentials credentials, and a signing key.
type snapshotFixture struct {
	e    *auth.Engine
	cl   auth.Cluster
	pub  ed25519.PublicKey
	priv ed25519.PrivateKey
	snap []byte // one export, for the apply benchmark
}

// newSnapshotFixture builds the fixture in a memory store. One credential
// is created through the engine; the others are copies of its record under
// new ids and usernames, written straight to the store: creating 100k
// credentials through the engine would spend minutes in the PBKDF2 and
// argon2id runs that make each password's verifiers, which is exactly what
// a snapshot carries and does not recompute.
func newSnapshotFixture(b *testing.B) *snapshotFixture {
	b.Helper()
	ctx := context.Background()
	sf := newSASLFixture(b, auth.Options{})
	s, e, c := sf.s, sf.e, sf.cluster
	raw, err := s.Get(ctx, record.CredentialKey(sf.cred.ID))
	if err != nil {
		b.Fatal(err)
	}
	proto, err := record.DecodeCredential(sf.cred.ID, raw)
	if err != nil {
		b.Fatal(err)
	}
	var batch store.Batch
	for i := 1; i < snapshotCredentials; i++ {
		id, err := keys.NewCredentialID()
		if err != nil {
			b.Fatal(err)
		}
		user, err := keys.NewUsername()
		if err != nil {
			b.Fatal(err)
		}
		rec := proto
		rec.ID, rec.Username = id, string(user)
		idb := id.Bytes()
		batch.Put(record.CredentialKey(id), record.AppendCredential(nil, &rec))
		batch.Put(record.ClusterCredentialKey(c.ID, id), nil)
		batch.Put(record.LoginKey(c.ID, rec.Username), idb[:])
	}
	if err := s.Commit(ctx, &batch); err != nil {
		b.Fatal(err)
	}
	f := &snapshotFixture{e: e, cl: c}
	if f.pub, f.priv, err = ed25519.GenerateKey(rand.Reader); err != nil {
		b.Fatal(err)
	}
	if f.snap, err = e.ExportSnapshot(ctx, c.ID, f.priv, time.Hour); err != nil {
		b.Fatal(err)
	}
	return f
}

// BenchmarkSnapshotExport measures ExportSnapshot of a cluster of 100k
// credentials on the memory store: the reads, the encoding and the
// signature. It reports the snapshot's bytes per credential.
func BenchmarkSnapshotExport(b *testing.B) {
	ctx := context.Background()
	f := newSnapshotFixture(b)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := f.e.ExportSnapshot(ctx, f.cl.ID, f.priv, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(f.snap))/snapshotCredentials, "B/credential")
}

// BenchmarkSnapshotApply measures an agent's first Apply of a snapshot of
// 100k credentials into a new store of each backend: the signature check,
// the decoding and the commits of every record (a first apply writes in
// chunks, then puts the snapshot in force). The store is made outside the
// timer. BenchmarkSnapshotReapply measures the next apply, of a snapshot
// that changed one credential: only what changed is written.
func BenchmarkSnapshotApply(b *testing.B) {
	ctx := context.Background()
	f := newSnapshotFixture(b)
	for _, be := range applyBackends {
		b.Run(be.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := range b.N {
				b.StopTimer()
				s := newApplyStore(b, be, i)
				ag, err := auth.NewAgent(ctx, s, auth.AgentOptions{Cluster: f.cl.ID, Trusted: []ed25519.PublicKey{f.pub}})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if err := ag.Apply(ctx, f.snap); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}

// BenchmarkSnapshotApplyFloor is what BenchmarkSnapshotApply is compared
// with: the records a first apply leaves in an agent's store (read back
// from a memory store an agent applied the snapshot to), written straight
// to a new store of each backend through store.Commit, in commits of at
// most 4096 operations and 512 KiB (the bounds of the agent's own commits:
// what one badger transaction holds at badgerstore's default memtable
// size), with no signature check, decoding or diff. It is the backend's
// own cost of holding the snapshot; BenchmarkSnapshotApply ÷ this is the
// engine's.
func BenchmarkSnapshotApplyFloor(b *testing.B) {
	ctx := context.Background()
	f := newSnapshotFixture(b)
	src, _ := appliedMemAgent(b, f)
	var chunks []*store.Batch
	batch, size := &store.Batch{}, 0
	err := src.Scan(ctx, nil, func(k, v []byte) error {
		if batch.Len() == 4096 || size+len(k)+len(v) > 512<<10 {
			chunks = append(chunks, batch)
			batch, size = &store.Batch{}, 0
		}
		batch.Put(k, v)
		size += len(k) + len(v)
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	chunks = append(chunks, batch)
	for _, be := range applyBackends {
		b.Run(be.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := range b.N {
				b.StopTimer()
				s := newApplyStore(b, be, i)
				b.StartTimer()
				for _, c := range chunks {
					if err := s.Commit(ctx, c); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}

// appliedMemAgent returns a memory store, closed when b ends, and an agent
// over it that applied f's snapshot.
func appliedMemAgent(b *testing.B, f *snapshotFixture) (*memstore.Store, *auth.Agent) {
	b.Helper()
	ctx := context.Background()
	s := memstore.New()
	b.Cleanup(func() { s.Close() })
	ag, err := auth.NewAgent(ctx, s, auth.AgentOptions{Cluster: f.cl.ID, Trusted: []ed25519.PublicKey{f.pub}})
	if err != nil {
		b.Fatal(err)
	}
	if err := ag.Apply(ctx, f.snap); err != nil {
		b.Fatal(err)
	}
	return s, ag
}

// newApplyStore returns a new, empty store of be for the i-th run of an
// apply benchmark.
func newApplyStore(b *testing.B, be backend, i int) store.Store {
	b.Helper()
	dir := b.TempDir()
	var s store.Store
	var err error
	if be.durable() {
		s, err = be.open(fmt.Sprintf("%s/%d", dir, i))
	} else {
		s, err = be.create(dir)
	}
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkSnapshotReapply measures an Apply over a store that holds the
// previous snapshot of the same 100k credentials, of which one was deleted
// since: the decoding, a scan that compares every record, and one small
// commit.
func BenchmarkSnapshotReapply(b *testing.B) {
	ctx := context.Background()
	f := newSnapshotFixture(b)
	_, ag := appliedMemAgent(b, f)
	creds, err := f.e.ListCredentials(ctx, f.cl.ID)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		if err := f.e.DeleteCredential(ctx, creds[i%len(creds)].ID); err != nil {
			b.Fatal(err)
		}
		next, err := f.e.ExportSnapshot(ctx, f.cl.ID, f.priv, time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := ag.Apply(ctx, next); err != nil {
			b.Fatal(err)
		}
	}
}
