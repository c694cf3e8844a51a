package auth_test

// Tests of cluster credentials through the exported API: create (with a
// generated or an imported password), get, list, delete, their deletion
// with their cluster, and that no password is ever stored. The fixture
// here is shared with kafka_test.go.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/streamauth/streamauth/auth"
	"github.com/streamauth/streamauth/cluster"
	"github.com/streamauth/streamauth/internal/record"
	"github.com/streamauth/streamauth/keys"
	"github.com/streamauth/streamauth/store"
	"github.com/streamauth/streamauth/store/memstore"
)

// ccT0 is the fixture clock's time.
var ccT0 = time.Date(2031, 2, 3, 4, 5, 6, 700, time.UTC)

// ccEnv is an engine over a fresh memstore with an account and a
// workspace; its clock stands at ccT0.
type ccEnv struct {
	t    *testing.T
	ctx  context.Context
	st   store.Store
	mem  *memstore.Store
	e    *auth.Engine
	acct keys.AccountID
	ws   keys.WorkspaceID
}

// newCCEnv returns a ccEnv; a zero opts.PasswordHash is auth.CheapArgon2, and a nil
// opts.Now is a clock standing at ccT0.
func newCCEnv(t *testing.T, opts auth.Options) *ccEnv {
	t.Helper()
	mem := memstore.New()
	t.Cleanup(func() { mem.Close() })
	return newCCEnvOn(t, mem, mem, opts)
}

// newCCEnvOn is newCCEnv over st, which wraps mem.
func newCCEnvOn(t *testing.T, st store.Store, mem *memstore.Store, opts auth.Options) *ccEnv {
	t.Helper()
	if opts.PasswordHash == (auth.Argon2Params{}) {
		opts.PasswordHash = auth.CheapArgon2
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return ccT0 }
	}
	v := &ccEnv{t: t, ctx: t.Context(), st: st, mem: mem}
	var err error
	if v.e, err = auth.New(v.ctx, st, opts); err != nil {
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
	return v
}

func (v *ccEnv) cluster(name string, typ cluster.Type) keys.ClusterID {
	v.t.Helper()
	c, err := v.e.CreateCluster(v.ctx, v.ws, auth.ClusterSpec{Name: name, Type: typ})
	if err != nil {
		v.t.Fatalf("CreateCluster(%q): %v", name, err)
	}
	return c.Cluster.ID
}

// cred creates a credential with a generated password.
func (v *ccEnv) cred(cl keys.ClusterID) auth.IssuedCredential {
	v.t.Helper()
	return v.credSpec(cl, auth.CredentialSpec{Name: "client"})
}

func (v *ccEnv) credSpec(cl keys.ClusterID, spec auth.CredentialSpec) auth.IssuedCredential {
	v.t.Helper()
	ic, err := v.e.CreateCredential(v.ctx, cl, spec)
	if err != nil {
		v.t.Fatalf("CreateCredential: %v", err)
	}
	return ic
}

// login runs a PLAIN login of ic's username with password on cluster cl.
func (v *ccEnv) login(cl keys.ClusterID, ic auth.IssuedCredential, password string) (auth.CredentialPrincipal, error) {
	return v.e.AuthenticatePlain(v.ctx, cl, ccPlain(ic.Credential.Username, password))
}

// ccPlain is a PLAIN message without an authorization identity.
func ccPlain(user keys.Username, password string) []byte {
	return []byte("\x00" + string(user) + "\x00" + password)
}

var (
	ccUsernameRE = regexp.MustCompile(`^ccun_[0-9a-f]{32}$`)
	ccPasswordRE = regexp.MustCompile(`^ccp_[0-9a-f]{64}$`)
)

