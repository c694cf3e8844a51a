package auth_test

// Timing side-channel tests, dudect-style (see internal/dudect): each
// times one secret-dependent check on two classes of refused inputs,
// interleaved at random, and requires Welch's |t| to stay below 10:
//
//   - Authenticate: candidates one hex digit away from an issued secret
//     against random well-formed ones;
//   - SASL PLAIN: passwords one hex digit away from a credential's, against
//     random ones, through the argon2id check and through the remembered
//     path;
//   - SCRAM-SHA-256 and -512: client-final messages whose proof is one
//     byte away from the valid proof, against random proofs, timing the
//     client-final step only;
//
// and a canary, a naive early-exit comparison measured the same way, must
// show a leak: |t| above 100 in the long mode, 20 in the short one.
//
// The short mode is the default, and runs in `go test ./...`: 20,000
// measurements per test, one run each, about 6 seconds in all. The long
// mode takes 1,000,000 measurements per test and runs each real check
// twice, both runs required below 10:
//
//	go test ./auth -run Timing -timing.long -v -timeout 60m
//
// It takes 8 to 10 minutes on a two-core machine, most of it in the
// 2,000,000 argon2id checks of the PLAIN test. -timing.n=N sets the number of
// measurements per run of either mode. The tests skip under the race
// detector (timings are meaningless there), and the long mode skips under
// -short.

import (
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"hash"
	"hash/crc32"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/streamauth/streamauth/auth"
	"github.com/streamauth/streamauth/cluster"
	"github.com/streamauth/streamauth/internal/dudect"
	"github.com/streamauth/streamauth/keys"
	"github.com/streamauth/streamauth/store/memstore"
)

var (
	timingLong = flag.Bool("timing.long", false, "run the timing tests' long mode: 1,000,000 measurements per run, each real check measured twice")
	timingN    = flag.Int("timing.n", 0, "measurements per run of the timing tests (0: 20,000, or 1,000,000 with -timing.long)")
)

const (
	timingShortN = 20_000
	timingLongN  = 1_000_000
	// timingMaxT is the bound on |t| for the real checks: dudect's "a
	// leak is very likely" level. Under no leak the largest of the 101
	// tests is about 2 or 3 at any number of measurements.
	timingMaxT = 10
	// canaryShortT and canaryLongT are the t the canary must exceed.
	// Its leak, some 60 more loop iterations for class A (about 20 ns on
	// top of a measurement of about 40, clock readings included), shows
	// at 20,000 measurements with a t of about 200 on a busy two-core
	// machine, and grows as the square root of the count (about 1,400 at
	// 1,000,000). 20 is twice the real checks' bound, so that the short
	// mode shows the harness telling a leak from no leak with room on both
	// sides (ten times over, and 1/10 of the canary's typical t); 100 is
	// the long mode's bar.
	canaryShortT = 20
	canaryLongT  = 100
)

// timingMode is how much to measure: n measurements per run, runs runs of
// each real check.
type timingMode struct {
	n, runs int
	long    bool
}

func (m timingMode) String() string {
	mode := "short"
	if m.long {
		mode = "long"
	}
	return fmt.Sprintf("%s mode, %d measurements per run, %d run(s)", mode, m.n, m.runs)
}

func timingSetup(t *testing.T) timingMode {
	t.Helper()
	if dudect.RaceEnabled {
		t.Skip("timing tests are meaningless under the race detector")
	}
	m := timingMode{n: timingShortN, runs: 1}
	if *timingLong {
		if testing.Short() {
			t.Skip("the long timing mode is skipped under -short")
		}
		m = timingMode{n: timingLongN, runs: 2, long: true}
	}
	if *timingN > 0 {
		m.n = *timingN
	}
	return m
}

// requireNoLeak measures tgt m.runs times and requires |t| < timingMaxT
// in every run.
func requireNoLeak(t *testing.T, m timingMode, cfg dudect.Config, tgt dudect.Target) {
	t.Helper()
	cfg.Measurements = m.n
	for run := 1; run <= m.runs; run++ {
		r, err := dudect.Run(cfg, tgt)
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		t.Logf("run %d of %d (%v): %v", run, m.runs, m, r)
		if r.AbsT() >= timingMaxT {
			t.Errorf("run %d: |t| = %.2f ≥ %d: the time of this check depends on how close the input is to the secret (%v)",
				run, r.AbsT(), timingMaxT, r)
		}
	}
}

