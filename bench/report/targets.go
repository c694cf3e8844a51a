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

// ref is one figure a target reads: a benchmark's full name without the
// GOMAXPROCS suffix, the GOMAXPROCS it must have run at (0: any; see
// pickProcs), and its unit ("": ns/op).
type ref struct {
	name  string
	procs int
	unit  string
}

// metric returns the unit r reads.
func (r ref) metric() string {
	if r.unit == "" {
		return "ns/op"
	}
	return r.unit
}

func (r ref) String() string {
	s := strings.TrimPrefix(r.name, "Benchmark")
	if r.unit != "" && r.unit != "ns/op" {
		s += " " + r.unit
	}
	if r.procs != 0 {
		s += fmt.Sprintf(" (GOMAXPROCS %d)", r.procs)
	}
	return s
}

// goal is how a measured figure is judged.
type goal struct {
	op    string // "≥", ">", "≤" or "="
	value float64
	unit  string // "×" for a ratio, "ns" for a duration, else appended to the value
}

func (g goal) String() string {
	if g.unit == "×" && g.value < 100 {
		return g.op + " " + strconv.FormatFloat(g.value, 'f', -1, 64) + "×"
	}
	return g.op + " " + g.format(g.value)
}

// format formats a figure in the goal's unit.
func (g goal) format(v float64) string {
	switch g.unit {
	case "×":
		return formatRatio(v) + "×"
	case "ns":
		return formatNs(v)
	}
	return formatNum(v) + g.unit
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
// of two figures (den.name != ""), or the value of num alone: its median,
// or for allocs/op the largest of every run at every GOMAXPROCS, so that
// "allocates nothing" holds only if no run allocated.
type target struct {
	area     string // the part of the project the target belongs to
	what     string
	num, den ref
	goal     goal
}

// The areas of the targets, in the order of the report.
const (
	areaCore    = "core engine"
	areaDurable = "durable backends"
	areaSASL    = "SASL"
	areaAgents  = "offline agents"
	areaPeers   = "against the peers"
	areaScaling = "two cores against one"
)

// targets returns every target the project commits to, in the order of
// the report.
func targets() []target {
	var ts []target
	add := func(area, what string, num, den ref, g goal) {
		ts = append(ts, target{area: area, what: what, num: num, den: den, goal: g})
	}
	at := func(name string) ref { return ref{name: name} }
	none := ref{}
	allocs := goal{"=", 0, " allocs/op"}
	durable := []string{"pebble", "badger"}

	add(areaCore, "Authenticate a valid key, memstore, 1k keys", at("BenchmarkAuthenticate/mem/1k/hit"), none, goal{"≤", 200, "ns"})
	add(areaCore, "Authenticate allocates nothing (memstore, 1k keys, hit)", ref{name: "BenchmarkAuthenticate/mem/1k/hit", unit: "allocs/op"}, none, allocs)
	for _, n := range targetSizes {
		add(areaCore, fmt.Sprintf("memstore Authenticate vs the floor, %s keys", n),
			at("BenchmarkAuthenticate/mem/"+n+"/hit"), at("BenchmarkFloor/"+n), goal{"≤", 1.3, "×"})
	}
	add(areaCore, "refuse a malformed secret", at("BenchmarkAuthenticate/mem/1k/malformed"), none, goal{"≤", 50, "ns"})
	add(areaCore, "memory per key, 1M keys, store and cache", ref{name: "BenchmarkMemoryPerKey/mem/1M", unit: "B/key"}, none, goal{"≤", 400, " B/key"})

	for _, be := range durable {
		add(areaDurable, be+": cached hit vs memstore, 1M keys",
			at("BenchmarkAuthenticateCache/"+be+"/1M/hit/cached"), at("BenchmarkAuthenticate/mem/1M/hit"), goal{"≤", 1.3, "×"})
	}
	for _, be := range durable {
		add(areaDurable, be+": uncached hit vs the store's Get, 1M keys",
			at("BenchmarkAuthenticateCache/"+be+"/1M/hit/uncached"), at("BenchmarkStoreGet/"+be+"/1M"), goal{"≤", 1.5, "×"})
	}
	for _, be := range append([]string{"mem"}, durable...) {
		add(areaDurable, be+": refuse an unknown secret, 1M keys",
			at("BenchmarkAuthenticate/"+be+"/1M/miss"), none, goal{"≤", 500, "ns"})
	}
	for _, be := range durable {
		add(areaDurable, be+": open a store of 1M keys and build the engine", at("BenchmarkOpen/"+be+"/1M"), none, goal{"≤", 1e9, "ns"})
	}

	add(areaSASL, "SCRAM-SHA-512, server side of an exchange",
		ref{name: "BenchmarkSCRAMServer/cp/SCRAM-SHA-512", unit: "server-ns/op"}, none, goal{"≤", 10_000, "ns"})
	add(areaSASL, "PLAIN, remembered login", at("BenchmarkPlain/cp/remembered"), none, goal{"≤", 2_000, "ns"})
	add(areaSASL, "memory held by 500 concurrent first PLAIN logins vs its bound",
		ref{name: "BenchmarkPlainStorm", unit: "peak-MiB"}, ref{name: "BenchmarkPlainStorm", unit: "bound-MiB"}, goal{"≤", 1, "×"})

	add(areaAgents, "export a snapshot of 100k credentials", at("BenchmarkSnapshotExport"), none, goal{"≤", 1e9, "ns"})
	for _, be := range []string{"mem", "pebble", "badger-memtable32"} {
		add(areaAgents, "first apply of that snapshot, "+be, at("BenchmarkSnapshotApply/"+be), none, goal{"≤", 1e9, "ns"})
	}
	add(areaAgents, "offline PLAIN login vs the control plane's", at("BenchmarkPlain/agent/remembered"), at("BenchmarkPlain/cp/remembered"), goal{"≤", 1.1, "×"})
	add(areaAgents, "offline agent-key check vs the control plane's", at("BenchmarkAgentKey/agent"), at("BenchmarkAgentKey/cp"), goal{"≤", 1.1, "×"})

	add(areaPeers, "Authenticate vs bcrypt (cost 10)", at(peerBcrypt), at("BenchmarkAuthenticate/mem/1k/hit"), goal{"≥", 100_000, "×"})
	add(areaPeers, "authorization vs casbin's enforcer", at(peerCasbin), at(authorizeAPI), goal{"≥", 1_000, "×"})
	add(areaPeers, "authorization vs casbin's cached enforcer", at(peerCasbinMemo), at(authorizeAPI), goal{">", 1, "×"})
	add(areaPeers, "Authorize allocates nothing (api)", ref{name: authorizeAPI, unit: "allocs/op"}, none, allocs)
	add(areaPeers, "Authorize allocates nothing (agent)", ref{name: authorizeAgent, unit: "allocs/op"}, none, allocs)

	scaling := func(what, name string) {
		add(areaScaling, what, ref{name: name, procs: 1}, ref{name: name, procs: 2}, goal{"≥", 1.8, "×"})
	}
	for _, n := range targetSizes {
		scaling(fmt.Sprintf("2 cores vs 1, memstore, %s keys", n), "BenchmarkAuthenticateParallel/mem/"+n+"/hit")
	}
	for _, be := range durable {
		for _, n := range targetSizes {
			scaling(fmt.Sprintf("2 cores vs 1, %s cached, %s keys", be, n), "BenchmarkAuthenticateCacheParallel/"+be+"/"+n+"/hit/cached")
		}
	}
	return ts
}

// outcome is a target checked against a run.
type outcome struct {
	target
	measured bool
	value    float64 // the ratio, the median, or the largest allocs/op
	pass     bool
	detail   string // the figures the value comes from, or what is missing
}

// formula returns how t is computed, in benchmark names.
func (t target) formula() string {
	if t.den.name == "" {
		return t.num.String()
	}
	if t.num.name == t.den.name && t.num.procs != t.den.procs {
		return fmt.Sprintf("%s: GOMAXPROCS %d ÷ GOMAXPROCS %d",
			strings.TrimPrefix(t.num.name, "Benchmark"), t.num.procs, t.den.procs)
	}
	return t.num.String() + " ÷ " + t.den.String()
}

// check computes t over r. A figure r does not hold makes the outcome not
// measured, with the missing name in its detail.
func check(r *results, t target) outcome {
	o := outcome{target: t}
	if t.den.name == "" {
		if t.num.metric() == "allocs/op" {
			return checkWorst(r, o)
		}
		return checkMedian(r, o)
	}
	np, dp, missing := pickProcs(r, t.num, t.den)
	if missing != "" {
		o.detail = "no " + missing
		return o
	}
	ns, _ := summaryOf(r.get(t.num.name, np), t.num.metric())
	ds, _ := summaryOf(r.get(t.den.name, dp), t.den.metric())
	if ds.median == 0 {
		o.detail = "no " + ref{t.den.name, dp, t.den.unit}.String() + " above 0"
		return o
	}
	o.measured = true
	o.value = ns.median / ds.median
	o.pass = t.goal.met(o.value)
	o.detail = fmt.Sprintf("%s ÷ %s", formatFigure(ns.median, t.num.metric()), formatFigure(ds.median, t.den.metric()))
	if np != dp && (t.num.procs == 0 || t.den.procs == 0) {
		o.detail += fmt.Sprintf(" (GOMAXPROCS %d ÷ %d)", np, dp)
	}
	return o
}

// formatFigure formats a figure in its unit: a duration for ns/op (and
// custom units such as server-ns/op), else the number and the unit less
// its qualifier (disk-B/key: B/key).
func formatFigure(v float64, unit string) string {
	if strings.HasSuffix(unit, "ns/op") {
		return formatNs(v)
	}
	if i := strings.LastIndexByte(unit, '-'); i >= 0 {
		unit = unit[i+1:]
	}
	return formatNum(v) + " " + unit
}

// checkMedian judges the median of num at the largest GOMAXPROCS it ran at.
func checkMedian(r *results, o outcome) outcome {
	p, _, missing := pickProcs(r, o.num, o.num)
	if missing != "" {
		o.detail = "no " + missing
		return o
	}
	s, _ := summaryOf(r.get(o.num.name, p), o.num.metric())
	o.measured = true
	o.value = s.median
	o.pass = o.goal.met(s.median)
	o.detail = fmt.Sprintf("median of %d runs at GOMAXPROCS %d", s.n, p)
	return o
}

// checkWorst judges the largest value of num of any run at any GOMAXPROCS.
func checkWorst(r *results, o outcome) outcome {
	procs := r.procsOf(o.num.name)
	var worst float64
	var runs []string
	for _, p := range procs {
		vals := r.get(o.num.name, p).values[o.num.metric()]
		if len(vals) == 0 {
			continue
		}
		o.measured = true
		worst = max(worst, slices.Max(vals))
		runs = append(runs, fmt.Sprintf("%d runs at GOMAXPROCS %d", len(vals), p))
	}
	if !o.measured {
		o.detail = "no " + o.num.String()
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
			if s := r.get(x.name, x.procs); s != nil && len(s.values[x.metric()]) > 0 {
				return []int{x.procs}
			}
			return nil
		}
		var out []int
		for _, p := range r.procsOf(x.name) {
			if len(r.get(x.name, p).values[x.metric()]) > 0 {
				out = append(out, p)
			}
		}
		return out
	}
	// A benchmark the run lacks at every GOMAXPROCS is named without one.
	lacking := func(x ref) string {
		if len(avail(ref{name: x.name, unit: x.unit})) == 0 {
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
