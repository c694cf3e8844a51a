package bench

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/streamauth/streamauth/auth"
	"github.com/streamauth/streamauth/internal/record"
	"github.com/streamauth/streamauth/keys"
	"github.com/streamauth/streamauth/store"
	"github.com/streamauth/streamauth/store/badgerstore"
	"github.com/streamauth/streamauth/store/memstore"
	"github.com/streamauth/streamauth/store/pebblestore"
)

// TestMain runs the benchmarks, then closes every fixture store and
// removes the directory the durable ones live in, $TMPDIR/
// streamauth-bench-<pid>-*. An interrupt or a SIGTERM removes it too,
// then ends the process; a process killed otherwise (SIGKILL, or the panic
// of -timeout) leaves it behind, and the pid in its name tells whether its
// process is still running.
func TestMain(m *testing.M) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sig
		tempMu.Lock() // held until the exit: no new fixture directory
		if tempRootDir != "" {
			_ = os.RemoveAll(tempRootDir)
		}
		fmt.Fprintf(os.Stderr, "bench: %v: removed the fixtures' directory\n", s)
		os.Exit(1)
	}()
	code := m.Run()
	signal.Stop(sig)
	if err := cleanupFixtures(); err != nil {
		fmt.Fprintln(os.Stderr, "bench: cleaning up fixtures:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// backend is one storage backend under test. A new backend is one more
// entry in backends; every benchmark then runs over it too (the ones about
// directories, BenchmarkCommitSynced, BenchmarkOpen and
// BenchmarkDiskPerKey, over the durable ones only).
type backend struct {
	name string
	// create returns a new, empty store to build a fixture in. A durable
	// backend creates it in dir (an empty directory) with commits
	// unsynced: the fixture is closed, which makes it durable, and
	// reopened with open before it is benchmarked. The memory store
	// ignores dir.
	create func(dir string) (store.Store, error)
	// open opens the store in dir with the backend's default options
	// (synced commits); it creates an empty store if dir is empty or
	// missing. Nil for a backend that has no directory.
	open func(dir string) (store.Store, error)
}

func (be backend) durable() bool { return be.open != nil }

var backends = []backend{
	{
		name:   "mem",
		create: func(string) (store.Store, error) { return memstore.New(), nil },
	},
	{
		name: "pebble",
		create: func(dir string) (store.Store, error) {
			return asStore(pebblestore.Open(dir, pebblestore.Options{NoSync: true}))
		},
		open: func(dir string) (store.Store, error) {
			return asStore(pebblestore.Open(dir, pebblestore.Options{}))
		},
	},
	{
		name: "badger",
		create: func(dir string) (store.Store, error) {
			return asStore(badgerstore.Open(dir, badgerstore.Options{NoSync: true}))
		},
		open: func(dir string) (store.Store, error) {
			return asStore(badgerstore.Open(dir, badgerstore.Options{}))
		},
	},
}

// asStore returns s as a store.Store, and a nil interface (not a nil
// *S in one) with an error.
func asStore[S store.Store](s S, err error) (store.Store, error) {
	if err != nil {
		return nil, err
	}
	return s, nil
}

// durableBackends returns the backends that keep their store in a
// directory.
func durableBackends() []backend {
	var out []backend
	for _, be := range backends {
		if be.durable() {
			out = append(out, be)
		}
	}
	return out
}

// size is a fixture size: the number of application keys in the one
// workspace.
type size struct {
	name string
	n    int
}

var sizes = []size{
	{"1k", 1_000},
	{"100k", 100_000},
	{"1M", 1_000_000},
}

// variant is a configuration of the engine a benchmark runs against a
// fixture; engineOptions turns it into auth.Options.
type variant int

const (
	// variantDefault is the zero auth.Options, what an application gets
	// without configuring anything, warmed before it is timed.
	variantDefault variant = iota
	// variantCached has a read cache large enough for every key of the
	// fixture, warmed before it is timed (a read of every key once), and
	// the index of digest prefixes.
	variantCached
	// variantUncached has neither the cache nor the index: every
	// Authenticate of a well-formed secret reads the store.
	variantUncached
)

func (v variant) String() string {
	switch v {
	case variantCached:
		return "cached"
	case variantUncached:
		return "uncached"
	}
	return "default"
}

// cacheVariants are the variants BenchmarkAuthenticateCache compares.
var cacheVariants = []variant{variantCached, variantUncached}

// engineOptions returns the options of the engines of variant v over a
// fixture of n keys:
//
//   - variantDefault: nothing (the zero Options);
//   - variantCached: CacheSize: n, so that every key of the fixture fits;
//   - variantUncached: CacheSize: -1, NoIndex: true.
func engineOptions(v variant, n int) auth.Options {
	switch v {
	case variantCached:
		return auth.Options{CacheSize: n}
	case variantUncached:
		return auth.Options{CacheSize: -1, NoIndex: true}
	}
	return auth.Options{}
}

// keyName is the name of every benchmark key. Names need not be unique.
const keyName keys.KeyName = "akn_bench"

// fixture is a store holding one account, one workspace and n application
// keys of that workspace, and the engines the benchmarks run over it.
type fixture struct {
	be backend
	n  int
	// dir is the directory of a durable store; empty for the memory store.
	dir string
	// secrets holds the text of every issued secret, shuffled (with a
	// fixed seed) so that cycling through it does not walk the store's
	// records in the order they were allocated. Nil for a fixture built
	// with keepSecrets false.
	secrets []string
	build   time.Duration // wall time to create the n keys
	// settled is the wall time settle took, after build (durable stores
	// only).
	settled time.Duration
	// disk is the size of dir (the sum of its files' sizes) once the
	// fixture is built, settled and its store closed; zero for the memory
	// store.
	disk int64

	mu sync.Mutex
	// store is the open store; nil while a benchmark has it closed (see
	// closeStore). A durable store is open with the backend's default
	// options (synced commits).
	store store.Store
	// engines holds one engine per variant, made on first use over store;
	// warm records the cached variants whose cache was filled.
	engines map[variant]*auth.Engine
	warm    map[variant]bool
	// hotKeys are the store keys of the hot records of secrets, in the
	// same order; made on first use.
	hotKeys [][]byte
}

// newFixture builds a fixture through the engine's public API. The keys are
// created from several goroutines at once (see buildWorkers): each
// CreateApplicationKey is one guarded commit, and the engine and the stores
// are safe for concurrent use (the draws from crypto/rand, the digest, the
// encoding and the value copies run outside the store's commit lock). A
// durable store is built with unsynced commits, then settled (see settle):
// reopened with the default, synced, options, left to finish its
// compactions, and measured.
func newFixture(ctx context.Context, be backend, n int, keepSecrets bool) (_ *fixture, err error) {
	f := &fixture{be: be, n: n, engines: make(map[variant]*auth.Engine), warm: make(map[variant]bool)}
	if be.durable() {
		root, err := tempRoot()
		if err != nil {
			return nil, err
		}
		if f.dir, err = os.MkdirTemp(root, fmt.Sprintf("%s-%d-", be.name, n)); err != nil {
			return nil, err
		}
	}
	s, err := be.create(f.dir)
	if err != nil {
		return nil, fmt.Errorf("creating %s store: %w", be.name, err)
	}
	defer func() {
		// s is nil once settle failed: it closed the store itself.
		if err != nil && s != nil {
			_ = s.Close()
		}
	}()
	e, err := auth.New(ctx, s, auth.Options{})
	if err != nil {
		return nil, err
	}
	acct, err := e.CreateAccount(ctx, "bench account")
	if err != nil {
		return nil, err
	}
	ws, err := e.CreateWorkspace(ctx, acct.ID, "bench workspace")
	if err != nil {
		return nil, err
	}
	var keep func(i int, k *auth.IssuedKey)
	if keepSecrets {
		f.secrets = make([]string, n)
		keep = func(i int, k *auth.IssuedKey) { f.secrets[i] = k.Secret.Reveal() }
	}
	start := time.Now()
	if err := createKeys(ctx, e, ws.ID, n, buildWorkers(be), keep); err != nil {
		return nil, err
	}
	f.build = time.Since(start)
	if keepSecrets {
		rand.New(rand.NewPCG(1, 2)).Shuffle(n, func(i, j int) {
			f.secrets[i], f.secrets[j] = f.secrets[j], f.secrets[i]
		})
	}
	if be.durable() {
		if s, err = f.settle(s); err != nil {
			return nil, err
		}
	}
	f.store = s
	return f, nil
}

// settle brings a durable fixture store s, just built, to the state the
// benchmarks measure, and returns it open again. It closes s (which makes
// the unsynced commits durable), reopens it with the backend's default
// options, and waits for the store's background work (the compactions of
// the LSM tree the bulk load left behind, the deletion of obsolete files)
// to end, so that it neither competes with the benchmarks for the CPU nor
// changes the files under them: the store is idle when no file of its
// directory has changed for settleQuiet. Then it closes the store again,
// measures the directory (f.disk) and reopens it. On an error it returns a
// nil store, having closed s and anything it opened.
func (f *fixture) settle(s store.Store) (store.Store, error) {
	be := f.be
	start := time.Now()
	if err := s.Close(); err != nil {
		return nil, fmt.Errorf("closing %s store: %w", be.name, err)
	}
	s, err := be.open(f.dir)
	if err != nil {
		return nil, fmt.Errorf("reopening %s store: %w", be.name, err)
	}
	last, err := dirState(f.dir)
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	for quiet := time.Duration(0); quiet < settleQuiet && time.Since(start) < settleMax; {
		time.Sleep(settlePoll)
		cur, err := dirState(f.dir)
		if err != nil {
			_ = s.Close()
			return nil, err
		}
		if cur == last {
			quiet += settlePoll
		} else {
			last, quiet = cur, 0
		}
	}
	if err := s.Close(); err != nil {
		return nil, fmt.Errorf("closing %s store: %w", be.name, err)
	}
	if f.disk, err = dirSize(f.dir); err != nil {
		return nil, err
	}
	if s, err = be.open(f.dir); err != nil {
		return nil, fmt.Errorf("reopening %s store: %w", be.name, err)
	}
	f.settled = time.Since(start)
	return s, nil
}

// How settle decides that a store is idle: no change to its directory for
// settleQuiet, looking every settlePoll, and giving up after settleMax.
const (
	settlePoll  = 250 * time.Millisecond
	settleQuiet = 2 * time.Second
	settleMax   = 3 * time.Minute
)

// dirState returns a summary of the files of dir (names, sizes and
// modification times) that changes when any of them does. The store is
// open while it runs: a file it deletes between the listing of its
// directory and the file's lstat is left out (the next look sees the
// listing without it).
func dirState(dir string) (string, error) {
	var sb strings.Builder
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(&sb, "%s %d %d\n", path, info.Size(), info.ModTime().UnixNano())
		return nil
	})
	return sb.String(), err
}

