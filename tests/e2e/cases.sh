#!/bin/bash
# Inner e2e cases: boot the guest under an inner VMM on a KVM that can run
# Linux (inside the venue, or natively), check what the guest reports.
#
#   cases.sh --out DIR [--vmm ktvm|qemu] [--only NAME,...]
#   cases.sh --out DIR --boot-time [--runs 5] [--vmms ktvm,qemu]
#   cases.sh --out DIR --net-bench [--runs 3]    (cases-net.sh)
#   cases.sh --out DIR --mq-bench [--runs 3]     (cases-mq.sh)
#
# Prints "PASS name (Ns)" / "FAIL name: reason" per case and a summary line
# "cases: N passed, N failed"; exit status 1 if any failed. Per case, DIR gets
# NAME.console (guest serial), NAME.stderr (VMM), NAME.status, NAME.ms,
# NAME.marker_ms, NAME.result. Run again on the same DIR, it resumes.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$E2E_SRC/vmm.sh"

out='' vmm=${E2E_VMM:-ktvm} only='' boot_time='' net_bench='' mq_bench='' runs='' vmms=ktvm,qemu
while (($#)); do
	case $1 in
	--out) out=$2; shift 2 ;;
	--vmm) vmm=$2; shift 2 ;;
	--only) only=$2; shift 2 ;;
	--boot-time) boot_time=1; shift ;;
	--net-bench) net_bench=1; shift ;;
	--mq-bench) mq_bench=1; shift ;;
	--runs) runs=$2; shift 2 ;;
	--vmms) vmms=$2; shift 2 ;;
	*) die "cases.sh: unknown argument $1" ;;
	esac
done
[[ -n $out ]] || die "cases.sh: --out DIR required"
mkdir -p "$out"
[[ -c /dev/kvm ]] || die "no /dev/kvm here"

BZIMAGE=$E2E_BUILD/kernel/vmlinuz
VMLINUX=$E2E_BUILD/kernel/vmlinux
INITRD=$E2E_BUILD/guest/initrd.cpio.gz
. "$E2E_SRC/cases-net.sh"
. "$E2E_SRC/cases-mq.sh"
. "$E2E_SRC/cases-gdb.sh"
. "$E2E_SRC/cases-soak.sh"
PAYLOAD_SHA=$(cat "$E2E_BUILD/guest/payload.sha256") || die "guest initrd not built"
MARKER='KTVM-E2E: init reached'

# run_inner NAME VMM KERNEL CPUS MEM TIMEOUT CMDLINE [INITRD]
# Runs one guest, timing from the outside: NAME.ms = VMM start to exit,
# NAME.marker_ms = VMM start to the init marker line on the console.
run_inner() {
	local name=$1 v=$2 k=$3 cpus=$4 mem=$5 t=$6 cmdline=$7 initrd=${8:-$INITRD} t0 rc
	t0=$(now_ms)
	# The safety net is longer than the VMM's own timeout: ktvm's --timeout is
	# under test, and a VMM must not keep the whole run hanging.
	timeout -k 5 $((t + 30)) bash -c '. "$1"; shift; "$@"' _ "$E2E_SRC/vmm.sh" \
		"vmm_$v" "$k" "$initrd" "$cpus" "$mem" "$t" "$cmdline" 2>"$out/$name.stderr" |
		stamp_console "$t0" "$out/$name.console" "$out/$name.marker_ms"
	rc=${PIPESTATUS[0]}
	echo $(($(now_ms) - t0)) >"$out/$name.ms"
	echo "$rc" >"$out/$name.status"
}

# Copy the console to a file; note when the marker line arrives.
stamp_console() {
	local t0=$1 file=$2 mfile=$3 line seen=
	: >"$mfile"
	while IFS= read -r line || [[ -n $line ]]; do
		printf '%s\n' "$line" >>"$file"
		if [[ -z $seen && $line == *"$MARKER"* ]]; then
			seen=1
			echo $(($(now_ms) - t0)) >"$mfile"
		fi
	done
}

# field NAME KEY: value of "KTVM-E2E: KEY=value" from the guest's console.
field() {
	sed -n "s/^KTVM-E2E: .*\\b$2=\\([^ ]*\\).*/\\1/p" "$out/$1.console" | tr -d '\r' | head -n1
}

