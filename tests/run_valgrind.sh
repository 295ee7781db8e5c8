#!/usr/bin/env bash
# Run each unit-test binary given as an argument under valgrind's memcheck
# (invalid accesses, uninitialised reads, definite/indirect/possible leaks:
# all errors), and print "valgrind: N passed, N failed, N skipped".
set -u
pass=0
fail=0
skip=0
# Binaries that cannot run under valgrind, with the reason (they still run
# in 'make unit' and 'make SANITIZE=1 unit').
declare -A skip_reason=(
	[test_seccomp]="installs real seccomp filters and expects a forbidden syscall to kill the thread: valgrind executes the client's syscalls itself (and makes its own), so the filters do not act as they do natively"
)
for bin in "$@"; do
	name=$(basename "$bin")
	if [ -n "${skip_reason[$name]:-}" ]; then
		echo "SKIP valgrind $name: ${skip_reason[$name]}"
		skip=$((skip + 1))
		continue
	fi
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
echo "valgrind: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