func TestCreateCredential(t *testing.T) {
	v := newCCEnv(t, auth.Options{})
	cl := v.cluster("orders", cluster.BYOC)
	seen := map[string]bool{}
	var created []auth.IssuedCredential
	for i, spec := range []auth.CredentialSpec{
		{Name: "billing service"},
		{Name: "ops", Superuser: true},
		{Name: "billing service"}, // names need not be unique
	} {
		ic, err := v.e.CreateCredential(v.ctx, cl, spec)
		if err != nil {
			t.Fatalf("CreateCredential #%d: %v", i, err)
		}
		c := ic.Credential
		if c.ID.IsZero() {
			t.Errorf("#%d: zero id", i)
		}
		want := auth.Credential{ID: c.ID, Cluster: cl, Workspace: v.ws, Account: v.acct, Username: c.Username,
			Name: spec.Name, Superuser: spec.Superuser, CreatedAt: ccT0}
		if c != want {
			t.Errorf("#%d: credential %+v, want %+v", i, c, want)
		}
		if !ccUsernameRE.MatchString(string(c.Username)) {
			t.Errorf("#%d: username %q, want ccun_ and 32 lowercase hex digits", i, c.Username)
		}
		pw := ic.Password.Reveal()
		if !ccPasswordRE.MatchString(pw) {
			t.Errorf("#%d: generated password of %d bytes is not ccp_ and 64 lowercase hex digits", i, len(pw))
		}
		for _, s := range []string{c.ID.String(), string(c.Username), pw} {
			if seen[s] {
				t.Errorf("#%d: %q repeats an earlier credential's", i, s)
			}
			seen[s] = true
		}
		// The password prints as a placeholder only.
		if s := fmt.Sprintf("%v %+v %#v %s", ic, ic, ic, ic.Password); strings.Contains(s, pw) {
			t.Errorf("#%d: formatting the issued credential shows its password", i)
		}
		got, err := v.e.GetCredential(v.ctx, c.ID)
		if err != nil || got != c {
			t.Errorf("#%d: GetCredential = %+v, %v; want %+v", i, got, err, c)
		}
		p, err := v.login(cl, ic, pw)
		if err != nil {
			t.Fatalf("#%d: login with the generated password: %v", i, err)
		}
		if want := (auth.CredentialPrincipal{Credential: c.ID, Cluster: cl, Username: c.Username, Superuser: spec.Superuser}); p != want {
			t.Errorf("#%d: principal %+v, want %+v", i, p, want)
		}
		created = append(created, ic)
	}
	// Each password is its own credential's only.
	if _, err := v.login(cl, created[0], created[1].Password.Reveal()); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("login with another credential's password: %v, want ErrUnauthenticated", err)
	}
}

func TestCreateCredentialImportedPassword(t *testing.T) {
	v := newCCEnv(t, auth.Options{})
	cl := v.cluster("orders", cluster.BYOC)
	for _, text := range []string{
		"hunter2!",            // the shortest allowed
		"ccp_not-one-of-ours", // our prefix, not our shape
		"pässwörd mit Ümläuten ☕",
		" spaces at both ends ",
		strings.Repeat("x", keys.MaxPasswordLen),
	} {
		pw, err := keys.ImportPassword(text)
		if err != nil {
			t.Fatalf("ImportPassword(%d bytes): %v", len(text), err)
		}
		ic := v.credSpec(cl, auth.CredentialSpec{Name: "migrated", Password: pw})
		if !ic.Password.Equal(pw) || ic.Password.Reveal() != text {
			t.Errorf("imported password of %d bytes came back changed: it was regenerated", len(text))
		}
		if _, err := v.login(cl, ic, text); err != nil {
			t.Errorf("login with the imported password of %d bytes: %v", len(text), err)
		}
		if _, err := v.login(cl, ic, text+"x"); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Errorf("login with the imported password and more: %v", err)
		}
	}
	// The same imported password for two credentials makes two distinct
	// credentials, each with its own username.
	pw, _ := keys.ImportPassword("shared secret")
	a := v.credSpec(cl, auth.CredentialSpec{Name: "a", Password: pw})
	b := v.credSpec(cl, auth.CredentialSpec{Name: "b", Password: pw})
	if a.Credential.Username == b.Credential.Username || a.Credential.ID == b.Credential.ID {
		t.Error("two credentials of one imported password share a username or id")
	}
	for _, ic := range []auth.IssuedCredential{a, b} {
		p, err := v.login(cl, ic, "shared secret")
		if err != nil || p.Credential != ic.Credential.ID {
			t.Errorf("login as %s: %+v, %v", ic.Credential.Username, p, err)
		}
	}
}