// Hex-digit candidates. A class A candidate is one of many valid values
// with one hex digit, at a random position, replaced by another; a class B
// candidate is random. Both are drawn afresh for each measurement.
//
// Class A must have many distinct members: tens of thousands, for a
// million measurements. The checks' cost varies a little from input to
// input for reasons that have nothing to do with the secret: a memory
// store's miss costs about 59 ns for most keys, and 10 to 25 ns more for
// the one in 15 or so whose hash meets a tag of the same 7 bits in its
// group, or an overflowed group (the remembered table, a Go map, probes in
// the same way). A class of few inputs, each measured thousands of times,
// has its own share of such keys, and its mean moves with it. With 16
// issued secrets and only their last random digit varied (240
// candidates), Authenticate showed |t| of 7 to 15 at 1,000,000
// measurements, of either sign from one store to the next, and a fixed
// pool of 240 random well-formed secrets, close to nothing, showed 8 to
// 35; 8 credentials with the last digit varied gave the remembered path
// |t| of 8 to 27. Any digit of any of 1,024 secrets (860,000 candidates),
// or of 64 passwords (61,000), keeps |t| at 1 to 3. A varying position
// also catches a comparison that runs from either end.

// otherDigit returns a hex digit other than d, at random.
func otherDigit(r *rand.Rand, d byte) byte {
	const digits = "0123456789abcdef"
	v := strings.IndexByte(digits, d)
	return digits[(v+1+r.IntN(15))%16]
}

// randomHex fills dst, a multiple of 16 bytes long, with random lowercase
// hex digits.
func randomHex(r *rand.Rand, dst []byte) {
	var raw [8]byte
	for i := 0; i < len(dst); i += 16 {
		binary.LittleEndian.PutUint64(raw[:], r.Uint64())
		hex.Encode(dst[i:i+16], raw[:])
	}
}

func newTimingRand() *rand.Rand {
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[:], rand.Uint64())
	return rand.New(rand.NewChaCha8(seed))
}

// The secret's layout, as in package keys: 28 random bytes then the
// CRC-32C of those, big-endian: 56 hex digits that vary and 8 of checksum.
const (
	secretRandomBytes = 28
	secretBytes       = 32
)

// rechecksum sets b's checksum to the one its random bytes call for, so
// that the candidate passes keys.ParseSecret (castagnoli is
// crossbackend_test.go's CRC-32C table).
func rechecksum(b *[secretBytes]byte) {
	binary.BigEndian.PutUint32(b[secretRandomBytes:], crc32.Checksum(b[:secretRandomBytes], castagnoli))
}

