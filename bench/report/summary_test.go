package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSummary(t *testing.T) {
	r := load(t)
	var b strings.Builder
	renderSummary(&b, r, meta{machine: "2 cores", commands: []string{"bash bench/run.sh"}})
	out := b.String()
	for _, want := range []string{
		"Machine: 2 cores.\n",
		"    bash bench/run.sh\n",
		"| | mem 1k | mem 100k | mem 1M | pebble 1k | pebble 100k | pebble 1M | badger 1k | badger 100k | badger 1M |\n",
		// Medians; "–" where the run lacks the benchmark.
		"| hit, default options | 225 ns | 401 ns | – | – | – | – | – | – | – |\n",
		"| hit, default options, from GOMAXPROCS goroutines at GOMAXPROCS 1 | 300 ns | – |",
		"| the same at GOMAXPROCS 2 (wall time per call, both cores together) | 155 ns | – |",
		"| SCRAM-SHA-512, server side of an exchange | 7.40 µs |\n",
		"| 500 concurrent first PLAIN logins: peak memory held | 90 MiB |\n",
		"| floor, 1M keys | – |\n",
		"| core engine | Authenticate a valid key, memstore, 1k keys | Authenticate/mem/1k/hit | 225 ns | ≤ 200 ns | **FAIL** |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}

func TestSpliceSummary(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "README.md")
	before := "# x\n\n## Performance\n\n" + summaryBegin + "\n\nold table\n\n" + summaryEnd + "\n\n## Next\n"
	if err := os.WriteFile(path, []byte(before), 0o644); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second splice replaces the first's summary
		if err := spliceSummary(path, "new table\n\n"); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := os.ReadFile(path)
	want := "# x\n\n## Performance\n\n" + summaryBegin + "\n\nnew table\n\n" + summaryEnd + "\n\n## Next\n"
	if string(got) != want {
		t.Errorf("after splicing:\n%s\nwant:\n%s", got, want)
	}

	// Markers missing or out of order: an error, and the file unchanged.
	for _, text := range []string{"no markers\n", summaryEnd + "\n" + summaryBegin + "\n", summaryBegin + "\n"} {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := spliceSummary(path, "new table\n"); err == nil {
			t.Errorf("splicing into %q: no error", text)
		}
		if got, _ := os.ReadFile(path); string(got) != text {
			t.Errorf("splicing into %q changed it to %q", text, got)
		}
	}
}