// buildWorkers is how many goroutines create a fixture's keys. A durable
// store serializes its commits, so more goroutines than cores keep the
// commit lock busy while the others draw, digest and encode their next key.
func buildWorkers(be backend) int {
	if be.durable() {
		return 4 * runtime.GOMAXPROCS(0)
	}
	return runtime.GOMAXPROCS(0)
}

// createKeys creates n application keys in ws from the given number of
// goroutines, calling keep (if not nil) with each key's index in [0, n).
func createKeys(ctx context.Context, e *auth.Engine, ws keys.WorkspaceID, n, workers int, keep func(i int, k *auth.IssuedKey)) error {
	var (
		next    atomic.Int64
		failed  atomic.Bool
		errOnce sync.Once
		first   error
		wg      sync.WaitGroup
	)
	for range max(workers, 1) {
		wg.Go(func() {
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				k, err := e.CreateApplicationKey(ctx, ws, keyName, time.Time{})
				if err != nil {
					errOnce.Do(func() { first = fmt.Errorf("creating key %d: %w", i, err) })
					failed.Store(true)
					return
				}
				if keep != nil {
					keep(i, &k)
				}
			}
		})
	}
	wg.Wait()
	return first
}

// engine returns the fixture's engine of variant v, reopening the store if
// a benchmark closed it. An engine of variantCached or variantDefault has
// read every key once before it is returned the first time, so that its
// cache holds them all, or, for the default engine over a store on disk,
// as many as it keeps.
func (f *fixture) engine(b *testing.B, v variant) *auth.Engine {
	b.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	ctx := context.Background()
	if err := f.openLocked(); err != nil {
		b.Fatal(err)
	}
	e := f.engines[v]
	if e == nil {
		var err error
		if e, err = auth.New(ctx, f.store, engineOptions(v, f.n)); err != nil {
			b.Fatalf("engine %s over the %s fixture of %d keys: %v", v, f.be.name, f.n, err)
		}
		f.engines[v] = e
	}
	// An engine with a cache is measured in its steady state: every key
	// has authenticated once. Over mem the default engine caches every
	// key; over pebble and badger its bounded cache holds what a cycle
	// through the keys leaves in it.
	if v != variantUncached && !f.warm[v] {
		start := time.Now()
		for i, s := range f.secrets {
			if _, err := e.Authenticate(ctx, s); err != nil {
				b.Fatalf("warming the cache: secret %d: %v", i, err)
			}
		}
		f.warm[v] = true
		b.Logf("warmed the %s engine over the %s fixture of %d keys in %v",
			v, f.be.name, f.n, time.Since(start).Round(time.Millisecond))
	}
	return e
}

