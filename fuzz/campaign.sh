#!/usr/bin/env bash
# The fuzz campaign: every fuzz target of the project, one after another, for
# FUZZTIME each (default 10m), and a summary of executions and findings.
#
#   bash fuzz/campaign.sh                         # every target, 10 minutes each
#   FUZZTIME=30m PARALLEL=2 bash fuzz/campaign.sh
#   TARGETS='FuzzDecodeSnapshot FuzzConn' bash fuzz/campaign.sh
#
# PARALLEL is go test's -parallel (fuzzing workers; default 1, so that the
# campaign leaves the other core free). Fifteen targets at 10 minutes take
# two and a half hours. A crasher stops its target and is written by go test
# under the package's testdata/fuzz/<target>/, where it stays as a regression
# seed that every later `go test` runs; the summary lists it, with what go
# test said. Do not suspend the fuzzer (SIGSTOP) while it runs: the
# coordinator then takes its workers for hung and writes the input they
# held as a crasher that is not one. The summary
# goes to fuzz/campaign.txt (ignored by git) and to stdout.
set -uo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-10m}
parallel=${PARALLEL:-1}
out=fuzz/campaign.txt
: >"$out"

# package -> targets; every package that has a fuzz target.
pkgs=$(git grep -l '^func Fuzz' -- '*_test.go' | xargs -n1 dirname | sort -u)
failed=0
printf '%-28s %-22s %8s %14s %10s %s\n' target package time execs new result | tee -a "$out"
for dir in $pkgs; do
	for target in $(go test -list '^Fuzz' "./$dir" | grep '^Fuzz'); do
		if [ -n "${TARGETS:-}" ] && ! grep -qw "$target" <<<"$TARGETS"; then
			continue
		fi
		log=$(mktemp)
		go test "./$dir" -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" \
			-parallel="$parallel" -timeout=0 >"$log" 2>&1
		rc=$?
		# go test prints progress lines "fuzz: elapsed: 10m0s, execs: N (R/sec),
		# new interesting: K (total: T)"; the last one holds the totals.
		last=$(grep 'fuzz: elapsed:' "$log" | tail -n 1)
		execs=$(sed -n 's/.*execs: \([0-9]*\).*/\1/p' <<<"$last")
		newi=$(sed -n 's/.*new interesting: \([0-9]*\).*/\1/p' <<<"$last")
		result=ok
		if [ $rc -ne 0 ]; then
			result="FAIL: $(grep -m1 -E 'Failing input written to|--- FAIL|panic:' "$log" | sed 's/^ *//')"
			failed=1
		fi
		printf '%-28s %-22s %8s %14s %10s %s\n' "$target" "$dir" "$fuzztime" "${execs:-?}" "${newi:-?}" "$result" | tee -a "$out"
		if [ $rc -ne 0 ]; then
			# What go test said, to tell a crasher from a worker that hung
			# (a machine stalled or stopped: the input it names then
			# passes when replayed with go test -run).
			grep -v 'fuzz: elapsed:' "$log" | tail -n 25 | sed 's/^/    /' | tee -a "$out"
		fi
		rm -f "$log"
	done
done
exit $failed