to_mib() { # 256M / 1G / 268435456 -> MiB
	case $1 in
	*[gG]) echo $((${1%[gG]} * 1024)) ;;
	*[mM]) echo "${1%[mM]}" ;;
	*) echo $(($1 / 1048576)) ;;
	esac
}

# Case table: NAME KERNEL CPUS MEMORY MODE TIMEOUT EXPECTED_STATUS [INITRD]
# (INITRD: the plain one unless given; panic needs the network initrd's pvpanic-pci)
CASES=(
	"boot-1cpu-bzimage   $BZIMAGE 1 256M poweroff 30 0"
	"boot-4cpu-vmlinux   $VMLINUX 4 256M poweroff 30 0"
	"reboot-vmlinux      $VMLINUX 1 256M reboot   30 0"
	"exit42-bzimage      $BZIMAGE 1 256M exit42   30 42"
	"timeout5-vmlinux    $VMLINUX 1 256M hang      5 124"
	"panic-vmlinux       $VMLINUX 1 256M panic    30 3 $NET_INITRD"
)
TIMEOUT_MARGIN_MS=3000

# check NAME CPUS MEM MODE TIMEOUT EXPECTED TOKEN: echo a reason on failure.
check() {
	local name=$1 cpus=$2 mem=$3 mode=$4 t=$5 want=$6 token=$7
	local st ms got_cpus kb lo hi
	st=$(cat "$out/$name.status")
	ms=$(cat "$out/$name.ms")
	if [[ $mode == hang ]]; then
		[[ $st == 124 ]] || { echo "status $st, want 124 ($(tail -n1 "$out/$name.stderr"))"; return; }
		((ms <= t * 1000 + TIMEOUT_MARGIN_MS)) || { echo "took ${ms} ms for --timeout $t"; return; }
		return
	fi
	grep -q "$MARKER" "$out/$name.console" || { echo "no init marker (status $st; $(tail -n1 "$out/$name.stderr"))"; return; }
	[[ $st == "$want" ]] || { echo "status $st, want $want"; return; }
	got_cpus=$(field "$name" cpus)
	[[ $got_cpus == "$cpus" ]] || { echo "guest sees ${got_cpus:-?} CPUs, want $cpus"; return; }
	kb=$(field "$name" memtotal_kb)
	hi=$(($(to_mib "$mem") * 1024))
	lo=$((hi * 3 / 4)) # kernel image, initrd and reserved areas stay below 25 %
	if [[ -z $kb ]] || ((kb < lo || kb > hi)); then echo "MemTotal ${kb:-?} kB not in [$lo, $hi] for --memory $mem"; return; fi
	grep -q "^KTVM-E2E: cmdline=.*ktvm.token=$token" "$out/$name.console" || { echo "token missing from /proc/cmdline"; return; }
	[[ $(field "$name" payload_sha256) == "$PAYLOAD_SHA" ]] || { echo "initrd payload checksum mismatch"; return; }
	[[ $(field "$name" mode) == "$mode" ]] || { echo "guest did not see ktvm.test=$mode"; return; }
	if [[ $mode == panic ]] && ! grep -q 'Kernel panic' "$out/$name.console"; then
		echo "status 3 but no 'Kernel panic' on the console"
		return
	fi
}

# The emulated machine sometimes freezes inside a VMM run (soft lockup of the
# VMM's thread in the outer kernel; seen with QEMU as inner VMM too). The outer
# kernel then panics (softlockup_panic) and run.sh starts a fresh machine that
# runs this script again: cases with a result are skipped, and a case is given
# at most $MAX_TRIES starts. The caller decides how to report it.
MAX_TRIES=4 # freezes and crashed guests (run.sh retries those) share the budget
# want_run NAME: 0 = run it now; 1 = already done; 2 = froze $MAX_TRIES times.
want_run() {
	local n
	[[ -e $out/$1.done ]] && return 1
	n=$(cat "$out/$1.tries" 2>/dev/null || echo 0)
	((n >= MAX_TRIES)) && return 2
	echo $((n + 1)) >"$out/$1.tries"
	sync "$out/$1.tries" 2>/dev/null || true # survive a freeze right after
	return 0
}

