package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// key identifies one benchmark at one GOMAXPROCS: name is the full name
// go test printed without its "-<procs>" suffix ("BenchmarkAuthenticate/
// mem/1k/hit"), procs the GOMAXPROCS it ran at (1 when go test printed no
// suffix).
type key struct {
	name  string
	procs int
}

// series is every run of one benchmark at one GOMAXPROCS: the values of
// each unit, in the order of the runs.
type series struct {
	key
	units  []string             // in the order they first appear
	values map[string][]float64 // unit → one value per run that reported it
}

// runs returns the number of runs of s: the most values any unit has.
func (s *series) runs() int {
	n := 0
	for _, v := range s.values {
		n = max(n, len(v))
	}
	return n
}

// results is what one or more raw go test -bench outputs hold.
type results struct {
	// config holds the "key: value" lines of the outputs (goos, goarch,
	// pkg, cpu), the first value of each key.
	config     map[string]string
	configKeys []string
	series     map[key]*series
	order      []key    // series in the order they first appear
	failures   []string // the "--- FAIL:" lines, if any
}

func newResults() *results {
	return &results{config: make(map[string]string), series: make(map[key]*series)}
}

// parse adds the benchmark results of a raw go test -bench output to r.
// It reads the lines of the benchmark format
// (https://go.googlesource.com/proposal/+/master/design/14313-benchmark-format.md):
//
//	BenchmarkName-4   1000   1234 ns/op   0 B/op   0 allocs/op
//
// and the "key: value" configuration lines; it ignores everything else
// (the logs of "--- BENCH:", PASS, ok). A line that starts with
// "Benchmark" but does not have that shape (a name go test printed before
// some other output interrupted its line) is skipped.
func (r *results) parse(in io.Reader) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "Benchmark"):
			r.parseResult(line)
		case strings.HasPrefix(line, "--- FAIL:"):
			r.failures = append(r.failures, strings.TrimSpace(strings.TrimPrefix(line, "--- FAIL:")))
		default:
			r.parseConfig(line)
		}
	}
	return sc.Err()
}

func (r *results) parseResult(line string) {
	f := strings.Fields(line)
	if len(f) < 4 || len(f)%2 != 0 {
		return
	}
	if _, err := strconv.ParseUint(f[1], 10, 64); err != nil {
		return
	}
	vals := make([]float64, 0, (len(f)-2)/2)
	for i := 2; i < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil || math.IsNaN(v) {
			return
		}
		vals = append(vals, v)
	}
	name, procs := splitProcs(f[0])
	k := key{name, procs}
	s := r.series[k]
	if s == nil {
		s = &series{key: k, values: make(map[string][]float64)}
		r.series[k] = s
		r.order = append(r.order, k)
	}
	for i, v := range vals {
		unit := f[3+2*i]
		if _, ok := s.values[unit]; !ok {
			s.units = append(s.units, unit)
		}
		s.values[unit] = append(s.values[unit], v)
	}
}

// parseConfig records a configuration line, "key: value", whose key is
// a lowercase word (goos, goarch, pkg, cpu, or any other).
func (r *results) parseConfig(line string) {
	k, v, ok := strings.Cut(line, ":")
	if !ok || k == "" || strings.ContainsFunc(k, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.')
	}) {
		return
	}
	if _, seen := r.config[k]; !seen {
		r.config[k] = strings.TrimSpace(v)
		r.configKeys = append(r.configKeys, k)
	}
}

// splitProcs splits the GOMAXPROCS suffix go test appends to a benchmark's
// name ("-2" for GOMAXPROCS 2, nothing for 1) off name. Like benchstat, it
// takes a final "-<digits>" for that suffix; a sub-benchmark whose own name
// ends so (SCRAM-SHA-256) reads as a GOMAXPROCS when it runs at
// GOMAXPROCS 1 and so has no suffix.
func splitProcs(name string) (string, int) {
	i := strings.LastIndexByte(name, '-')
	if i < 0 || i == len(name)-1 {
		return name, 1
	}
	p, err := strconv.Atoi(name[i+1:])
	if err != nil || p < 1 || strings.ContainsAny(name[i+1:], "+-") {
		return name, 1
	}
	return name[:i], p
}

