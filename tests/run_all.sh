#!/usr/bin/env bash
# make test: the unit tests, then the end-to-end tests; the last line is
# "N passed, N failed" over both, and the status is non-zero if any failed.
set -u
cd "$(dirname "$0")/.."

count() { # $1 = prefix, $2 = file: the "prefix: N passed, N failed" line's numbers
	sed -n "s/^$1: \([0-9]*\) passed, \([0-9]*\) failed.*/\1 \2/p" "$2" | tail -n 1
}

log_dir=build/test-logs
mkdir -p "$log_dir"

# Real kernels for the loader unit tests (cached under build/e2e).
if tests/e2e/fetch-kernel.sh 3>&2 >"$log_dir/fetch-kernel.log" 2>&1; then
	export KTVM_TEST_KERNEL=$PWD/build/e2e/kernel/vmlinuz
	export KTVM_TEST_VMLINUX=$PWD/build/e2e/kernel/vmlinux
else
	echo "warning: could not fetch Debian's kernel (see $log_dir/fetch-kernel.log); real-image tests skip"
fi

# Debian's arm64 Image and the arm64 venue's images (build/e2e/arm64).
if tests/e2e/arm64/prepare.sh 3>&2 >"$log_dir/arm64-prepare.log" 2>&1; then
	export KTVM_TEST_ARM64_IMAGE=$PWD/build/e2e/arm64/Image
else
	echo "warning: could not fetch Debian's arm64 kernel (see $log_dir/arm64-prepare.log); real-image tests skip"
fi

tests/run_unit.sh "$@" | tee "$log_dir/unit.log"
# In the venue, one case's first guest crashes on purpose (a sysrq panic): the
# retry must keep that attempt's files and quote its console (retry-evidence).
# E2E_FAKE_CRASH= (empty) turns the self-test off.
export E2E_FAKE_CRASH=${E2E_FAKE_CRASH-reboot-vmlinux}
tests/e2e/run.sh 2>&1 | tee "$log_dir/e2e.log"
# arm64: a cross-built ktvm in an emulated arm64 with EL2 (~1-4 min).
tests/e2e/arm64/run.sh 2>&1 | tee "$log_dir/e2e-arm64.log"

read -r up uf <<<"$(count unit "$log_dir/unit.log")"
read -r ep ef <<<"$(count e2e "$log_dir/e2e.log")"
read -r ap af <<<"$(count e2e-arm64 "$log_dir/e2e-arm64.log")"
up=${up:-0}; uf=${uf:-1}; ep=${ep:-0}; ef=${ef:-1}; ap=${ap:-0}; af=${af:-1}
echo "$((up + ep + ap)) passed, $((uf + ef + af)) failed"
[ $((uf + ef + af)) -eq 0 ]
