package auth

// Tests of SASL logins against the engine: PLAIN (RFC 4616) with its
// remembered checks and bounded argon2id runs, SCRAM-SHA-256/512 driven by
// xdg-go/scram's client, and the SASL policy question of an agent. They
// live in package auth for the counting store of hotkeys_test.go and the
// engine's hashing slots; otherwise they use the exported API.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	xdg "github.com/xdg-go/scram"

	"github.com/streamauth/streamauth/cluster"
	"github.com/streamauth/streamauth/internal/record"
	"github.com/streamauth/streamauth/keys"
	"github.com/streamauth/streamauth/store"
	"github.com/streamauth/streamauth/store/faultstore"
	"github.com/streamauth/streamauth/store/memstore"
)

// saslEnv is an engine over a counting memory store, with an injected
// clock, an account, a workspace, two BYOC clusters and a serverless one.
type saslEnv struct {
	t     *testing.T
	ctx   context.Context
	s     *CountingStore
	e     *Engine
	opts  Options
	clock *testClock
	acct  keys.AccountID
	ws    keys.WorkspaceID
	a, b  keys.ClusterID // BYOC
	sl    keys.ClusterID // serverless
}

// newSASLEnv returns a saslEnv; opts.PasswordHash defaults to CheapArgon2
// and opts.Now to a clock fixed at t0.
func newSASLEnv(t *testing.T, opts Options) *saslEnv {
	t.Helper()
	if opts.PasswordHash == (Argon2Params{}) {
		opts.PasswordHash = CheapArgon2
	}
	v := &saslEnv{t: t, ctx: t.Context(), s: &CountingStore{Store: memstore.New()}, clock: &testClock{now: t0}}
	t.Cleanup(func() { v.s.Close() })
	if opts.Now == nil {
		opts.Now = v.clock.Now
	}
	v.opts = opts
	var err error
	if v.e, err = New(v.ctx, v.s, opts); err != nil {
		t.Fatalf("New: %v", err)
	}
	a, err := v.e.CreateAccount(v.ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	w, err := v.e.CreateWorkspace(v.ctx, a.ID, "prod")
	if err != nil {
		t.Fatal(err)
	}
	v.acct, v.ws = a.ID, w.ID
	v.a = v.cluster("a", cluster.BYOC)
	v.b = v.cluster("b", cluster.BYOC)
	v.sl = v.cluster("hosted", cluster.Serverless)
	return v
}

func (v *saslEnv) cluster(name string, typ cluster.Type) keys.ClusterID {
	v.t.Helper()
	c, err := v.e.CreateCluster(v.ctx, v.ws, ClusterSpec{Name: name, Type: typ})
	if err != nil {
		v.t.Fatalf("CreateCluster(%q): %v", name, err)
	}
	return c.Cluster.ID
}

// cred creates a credential with a generated password on cluster cl.
func (v *saslEnv) cred(cl keys.ClusterID) IssuedCredential {
	v.t.Helper()
	return v.credSpec(cl, CredentialSpec{Name: "client"})
}

func (v *saslEnv) credSpec(cl keys.ClusterID, spec CredentialSpec) IssuedCredential {
	v.t.Helper()
	ic, err := v.e.CreateCredential(v.ctx, cl, spec)
	if err != nil {
		v.t.Fatalf("CreateCredential: %v", err)
	}
	return ic
}

// plain runs a PLAIN login of user and password on cluster cl, with no
// authorization identity.
func (v *saslEnv) plain(cl keys.ClusterID, user, password string) (CredentialPrincipal, error) {
	return v.e.AuthenticatePlain(v.ctx, cl, saslPlainMsg("", user, password))
}

// gets counts the store reads f makes.
func (v *saslEnv) gets(f func()) int64 {
	before := v.s.Gets.Load()
	f()
	return v.s.Gets.Load() - before
}

// saslPlainMsg is a PLAIN message: authzid NUL authcid NUL passwd.
func saslPlainMsg(authz, user, password string) []byte {
	return []byte(authz + "\x00" + user + "\x00" + password)
}

// principalOf is the principal a login with ic's credential must return.
func saslPrincipalOf(ic IssuedCredential) CredentialPrincipal {
	c := ic.Credential
	return CredentialPrincipal{Credential: c.ID, Cluster: c.Cluster, Username: c.Username, Superuser: c.Superuser}
}

// --- PLAIN ---

func TestAuthenticatePlain(t *testing.T) {
	v := newSASLEnv(t, Options{})
	ic := v.cred(v.a)
	su := v.credSpec(v.a, CredentialSpec{Name: "admin", Superuser: true})
	imported, err := keys.ImportPassword("migrated pässwörd ✓")
	if err != nil {
		t.Fatal(err)
	}
	im := v.credSpec(v.a, CredentialSpec{Name: "migrated", Password: imported})
	for _, tc := range []struct {
		name string
		ic   IssuedCredential
		msg  []byte
	}{
		{"generated", ic, saslPlainMsg("", string(ic.Credential.Username), ic.Password.Reveal())},
		{"authzid is the user", ic, saslPlainMsg(string(ic.Credential.Username), string(ic.Credential.Username), ic.Password.Reveal())},
		{"superuser", su, saslPlainMsg("", string(su.Credential.Username), su.Password.Reveal())},
		{"imported", im, saslPlainMsg("", string(im.Credential.Username), "migrated pässwörd ✓")},
	} {
		p, err := v.e.AuthenticatePlain(v.ctx, v.a, tc.msg)
		if err != nil {
			t.Fatalf("%s: AuthenticatePlain: %v", tc.name, err)
		}
		if p != saslPrincipalOf(tc.ic) {
			t.Errorf("%s: principal %+v, want %+v", tc.name, p, saslPrincipalOf(tc.ic))
		}
	}
	if p, _ := v.plain(v.a, string(su.Credential.Username), su.Password.Reveal()); !p.Superuser {
		t.Error("superuser credential's principal is not Superuser")
	}
	if p, _ := v.plain(v.a, string(ic.Credential.Username), ic.Password.Reveal()); p.Superuser {
		t.Error("plain credential's principal is Superuser")
	}
}

// TestAuthenticatePlainFailuresLookAlike: every cause of a refused login
// with a well-formed message is ErrUnauthenticated with one and the same
// text.
func TestAuthenticatePlainFailuresLookAlike(t *testing.T) {
	v := newSASLEnv(t, Options{})
	ic := v.cred(v.a)
	user, pass := string(ic.Credential.Username), ic.Password.Reveal()
	onB := v.cred(v.b)
	gone := v.cred(v.a)
	// Remembered before its delete, so that the delete must forget it.
	if _, err := v.plain(v.a, string(gone.Credential.Username), gone.Password.Reveal()); err != nil {
		t.Fatal(err)
	}
	if err := v.e.DeleteCredential(v.ctx, gone.Credential.ID); err != nil {
		t.Fatal(err)
	}
	unknown, err := keys.NewUsername()
	if err != nil {
		t.Fatal(err)
	}
	noCluster, err := keys.NewClusterID()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		cl         keys.ClusterID
		user, pass string
	}{
		{"wrong password", v.a, user, pass + "x"},
		{"wrong password, same length", v.a, user, pass[:len(pass)-1] + string(pass[len(pass)-1]^1)},
		{"another credential's password", v.a, user, onB.Password.Reveal()},
		{"unknown well-formed user", v.a, string(unknown), pass},
		{"badly formed user", v.a, "alice", pass},
		{"upper-case username", v.a, strings.ToUpper(user), pass},
		{"another cluster's credential", v.a, string(onB.Credential.Username), onB.Password.Reveal()},
		{"credential on the wrong cluster", v.b, user, pass},
		{"deleted credential", v.a, string(gone.Credential.Username), gone.Password.Reveal()},
		{"unknown cluster", noCluster, user, pass},
	}
	var first error
	for _, tc := range cases {
		_, err := v.e.AuthenticatePlain(v.ctx, tc.cl, saslPlainMsg("", tc.user, tc.pass))
		wantErr(t, tc.name, err, ErrUnauthenticated)
		if err == nil {
			continue
		}
		if strings.Contains(err.Error(), tc.pass) {
			t.Errorf("%s: the error holds the password", tc.name)
		}
		if first == nil {
			first = err
		} else if err.Error() != first.Error() {
			t.Errorf("%s: error %q, %s: %q", tc.name, err, cases[0].name, first)
		}
	}
	t.Logf("every refusal: %q", first)
	// The right credential still works, and B's works on B.
	if _, err := v.plain(v.a, user, pass); err != nil {
		t.Errorf("right password after the failures: %v", err)
	}
	if _, err := v.plain(v.b, string(onB.Credential.Username), onB.Password.Reveal()); err != nil {
		t.Errorf("B's credential on B: %v", err)
	}
}

