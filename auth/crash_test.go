package auth_test

// The crash tests check that what the engine acknowledged survives a crash.
//
// TestCrash runs a random workload in a child process (this test binary,
// running TestCrashChild) on a durable store opened with its default,
// synced, options; kills it with SIGKILL at a random moment; reopens the
// store and checks it against every acknowledgement the child wrote before
// it died (checkCrash, in crashcheck_test.go). Rounds reuse one directory, so
// each recovers the state that all the previous crashes and recoveries left.
//
// The default run is short (-crash.rounds per backend, fewer under the race
// detector: see crash_race_test.go). A long run:
//
//	go test ./auth -run TestCrash -crash.rounds=2000 -timeout=2h
//
// The control tests show that the checker can fail: on pebble over a
// crashable in-memory file system, a simulated power loss loses acknowledged
// writes made without sync, and the checker reports them; with synced
// commits it reports nothing, wherever the power loss lands.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/streamauth/streamauth/auth"
	"github.com/streamauth/streamauth/keys"
	"github.com/streamauth/streamauth/store"
	"github.com/streamauth/streamauth/store/badgerstore"
	"github.com/streamauth/streamauth/store/pebblestore"
)

var crashRounds = flag.Int("crash.rounds", defaultCrashRounds, "rounds of TestCrash (child process killed, store recovered and checked) per backend")

const (
	// crashChildEnv carries a crashChildConfig, as JSON, to the child.
	crashChildEnv = "STREAMAUTH_CRASH_CHILD"
	// The kill lands uniformly in [crashKillMin, crashKillMax] after the
	// child's first acknowledgement.
	crashKillMin = 5 * time.Millisecond
	crashKillMax = 150 * time.Millisecond
	// crashFirstAckTimeout bounds the wait for a child's first
	// acknowledgement (its start, the store's recovery, one operation).
	crashFirstAckTimeout = time.Minute
	// crashChildMaxRun ends a child that was never killed (its parent died).
	crashChildMaxRun = 30 * time.Second
	// crashControlLosses is how many power losses TestCrashControlSyncedKeeps
	// simulates.
	crashControlLosses = 24
	// crashControlSteps is about how many workload steps they spread over.
	crashControlSteps = 1000
)

var crashBackends = []string{"pebble", "badger"}

// crashChildConfig is what the parent tells its child.
type crashChildConfig struct {
	Backend   string `json:"backend"`
	Dir       string `json:"dir"`
	Workspace string `json:"workspace"`
	Seed      uint64 `json:"seed"`
}

// openCrashStore opens a durable store with its default options.
func openCrashStore(backend, dir string) (store.Store, error) {
	switch backend {
	case "pebble":
		return pebblestore.Open(dir, pebblestore.Options{})
	case "badger":
		return badgerstore.Open(dir, badgerstore.Options{})
	}
	return nil, fmt.Errorf("unknown backend %q", backend)
}

// TestCrash proves that on pebble and badger with default options, every
// operation the engine acknowledged survives a kill -9 of its process, an
// operation in flight at the kill happens wholly or not at all, and the
// store stays consistent through crash after crash.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process per round")
	}
	if *crashRounds < 1 {
		t.Skip("-crash.rounds is below 1")
	}
	for _, backend := range crashBackends {
		t.Run(backend, func(t *testing.T) { runCrashRounds(t, backend, *crashRounds) })
	}
}

// TestCrashChild is TestCrash's child process: it runs the workload on the
// store until it is killed, writing the protocol lines to stdout. Run any
// other way, it skips.
func TestCrashChild(t *testing.T) {
	raw, ok := os.LookupEnv(crashChildEnv)
	if !ok {
		t.Skip("runs only as the child process of TestCrash")
	}
	var cfg crashChildConfig
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		t.Fatalf("%s: %v", crashChildEnv, err)
	}
	ws, err := keys.ParseWorkspaceID(cfg.Workspace)
	if err != nil {
		t.Fatal(err)
	}
	s, err := openCrashStore(cfg.Backend, cfg.Dir)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer s.Close()
	w, err := startCrashWorkload(s, ws, cfg.Seed, os.Stdout)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(crashChildMaxRun); time.Now().Before(deadline); {
		if err := w.step(); err != nil {
			t.Fatal(err)
		}
	}
}

