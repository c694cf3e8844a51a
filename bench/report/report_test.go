package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// load parses testdata/raw.txt: a hand-made output of go test -bench
// holding a few benchmarks of the suite at GOMAXPROCS 2 (six runs of
// some, fewer of others), AuthenticateParallel and a cached
// AuthenticateCacheParallel at GOMAXPROCS 1 and 2, a custom metric, a
// sub-benchmark whose name ends in digits, stand-ins for the peer and
// Authorize benchmarks, a result line broken by a log line, the log of a
// "--- BENCH:" and a "--- FAIL:".
func load(t *testing.T) *results {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "raw.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := newResults()
	if err := r.parse(f); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestParse(t *testing.T) {
	r := load(t)
	if got, want := len(r.order), 18; got != want {
		t.Errorf("%d series, want %d: %v", got, want, r.order)
	}
	for _, c := range []struct {
		name  string
		procs int
		unit  string
		n     int
	}{
		{"BenchmarkAuthenticate/mem/1k/hit", 2, "ns/op", 6},
		{"BenchmarkAuthenticate/mem/1k/hit", 2, "allocs/op", 6},
		// The line a log line broke is skipped, not counted.
		{"BenchmarkAuthenticate/mem/1k/miss", 2, "ns/op", 6},
		{"BenchmarkAuthenticateParallel/mem/1k/hit", 1, "ns/op", 3},
		{"BenchmarkAuthenticateParallel/mem/1k/hit", 2, "ns/op", 3},
		{"BenchmarkDiskPerKey/pebble/1k", 2, "disk-B/key", 1},
		{"BenchmarkSCRAMServer/cp/SCRAM-SHA-256", 2, "B/op", 2},
		{"BenchmarkSCRAMServer/cp/SCRAM-SHA-512", 2, "server-ns/op", 2},
		{"BenchmarkPlainStorm", 2, "bound-MiB", 1},
		{"BenchmarkSnapshotExport", 2, "B/credential", 1},
	} {
		s := r.get(c.name, c.procs)
		if s == nil {
			t.Errorf("no series %s at GOMAXPROCS %d", c.name, c.procs)
			continue
		}
		if got := len(s.values[c.unit]); got != c.n {
			t.Errorf("%s-%d: %d values of %s, want %d", c.name, c.procs, got, c.unit, c.n)
		}
	}
	if s := r.get("BenchmarkDiskPerKey/pebble/1k", 2); s != nil && len(s.values["ns/op"]) != 0 {
		t.Errorf("DiskPerKey has ns/op %v; go test printed none", s.values["ns/op"])
	}
	if got := r.get("BenchmarkAuthenticate/mem/1k/hit", 2).values["ns/op"][1]; got != 230 {
		t.Errorf("second run of Authenticate/mem/1k/hit: %v ns/op, want 230", got)
	}
	if got := r.config["cpu"]; got != "Intel(R) Xeon(R) Processor" {
		t.Errorf("cpu = %q", got)
	}
	if got := strings.Join(r.configKeys, " "); got != "goos goarch pkg cpu" {
		t.Errorf("config keys = %q; the log lines must not count", got)
	}
	if len(r.failures) != 1 || r.failures[0] != "BenchmarkAuthenticate/badger/1k/hit" {
		t.Errorf("failures = %q", r.failures)
	}
}

func TestSplitProcs(t *testing.T) {
	for _, c := range []struct {
		in    string
		name  string
		procs int
	}{
		{"BenchmarkFloor/1k-2", "BenchmarkFloor/1k", 2},
		{"BenchmarkFloor/1k", "BenchmarkFloor/1k", 1},
		{"BenchmarkAuthenticateParallel/mem/1M/hit-16", "BenchmarkAuthenticateParallel/mem/1M/hit", 16},
		{"BenchmarkSCRAMServer/cp/SCRAM-SHA-256-2", "BenchmarkSCRAMServer/cp/SCRAM-SHA-256", 2},
		{"BenchmarkX/a-", "BenchmarkX/a-", 1},
		{"BenchmarkX/a-b", "BenchmarkX/a-b", 1},
		{"BenchmarkX/a-0", "BenchmarkX/a-0", 1},
		{"BenchmarkX/a-+3", "BenchmarkX/a-+3", 1},
	} {
		name, procs := splitProcs(c.in)
		if name != c.name || procs != c.procs {
			t.Errorf("splitProcs(%q) = %q, %d; want %q, %d", c.in, name, procs, c.name, c.procs)
		}
	}
}

func TestSummarize(t *testing.T) {
	for _, c := range []struct {
		vals   []float64
		median float64
		pct    float64 // NaN: not checked; Inf: no interval
	}{
		// 6 runs: the interval is the smallest to the largest value.
		{[]float64{220, 230, 221, 229, 224, 226}, 225, 5.0 / 225},
		// Fewer than 6: no interval, as benchstat's "± ∞".
		{[]float64{3, 1, 2, 5, 4}, 3, math.Inf(1)},
		{[]float64{7}, 7, math.Inf(1)},
		// Every value 0: 0%, as benchstat's "0.000 ± 0%".
		{[]float64{0, 0, 0, 0, 0, 0}, 0, 0},
		// 10 runs: the 2nd and 9th values bound the median.
		{[]float64{1, 10, 10, 10, 10, 10, 10, 10, 10, 100}, 10, 0},
	} {
		s := summarize(c.vals)
		if s.median != c.median {
			t.Errorf("median of %v = %v, want %v", c.vals, s.median, c.median)
		}
		if math.IsInf(c.pct, 1) != math.IsInf(s.pct, 1) || !math.IsInf(c.pct, 1) && math.Abs(s.pct-c.pct) > 1e-12 {
			t.Errorf("interval of %v = ±%v, want ±%v", c.vals, s.pct, c.pct)
		}
	}
}

// TestMedianCI pins the order statistics against those of
// github.com/aclements/go-moremath/stats.QuantileCI(n, 0.5, 0.95), which
// benchstat uses.
func TestMedianCI(t *testing.T) {
	for _, c := range []struct{ n, lo, hi int }{
		{1, 0, 2}, {2, 0, 3}, {5, 0, 5}, {6, 1, 6}, {7, 1, 7}, {8, 1, 7},
		{9, 2, 8}, {10, 2, 9}, {12, 3, 10}, {20, 6, 15}, {30, 10, 21},
	} {
		lo, hi := medianCI(c.n, 0.95)
		if lo != c.lo || hi != c.hi {
			t.Errorf("medianCI(%d) = [%d, %d], want [%d, %d]", c.n, lo, hi, c.lo, c.hi)
		}
	}
}

func outcomeOf(t *testing.T, r *results, what string) outcome {
	t.Helper()
	for _, tg := range targets() {
		if tg.what == what {
			return check(r, tg)
		}
	}
	t.Fatalf("no target %q", what)
	return outcome{}
}

func TestRatios(t *testing.T) {
	r := load(t)
	for _, c := range []struct {
		what  string
		value float64
		pass  bool
	}{
		// 51.5 ms ÷ 225 ns.
		{"Authenticate vs bcrypt (cost 10)", 51.5e6 / 225, true},
		{"authorization vs casbin's enforcer", 9050 / 8.6, true},
		{"memstore Authenticate vs the floor, 1k keys", 225.0 / 180, true},
		{"memstore Authenticate vs the floor, 100k keys", 401.0 / 200, false},
		// GOMAXPROCS 1 ÷ GOMAXPROCS 2.
		{"2 cores vs 1, memstore, 1k keys", 300.0 / 155, true},
		{"2 cores vs 1, pebble cached, 1k keys", 5000.0 / 4000, false},
		// A single figure: its median.
		{"Authenticate a valid key, memstore, 1k keys", 225, false},
		{"SCRAM-SHA-512, server side of an exchange", 7400, true},
		// A ratio of two custom units of one benchmark.
		{"memory held by 500 concurrent first PLAIN logins vs its bound", 90.0 / 192, true},
		// The largest allocs/op of any run.
		{"Authenticate allocates nothing (memstore, 1k keys, hit)", 0, true},
		{"Authorize allocates nothing (api)", 0, true},
		{"Authorize allocates nothing (agent)", 1, false},
	} {
		o := outcomeOf(t, r, c.what)
		if !o.measured {
			t.Errorf("%s: not measured (%s)", c.what, o.detail)
			continue
		}
		if math.Abs(o.value-c.value) > 1e-9*c.value || o.pass != c.pass {
			t.Errorf("%s = %v, pass %v; want %v, pass %v (%s)", c.what, o.value, o.pass, c.value, c.pass, o.detail)
		}
	}
}

func TestMissing(t *testing.T) {
	r := load(t)
	for what, missing := range map[string]string{
		"authorization vs casbin's cached enforcer":   "PeerCasbin/cached",
		"memstore Authenticate vs the floor, 1M keys": "Authenticate/mem/1M/hit",
		"2 cores vs 1, memstore, 100k keys":           "AuthenticateParallel/mem/100k/hit",
		"2 cores vs 1, badger cached, 1k keys":        "AuthenticateCacheParallel/badger/1k/hit/cached",
	} {
		o := outcomeOf(t, r, what)
		if o.measured || o.detail != "no "+missing {
			t.Errorf("%s: measured %v, detail %q; want not measured, %q", what, o.measured, o.detail, "no "+missing)
		}
	}

	// A scaling target with one GOMAXPROCS only names the missing one.
	r = newResults()
	if err := r.parse(strings.NewReader("BenchmarkAuthenticateParallel/mem/1k/hit-2 100 150 ns/op\n")); err != nil {
		t.Fatal(err)
	}
	o := outcomeOf(t, r, "2 cores vs 1, memstore, 1k keys")
	if want := "no AuthenticateParallel/mem/1k/hit (GOMAXPROCS 1)"; o.measured || o.detail != want {
		t.Errorf("measured %v, detail %q; want %q", o.measured, o.detail, want)
	}

	// An empty run: every target not measured, and a report all the same.
	r = newResults()
	var b strings.Builder
	if err := render(&b, r, meta{}); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Count(b.String(), "| not measured |"), len(targets()); got != want {
		t.Errorf("empty run: %d targets not measured, want %d:\n%s", got, want, b.String())
	}
}

// TestPickProcs: a ratio of two benchmarks reads both at the largest
// GOMAXPROCS they share.
func TestPickProcs(t *testing.T) {
	r := newResults()
	raw := `BenchmarkA 1 10 ns/op
BenchmarkA-2 1 6 ns/op
BenchmarkA-4 1 4 ns/op
BenchmarkB 1 1 ns/op
BenchmarkB-2 1 2 ns/op
BenchmarkC-8 1 2 ns/op
`
	if err := r.parse(strings.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		num, den   string
		wantN, wnD int
	}{
		{"BenchmarkA", "BenchmarkB", 2, 2},
		{"BenchmarkA", "BenchmarkC", 4, 8},
	} {
		np, dp, missing := pickProcs(r, ref{name: c.num}, ref{name: c.den})
		if missing != "" || np != c.wantN || dp != c.wnD {
			t.Errorf("pickProcs(%s, %s) = %d, %d, %q; want %d, %d", c.num, c.den, np, dp, missing, c.wantN, c.wnD)
		}
	}
}

func TestRender(t *testing.T) {
	r := load(t)
	var b strings.Builder
	m := meta{
		machine:  "2 cores, Intel(R) Xeon(R) Processor, go1.26.8 linux/amd64, 2026-01-02 03:04 UTC",
		commands: []string{"COUNT=6 bash bench/run.sh"},
	}
	if err := render(&b, r, m); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"Machine: 2 cores, Intel(R) Xeon(R) Processor, go1.26.8 linux/amd64, 2026-01-02 03:04 UTC.\n",
		"    COUNT=6 bash bench/run.sh\n",
		"## Failures\n\n- BenchmarkAuthenticate/badger/1k/hit\n",
		"## BenchmarkAuthenticate\n\nGOMAXPROCS 2.\n\n| sub-benchmark | n | ns/op | B/op | allocs/op |\n",
		"| mem/1k/hit | 6 | 225 ± 2% | 0 ± 0% | 0 ± 0% |\n",
		// Several GOMAXPROCS: a column, the runs of a sub-benchmark together.
		"| sub-benchmark | GOMAXPROCS | n | ns/op | B/op | allocs/op |\n|---|---:|---:|---:|---:|---:|\n" +
			"| mem/1k/hit | 1 | 3 | 300 ± ∞ | 0 ± ∞ | 0 ± ∞ |\n| mem/1k/hit | 2 | 3 | 155 ± ∞ | 0 ± ∞ | 0 ± ∞ |\n",
		// A custom unit gets its own column; no ns/op column where none was reported.
		"| sub-benchmark | n | B/op | allocs/op | disk-B/key |\n",
		"| pebble/1k | 1 | 0 ± ∞ | 0 ± ∞ | 175.6 ± ∞ |\n",
		"| cp/SCRAM-SHA-256 | 2 | 5,000 ± ∞ | 2,304 ± ∞ | 39 ± ∞ | – |\n",
		"| SnapshotExport | 1 | 341,000,000 ± ∞ | 120,000,000 ± ∞ | 1,000 ± ∞ | 456 ± ∞ |\n",
		"## Targets\n",
		"| against the peers | Authenticate vs bcrypt (cost 10) | PeerBcrypt/cost10 ÷ Authenticate/mem/1k/hit | 228,889× | ≥ 100,000× | pass | 51.5 ms ÷ 225 ns |\n",
		"| core engine | memstore Authenticate vs the floor, 100k keys | Authenticate/mem/100k/hit ÷ Floor/100k | 2.00× | ≤ 1.3× | **FAIL** | 401 ns ÷ 200 ns |\n",
		"| core engine | Authenticate a valid key, memstore, 1k keys | Authenticate/mem/1k/hit | 225 ns | ≤ 200 ns | **FAIL** | median of 6 runs at GOMAXPROCS 2 |\n",
		"| SASL | SCRAM-SHA-512, server side of an exchange | SCRAMServer/cp/SCRAM-SHA-512 server-ns/op | 7.40 µs | ≤ 10.0 µs | pass | median of 2 runs at GOMAXPROCS 2 |\n",
		"| SASL | memory held by 500 concurrent first PLAIN logins vs its bound | PlainStorm peak-MiB ÷ PlainStorm bound-MiB | 0.47× | ≤ 1× | pass | 90 MiB ÷ 192 MiB |\n",
		"| two cores against one | 2 cores vs 1, memstore, 1M keys | AuthenticateParallel/mem/1M/hit: GOMAXPROCS 1 ÷ GOMAXPROCS 2 | – | ≥ 1.8× | not measured | no AuthenticateParallel/mem/1M/hit |\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	// The families in the order the run met them.
	var got []string
	for _, line := range strings.Split(out, "\n") {
		if h, ok := strings.CutPrefix(line, "## Benchmark"); ok {
			got = append(got, h)
		}
	}
	want := "Authenticate Floor AuthenticateParallel AuthenticateCacheParallel DiskPerKey SCRAMServer PlainStorm PeerBcrypt PeerCasbin Authorize SnapshotExport"
	if strings.Join(got, " ") != want {
		t.Errorf("families %q, want %q", strings.Join(got, " "), want)
	}
}

func TestFormat(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{
		{0, "0"}, {229.04, "229.0"}, {31.55, "31.55"}, {1.2345, "1.234"}, {0.5, "0.5"},
		{0.99999, "1"}, {225, "225"}, {5736.4, "5,736"}, {52_000_000, "52,000,000"}, {-1234, "-1,234"},
	} {
		if got := formatNum(c.v); got != c.want {
			t.Errorf("formatNum(%v) = %q, want %q", c.v, got, c.want)
		}
	}
	for _, c := range []struct {
		v    float64
		want string
	}{{228888.9, "228,889"}, {1.25, "1.25"}, {2, "2"}, {0, "0"}} {
		if got := formatRatio(c.v); got != c.want {
			t.Errorf("formatRatio(%v) = %q, want %q", c.v, got, c.want)
		}
	}
	for _, c := range []struct {
		v    float64
		want string
	}{{225, "225 ns"}, {5736, "5.74 µs"}, {51.5e6, "51.5 ms"}, {1.2e9, "1.20 s"}} {
		if got := formatNs(c.v); got != c.want {
			t.Errorf("formatNs(%v) = %q, want %q", c.v, got, c.want)
		}
	}
}
