package auth

import (
	"strings"
	"testing"
	"time"

	"github.com/streamauth/streamauth/keys"
)

// badDisplayNames are names every display-name argument refuses.
var badDisplayNames = []struct{ name, value string }{
	{"empty", ""},
	{"leading space", " acme"},
	{"trailing space", "acme "},
	{"leading tab", "\tacme"},
	{"trailing newline", "acme\n"},
	{"NUL", "ac\x00me"},
	{"escape", "ac\x1bme"},
	{"DEL", "ac\x7fme"},
	{"C1 control", "ac\u0085me"},
	{"invalid UTF-8", "ac\xffme"},
	{"too long", strings.Repeat("a", keys.MaxDisplayNameLen+1)},
	{"too long multibyte", strings.Repeat("é", keys.MaxDisplayNameLen/2+1)},
}

// goodDisplayNames are accepted, and come back unchanged.
var goodDisplayNames = []string{
	"a",
	"Acme Corp",
	"acme corp", // names need not be unique, nor differ in more than case
	"Café ☕ 東京",
	"inner  spaces",
	strings.Repeat("a", keys.MaxDisplayNameLen),
}

func TestCreateAccount(t *testing.T) {
	v := newEngine(t)
	var created []Account
	for i, name := range goodDisplayNames {
		v.clock.Set(t0.Add(time.Duration(i) * time.Second))
		a, err := v.e.CreateAccount(v.ctx, name)
		if err != nil {
			t.Fatalf("CreateAccount(%q): %v", name, err)
		}
		if a.ID.IsZero() {
			t.Fatalf("CreateAccount(%q) returned a zero id", name)
		}
		diff(t, "CreateAccount", Account{ID: a.ID, Name: name, CreatedAt: t0.Add(time.Duration(i) * time.Second)}, a)
		got, err := v.e.GetAccount(v.ctx, a.ID)
		if err != nil {
			t.Fatalf("GetAccount: %v", err)
		}
		diff(t, "GetAccount", a, got)
		created = append(created, a)
	}
	// The same name twice makes two accounts.
	dup := v.account("Acme Corp")
	if dup.ID == created[1].ID {
		t.Error("a second account of the same name got the same id")
	}
	created = append(created, dup)
	got, err := v.e.ListAccounts(v.ctx)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "ListAccounts", sortedByID(created, func(a Account) keys.AccountID { return a.ID }), got)
}

func TestCreateAccountInvalidName(t *testing.T) {
	v := newEngine(t)
	for _, tc := range badDisplayNames {
		v.unchanged(tc.name, func() {
			a, err := v.e.CreateAccount(v.ctx, tc.value)
			wantErr(t, "CreateAccount("+tc.name+")", err, ErrInvalidArgument)
			diff(t, "CreateAccount("+tc.name+") result", Account{}, a)
		})
	}
	got, err := v.e.ListAccounts(v.ctx)
	if err != nil || len(got) != 0 {
		t.Errorf("ListAccounts after refused creates = %v, %v; want none", got, err)
	}
}

func TestGetAccountErrors(t *testing.T) {
	v := newEngine(t)
	v.account("acme")
	unknown, _ := keys.NewAccountID()
	_, err := v.e.GetAccount(v.ctx, unknown)
	wantErr(t, "GetAccount(unknown)", err, ErrNotFound)
	_, err = v.e.GetAccount(v.ctx, keys.AccountID{})
	wantErr(t, "GetAccount(zero)", err, ErrInvalidArgument)
}

func TestListAccountsEmpty(t *testing.T) {
	v := newEngine(t)
	got, err := v.e.ListAccounts(v.ctx)
	if err != nil || len(got) != 0 {
		t.Errorf("ListAccounts on a new store = %v, %v; want none", got, err)
	}
}

func TestCreateWorkspace(t *testing.T) {
	v := newEngine(t)
	a := v.account("acme")
	b := v.account("globex")
	var inA []Workspace
	for i, name := range goodDisplayNames {
		v.clock.Set(t0.Add(time.Duration(i) * time.Minute))
		w, err := v.e.CreateWorkspace(v.ctx, a.ID, name)
		if err != nil {
			t.Fatalf("CreateWorkspace(%q): %v", name, err)
		}
		if w.ID.IsZero() {
			t.Fatal("CreateWorkspace returned a zero id")
		}
		diff(t, "CreateWorkspace", Workspace{ID: w.ID, Account: a.ID, Name: name, CreatedAt: t0.Add(time.Duration(i) * time.Minute)}, w)
		got, err := v.e.GetWorkspace(v.ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		diff(t, "GetWorkspace", w, got)
		inA = append(inA, w)
	}
	// The same names in another account are other workspaces.
	inB := []Workspace{v.workspace(b.ID, "Acme Corp"), v.workspace(b.ID, "Acme Corp")}
	if inB[0].ID == inB[1].ID {
		t.Error("two workspaces share an id")
	}
	wsID := func(w Workspace) keys.WorkspaceID { return w.ID }
	got, err := v.e.ListWorkspaces(v.ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "ListWorkspaces(a)", sortedByID(inA, wsID), got)
	got, err = v.e.ListWorkspaces(v.ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "ListWorkspaces(b)", sortedByID(inB, wsID), got)

	c := v.account("empty")
	got, err = v.e.ListWorkspaces(v.ctx, c.ID)
	if err != nil || len(got) != 0 {
		t.Errorf("ListWorkspaces of an account without workspaces = %v, %v; want none", got, err)
	}
}

func TestCreateWorkspaceErrors(t *testing.T) {
	v := newEngine(t)
	a := v.account("acme")
	unknown, _ := keys.NewAccountID()
	for _, tc := range badDisplayNames {
		v.unchanged(tc.name, func() {
			w, err := v.e.CreateWorkspace(v.ctx, a.ID, tc.value)
			wantErr(t, "CreateWorkspace("+tc.name+")", err, ErrInvalidArgument)
			diff(t, "CreateWorkspace("+tc.name+") result", Workspace{}, w)
		})
	}
	v.unchanged("unknown account", func() {
		_, err := v.e.CreateWorkspace(v.ctx, unknown, "prod")
		wantErr(t, "CreateWorkspace(unknown account)", err, ErrNotFound)
	})
	v.unchanged("zero account", func() {
		_, err := v.e.CreateWorkspace(v.ctx, keys.AccountID{}, "prod")
		wantErr(t, "CreateWorkspace(zero account)", err, ErrInvalidArgument)
	})
	got, err := v.e.ListWorkspaces(v.ctx, a.ID)
	if err != nil || len(got) != 0 {
		t.Errorf("ListWorkspaces after refused creates = %v, %v; want none", got, err)
	}
}

func TestGetWorkspaceErrors(t *testing.T) {
	v := newEngine(t)
	a := v.account("acme")
	v.workspace(a.ID, "prod")
	unknown, _ := keys.NewWorkspaceID()
	_, err := v.e.GetWorkspace(v.ctx, unknown)
	wantErr(t, "GetWorkspace(unknown)", err, ErrNotFound)
	_, err = v.e.GetWorkspace(v.ctx, keys.WorkspaceID{})
	wantErr(t, "GetWorkspace(zero)", err, ErrInvalidArgument)

	unknownAcct, _ := keys.NewAccountID()
	_, err = v.e.ListWorkspaces(v.ctx, unknownAcct)
	wantErr(t, "ListWorkspaces(unknown)", err, ErrNotFound)
	_, err = v.e.ListWorkspaces(v.ctx, keys.AccountID{})
	wantErr(t, "ListWorkspaces(zero)", err, ErrInvalidArgument)
}
