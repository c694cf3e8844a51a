#!/usr/bin/env bash
# Runs the benchmark suite, summarizes it with benchstat, and writes the
# report of bench/report to bench/results.md: one table per benchmark and
# the targets the project commits to, each measured and judged.
#
#   bash bench/run.sh                                   # everything, -count=6
#   BENCH='Authenticate$/mem/1k' COUNT=3 bash bench/run.sh
#   BENCH='/pebble' bash bench/run.sh                   # one backend
#   BENCH='/(mem|badger)/' bash bench/run.sh            # two backends
#   BENCH='Authenticate|StoreGet|Floor' BENCHTIME=2s bash bench/run.sh
#
# BENCH is go test's -bench pattern, matched level by level (split at each /
# outside parentheses; a | outside parentheses separates whole patterns), so
# '/pebble' selects the pebble sub-benchmarks of every benchmark with a
# backend level; bench/doc.go lists the names. COUNT is -count (default 6;
# benchstat needs 6 runs for a confidence interval), BENCHTIME -benchtime
# (default 0.5s: each timed loop runs long enough for a stable median, and
# six of them keep the whole suite near two hours on 2 cores), TIMEOUT
# -timeout of each go test (default 180m).
#
# The suite runs as two go test processes in bench/: first every selected
# benchmark but the parallel ones (the names ending in Parallel) at go
# test's default GOMAXPROCS (the number of cores), then the selected
# parallel ones at each GOMAXPROCS of CPUS (default 1,2: go test's -cpu),
# which the report divides into one another (a name gets the suffix -2 at
# GOMAXPROCS 2, none at 1). Each process builds the fixtures it needs once:
# the 1M fixtures take about 15 s (mem) and a minute each (pebble, badger)
# on 2 cores. The whole suite took 80 minutes at the defaults on a quiet
# 2-core Intel Xeon, and 2 hours on a 2-core AMD EPYC: 44 minutes for the
# first process, 72 for the parallel one (see bench/doc.go). The durable
# fixtures live under $TMPDIR/streamauth-bench-<pid>-* while it runs
# (about 0.5 GB).
#
# The raw output goes to bench/last.txt (ignored by git), so that a later run
# can be compared with: benchstat old.txt bench/last.txt. The report goes to
# bench/results.md, to be committed after a full run; by hand, from bench/:
# go run ./report -o results.md last.txt. A run of the whole suite (BENCH
# unset) also keeps its raw output as bench/results.txt, to be committed
# with results.md (compare a later run with: benchstat bench/results.txt
# bench/last.txt), and writes its summary, the main figures and the
# targets, into the README's performance section, between its two marker
# lines.
set -euo pipefail
# bench is a module of its own (bench/go.mod): the suite runs from inside it.
cd "$(dirname "$0")"

raw=last.txt
out=results.md
bench=${BENCH:-.}
count=${COUNT:-6}
benchtime=${BENCHTIME:-0.5s}
timeout=${TIMEOUT:-180m}
cpus=${CPUS:-1,2}

# -skip is matched like -bench; a pattern of one level skips whole top-level
# benchmarks. notParallel matches every name that does not end in Parallel
# (Go's regular expressions have no negative lookahead).
parallel='Parallel$'
notParallel='[^l]$|[^e]l$|[^l]el$|[^l]lel$|[^a]llel$|[^r]allel$|[^a]rallel$|[^P]arallel$'
common=(-run='^$' -bench="$bench" -benchmem -count="$count" -benchtime="$benchtime" -timeout="$timeout")
serialCmd=(go test . "${common[@]}" -skip="$parallel")
parallelCmd=(go test . "${common[@]}" -skip="$notParallel" -cpu="$cpus")

# quote prints its arguments as a shell would need them typed.
quote() {
	local out=() a
	for a in "$@"; do
		if [[ $a =~ ^[-A-Za-z0-9_./=,:+@]*$ ]]; then
			out+=("$a")
		elif [[ $a =~ ^(-?[A-Za-z]+=)(.*)$ ]]; then
			out+=("${BASH_REMATCH[1]}'${BASH_REMATCH[2]//\'/\'\\\'\'}'")
		else
			out+=("'${a//\'/\'\\\'\'}'")
		fi
	done
	echo "${out[*]}"
}

cores=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN)
model=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)
machine="$cores cores, ${model:-unknown CPU}, $(go version | cut -d' ' -f3-), $(date -u '+%Y-%m-%d %H:%M UTC')"
invocation="$(quote BENCH="$bench" COUNT="$count" BENCHTIME="$benchtime" CPUS="$cpus") bash bench/run.sh"

echo "machine: $machine"
echo "in bench/: $(quote "${serialCmd[@]}")"
echo "in bench/: $(quote "${parallelCmd[@]}")"
echo
status=0
"${serialCmd[@]}" | tee "$raw" || status=$?
"${parallelCmd[@]}" | tee -a "$raw" || status=$?

if ! grep -q '^Benchmark' "$raw"; then
	if [ "$status" -ne 0 ]; then
		echo "run.sh: go test failed (status $status); nothing to report" >&2
	else
		echo "run.sh: BENCH='$bench' selects no benchmark (bench/doc.go lists the names); nothing to report" >&2
		status=1
	fi
	exit "$status"
fi
echo
echo "machine: $machine"
if command -v benchstat >/dev/null; then
	benchstat "$raw"
elif [ -x "$(go env GOPATH)/bin/benchstat" ]; then
	"$(go env GOPATH)/bin/benchstat" "$raw"
else
	go run golang.org/x/perf/cmd/benchstat@latest "$raw"
fi
# A run of the whole suite keeps its raw output next to its report, as
# bench/results.txt, to be committed with it: later runs compare with it.
readme=()
report_in=$raw
if [ "$bench" = . ]; then
	readme=(-readme ../README.md)
	cp "$raw" results.txt
	report_in=results.txt
fi
go run ./report -o "$out" "${readme[@]}" -machine "$machine" \
	-command "$invocation" \
	-command "cd bench" \
	-command "$(quote "${serialCmd[@]}")" \
	-command "$(quote "${parallelCmd[@]}")" \
	"$report_in"
echo
echo "report: bench/$out; raw output: bench/$raw"
if [ "${#readme[@]}" -eq 0 ]; then
	echo "README.md unchanged: only a run of the whole suite (BENCH unset) writes its summary there"
else
	echo "README.md: its performance section now holds this run's summary"
fi
if [ "$status" -ne 0 ]; then
	echo "run.sh: a go test run failed (status $status); see bench/$raw" >&2
fi
exit "$status"