// openStore returns the fixture's store, reopening it if a benchmark
// closed it.
func (f *fixture) openStore(b *testing.B) store.Store {
	b.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.openLocked(); err != nil {
		b.Fatal(err)
	}
	return f.store
}

func (f *fixture) openLocked() error {
	if f.store != nil {
		return nil
	}
	s, err := f.be.open(f.dir)
	if err != nil {
		return fmt.Errorf("reopening the %s fixture of %d keys: %w", f.be.name, f.n, err)
	}
	f.store = s
	return nil
}

// closeStore closes a durable fixture's store and drops its engines, so
// that a benchmark may open the directory itself; the next use of the
// fixture reopens it (and warms a new cached engine).
func (f *fixture) closeStore(b *testing.B) {
	b.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.closeLocked(); err != nil {
		b.Fatal(err)
	}
}

func (f *fixture) closeLocked() error {
	if f.store == nil || !f.be.durable() {
		return nil
	}
	err := f.store.Close()
	f.store = nil
	clear(f.engines)
	clear(f.warm)
	if err != nil {
		return fmt.Errorf("closing the %s fixture of %d keys: %w", f.be.name, f.n, err)
	}
	return nil
}

// hotKeysOf returns the store keys of the hot records of the fixture's
// secrets, in the same order: the keys Authenticate reads. They are
// recomputed from the secrets as the engine does (the fixture's engines
// have no pepper), in one backing array.
func (f *fixture) hotKeysOf(b *testing.B) [][]byte {
	b.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hotKeys != nil {
		return f.hotKeys
	}
	h, err := keys.NewHasher(nil)
	if err != nil {
		b.Fatal(err)
	}
	const keyLen = 1 + keys.PrefixSize
	buf := make([]byte, 0, len(f.secrets)*keyLen)
	out := make([][]byte, len(f.secrets))
	for i, text := range f.secrets {
		s, err := keys.ParseSecret(text)
		if err != nil {
			b.Fatalf("secret %d: %v", i, err)
		}
		d := h.Digest(&s)
		var hk [keyLen]byte
		start := len(buf)
		buf = append(buf, record.HashKey(&hk, d.Prefix())...)
		out[i] = buf[start:len(buf):len(buf)]
	}
	f.hotKeys = out
	return out
}