// saslMalformedPlain are PLAIN messages that break RFC 4616's grammar or
// its bounds, for a valid user and password.
func saslMalformedPlain(user, pass string) []struct {
	name string
	msg  []byte
} {
	big := make([]byte, 1<<20)
	copy(big, saslPlainMsg("", user, pass))
	return []struct {
		name string
		msg  []byte
	}{
		{"empty", nil},
		{"no NUL", []byte(user + pass)},
		{"one NUL", []byte(user + "\x00" + pass)},
		{"three NULs", []byte("\x00" + user + "\x00" + pass + "\x00")},
		{"NUL inside the password", []byte("\x00" + user + "\x00" + pass[:4] + "\x00" + pass[4:])},
		{"four NULs", []byte("\x00\x00" + user + "\x00" + pass + "\x00")},
		{"only NULs", []byte("\x00\x00")},
		{"empty user", saslPlainMsg("", "", pass)},
		{"empty password", saslPlainMsg("", user, "")},
		{"empty both", saslPlainMsg("", "", "")},
		{"authzid differs from the user", saslPlainMsg("admin", user, pass)},
		{"authzid differs in case", saslPlainMsg(strings.ToUpper(user), user, pass)},
		{"invalid UTF-8 in the password", saslPlainMsg("", user, pass+"\xff")},
		{"invalid UTF-8 in the user", saslPlainMsg("", user+"\xc3", pass)},
		{"invalid UTF-8 in the authzid", saslPlainMsg("\xed\xa0\x80", user, pass)},
		{"oversized user", saslPlainMsg("", strings.Repeat("u", 256), pass)},
		{"oversized password", saslPlainMsg("", user, pass+strings.Repeat("p", 256-len(pass)))},
		{"oversized authzid", saslPlainMsg(strings.Repeat("a", 256), user, pass)},
		{"oversized message", saslPlainMsg(strings.Repeat("u", 255), strings.Repeat("u", 255), strings.Repeat("p", 256))},
		{"1 MiB message", big},
		{"1 MiB password", saslPlainMsg("", user, pass+strings.Repeat("p", 1<<20))},
	}
}

