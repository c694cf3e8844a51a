package auth_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/streamauth/streamauth/auth"
	"github.com/streamauth/streamauth/cluster"
	"github.com/streamauth/streamauth/store/memstore"
)

func ExampleEngine_Authenticate() {
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
	key, err := e.CreateApplicationKey(ctx, ws.ID, "akn_terraform", time.Time{})
	if err != nil {
		log.Fatal(err)
	}

	// The secret is shown once, at creation; its owner presents it later.
	secret := key.Secret.Reveal()
	p, err := e.Authenticate(ctx, secret)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("kind:", p.Kind)
	fmt.Println("same key:", p.Key == key.Key.ID)
	fmt.Println("workspace:", p.Workspace == ws.ID)

	// A mistyped secret is refused by parsing alone; an unknown one after
	// a lookup. Both are ErrUnauthenticated.
	_, err = e.Authenticate(ctx, secret[:len(secret)-1])
	fmt.Println("truncated:", errors.Is(err, auth.ErrUnauthenticated))
	_, err = e.Authenticate(ctx, "aks_not-a-secret")
	fmt.Println("garbage:", errors.Is(err, auth.ErrUnauthenticated))
	// Output:
	// kind: application
	// same key: true
	// workspace: true
	// truncated: true
	// garbage: true
}

func ExampleEngine_CreateCluster() {
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

	// A BYOC cluster comes with its agent key, in the same write.
	byoc, err := e.CreateCluster(ctx, ws.ID, auth.ClusterSpec{Name: "orders", Type: cluster.BYOC})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("byoc SASL:", byoc.Cluster.SASL)
	fmt.Println("byoc agent key:", byoc.AgentKey != nil)
	fmt.Println("bound to it:", byoc.AgentKey.Key.Grant.ResourceID == byoc.Cluster.ID.String())
	_, err = e.AuthenticateAgent(ctx, byoc.AgentKey.Secret.Reveal(), byoc.Cluster.ID)
	fmt.Println("agent authorized:", err == nil)

	// A serverless cluster has no agents, so no agent key.
	sl, err := e.CreateCluster(ctx, ws.ID, auth.ClusterSpec{Name: "analytics", Type: cluster.Serverless})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("serverless SASL:", sl.Cluster.SASL)
	fmt.Println("serverless agent key:", sl.AgentKey != nil)
	_, err = e.CreateAgentKey(ctx, ws.ID, sl.Cluster.ID, "akn_agent", time.Time{})
	fmt.Println("agent key for serverless unsupported:", errors.Is(err, auth.ErrUnsupported))

	// Names are unique within a workspace.
	_, err = e.CreateCluster(ctx, ws.ID, auth.ClusterSpec{Name: "orders", Type: cluster.Serverless})
	fmt.Println("duplicate name:", errors.Is(err, auth.ErrAlreadyExists))
	// Output:
	// byoc SASL: off
	// byoc agent key: true
	// bound to it: true
	// agent authorized: true
	// serverless SASL: required
	// serverless agent key: false
	// agent key for serverless unsupported: true
	// duplicate name: true
}

func ExampleEngine_AuthorizeAgent() {
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
	east, err := e.CreateCluster(ctx, ws.ID, auth.ClusterSpec{Name: "east", Type: cluster.BYOC})
	if err != nil {
		log.Fatal(err)
	}
	west, err := e.CreateCluster(ctx, ws.ID, auth.ClusterSpec{Name: "west", Type: cluster.BYOC})
	if err != nil {
		log.Fatal(err)
	}

	// An agent of the east cluster presents its key.
	p, err := e.Authenticate(ctx, east.AgentKey.Secret.Reveal())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("east:", e.AuthorizeAgent(ctx, p, east.Cluster.ID) == nil)
	// The same key is a valid secret, but not for another cluster.
	err = e.AuthorizeAgent(ctx, p, west.Cluster.ID)
	fmt.Println("west denied:", errors.Is(err, auth.ErrPermissionDenied))
	fmt.Println("west unauthenticated:", errors.Is(err, auth.ErrUnauthenticated))

	// A "*" agent key covers every BYOC cluster of its workspace.
	fleet, err := e.CreateKey(ctx, auth.KeySpec{
		Name:  "akn_fleet",
		Grant: auth.Grant{Workspace: ws.ID, Principal: auth.KindAgent, Resource: auth.VirtualCluster, ResourceID: auth.AnyID},
	})
	if err != nil {
		log.Fatal(err)
	}
	_, err = e.AuthenticateAgent(ctx, fleet.Secret.Reveal(), west.Cluster.ID)
	fmt.Println("fleet key on west:", err == nil)
	// Output:
	// east: true
	// west denied: true
	// west unauthenticated: false
	// fleet key on west: true
}