// startCrashWorkload makes an engine over s and a workload on it that
// writes its protocol lines to out. os.Stdout is unbuffered: each line is
// one write.
func startCrashWorkload(s store.Store, ws keys.WorkspaceID, seed uint64, out io.Writer) (*crashWorkload, error) {
	ctx := context.Background()
	e, err := auth.New(ctx, s, auth.Options{})
	if err != nil {
		return nil, fmt.Errorf("auth.New: %w", err)
	}
	return newCrashWorkload(ctx, e, ws, seed, out)
}

// runCrashRounds runs the rounds of one backend in one directory, keeping
// the model across rounds.
func runCrashRounds(t *testing.T, backend string, rounds int) {
	dir := t.TempDir()
	m := newCrashModel(setupCrashStore(t, backend, dir))
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("seed %d", seed)
	total := 0
	for round := range rounds {
		m.round = round
		cfg := crashChildConfig{Backend: backend, Dir: dir, Workspace: m.ws.String(), Seed: rng.Uint64()}
		killAfter := crashKillMin + time.Duration(rng.Int64N(int64(crashKillMax-crashKillMin+1)))
		lines := runCrashChild(t, cfg, killAfter)
		n, err := m.applyLines(lines)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		total += n
		t.Logf("round %d: %d operations acknowledged, in flight at the kill: %v", round, n, m.inFlight)
		if problems := recoverAndCheck(backend, dir, m); len(problems) > 0 {
			t.Fatalf("round %d (seed %d): after a kill with %v in flight, %s", round, seed, m.inFlight, formatProblems(problems))
		}
	}
	t.Logf("%d rounds, %d operations acknowledged; %d in flight at a kill, %d of which happened; the model holds %d clusters and %d keys",
		rounds, total, m.unacked, m.unackedHappened, len(m.clusters), len(m.keys))
	// A round without an acknowledgement already failed (runCrashChild);
	// a run where no kill landed later than the first one tested little.
	if total <= rounds {
		t.Fatalf("only %d operations acknowledged in %d rounds", total, rounds)
	}
}

