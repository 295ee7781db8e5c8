#!/usr/bin/env bash
# Run each cmocka unit-test binary given as an argument, with a time limit,
# and print "unit: N passed, N failed".  A binary that dies before cmocka's
# summary (a crash, a hang) counts as one failure.
set -u
pass=0
fail=0
for bin in "$@"; do
	name=$(basename "$bin")
	out=$(timeout 120 "$bin" 2>&1)
	rc=$?
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' <<<"$out" | tail -n 1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' <<<"$out" | tail -n 1)
	p=${p:-0}
	f=${f:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1 # died without a summary
	fi
	if [ "$f" -ne 0 ]; then
		printf '%s\n' "$out"
		echo "FAIL $name (status $rc)"
	else
		echo "PASS $name ($p tests)"
	fi
	pass=$((pass + p))
	fail=$((fail + f))
done
# The package check (deps/ensure.sh and its Makefile wiring), with fakes.
dir=$(cd "$(dirname "$0")" && pwd)
out=$("$dir/deps/test.sh" 2>&1)
printf '%s\n' "$out" | grep -v '^PASS '
p=$(sed -n 's/^deps: \([0-9]*\) passed, \([0-9]*\) failed/\1/p' <<<"$out")
f=$(sed -n 's/^deps: \([0-9]*\) passed, \([0-9]*\) failed/\2/p' <<<"$out")
pass=$((pass + ${p:-0}))
fail=$((fail + ${f:-1}))
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