func TestAuthenticatePlainMalformed(t *testing.T) {
	v := newSASLEnv(t, Options{})
	ic := v.cred(v.a)
	user, pass := string(ic.Credential.Username), ic.Password.Reveal()
	for _, tc := range saslMalformedPlain(user, pass) {
		var (
			p   CredentialPrincipal
			err error
		)
		reads := v.gets(func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s: panic: %v", tc.name, r)
				}
			}()
			p, err = v.e.AuthenticatePlain(v.ctx, v.a, tc.msg)
		})
		wantErr(t, tc.name, err, ErrUnauthenticated)
		if p != (CredentialPrincipal{}) {
			t.Errorf("%s: principal %+v with the error", tc.name, p)
		}
		if err != nil && strings.Contains(err.Error(), pass) {
			t.Errorf("%s: the error holds the password", tc.name)
		}
		if reads != 0 {
			t.Errorf("%s: %d store reads for a malformed message, want 0", tc.name, reads)
		}
	}
	// At the bounds: 255-byte fields are well formed, and refused only
	// as a bad login.
	_, err := v.e.AuthenticatePlain(v.ctx, v.a, saslPlainMsg(strings.Repeat("u", 255), strings.Repeat("u", 255), strings.Repeat("p", 255)))
	wantErr(t, "255-byte fields", err, ErrUnauthenticated)
	_, bad := v.plain(v.a, user, "wrong")
	if err == nil || bad == nil || err.Error() != bad.Error() {
		t.Errorf("255-byte fields: %v, want the bad-login error %v", err, bad)
	}
	if _, err := v.plain(v.a, user, pass); err != nil {
		t.Errorf("valid login after the malformed ones: %v", err)
	}
}

// --- remembered PLAIN checks ---

func TestRememberPlain(t *testing.T) {
	v := newSASLEnv(t, Options{})
	ic := v.cred(v.a)
	user, pass := string(ic.Credential.Username), ic.Password.Reveal()
	login := func(what string, p string, want error) int64 {
		t.Helper()
		return v.gets(func() {
			_, err := v.plain(v.a, user, p)
			wantErr(t, what, err, want)
		})
	}
	if n := login("first login", pass, nil); n == 0 {
		t.Errorf("first login read the store %d times, want some", n)
	}
	if n := login("second login", pass, nil); n != 0 {
		t.Errorf("second login read the store %d times, want 0", n)
	}
	// A wrong password is checked every time.
	for i := range 2 {
		if n := login("wrong password", "wrong password", ErrUnauthenticated); n == 0 {
			t.Errorf("wrong password #%d read the store %d times: a failure was remembered", i+1, n)
		}
	}
	// Another authzid form of the same login is the same check.
	if n := v.gets(func() {
		_, err := v.e.AuthenticatePlain(v.ctx, v.a, saslPlainMsg(user, user, pass))
		wantErr(t, "login with authzid", err, nil)
	}); n != 0 {
		t.Errorf("login with authzid read the store %d times, want 0", n)
	}
	// Remembered for one cluster only.
	if n := v.gets(func() {
		_, err := v.plain(v.b, user, pass)
		wantErr(t, "login on another cluster", err, ErrUnauthenticated)
	}); n == 0 {
		t.Error("login on another cluster was answered from memory")
	}
	// The default lifetime is 5 minutes.
	v.clock.Advance(5*time.Minute - time.Nanosecond)
	if n := login("login before expiry", pass, nil); n != 0 {
		t.Errorf("login just before expiry read the store %d times, want 0", n)
	}
	v.clock.Advance(time.Nanosecond)
	if n := login("login at expiry", pass, nil); n == 0 {
		t.Error("login at expiry was answered from memory")
	}
	if n := login("login after a new check", pass, nil); n != 0 {
		t.Errorf("login after the new check read the store %d times, want 0", n)
	}
	// A delete forgets it.
	if err := v.e.DeleteCredential(v.ctx, ic.Credential.ID); err != nil {
		t.Fatal(err)
	}
	if n := login("login after delete", pass, ErrUnauthenticated); n == 0 {
		t.Error("login after delete was answered from memory")
	}
}

func TestRememberPlainLifetime(t *testing.T) {
	v := newSASLEnv(t, Options{RememberPlain: time.Second})
	ic := v.cred(v.a)
	user, pass := string(ic.Credential.Username), ic.Password.Reveal()
	for i, step := range []struct {
		advance time.Duration
		cached  bool
	}{{0, false}, {0, true}, {999 * time.Millisecond, true}, {time.Millisecond, false}, {0, true}} {
		v.clock.Advance(step.advance)
		n := v.gets(func() {
			if _, err := v.plain(v.a, user, pass); err != nil {
				t.Fatalf("login %d: %v", i, err)
			}
		})
		if (n == 0) != step.cached {
			t.Errorf("login %d: %d store reads, want remembered = %v", i, n, step.cached)
		}
	}
}

