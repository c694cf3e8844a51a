package auth

import (
	"errors"
	"testing"

	"github.com/streamauth/streamauth/internal/record"
	"github.com/streamauth/streamauth/store"
	"github.com/streamauth/streamauth/store/memstore"
)

// TestRememberedPlainAllocs: a remembered PLAIN login allocates nothing.
func TestRememberedPlainAllocs(t *testing.T) {
	v := newSASLEnv(t, Options{})
	ic := v.cred(v.a)
	msg := saslPlainMsg("", string(ic.Credential.Username), ic.Password.Reveal())
	if _, err := v.e.AuthenticatePlain(v.ctx, v.a, msg); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := v.e.AuthenticatePlain(v.ctx, v.a, msg); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("a remembered PLAIN login allocates %v times, want 0", allocs)
	}
}

// TestRememberedSplitLogin: the bytes of a remembered login, split
// differently between user and password, are not the same login.
func TestRememberedSplitLogin(t *testing.T) {
	v := newSASLEnv(t, Options{})
	ic := v.cred(v.a)
	user, pass := string(ic.Credential.Username), ic.Password.Reveal()
	if _, err := v.plain(v.a, user, pass); err != nil {
		t.Fatal(err)
	}
	if _, err := v.plain(v.a, user[:len(user)-1], user[len(user)-1:]+pass); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("the remembered login's bytes split another way: %v, want ErrUnauthenticated", err)
	}
}

// TestRememberedInsertAfterDelete: a PLAIN check that read a credential
// before its delete, and finishes after the delete returned, must not be
// remembered: the next login fails. The delete is put between the check's
// read and its insert every time.
func TestRememberedInsertAfterDelete(t *testing.T) {
	v := newSASLEnv(t, Options{})
	ic := v.cred(v.a)
	hs := &HookStore{Store: v.s}
	e, err := New(v.ctx, hs, Options{PasswordHash: CheapArgon2, Now: v.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	msg := saslPlainMsg("", string(ic.Credential.Username), ic.Password.Reveal())
	hs.Arm(record.CredentialKey(ic.Credential.ID), func() {
		if err := e.DeleteCredential(v.ctx, ic.Credential.ID); err != nil {
			t.Error(err)
		}
	})
	// This login read the credential before the delete; it may succeed.
	if _, err := e.AuthenticatePlain(v.ctx, v.a, msg); err != nil && !errors.Is(err, ErrUnauthenticated) {
		t.Fatal(err)
	}
	if !hs.Fired() {
		t.Fatal("the hook did not run")
	}
	if _, err := e.AuthenticatePlain(v.ctx, v.a, msg); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("login after the delete returned: %v, want ErrUnauthenticated", err)
	}
}

// TestLoginEntryOfAnotherCluster: a login entry of cluster a that points at
// a credential of cluster b (a corrupt store, or a bad snapshot apply) is
// refused as corruption, never a login on a.
func TestLoginEntryOfAnotherCluster(t *testing.T) {
	v := newSASLEnv(t, Options{Shared: true})
	ic := v.cred(v.b)
	user := string(ic.Credential.Username)
	idb := ic.Credential.ID.Bytes()
	var b store.Batch
	b.Put(record.LoginKey(v.a, user), idb[:])
	if err := v.s.Commit(v.ctx, &b); err != nil {
		t.Fatal(err)
	}
	if _, err := v.plain(v.a, user, ic.Password.Reveal()); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("login through another cluster's credential: %v, want store.ErrCorrupt", err)
	}
}

// TestDefaultArgon2Stored: with no PasswordHash option, a credential's
// stored hash has DefaultArgon2's parameters.
func TestDefaultArgon2Stored(t *testing.T) {
	v := newSASLEnv(t, Options{})
	e, err := New(v.ctx, v.s, Options{Now: v.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ic, err := e.CreateCredential(v.ctx, v.a, CredentialSpec{Name: "default"})
	if err != nil {
		t.Fatal(err)
	}
	rec, _, err := e.readCredential(v.ctx, ic.Credential.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := Argon2Params{Time: rec.Argon2.Time, MemoryKiB: rec.Argon2.Memory, Threads: rec.Argon2.Threads}
	if got != DefaultArgon2 {
		t.Errorf("stored argon2 parameters %+v, want DefaultArgon2 %+v", got, DefaultArgon2)
	}
	for i, s := range rec.SCRAM {
		if s.Iterations != 4096 {
			t.Errorf("SCRAM verifier %d: %d iterations, want the default 4096", i, s.Iterations)
		}
	}
}

// TestPasswordOptionsBounds: New refuses password-hashing options out of
// the bounds a stored record may hold.
func TestPasswordOptionsBounds(t *testing.T) {
	for _, opts := range []Options{
		{PasswordHash: Argon2Params{Time: 0, MemoryKiB: 64, Threads: 1}},
		{PasswordHash: Argon2Params{Time: record.MaxArgon2Time + 1, MemoryKiB: 64, Threads: 1}},
		{PasswordHash: Argon2Params{Time: 1, MemoryKiB: record.MaxArgon2Memory + 1, Threads: 1}},
		{PasswordHash: Argon2Params{Time: 1, MemoryKiB: 15, Threads: 2}},
		{PasswordHash: Argon2Params{Time: 1, MemoryKiB: 1024, Threads: 0}},
		{PasswordHash: Argon2Params{Time: 1, MemoryKiB: 1024, Threads: record.MaxArgon2Threads + 1}},
		{SCRAMIterations: record.MinSCRAMIter - 1},
		{SCRAMIterations: record.MaxSCRAMIter + 1},
	} {
		s := memstore.New()
		if _, err := New(t.Context(), s, opts); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("New(%+v): %v, want ErrInvalidArgument", opts, err)
		}
		s.Close()
	}
	if _, err := New(t.Context(), memstore.New(), Options{SCRAMIterations: record.MaxSCRAMIter,
		PasswordHash: Argon2Params{Time: record.MaxArgon2Time, MemoryKiB: 16, Threads: 2}}); err != nil {
		t.Errorf("New at the bounds: %v", err)
	}
}
