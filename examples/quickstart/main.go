// Command quickstart walks through streamauth's control-plane engine: it
// creates an account, a workspace, an application key, a BYOC and a
// serverless cluster, then authenticates and authorizes, shows an agent key
// refused on another cluster, revokes a key, and reopens the store to show
// that what was written stays written.
//
//	go run ./examples/quickstart                    # pebble, in a temporary directory
//	go run ./examples/quickstart -dir /var/lib/sa   # pebble, in a directory kept
//	go run ./examples/quickstart -store badger      # or badger, or mem
//
// The store is embedded: pebble (the default) and badger keep it in one
// directory on local disk, mem in memory only.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/streamauth/streamauth/auth"
	"github.com/streamauth/streamauth/cluster"
	"github.com/streamauth/streamauth/store"
	"github.com/streamauth/streamauth/store/badgerstore"
	"github.com/streamauth/streamauth/store/memstore"
	"github.com/streamauth/streamauth/store/pebblestore"
)

// config is what the command line chooses.
type config struct {
	Backend string // "pebble", "badger" or "mem"
	Dir     string // store directory; empty: a temporary one, removed at the end
}

func main() {
	var cfg config
	flag.StringVar(&cfg.Backend, "store", "pebble", "storage backend: pebble, badger or mem")
	flag.StringVar(&cfg.Dir, "dir", "", "store directory (default: a new temporary directory, removed on exit)")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// openStore opens the backend's store in dir (unused for mem).
func openStore(backend, dir string) (store.Store, error) {
	switch backend {
	case "pebble":
		return pebblestore.Open(dir, pebblestore.Options{})
	case "badger":
		return badgerstore.Open(dir, badgerstore.Options{})
	case "mem":
		return memstore.New(), nil
	}
	return nil, fmt.Errorf("unknown store %q: want pebble, badger or mem", backend)
}

func run(ctx context.Context, w io.Writer, cfg config) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	dir := cfg.Dir
	if dir == "" && cfg.Backend != "mem" {
		tmp, err := os.MkdirTemp("", "streamauth-quickstart-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	st, err := openStore(cfg.Backend, dir)
	if err != nil {
		return err
	}
	// st is reassigned when the store is reopened; close whichever is open.
	defer func() { st.Close() }()
	e, err := auth.New(ctx, st, auth.Options{})
	if err != nil {
		return err
	}
	step := func(format string, args ...any) { fmt.Fprintf(w, "• "+format+"\n", args...) }
	where := "in memory"
	if cfg.Backend != "mem" {
		where = "in a directory on local disk"
	}
	step("opened a %s store %s", cfg.Backend, where)

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

	if cfg.Backend == "mem" {
		return nil
	}
	// Durability: close the store and open it again, as after a restart.
	if err := st.Close(); err != nil {
		return err
	}
	if st, err = openStore(cfg.Backend, dir); err != nil {
		return err
	}
	if e, err = auth.New(ctx, st, auth.Options{}); err != nil {
		return err
	}
	if _, err := e.AuthenticateAgent(ctx, agentSecret, east.Cluster.ID); err != nil {
		return err
	}
	_, err = e.Authenticate(ctx, app.Secret.Reveal())
	if !errors.Is(err, auth.ErrUnauthenticated) {
		return fmt.Errorf("revoked key after reopening: got %v, want unauthenticated", err)
	}
	step("reopened the store: the agent key of %q still authenticates, the revoked key is still refused", east.Cluster.Name)
	return nil
}