func TestRememberPlainDisabled(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"RememberPlain -1", Options{RememberPlain: -1}},
		{"Shared", Options{Shared: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newSASLEnv(t, tc.opts)
			ic := v.cred(v.a)
			for i := range 4 {
				n := v.gets(func() {
					if _, err := v.plain(v.a, string(ic.Credential.Username), ic.Password.Reveal()); err != nil {
						t.Fatalf("login %d: %v", i, err)
					}
				})
				if n == 0 {
					t.Errorf("login %d read the store 0 times: remembered", i)
				}
			}
		})
	}
}

// TestRememberedPlainDeleteRace: goroutines log in with PLAIN in a loop,
// most of them answered from memory, while the credential (or its cluster)
// is deleted. No login that starts after the delete returned succeeds.
// Run it with -race.
func TestRememberedPlainDeleteRace(t *testing.T) {
	rounds := 8
	if testing.Short() {
		rounds = 3
	}
	for _, how := range []string{"DeleteCredential", "DeleteCluster"} {
		t.Run(how, func(t *testing.T) {
			v := newSASLEnv(t, Options{})
			for round := range rounds {
				cl := v.a
				if how == "DeleteCluster" {
					cl = v.cluster(fmt.Sprintf("c%d", round), cluster.BYOC)
				}
				ic := v.cred(cl)
				msg := saslPlainMsg("", string(ic.Credential.Username), ic.Password.Reveal())
				if _, err := v.e.AuthenticatePlain(v.ctx, cl, msg); err != nil {
					t.Fatal(err)
				}
				var (
					deleted, stop       atomic.Bool
					before, after, late atomic.Int64 // successes before; logins begun after; successes of those
					mu                  sync.Mutex
					unexpected          []error
					wg                  sync.WaitGroup
				)
				for range 4 {
					wg.Go(func() {
						for !stop.Load() {
							wasDeleted := deleted.Load()
							// A fresh copy each time: the engine
							// must not depend on the caller's
							// buffer.
							_, err := v.e.AuthenticatePlain(v.ctx, cl, slices.Clone(msg))
							switch {
							case err == nil && wasDeleted:
								late.Add(1)
							case err == nil:
								before.Add(1)
							case !errors.Is(err, ErrUnauthenticated) && !errors.Is(err, ErrBusy):
								mu.Lock()
								unexpected = append(unexpected, err)
								mu.Unlock()
							}
							if wasDeleted {
								after.Add(1)
							}
						}
					})
				}
				waitFor(t, "logins before the delete", func() bool { return before.Load() >= 20 })
				var err error
				if how == "DeleteCluster" {
					err = v.e.DeleteCluster(v.ctx, cl)
				} else {
					err = v.e.DeleteCredential(v.ctx, ic.Credential.ID)
				}
				deleted.Store(true)
				if err != nil {
					stop.Store(true)
					wg.Wait()
					t.Fatalf("%s: %v", how, err)
				}
				waitFor(t, "logins after the delete", func() bool { return after.Load() >= 20 })
				stop.Store(true)
				wg.Wait()
				if n := late.Load(); n != 0 {
					t.Errorf("round %d: %d logins begun after %s returned succeeded", round, n, how)
				}
				for _, err := range unexpected {
					t.Errorf("round %d: unexpected error %v", round, err)
				}
			}
		})
	}
}

// TestLoginRacingDeleteNotCorrupt: a login that reads a credential's
// login entry just before a delete of the credential commits, and its
// record just after, is refused like any login of a deleted credential.
// lookupLogin reads the login entry and then the credential record in two
// Gets; when the record is missing it reads the login entry again, to tell
// a delete in between (an unknown user) from a dangling entry (corruption).
// The hook below puts the delete in between every time.
func TestLoginRacingDeleteNotCorrupt(t *testing.T) {
	for _, how := range []string{"DeleteCredential", "DeleteCluster"} {
		for _, mech := range []string{MechanismPlain, MechanismSCRAMSHA256} {
			t.Run(how+"/"+mech, func(t *testing.T) {
				v := newSASLEnv(t, Options{})
				hs := &HookStore{Store: v.s}
				e, err := New(v.ctx, hs, Options{PasswordHash: CheapArgon2, Shared: true})
				if err != nil {
					t.Fatal(err)
				}
				cl := v.cluster("racing", cluster.BYOC)
				ic := v.cred(cl)
				user := string(ic.Credential.Username)
				// Right after the login entry is read, the delete
				// runs to its end.
				hs.Arm(record.LoginKey(cl, user), func() {
					if how == "DeleteCluster" {
						err = v.e.DeleteCluster(v.ctx, cl)
					} else {
						err = v.e.DeleteCredential(v.ctx, ic.Credential.ID)
					}
					if err != nil {
						t.Errorf("%s: %v", how, err)
					}
				})
				if mech == MechanismPlain {
					_, err = e.AuthenticatePlain(v.ctx, cl, saslPlainMsg("", user, ic.Password.Reveal()))
				} else {
					var x *SCRAMExchange
					if x, err = e.StartSCRAM(v.ctx, cl, mech); err != nil {
						t.Fatal(err)
					}
					_, err = x.Step(v.ctx, []byte("n,,n="+user+",r=abc"))
				}
				if !hs.Fired() {
					t.Fatal("the hook did not run")
				}
				if mech == MechanismPlain {
					wantErr(t, "login racing "+how, err, ErrUnauthenticated)
				} else if err != nil {
					// SCRAM must go on to the proof, as for an
					// unknown user.
					t.Errorf("SCRAM first step racing %s: %v, want a server-first message", how, err)
				}
				if errors.Is(err, store.ErrCorrupt) {
					t.Errorf("login racing %s reports a corrupt store: %v", how, err)
				}
			})
		}
	}
}

