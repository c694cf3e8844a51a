#!/usr/bin/env bash
# Runs the benchmark suite and summarizes it with benchstat: the figures the
# README's performance section shows.
#
#   bash bench/run.sh                                   # everything, -count=6
#   BENCH='Authenticate$/mem/1k' COUNT=3 bash bench/run.sh
#   BENCH='/pebble' bash bench/run.sh                   # one backend
#   BENCH='/(mem|badger)/' bash bench/run.sh            # two backends
#   BENCH='Authenticate|StoreGet|Floor' BENCHTIME=2s bash bench/run.sh
#
# BENCH is go test's -bench pattern, matched level by level (split at each /
# outside parentheses), so '/pebble' selects the pebble sub-benchmarks of
# every benchmark with a backend level; bench/doc.go lists the names.
# BENCHTIME is -benchtime (default 1s), TIMEOUT is -timeout (default 180m).
#
# Only the fixtures the selected benchmarks need are built, once per run:
# the 1M fixtures take about 15 s (mem) and a minute each (pebble, badger)
# on 2 cores. The whole suite takes about 13 minutes at COUNT=1 and about an
# hour at the default COUNT=6 (see bench/doc.go). The durable fixtures
# live under $TMPDIR/streamauth-bench-<pid>-* while it runs (about 0.5 GB).
#
# The raw output goes to bench/last.txt (ignored by git), so that a later run
# can be compared with: benchstat old.txt bench/last.txt
set -euo pipefail
# bench is a module of its own (bench/go.mod), so the suite runs from inside
# it.
cd "$(dirname "$0")"
raw=last.txt
go test . -run='^$' -bench="${BENCH:-.}" -benchmem -count="${COUNT:-6}" \
	-benchtime="${BENCHTIME:-1s}" -timeout="${TIMEOUT:-180m}" | tee "$raw"
echo
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(go version | cut -d' ' -f3-)"
if command -v benchstat >/dev/null; then
	benchstat "$raw"
elif [ -x "$(go env GOPATH)/bin/benchstat" ]; then
	"$(go env GOPATH)/bin/benchstat" "$raw"
else
	go run golang.org/x/perf/cmd/benchstat@latest "$raw"
fi
