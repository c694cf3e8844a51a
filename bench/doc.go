// Package bench holds streamauth's benchmarks. It has no code of its own:
// everything is in its _test.go files, and go test without -bench runs
// nothing (and builds no fixture).
//
// It is a Go module of its own, github.com/streamauth/streamauth/bench
// (bench/go.mod, which replaces the library with the parent directory), so
// that the dependencies only benchmarks need, the peers of the "Peers"
// section among them, never appear in the library's go.mod. Run go test
// from inside bench/; the root module's go test ./... does not cover it.
// Being under the library's path, it may import the library's internal
// packages, as it does internal/record.
//
// # Fixtures
//
// The benchmarks run over every backend in the table in setup_test.go:
// "mem" (memstore), "pebble" (pebblestore) and "badger" (badgerstore); a new
// backend is one more entry there. A fixture is one account, one workspace
// and n application keys (n = 1k, 100k or 1M: the sizes of setup_test.go),
// created through the engine's public API (CreateApplicationKey, from
// several goroutines at once). Each fixture is built once per process, on
// first use, and shared by every benchmark and every -count run that needs
// it; its build time is logged.
//
// A durable fixture lives in a directory under
// $TMPDIR/streamauth-bench-<pid>-* (set TMPDIR to benchmark another disk),
// which TestMain removes when the benchmarks end, or on an interrupt or
// SIGTERM (a process killed by SIGKILL or by -timeout's panic leaves it
// behind: check that process <pid> is gone before removing it). It is
// built with unsynced commits (NoSync; with synced commits 1M keys would
// take about 20 minutes), from 4×GOMAXPROCS goroutines since the store
// serializes commits; then closed, reopened with the backend's default
// options (synced commits), left until its directory has not changed for
// 2 seconds (the compactions the bulk load left behind are done), closed
// and measured (BenchmarkDiskPerKey), and reopened with the default options
// again: that is the store the read benchmarks use. On the 2-core machine
// of the README, with other work running, a 1M fixture takes about 15 s on
// mem and about a minute on pebble and on badger (plus a few seconds to
// settle); 100k about 3 s on mem and 10 s on pebble (plus 3 s to settle);
// 1k milliseconds.
//
// # Engine variants
//
// Every engine a benchmark runs gets its options from engineOptions in
// setup_test.go, by variant:
//
//   - default: the zero auth.Options, what an application gets without
//     configuring anything: over pebble and badger a cache of 65536
//     principals and the index of digest prefixes; over mem a cache of
//     every key and no index (the memory store declares itself held in
//     memory). It is warmed by authenticating every key once before the
//     first timed run, so that it is measured in its steady state;
//   - cached: a read cache large enough for every key of the fixture
//     (CacheSize: n), warmed by authenticating every key once before the
//     first timed run, and the index;
//   - uncached: no cache and no index (CacheSize: -1, NoIndex: true), so
//     that every Authenticate of a well-formed secret reads the store.
//
// # What is measured
//
//   - BenchmarkAuthenticate/<backend>/<n>/{hit,miss,malformed}:
//     Engine.Authenticate with the default options on one goroutine. These
//     names are those of earlier runs, which stay comparable with
//     benchstat. hit cycles through the n issued secrets in a fixed
//     shuffled order; miss through 4096 well-formed secrets never issued
//     (parse, digest and, without an index, one store read that finds
//     nothing); malformed through 4096 secrets the parser refuses before
//     any digest or store access, an even mix of wrong prefix, wrong
//     checksum, uppercase and truncated (their costs differ; the figure is
//     the mean). Every iteration checks its outcome (success for hit,
//     ErrUnauthenticated otherwise) without allocating.
//   - BenchmarkAuthenticateCache/<backend>/<n>/<case>/{cached,uncached}:
//     the same cases with the cached and the uncached engine. The variant
//     is the last level so that the two figures of a case sit next to each
//     other; it is a benchmark of its own because a sub-benchmark that has
//     sub-benchmarks reports no figure, so BenchmarkAuthenticate/.../hit
//     could not both keep its figure and gain /cached and /uncached.
//   - BenchmarkStoreGet/<backend>/<n>: store.Get of the hot records the
//     hit case reads (the keys record.HashKey gives for the secrets'
//     digests, in the same order), nothing else. The engine's overhead over
//     its store is BenchmarkAuthenticateCache/<backend>/<n>/hit/uncached ÷
//     BenchmarkStoreGet/<backend>/<n> (the target: at most 1.5).
//   - BenchmarkAuthenticateParallel/<backend>/<n>/{hit,miss,malformed}:
//     the cases of BenchmarkAuthenticate with the default options from
//     GOMAXPROCS goroutines (each an equal share of b.N, not b.RunParallel,
//     whose per-goroutine counters may share a cache line: see parallel in
//     authenticate_test.go; vary with -cpu, which run.sh sets to 1,2), to
//     expose contention on the engine's and the store's
//     read paths. ns/op is wall time per Authenticate of all the goroutines
//     together, so the figure at -cpu=1 divided by the one at -cpu=2 (go
//     test names them .../hit and .../hit-2) is the throughput two cores
//     give over one: the target is at least 1.8 on the memory path.
//   - BenchmarkAuthenticateCacheParallel/<backend>/<n>/<case>/{cached,uncached}:
//     BenchmarkAuthenticateCache from GOMAXPROCS goroutines, likewise; the
//     cached hit over pebble and badger has the same 1.8 target.
//   - BenchmarkPlain/{cp,agent}/{remembered,first}, BenchmarkSCRAM/<mechanism>,
//     BenchmarkSCRAMServer/{cp,agent}/<mechanism> (the same exchange with a
//     hand-built client of one HMAC; its server-ns/op leaves out the time
//     spent in the client's code, so that it is the server's side alone;
//     cp is the control plane's engine, agent an offline agent that
//     applied the cluster's snapshot),
//     BenchmarkSnapshotExport and BenchmarkSnapshotApply/<backend> (100k
//     credentials; <backend> also badger-memtable32, badger with 32 MiB
//     memtables), BenchmarkSnapshotApplyFloor/<backend> (the same
//     records written straight to the store, in the agent's commit sizes:
//     the backend's own share of an apply) and
//     BenchmarkPlainStorm: SASL logins through the engine over a memory
//     store (see sasl_test.go): a remembered PLAIN login, a first one (one
//     argon2id run of the default parameters), a whole SCRAM exchange with
//     xdg-go/scram's client (whose share is included), and the peak memory
//     of 500 concurrent first logins against the engine's bound.
//   - BenchmarkFloor/<n>: the floor Authenticate is compared against, the
//     least work any lookup of a secret must do: hex-decode the 64 digits
//     after "aks_" into a [32]byte on the stack, SHA-256 it, and look the
//     digest up in a plain Go map[[32]byte]int holding the same n keys (the
//     same secret strings as mem's hit case, in the same order). Everything
//     Authenticate adds to it (prefix and checksum check, a store interface
//     call with its context (memstore's Get takes no lock), the record's
//     checksum and checks, the constant-time comparison of the full
//     digest, building the Principal)
//     is the ratio BenchmarkAuthenticate/mem/<n>/hit ÷ BenchmarkFloor/<n>
//     (the target: at most 1.3), for each size.
//   - BenchmarkAuthorize/{api,agent}: our authorization decisions, over
//     the authorization fixture (authorize_test.go): a memory store with
//     one account of 40 workspaces, each with 2 BYOC clusters (and their 2
//     agent keys) and 18 application keys, built through the engine's API,
//     default options. api is Engine.Authorize of an application key's
//     Principal on a Target of a cluster of its own workspace; agent is
//     Engine.AuthorizeAgent of a cluster's agent key on that cluster.
//     Both need the cluster's scope (account, workspace, type), which the
//     engine reads from the store once and then remembers until a write
//     of the cluster record (see auth's clusterScopes). Both cycle
//     through 16 allowed questions, about 16 workspaces spread evenly over
//     the 40, by a different key each; the principals come from
//     Authenticate before the timer. A whole API call is Authenticate
//     plus this.
//   - BenchmarkPeerCasbin/{enforcer,cached}: the question of
//     BenchmarkAuthorize/api asked of casbin (see Peers), over the same
//     fixture written as a casbin policy, the same 16 questions in the
//     same order. enforcer evaluates the model's matcher against the
//     policy lines in order at every call, up to the first that allows
//     (hence questions spread over all the workspaces, not the first
//     few); cached answers from CachedEnforcer's cache, which every
//     question is in after one round before the timer: the best case of a
//     cache. Both are given the decision's inputs as strings, where ours
//     is given a Principal and a Target and looks the cluster's scope up.
//   - BenchmarkPeerBcrypt/cost10 and BenchmarkPeerPBKDF2/django: the key
//     check of API-key schemes that store a slow hash of each key (see
//     Peers), to compare with BenchmarkAuthenticate/mem/1k/hit. The peer
//     is handed the stored hash of the presented key (its lookup by key id
//     is not timed) and only checks the secret against it; ours does the
//     whole lookup. The secrets are ours (68 characters); each benchmark
//     cycles through 4 keys.
//   - BenchmarkPeerSCRAM/xdg/<mechanism>: github.com/xdg-go/scram's server
//     side of one whole exchange, next to ours in BenchmarkSCRAMServer/cp/
//     <mechanism>: the same hand-built client, the same credential (ours,
//     so the same salt and 4096 iterations, checked before the timer), the
//     same store reads (login entry and credential record at client-first,
//     decoded with our decoder, and the credential record again after the
//     proof, as ours does to refuse an exchange that outlived a delete).
//     xdg's server is built once, as its documentation advises; ours makes
//     its server in StartSCRAM, inside the timer.
//   - BenchmarkCommitSynced/{pebble,badger}: one CreateApplicationKey (one
//     guarded Commit) per iteration on a new store opened with the default
//     options, which sync every Commit: the latency of a durable write
//     through the engine, as ns/op. It depends mostly on the disk's fsync.
//   - BenchmarkOpen/{pebble,badger}/{100k,1M}: open an existing store of n
//     keys with the default options, build an engine over it (auth.New with
//     the default options, which builds the index once there is one), and
//     close it, per iteration. The files are in the page cache: this is a
//     warm open.
//   - BenchmarkDiskPerKey/{pebble,badger}/{1k,100k,1M}: not a timed benchmark.
//     The size of the fixture's directory (the sum of its files' sizes)
//     once built, settled and closed, per key: disk-B/key. The 1k figure is
//     mostly the backend's fixed files.
//   - BenchmarkMemoryPerKey/mem/1M: not a timed benchmark. It builds a
//     fresh memory-store fixture of 1M keys between two runtime.GC +
//     runtime.ReadMemStats and reports the live heap it added per key
//     (B/key), with the build's wall time (ns/key), bytes allocated
//     (alloc-B/key) and allocations (allocs/key) per key. ns/op is
//     suppressed; B/op and allocs/op are those of one whole build. Each run
//     builds 1M keys again, so -count=6 builds six more times. The durable
//     backends are left out: their heap is caches and write buffers bounded
//     by their options, not a cost per key (BenchmarkDiskPerKey is).
//   - BenchmarkEngineMemoryPerKey/1M: not a timed benchmark. Over the
//     memory store's 1M fixture, the live heap a new cached engine holds
//     per key after auth.New (index-B/key: the index of digest prefixes)
//     and after authenticating every key once (cache-B/key: the read
//     cache). Both are about 0 until the cache and the index exist.
//
// # Peers
//
// What the peer benchmarks compare against, with which parameters, and the
// ratios the project holds itself to (the peer's ns/op ÷ ours, from the
// benchmark names below, which are kept stable for that reason):
//
//   - bcrypt per key: golang.org/x/crypto/bcrypt (the version
//     bench/go.mod requires), cost 10 (bcrypt.DefaultCost),
//     CompareHashAndPassword of the secret against its key's stored
//     hash. Target: BenchmarkPeerBcrypt/cost10 ÷
//     BenchmarkAuthenticate/mem/1k/hit ≥ 100,000.
//   - djangorestframework-api-key before 3.0: Django's
//     PBKDF2PasswordHasher, which it used until its 3.0.0 (2023), as
//     PBKDF2-HMAC-SHA256 from the standard library, 150,000 iterations
//     (Django 2.2's count; peers_test.go says why), a 12-character salt
//     and 32 bytes compared with crypto/subtle. No target of its own: it
//     shows the other common slow hash at bcrypt's order of cost.
//   - casbin: github.com/casbin/casbin/v2 v2.135.0, RBAC with domains
//     (r = sub, dom, obj, act; p = sub, dom, obj, act; g = _, _, _;
//     matcher g(r.sub, p.sub, r.dom) && r.dom == p.dom &&
//     keyMatch(r.obj, p.obj) && r.act == p.act), 240 p lines (per
//     workspace: the application role may read and write the workspace and
//     /workspaces/<id>/clusters/*; each cluster's agent role may act as its
//     agent) and 800 g lines (each key's role in its workspace), 1,040 in
//     all, added in memory with AddPolicies and AddGroupingPolicies, no
//     adapter. Targets: BenchmarkPeerCasbin/enforcer ÷
//     BenchmarkAuthorize/api ≥ 1,000, BenchmarkPeerCasbin/cached ÷
//     BenchmarkAuthorize/api > 1, and BenchmarkAuthorize/{api,agent} at
//     0 allocs/op.
//   - SCRAM: github.com/xdg-go/scram v1.4.0's server (the same module the
//     SASL benchmarks use as a client), SCRAM-SHA-256 and SCRAM-SHA-512 at
//     the iteration count of our credentials (4096). No target is set:
//     it is there to read our server's figure against a widely used one.
//
// # Running
//
// bench/run.sh runs the suite, summarizes it with benchstat and writes the
// report; see its comments. It runs, from bench/, two go test processes:
// every selected benchmark but the parallel ones (whose names end in
// Parallel) at go test's default GOMAXPROCS, then the selected parallel
// ones with -cpu=1,2, with -benchmem and -count=6 (COUNT; benchstat needs 6
// runs for a confidence interval). Its knobs are the environment variables
// BENCH (the -bench pattern), COUNT, BENCHTIME, TIMEOUT and CPUS (the
// parallel benchmarks' -cpu). It keeps the raw output in bench/last.txt
// (ignored by git), prints benchstat's summary, and writes bench/results.md
// with bench/report: the machine (cores, CPU model, Go version, date) and
// the exact commands at the top; one table per benchmark (its
// sub-benchmarks as rows, ns/op, B/op, allocs/op and any other unit it
// reports as columns, each the median of the runs ± the 95% confidence
// interval of the median as benchstat computes it, a GOMAXPROCS column
// where it ran at several); then the targets the project commits to, each
// with its measured value, goal and pass or FAIL. bench/report/targets.go
// lists them, by area:
//
//   - core engine: Authenticate/mem/1k/hit ≤ 200 ns with 0 allocs/op;
//     Authenticate/mem/<n>/hit ÷ Floor/<n> ≤ 1.3 for each n; a malformed
//     secret ≤ 50 ns; MemoryPerKey/mem/1M ≤ 400 B/key;
//   - durable backends, at 1M keys: AuthenticateCache/<backend>/1M/hit/cached
//     ÷ Authenticate/mem/1M/hit ≤ 1.3; AuthenticateCache/<backend>/1M/hit/
//     uncached ÷ StoreGet/<backend>/1M ≤ 1.5; Authenticate/<backend>/1M/miss
//     ≤ 500 ns on every backend; Open/<backend>/1M ≤ 1 s;
//   - SASL: SCRAMServer/cp/SCRAM-SHA-512 server-ns/op ≤ 10 µs;
//     Plain/cp/remembered ≤ 2 µs; PlainStorm peak-MiB ≤ its bound-MiB;
//   - offline agents: SnapshotExport and SnapshotApply/{mem,pebble,
//     badger-memtable32} ≤ 1 s; the agent's remembered PLAIN and agent-key
//     checks ≤ 1.1× the control plane's;
//   - against the peers: PeerBcrypt/cost10 ÷ Authenticate/mem/1k/hit ≥
//     100,000; PeerCasbin/enforcer ÷ Authorize/api ≥ 1,000,
//     PeerCasbin/cached ÷ Authorize/api > 1, and 0 allocs/op in every run
//     of Authorize/api and Authorize/agent;
//   - two cores against one: for each n, AuthenticateParallel/mem/<n>/hit
//     and AuthenticateCacheParallel/{pebble,badger}/<n>/hit/cached: ns/op
//     at GOMAXPROCS 1 ÷ ns/op at GOMAXPROCS 2 ≥ 1.8.
//
// A run of the whole suite (BENCH unset) also writes a summary into the
// README's performance section, between its two marker lines: the
// Authenticate figures of every backend and size, the other main figures,
// and the targets table.
//
// A ratio divides the medians of its two figures (ns/op unless the target
// names another unit); a single figure is its median, except allocs/op,
// the largest of every run. The two sides of a ratio that names no
// GOMAXPROCS are read at the largest GOMAXPROCS both ran at. A target
// whose benchmarks the run did not select is "not measured". The report
// reads go test's raw output itself, not benchstat's, and uses the
// standard library only; to report on a raw output by hand, from bench/:
//
//	go run ./report -o results.md last.txt
//
// bench/results.md is committed by whoever runs the full suite, on a quiet
// machine; a run of a subset or at a lower COUNT is for looking, not for
// committing.
//
// By hand, from the bench directory (a module of its own):
//
//	go test -run='^$' -bench=. -skip='Parallel$' -benchmem -count=6 -benchtime=0.5s -timeout=180m | tee new.txt
//	go test -run='^$' -bench='Parallel$' -cpu=1,2 -benchmem -count=6 -benchtime=0.5s -timeout=180m | tee -a new.txt
//	benchstat new.txt
//
// where benchstat is golang.org/x/perf/cmd/benchstat; without it installed,
// run it as go run golang.org/x/perf/cmd/benchstat@latest new.txt (never
// add golang.org/x/perf to either go.mod). To compare with a baseline, save the
// baseline's output as old.txt the same way and run benchstat old.txt
// new.txt. Select a subset with -bench, whose pattern is matched level by
// level (split at each / outside parentheses; a | outside parentheses
// separates whole patterns): -bench='Authenticate$/mem/1k' runs one
// backend and size of one benchmark, -bench='/pebble' the pebble
// sub-benchmarks of every benchmark that has a backend level,
// -bench='/(mem|badger)/1k' two backends at 1k, and
// -bench='Floor|Authenticate$/mem/1M/hit' a comparison (every size of the
// floor, one case of Authenticate). Only the fixtures the selected
// benchmarks need are built. Figures from a machine shared with other work
// are noisy: compare runs made on the same quiet machine.
//
// Before the 100k size and the parallel miss, malformed and cached cases,
// the full suite at -count=1 took 13 minutes on a 2-core machine shared
// with other work: about 3 to build the fixtures (each is built once per
// process, whatever -count) and 9 to run the benchmarks, which each further
// -count adds again (a new 1M memory-store build for BenchmarkMemoryPerKey
// included). The matrix now has about twice as many timed benchmarks, the
// parallel ones at two GOMAXPROCS, and run.sh's second process builds its
// fixtures again. At run.sh's defaults (-count=6, -benchtime=0.5s) the
// whole suite took 80 minutes on a quiet 2-core Intel Xeon (60 for the
// first process, 20 for the parallel one) and 2 hours on a 2-core AMD EPYC
// (44 and 72). The peer benchmarks, among them, take
// about 20 s per -count (bcrypt and PBKDF2 cost tens of milliseconds per
// iteration).
//
// The fixtures of every backend selected share one process, and so one Go
// heap: a benchmark that allocates (the durable backends' Gets do) pays
// for garbage collections that mark every fixture built so far (the
// memory store's 1M keys and the secrets of each 1M fixture are the bulk
// of it). To see a backend's figures without the others' heap, select it
// alone (BENCH='/pebble').
package bench
