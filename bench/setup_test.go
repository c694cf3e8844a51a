package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streamauth/streamauth/auth"
	"github.com/streamauth/streamauth/keys"
	"github.com/streamauth/streamauth/store"
	"github.com/streamauth/streamauth/store/memstore"
)

// backend is one storage backend under test. A new backend is one more
// entry in backends; every benchmark then runs over it too.
type backend struct {
	name string
	// open returns a new, empty store. Fixtures are cached for the whole
	// process and never closed (the process ends first), so a durable
	// backend should open under a directory of its own (os.MkdirTemp), not
	// under a benchmark's b.TempDir, which is removed when that benchmark
	// ends.
	open func() (store.Store, error)
}

var backends = []backend{
	{name: "mem", open: func() (store.Store, error) { return memstore.New(), nil }},
}

// size is a fixture size: the number of application keys in the one
// workspace.
type size struct {
	name string
	n    int
}

var sizes = []size{
	{"1k", 1_000},
	{"1M", 1_000_000},
}

// keyName is the name of every benchmark key. Names need not be unique.
const keyName keys.KeyName = "akn_bench"

// fixture is an engine over a store holding one account, one workspace and
// n application keys of that workspace.
type fixture struct {
	store  store.Store
	engine *auth.Engine
	// secrets holds the text of every issued secret, shuffled (with a
	// fixed seed) so that cycling through it does not walk the store's
	// records in the order they were allocated. Nil for a fixture built
	// with keepSecrets false.
	secrets []string
	build   time.Duration // wall time to create the n keys
}

// newFixture builds a fixture through the engine's public API. The keys are
// created from GOMAXPROCS goroutines at once: each CreateApplicationKey is
// one guarded commit, and the engine and the memory store are safe for
// concurrent use (the draws from crypto/rand, the digest, the encoding and
// the value copies run outside the store's lock).
func newFixture(ctx context.Context, be backend, n int, keepSecrets bool) (*fixture, error) {
	s, err := be.open()
	if err != nil {
		return nil, fmt.Errorf("opening %s store: %w", be.name, err)
	}
	f := &fixture{store: s}
	f.engine, err = auth.New(ctx, s, auth.Options{})
	if err != nil {
		return nil, err
	}
	acct, err := f.engine.CreateAccount(ctx, "bench account")
	if err != nil {
		return nil, err
	}
	ws, err := f.engine.CreateWorkspace(ctx, acct.ID, "bench workspace")
	if err != nil {
		return nil, err
	}
	var keep func(i int, k *auth.IssuedKey)
	if keepSecrets {
		f.secrets = make([]string, n)
		keep = func(i int, k *auth.IssuedKey) { f.secrets[i] = k.Secret.Reveal() }
	}
	start := time.Now()
	if err := createKeys(ctx, f.engine, ws.ID, n, runtime.GOMAXPROCS(0), keep); err != nil {
		return nil, err
	}
	f.build = time.Since(start)
	if keepSecrets {
		rand.New(rand.NewPCG(1, 2)).Shuffle(n, func(i, j int) {
			f.secrets[i], f.secrets[j] = f.secrets[j], f.secrets[i]
		})
	}
	return f, nil
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
			b.Logf("built %s fixture of %d keys in %v (%.0f ns/key, GOMAXPROCS=%d)",
				be.name, n, e.f.build.Round(time.Millisecond),
				float64(e.f.build.Nanoseconds())/float64(n), runtime.GOMAXPROCS(0))
		}
	})
	if e.err != nil {
		b.Fatalf("building %s fixture of %d keys: %v", be.name, n, e.err)
	}
	return e.f
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
