// Command agent walks through streamauth's offline path: a control plane
// creates a BYOC cluster with a credential and exports the cluster's
// signed snapshot; an agent applies it into its own pebble store, in a
// directory of its own; then, with the control plane gone, the agent
// checks its own key and a Kafka client's credential, refuses another
// cluster's key and a tampered snapshot, and picks up a revocation from
// the next snapshot.
//
//	go run ./examples/agent
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/streamauth/streamauth/auth"
	"github.com/streamauth/streamauth/cluster"
	"github.com/streamauth/streamauth/store/memstore"
	"github.com/streamauth/streamauth/store/pebblestore"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "agent:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer) error {
	step := func(format string, args ...any) { fmt.Fprintf(w, "• "+format+"\n", args...) }

	// The control plane, and its snapshot signing key.
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	cpStore := memstore.New()
	defer cpStore.Close()
	cp, err := auth.New(ctx, cpStore, auth.Options{})
	if err != nil {
		return err
	}
	acct, err := cp.CreateAccount(ctx, "Acme Corp")
	if err != nil {
		return err
	}
	ws, err := cp.CreateWorkspace(ctx, acct.ID, "production")
	if err != nil {
		return err
	}
	east, err := cp.CreateCluster(ctx, ws.ID, auth.ClusterSpec{Name: "orders-east", Type: cluster.BYOC})
	if err != nil {
		return err
	}
	west, err := cp.CreateCluster(ctx, ws.ID, auth.ClusterSpec{Name: "orders-west", Type: cluster.BYOC})
	if err != nil {
		return err
	}
	cred, err := cp.CreateCredential(ctx, east.Cluster.ID, auth.CredentialSpec{Name: "orders service"})
	if err != nil {
		return err
	}
	step("control plane: cluster %q with agent key %s and credential %s", east.Cluster.Name, east.AgentKey.Key.ID, cred.Credential.Username)
	snap, err := cp.ExportSnapshot(ctx, east.Cluster.ID, priv, 24*time.Hour)
	if err != nil {
		return err
	}
	step("exported a signed snapshot of %q: %d bytes, no secret or password in it", east.Cluster.Name, len(snap))

	// The agent, in the customer's network, with a store of its own.
	dir, err := os.MkdirTemp("", "streamauth-agent-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	agentStore, err := pebblestore.Open(dir, pebblestore.Options{})
	if err != nil {
		return err
	}
	defer agentStore.Close()
	ag, err := auth.NewAgent(ctx, agentStore, auth.AgentOptions{Cluster: east.Cluster.ID, Trusted: []ed25519.PublicKey{pub}})
	if err != nil {
		return err
	}
	tampered := append([]byte(nil), snap...)
	tampered[len(tampered)/2] ^= 0x01
	if err := ag.Apply(ctx, tampered); !errors.Is(err, auth.ErrSnapshotSignature) {
		return fmt.Errorf("tampered snapshot: got %v", err)
	}
	step("agent refused a tampered snapshot: %v", auth.ErrSnapshotSignature)
	if err := ag.Apply(ctx, snap); err != nil {
		return err
	}
	step("agent applied snapshot version %d into its own pebble store", ag.Version())

	// Offline from here: nothing below reads the control plane.
	if _, err := ag.AuthenticateAgent(ctx, east.AgentKey.Secret.Reveal()); err != nil {
		return err
	}
	step("offline: the agent key of %q authenticates", east.Cluster.Name)
	_, err = ag.AuthenticateAgent(ctx, west.AgentKey.Secret.Reveal())
	if !errors.Is(err, auth.ErrPermissionDenied) {
		return fmt.Errorf("another cluster's agent key: got %v", err)
	}
	step("offline: the agent key of %q is refused: %v", west.Cluster.Name, err)
	plain := []byte("\x00" + string(cred.Credential.Username) + "\x00" + cred.Password.Reveal())
	if _, err := ag.AuthenticatePlain(ctx, plain); err != nil {
		return err
	}
	allow, err := ag.AllowUnauthenticated(ctx)
	if err != nil {
		return err
	}
	step("offline: a Kafka client logs in with SASL PLAIN as %s (unauthenticated clients allowed: %v)", cred.Credential.Username, allow)

	// A revocation reaches the agent with the next snapshot.
	if err := cp.DeleteCredential(ctx, cred.Credential.ID); err != nil {
		return err
	}
	next, err := cp.ExportSnapshot(ctx, east.Cluster.ID, priv, 24*time.Hour)
	if err != nil {
		return err
	}
	if err := ag.Apply(ctx, next); err != nil {
		return err
	}
	_, err = ag.AuthenticatePlain(ctx, plain)
	if !errors.Is(err, auth.ErrUnauthenticated) {
		return fmt.Errorf("revoked credential: got %v", err)
	}
	step("applied version %d: the deleted credential is refused: %v", ag.Version(), err)
	if err := ag.Apply(ctx, snap); !errors.Is(err, auth.ErrSnapshotRollback) {
		return fmt.Errorf("rollback: got %v", err)
	}
	step("the old snapshot is refused: %v", auth.ErrSnapshotRollback)
	return nil
}
