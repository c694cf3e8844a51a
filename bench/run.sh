#!/usr/bin/env bash
# Runs the benchmark suite and summarizes it with benchstat: the figures the
# README's performance section shows.
#
#   bash bench/run.sh                              # everything, -count=6
#   BENCH='Authenticate$/mem/1k' COUNT=3 bash bench/run.sh
#
# The full suite builds 1M-key fixtures (about a minute each on 2 cores).
# The raw output goes to bench/last.txt (ignored by git), so that a later run
# can be compared with: benchstat old.txt bench/last.txt
set -euo pipefail
cd "$(dirname "$0")/.."
raw=bench/last.txt
go test ./bench -run='^$' -bench="${BENCH:-.}" -benchmem -count="${COUNT:-6}" -timeout=120m | tee "$raw"
echo
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(go version | cut -d' ' -f3-)"
if command -v benchstat >/dev/null; then
	benchstat "$raw"
else
	go run golang.org/x/perf/cmd/benchstat@latest "$raw"
fi