// TestTimingAuthenticate times Engine.Authenticate (parse, digest, store
// lookup of the digest's prefix, constant-time compare) over a memory store
// with the default options, on refused candidates. Class A shares 63 of
// its 64 hex digits with one of 1,024 issued secrets: one of the 56 random
// digits differs (the last 8 are the checksum).
//
//   - checksummed: the candidate's checksum is then recomputed (so the 8
//     checksum digits differ too), so that it passes the parser and
//     reaches the lookup, as class B does: 28 random bytes and their
//     checksum. The meaningful test;
//   - raw: the candidate keeps the issued checksum, which refuses it in the
//     parser, as it refuses class B: 64 random digits.
func TestTimingAuthenticate(t *testing.T) {
	m := timingSetup(t)
	ctx := context.Background()
	e, ws := timingEngine(t, auth.Options{})
	var valid [][secretBytes]byte
	for i := range 1024 {
		k, err := e.CreateApplicationKey(ctx, ws.ID, keys.KeyName(fmt.Sprintf("akn_timing_%d", i)), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		text := k.Secret.Reveal()
		if _, err := e.Authenticate(ctx, text); err != nil {
			t.Fatalf("issued secret refused: %v", err)
		}
		var b [secretBytes]byte
		if _, err := hex.Decode(b[:], []byte(text[len(keys.SecretPrefix):])); err != nil {
			t.Fatal(err)
		}
		valid = append(valid, b)
	}

	for _, checksummed := range []bool{true, false} {
		name := map[bool]string{true: "checksummed", false: "raw"}[checksummed]
		t.Run(name, func(t *testing.T) {
			const batch = 10_000
			r := newTimingRand()
			cands := make([]string, batch)
			errs := make([]error, batch)
			var text [keys.SecretLen]byte
			copy(text[:], keys.SecretPrefix)
			prepare := func(i int, c dudect.Class) {
				var b [secretBytes]byte
				for j := 0; j < secretBytes; j += 8 {
					binary.LittleEndian.PutUint64(b[j:], r.Uint64())
				}
				k, digit, delta := r.IntN(len(valid)), r.IntN(2*secretRandomBytes), byte(1+r.IntN(15))
				if c == dudect.A {
					// Digit 2j is the high nibble of byte j, 2j+1 the low.
					b = valid[k]
					b[digit/2] ^= delta << (4 * (1 - digit%2))
				}
				if checksummed {
					rechecksum(&b)
				} else if c == dudect.B {
					// Random digits fail the checksum but 1 time in 2³².
					ok := b
					rechecksum(&ok)
					if ok == b {
						b[secretBytes-1] ^= 1
					}
				}
				hex.Encode(text[len(keys.SecretPrefix):], b[:])
				cands[i] = string(text[:])
			}
			op := func(i int) { _, errs[i] = e.Authenticate(ctx, cands[i]) }
			check := func(n int) error {
				for i := range n {
					err := errs[i]
					if !errors.Is(err, auth.ErrUnauthenticated) || errors.Is(err, keys.ErrMalformedSecret) != !checksummed {
						return fmt.Errorf("candidate %d: Authenticate = %v, want ErrUnauthenticated, malformed = %v", i, err, !checksummed)
					}
				}
				return nil
			}
			requireNoLeak(t, m, dudect.Config{Batch: batch}, dudect.Target{Prepare: prepare, Op: op, Check: check})
		})
	}
}

// timingEngine returns an engine of opts over a new memory store, with one
// account and one workspace.
func timingEngine(t *testing.T, opts auth.Options) (*auth.Engine, auth.Workspace) {
	t.Helper()
	ctx := context.Background()
	st := memstore.New()
	t.Cleanup(func() { st.Close() })
	e, err := auth.New(ctx, st, opts)
	if err != nil {
		t.Fatal(err)
	}
	acct, err := e.CreateAccount(ctx, "timing")
	if err != nil {
		t.Fatal(err)
	}
	ws, err := e.CreateWorkspace(ctx, acct.ID, "timing")
	if err != nil {
		t.Fatal(err)
	}
	return e, ws
}

// timingCreds is an engine over a memory store with the test's cheap
// argon2id parameters and the default options otherwise, a BYOC cluster,
// and n credentials with generated passwords ("ccp_" and 64 hex digits).
type timingCreds struct {
	e      *auth.Engine
	cl     keys.ClusterID
	users  []string
	passes []string
}

func newTimingCreds(t *testing.T, n int) *timingCreds {
	t.Helper()
	ctx := context.Background()
	e, ws := timingEngine(t, auth.Options{PasswordHash: auth.CheapArgon2})
	c, err := e.CreateCluster(ctx, ws.ID, auth.ClusterSpec{Name: "timing", Type: cluster.BYOC})
	if err != nil {
		t.Fatal(err)
	}
	tc := &timingCreds{e: e, cl: c.Cluster.ID}
	for i := range n {
		ic, err := e.CreateCredential(ctx, tc.cl, auth.CredentialSpec{Name: fmt.Sprintf("client %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		pass := ic.Password.Reveal()
		if len(pass) != len(keys.PasswordPrefix)+64 {
			t.Fatalf("generated password of %d bytes, want %d", len(pass), len(keys.PasswordPrefix)+64)
		}
		tc.users = append(tc.users, string(ic.Credential.Username))
		tc.passes = append(tc.passes, pass)
	}
	return tc
}

// TestTimingPlain times Engine.AuthenticatePlain on wrong passwords: class
// A shares 63 of the 64 hex digits of one of 64 credentials' passwords,
// class B is "ccp_" and 64 random digits, for a random one of the same
// users. Each credential has logged in once with its password first, so
// that the engine remembers it.
//
//   - argon2: the whole refusal: the remembered table misses, the
//     credential is read, the password checked with argon2id (the test's
//     cheap parameters, 64 KiB) and compared in constant time;
//   - remembered: the remembered-login path alone: the keyed hash of
//     (cluster, user, password) and the table lookup. The call runs under
//     a canceled context, which the memory store refuses at the
//     credential's read, right after the remembered table missed: no
//     argon2id run, and a tail of fixed cost.
func TestTimingPlain(t *testing.T) {
	m := timingSetup(t)
	tc := newTimingCreds(t, 64)
	ctx := context.Background()
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	for i := range tc.users {
		if _, err := tc.e.AuthenticatePlain(ctx, tc.cl, []byte("\x00"+tc.users[i]+"\x00"+tc.passes[i])); err != nil {
			t.Fatalf("valid login refused: %v", err)
		}
		// The remembered path answers before the store is read, which
		// is what the remembered subtest relies on.
		if _, err := tc.e.AuthenticatePlain(canceled, tc.cl, []byte("\x00"+tc.users[i]+"\x00"+tc.passes[i])); err != nil {
			t.Fatalf("remembered login under a canceled context: %v", err)
		}
	}

	for _, path := range []struct {
		name  string
		ctx   context.Context
		batch int
		want  error
	}{
		// A check allocates about 70 KB (argon2id's memory) with the
		// collector off while a batch is timed: 1,000 of them are 70 MB.
		{"argon2", ctx, 1000, auth.ErrUnauthenticated},
		{"remembered", canceled, 10_000, context.Canceled},
	} {
		t.Run(path.name, func(t *testing.T) {
			r := newTimingRand()
			msgs := make([][]byte, path.batch)
			errs := make([]error, path.batch)
			prepare := func(i int, c dudect.Class) {
				k := r.IntN(len(tc.users))
				user, valid := tc.users[k], tc.passes[k]
				msg := append(msgs[i][:0], 0)
				msg = append(msg, user...)
				msg = append(msg, 0)
				msg = append(msg, keys.PasswordPrefix...)
				pw := msg[len(msg) : len(msg)+64]
				msg = msg[:len(msg)+64]
				randomHex(r, pw)
				digit := r.IntN(64)
				if c == dudect.A {
					copy(pw, valid[len(keys.PasswordPrefix):])
					pw[digit] = otherDigit(r, pw[digit])
				}
				msgs[i] = msg
			}
			for i := range msgs {
				msgs[i] = make([]byte, 0, 2+keys.UsernameLen+len(keys.PasswordPrefix)+64)
			}
			op := func(i int) { _, errs[i] = tc.e.AuthenticatePlain(path.ctx, tc.cl, msgs[i]) }
			check := func(n int) error {
				for i := range n {
					if !errors.Is(errs[i], path.want) {
						return fmt.Errorf("login %d: %v, want %v", i, errs[i], path.want)
					}
				}
				return nil
			}
			requireNoLeak(t, m, dudect.Config{Batch: path.batch}, dudect.Target{Prepare: prepare, Op: op, Check: check})
		})
	}
}

// scramClient is a hand-built SCRAM client for one credential: its keys
// are derived once, and each exchange costs one HMAC.
type scramClient struct {
	user                 string
	newHash              func() hash.Hash
	clientKey, storedKey []byte
}

// start runs an exchange up to the client-final message, and returns the
// exchange, client-final-message-without-proof and the valid proof.
func (sc *scramClient) start(ctx context.Context, tc *timingCreds, mech, pass string, r *rand.Rand) (*auth.SCRAMExchange, string, []byte, error) {
	x, err := tc.e.StartSCRAM(ctx, tc.cl, mech)
	if err != nil {
		return nil, "", nil, err
	}
	var nonce [18]byte
	for i := range nonce {
		nonce[i] = byte(r.Uint32())
	}
	bare := "n=" + sc.user + ",r=" + base64.StdEncoding.EncodeToString(nonce[:])
	serverFirst, err := x.Step(ctx, []byte("n,,"+bare))
	if err != nil {
		return nil, "", nil, err
	}
	fields := strings.Split(string(serverFirst), ",")
	if len(fields) != 3 {
		return nil, "", nil, fmt.Errorf("server-first %q", serverFirst)
	}
	if sc.clientKey == nil {
		salt, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(fields[1], "s="))
		if err != nil {
			return nil, "", nil, err
		}
		iter, err := strconv.Atoi(strings.TrimPrefix(fields[2], "i="))
		if err != nil {
			return nil, "", nil, err
		}
		salted, err := pbkdf2.Key(sc.newHash, pass, salt, iter, sc.newHash().Size())
		if err != nil {
			return nil, "", nil, err
		}
		sc.clientKey = scramMAC(sc.newHash, salted, "Client Key")
		h := sc.newHash()
		h.Write(sc.clientKey)
		sc.storedKey = h.Sum(nil)
	}
	withoutProof := "c=biws," + fields[0]
	proof := scramMAC(sc.newHash, sc.storedKey, bare+","+string(serverFirst)+","+withoutProof)
	for i := range proof {
		proof[i] ^= sc.clientKey[i]
	}
	return x, withoutProof, proof, nil
}

func scramMAC(newHash func() hash.Hash, key []byte, msg string) []byte {
	m := hmac.New(newHash, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// TestTimingSCRAM times the client-final step of SCRAM exchanges, the
// proof check (ClientSignature = HMAC(StoredKey, AuthMessage), ClientKey =
// proof XOR ClientSignature, H(ClientKey) compared with StoredKey), with 4
// credentials. Each measurement is a new exchange, run up to
// server-first and the valid proof computed before timing, for both
// classes alike; then class A's proof has its last byte changed (where a
// byte-wise early-exit comparison of proofs would run longest), and class
// B's is random bytes. The nonces make every valid proof new, so class A
// has as many distinct members as measurements without varying the
// position.
func TestTimingSCRAM(t *testing.T) {
	m := timingSetup(t)
	tc := newTimingCreds(t, 4)
	ctx := context.Background()
	for _, mech := range []struct {
		name    string
		newHash func() hash.Hash
	}{
		{auth.MechanismSCRAMSHA256, sha256.New},
		{auth.MechanismSCRAMSHA512, sha512.New},
	} {
		t.Run(mech.name, func(t *testing.T) {
			r := newTimingRand()
			clients := make([]*scramClient, len(tc.users))
			for k := range clients {
				sc := &scramClient{user: tc.users[k], newHash: mech.newHash}
				clients[k] = sc
				// The valid proof succeeds: the client is right.
				x, withoutProof, proof, err := sc.start(ctx, tc, mech.name, tc.passes[k], r)
				if err != nil {
					t.Fatal(err)
				}
				final := withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof)
				if _, err := x.Step(ctx, []byte(final)); err != nil || !x.Done() {
					t.Fatalf("valid proof refused: %v", err)
				}
			}
			const batch = 10_000
			xs := make([]*auth.SCRAMExchange, batch)
			finals := make([][]byte, batch)
			errs := make([]error, batch)
			prepare := func(i int, c dudect.Class) {
				k := r.IntN(len(clients))
				x, withoutProof, proof, err := clients[k].start(ctx, tc, mech.name, tc.passes[k], r)
				if err != nil {
					t.Fatal(err)
				}
				if c == dudect.A {
					proof[len(proof)-1] ^= byte(1 + r.IntN(255))
				} else {
					for j := range proof {
						proof[j] = byte(r.Uint32())
					}
				}
				xs[i] = x
				finals[i] = []byte(withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof))
			}
			op := func(i int) { _, errs[i] = xs[i].Step(ctx, finals[i]) }
			check := func(n int) error {
				for i := range n {
					// A refused proof is "bad username or password"; a
					// malformed message would mean the test built it
					// wrong.
					if err := errs[i]; !errors.Is(err, auth.ErrUnauthenticated) || strings.Contains(err.Error(), "malformed") {
						return fmt.Errorf("exchange %d: %v, want a refused proof", i, err)
					}
					xs[i], finals[i] = nil, nil
				}
				return nil
			}
			requireNoLeak(t, m, dudect.Config{Batch: batch}, dudect.Target{Prepare: prepare, Op: op, Check: check})
		})
	}
}

// naiveEqual is the canary: a comparison that returns at the first
// differing byte, the textbook timing leak.
//
//go:noinline
func naiveEqual(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestTimingCanary measures naiveEqual against a secret of 64 hex digits
// the way the real checks are measured: class A shares its first 63 digits
// (it differs in the last, so the loop runs to the end), class B is 64
// random digits (which differ in the first with probability 15/16). The
// harness must see the leak.
func TestTimingCanary(t *testing.T) {
	m := timingSetup(t)
	r := newTimingRand()
	secret := make([]byte, 64)
	randomHex(r, secret)
	const batch = 10_000
	cands := make([][]byte, batch)
	for i := range cands {
		cands[i] = make([]byte, 64)
	}
	results := make([]bool, batch)
	prepare := func(i int, c dudect.Class) {
		randomHex(r, cands[i])
		if c == dudect.A {
			copy(cands[i], secret)
			cands[i][63] = otherDigit(r, secret[63])
		}
	}
	op := func(i int) { results[i] = naiveEqual(cands[i], secret) }
	check := func(n int) error {
		for i := range n {
			if results[i] {
				return fmt.Errorf("candidate %d equals the secret", i)
			}
		}
		return nil
	}
	want := float64(canaryShortT)
	if m.long {
		want = canaryLongT
	}
	for run := 1; run <= m.runs; run++ {
		res, err := dudect.Run(dudect.Config{Measurements: m.n, Batch: batch}, dudect.Target{Prepare: prepare, Op: op, Check: check})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("run %d of %d (%v): %v", run, m.runs, m, res)
		if res.T <= want {
			t.Errorf("run %d: canary t = %.2f, want > %v (class A slower): the harness does not see an early-exit comparison (%v)",
				run, res.T, want, res)
		}
	}
}