// waitFor waits until cond holds, failing the test after 20 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// --- bounded hashing ---

func TestPlainBusy(t *testing.T) {
	const wait = 20 * time.Millisecond
	v := newSASLEnv(t, Options{MaxPasswordChecks: 1, PasswordCheckWait: wait})
	hot := v.cred(v.a)
	cold := v.cred(v.a)
	if _, err := v.plain(v.a, string(hot.Credential.Username), hot.Password.Reveal()); err != nil {
		t.Fatal(err)
	}
	// Hold the one slot, as a slow login would.
	if err := v.e.passwords.acquire(v.ctx); err != nil {
		t.Fatal(err)
	}
	held := true
	release := func() {
		if held {
			v.e.passwords.release()
			held = false
		}
	}
	defer release()

	unknown, _ := keys.NewUsername()
	for _, tc := range []struct{ name, user, pass string }{
		{"right password", string(cold.Credential.Username), cold.Password.Reveal()},
		{"wrong password", string(cold.Credential.Username), "wrong password"},
		{"unknown user", string(unknown), "some password"},
	} {
		start := time.Now()
		_, err := v.plain(v.a, tc.user, tc.pass)
		elapsed := time.Since(start)
		if !errors.Is(err, ErrBusy) {
			t.Errorf("%s with no free slot: %v, want ErrBusy", tc.name, err)
		}
		if errors.Is(err, ErrUnauthenticated) {
			t.Errorf("%s: busy error %q also says unauthenticated", tc.name, err)
		}
		if elapsed < wait || elapsed > 5*time.Second {
			t.Errorf("%s: ErrBusy after %v, want about %v", tc.name, elapsed, wait)
		}
	}
	// A remembered login needs no slot.
	if _, err := v.plain(v.a, string(hot.Credential.Username), hot.Password.Reveal()); err != nil {
		t.Errorf("remembered login with no free slot: %v", err)
	}
	// Creating a credential hashes too.
	if _, err := v.e.CreateCredential(v.ctx, v.a, CredentialSpec{Name: "late"}); !errors.Is(err, ErrBusy) {
		t.Errorf("CreateCredential with no free slot: %v, want ErrBusy", err)
	}
	// A context that ends during the wait ends it with its own error.
	ctx, cancel := context.WithTimeout(v.ctx, wait/4)
	defer cancel()
	if _, err := v.e.AuthenticatePlain(ctx, v.a, saslPlainMsg("", string(cold.Credential.Username), cold.Password.Reveal())); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("login whose context ends while it waits for a slot: %v, want context.DeadlineExceeded", err)
	}

	release()
	if _, err := v.plain(v.a, string(cold.Credential.Username), cold.Password.Reveal()); err != nil {
		t.Errorf("login once the slot is free: %v", err)
	}
}

// TestPlainBusySlowLogin: the slot is held by a real login whose argon2id
// run is slow (big memory, several passes), rather than taken by hand.
func TestPlainBusySlowLogin(t *testing.T) {
	v := newSASLEnv(t, Options{MaxPasswordChecks: 1, PasswordCheckWait: time.Millisecond})
	cheap := v.cred(v.a)
	// A second engine over the same store makes a credential with a slow
	// hash; the first checks it with the hash's own parameters.
	slowEngine, err := New(v.ctx, v.s, Options{PasswordHash: Argon2Params{Time: 3, MemoryKiB: 32 * 1024, Threads: 1}, Shared: true})
	if err != nil {
		t.Fatal(err)
	}
	slow, err := slowEngine.CreateCredential(v.ctx, v.a, CredentialSpec{Name: "slow"})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := v.plain(v.a, string(slow.Credential.Username), slow.Password.Reveal())
		done <- err
	}()
	// While the slow login holds the slot, a cheap one finds none.
	for busy := false; !busy; {
		select {
		case err := <-done:
			t.Skipf("the slow login (%v) ended before another found the slot taken: machine too fast", err)
		default:
		}
		if len(v.e.passwords.slots) == 0 {
			time.Sleep(50 * time.Microsecond)
			continue
		}
		_, err := v.plain(v.a, string(cheap.Credential.Username), "wrong password")
		switch {
		case errors.Is(err, ErrBusy):
			busy = true
		case !errors.Is(err, ErrUnauthenticated):
			t.Fatalf("cheap login: %v", err)
		}
	}
	if err := <-done; err != nil {
		t.Errorf("slow login: %v", err)
	}
}

// --- SCRAM ---

var saslXDG = map[string]xdg.HashGeneratorFcn{
	MechanismSCRAMSHA256: xdg.SHA256,
	MechanismSCRAMSHA512: xdg.SHA512,
}

var saslSCRAMs = []string{MechanismSCRAMSHA256, MechanismSCRAMSHA512}

// scramResult is how a SCRAM exchange went.
type scramResult struct {
	serverFirst string
	failedAt    int // 1 or 2: the step the server refused; 0 if it succeeded
	err         error
	principal   CredentialPrincipal
}

// salt and iterations return the server-first message's s= and i=.
func (r scramResult) salt() string       { return scramAttr(r.serverFirst, "s=") }
func (r scramResult) iterations() string { return scramAttr(r.serverFirst, "i=") }

