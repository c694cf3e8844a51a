// Command quickstart walks through streamauth's control-plane engine: it
// creates an account, a workspace, an application key, a BYOC and a
// serverless cluster, then authenticates and authorizes, shows an agent key
// refused on another cluster, and revokes a key.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/streamauth/streamauth/auth"
	"github.com/streamauth/streamauth/cluster"
	"github.com/streamauth/streamauth/store/memstore"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer) error {
	st := memstore.New()
	defer st.Close()
	e, err := auth.New(ctx, st, auth.Options{})
	if err != nil {
		return err
	}
	step := func(format string, args ...any) { fmt.Fprintf(w, "• "+format+"\n", args...) }

	acct, err := e.CreateAccount(ctx, "Acme Corp")
	if err != nil {
		return err
	}
	step("created account %s (%q)", acct.ID, acct.Name)
	ws, err := e.CreateWorkspace(ctx, acct.ID, "production")
	if err != nil {
		return err
	}
	step("created workspace %s (%q)", ws.ID, ws.Name)

	app, err := e.CreateApplicationKey(ctx, ws.ID, "akn_terraform", time.Time{})
	if err != nil {
		return err
	}
	step("issued application key %s %s; its secret is shown once, to its owner, and prints as %v",
		app.Key.ID, app.Key.Name, app.Secret)

	east, err := e.CreateCluster(ctx, ws.ID, auth.ClusterSpec{Name: "orders-east", Type: cluster.BYOC})
	if err != nil {
		return err
	}
	step("created BYOC cluster %s (%q, SASL %s) with its agent key %s",
		east.Cluster.ID, east.Cluster.Name, east.Cluster.SASL, east.AgentKey.Key.ID)
	west, err := e.CreateCluster(ctx, ws.ID, auth.ClusterSpec{Name: "orders-west", Type: cluster.BYOC})
	if err != nil {
		return err
	}
	step("created BYOC cluster %s (%q) with its agent key %s", west.Cluster.ID, west.Cluster.Name, west.AgentKey.Key.ID)
	sl, err := e.CreateCluster(ctx, ws.ID, auth.ClusterSpec{Name: "analytics", Type: cluster.Serverless})
	if err != nil {
		return err
	}
	step("created serverless cluster %s (%q, SASL %s), agent key: %v", sl.Cluster.ID, sl.Cluster.Name, sl.Cluster.SASL, sl.AgentKey)

	p, err := e.AuthenticateAPI(ctx, app.Secret.Reveal(), auth.Target{Cluster: east.Cluster.ID})
	if err != nil {
		return err
	}
	step("application key authenticated as %s key %s; may manage %q", p.Kind, p.Key, east.Cluster.Name)

	agentSecret := east.AgentKey.Secret.Reveal()
	if _, err := e.AuthenticateAgent(ctx, agentSecret, east.Cluster.ID); err != nil {
		return err
	}
	step("agent key of %q authorized for %q", east.Cluster.Name, east.Cluster.Name)
	_, err = e.AuthenticateAgent(ctx, agentSecret, west.Cluster.ID)
	if !errors.Is(err, auth.ErrPermissionDenied) {
		return fmt.Errorf("agent key on another cluster: got %v, want permission denied", err)
	}
	step("agent key of %q refused for %q: %v", east.Cluster.Name, west.Cluster.Name, err)
	_, err = e.AuthenticateAPI(ctx, agentSecret, auth.Target{Workspace: ws.ID})
	if !errors.Is(err, auth.ErrPermissionDenied) {
		return fmt.Errorf("agent key on the public API: got %v, want permission denied", err)
	}
	step("agent key refused on the public API: %v", err)

	if err := e.DeleteKey(ctx, app.Key.ID); err != nil {
		return err
	}
	_, err = e.Authenticate(ctx, app.Secret.Reveal())
	if !errors.Is(err, auth.ErrUnauthenticated) {
		return fmt.Errorf("revoked key: got %v, want unauthenticated", err)
	}
	step("revoked application key %s; it is refused: %v", app.Key.ID, err)

	if err := e.DeleteCluster(ctx, west.Cluster.ID); err != nil {
		return err
	}
	_, err = e.Authenticate(ctx, west.AgentKey.Secret.Reveal())
	if !errors.Is(err, auth.ErrUnauthenticated) {
		return fmt.Errorf("agent key of a deleted cluster: got %v, want unauthenticated", err)
	}
	step("deleted cluster %q; its agent key is refused: %v", west.Cluster.Name, err)
	return nil
}
