#!/bin/bash
# Inner e2e cases: boot the guest under an inner VMM on a KVM that can run
# Linux (inside the venue, or natively), check what the guest reports.
#
#   cases.sh --out DIR [--vmm ktvm|qemu] [--only NAME,...] [--kernel 6.12 [--all]]
#       --kernel 6.12: Debian's 6.12 guest kernel, the K612_CASES subset (--all:
#       every case); result lines name the cases NAME@6.12
#   cases.sh --out DIR --boot-time [--runs 5] [--vmms V,...]  (variants: boot_variant)
#   cases.sh --out DIR --boot-profile [--vmms V,...]  (initcall_debug, dmesg)
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

out='' vmm=${E2E_VMM:-ktvm} only='' boot_time='' boot_profile='' net_bench='' mq_bench='' mem_bench='' runs='' vmms=ktvm,qemu
while (($#)); do
	case $1 in
	--out) out=$2; shift 2 ;;
	--vmm) vmm=$2; shift 2 ;;
	--only) only=$2; shift 2 ;;
	--boot-time) boot_time=1; shift ;;
	--boot-profile) boot_profile=1; shift ;;
	--net-bench) net_bench=1; shift ;;
	--mq-bench) mq_bench=1; shift ;;
	--mem-bench) mem_bench=1; shift ;;
	--runs) runs=$2; shift 2 ;;
	--vmms) vmms=$2; shift 2 ;;
	--kernel) kver=$2; shift 2 ;;
	--all) all=1; shift ;;
	*) die "cases.sh: unknown argument $1" ;;
	esac
done
[[ -n $out ]] || die "cases.sh: --out DIR required"
mkdir -p "$out"
[[ -c /dev/kvm ]] || die "no /dev/kvm here"

# The second guest kernel's subset in make test: a boot of each format, the
# exit paths, the NIC's main cases, multiqueue and the demo.
K612_CASES=boot-1cpu-bzimage,boot-4cpu-vmlinux,exit42-bzimage,panic-vmlinux,net-ping,net-mtu9000,net-offloads,net-iperf,mq-channels,mq-resize,demo
kver=${kver:-6.1} KSUF=''
if [[ $kver == 6.1 ]]; then
	KDIR=$E2E_BUILD/kernel GDIR=$E2E_BUILD/guest
	# NAME@K in --only is another kernel's case.
	if [[ -n $only ]]; then
		only=$(tr , '\n' <<<"$only" | grep -v @ | paste -sd, -)
		[[ -n $only ]] || { echo "cases: 0 passed, 0 failed"; exit 0; }
	fi
else
	KDIR=$E2E_BUILD/kernel-$kver GDIR=$E2E_BUILD/guest-$kver KSUF=@$kver
	if [[ -n $only ]]; then
		only=$(tr , '\n' <<<"$only" | sed -n "s/@$kver\$//p" | paste -sd, -)
		[[ -n $only ]] || { echo "cases: 0 passed, 0 failed"; exit 0; }
	elif [[ -z ${all:-} ]]; then
		only=$K612_CASES
	fi
