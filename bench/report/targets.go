package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// The fixture sizes the per-size targets are checked at: those of sizes in
// bench/setup_test.go.
var targetSizes = []string{"1k", "100k", "1M"}

// The benchmarks of other projects' equivalents, and of authorization, the
// targets compare with. They live outside this directory's benchmarks of
// Authenticate; a run without them lists their targets as not measured.
const (
	peerBcrypt     = "BenchmarkPeerBcrypt/cost10"
	peerCasbin     = "BenchmarkPeerCasbin/enforcer"
	peerCasbinMemo = "BenchmarkPeerCasbin/cached"
	authorizeAPI   = "BenchmarkAuthorize/api"
	authorizeAgent = "BenchmarkAuthorize/agent"
)

// ref is one benchmark a target reads: its full name without the
// GOMAXPROCS suffix, and the GOMAXPROCS it must have run at (0: any; see
// pickProcs).
type ref struct {
	name  string
	procs int
}

func (r ref) String() string {
	s := strings.TrimPrefix(r.name, "Benchmark")
	if r.procs != 0 {
		s += fmt.Sprintf(" (GOMAXPROCS %d)", r.procs)
	}
	return s
}

// goal is how a measured figure is judged.
type goal struct {
	op    string // "≥", ">", "≤" or "="
	value float64
	unit  string // appended to the value when shown: "×" for a ratio
}

func (g goal) String() string {
	v := formatRatio(g.value)
	if g.value < 100 {
		v = strconv.FormatFloat(g.value, 'f', -1, 64)
	}
	return g.op + " " + v + g.unit
}

func (g goal) met(v float64) bool {
	switch g.op {
	case "≥":
		return v >= g.value
	case ">":
		return v > g.value
	case "≤":
		return v <= g.value
	case "=":
		return v == g.value
	}
	panic("unknown goal " + g.op)
}

// target is one figure the project commits to: either the ratio num ÷ den
// of two benchmarks' ns/op, or (den.name == "") the allocs/op of num at
// every GOMAXPROCS it ran at.
type target struct {
	what     string
	num, den ref
	goal     goal
}

// targets returns every target the project commits to, in the order of
// the report.
func targets() []target {
	ts := []target{
		{
			what: "Authenticate vs bcrypt (cost 10)",
			num:  ref{name: peerBcrypt}, den: ref{name: "BenchmarkAuthenticate/mem/1k/hit"},
			goal: goal{"≥", 100_000, "×"},
		},
		{
			what: "authorization vs casbin's enforcer",
			num:  ref{name: peerCasbin}, den: ref{name: authorizeAPI},
			goal: goal{"≥", 1_000, "×"},
		},
		{
			what: "authorization vs casbin's cached enforcer",
			num:  ref{name: peerCasbinMemo}, den: ref{name: authorizeAPI},
			goal: goal{">", 1, "×"},
		},
		{what: "Authorize allocates nothing (api)", num: ref{name: authorizeAPI}, goal: goal{"=", 0, " allocs/op"}},
		{what: "Authorize allocates nothing (agent)", num: ref{name: authorizeAgent}, goal: goal{"=", 0, " allocs/op"}},
	}
	for _, n := range targetSizes {
		ts = append(ts, target{
			what: fmt.Sprintf("memstore Authenticate vs the floor, %s keys", n),
			num:  ref{name: "BenchmarkAuthenticate/mem/" + n + "/hit"},
			den:  ref{name: "BenchmarkFloor/" + n},
			goal: goal{"≤", 1.3, "×"},
		})
	}
	scaling := func(what, name string) target {
		return target{
			what: what,
			num:  ref{name: name, procs: 1}, den: ref{name: name, procs: 2},
			goal: goal{"≥", 1.8, "×"},
		}
	}
	for _, n := range targetSizes {
		ts = append(ts, scaling(
			fmt.Sprintf("2 cores vs 1, memstore, %s keys", n),
			"BenchmarkAuthenticateParallel/mem/"+n+"/hit"))
	}
	for _, be := range []string{"pebble", "badger"} {
		for _, n := range targetSizes {
			ts = append(ts, scaling(
				fmt.Sprintf("2 cores vs 1, %s cached, %s keys", be, n),
				"BenchmarkAuthenticateCacheParallel/"+be+"/"+n+"/hit/cached"))
		}
	}
	return ts
}

