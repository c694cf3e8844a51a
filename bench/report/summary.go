package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
)

// The markers between which -readme writes the summary into a file. What
// lies between them is replaced; everything else is kept as it is.
const (
	summaryBegin = "<!-- bench/run.sh writes from here -->"
	summaryEnd   = "<!-- bench/run.sh writes up to here -->"
)

// authRow is one row of the summary's Authenticate table: a figure of each
// backend at each fixture size, from the benchmark
// <family>/<backend>/<size><rest>.
type authRow struct {
	label        string
	family, rest string
	procs        int // 0: the largest GOMAXPROCS it ran at
}

func (row authRow) name(backend, size string) string {
	return row.family + "/" + backend + "/" + size + row.rest
}

var (
	summaryBackends = []string{"mem", "pebble", "badger"}
	authRows        = []authRow{
		{label: "hit, default options", family: "BenchmarkAuthenticate", rest: "/hit"},
		{label: "hit, cached", family: "BenchmarkAuthenticateCache", rest: "/hit/cached"},
		{label: "hit, uncached", family: "BenchmarkAuthenticateCache", rest: "/hit/uncached"},
		{label: "the store's own Get of that record", family: "BenchmarkStoreGet"},
		{label: "unknown secret, default options", family: "BenchmarkAuthenticate", rest: "/miss"},
		{label: "unknown secret, uncached", family: "BenchmarkAuthenticateCache", rest: "/miss/uncached"},
		{label: "malformed secret", family: "BenchmarkAuthenticate", rest: "/malformed"},
		{label: "hit, default options, from GOMAXPROCS goroutines at GOMAXPROCS 1", family: "BenchmarkAuthenticateParallel", rest: "/hit", procs: 1},
		{label: "the same at GOMAXPROCS 2 (wall time per call, both cores together)", family: "BenchmarkAuthenticateParallel", rest: "/hit", procs: 2},
	}
)

// figure is one line of the summary's table of other figures.
type figure struct {
	label string
	r     ref
}

var figures = []figure{
	{"floor: hex decode, SHA-256 and a Go map lookup, 1k keys", ref{name: "BenchmarkFloor/1k"}},
	{"floor, 1M keys", ref{name: "BenchmarkFloor/1M"}},
	{"authorize a public-API call (`Authorize`)", ref{name: "BenchmarkAuthorize/api"}},
	{"authorize an agent on its cluster (`AuthorizeAgent`)", ref{name: "BenchmarkAuthorize/agent"}},
	{"an agent key's check, control plane", ref{name: "BenchmarkAgentKey/cp"}},
	{"an agent key's check, offline agent", ref{name: "BenchmarkAgentKey/agent"}},
	{"SASL PLAIN, remembered login, control plane", ref{name: "BenchmarkPlain/cp/remembered"}},
	{"SASL PLAIN, remembered login, offline agent", ref{name: "BenchmarkPlain/agent/remembered"}},
	{"SASL PLAIN, first check (argon2id)", ref{name: "BenchmarkPlain/cp/first"}},
	{"SCRAM-SHA-256, server side of an exchange", ref{name: "BenchmarkSCRAMServer/cp/SCRAM-SHA-256", unit: "server-ns/op"}},
	{"SCRAM-SHA-512, server side of an exchange", ref{name: "BenchmarkSCRAMServer/cp/SCRAM-SHA-512", unit: "server-ns/op"}},
	{"500 concurrent first PLAIN logins: peak memory held", ref{name: "BenchmarkPlainStorm", unit: "peak-MiB"}},
	{"the same: the engine's bound", ref{name: "BenchmarkPlainStorm", unit: "bound-MiB"}},
	{"synced commit (create a key), pebble", ref{name: "BenchmarkCommitSynced/pebble"}},
	{"synced commit (create a key), badger", ref{name: "BenchmarkCommitSynced/badger"}},
	{"open 1M keys and build the engine, pebble", ref{name: "BenchmarkOpen/pebble/1M"}},
	{"open 1M keys and build the engine, badger", ref{name: "BenchmarkOpen/badger/1M"}},
	{"disk per key, 1M keys, pebble", ref{name: "BenchmarkDiskPerKey/pebble/1M", unit: "disk-B/key"}},
	{"disk per key, 1M keys, badger", ref{name: "BenchmarkDiskPerKey/badger/1M", unit: "disk-B/key"}},
	{"memory per key, 1M keys in memstore, every key authenticated", ref{name: "BenchmarkMemoryPerKey/mem/1M", unit: "B/key"}},
	{"of which the store, before any key authenticated", ref{name: "BenchmarkMemoryPerKey/mem/1M", unit: "store-B/key"}},
	{"of which the default engine's cache of every key", ref{name: "BenchmarkMemoryPerKey/mem/1M", unit: "cache-B/key"}},
	{"the engine's index of digest prefixes, per key", ref{name: "BenchmarkEngineMemoryPerKey/1M", unit: "index-B/key"}},
	{"the engine's cache, per cached key", ref{name: "BenchmarkEngineMemoryPerKey/1M", unit: "cache-B/key"}},
	{"export a snapshot of 100k credentials", ref{name: "BenchmarkSnapshotExport"}},
	{"first apply of it, mem", ref{name: "BenchmarkSnapshotApply/mem"}},
	{"first apply of it, pebble", ref{name: "BenchmarkSnapshotApply/pebble"}},
	{"first apply of it, badger (default 8 MiB memtables)", ref{name: "BenchmarkSnapshotApply/badger"}},
	{"first apply of it, badger with 32 MiB memtables", ref{name: "BenchmarkSnapshotApply/badger-memtable32"}},
	{"next apply, one credential changed (mem)", ref{name: "BenchmarkSnapshotReapply"}},
	{"peer: bcrypt at cost 10, per key", ref{name: peerBcrypt}},
	{"peer: PBKDF2-SHA256, 150,000 iterations (Django 2.2)", ref{name: "BenchmarkPeerPBKDF2/django"}},
	{"peer: casbin RBAC with domains, `Enforcer`", ref{name: peerCasbin}},
	{"peer: casbin, `CachedEnforcer`, warm", ref{name: peerCasbinMemo}},
	{"peer: xdg-go/scram's server, SCRAM-SHA-512 (ns/op, client work included)", ref{name: "BenchmarkPeerSCRAM/xdg/SCRAM-SHA-512"}},
	{"ours, the same measure (ns/op, client work included)", ref{name: "BenchmarkSCRAMServer/cp/SCRAM-SHA-512"}},
}