func scramAttr(msg, name string) string {
	for f := range strings.SplitSeq(msg, ",") {
		if v, ok := strings.CutPrefix(f, name); ok {
			return v
		}
	}
	return ""
}

// scram runs a SCRAM exchange of xdg-go/scram's client against the engine
// for cluster cl, calling between (if not nil) after the server-first
// message. It checks what holds whatever the outcome: no Principal before
// success, the client accepts the server's signature on success.
func (v *saslEnv) scram(cl keys.ClusterID, mech, user, pass string, between func()) scramResult {
	v.t.Helper()
	t := v.t
	x, err := v.e.StartSCRAM(v.ctx, cl, mech)
	if err != nil {
		t.Fatalf("StartSCRAM: %v", err)
	}
	notDone := func(when string) {
		t.Helper()
		if x.Done() {
			t.Errorf("%s: Done before the exchange succeeded", when)
		}
		if p, err := x.Principal(); err == nil {
			t.Errorf("%s: Principal %+v before the exchange succeeded", when, p)
		}
	}
	notDone("after StartSCRAM")
	c, err := saslXDG[mech].NewClientUnprepped(user, pass, "")
	if err != nil {
		t.Fatal(err)
	}
	cc := c.NewConversation()
	clientFirst, err := cc.Step("")
	if err != nil {
		t.Fatal(err)
	}
	serverFirst, err := x.Step(v.ctx, []byte(clientFirst))
	if err != nil {
		notDone("after a failed first step")
		return scramResult{failedAt: 1, err: err}
	}
	r := scramResult{serverFirst: string(serverFirst)}
	notDone("after the first step")
	if between != nil {
		between()
	}
	clientFinal, err := cc.Step(string(serverFirst))
	if err != nil {
		t.Fatalf("client refused the server-first message %q: %v", serverFirst, err)
	}
	serverFinal, err := x.Step(v.ctx, []byte(clientFinal))
	if err != nil {
		notDone("after a failed final step")
		r.failedAt, r.err = 2, err
		return r
	}
	if !x.Done() {
		t.Error("final step succeeded but not Done")
	}
	if _, err := cc.Step(string(serverFinal)); err != nil || !cc.Valid() {
		t.Errorf("client refused the server's signature: %v", err)
	}
	if r.principal, err = x.Principal(); err != nil {
		t.Errorf("Principal after success: %v", err)
	}
	// Nothing follows success.
	if _, err := x.Step(v.ctx, []byte(clientFinal)); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("a step after success: %v, want ErrUnauthenticated", err)
	}
	return r
}

func TestSCRAM(t *testing.T) {
	v := newSASLEnv(t, Options{})
	ic := v.cred(v.a)
	su := v.credSpec(v.a, CredentialSpec{Name: "admin", Superuser: true})
	imported, err := keys.ImportPassword("migrated pässwörd ✓")
	if err != nil {
		t.Fatal(err)
	}
	im := v.credSpec(v.a, CredentialSpec{Name: "migrated", Password: imported})
	for _, mech := range saslSCRAMs {
		for _, c := range []struct {
			name, pass string
			ic         IssuedCredential
		}{
			{"generated", ic.Password.Reveal(), ic},
			{"superuser", su.Password.Reveal(), su},
			{"imported", "migrated pässwörd ✓", im},
		} {
			r := v.scram(v.a, mech, string(c.ic.Credential.Username), c.pass, nil)
			if r.err != nil {
				t.Errorf("%s %s: failed at step %d: %v", mech, c.name, r.failedAt, r.err)
				continue
			}
			if r.principal != saslPrincipalOf(c.ic) {
				t.Errorf("%s %s: principal %+v, want %+v", mech, c.name, r.principal, saslPrincipalOf(c.ic))
			}
			if r.iterations() != "4096" {
				t.Errorf("%s %s: %s iterations, want 4096", mech, c.name, r.iterations())
			}
		}
	}
}

// TestSCRAMFailuresLookAlike: every cause fails at the final step with
// the text of PLAIN's bad login.
func TestSCRAMFailuresLookAlike(t *testing.T) {
	v := newSASLEnv(t, Options{})
	ic := v.cred(v.a)
	user, pass := string(ic.Credential.Username), ic.Password.Reveal()
	onB := v.cred(v.b)
	unknown, _ := keys.NewUsername()
	_, badLogin := v.plain(v.a, user, "wrong password")
	if badLogin == nil {
		t.Fatal("PLAIN accepted a wrong password")
	}
	for _, mech := range saslSCRAMs {
		type tc struct {
			name       string
			cl         keys.ClusterID
			user, pass string
			between    func()
		}
		realSalt := v.scram(v.a, mech, user, pass, nil).salt()
		gone := v.cred(v.a)
		goneBetween := v.cred(v.a)
		clusterBetween := v.cluster("between "+mech, cluster.BYOC)
		onBetween := v.cred(clusterBetween)
		if err := v.e.DeleteCredential(v.ctx, gone.Credential.ID); err != nil {
			t.Fatal(err)
		}
		for _, c := range []tc{
			{"wrong password", v.a, user, pass + "x", nil},
			{"empty password", v.a, user, "", nil},
			{"unknown user", v.a, string(unknown), pass, nil},
			{"badly formed user", v.a, "alice", pass, nil},
			{"another cluster's credential", v.a, string(onB.Credential.Username), onB.Password.Reveal(), nil},
			{"credential on the wrong cluster", v.b, user, pass, nil},
			{"deleted credential", v.a, string(gone.Credential.Username), gone.Password.Reveal(), nil},
			{"deleted between the steps", v.a, string(goneBetween.Credential.Username), goneBetween.Password.Reveal(), func() {
				if err := v.e.DeleteCredential(v.ctx, goneBetween.Credential.ID); err != nil {
					t.Fatal(err)
				}
			}},
			{"cluster deleted between the steps", clusterBetween, string(onBetween.Credential.Username), onBetween.Password.Reveal(), func() {
				if err := v.e.DeleteCluster(v.ctx, clusterBetween); err != nil {
					t.Fatal(err)
				}
			}},
		} {
			r := v.scram(c.cl, mech, c.user, c.pass, c.between)
			what := mech + " " + c.name
			wantErr(t, what, r.err, ErrUnauthenticated)
			if r.err == nil {
				continue
			}
			if r.failedAt != 2 {
				t.Errorf("%s: failed at step %d, want 2 (the proof)", what, r.failedAt)
			}
			if r.err.Error() != badLogin.Error() {
				t.Errorf("%s: error %q, want %q as for a wrong password", what, r.err, badLogin)
			}
			if r.iterations() != "4096" || len(r.salt()) != len(realSalt) {
				t.Errorf("%s: server-first %q unlike a real user's", what, r.serverFirst)
			}
		}
	}
}