// outcome is a target checked against a run.
type outcome struct {
	target
	measured bool
	value    float64 // the ratio, or the largest allocs/op
	pass     bool
	detail   string // the figures the value comes from, or what is missing
}

// formula returns how t is computed, in benchmark names.
func (t target) formula() string {
	if t.den.name == "" {
		return t.num.String() + " allocs/op"
	}
	if t.num.name == t.den.name {
		return fmt.Sprintf("%s: GOMAXPROCS %d ÷ GOMAXPROCS %d",
			strings.TrimPrefix(t.num.name, "Benchmark"), t.num.procs, t.den.procs)
	}
	return t.num.String() + " ÷ " + t.den.String()
}

// check computes t over r. A benchmark r does not hold makes the outcome
// not measured, with the missing name in its detail.
func check(r *results, t target) outcome {
	o := outcome{target: t}
	if t.den.name == "" {
		return checkZero(r, o)
	}
	np, dp, missing := pickProcs(r, t.num, t.den)
	if missing != "" {
		o.detail = "no " + missing
		return o
	}
	ns, _ := summaryOf(r.get(t.num.name, np), "ns/op")
	ds, _ := summaryOf(r.get(t.den.name, dp), "ns/op")
	if ds.median == 0 {
		o.detail = "no " + ref{t.den.name, dp}.String() + " ns/op above 0"
		return o
	}
	o.measured = true
	o.value = ns.median / ds.median
	o.pass = t.goal.met(o.value)
	o.detail = fmt.Sprintf("%s ÷ %s", formatNs(ns.median), formatNs(ds.median))
	if np != dp && (t.num.procs == 0 || t.den.procs == 0) {
		o.detail += fmt.Sprintf(" (GOMAXPROCS %d ÷ %d)", np, dp)
	}
	return o
}

func checkZero(r *results, o outcome) outcome {
	procs := r.procsOf(o.num.name)
	var worst float64
	var runs []string
	for _, p := range procs {
		vals := r.get(o.num.name, p).values["allocs/op"]
		if len(vals) == 0 {
			continue
		}
		o.measured = true
		worst = max(worst, slices.Max(vals))
		runs = append(runs, fmt.Sprintf("%d runs at GOMAXPROCS %d", len(vals), p))
	}
	if !o.measured {
		o.detail = "no " + o.num.String() + " allocs/op"
		return o
	}
	o.value = worst
	o.pass = o.goal.met(worst)
	o.detail = "largest of " + strings.Join(runs, ", ")
	return o
}

// pickProcs returns the GOMAXPROCS at which to read num and den, or the
// name of one that r lacks. A ref with procs set is read at that
// GOMAXPROCS. A ref with procs 0 is read at the largest GOMAXPROCS both
// ran at, so that the two figures share their conditions, or else at the
// largest it ran at (go test's default GOMAXPROCS is the number of cores,
// the largest of a usual -cpu list).
func pickProcs(r *results, num, den ref) (np, dp int, missing string) {
	avail := func(x ref) []int {
		if x.procs != 0 {
			if r.get(x.name, x.procs) != nil && len(r.get(x.name, x.procs).values["ns/op"]) > 0 {
				return []int{x.procs}
			}
			return nil
		}
		var out []int
		for _, p := range r.procsOf(x.name) {
			if len(r.get(x.name, p).values["ns/op"]) > 0 {
				out = append(out, p)
			}
		}
		return out
	}
	// A benchmark the run lacks at every GOMAXPROCS is named without one.
	lacking := func(x ref) string {
		if len(avail(ref{name: x.name})) == 0 {
			x.procs = 0
		}
		return x.String()
	}
	na, da := avail(num), avail(den)
	if len(na) == 0 {
		return 0, 0, lacking(num)
	}
	if len(da) == 0 {
		return 0, 0, lacking(den)
	}
	np, dp = slices.Max(na), slices.Max(da)
	for _, p := range slices.Backward(na) {
		if slices.Contains(da, p) {
			return p, p, ""
		}
	}
	return np, dp, ""
}