// setupCrashStore makes the store of a run, with the one workspace the
// workload uses.
func setupCrashStore(t *testing.T, backend, dir string) keys.WorkspaceID {
	t.Helper()
	s, err := openCrashStore(backend, dir)
	if err != nil {
		t.Fatal(err)
	}
	ws := createCrashWorkspace(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return ws
}

func createCrashWorkspace(t *testing.T, s store.Store) keys.WorkspaceID {
	t.Helper()
	ctx := context.Background()
	e, err := auth.New(ctx, s, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := e.CreateAccount(ctx, "crash")
	if err != nil {
		t.Fatal(err)
	}
	w, err := e.CreateWorkspace(ctx, a.ID, "crash")
	if err != nil {
		t.Fatal(err)
	}
	return w.ID
}

// recoverAndCheck reopens the store after a crash, checks it against the
// model, settles the model's in-flight operation and closes the store.
func recoverAndCheck(backend, dir string, m *crashModel) (problems []string) {
	ctx := context.Background()
	s, err := openCrashStore(backend, dir)
	if err != nil {
		return []string{fmt.Sprintf("reopening the store: %v", err)}
	}
	defer func() {
		if err := s.Close(); err != nil {
			problems = append(problems, fmt.Sprintf("closing the store: %v", err))
		}
	}()
	e, err := auth.New(ctx, s, auth.Options{})
	if err != nil {
		return []string{fmt.Sprintf("auth.New on the reopened store: %v", err)}
	}
	if problems := checkCrash(ctx, e, m); len(problems) > 0 {
		return problems
	}
	if err := m.settle(ctx, e); err != nil {
		return []string{fmt.Sprintf("settling the in-flight operation: %v", err)}
	}
	return nil
}

// runCrashChild starts the child, kills it killAfter its first
// acknowledgement, and returns the protocol lines it wrote.
func runCrashChild(t *testing.T, cfg crashChildConfig, killAfter time.Duration) []string {
	t.Helper()
	env, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.timeout=5m")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+string(env))
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = w, &stderr
	err = cmd.Start()
	w.Close()
	if err != nil {
		t.Fatalf("starting the child: %v", err)
	}
	out := readCrashOutput(r)
	acked := true
	select {
	case <-out.firstAck:
		time.Sleep(killAfter)
	case <-out.done:
		acked = false
	case <-time.After(crashFirstAckTimeout):
		acked = false
	}
	cmd.Process.Kill()
	<-out.done
	err = cmd.Wait()
	killed := cmd.ProcessState.ExitCode() == -1
	if !acked || !killed || stderr.Len() > 0 {
		t.Fatalf("child (acknowledged: %v, ended by the kill: %v, exit: %v); its output:\n%s\n%s",
			acked, killed, err, strings.Join(out.other, "\n"), stderr.Bytes())
	}
	return out.lines
}

// crashOutput is what a child wrote to stdout, split into protocol lines
// (which hold secrets: never log them) and other lines.
type crashOutput struct {
	lines    []string
	other    []string
	firstAck chan struct{} // closed at the first acknowledgement
	done     chan struct{} // closed at the end of the output
}

// readCrashOutput reads r to its end in a goroutine. A last line without
// its newline (there should be none: each line is one atomic write) is
// dropped, as if its operation were not acknowledged.
func readCrashOutput(r io.Reader) *crashOutput {
	o := &crashOutput{firstAck: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(o.done)
		br := bufio.NewReader(r)
		acked := false
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				return
			}
			l = strings.TrimSuffix(l, "\n")
			if !strings.HasPrefix(l, crashTag+" ") {
				o.other = append(o.other, l)
				continue
			}
			o.lines = append(o.lines, l)
			if !acked && strings.HasPrefix(l, crashTag+" ack ") {
				acked = true
				close(o.firstAck)
			}
		}
	}()
	return o
}

// TestCrashControlNoSyncLoses proves that the checker can fail: pebble with
// NoSync on a crashable in-memory file system, a workload, then a simulated
// power loss keeping only synced data. The checker must report acknowledged
// writes as lost.
func TestCrashControlNoSyncLoses(t *testing.T) {
	fs := vfs.NewCrashableMem()
	ws := setupMemCrashStore(t, fs)
	s, err := pebblestore.Open("db", pebblestore.Options{FS: fs, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rec := &crashRecorder{}
	if err := runCrashSteps(s, ws, rec, 200, nil); err != nil {
		t.Fatal(err)
	}
	clone := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0})
	problems := checkMemCrash(t, clone, ws, rec.lines)
	lost := 0
	for _, p := range problems {
		if strings.Contains(p, "but lost") {
			lost++
		}
	}
	if lost == 0 {
		t.Fatalf("NoSync and a power loss: the checker reports no lost acknowledged write (%d problems)", len(problems))
	}
	t.Logf("NoSync and a power loss: the checker reports %d problems, %d of them lost creates", len(problems), lost)
}

