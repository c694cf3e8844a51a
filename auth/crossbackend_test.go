package auth_test

// TestBackendsAgree proves that the memory, pebble and badger stores are
// indistinguishable through the engine's API: one random sequence of
// operations (creates, deletes, lookups, listings, authentications,
// authorizations, clock advances and, for the durable stores, a close and
// reopen of store and engine) run on each backend from the same crypto/rand
// seed and the same fake clock gives the same transcript, operation by
// operation, down to every id and every secret, and the same final state.
//
// How the runs are made comparable:
//
//   - crypto/rand is made deterministic with cryptotest.SetGlobalRandom,
//     seeded identically before each backend's run; TestSameSeedSameSecrets
//     checks that this makes two engines issue the same ids and secrets.
//     Badger draws from crypto/rand when it opens (the IVs of its log
//     files), so the stream is seeded again, identically on every backend,
//     right after each open and reopen: what a store draws for itself never
//     shifts what the engine draws.
//   - The engine's clock is a fake that only the "advance the clock" op moves.
//   - Ops name earlier objects by creation index ("the 3rd cluster created"),
//     resolved the same way on every backend; ids that were never issued are
//     derived from the op, not drawn.
//   - Every result is recorded as a plain value, every error as the sentinels
//     it matches. A secret is recorded only as "issued secret #n"; secrets are
//     compared separately with Secret.Equal, and no failure message ever holds
//     secret text (failf checks).

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"testing"
	"testing/cryptotest"
	"time"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/streamauth/streamauth/auth"
	"github.com/streamauth/streamauth/cluster"
	"github.com/streamauth/streamauth/keys"
	"github.com/streamauth/streamauth/store"
)

// drawOps draws a sequence: the prologue, then a random part. Rapid's
// slices hold 5 elements on average; a slice of up to 10 slices of up to 12
// ops holds about 25, and still shrinks op by op. With the default 100
// checks TestBackendsAgree takes about 12 s on 2 cores, 20 to 60 s under
// -race (most of it opening and closing pebble and badger); CI may run it
// longer with -run TestBackendsAgree -rapid.checks=N.
func drawOps(rt *rapid.T) []op {
	ops := append([]op(nil), prologue...)
	for _, chunk := range rapid.SliceOfN(rapid.SliceOfN(opGen(), 0, 12), 0, 10).Draw(rt, "ops") {
		ops = append(ops, chunk...)
	}
	return ops
}

