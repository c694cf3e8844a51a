package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// meta is what the report says about the run besides its figures.
type meta struct {
	machine  string   // cores, CPU model, Go version, date
	commands []string // the commands that produced the raw output
	sources  []string // the raw files read
}

// baseUnits are the units every family's table shows first, when the
// family reports them; any other unit gets a column after them.
var baseUnits = []string{"ns/op", "B/op", "allocs/op"}

// render writes the markdown report of r: a header, one table per
// benchmark family (top-level benchmark) in the order the run met them,
// and the table of targets.
func render(w io.Writer, r *results, m meta) error {
	var b strings.Builder
	b.WriteString("# Benchmark results\n\n")
	if m.machine != "" {
		fmt.Fprintf(&b, "Machine: %s.\n\n", m.machine)
	} else if len(r.configKeys) > 0 {
		var parts []string
		for _, k := range r.configKeys {
			if k != "pkg" {
				parts = append(parts, k+" "+r.config[k])
			}
		}
		fmt.Fprintf(&b, "Machine: %s.\n\n", strings.Join(parts, ", "))
	}
	if len(m.commands) > 0 {
		if len(m.commands) == 1 {
			b.WriteString("Command:\n\n")
		} else {
			b.WriteString("Commands:\n\n")
		}
		for _, c := range m.commands {
			fmt.Fprintf(&b, "    %s\n", c)
		}
		b.WriteString("\n")
	}
	if len(m.sources) > 0 {
		fmt.Fprintf(&b, "Raw output: %s.\n\n", strings.Join(m.sources, ", "))
	}
	b.WriteString("Each figure is the median of the runs of its benchmark (n), and ± the 95% " +
		"confidence interval of that median as benchstat computes it (∞ below 6 runs). " +
		"GOMAXPROCS is go test's -cpu. bench/doc.go says what each benchmark measures.\n\n")
	if len(r.order) == 0 {
		b.WriteString("The run holds no benchmark result.\n\n")
	}
	if len(r.failures) > 0 {
		b.WriteString("## Failures\n\n")
		for _, f := range r.failures {
			fmt.Fprintf(&b, "- %s\n", f)
		}
		b.WriteString("\n")
	}
	for _, fam := range families(r) {
		renderFamily(&b, r, fam)
	}
	renderTargets(&b, r)
	_, err := io.WriteString(w, b.String())
	return err
}

// families returns the top-level benchmarks of r with their series, both
// in the order they first appear.
func families(r *results) [][]*series {
	var out [][]*series
	index := make(map[string]int)
	for _, k := range r.order {
		top, _ := family(k.name)
		i, ok := index[top]
		if !ok {
			i = len(out)
			index[top] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], r.series[k])
	}
	// Keep the runs of one sub-benchmark at several GOMAXPROCS together,
	// in increasing GOMAXPROCS, where the run met the sub-benchmark first.
	for i, fam := range out {
		first := make(map[string]int)
		for j, s := range fam {
			if _, ok := first[s.name]; !ok {
				first[s.name] = j
			}
		}
		slices.SortStableFunc(fam, func(a, b *series) int {
			if c := first[a.name] - first[b.name]; c != 0 {
				return c
			}
			return a.procs - b.procs
		})
		out[i] = fam
	}
	return out
}

