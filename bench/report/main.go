// Command report turns the raw output of the benchmarks (go test -bench,
// any number of runs of each) into a markdown report: one table per
// benchmark family, with the median and the confidence interval of each
// unit, then the table of the targets the project commits to, each
// measured, judged, or listed as not measured when the run left out a
// benchmark it needs. bench/run.sh runs it; by hand, from bench/:
//
//	go run ./report -o results.md last.txt
//
// It reads the raw output rather than benchstat's, computes the medians
// and intervals as benchstat does, and depends on the standard library
// only. With no file argument it reads its standard input. With -readme it
// also writes a summary (the main figures and the targets) into a file
// such as the README, between two marker lines, replacing what was there.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	var m meta
	out := flag.String("o", "", "write the report to `file` (default: standard output)")
	readme := flag.String("readme", "", "also write a summary into `file`, between its lines "+summaryBegin+" and "+summaryEnd)
	flag.StringVar(&m.machine, "machine", "", "the machine line: cores, CPU model, Go version, date")
	flag.Func("command", "a `command` that produced the raw output (repeatable)", func(s string) error {
		m.commands = append(m.commands, s)
		return nil
	})
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: report [-o results.md] [-machine line] [-command cmd]... [raw.txt ...]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := run(*out, *readme, m, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

func run(out, readme string, m meta, files []string) error {
	r := newResults()
	if len(files) == 0 {
		if err := r.parse(os.Stdin); err != nil {
			return fmt.Errorf("reading standard input: %w", err)
		}
	}
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		err = r.parse(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("reading %s: %w", name, err)
		}
		m.sources = append(m.sources, name)
	}
	if len(r.order) == 0 {
		fmt.Fprintln(os.Stderr, "report: warning: no benchmark result in the input")
	}
	if readme != "" {
		var sum strings.Builder
		renderSummary(&sum, r, m)
		if err := spliceSummary(readme, sum.String()); err != nil {
			return err
		}
	}
	var buf bytes.Buffer
	if err := render(&buf, r, m); err != nil {
		return err
	}
	if out == "" {
		_, err := io.Copy(os.Stdout, &buf)
		return err
	}
	return os.WriteFile(out, buf.Bytes(), 0o644)
}