func TestCreateCredentialErrors(t *testing.T) {
	v := newCCEnv(t, auth.Options{})
	cl := v.cluster("orders", cluster.BYOC)
	unknown, _ := keys.NewClusterID()
	before := v.mem.Len()
	for _, name := range []string{"", " lead", "trail ", "nul\x00", "esc\x1b", "bad \xff utf-8", strings.Repeat("n", keys.MaxDisplayNameLen+1)} {
		ic, err := v.e.CreateCredential(v.ctx, cl, auth.CredentialSpec{Name: name})
		auth.WantErr(t, fmt.Sprintf("CreateCredential(name %q)", name), err, auth.ErrInvalidArgument)
		if !ic.Credential.ID.IsZero() || !ic.Password.IsZero() {
			t.Errorf("CreateCredential(name %q) returned a credential with its error", name)
		}
	}
	_, err := v.e.CreateCredential(v.ctx, unknown, auth.CredentialSpec{Name: "x"})
	auth.WantErr(t, "CreateCredential(unknown cluster)", err, auth.ErrNotFound)
	_, err = v.e.CreateCredential(v.ctx, keys.ClusterID{}, auth.CredentialSpec{Name: "x"})
	auth.WantErr(t, "CreateCredential(zero cluster)", err, auth.ErrInvalidArgument)
	if after := v.mem.Len(); after != before {
		t.Errorf("failed creations wrote %d keys", after-before)
	}
	_, err = v.e.ListCredentials(v.ctx, unknown)
	auth.WantErr(t, "ListCredentials(unknown cluster)", err, auth.ErrNotFound)
	_, err = v.e.ListCredentials(v.ctx, keys.ClusterID{})
	auth.WantErr(t, "ListCredentials(zero cluster)", err, auth.ErrInvalidArgument)
	id, _ := keys.NewCredentialID()
	_, err = v.e.GetCredential(v.ctx, id)
	auth.WantErr(t, "GetCredential(unknown)", err, auth.ErrNotFound)
	auth.WantErr(t, "DeleteCredential(unknown)", v.e.DeleteCredential(v.ctx, id), auth.ErrNotFound)
	_, err = v.e.GetCredential(v.ctx, keys.CredentialID{})
	auth.WantErr(t, "GetCredential(zero)", err, auth.ErrInvalidArgument)
	auth.WantErr(t, "DeleteCredential(zero)", v.e.DeleteCredential(v.ctx, keys.CredentialID{}), auth.ErrInvalidArgument)
}

func TestListCredentials(t *testing.T) {
	v := newCCEnv(t, auth.Options{})
	cl := v.cluster("orders", cluster.BYOC)
	other := v.cluster("payments", cluster.Serverless)
	empty := v.cluster("empty", cluster.BYOC)
	var want []auth.Credential
	for range 6 {
		want = append(want, v.cred(cl).Credential)
	}
	otherCred := v.cred(other).Credential
	slices.SortFunc(want, func(a, b auth.Credential) int { return strings.Compare(a.ID.String(), b.ID.String()) })
	got, err := v.e.ListCredentials(v.ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("ListCredentials:\n got %v\nwant %v (ordered by id)", got, want)
	}
	got, err = v.e.ListCredentials(v.ctx, other)
	if err != nil || !slices.Equal(got, []auth.Credential{otherCred}) {
		t.Errorf("ListCredentials(other) = %v, %v; want just its own", got, err)
	}
	got, err = v.e.ListCredentials(v.ctx, empty)
	if err != nil || len(got) != 0 {
		t.Errorf("ListCredentials(empty) = %v, %v; want none", got, err)
	}
}