// TestCrashControlSyncedKeeps proves that the same checker passes a store
// that keeps its promises: pebble with synced commits on a crashable
// in-memory file system, power losses simulated at random moments while the
// workload runs (mid-commit included), keeping none, half or all of the
// unsynced data. The checker must report nothing.
func TestCrashControlSyncedKeeps(t *testing.T) {
	fs := vfs.NewCrashableMem()
	ws := setupMemCrashStore(t, fs)
	s, err := pebblestore.Open("db", pebblestore.Options{FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rec := &crashRecorder{}
	done, stop := make(chan error, 1), make(chan struct{})
	go func() { done <- runCrashSteps(s, ws, rec, 100*crashControlSteps, stop) }()
	crashes := takeCrashClones(fs, rec, done)
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	inFlight := 0
	for i, c := range crashes {
		if problems := checkMemCrash(t, c.fs, ws, c.lines); len(problems) > 0 {
			t.Fatalf("power loss %d (%d%% of unsynced data kept): %s", i, c.unsyncedPercent, formatProblems(problems))
		}
		if len(c.lines) > 0 && strings.Contains(c.lines[len(c.lines)-1], " begin ") {
			inFlight++
		}
	}
	if len(crashes) < crashControlLosses {
		t.Fatalf("only %d power losses simulated: the workload ended first", len(crashes))
	}
	t.Logf("%d power losses, %d of them with an operation in flight: no problem", len(crashes), inFlight)
}

// A memCrash is a simulated power loss: the file system it left and the
// protocol lines written before it.
type memCrash struct {
	fs              *vfs.MemFS
	lines           []string
	unsyncedPercent int
}

// takeCrashClones simulates crashControlLosses power losses, each once
// the workload has written a random number of protocol lines (from its
// first crashControlSteps steps), so that they spread over the workload
// whatever the speed of either goroutine. It returns early if done
// receives (the value is put back). The recorder's lock, held across each
// clone, makes the lines taken with a clone exactly those written before it.
func takeCrashClones(fs *vfs.MemFS, rec *crashRecorder, done chan error) []memCrash {
	rng := rand.New(rand.NewPCG(1, 2))
	at := make([]int, crashControlLosses)
	for i := range at {
		at[i] = rng.IntN(2 * crashControlSteps) // two lines a step
	}
	slices.Sort(at)
	var crashes []memCrash
	for len(crashes) < len(at) {
		select {
		case err := <-done:
			done <- err
			return crashes
		case <-time.After(100 * time.Microsecond):
		}
		pct := []int{0, 50, 100}[len(crashes)%3]
		rec.mu.Lock()
		if len(rec.lines) >= at[len(crashes)] {
			clone := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: pct, RNG: rng})
			crashes = append(crashes, memCrash{fs: clone, lines: slices.Clone(rec.lines), unsyncedPercent: pct})
		}
		rec.mu.Unlock()
	}
	return crashes
}

// setupMemCrashStore makes a store "db" in fs, with synced commits and a
// clean close, holding the workspace the workload uses.
func setupMemCrashStore(t *testing.T, fs vfs.FS) keys.WorkspaceID {
	t.Helper()
	s, err := pebblestore.Open("db", pebblestore.Options{FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	ws := createCrashWorkspace(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return ws
}

// runCrashSteps runs n steps of the workload on s, fewer if stop is
// closed first (a nil stop never is).
func runCrashSteps(s store.Store, ws keys.WorkspaceID, out io.Writer, n int, stop <-chan struct{}) error {
	w, err := startCrashWorkload(s, ws, rand.Uint64(), out)
	if err != nil {
		return err
	}
	for range n {
		select {
		case <-stop:
			return nil
		default:
		}
		if err := w.step(); err != nil {
			return err
		}
	}
	return nil
}

// checkMemCrash opens the store "db" a simulated power loss left and checks
// it against the protocol lines written before the loss.
func checkMemCrash(t *testing.T, fs vfs.FS, ws keys.WorkspaceID, lines []string) []string {
	t.Helper()
	m := newCrashModel(ws)
	if _, err := m.applyLines(lines); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s, err := pebblestore.Open("db", pebblestore.Options{FS: fs})
	if err != nil {
		return []string{fmt.Sprintf("opening the store after the power loss: %v", err)}
	}
	defer s.Close()
	e, err := auth.New(ctx, s, auth.Options{})
	if err != nil {
		return []string{fmt.Sprintf("auth.New after the power loss: %v", err)}
	}
	return checkCrash(ctx, e, m)
}