func ExampleEngine_DeleteKey() {
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
	key, err := e.CreateApplicationKey(ctx, ws.ID, "akn_ci", time.Time{})
	if err != nil {
		log.Fatal(err)
	}
	secret := key.Secret.Reveal()
	_, err = e.Authenticate(ctx, secret)
	fmt.Println("before:", err == nil)

	if err := e.DeleteKey(ctx, key.Key.ID); err != nil {
		log.Fatal(err)
	}
	_, err = e.Authenticate(ctx, secret)
	fmt.Println("after: unauthenticated:", errors.Is(err, auth.ErrUnauthenticated))
	err = e.DeleteKey(ctx, key.Key.ID)
	fmt.Println("delete again: not found:", errors.Is(err, auth.ErrNotFound))
	// Output:
	// before: true
	// after: unauthenticated: true
	// delete again: not found: true
}

func ExampleEngine_Authorize() {
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
	prod, err := e.CreateWorkspace(ctx, acct.ID, "production")
	if err != nil {
		log.Fatal(err)
	}
	staging, err := e.CreateWorkspace(ctx, acct.ID, "staging")
	if err != nil {
		log.Fatal(err)
	}
	orders, err := e.CreateCluster(ctx, prod.ID, auth.ClusterSpec{Name: "orders", Type: cluster.BYOC})
	if err != nil {
		log.Fatal(err)
	}
	appKey, err := e.CreateApplicationKey(ctx, prod.ID, "akn_terraform", time.Time{})
	if err != nil {
		log.Fatal(err)
	}
	acctKey, err := e.CreateAccountKey(ctx, acct.ID, "akn_ops", time.Time{})
	if err != nil {
		log.Fatal(err)
	}

	show := func(who string, p auth.Principal, what string, t auth.Target) {
		err := e.Authorize(ctx, p, t)
		switch {
		case err == nil:
			fmt.Printf("%s on %s: allowed\n", who, what)
		case errors.Is(err, auth.ErrPermissionDenied):
			fmt.Printf("%s on %s: permission denied\n", who, what)
		default:
			fmt.Printf("%s on %s: %v\n", who, what, err)
		}
	}
	app, err := e.Authenticate(ctx, appKey.Secret.Reveal())
	if err != nil {
		log.Fatal(err)
	}
	show("application key", app, "its workspace", auth.Target{Workspace: prod.ID})
	show("application key", app, "its cluster", auth.Target{Cluster: orders.Cluster.ID})
	show("application key", app, "another workspace", auth.Target{Workspace: staging.ID})
	show("application key", app, "the account", auth.Target{Account: acct.ID})

	ops, err := e.Authenticate(ctx, acctKey.Secret.Reveal())
	if err != nil {
		log.Fatal(err)
	}
	show("account key", ops, "the account", auth.Target{Account: acct.ID})
	show("account key", ops, "any workspace of it", auth.Target{Workspace: staging.ID})

	agent, err := e.Authenticate(ctx, orders.AgentKey.Secret.Reveal())
	if err != nil {
		log.Fatal(err)
	}
	show("agent key", agent, "its own cluster", auth.Target{Cluster: orders.Cluster.ID})
	// Output:
	// application key on its workspace: allowed
	// application key on its cluster: allowed
	// application key on another workspace: permission denied
	// application key on the account: permission denied
	// account key on the account: allowed
	// account key on any workspace of it: allowed
	// agent key on its own cluster: permission denied
}