fi
BZIMAGE=$KDIR/vmlinuz
VMLINUX=$KDIR/vmlinux
INITRD=$GDIR/initrd.cpio.gz
. "$E2E_SRC/cases-net.sh"
. "$E2E_SRC/cases-mq.sh"
. "$E2E_SRC/cases-gdb.sh"
. "$E2E_SRC/cases-soak.sh"
PAYLOAD_SHA=$(cat "$GDIR/payload.sha256") || die "guest initrd not built"
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
		local test=$mode
		# Harness self-test of the crash retry (run.sh): the guest of this case's
		# first try really crashes (a sysrq panic, then panic=-1 reboots at once).
		if [[ ${E2E_FAKE_CRASH:-} == "$name" && -z $KSUF && $(cat "$out/$name.tries") == 1 && -n ${E2E_IN_VENUE:-} ]]; then
			test="panic panic=-1"
		fi
		run_inner "$name" "$vmm" "$k" "$cpus" "$mem" "$t" "quiet ktvm.test=$test ktvm.token=$token" "${initrd:-$INITRD}"
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
		[[ -z $only || ,$only, == *,gdb-interrupt,* ]] && net_case gdb-interrupt
		# Breakpoints never reach nested KVM in the emulated venue (int3 and debug
		# registers alike, measured): on real hardware only, or when named.
		if [[ ,$only, == *,gdb-hbreak,* || ( -z $only && -z ${E2E_IN_VENUE:-} ) ]]; then
			net_case gdb-hbreak
		fi
		run_soak_cases
	fi
	# (NAME.tryK.result: a crashed attempt's, kept by run.sh; the retry's result counts.)
	local r
	for r in "$out"/*.result; do
		[[ -e $r && $r != *.try[0-9]*.result ]] && cat "$r"
	done >"$out/results.txt"
	p=$(grep -c '^PASS' "$out/results.txt")
	f=$(grep -c '^FAIL' "$out/results.txt")
	echo "cases: $p passed, $f failed"
	((f == 0))
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR) print (NR % 2 ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)); else print "?"}'; }

# Boot-time variants: NAME -> "VMM KERNEL" (vmm_VMM in vmm.sh). ktvm and qemu
# alone are the older names of ktvm-pvh and qemu-microvm; ktvmbase-* runs the
# binary in $E2E_KTVM_BASE (a baseline build) the same way.
boot_variant() {
	case $1 in
	ktvm | ktvm-pvh) echo "ktvm $VMLINUX" ;;
	ktvm-bzimage) echo "ktvm $BZIMAGE" ;;
	ktvmbase-pvh) echo "ktvmbase $VMLINUX" ;;
	ktvmbase-bzimage) echo "ktvmbase $BZIMAGE" ;;
	qemu | qemu-microvm) echo "qemu $VMLINUX" ;;
	qemu-microvm-bzimage) echo "qemu $BZIMAGE" ;;
	qemu-q35) echo "qemu_q35 $BZIMAGE" ;;
	*) return 1 ;;
	esac
}

# stats: "median min max n" of the numbers on stdin (one per line; "? ? ? 0" if none).
stats() {
	sort -g | awk '{a[NR]=$1} END {
		if (!NR) { print "? ? ? 0"; exit }
		m = NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2
		printf "%g %g %g %d\n", m, a[1], a[NR], NR }'
}

jnum() { [[ $1 == '?' ]] && echo null || echo "$1"; } # JSON number or null

# Boot time: VMM start -> init marker, interleaved A B C D A B C D so drift in
# the emulated machine hits every variant alike; median, min and max of $runs.
# Per run also the guest's own uptime when /init started (/proc/uptime, printed
# by guest-init) and, for ktvm, its setup time (process start -> first
# KVM_RUN, from its --log-level info timestamps).
# Results: boottime.tsv (one line per run) and boottime.json (the summary).
boot_time() {
	local i v list name ms rc vmm k up setup st n tsv=$out/boottime.tsv json
	local ref='' med lo hi cnt upm setm ratio first=1
	IFS=, read -ra list <<<"$vmms"
	for v in "${list[@]}"; do
		boot_variant "$v" >/dev/null || die "cases.sh: unknown boot-time variant $v (ktvm-bzimage, ktvm-pvh, qemu-microvm, qemu-q35, ktvmbase-pvh, ktvmbase-bzimage)"
	done
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
			read -r vmm k <<<"$(boot_variant "$v")"
			E2E_KTVM_LOG_LEVEL=info run_inner "$name" "$vmm" "$k" 1 256M 30 "quiet ktvm.test=poweroff"
			ms=$(cat "$out/$name.marker_ms")
			st=$(cat "$out/$name.status")
			up=$(field "$name" uptime)
			setup=$(sed -n 's/^ktvm: \[ *\([0-9.]*\)\].*first KVM_RUN.*/\1/p' "$out/$name.stderr" | head -n1)
			[[ -n $setup ]] && setup=$(awk -v s="$setup" 'BEGIN {printf "%.1f", s * 1000}')
			printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$v" "$i" "${ms:--}" "$st" "${up:--}" "${setup:--}" >"$out/$name.tsv"
			echo "boot-time $v run $i: ${ms:-no marker} ms (status $st, guest uptime at /init ${up:-?} s${setup:+, ktvm setup $setup ms})"
			: >"$out/$name.done"
		done
	done
	printf 'variant\trun\tmarker_ms\tstatus\tguest_uptime_s\tktvm_setup_ms\n' >"$tsv"
	for v in "${list[@]}"; do
		for ((i = 1; i <= runs; i++)); do
			cat "$out/boottime-$v-$i.tsv" 2>/dev/null
		done
	done >>"$tsv"
	# The reference for the ratio: QEMU microvm if it ran.
	for v in qemu-microvm qemu; do
		[[ ,$vmms, == *,$v,* ]] || continue
		ref=$(awk -F'\t' -v v="$v" '$1 == v && $3 != "-" {print $3}' "$tsv" | stats | cut -d' ' -f1)
		break
	done
	json=$out/boottime.json
	{
		echo '{'
		echo '  "what": "VMM start to the guest init marker, 1 vCPU, 256 MiB, quiet; ms",'
		echo "  \"runs\": $runs,"
		echo "  \"mode\": \"$([[ -n ${E2E_IN_VENUE:-} ]] && echo venue || echo native)\","
		echo '  "variants": {'
	} >"$json"
	for v in "${list[@]}"; do
		read -r med lo hi cnt <<<"$(awk -F'\t' -v v="$v" '$1 == v && $3 != "-" {print $3}' "$tsv" | stats)"
		upm=$(awk -F'\t' -v v="$v" '$1 == v && $5 != "-" {print $5}' "$tsv" | stats | cut -d' ' -f1)
		setm=$(awk -F'\t' -v v="$v" '$1 == v && $6 != "-" {print $6}' "$tsv" | stats | cut -d' ' -f1)
		ratio='?'
		[[ -n $ref && $ref != '?' && $med != '?' ]] && ratio=$(awk -v a="$med" -v b="$ref" 'BEGIN {printf "%.2f", a / b}')
		n=$runs
		echo "boot-time $v: median $med ms, min $lo, max $hi, $cnt of $n runs; guest uptime at /init $upm s$([[ $setm != '?' ]] && echo ", ktvm setup $setm ms"); /qemu-microvm $ratio"
		((first)) || echo ',' >>"$json"
		first=0
		printf '    "%s": {"median_ms": %s, "min_ms": %s, "max_ms": %s, "n": %s, "guest_uptime_at_init_s": %s, "ktvm_setup_ms": %s, "ratio_to_qemu_microvm": %s}' \
			"$v" "$(jnum "$med")" "$(jnum "$lo")" "$(jnum "$hi")" "$cnt" "$(jnum "$upm")" "$(jnum "$setm")" "$(jnum "$ratio")" >>"$json"
	done
	printf '\n  }\n}\n' >>"$json"
	echo "boot-time: results in $tsv and $json"
}