// TestSCRAMUnknownUserSalt: an unknown user's salt is stable across
// attempts and engines over the store, differs between usernames, and has
// a real user's iteration count and salt length.
func TestSCRAMUnknownUserSalt(t *testing.T) {
	for _, iters := range []int{0, 8192} {
		t.Run(fmt.Sprint("SCRAMIterations=", iters), func(t *testing.T) {
			v := newSASLEnv(t, Options{SCRAMIterations: iters})
			want := "4096"
			if iters != 0 {
				want = fmt.Sprint(iters)
			}
			known := v.cred(v.a)
			u1, _ := keys.NewUsername()
			u2, _ := keys.NewUsername()
			again, err := New(v.ctx, v.s, Options{PasswordHash: CheapArgon2, SCRAMIterations: iters, Shared: true})
			if err != nil {
				t.Fatal(err)
			}
			w := &saslEnv{t: t, ctx: v.ctx, s: v.s, e: again}
			salts := map[string]string{}
			for _, mech := range saslSCRAMs {
				r := v.scram(v.a, mech, string(known.Credential.Username), known.Password.Reveal(), nil)
				if r.err != nil {
					t.Fatalf("%s real user: %v", mech, r.err)
				}
				if r.iterations() != want {
					t.Errorf("%s real user: %s iterations, want %s", mech, r.iterations(), want)
				}
				a1 := v.scram(v.a, mech, string(u1), "pw", nil)
				a2 := v.scram(v.a, mech, string(u1), "other pw", nil)
				b := v.scram(v.a, mech, string(u2), "pw", nil)
				other := w.scram(v.a, mech, string(u1), "pw", nil)
				onB := v.scram(v.b, mech, string(u1), "pw", nil)
				for _, x := range []scramResult{a1, a2, b, other, onB} {
					if x.failedAt != 2 {
						t.Fatalf("%s unknown user: failed at step %d (%v), want 2", mech, x.failedAt, x.err)
					}
					if x.iterations() != r.iterations() {
						t.Errorf("%s unknown user: %s iterations, a real user %s", mech, x.iterations(), r.iterations())
					}
					if len(x.salt()) != len(r.salt()) || x.salt() == "" {
						t.Errorf("%s unknown user: salt %q, a real user's %q", mech, x.salt(), r.salt())
					}
				}
				if a1.salt() != a2.salt() {
					t.Errorf("%s: an unknown user's salt changed between attempts: %q, %q", mech, a1.salt(), a2.salt())
				}
				if a1.salt() != other.salt() {
					t.Errorf("%s: an unknown user's salt differs between engines over one store: %q, %q", mech, a1.salt(), other.salt())
				}
				if a1.salt() == b.salt() {
					t.Errorf("%s: two unknown users got the same salt %q", mech, a1.salt())
				}
				if a1.salt() == onB.salt() {
					t.Errorf("%s: an unknown user got the same salt %q on two clusters", mech, a1.salt())
				}
				salts[mech] = a1.salt()
			}
			if salts[MechanismSCRAMSHA256] == salts[MechanismSCRAMSHA512] {
				t.Errorf("an unknown user got the same salt for both mechanisms")
			}
		})
	}
}

func TestStartSCRAMErrors(t *testing.T) {
	v := newSASLEnv(t, Options{})
	for _, mech := range []string{"", "PLAIN", "SCRAM-SHA-1", "scram-sha-256", "SCRAM-SHA-256-PLUS", "GSSAPI", "SCRAM-SHA-512\x00"} {
		x, err := v.e.StartSCRAM(v.ctx, v.a, mech)
		wantErr(t, fmt.Sprintf("StartSCRAM(%q)", mech), err, ErrInvalidArgument)
		if x != nil {
			t.Errorf("StartSCRAM(%q) returned an exchange with its error", mech)
		}
	}
	_, err := v.e.StartSCRAM(v.ctx, keys.ClusterID{}, MechanismSCRAMSHA256)
	wantErr(t, "StartSCRAM(zero cluster)", err, ErrInvalidArgument)
}

