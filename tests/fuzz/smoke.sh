#!/usr/bin/env bash
# tests/fuzz/smoke.sh SECONDS TARGET... - run each libFuzzer target in
# build/fuzz/ for SECONDS, seeded with tests/fuzz/corpus/TARGET/ (read-only:
# new inputs go to build/fuzz/corpus/TARGET/).  A crash, leak, sanitizer
# report or timeout fails the target; its reproducer is left in
# build/fuzz/crashes/.  Prints executions per target and a closing
# "fuzz-smoke: N passed, N failed".
set -u
secs=$1
shift
cd "$(dirname "$0")/../.."
pass=0
fail=0
total=0
mkdir -p build/fuzz/crashes
for t in "$@"; do
	work=build/fuzz/corpus/$t
	seeds=tests/fuzz/corpus/$t
	log=build/fuzz/$t.log
	mkdir -p "$work" "$seeds"
	extra=()
	[ -f "tests/fuzz/$t.options" ] && mapfile -t extra < <(grep -v '^\s*#' "tests/fuzz/$t.options")
	timeout $((secs + 120)) "build/fuzz/$t" -max_total_time="$secs" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="build/fuzz/crashes/$t-" \
		"${extra[@]}" "$work" "$seeds" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	execs=${execs:-0}
	total=$((total + execs))
	if [ "$rc" -eq 0 ]; then
		pass=$((pass + 1))
		printf 'PASS fuzz %-12s %10s execs\n' "$t" "$execs"
	else
		fail=$((fail + 1))
		grep -m 30 -E 'ERROR|SUMMARY|invariant|#[0-9]+ 0x|Test unit written' "$log"
		printf 'FAIL fuzz %-12s %10s execs (status %d, log %s)\n' "$t" "$execs" "$rc" "$log"
	fi
done
echo "fuzz-smoke: $total executions"
echo "fuzz-smoke: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