type fixtureID struct {
	backend string
	n       int
}

type fixtureEntry struct {
	once sync.Once
	f    *fixture
	err  error
}

// fixtures caches one fixture per backend and size for the whole process:
// -count=6 and the several sub-benchmarks of a size share one build.
var fixtures sync.Map // fixtureID → *fixtureEntry

// fixtureFor returns the cached fixture of be with n keys, building it on
// first use. Nothing is built until a benchmark that needs it runs.
func fixtureFor(b *testing.B, be backend, n int) *fixture {
	b.Helper()
	v, _ := fixtures.LoadOrStore(fixtureID{be.name, n}, new(fixtureEntry))
	e := v.(*fixtureEntry)
	e.once.Do(func() {
		e.f, e.err = newFixture(context.Background(), be, n, true)
		if e.err == nil {
			msg := fmt.Sprintf("built %s fixture of %d keys in %v (%.0f ns/key, %d goroutines, GOMAXPROCS=%d)",
				be.name, n, e.f.build.Round(time.Millisecond),
				float64(e.f.build.Nanoseconds())/float64(n), buildWorkers(be), runtime.GOMAXPROCS(0))
			if be.durable() {
				msg += fmt.Sprintf("; settled in %v; %.1f MB on disk, %.0f B/key",
					e.f.settled.Round(time.Millisecond), float64(e.f.disk)/1e6, float64(e.f.disk)/float64(n))
			}
			b.Log(msg)
		}
	})
	if e.err != nil {
		b.Fatalf("building %s fixture of %d keys: %v", be.name, n, e.err)
	}
	return e.f
}

var (
	tempMu      sync.Mutex
	tempRootDir string
)

// tempRoot returns the directory every durable fixture lives under,
// creating it on first use.
func tempRoot() (string, error) {
	tempMu.Lock()
	defer tempMu.Unlock()
	if tempRootDir == "" {
		dir, err := os.MkdirTemp("", fmt.Sprintf("streamauth-bench-%d-", os.Getpid()))
		if err != nil {
			return "", err
		}
		tempRootDir = dir
	}
	return tempRootDir, nil
}