// median returns the median of x at the GOMAXPROCS it asks for (or the
// largest it ran at), formatted in its unit, and "–" if r lacks it.
func median(r *results, x ref) string {
	p, _, missing := pickProcs(r, x, x)
	if missing != "" {
		return "–"
	}
	s, _ := summaryOf(r.get(x.name, p), x.metric())
	return formatFigure(s.median, x.metric())
}

// renderSummary writes the summary -readme puts in a README: the machine
// and commands, the Authenticate table, the other figures, and the
// targets.
func renderSummary(b *strings.Builder, r *results, m meta) {
	if m.machine != "" {
		fmt.Fprintf(b, "Machine: %s.\n\n", m.machine)
	}
	if len(m.commands) > 0 {
		b.WriteString("Made by:\n\n")
		for _, c := range m.commands {
			fmt.Fprintf(b, "    %s\n", c)
		}
		b.WriteString("\n")
	}
	b.WriteString("Medians of the runs. [bench/results.md](bench/results.md) has every figure of the run " +
		"with its confidence interval, B/op and allocs/op; bench/doc.go says what each benchmark does.\n\n")

	b.WriteString("`Authenticate`, ns/op. *default options*: over pebble and badger, a cache of 65,536 keys " +
		"and the index of digest prefixes, over mem a cache of every key and no index; *cached*: a cache of every key; " +
		"*uncached*: no cache and no index, so that every well-formed secret reads the store. " +
		"Engines with a cache authenticate every key once before they are timed.\n\n")
	b.WriteString("| |")
	sep := "|---|"
	for _, be := range summaryBackends {
		for _, n := range targetSizes {
			fmt.Fprintf(b, " %s %s |", be, n)
			sep += "---:|"
		}
	}
	b.WriteString("\n" + sep + "\n")
	for _, row := range authRows {
		fmt.Fprintf(b, "| %s |", row.label)
		for _, be := range summaryBackends {
			for _, n := range targetSizes {
				fmt.Fprintf(b, " %s |", median(r, ref{name: row.name(be, n), procs: row.procs}))
			}
		}
		b.WriteString("\n")
	}
	b.WriteString("\n| other figures | median |\n|---|---:|\n")
	for _, f := range figures {
		fmt.Fprintf(b, "| %s | %s |\n", f.label, median(r, f.r))
	}
	b.WriteString("\nThe targets the project commits to, judged on this run:\n\n")
	writeTargets(b, r)
}

// spliceSummary replaces what lies between the summary's markers in the
// file at path with summary, and fails, writing nothing, if the file
// lacks either marker or has them out of order.
func spliceSummary(path, summary string) error {
	old, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	begin := bytes.Index(old, []byte(summaryBegin))
	end := bytes.Index(old, []byte(summaryEnd))
	if begin < 0 || end < begin {
		return errors.New(path + ": no " + summaryBegin + " line followed by " + summaryEnd)
	}
	var out bytes.Buffer
	out.Write(old[:begin+len(summaryBegin)])
	out.WriteString("\n\n")
	out.WriteString(summary)
	out.Write(old[end:])
	return os.WriteFile(path, out.Bytes(), 0o644)
}