func renderFamily(b *strings.Builder, r *results, fam []*series) {
	top, _ := family(fam[0].name)
	fmt.Fprintf(b, "## %s\n\n", top)

	var units []string
	for _, u := range baseUnits {
		for _, s := range fam {
			if len(s.values[u]) > 0 {
				units = append(units, u)
				break
			}
		}
	}
	procs := make(map[int]bool)
	for _, s := range fam {
		procs[s.procs] = true
		for _, u := range s.units {
			if !slices.Contains(units, u) {
				units = append(units, u)
			}
		}
	}
	showProcs := len(procs) > 1
	if !showProcs {
		fmt.Fprintf(b, "GOMAXPROCS %d.\n\n", fam[0].procs)
	}

	b.WriteString("| sub-benchmark |")
	sep := "|---|"
	if showProcs {
		b.WriteString(" GOMAXPROCS |")
		sep += "---:|"
	}
	b.WriteString(" n |")
	sep += "---:|"
	for _, u := range units {
		fmt.Fprintf(b, " %s |", u)
		sep += "---:|"
	}
	b.WriteString("\n" + sep + "\n")
	for _, s := range fam {
		_, sub := family(s.name)
		if sub == "" {
			sub = strings.TrimPrefix(top, "Benchmark")
		}
		fmt.Fprintf(b, "| %s |", sub)
		if showProcs {
			fmt.Fprintf(b, " %d |", s.procs)
		}
		fmt.Fprintf(b, " %d |", s.runs())
		for _, u := range units {
			sum, ok := summaryOf(s, u)
			if !ok {
				b.WriteString(" – |")
				continue
			}
			fmt.Fprintf(b, " %s ± %s |", formatNum(sum.median), formatPct(sum.pct))
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
}

func renderTargets(b *strings.Builder, r *results) {
	b.WriteString("## Targets\n\n")
	b.WriteString("A ratio divides medians; a single figure is a median, except allocs/op, " +
		"the largest of every run, so that \"allocates nothing\" holds only if no run allocated.\n\n")
	writeTargets(b, r)
}

// writeTargets writes the table of targets, each checked against r.
func writeTargets(b *strings.Builder, r *results) {
	b.WriteString("| area | target | computed as | measured | goal | result | from |\n")
	b.WriteString("|---|---|---|---:|---|---|---|\n")
	for _, t := range targets() {
		o := check(r, t)
		measured, result := "–", "not measured"
		if o.measured {
			measured = t.goal.format(o.value)
			result = "pass"
			if !o.pass {
				result = "**FAIL**"
			}
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s |\n",
			t.area, t.what, t.formula(), measured, t.goal, result, o.detail)
	}
	b.WriteString("\n")
}

// formatNum formats a figure with about four significant digits, digits
// grouped by thousands from 1,000 up.
func formatNum(v float64) string {
	a := math.Abs(v)
	switch {
	case math.IsInf(v, 0) || math.IsNaN(v):
		return strconv.FormatFloat(v, 'f', -1, 64)
	case a >= 1000:
		return groupThousands(math.Round(v))
	case v == math.Trunc(v):
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 3-int(math.Floor(math.Log10(a))), 64)
	}
	s := strconv.FormatFloat(v, 'f', 3-int(math.Floor(math.Log10(a))), 64)
	return strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
}

// groupThousands formats the integer v with commas between groups of
// three digits.
func groupThousands(v float64) string {
	s := strconv.FormatFloat(math.Abs(v), 'f', 0, 64)
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if v < 0 {
		return "-" + string(out)
	}
	return string(out)
}

// formatPct formats the relative half-width of a confidence interval.
func formatPct(p float64) string {
	switch {
	case math.IsInf(p, 0):
		return "∞"
	case math.IsNaN(p):
		return "?"
	}
	return fmt.Sprintf("%.0f%%", 100*p)
}

// formatRatio formats a ratio: grouped digits from 100 up, two decimals
// below.
func formatRatio(v float64) string {
	if math.Abs(v) >= 100 {
		return groupThousands(math.Round(v))
	}
	if v == math.Trunc(v) {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// formatNs formats a duration in nanoseconds with a unit that keeps it
// short: 229.0 ns, 5.74 µs, 52.3 ms, 1.20 s.
func formatNs(ns float64) string {
	switch a := math.Abs(ns); {
	case a >= 1e9:
		return threeDigits(ns/1e9) + " s"
	case a >= 1e6:
		return threeDigits(ns/1e6) + " ms"
	case a >= 1e3:
		return threeDigits(ns/1e3) + " µs"
	}
	return formatNum(ns) + " ns"
}

func threeDigits(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}
