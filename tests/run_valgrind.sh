#!/usr/bin/env bash
# Run each unit-test binary given as an argument under valgrind's memcheck
# (invalid accesses, uninitialised reads, definite/indirect/possible leaks:
# all errors), and print "valgrind: N passed, N failed".
set -u
pass=0
fail=0
for bin in "$@"; do
	name=$(basename "$bin")
	out=$(timeout 600 valgrind -q --error-exitcode=99 --leak-check=full \
		--show-leak-kinds=definite,indirect,possible \
		--errors-for-leak-kinds=definite,indirect,possible \
		--track-fds=no "$bin" 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ]; then
		printf '%s\n' "$out" | tail -n 80
		echo "FAIL valgrind $name (status $rc)"
		fail=$((fail + 1))
	else
		echo "PASS valgrind $name"
		pass=$((pass + 1))
	fi
done
echo "valgrind: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