// cleanupFixtures closes the store of every cached fixture and removes the
// fixtures' directory.
func cleanupFixtures() error {
	var errs []error
	fixtures.Range(func(_, v any) bool {
		if f := v.(*fixtureEntry).f; f != nil {
			f.mu.Lock()
			if f.store != nil {
				errs = append(errs, f.store.Close())
				f.store = nil
			}
			f.mu.Unlock()
		}
		return true
	})
	tempMu.Lock()
	defer tempMu.Unlock()
	if tempRootDir != "" {
		errs = append(errs, os.RemoveAll(tempRootDir))
		tempRootDir = ""
	}
	return errors.Join(errs...)
}

// dirSize returns the sum of the sizes of the regular files under dir.
func dirSize(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		total += info.Size()
		return nil
	})
	return total, err
}

// cycleLen is how many distinct miss and malformed secrets a benchmark
// cycles through.
const cycleLen = 4096

// missSecrets are well-formed secrets (right prefix, alphabet, length and
// checksum) that were never issued: they reach the store and miss.
var missSecrets = sync.OnceValue(func() []string {
	out := make([]string, cycleLen)
	for i := range out {
		s, err := keys.NewSecret()
		if err != nil {
			panic(err)
		}
		out[i] = s.Reveal()
	}
	return out
})

// malformedSecrets are refused by the parser, before any digest or store
// access. They are an even, interleaved mix of four kinds, each made from a
// fresh well-formed secret:
//
//   - wrong prefix: "akx_" instead of "aks_";
//   - wrong checksum: one hex digit changed (CRC-32C catches every one);
//   - uppercase: the 64 digits in uppercase (the format is lowercase only);
//   - truncated: 1 to 64 characters cut off the end.
//
// The kinds cost different amounts (a wrong prefix or length is refused at
// once, a bad checksum only after decoding and a CRC), so the benchmark
// reports the mean over the mix.
var malformedSecrets = sync.OnceValue(func() []string {
	r := rand.New(rand.NewPCG(3, 4))
	out := make([]string, 0, cycleLen)
	for len(out) < cycleLen {
		sec, err := keys.NewSecret()
		if err != nil {
			panic(err)
		}
		s := sec.Reveal()
		digits := s[len(keys.SecretPrefix):]
		switch len(out) % 4 {
		case 0:
			out = append(out, "akx_"+digits)
		case 1:
			i := r.IntN(len(digits))
			c := "0123456789abcdef"[r.IntN(16)]
			if c == digits[i] {
				c = "0123456789abcdef"[(strings.IndexByte("0123456789abcdef", c)+1)%16]
			}
			out = append(out, keys.SecretPrefix+digits[:i]+string(c)+digits[i+1:])
		case 2:
			up := strings.ToUpper(digits)
			if up == digits { // all 64 digits decimal: no letter to raise
				continue
			}
			out = append(out, keys.SecretPrefix+up)
		case 3:
			out = append(out, s[:len(s)-1-r.IntN(len(digits))])
		}
	}
	return out
})

// checkMalformed makes sure, before the timer starts, that every malformed
// secret is refused as malformed (not merely unknown).
func checkMalformed(b *testing.B, e *auth.Engine, secrets []string) {
	b.Helper()
	ctx := context.Background()
	for i, s := range secrets {
		if _, err := keys.ParseSecret(s); !errors.Is(err, keys.ErrMalformedSecret) {
			b.Fatalf("malformed secret %d parses: %v", i, err)
		}
		if _, err := e.Authenticate(ctx, s); !errors.Is(err, auth.ErrUnauthenticated) || !errors.Is(err, keys.ErrMalformedSecret) {
			b.Fatalf("malformed secret %d: Authenticate = %v, want ErrUnauthenticated for a malformed secret", i, err)
		}
	}
}

// checkMiss makes sure, before the timer starts, that every miss secret is
// well formed and unknown.
func checkMiss(b *testing.B, e *auth.Engine, secrets []string) {
	b.Helper()
	ctx := context.Background()
	for i, s := range secrets {
		if _, err := keys.ParseSecret(s); err != nil {
			b.Fatalf("miss secret %d does not parse: %v", i, err)
		}
		_, err := e.Authenticate(ctx, s)
		if !errors.Is(err, auth.ErrUnauthenticated) || errors.Is(err, keys.ErrMalformedSecret) {
			b.Fatalf("miss secret %d: Authenticate = %v, want ErrUnauthenticated for an unknown key", i, err)
		}
	}
}