// TestSCRAMMalformed: protocol violations are ErrUnauthenticated, never a
// panic, and end the exchange.
func TestSCRAMMalformed(t *testing.T) {
	v := newSASLEnv(t, Options{})
	ic := v.cred(v.a)
	user := string(ic.Credential.Username)
	for _, msg := range []string{
		"",
		"garbage",
		"p=tls-unique,,n=" + user + ",r=abc",
		"n,,n=" + user,
		"n,,n=,r=abc",
		"n,,n=" + user + ",r=a\x00c",
		"n,,n=" + user + ",r=\xff",
		strings.Repeat("n", 1<<20),
	} {
		x, err := v.e.StartSCRAM(v.ctx, v.a, MechanismSCRAMSHA256)
		if err != nil {
			t.Fatal(err)
		}
		_, err = x.Step(v.ctx, []byte(msg))
		wantErr(t, fmt.Sprintf("first message %.40q", msg), err, ErrUnauthenticated)
		if _, err := x.Step(v.ctx, []byte("n,,n="+user+",r=abc")); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("a step after a failure: %v, want ErrUnauthenticated", err)
		}
		if x.Done() {
			t.Errorf("Done after a malformed message")
		}
	}
	// A malformed final message.
	x, err := v.e.StartSCRAM(v.ctx, v.a, MechanismSCRAMSHA256)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.Step(v.ctx, []byte("n,,n="+user+",r=abc")); err != nil {
		t.Fatal(err)
	}
	_, err = x.Step(v.ctx, []byte("c=biws,r=abc,p=AAAA"))
	wantErr(t, "malformed final message", err, ErrUnauthenticated)
	if x.Done() {
		t.Error("Done after a malformed final message")
	}
}

// --- what an agent asks ---

func TestAllowUnauthenticated(t *testing.T) {
	v := newSASLEnv(t, Options{})
	check := func(what string, cl keys.ClusterID, want bool, wantE error) {
		t.Helper()
		got, err := v.e.AllowUnauthenticated(v.ctx, cl)
		wantErr(t, what, err, wantE)
		if got != want {
			t.Errorf("%s: AllowUnauthenticated = %v, want %v", what, got, want)
		}
	}
	check("BYOC by default", v.a, true, nil)
	check("serverless", v.sl, false, nil)
	if _, err := v.e.SetClusterSASL(v.ctx, v.a, cluster.SASLRequired); err != nil {
		t.Fatal(err)
	}
	check("BYOC with SASL required", v.a, false, nil)
	check("the other BYOC cluster", v.b, true, nil)
	if _, err := v.e.SetClusterSASL(v.ctx, v.a, cluster.SASLOff); err != nil {
		t.Fatal(err)
	}
	check("BYOC with SASL off again", v.a, true, nil)
	c, err := v.e.CreateCluster(v.ctx, v.ws, ClusterSpec{Name: "strict", Type: cluster.BYOC, SASL: cluster.SASLRequired})
	if err != nil {
		t.Fatal(err)
	}
	check("BYOC created with SASL required", c.Cluster.ID, false, nil)
	unknown, _ := keys.NewClusterID()
	check("unknown cluster", unknown, false, ErrNotFound)
	check("zero cluster", keys.ClusterID{}, false, ErrInvalidArgument)
	if err := v.e.DeleteCluster(v.ctx, v.b); err != nil {
		t.Fatal(err)
	}
	check("deleted cluster", v.b, false, ErrNotFound)
}

func TestSASLMechanisms(t *testing.T) {
	want := []string{"SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"}
	got := SASLMechanisms()
	if !slices.Equal(got, want) {
		t.Fatalf("SASLMechanisms() = %q, want %q", got, want)
	}
	got[0] = "changed"
	if again := SASLMechanisms(); !slices.Equal(again, want) {
		t.Errorf("SASLMechanisms() = %q after a caller changed its slice", again)
	}
}

// TestPlainStoreErrors: a store failure during a login is passed through,
// not turned into ErrUnauthenticated, and not remembered as a failure.
func TestPlainStoreErrors(t *testing.T) {
	v := newSASLEnv(t, Options{})
	ic := v.cred(v.a)
	var fail atomic.Bool
	fs := faultstore.New(v.s, faultstore.PolicyFunc(func(int) bool { return fail.Load() }))
	e, err := New(v.ctx, fs, Options{PasswordHash: CheapArgon2, Shared: true})
	if err != nil {
		t.Fatal(err)
	}
	fail.Store(true)
	msg := saslPlainMsg("", string(ic.Credential.Username), ic.Password.Reveal())
	_, err = e.AuthenticatePlain(v.ctx, v.a, msg)
	if !errors.Is(err, faultstore.ErrInjected) || errors.Is(err, ErrUnauthenticated) {
		t.Errorf("login over a failing store: %v, want the store's error", err)
	}
	x, err := e.StartSCRAM(v.ctx, v.a, MechanismSCRAMSHA256)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.Step(v.ctx, []byte("n,,n="+string(ic.Credential.Username)+",r=abc")); !errors.Is(err, faultstore.ErrInjected) {
		t.Errorf("SCRAM over a failing store: %v, want the store's error", err)
	}
	fail.Store(false)
	if _, err := e.AuthenticatePlain(v.ctx, v.a, msg); err != nil {
		t.Errorf("login once the store works: %v", err)
	}
}
