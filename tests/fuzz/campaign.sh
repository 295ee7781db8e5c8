#!/usr/bin/env bash
# tests/fuzz/campaign.sh [SECONDS_PER_TARGET] [TARGET...] - a fuzzing
# campaign: run each libFuzzer target in build/fuzz/ (make fuzz) for
# SECONDS_PER_TARGET (default 600) at nice 19, one after the other, from
# its working corpus build/fuzz/corpus/TARGET/ plus the committed seeds
# tests/fuzz/corpus/TARGET/ (read-only), with the flags smoke.sh uses.
# With no TARGET, every tests/fuzz/fuzz_*.c target.
#
# Each run appends one line to the committed ledger tests/fuzz/executions.tsv:
#   date  target  seconds  executions  crashes  ktvm (the commit, 12 hex digits)
# then the per-target totals of this commit are printed.  It refuses a tree
# that is not a clean commit (status 2; ALLOW_DIRTY=1 fuzzes without a ledger).  A crash
# ends that target's run; its reproducer is in build/fuzz/crashes/ (turn it
# into a unit test under tests/unit/, see README.md).  Several campaigns may
# run at once (the ledger is appended under flock).  Exit status: 1 if any
# run crashed or failed, else 0.
set -u
cd "$(dirname "$0")/../.."
secs=${1:-600}
[ $# -gt 0 ] && shift
if [ $# -eq 0 ]; then
	set -- $(ls tests/fuzz/fuzz_*.c | sed -e 's|.*/fuzz_||' -e 's|\.c$||')
fi
ledger=tests/fuzz/executions.tsv
[ -s "$ledger" ] || printf 'date\ttarget\tseconds\texecutions\tcrashes\tktvm\n' >"$ledger"
# A ledger row names the commit the fuzzed code is: only a clean tree counts
# (the ledger itself, which campaigns append to, aside).  ALLOW_DIRTY=1 runs
# anyway without writing the ledger.
rev=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
dirty=$(git status --porcelain --untracked-files=no 2>/dev/null | grep -v " $ledger\$")
if [ -n "$dirty" ] || [ "$rev" = unknown ]; then
	if [ "${ALLOW_DIRTY:-0}" != 1 ]; then
		echo "campaign: the tree is not a clean commit (git status: $(echo "$dirty" | head -n 3 | tr '\n' ' ')); commit first, or ALLOW_DIRTY=1 to fuzz without the ledger" >&2
		exit 2
	fi
	ledger=/dev/null
fi
mkdir -p build/fuzz/crashes build/fuzz/campaign
status=0

for t in "$@"; do
	bin=build/fuzz/$t
	if [ ! -x "$bin" ]; then
		echo "campaign: $bin missing (make fuzz)" >&2
		status=1
		continue
	fi
	work=build/fuzz/corpus/$t
	seeds=tests/fuzz/corpus/$t
	mkdir -p "$work" "$seeds"
	extra=()
	[ -f "tests/fuzz/$t.options" ] && mapfile -t extra < <(grep -v '^\s*#' "tests/fuzz/$t.options")
	start=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	log=build/fuzz/campaign/$t-$(date -u +%Y%m%dT%H%M%S).log
	t0=$(date +%s)
	# -timeout: one input running 10 s is a hang, i.e. a finding.
	timeout -s INT $((secs + 120)) nice -n 19 "$bin" -max_total_time="$secs" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="build/fuzz/crashes/$t-" \
		"${extra[@]}" "$work" "$seeds" >"$log" 2>&1
	rc=$?
	elapsed=$(($(date +%s) - t0))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	# Interrupted before the final stats: the last status line "#N ...".
	[ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9][0-9]*\)\s.*/\1/p' "$log" | tail -n 1)
	execs=${execs:-0}
	crashes=$(grep -c 'Test unit written to' "$log")
	if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ] && ! grep -q 'run interrupted' "$log"; then
		# A failure that left no reproducer (e.g. the fuzzer itself died);
		# a run stopped by SIGINT (the timeout above, or by hand) is not one.
		crashes=1
	fi
	[ "$crashes" -eq 0 ] || status=1
	(
		flock 9
		printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$start" "$t" "$elapsed" "$execs" "$crashes" \
			"$rev" >>"$ledger"
	) 9>>"$ledger"
	printf 'campaign: %-12s %6s s %12s execs %3s crashes (log %s)\n' "$t" "$elapsed" "$execs" \
		"$crashes" "$log"
	[ "$crashes" -eq 0 ] || grep -m 20 -E 'ERROR|SUMMARY|invariant|Test unit written' "$log"
done

[ "$ledger" = /dev/null ] && exit $status
# The totals that count: this commit's rows (issue 13: >= 10 M executions per
# target on one clean commit).
echo "campaign: totals for commit $rev in $ledger"
awk -F'\t' -v rev="$rev" 'NR > 1 && $6 == rev { s[$2] += $3; e[$2] += $4; c[$2] += $5; n[$2]++ }
	END {
		printf "%-12s %5s %9s %14s %7s\n", "target", "runs", "seconds", "executions", "crashes"
		fflush()
		for (t in e) printf "%-12s %5d %9d %14d %7d\n", t, n[t], s[t], e[t], c[t] | "sort"
		close("sort")
	}' "$ledger"
exit $status