# Boot profile: each variant boots once with initcall_debug and printk
# timestamps; the guest prints its kernel log at the end (ktvm.test=dmesg:
# initcalls of 1 ms or more and every other line), into bootprofile-V.console.
boot_profile() {
	local v vmm k name list
	IFS=, read -ra list <<<"$vmms"
	for v in "${list[@]}"; do
		read -r vmm k <<<"$(boot_variant "$v")" || die "cases.sh: unknown boot-time variant $v"
		name=bootprofile-$v
		want_run "$name" || continue
		E2E_KTVM_LOG_LEVEL=info run_inner "$name" "$vmm" "$k" 1 256M 120 \
			"quiet ktvm.test=dmesg initcall_debug printk.time=1 log_buf_len=4M"
		echo "boot-profile $v: init marker at $(cat "$out/$name.marker_ms") ms, status $(cat "$out/$name.status"), $(grep -c 'initcall' "$out/$name.console") initcalls >= 1 ms; log in $out/$name.console"
		: >"$out/$name.done"
	done
}

main() {
	if [[ -n $boot_profile ]]; then
		boot_profile
	elif [[ -n $boot_time ]]; then
		runs=${runs:-5}
		boot_time
	elif [[ -n $net_bench ]]; then
		runs=${runs:-3}
		net_bench
	elif [[ -n $mq_bench ]]; then
		runs=${runs:-3}
		mq_bench
	elif [[ -n $mem_bench ]]; then
		runs=${runs:-3}
		mem_bench
	else
		run_cases
	fi
}

if [[ -n $KSUF ]]; then
	# The second kernel's results carry its name: NAME@6.12.
	main | sed -u -E "s/^(PASS|FAIL) ([a-z0-9-]+)/\1 \2$KSUF/"
	exit "${PIPESTATUS[0]}"
fi
main