// TestSameSeedSameSecrets checks the premise of TestBackendsAgree: with
// cryptotest.SetGlobalRandom called with the same seed, two engines (here
// on two different backends) issue the same ids and secrets; calling it
// again resets the stream; another seed gives other ids.
func TestSameSeedSameSecrets(t *testing.T) {
	ctx := context.Background()
	type issued struct {
		acct    keys.AccountID
		ws      keys.WorkspaceID
		cluster keys.ClusterID
		keyIDs  []keys.KeyID
		secrets []keys.Secret
	}
	issue := func(be int, seed uint64) issued {
		t.Helper()
		cryptotest.SetGlobalRandom(t, seed)
		st, err := backends[be].open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		cryptotest.SetGlobalRandom(t, seed) // as TestBackendsAgree does after an open
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		e, err := auth.New(ctx, st, auth.Options{Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		a, err := e.CreateAccount(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		w, err := e.CreateWorkspace(ctx, a.ID, "prod")
		if err != nil {
			t.Fatal(err)
		}
		c, err := e.CreateCluster(ctx, w.ID, auth.ClusterSpec{Name: "orders", Type: cluster.BYOC})
		if err != nil {
			t.Fatal(err)
		}
		k, err := e.CreateApplicationKey(ctx, w.ID, "akn_app", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		return issued{
			acct: a.ID, ws: w.ID, cluster: c.Cluster.ID,
			keyIDs:  []keys.KeyID{c.AgentKey.Key.ID, k.Key.ID},
			secrets: []keys.Secret{c.AgentKey.Secret, k.Secret},
		}
	}
	same := func(x, y issued) bool {
		if x.acct != y.acct || x.ws != y.ws || x.cluster != y.cluster || len(x.keyIDs) != len(y.keyIDs) {
			return false
		}
		for i := range x.keyIDs {
			if x.keyIDs[i] != y.keyIDs[i] || !x.secrets[i].Equal(y.secrets[i]) {
				return false
			}
		}
		return true
	}
	ref := issue(0, 42)
	for be := range backends {
		if got := issue(be, 42); !same(ref, got) {
			t.Errorf("%s with seed 42 issued other ids or secrets than mem with seed 42", backends[be].name)
		}
	}
	if got := issue(0, 43); got.acct == ref.acct || got.keyIDs[0] == ref.keyIDs[0] || got.secrets[0].Equal(ref.secrets[0]) {
		t.Errorf("seed 43 issued the same ids or secrets as seed 42: SetGlobalRandom has no effect")
	}
	// The made-up well-formed secrets of TestBackendsAgree must parse.
	for seed := range uint64(20) {
		if _, err := keys.ParseSecret(madeUpSecret(seed)); err != nil {
			t.Fatalf("madeUpSecret(%d) does not parse: %v", seed, err)
		}
	}
}

// TestBackendsAgree: see the comment at the top of this file.
func TestBackendsAgree(t *testing.T) {
	goroutines := runtime.NumGoroutine()
	rapid.Check(t, func(rt *rapid.T) {
		seed := rapid.Uint64().Draw(rt, "seed")
		ops := drawOps(rt)
		runs := make([]*run, 0, len(backends))
		for _, be := range backends {
			// The property runs on the test's goroutine, one check at a
			// time: the outer *testing.T may reset crypto/rand here.
			r := newRun(t, rt, be.name, be.open, seed)
			runs = append(runs, r)
			func() {
				defer r.close() // even when the check fails: no store outlives it
				r.openEngine(0)
				for i, o := range ops {
					r.exec(i, o)
				}
				r.dump("dump")
				// What was written survives a reopen, whole.
				r.reopen(len(ops) + 1)
				r.dump("dump after reopen")
			}()
		}
		ref := runs[0]
		opts := cmp.Options{
			cmp.Comparer(func(a, b keys.AccountID) bool { return a == b }),
			cmp.Comparer(func(a, b keys.WorkspaceID) bool { return a == b }),
			cmp.Comparer(func(a, b keys.ClusterID) bool { return a == b }),
			cmp.Comparer(func(a, b keys.KeyID) bool { return a == b }),
		}
		for _, r := range runs[1:] {
			if d := cmp.Diff(ref.steps, r.steps, opts); d != "" {
				failf(rt, runs, "%s and %s disagree (-%s +%s):\n%s", ref.name, r.name, ref.name, r.name, d)
			}
			// Same length, by the transcripts: every issued key has a step.
			for i := range ref.secrets {
				if !ref.secrets[i].Equal(r.secrets[i]) {
					failf(rt, runs, "issued secret #%d differs between %s and %s", i, ref.name, r.name)
				}
			}
		}
	})
	// Every store was closed: no goroutine of pebble or badger outlives it.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > goroutines && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > goroutines {
		t.Errorf("%d goroutines before the test, %d after", goroutines, n)
	}
}

// failf fails the check with a message, after making sure it holds no
// secret text of any run (the diff of a transcript never should: secrets
// are recorded as "issued secret #n").
func failf(rt *rapid.T, runs []*run, format string, args ...any) {
	rt.Helper()
	msg := fmt.Sprintf(format, args...)
	for _, r := range runs {
		for i, s := range r.secrets {
			text := s.Reveal()
			if strings.Contains(msg, text) || strings.Contains(msg, text[len(keys.SecretPrefix):]) {
				rt.Fatalf("a failure message would show issued secret #%d of %s; not printed", i, r.name)
			}
		}
	}
	rt.Fatal(msg)
}

// --- operations ---

type opKind uint8

const (
	opCreateAccount opKind = iota
	opCreateWorkspace
	opCreateCluster
	opSetSASL
	opDeleteCluster
	opCreateKey
	opCreateAppKey
	opCreateAgentKey
	opCreateAccountKey
	opDeleteKey
	opGetKey
	opGetCluster
	opGetAccount
	opGetWorkspace
	opListKeys
	opListClusters
	opListAccounts
	opListWorkspaces
	opAuthenticate
	opAuthorize
	opAuthorizeAgent
	opAdvanceClock
	opReopen
)

var opNames = [...]string{
	opCreateAccount:    "CreateAccount",
	opCreateWorkspace:  "CreateWorkspace",
	opCreateCluster:    "CreateCluster",
	opSetSASL:          "SetClusterSASL",
	opDeleteCluster:    "DeleteCluster",
	opCreateKey:        "CreateKey",
	opCreateAppKey:     "CreateApplicationKey",
	opCreateAgentKey:   "CreateAgentKey",
	opCreateAccountKey: "CreateAccountKey",
	opDeleteKey:        "DeleteKey",
	opGetKey:           "GetKey",
	opGetCluster:       "GetCluster",
	opGetAccount:       "GetAccount",
	opGetWorkspace:     "GetWorkspace",
	opListKeys:         "ListKeys",
	opListClusters:     "ListClusters",
	opListAccounts:     "ListAccounts",
	opListWorkspaces:   "ListWorkspaces",
	opAuthenticate:     "Authenticate",
	opAuthorize:        "Authorize",
	opAuthorizeAgent:   "AuthorizeAgent",
	opAdvanceClock:     "AdvanceClock",
	opReopen:           "Reopen",
}

// op is one operation. A reference (Acct, WS, Cl, Key) names an object by
// creation index: n >= 0 is the (n mod count)th created (an id never issued
// if none was), refUnknown an id never issued, refZero the zero id. Which
// other fields matter depends on Kind; see opGen and run.exec.
type op struct {
	Kind         opKind
	Acct, WS, Cl int
	Key          int  // an issued key, and its secret
	Own          bool // use the cluster's own workspace (agent grants)
	Name         int  // index into the name table of the kind
	Shape        int  // cluster type, grant shape, filter, secret or principal shape
	Sub          int  // SASL policy, kind filter or target shape
	Exp          int  // expiry shape
	Mins         int  // minutes: clock advance or time to live
	Seed         uint64
}

const (
	refZero    = -2
	refUnknown = -1
)

// prologue starts every sequence, so that most random ops find something
// to act on: two accounts, three workspaces (two in the first account).
var prologue = []op{
	{Kind: opCreateAccount, Name: 0},
	{Kind: opCreateAccount, Name: 1},
	{Kind: opCreateWorkspace, Acct: 0, Name: 0},
	{Kind: opCreateWorkspace, Acct: 0, Name: 1},
	{Kind: opCreateWorkspace, Acct: 1, Name: 2},
}

// weighted lists op kinds as often as they should be drawn.
var weighted = []opKind{
	opCreateAccount,
	opCreateWorkspace, opCreateWorkspace,
	opCreateCluster, opCreateCluster, opCreateCluster, opCreateCluster,
	opSetSASL,
	opDeleteCluster, opDeleteCluster,
	opCreateKey, opCreateKey, opCreateKey,
	opCreateAppKey, opCreateAppKey,
	opCreateAgentKey, opCreateAgentKey,
	opCreateAccountKey, opCreateAccountKey,
	opDeleteKey, opDeleteKey,
	opGetKey, opGetCluster, opGetAccount, opGetWorkspace,
	opListKeys, opListKeys, opListClusters, opListAccounts, opListWorkspaces,
	opAuthenticate, opAuthenticate, opAuthenticate,
	opAuthorize, opAuthorize, opAuthorize,
	opAuthorizeAgent, opAuthorizeAgent,
	opAdvanceClock, opAdvanceClock,
	opReopen, opReopen,
}

var (
	displayNames       = []string{"acme", "globex", "initech", "ünïcode name", "", " leading space", "bidi\u202eoverride"}
	clusterNameChoices = []string{"orders", "payments", "logs", "bad\x00name"}
	keyNames           = []keys.KeyName{"akn_app", "akn_ops", "akn_agent", "akn_x_1", "akn_", "bad name", "akn_é"}
	clusterTypes       = []cluster.Type{cluster.BYOC, cluster.Serverless, cluster.BYOCSchemaRegistry, 0, 9}
	policies           = []cluster.SASLPolicy{0, cluster.SASLOff, cluster.SASLRequired, 7}
	kindFilters        = []auth.Kind{0, auth.KindAccount, auth.KindApplication, auth.KindAgent, 9}
)

// Grant shapes of opCreateKey.
const (
	grantApp = iota
	grantAgentCluster
	grantAgentAny
	grantAccount
	grantAppWithAccount // invalid: account set on a workspace key
	grantAgentAnyRes    // invalid: resource "*"
	grantAgentBadID     // invalid: malformed cluster id
	grantAccountWithWS  // invalid: workspace on an account key
	grantAccountNoAcct  // invalid: no account
	grantAppResCluster  // invalid: application grant naming a cluster
	grantKindZero       // invalid: no principal kind
	grantKindUnknown    // invalid: unknown principal kind
	numGrantShapes
)

// Expiry shapes.
const (
	expNever = iota
	expFuture
	expNow     // invalid: not in the future
	expPast    // invalid
	expTooLate // invalid: after 2262
	numExpShapes
)

// Secret shapes of opAuthenticate.
const (
	secretIssued    = iota // an issued secret (live, revoked or expired)
	secretMadeUp           // well formed, never issued
	secretNearMiss         // an issued secret's random part changed, checksum fixed: well formed, unknown
	secretBadDigit         // an issued secret with one digit changed: bad checksum
	secretUpper            // an issued secret in upper case
	secretBadPrefix        // wrong prefix
	secretTruncated        // too short
	secretEmpty            // ""
	numSecretShapes
)

// Principal shapes of opAuthorize and opAuthorizeAgent.
const (
	princAuthenticated = iota // AuthenticateAPI / AuthenticateAgent with an issued secret
	princOfKey                // Authorize / AuthorizeAgent with the principal an issued key would have
	princKindZero             // a principal of no kind
	numPrincShapes
)

// Target shapes of opAuthorize.
const (
	targetAccount = iota
	targetWorkspace
	targetCluster
	targetNone // invalid: nothing set
	targetTwo  // invalid: account and cluster set
	numTargetShapes
)

// Filter shapes of opListKeys.
const (
	filterAccount = iota
	filterWorkspace
	filterCluster
	filterNone
	filterTwo
	numFilterShapes
)

func opGen() *rapid.Generator[op] {
	return rapid.Custom(func(t *rapid.T) op {
		// Rapid favours small integers, and a negative one half the
		// time; these helpers set the odds explicitly.
		rare := func(label string) bool { // 1 in 8
			return rapid.Bool().Draw(t, label) && rapid.Bool().Draw(t, label) && rapid.Bool().Draw(t, label)
		}
		ref := func(label string) int {
			if rare(label + "NotIssued") {
				if rapid.Bool().Draw(t, label+"Zero") {
					return refZero
				}
				return refUnknown
			}
			return rapid.IntRange(0, 9).Draw(t, label)
		}
		// mostly draws a choice in [0, n): usually one of the first valid
		// ones, rarely (or, with often, half the time) one of the others.
		mostly := func(label string, valid, n int) int {
			if valid < n && rare(label+"Other") {
				return rapid.IntRange(valid, n-1).Draw(t, label)
			}
			return rapid.IntRange(0, valid-1).Draw(t, label)
		}
		often := func(label string, valid, n int) int {
			if rapid.Bool().Draw(t, label+"Other") {
				return rapid.IntRange(valid, n-1).Draw(t, label)
			}
			return rapid.IntRange(0, valid-1).Draw(t, label)
		}
		exp := func(o *op) {
			o.Exp = mostly("exp", expNow, numExpShapes)
			if o.Exp == expFuture {
				o.Mins = rapid.IntRange(1, 120).Draw(t, "ttl")
			}
		}
		keyName := func() int { return mostly("name", 4, len(keyNames)) }
		displayName := func() int { return mostly("name", 4, len(displayNames)) }
		// Uniform over weighted (SampledFrom favours its first elements);
		// shrinks to weighted[0].
		o := op{Kind: weighted[rapid.Uint64().Draw(t, "kind")%uint64(len(weighted))]}
		switch o.Kind {
		case opCreateAccount:
			o.Name = displayName()
		case opCreateWorkspace:
			o.Acct = ref("acct")
			o.Name = displayName()
		case opCreateCluster:
			o.WS = ref("ws")
			o.Name = mostly("name", 3, len(clusterNameChoices))
			o.Shape = mostly("type", 3, len(clusterTypes))
			o.Sub = mostly("sasl", 3, len(policies))
		case opSetSASL:
			o.Cl = ref("cluster")
			o.Sub = 1 + mostly("sasl", 2, len(policies)-1) // 0 is no policy
		case opDeleteCluster, opGetCluster:
			o.Cl = ref("cluster")
		case opCreateKey:
			o.Shape = mostly("grant", grantAppWithAccount, numGrantShapes)
			o.Name = keyName()
			exp(&o)
			switch o.Shape {
			case grantAccount, grantAccountWithWS:
				o.Acct = ref("acct")
			}
			switch o.Shape {
			case grantAgentCluster, grantAppResCluster:
				o.Cl = ref("cluster")
				o.Own = rapid.Bool().Draw(t, "own")
			}
			switch o.Shape {
			case grantAccount, grantAccountNoAcct:
			default:
				if !o.Own {
					o.WS = ref("ws")
				}
			}
			switch o.Shape {
			case grantAppWithAccount:
				o.Acct = ref("acct")
			}
		case opCreateAppKey:
			o.WS = ref("ws")
			o.Name = keyName()
			exp(&o)
		case opCreateAgentKey:
			o.Cl = ref("cluster")
			o.Own = rapid.Bool().Draw(t, "own")
			if !o.Own {
				o.WS = ref("ws")
			}
			o.Name = keyName()
			exp(&o)
		case opCreateAccountKey:
			o.Acct = ref("acct")
			o.Name = keyName()
			exp(&o)
		case opDeleteKey, opGetKey:
			o.Key = ref("key")
		case opGetAccount, opListWorkspaces:
			o.Acct = ref("acct")
		case opGetWorkspace, opListClusters:
			o.WS = ref("ws")
		case opListKeys:
			o.Shape = mostly("filter", filterNone, numFilterShapes)
			o.Sub = mostly("kind", 4, len(kindFilters))
			switch o.Shape {
			case filterAccount, filterTwo:
				o.Acct = ref("acct")
			}
			switch o.Shape {
			case filterWorkspace, filterTwo:
				o.WS = ref("ws")
			}
			if o.Shape == filterCluster {
				o.Cl = ref("cluster")
			}
		case opAuthenticate:
			o.Shape = often("secret", secretMadeUp, numSecretShapes)
			o.Key = ref("key")
		case opAuthorize:
			o.Shape = mostly("principal", princKindZero, numPrincShapes)
			o.Key = ref("key")
			o.Sub = mostly("target", targetNone, numTargetShapes)
			switch o.Sub {
			case targetAccount, targetTwo:
				o.Acct = ref("acct")
			}
			switch o.Sub {
			case targetCluster, targetTwo:
				o.Cl = ref("cluster")
			}
			if o.Sub == targetWorkspace {
				o.WS = ref("ws")
			}
		case opAuthorizeAgent:
			o.Shape = mostly("principal", princKindZero, numPrincShapes)
			o.Key = ref("key")
			o.Cl = ref("cluster")
		case opAdvanceClock:
			o.Mins = rapid.IntRange(1, 180).Draw(t, "minutes")
		}
		// Made-up ids and secrets of the op derive from this, not from
		// crypto/rand.
		o.Seed = rapid.Uint64().Draw(t, "seed")
		return o
	})
}

// GoString makes rapid print a failing sequence readably.
func (o op) GoString() string { return o.String() }

// String describes o: "account#2" is the account created (2 mod count)th,
// counting from 0; "account?" an id never issued, "account0" the zero id.
func (o op) String() string {
	var args []string
	add := func(format string, a ...any) { args = append(args, fmt.Sprintf(format, a...)) }
	ref := func(what string, n int) {
		switch n {
		case refZero:
			add("%s0", what)
		case refUnknown:
			add("%s?", what)
		default:
			add("%s#%d", what, n)
		}
	}
	exp := func() {
		switch o.Exp {
		case expNever:
		case expFuture:
			add("expires in %dm", o.Mins)
		default:
			add("expires %s", expNames[o.Exp])
		}
	}
	clusterWS := func() {
		if o.Own {
			add("its workspace")
		} else {
			ref("workspace", o.WS)
		}
	}
	switch o.Kind {
	case opCreateAccount:
		add("%q", displayNames[o.Name])
	case opCreateWorkspace:
		ref("account", o.Acct)
		add("%q", displayNames[o.Name])
	case opCreateCluster:
		ref("workspace", o.WS)
		add("%q", clusterNameChoices[o.Name])
		add("type %v", clusterTypes[o.Shape])
		if policies[o.Sub] == 0 {
			add("SASL default")
		} else {
			add("SASL %v", policies[o.Sub])
		}
	case opSetSASL:
		ref("cluster", o.Cl)
		add("%v", policies[o.Sub])
	case opDeleteCluster, opGetCluster:
		ref("cluster", o.Cl)
	case opCreateKey:
		add("grant %s", grantNames[o.Shape])
		switch o.Shape {
		case grantAccount, grantAccountWithWS, grantAppWithAccount:
			ref("account", o.Acct)
		}
		switch o.Shape {
		case grantAgentCluster, grantAppResCluster:
			ref("cluster", o.Cl)
			clusterWS()
		case grantAccount, grantAccountNoAcct:
		default:
			ref("workspace", o.WS)
		}
		add("%q", keyNames[o.Name])
		exp()
	case opCreateAppKey:
		ref("workspace", o.WS)
		add("%q", keyNames[o.Name])
		exp()
	case opCreateAgentKey:
		ref("cluster", o.Cl)
		clusterWS()
		add("%q", keyNames[o.Name])
		exp()
	case opCreateAccountKey:
		ref("account", o.Acct)
		add("%q", keyNames[o.Name])
		exp()
	case opDeleteKey, opGetKey:
		ref("key", o.Key)
	case opGetAccount, opListWorkspaces:
		ref("account", o.Acct)
	case opGetWorkspace, opListClusters:
		ref("workspace", o.WS)
	case opListKeys:
		switch o.Shape {
		case filterAccount:
			ref("account", o.Acct)
		case filterWorkspace:
			ref("workspace", o.WS)
		case filterCluster:
			ref("cluster", o.Cl)
		case filterNone:
			add("no scope")
		case filterTwo:
			ref("account", o.Acct)
			ref("workspace", o.WS)
		}
		add("kind %s", kindName(kindFilters[o.Sub]))
	case opAuthenticate:
		switch o.Shape {
		case secretMadeUp:
			add("a well-formed secret never issued")
		default:
			ref("secret of key", o.Key)
			if o.Shape != secretIssued {
				add("%s", secretNames[o.Shape])
			}
		}
	case opAuthorize, opAuthorizeAgent:
		switch o.Shape {
		case princAuthenticated:
			ref("secret of key", o.Key)
		case princOfKey:
			ref("principal of key", o.Key)
		case princKindZero:
			add("principal of no kind")
		}
		if o.Kind == opAuthorizeAgent {
			ref("cluster", o.Cl)
			break
		}
		switch o.Sub {
		case targetAccount:
			ref("account", o.Acct)
		case targetWorkspace:
			ref("workspace", o.WS)
		case targetCluster:
			ref("cluster", o.Cl)
		case targetNone:
			add("empty target")
		case targetTwo:
			ref("account", o.Acct)
			ref("cluster", o.Cl)
		}
	case opAdvanceClock:
		add("+%dm", o.Mins)
	}
	return opNames[o.Kind] + "(" + strings.Join(args, ", ") + ")"
}

// kindName names a kind filter: the zero Kind means any.
func kindName(k auth.Kind) string {
	if k == 0 {
		return "any"
	}
	return k.String()
}

var (
	expNames   = [numExpShapes]string{expNow: "now", expPast: "an hour ago", expTooLate: "in 2300"}
	grantNames = [numGrantShapes]string{
		grantApp:            "application",
		grantAgentCluster:   "agent of cluster",
		grantAgentAny:       "agent of *",
		grantAccount:        "account",
		grantAppWithAccount: "application with KeySpec.Account set",
		grantAgentAnyRes:    `agent with resource "*"`,
		grantAgentBadID:     "agent with a malformed cluster id",
		grantAccountWithWS:  "account with a workspace",
		grantAccountNoAcct:  "account without KeySpec.Account",
		grantAppResCluster:  "application naming a cluster",
		grantKindZero:       "of no principal kind",
		grantKindUnknown:    "of an unknown principal kind",
	}
	secretNames = [numSecretShapes]string{
		secretNearMiss:  "random part changed, checksum fixed",
		secretBadDigit:  "one digit changed",
		secretUpper:     "upper case",
		secretBadPrefix: "wrong prefix",
		secretTruncated: "truncated",
		secretEmpty:     "empty",
	}
)

// --- one backend's run ---

// step is the record of one operation: its results as plain values and its
// error reduced to the sentinels it matches.
type step struct {
	Op  string
	Out any
	Err string
}

// Records of results that hold a secret: the secret appears only as its
// issue number.
type (
	issuedRec struct {
		Key    auth.Key
		Secret string // "issued secret #n"
	}
	createdRec struct {
		Cluster  auth.Cluster
		AgentKey *issuedRec
	}
)

type run struct {
	t     *testing.T // for cryptotest.SetGlobalRandom
	rt    *rapid.T
	name  string
	open  func(dir string) (store.Store, error)
	seed  uint64
	ctx   context.Context
	dir   string
	st    store.Store
	e     *auth.Engine
	now   time.Time
	steps []step

	accts   []keys.AccountID
	wss     []keys.WorkspaceID
	cls     []auth.Cluster
	ks      []auth.Key // every issued key, in issue order
	secrets []keys.Secret
}

func newRun(t *testing.T, rt *rapid.T, name string, open func(string) (store.Store, error), seed uint64) *run {
	dir, err := os.MkdirTemp(t.TempDir(), name)
	if err != nil {
		rt.Fatal(err)
	}
	r := &run{t: t, rt: rt, name: name, open: open, seed: seed, ctx: context.Background(), dir: dir,
		now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	return r
}

// openEngine opens the store and an engine on it, then reseeds crypto/rand.
func (r *run) openEngine(step int) {
	st, err := r.open(r.dir)
	if err != nil {
		r.rt.Fatalf("%s: open: %v", r.name, err)
	}
	r.st = st
	e, err := auth.New(r.ctx, st, auth.Options{Now: func() time.Time { return r.now }})
	if err != nil {
		r.rt.Fatalf("%s: auth.New: %v", r.name, err)
	}
	r.e = e
	r.reseed(step)
}

// reopen closes the store and opens it and an engine again; on mem it only
// reseeds crypto/rand, as the durable backends do after their open.
func (r *run) reopen(step int) {
	if r.name == "mem" {
		r.reseed(step)
		return
	}
	st := r.st
	r.st = nil
	if err := st.Close(); err != nil {
		r.rt.Fatalf("%s: close: %v", r.name, err)
	}
	r.openEngine(step)
}

// reseed seeds crypto/rand from the run's seed and the step, after every
// open: a store's own draws at open (badger's) never shift what the engine
// draws afterwards, and every backend draws the same.
func (r *run) reseed(step int) {
	cryptotest.SetGlobalRandom(r.t, r.seed^uint64(step)*0x9e3779b97f4a7c15)
}

func (r *run) close() {
	if r.st != nil {
		if err := r.st.Close(); err != nil {
			r.rt.Errorf("%s: close: %v", r.name, err)
		}
		r.st = nil
	}
	os.RemoveAll(r.dir)
}

var sentinels = []struct {
	name string
	err  error
}{
	{"ErrNotFound", auth.ErrNotFound},
	{"ErrAlreadyExists", auth.ErrAlreadyExists},
	{"ErrInvalidArgument", auth.ErrInvalidArgument},
	{"ErrUnauthenticated", auth.ErrUnauthenticated},
	{"ErrPermissionDenied", auth.ErrPermissionDenied},
	{"ErrUnsupported", auth.ErrUnsupported},
}

func errClass(err error) string {
	if err == nil {
		return ""
	}
	var names []string
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			names = append(names, s.name)
		}
	}
	if names == nil {
		return "other: " + err.Error()
	}
	return strings.Join(names, "+")
}

// rec records a step. An error matching no sentinel fails the check at
// once: it is a store failure, which no operation here should meet.
func (r *run) rec(what string, out any, err error) {
	class := errClass(err)
	if strings.HasPrefix(class, "other: ") {
		r.rt.Fatalf("%s: %s: unexpected error: %v", r.name, what, err)
	}
	if err != nil {
		out = nil
	}
	r.steps = append(r.steps, step{Op: what, Out: out, Err: class})
}

// issue records a newly issued key and returns its record.
func (r *run) issue(k auth.IssuedKey) *issuedRec {
	r.ks = append(r.ks, k.Key)
	r.secrets = append(r.secrets, k.Secret)
	return &issuedRec{Key: k.Key, Secret: fmt.Sprintf("issued secret #%d", len(r.secrets)-1)}
}

// madeUp derives 16 nonzero bytes from a seed and a salt, for an id never
// issued (issued ids come from crypto/rand; a collision is 2^-122).
func madeUp(seed uint64, salt uint64) [keys.UUIDSize]byte {
	var b [keys.UUIDSize]byte
	g := rand.New(rand.NewPCG(seed, salt))
	binary.LittleEndian.PutUint64(b[:8], g.Uint64())
	binary.LittleEndian.PutUint64(b[8:], g.Uint64()|1)
	return b
}

func pick[T any](list []T, ref int, made func() T) T {
	var zero T
	switch {
	case ref == refZero:
		return zero
	case ref < 0 || len(list) == 0:
		return made()
	}
	return list[ref%len(list)]
}

func (r *run) acct(o op) keys.AccountID {
	return pick(r.accts, o.Acct, func() keys.AccountID { return keys.AccountIDFromArray(madeUp(o.Seed, 1)) })
}

func (r *run) ws(o op) keys.WorkspaceID {
	return pick(r.wss, o.WS, func() keys.WorkspaceID { return keys.WorkspaceIDFromArray(madeUp(o.Seed, 2)) })
}

func (r *run) cluster(o op) auth.Cluster {
	return pick(r.cls, o.Cl, func() auth.Cluster { return auth.Cluster{ID: keys.ClusterIDFromArray(madeUp(o.Seed, 3))} })
}

// keyRef returns the index of the issued key o names, or -1 for one never
// issued (and then the made-up or zero id).
func (r *run) keyRef(o op) (int, keys.KeyID) {
	switch {
	case o.Key == refZero:
		return -1, keys.KeyID{}
	case o.Key < 0 || len(r.ks) == 0:
		return -1, keys.KeyIDFromArray(madeUp(o.Seed, 4))
	}
	i := o.Key % len(r.ks)
	return i, r.ks[i].ID
}

// agentWS is the workspace of an agent grant naming cluster c: c's own, or
// the op's workspace reference.
func (r *run) agentWS(o op, c auth.Cluster) keys.WorkspaceID {
	if o.Own {
		return c.Workspace
	}
	return r.ws(o)
}

func (r *run) expiry(o op) time.Time {
	switch o.Exp {
	case expFuture:
		return r.now.Add(time.Duration(o.Mins) * time.Minute)
	case expNow:
		return r.now
	case expPast:
		return r.now.Add(-time.Hour)
	case expTooLate:
		return time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Time{}
}

func (r *run) exec(i int, o op) {
	ctx, e := r.ctx, r.e
	what := fmt.Sprintf("#%d %v", i, o)
	switch o.Kind {
	case opCreateAccount:
		a, err := e.CreateAccount(ctx, displayNames[o.Name])
		if err == nil {
			r.accts = append(r.accts, a.ID)
		}
		r.rec(what, a, err)
	case opCreateWorkspace:
		w, err := e.CreateWorkspace(ctx, r.acct(o), displayNames[o.Name])
		if err == nil {
			r.wss = append(r.wss, w.ID)
		}
		r.rec(what, w, err)
	case opCreateCluster:
		c, err := e.CreateCluster(ctx, r.ws(o), auth.ClusterSpec{Name: clusterNameChoices[o.Name], Type: clusterTypes[o.Shape], SASL: policies[o.Sub]})
		var out createdRec
		if err == nil {
			r.cls = append(r.cls, c.Cluster)
			out.Cluster = c.Cluster
			if c.AgentKey != nil {
				out.AgentKey = r.issue(*c.AgentKey)
			}
		}
		r.rec(what, out, err)
	case opSetSASL:
		c, err := e.SetClusterSASL(ctx, r.cluster(o).ID, policies[o.Sub])
		r.rec(what, c, err)
	case opDeleteCluster:
		r.rec(what, nil, e.DeleteCluster(ctx, r.cluster(o).ID))
	case opCreateKey:
		r.createKey(what, o)
	case opCreateAppKey:
		r.issued(what)(e.CreateApplicationKey(ctx, r.ws(o), keyNames[o.Name], r.expiry(o)))
	case opCreateAgentKey:
		c := r.cluster(o)
		r.issued(what)(e.CreateAgentKey(ctx, r.agentWS(o, c), c.ID, keyNames[o.Name], r.expiry(o)))
	case opCreateAccountKey:
		r.issued(what)(e.CreateAccountKey(ctx, r.acct(o), keyNames[o.Name], r.expiry(o)))
	case opDeleteKey:
		_, id := r.keyRef(o)
		r.rec(what, nil, e.DeleteKey(ctx, id))
	case opGetKey:
		_, id := r.keyRef(o)
		k, err := e.GetKey(ctx, id)
		r.rec(what, k, err)
	case opGetCluster:
		c, err := e.GetCluster(ctx, r.cluster(o).ID)
		r.rec(what, c, err)
	case opGetAccount:
		a, err := e.GetAccount(ctx, r.acct(o))
		r.rec(what, a, err)
	case opGetWorkspace:
		w, err := e.GetWorkspace(ctx, r.ws(o))
		r.rec(what, w, err)
	case opListKeys:
		var f auth.KeyFilter
		switch o.Shape {
		case filterAccount:
			f.Account = r.acct(o)
		case filterWorkspace:
			f.Workspace = r.ws(o)
		case filterCluster:
			f.Cluster = r.cluster(o).ID
		case filterTwo:
			f.Account, f.Workspace = r.acct(o), r.ws(o)
		}
		f.Kind = kindFilters[o.Sub]
		ks, err := e.ListKeys(ctx, f)
		r.rec(what, ks, err)
	case opListClusters:
		cs, err := e.ListClusters(ctx, r.ws(o))
		r.rec(what, cs, err)
	case opListAccounts:
		as, err := e.ListAccounts(ctx)
		r.rec(what, as, err)
	case opListWorkspaces:
		ws, err := e.ListWorkspaces(ctx, r.acct(o))
		r.rec(what, ws, err)
	case opAuthenticate:
		p, err := e.Authenticate(ctx, r.secretText(o))
		r.rec(what, p, err)
	case opAuthorize:
		var t auth.Target
		switch o.Sub {
		case targetAccount:
			t.Account = r.acct(o)
		case targetWorkspace:
			t.Workspace = r.ws(o)
		case targetCluster:
			t.Cluster = r.cluster(o).ID
		case targetTwo:
			t.Account, t.Cluster = r.acct(o), r.cluster(o).ID
		}
		if o.Shape == princAuthenticated {
			p, err := e.AuthenticateAPI(ctx, r.issuedSecret(o), t)
			r.rec(what, p, err)
			return
		}
		r.rec(what, nil, e.Authorize(ctx, r.principal(o), t))
	case opAuthorizeAgent:
		c := r.cluster(o).ID
		if o.Shape == princAuthenticated {
			p, err := e.AuthenticateAgent(ctx, r.issuedSecret(o), c)
			r.rec(what, p, err)
			return
		}
		r.rec(what, nil, e.AuthorizeAgent(ctx, r.principal(o), c))
	case opAdvanceClock:
		r.now = r.now.Add(time.Duration(o.Mins) * time.Minute)
		r.rec(what, r.now, nil)
	case opReopen:
		r.reopen(i + 1)
		r.rec(what, nil, nil)
	default:
		r.rt.Fatalf("unknown op %v", o)
	}
}

// issued returns a recorder for a call returning an IssuedKey.
func (r *run) issued(what string) func(auth.IssuedKey, error) {
	return func(k auth.IssuedKey, err error) {
		if err != nil {
			r.rec(what, nil, err)
			return
		}
		r.rec(what, *r.issue(k), nil)
	}
}

func (r *run) createKey(what string, o op) {
	spec := auth.KeySpec{Name: keyNames[o.Name], ExpiresAt: r.expiry(o)}
	app := auth.Grant{Principal: auth.KindApplication, Resource: auth.AnyResource, ResourceID: auth.AnyID}
	agent := auth.Grant{Principal: auth.KindAgent, Resource: auth.VirtualCluster, ResourceID: auth.AnyID}
	account := auth.Grant{Principal: auth.KindAccount, Resource: auth.AnyResource, ResourceID: auth.AnyID}
	switch o.Shape {
	case grantApp:
		spec.Grant = app
		spec.Grant.Workspace = r.ws(o)
	case grantAgentCluster:
		c := r.cluster(o)
		spec.Grant = agent
		spec.Grant.Workspace, spec.Grant.ResourceID = r.agentWS(o, c), c.ID.String()
	case grantAgentAny:
		spec.Grant = agent
		spec.Grant.Workspace = r.ws(o)
	case grantAccount:
		spec.Grant, spec.Account = account, r.acct(o)
	case grantAppWithAccount:
		spec.Grant, spec.Account = app, r.acct(o)
		spec.Grant.Workspace = r.ws(o)
	case grantAgentAnyRes:
		spec.Grant = agent
		spec.Grant.Workspace, spec.Grant.Resource = r.ws(o), auth.AnyResource
	case grantAgentBadID:
		spec.Grant = agent
		spec.Grant.Workspace, spec.Grant.ResourceID = r.ws(o), "vci_not_an_id"
	case grantAccountWithWS:
		spec.Grant, spec.Account = account, r.acct(o)
		spec.Grant.Workspace = r.ws(o)
	case grantAccountNoAcct:
		spec.Grant = account
	case grantAppResCluster:
		c := r.cluster(o)
		spec.Grant = app
		spec.Grant.Workspace, spec.Grant.ResourceID = r.agentWS(o, c), c.ID.String()
	case grantKindZero:
		spec.Grant = app
		spec.Grant.Workspace, spec.Grant.Principal = r.ws(o), 0
	case grantKindUnknown:
		spec.Grant = app
		spec.Grant.Workspace, spec.Grant.Principal = r.ws(o), 9
	}
	r.issued(what)(r.e.CreateKey(r.ctx, spec))
}

// issuedSecret returns the text of the issued secret o names, or a made-up
// one if none was issued.
func (r *run) issuedSecret(o op) string {
	i, _ := r.keyRef(o)
	if i < 0 {
		return madeUpSecret(o.Seed)
	}
	return r.secrets[i].Reveal()
}

// secretText returns the text opAuthenticate presents.
func (r *run) secretText(o op) string {
	s := r.issuedSecret(o)
	switch o.Shape {
	case secretMadeUp:
		return madeUpSecret(o.Seed)
	case secretNearMiss:
		raw, _ := hex.DecodeString(s[len(keys.SecretPrefix):])
		raw[o.Seed%28] ^= byte(o.Seed>>8) | 1
		return secretOf(raw[:28])
	case secretBadDigit:
		b := []byte(s)
		i := len(keys.SecretPrefix) + int(o.Seed%64)
		if b[i] == '0' {
			b[i] = '1'
		} else {
			b[i] = '0'
		}
		return string(b)
	case secretUpper:
		return strings.ToUpper(s)
	case secretBadPrefix:
		return "akx_" + s[len(keys.SecretPrefix):]
	case secretTruncated:
		return s[:len(s)-1]
	case secretEmpty:
		return ""
	}
	return s
}

// madeUpSecret returns a well-formed secret (right prefix, length, alphabet
// and checksum) derived from seed, never issued.
func madeUpSecret(seed uint64) string {
	g := rand.New(rand.NewPCG(seed, 5))
	var random [28]byte
	for i := range random {
		random[i] = byte(g.Uint32())
	}
	return secretOf(random[:])
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// secretOf returns the text of the secret with these 28 random bytes.
func secretOf(random []byte) string {
	b := binary.BigEndian.AppendUint32(append([]byte(nil), random...), crc32.Checksum(random, castagnoli))
	return keys.SecretPrefix + hex.EncodeToString(b)
}

// principal returns the principal op o presents to Authorize: the one the
// named issued key would authenticate as (whether or not it is still live),
// or one of no kind.
func (r *run) principal(o op) auth.Principal {
	i, id := r.keyRef(o)
	if o.Shape == princKindZero || i < 0 {
		return auth.Principal{Key: id, Account: r.acct(o)}
	}
	k := r.ks[i]
	p := auth.Principal{Key: k.ID, Kind: k.Grant.Principal, Account: k.Account, Workspace: k.Grant.Workspace, ExpiresAt: k.ExpiresAt}
	if p.Kind == auth.KindAgent {
		if k.Grant.ResourceID == auth.AnyID {
			p.AnyCluster = true
		} else {
			c, err := keys.ParseClusterID(k.Grant.ResourceID)
			if err != nil {
				r.rt.Fatalf("%s: issued agent key with resource id %q", r.name, k.Grant.ResourceID)
			}
			p.Cluster = c
		}
	}
	return p
}

// dump records, each step's op starting with label, the whole state as the
// API shows it: every account,
// workspace, cluster and key ever created (found or not), every listing,
// and what every issued secret authenticates as and may do.
func (r *run) dump(label string) {
	ctx, e := r.ctx, r.e
	as, err := e.ListAccounts(ctx)
	r.rec(label+" ListAccounts", as, err)
	for i, id := range r.accts {
		a, err := e.GetAccount(ctx, id)
		r.rec(fmt.Sprintf("%s GetAccount(account#%d)", label, i), a, err)
		ws, err := e.ListWorkspaces(ctx, id)
		r.rec(fmt.Sprintf("%s ListWorkspaces(account#%d)", label, i), ws, err)
		for _, k := range kindFilters[:4] {
			ks, err := e.ListKeys(ctx, auth.KeyFilter{Account: id, Kind: k})
			r.rec(fmt.Sprintf("%s ListKeys(account#%d, kind %s)", label, i, kindName(k)), ks, err)
		}
	}
	for i, id := range r.wss {
		w, err := e.GetWorkspace(ctx, id)
		r.rec(fmt.Sprintf("%s GetWorkspace(workspace#%d)", label, i), w, err)
		cs, err := e.ListClusters(ctx, id)
		r.rec(fmt.Sprintf("%s ListClusters(workspace#%d)", label, i), cs, err)
		for _, k := range kindFilters[:4] {
			ks, err := e.ListKeys(ctx, auth.KeyFilter{Workspace: id, Kind: k})
			r.rec(fmt.Sprintf("%s ListKeys(workspace#%d, kind %s)", label, i, kindName(k)), ks, err)
		}
	}
	for i, c := range r.cls {
		got, err := e.GetCluster(ctx, c.ID)
		r.rec(fmt.Sprintf("%s GetCluster(cluster#%d)", label, i), got, err)
		ks, err := e.ListKeys(ctx, auth.KeyFilter{Cluster: c.ID})
		r.rec(fmt.Sprintf("%s ListKeys(cluster#%d)", label, i), ks, err)
	}
	for i, k := range r.ks {
		got, err := e.GetKey(ctx, k.ID)
		r.rec(fmt.Sprintf("%s GetKey(key#%d)", label, i), got, err)
	}
	for i, s := range r.secrets {
		text := s.Reveal()
		p, err := e.Authenticate(ctx, text)
		r.rec(fmt.Sprintf("%s Authenticate(issued secret #%d)", label, i), p, err)
		if err != nil {
			continue
		}
		for j, id := range r.accts {
			r.rec(fmt.Sprintf("%s Authorize(issued secret #%d, account#%d)", label, i, j), nil, e.Authorize(ctx, p, auth.Target{Account: id}))
		}
		for j, id := range r.wss {
			r.rec(fmt.Sprintf("%s Authorize(issued secret #%d, workspace#%d)", label, i, j), nil, e.Authorize(ctx, p, auth.Target{Workspace: id}))
		}
		for j, c := range r.cls {
			r.rec(fmt.Sprintf("%s Authorize(issued secret #%d, cluster#%d)", label, i, j), nil, e.Authorize(ctx, p, auth.Target{Cluster: c.ID}))
			r.rec(fmt.Sprintf("%s AuthorizeAgent(issued secret #%d, cluster#%d)", label, i, j), nil, e.AuthorizeAgent(ctx, p, c.ID))
		}
	}
}
