package auth_test

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/streamauth/streamauth/auth"
	"github.com/streamauth/streamauth/keys"
	"github.com/streamauth/streamauth/store/pebblestore"
)

// applyChildEnv names the directory a TestAgentApplyChild process works
// in: its store, and the snapshot and public key files the parent wrote.
const applyChildEnv = "STREAMAUTH_APPLY_CHILD"

// TestAgentApplyChild is the child of TestAgentApplyKill: it opens the
// agent's store, says "ready", applies the next snapshot, says "done" and
// waits to be killed. It does nothing when not run as a child.
func TestAgentApplyChild(t *testing.T) {
	dir := os.Getenv(applyChildEnv)
	if dir == "" {
		t.Skip("run by TestAgentApplyKill only")
	}
	ctx := context.Background()
	pub, err := os.ReadFile(filepath.Join(dir, "pub"))
	if err != nil {
		t.Fatal(err)
	}
	snap, err := os.ReadFile(filepath.Join(dir, "next.snap"))
	if err != nil {
		t.Fatal(err)
	}
	cl, err := os.ReadFile(filepath.Join(dir, "cluster"))
	if err != nil {
		t.Fatal(err)
	}
	id, err := keys.ParseClusterID(string(cl))
	if err != nil {
		t.Fatal(err)
	}
	s, err := pebblestore.Open(filepath.Join(dir, "store"), pebblestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ag, err := auth.NewAgent(ctx, s, auth.AgentOptions{Cluster: id, Trusted: []ed25519.PublicKey{pub},
		Engine: auth.Options{PasswordHash: auth.CheapArgon2}})
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("ready\n")
	if err := ag.Apply(ctx, snap); err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("done\n")
	time.Sleep(30 * time.Second)
}

// TestAgentApplyKill kills an agent with SIGKILL while it applies a large
// snapshot (20,000 new agent keys, a revoked credential) over a
// synced pebble store, at a random moment, and checks after recovery that
// exactly one snapshot is in force, in full: the previous one, or (always
// if the child said it was done) the next one.
func TestAgentApplyKill(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	rounds := 12
	o := newOffline(t)
	v1 := o.export(t, o.a.Cluster.ID, 24*time.Hour)
	var added []auth.IssuedKey
	for range 20000 {
		added = append(added, must(o.cp.CreateAgentKey(o.ctx, o.a.Cluster.Workspace, o.a.Cluster.ID, "akn_fleet", time.Time{})))
	}
	if err := o.cp.DeleteCredential(o.ctx, o.credA.Credential.ID); err != nil {
		t.Fatal(err)
	}
	v2 := o.export(t, o.a.Cluster.ID, 24*time.Hour)
	var done, before int
	for round := range rounds {
		dir := t.TempDir()
		s, err := pebblestore.Open(filepath.Join(dir, "store"), pebblestore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := o.agent(t, s, auth.AgentOptions{}).Apply(o.ctx, v1); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		for name, b := range map[string][]byte{"pub": o.pub, "next.snap": v2, "cluster": []byte(o.a.Cluster.ID.String())} {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		said := runApplyChild(t, dir, time.Duration(rand.IntN(60))*time.Millisecond)
		s, err = pebblestore.Open(filepath.Join(dir, "store"), pebblestore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		ag := o.agent(t, s, auth.AgentOptions{})
		_, oldCred := ag.AuthenticatePlain(o.ctx, plainMsg(o.credA))
		newKeys := 0
		for _, k := range added {
			if _, err := ag.AuthenticateAgent(o.ctx, k.Secret.Reveal()); err == nil {
				newKeys++
			} else if !errors.Is(err, auth.ErrUnauthenticated) {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		switch v := ag.Version(); {
		case v == 1 && !strings.Contains(said, "done"):
			if oldCred != nil || newKeys != 0 {
				t.Fatalf("round %d: version 1 but %d keys of version 2 and old credential %v", round, newKeys, oldCred)
			}
			before++
		case v == 2:
			if oldCred == nil || newKeys != len(added) {
				t.Fatalf("round %d: version 2 with %d of %d new keys, old credential %v", round, newKeys, len(added), oldCred)
			}
			done++
		default:
			t.Fatalf("round %d: version %d after the child said %q", round, v, said)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d rounds: %d recovered the previous snapshot, %d the next", rounds, before, done)
}

// runApplyChild runs TestAgentApplyChild in dir, kills it delay after it
// says "ready" (or once it is done), and returns what it said.
func runApplyChild(t *testing.T, dir string, delay time.Duration) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestAgentApplyChild$", "-test.v=false")
	cmd.Env = append(os.Environ(), applyChildEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var said strings.Builder
	kill := time.NewTimer(time.Hour)
	defer kill.Stop()
	timeout := time.After(time.Minute)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				cmd.Wait()
				t.Fatalf("child ended before it was killed, having said %q", said.String())
			}
			said.WriteString(l + "\n")
			if l == "ready" {
				kill.Reset(delay)
			}
			if l == "done" {
				kill.Reset(0)
			}
		case <-kill.C:
			cmd.Process.Kill()
			cmd.Wait()
			for l := range lines {
				said.WriteString(l + "\n")
			}
			return said.String()
		case <-timeout:
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("child not ready within a minute, having said %q", said.String())
		}
	}
}
