// Package bench holds streamauth's benchmarks. It has no code of its own:
// everything is in its _test.go files, and go test ./bench without -bench
// runs nothing (and builds no fixture).
//
// # What is measured
//
// Each benchmark runs over every backend in the table in setup_test.go
// (today "mem", the memory store); a new backend is one more {name,
// constructor} entry there. The fixture is one account, one workspace and n
// application keys (n = 1k or 1M), created through the engine's public API
// (CreateApplicationKey, from GOMAXPROCS goroutines at once). Each fixture
// is built once per process and shared by every benchmark and every -count
// run that needs it; its build time is logged. The 1M fixture takes tens of
// seconds to build on a small machine.
//
//   - BenchmarkAuthenticate/<backend>/<n>/{hit,miss,malformed}:
//     Engine.Authenticate on one goroutine. hit cycles through the n issued
//     secrets in a fixed shuffled order; miss through 4096 well-formed
//     secrets never issued (parse, digest and one store read that finds
//     nothing); malformed through 4096 secrets the parser refuses before any
//     digest or store access, an even mix of wrong prefix, wrong checksum,
//     uppercase and truncated (their costs differ; the figure is the mean).
//     Every iteration checks its outcome (success for hit,
//     ErrUnauthenticated otherwise) without allocating.
//   - BenchmarkAuthenticateParallel/<backend>/<n>/hit: the same hit case
//     from GOMAXPROCS goroutines (vary with -cpu), to expose contention on
//     the store's read path.
//   - BenchmarkFloor/<n>: the floor Authenticate is compared against, the
//     least work any lookup of a secret must do: hex-decode the 64 digits
//     after "aks_" into a [32]byte on the stack, SHA-256 it, and look the
//     digest up in a plain Go map[[32]byte]int holding the same n keys (the
//     same secret strings as the hit case, in the same order). Everything
//     Authenticate adds to it (prefix and checksum check, a store interface
//     call with its context and lock, the record's checksum and checks, the
//     constant-time comparison of the full digest, building the Principal)
//     is the ratio BenchmarkAuthenticate/mem/<n>/hit ÷ BenchmarkFloor/<n>.
//   - BenchmarkMemoryPerKey/<backend>/1M: not a timed benchmark. It builds
//     a fresh fixture of 1M keys between two runtime.GC +
//     runtime.ReadMemStats and reports the live heap it added per key
//     (B/key), with the build's wall time (ns/key), bytes allocated
//     (alloc-B/key) and allocations (allocs/key) per key. ns/op is
//     suppressed; B/op and allocs/op are those of one whole build. Each run
//     builds 1M keys again, so -count=6 builds six more times.
//
// # Running
//
// From the module root:
//
//	go test ./bench -run='^$' -bench=. -benchmem -count=6 | tee new.txt
//	benchstat new.txt
//
// where benchstat is golang.org/x/perf/cmd/benchstat; without it installed,
// run it as go run golang.org/x/perf/cmd/benchstat@latest new.txt (never
// add golang.org/x/perf to go.mod). To compare with a baseline, save the baseline's output as
// old.txt the same way and run benchstat old.txt new.txt. Select a subset
// with -bench, for example -bench='Authenticate$/mem/1k' or
// -bench='Floor|Authenticate$/mem/1M/hit'; only the fixtures the selected
// benchmarks need are built. Figures from a machine shared with other work
// are noisy: compare runs made on the same quiet machine.
package bench