one_case() { # runs and checks one table row; prints its result line
	local name k cpus mem mode t want initrd token reason ms rc=0
	read -r name k cpus mem mode t want initrd <<<"$1"
	want_run "$name" || rc=$?
	((rc == 1)) && return 0
	if ((rc == 2)); then
		reason="the venue froze during this case $MAX_TRIES times"
	else
		# Harness self-test of the recovery: crash the venue on a case's first try.
		if [[ ${E2E_FAKE_FREEZE:-} == "$name" && $(cat "$out/$name.tries") == 1 && -n ${E2E_IN_VENUE:-} ]]; then
			echo c >/proc/sysrq-trigger
		fi
		token=$RANDOM$RANDOM-$name
		run_inner "$name" "$vmm" "$k" "$cpus" "$mem" "$t" "quiet ktvm.test=$mode ktvm.token=$token" "${initrd:-$INITRD}"
		reason=$(check "$name" "$cpus" "$mem" "$mode" "$t" "$want" "$token")
	fi
	if [[ -z $reason ]]; then
		ms=$(cat "$out/$name.ms")
		printf 'PASS %s (%d.%ds)\n' "$name" $((ms / 1000)) $((ms % 1000 / 100))
	else
		printf 'FAIL %s: %s\n' "$name" "$reason"
	fi | tee "$out/$name.result"
	: >"$out/$name.done"
}

# Sequential on purpose: with 2 emulated CPUs, two guests at once took as long
# as one after the other (measured: 36 s for the 5 cases either way).
run_cases() {
	local row name p f
	for row in "${CASES[@]}"; do
		read -r name _ <<<"$row"
		[[ -z $only || ,$only, == *,$name,* ]] || continue
		[[ $vmm != ktvm && $name == panic-* ]] && continue # pvpanic-pci: ktvm's
		one_case "$row"
	done
	# The network cases need a VMM with --net: ktvm.
	if [[ $vmm == ktvm ]]; then
		for name in "${NET_CASES[@]}"; do
			[[ -z $only || ,$only, == *,$name,* ]] || continue
			net_case "$name"
		done
		run_mq_cases
		[[ -z $only || ,$only, == *,gdb-attach,* ]] && net_case gdb-attach
		run_soak_cases
	fi
	cat "$out"/*.result >"$out/results.txt" 2>/dev/null
	p=$(grep -c '^PASS' "$out/results.txt")
	f=$(grep -c '^FAIL' "$out/results.txt")
	echo "cases: $p passed, $f failed"
	((f == 0))
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR) print (NR % 2 ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)); else print "?"}'; }

# Boot time: VMM start -> init marker, interleaved A B A B so drift in the
# emulated machine hits every VMM alike; median of $runs.
boot_time() {
	local i v list name ms rc f
	IFS=, read -ra list <<<"$vmms"
	for ((i = 1; i <= runs; i++)); do
		for v in "${list[@]}"; do
			name=boottime-$v-$i rc=0
			want_run "$name" || rc=$?
			((rc == 1)) && continue
			if ((rc == 2)); then
				echo "boot-time $v run $i: venue froze $MAX_TRIES times" | tee "$out/$name.result"
				: >"$out/$name.done"
				continue
			fi
			run_inner "$name" "$v" "$VMLINUX" 1 256M 30 "quiet ktvm.test=poweroff"
			ms=$(cat "$out/$name.marker_ms")
			echo "boot-time $v run $i: ${ms:-no marker} ms (status $(cat "$out/$name.status"))"
			: >"$out/$name.done"
		done
	done
	for v in "${list[@]}"; do
		f=$out/boottime-$v.txt
		cat "$out"/boottime-"$v"-*.marker_ms 2>/dev/null | grep . >"$f"
		echo "boot-time $v: median $(median <"$f") ms of $(wc -l <"$f") runs (vmlinux, 1 vCPU, 256M, VMM start to init marker)"
	done
}

if [[ -n $boot_time ]]; then
	runs=${runs:-5}
	boot_time
elif [[ -n $net_bench ]]; then
	runs=${runs:-3}
	net_bench
elif [[ -n $mq_bench ]]; then
	runs=${runs:-3}
	mq_bench
else
	run_cases
fi