// family returns the top-level benchmark of a name, and the rest (the
// sub-benchmark, "" for a benchmark without one).
func family(name string) (top, sub string) {
	top, sub, _ = strings.Cut(name, "/")
	return top, sub
}

// summary is the median of a unit's values and the half-width of its
// confidence interval relative to it.
type summary struct {
	median float64
	// pct is the larger distance from the median to a bound of its 95%
	// confidence interval, as a fraction of the median: +Inf when there
	// are too few runs for an interval, NaN when it cannot be a fraction
	// (bounds of another sign than the median).
	pct  float64
	n    int
	max  float64 // the largest value
	zero bool    // every value is 0
}

// summarize returns the summary of vals, which must not be empty. The
// median and the interval are benchstat's: the median of the sorted
// values (the mean of the middle two for an even count), and the
// narrowest interval between two order statistics that covers the median
// with at least 95% probability (the binomial distribution of how many
// values fall below it), which needs 6 runs to be finite.
func summarize(vals []float64) summary {
	xs := slices.Clone(vals)
	slices.Sort(xs)
	n := len(xs)
	s := summary{n: n, max: xs[n-1], zero: xs[0] == 0 && xs[n-1] == 0}
	if n%2 == 1 {
		s.median = xs[n/2]
	} else {
		s.median = (xs[n/2-1] + xs[n/2]) / 2
	}
	lo, hi := medianCI(n, 0.95)
	if lo < 1 || hi > n {
		s.pct = math.Inf(1)
		return s
	}
	l, h := xs[lo-1], xs[hi-1]
	switch {
	case s.median == 0 && l == 0 && h == 0:
		s.pct = 0
	case sign(l) != sign(s.median) || sign(h) != sign(s.median) || s.median == 0:
		s.pct = math.NaN()
	default:
		s.pct = math.Max(h/s.median-1, 1-l/s.median)
	}
	return s
}

func sign(x float64) int {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}

// medianCI returns the 1-based order statistics that bound the confidence
// interval of the median of n values at the given confidence level, as
// github.com/aclements/go-moremath/stats.QuantileCI computes them for
// q = 0.5 (the exact binomial method; benchstat switches to a normal
// approximation above 30 values, whose bounds differ little). A bound of 0
// or n+1 is an infinite one.
func medianCI(n int, confidence float64) (lo, hi int) {
	pmf := func(k int) float64 {
		if k < 0 || k > n {
			return 0
		}
		lg := func(x int) float64 { v, _ := math.Lgamma(float64(x) + 1); return v }
		return math.Exp(lg(n) - lg(k) - lg(n-k) - float64(n)*math.Ln2)
	}
	// k values below the median is the interval between the k-th and the
	// (k+1)-th order statistics; [l, r) is the run of them summed, grown
	// from the mode, left first on ties.
	x := int(math.Ceil(float64(n+1)*0.5)) - 1
	accum := pmf(x)
	l, r := x, x+1
	lp, rp := pmf(l-1), pmf(r)
	for accum < confidence && (lp > 0 || rp > 0) {
		if lp >= rp {
			accum += lp
			l--
			lp = pmf(l - 1)
		} else {
			accum += rp
			r++
			rp = pmf(r)
		}
	}
	return max(l, 0), min(r, n+1)
}

// get returns the series of name at procs, or nil.
func (r *results) get(name string, procs int) *series {
	return r.series[key{name, procs}]
}

// procsOf returns the GOMAXPROCS values name was run at, in increasing
// order.
func (r *results) procsOf(name string) []int {
	var out []int
	for _, k := range r.order {
		if k.name == name {
			out = append(out, k.procs)
		}
	}
	slices.Sort(out)
	return out
}

// summaryOf returns the summary of unit in s, and false if s is nil or
// has no value of unit.
func summaryOf(s *series, unit string) (summary, bool) {
	if s == nil || len(s.values[unit]) == 0 {
		return summary{}, false
	}
	return summarize(s.values[unit]), true
}

func (k key) String() string {
	if k.procs == 1 {
		return k.name
	}
	return fmt.Sprintf("%s-%d", k.name, k.procs)
}