func TestDeleteCredential(t *testing.T) {
	v := newCCEnv(t, auth.Options{})
	cl := v.cluster("orders", cluster.BYOC)
	keep := v.cred(cl)
	del := v.cred(cl)
	before := v.mem.Len()
	gone := v.cred(cl)
	// Remembered before its delete.
	if _, err := v.login(cl, gone, gone.Password.Reveal()); err != nil {
		t.Fatal(err)
	}
	if err := v.e.DeleteCredential(v.ctx, gone.Credential.ID); err != nil {
		t.Fatalf("DeleteCredential: %v", err)
	}
	if after := v.mem.Len(); after != before {
		t.Errorf("DeleteCredential left %d keys, want %d as before the credential", after, before)
	}
	_, err := v.e.GetCredential(v.ctx, gone.Credential.ID)
	auth.WantErr(t, "GetCredential after delete", err, auth.ErrNotFound)
	auth.WantErr(t, "second DeleteCredential", v.e.DeleteCredential(v.ctx, gone.Credential.ID), auth.ErrNotFound)
	_, err = v.login(cl, gone, gone.Password.Reveal())
	auth.WantErr(t, "login after delete", err, auth.ErrUnauthenticated)
	got, err := v.e.ListCredentials(v.ctx, cl)
	if err != nil || len(got) != 2 || slices.Contains(got, gone.Credential) {
		t.Errorf("ListCredentials after delete = %v, %v; want the two others", got, err)
	}
	for _, ic := range []auth.IssuedCredential{keep, del} {
		if _, err := v.login(cl, ic, ic.Password.Reveal()); err != nil {
			t.Errorf("another credential after the delete: %v", err)
		}
	}
}

func TestDeleteClusterDeletesCredentials(t *testing.T) {
	v := newCCEnv(t, auth.Options{})
	b := v.cluster("b", cluster.Serverless)
	onB := v.cred(b)
	before := v.mem.Len()
	a := v.cluster("doomed", cluster.BYOC)
	var onA []auth.IssuedCredential
	for range 3 {
		ic := v.cred(a)
		if _, err := v.login(a, ic, ic.Password.Reveal()); err != nil { // remembered
			t.Fatal(err)
		}
		onA = append(onA, ic)
	}
	if err := v.e.DeleteCluster(v.ctx, a); err != nil {
		t.Fatalf("DeleteCluster: %v", err)
	}
	if after := v.mem.Len(); after != before {
		t.Errorf("DeleteCluster left %d keys, want %d as before the cluster", after, before)
	}
	for i, ic := range onA {
		_, err := v.e.GetCredential(v.ctx, ic.Credential.ID)
		auth.WantErr(t, fmt.Sprintf("GetCredential #%d after DeleteCluster", i), err, auth.ErrNotFound)
		_, err = v.login(a, ic, ic.Password.Reveal())
		auth.WantErr(t, fmt.Sprintf("login #%d after DeleteCluster", i), err, auth.ErrUnauthenticated)
		auth.WantErr(t, fmt.Sprintf("DeleteCredential #%d after DeleteCluster", i), v.e.DeleteCredential(v.ctx, ic.Credential.ID), auth.ErrNotFound)
	}
	_, err := v.e.ListCredentials(v.ctx, a)
	auth.WantErr(t, "ListCredentials(deleted cluster)", err, auth.ErrNotFound)
	_, err = v.e.CreateCredential(v.ctx, a, auth.CredentialSpec{Name: "late"})
	auth.WantErr(t, "CreateCredential(deleted cluster)", err, auth.ErrNotFound)
	if _, err := v.login(b, onB, onB.Password.Reveal()); err != nil {
		t.Errorf("another cluster's credential after DeleteCluster: %v", err)
	}
	if got, err := v.e.ListCredentials(v.ctx, b); err != nil || !slices.Equal(got, []auth.Credential{onB.Credential}) {
		t.Errorf("ListCredentials(b) = %v, %v", got, err)
	}
}

// TestPasswordsNotStored (rule 7): after credentials are created, nothing
// in the store, key or value, holds any password's text, its bytes, or an
// encoding of them.
func TestPasswordsNotStored(t *testing.T) {
	v := newCCEnv(t, auth.Options{})
	a := v.cluster("a", cluster.BYOC)
	b := v.cluster("b", cluster.Serverless)
	var issued []auth.IssuedCredential
	for range 3 {
		issued = append(issued, v.cred(a), v.cred(b))
	}
	for _, text := range []string{"imported password", "pässwörd ☕ 東京", strings.Repeat("z", 255)} {
		pw, err := keys.ImportPassword(text)
		if err != nil {
			t.Fatal(err)
		}
		issued = append(issued, v.credSpec(a, auth.CredentialSpec{Name: "migrated", Password: pw}))
	}
	// Log in with every credential, so that whatever a login might
	// write would be there too.
	for _, ic := range issued {
		if _, err := v.login(ic.Credential.Cluster, ic, ic.Password.Reveal()); err != nil {
			t.Fatal(err)
		}
	}

	type needle struct {
		what string
		b    []byte
	}
	var needles []needle
	for i, ic := range issued {
		text := ic.Password.Reveal()
		add := func(what string, b []byte) {
			needles = append(needles, needle{fmt.Sprintf("password #%d %s", i, what), b})
		}
		add("text", []byte(text))
		add("base64", []byte(base64.StdEncoding.EncodeToString([]byte(text))))
		add("raw base64", []byte(base64.RawStdEncoding.EncodeToString([]byte(text))))
		add("hex", []byte(hex.EncodeToString([]byte(text))))
		if rest, ok := strings.CutPrefix(text, keys.PasswordPrefix); ok {
			add("without prefix", []byte(rest))
			if raw, err := hex.DecodeString(rest); err == nil {
				add("random bytes", raw)
			}
		}
	}
	var (
		n     int
		users int
	)
	err := v.mem.Scan(v.ctx, nil, func(k, val []byte) error {
		n++
		for _, ic := range issued {
			if bytes.Contains(k, []byte(ic.Credential.Username)) || bytes.Contains(val, []byte(ic.Credential.Username)) {
				users++
			}
		}
		for _, nd := range needles {
			if bytes.Contains(k, nd.b) {
				t.Errorf("a stored key holds %s", nd.what)
			}
			if bytes.Contains(val, nd.b) {
				t.Errorf("a stored value holds %s", nd.what)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The scan sees what is stored: each username is in its login entry
	// and its record.
	if users < len(issued) {
		t.Fatalf("scan of %d entries found %d usernames of %d credentials: is it seeing the store?", n, users, len(issued))
	}
	t.Logf("%d entries, %d needles: none found", n, len(needles))
}

// TestDefaultPasswordHash: the default argon2id parameters (64 MiB) work.
func TestDefaultPasswordHash(t *testing.T) {
	st := memstore.New()
	defer st.Close()
	ctx := t.Context()
	e, err := auth.New(ctx, st, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := e.CreateAccount(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	w, err := e.CreateWorkspace(ctx, a.ID, "w")
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.CreateCluster(ctx, w.ID, auth.ClusterSpec{Name: "c", Type: cluster.Serverless})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	ic, err := e.CreateCredential(ctx, c.Cluster.ID, auth.CredentialSpec{Name: "default"})
	if err != nil {
		t.Fatalf("CreateCredential: %v", err)
	}
	created := time.Since(start)
	start = time.Now()
	p, err := e.AuthenticatePlain(ctx, c.Cluster.ID, ccPlain(ic.Credential.Username, ic.Password.Reveal()))
	if err != nil || p.Credential != ic.Credential.ID {
		t.Fatalf("login: %+v, %v", p, err)
	}
	checked := time.Since(start)
	if _, err := e.AuthenticatePlain(ctx, c.Cluster.ID, ccPlain(ic.Credential.Username, "wrong password")); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("wrong password: %v", err)
	}
	t.Logf("with the default parameters: create %v, first login %v", created, checked)
}

// TestListCredentialsRacingDelete: a listing that runs while one of the
// cluster's credentials is deleted returns the cluster's credentials, with
// or without the deleted one.
// ListCredentials scans the listing entries from a snapshot and reads each
// record from the live store; a record deleted in between is left out, not
// an ErrNotFound of the whole listing.
func TestListCredentialsRacingDelete(t *testing.T) {
	mem := memstore.New()
	defer mem.Close()
	hs := &auth.HookStore{Store: mem}
	v := newCCEnvOn(t, hs, mem, auth.Options{})
	cl := v.cluster("orders", cluster.BYOC)
	creds := []auth.Credential{v.cred(cl).Credential, v.cred(cl).Credential}
	slices.SortFunc(creds, func(a, b auth.Credential) int { return strings.Compare(a.ID.String(), b.ID.String()) })
	first, second := creds[0], creds[1]
	// Once the listing reads the first record, the second is deleted.
	hs.Arm(record.CredentialKey(first.ID), func() {
		if err := v.e.DeleteCredential(v.ctx, second.ID); err != nil {
			t.Errorf("DeleteCredential: %v", err)
		}
	})
	got, err := v.e.ListCredentials(v.ctx, cl)
	if !hs.Fired() {
		t.Fatal("the hook did not run")
	}
	if err != nil {
		t.Fatalf("ListCredentials racing a delete: %v", err)
	}
	if !slices.Equal(got, creds) && !slices.Equal(got, creds[:1]) {
		t.Errorf("ListCredentials racing a delete = %v, want %v with or without the second", got, creds)
	}
}

func ExampleEngine_CreateCredential() {
	ctx := context.Background()
	st := memstore.New()
	defer st.Close()
	e, err := auth.New(ctx, st, auth.Options{})
	if err != nil {
		log.Fatal(err)
	}
	acct, err := e.CreateAccount(ctx, "Acme Corp")
	if err != nil {
		log.Fatal(err)
	}
	ws, err := e.CreateWorkspace(ctx, acct.ID, "production")
	if err != nil {
		log.Fatal(err)
	}
	c, err := e.CreateCluster(ctx, ws.ID, auth.ClusterSpec{Name: "orders", Type: cluster.Serverless})
	if err != nil {
		log.Fatal(err)
	}

	// A credential with a generated password, for one Kafka client of
	// the cluster. The password is shown here only: hand it to the
	// client's owner, once.
	ic, err := e.CreateCredential(ctx, c.Cluster.ID, auth.CredentialSpec{Name: "billing service"})
	if err != nil {
		log.Fatal(err)
	}
	password := ic.Password.Reveal()
	fmt.Println(ic.Credential.Name, ic.Credential.Cluster == c.Cluster.ID)
	fmt.Println(strings.HasPrefix(string(ic.Credential.Username), keys.UsernamePrefix), len(ic.Credential.Username))
	fmt.Println(strings.HasPrefix(password, keys.PasswordPrefix), len(password))
	fmt.Println(ic.Password) // never prints itself

	// A credential migrated from another platform keeps its password.
	imported, err := keys.ImportPassword("an old password")
	if err != nil {
		log.Fatal(err)
	}
	mc, err := e.CreateCredential(ctx, c.Cluster.ID, auth.CredentialSpec{Name: "legacy app", Password: imported})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(mc.Password.Reveal())

	list, err := e.ListCredentials(ctx, c.Cluster.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(list), "credentials")
	// Output:
	// billing service true
	// true 37
	// true 68
	// ccp_[REDACTED]
	// an old password
	// 2 credentials
}

func ExampleEngine_AuthenticatePlain() {
	ctx := context.Background()
	st := memstore.New()
	defer st.Close()
	e, err := auth.New(ctx, st, auth.Options{})
	if err != nil {
		log.Fatal(err)
	}
	acct, err := e.CreateAccount(ctx, "Acme Corp")
	if err != nil {
		log.Fatal(err)
	}
	ws, err := e.CreateWorkspace(ctx, acct.ID, "production")
	if err != nil {
		log.Fatal(err)
	}
	c, err := e.CreateCluster(ctx, ws.ID, auth.ClusterSpec{Name: "orders", Type: cluster.Serverless})
	if err != nil {
		log.Fatal(err)
	}
	ic, err := e.CreateCredential(ctx, c.Cluster.ID, auth.CredentialSpec{Name: "billing service"})
	if err != nil {
		log.Fatal(err)
	}

	// An agent passes each SASL PLAIN message (RFC 4616: authzid NUL
	// authcid NUL passwd) of a Kafka client of the cluster to the engine.
	msg := []byte("\x00" + string(ic.Credential.Username) + "\x00" + ic.Password.Reveal())
	p, err := e.AuthenticatePlain(ctx, c.Cluster.ID, msg)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Credential == ic.Credential.ID, p.Username == ic.Credential.Username, p.Superuser)

	// Every refusal reads the same, whatever its cause.
	_, err = e.AuthenticatePlain(ctx, c.Cluster.ID, []byte("\x00"+string(ic.Credential.Username)+"\x00wrong password"))
	fmt.Println(errors.Is(err, auth.ErrUnauthenticated), err)
	_, err = e.AuthenticatePlain(ctx, c.Cluster.ID, []byte("\x00ccun_00000000000000000000000000000000\x00"+ic.Password.Reveal()))
	fmt.Println(errors.Is(err, auth.ErrUnauthenticated), err)
	// Output:
	// true true false
	// true auth: unauthenticated: bad username or password
	// true auth: unauthenticated: bad username or password
}
