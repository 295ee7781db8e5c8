#!/bin/bash
# End-to-end tests of ktvm (make e2e). Boots Debian's kernel with a busybox
# initramfs under ktvm and checks what the guest reports.
#
#   run.sh [--vmm ktvm|qemu] [--only CASE,...]   the test cases
#   run.sh --boot-time [--runs N] [--vmms V,...]  boot time: median, min, max;
#       V: ktvm-bzimage, ktvm-pvh, qemu-microvm, qemu-q35 (the default: all four),
#       ktvmbase-pvh, ktvmbase-bzimage (the ktvm in $E2E_KTVM_BASE)
#   run.sh --boot-profile [--vmms V,...]  one boot each with initcall_debug: the
#       guest's kernel log (timestamps, initcalls >= 1 ms) in bootprofile-V.console
#   run.sh --net-bench [--runs N]     iperf3 both orientations + ping, per-GB counters:
#       ktvm, QEMU microvm and pc with vhost=off/on, median of 3 (+ a strace boot)
#   run.sh --mq-bench [--runs N]      iperf3 -P 4 with 1, 2, 4 queue pairs: ktvm, QEMU, median of 3
#   run.sh --mem-bench [--runs N]     RSS outside guest RAM, idle guest: ktvm, QEMU, median of 3
#
# Native when this host's /dev/kvm can run Linux (vmx/svm); otherwise in the
# "venue": an emulated x86 with SVM (outer.sh) whose nested KVM can.
# Output: one line per case, "PASS name (Ns)" or "FAIL name: reason", then
# "e2e: N passed, N failed". Logs: build/e2e/runs/<run>/.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

vmm=${E2E_VMM:-ktvm} only='' boot_time='' boot_profile='' net_bench='' mq_bench='' mem_bench='' runs='' vmms=ktvm-bzimage,ktvm-pvh,qemu-microvm,qemu-q35
while (($#)); do
	case $1 in
	--vmm) vmm=$2; shift 2 ;;
	--only) only=$2; shift 2 ;;
	--boot-time) boot_time=1; shift ;;
	--boot-profile) boot_profile=1; shift ;;
	--net-bench) net_bench=1; shift ;;
	--mq-bench) mq_bench=1; shift ;;
	--mem-bench) mem_bench=1; shift ;;
	--runs) runs=$2; shift 2 ;;
	--vmms) vmms=$2; shift 2 ;;
	-h | --help) sed -n '2,19p' "$0"; exit 0 ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
done

ensure_packages
"$E2E_SRC/fetch-kernel.sh"
"$E2E_SRC/build-guest-initrd.sh"

mkdir -p "$E2E_BUILD/runs"
# Keep the last few runs' logs only.
ls -1dt "$E2E_BUILD"/runs/run.* 2>/dev/null | tail -n +6 | xargs -r rm -rf || true
RUN=$(mktemp -d "$E2E_BUILD/runs/run.$(date +%Y%m%d-%H%M%S).XXXX")
: >"$RUN/summary.txt"
report() { echo "$1" | tee -a "$RUN/summary.txt"; }

if host_has_hw_virt; then
	mode=native
	echo "e2e: native mode (/dev/kvm with vmx/svm on this host); logs in $RUN"
else
	mode=venue
	echo "e2e: venue mode (no usable hardware virtualisation here: guests run under nested KVM in an emulated x86); logs in $RUN"
fi

# --- Cases without a guest: the CLI's and the KVM check's error paths. ---
# host_case NAME WANT_STATUS MAX_SECONDS ARGS...: status and exactly one stderr line.
host_case() {
	local name=$1 want=$2 max=$3 t0 ms rc lines
	shift 3
	t0=$(now_ms)
	set +e
	timeout -k 2 30 "$KTVM" "$@" </dev/null >"$RUN/$name.stdout" 2>"$RUN/$name.stderr"
	rc=$?
	set -e
	ms=$(($(now_ms) - t0))
	lines=$(wc -l <"$RUN/$name.stderr")
	if ((rc != want)); then
		report "FAIL $name: status $rc, want $want ($(head -c 200 "$RUN/$name.stderr" | head -n1))"
	elif ((lines != 1)); then
		report "FAIL $name: $lines lines on stderr, want exactly 1"
	elif ((ms > max * 1000)); then
		report "FAIL $name: took ${ms} ms, want under ${max} s"
	else
		report "$(printf 'PASS %s (%d.%ds)' "$name" $((ms / 1000)) $((ms % 1000 / 100)))"
	fi
}

host_cases() {
	local k=$E2E_BUILD/kernel/vmlinuz i=$E2E_BUILD/guest/initrd.cpio.gz
	if [[ ! -x $KTVM ]]; then
		report "FAIL host-cases: $KTVM not built"
		return
	fi
	host_case cli-missing-kernel 2 5 run --kernel "$RUN/no-such-kernel"
	host_case cli-text-kernel 2 5 run --kernel "$REPO/deps/packages.txt"
	host_case cli-cpus-0 2 5 run --kernel "$k" --cpus 0
	host_case cli-memory-1 2 5 run --kernel "$k" --memory 1
	# A /dev/kvm that cannot run Linux (kvm_pvm) must be refused up front,
	# not found out by a guest dying minutes later.
	# --net: a bad spec is a configuration error (status 2), found before
	# anything is opened. (A TAP that cannot be opened: net-tap-eperm, in cases.sh.)
	host_case net-bad-tap-name 2 5 run --kernel "$k" --net tap=averyveryverylongname
	host_case net-bad-mac 2 5 run --kernel "$k" --net tap=x,mac=zz
	host_case net-bad-key 2 5 run --kernel "$k" --net tap=x,bogus=1
	host_case net-same-mac 2 5 run --kernel "$k" --net tap=x --net tap=y
	host_case net-same-custom-mac 2 5 run --kernel "$k" --net tap=x,mac=02:00:00:00:00:05 --net tap=y,mac=02:00:00:00:00:05
	host_case net-bad-fd 2 5 run --kernel "$k" --net fd=99
	host_case net-bad-mtu 2 5 run --kernel "$k" --net tap=x,mtu=70000
	# A user name no database knows: the static ktvm must not load NSS modules (crashed once).
	host_case cli-unknown-user 2 5 run --kernel "$k" --user nosuchuser-ktvm
	if [[ -e /dev/kvm ]] && ! host_has_hw_virt; then
		host_case kvm-unusable-refused 1 5 run --kernel "$k" --initrd "$i" --timeout 20
	fi
}

# --- Cases with a guest ---
guest_cmd=("$E2E_SRC/cases.sh" --out "$RUN" --vmm "$vmm")
[[ -n $only ]] && guest_cmd+=(--only "$only")
outer_timeout=${E2E_OUTER_TIMEOUT:-$((900 + ${E2E_SOAK_SECONDS:-60} * 2))}
if [[ -n $boot_time ]]; then
	guest_cmd=("$E2E_SRC/cases.sh" --out "$RUN" --boot-time --runs "${runs:-5}" --vmms "$vmms")
	# ~5 s per boot (q35 ~10 s) in the venue, with room for a busy host.
	outer_timeout=${E2E_OUTER_TIMEOUT:-$((300 + ${runs:-5} * $(tr , '\n' <<<"$vmms" | wc -l) * 25))}
elif [[ -n $boot_profile ]]; then
	guest_cmd=("$E2E_SRC/cases.sh" --out "$RUN" --boot-profile --vmms "$vmms")
	outer_timeout=${E2E_OUTER_TIMEOUT:-900}
	boot_time=1 # same flow: no host cases, no pass/fail count
elif [[ -n $net_bench ]]; then
	guest_cmd=("$E2E_SRC/cases.sh" --out "$RUN" --net-bench --runs "${runs:-3}")
	# Per boot (5 VMMs a round, one more round under strace): ~60 s to boot
	# and ping, then 4 iperf3 runs with their snapshots.
	outer_timeout=${E2E_OUTER_TIMEOUT:-$((300 + (${runs:-3} + 1) * 5 * (90 + 4 * (${E2E_NET_BENCH_SECONDS:-10} + 15))))}
	boot_time=1 # same flow: no host cases, no pass/fail count
elif [[ -n $mq_bench ]]; then
	guest_cmd=("$E2E_SRC/cases.sh" --out "$RUN" --mq-bench --runs "${runs:-3}")
	outer_timeout=${E2E_OUTER_TIMEOUT:-2400}
	boot_time=1
elif [[ -n $mem_bench ]]; then
	guest_cmd=("$E2E_SRC/cases.sh" --out "$RUN" --mem-bench --runs "${runs:-3}")
	outer_timeout=${E2E_OUTER_TIMEOUT:-900}
	boot_time=1
fi

# Cases that FAILed with a crashed guest on record: a triple fault, a kernel
# panic, a BUG or double fault.  Nested SVM in the emulated venue produces
# these now and then, with QEMU as the inner VMM too (seen at 4 and 64 vCPUs).
CRASH_RE='triple fault|Kernel panic|BUG: |double fault|general protection fault'
# case_path NAME: where NAME's files are, without the extension: a case of the
# second kernel (NAME@6.12) has its own directory, k6.12/, in the run.
case_path() {
	if [[ $1 == *@* ]]; then echo "$RUN/k${1#*@}/${1%@*}"; else echo "$RUN/$1"; fi
}
# crashed_cases SUFFIX: the crashed cases of one kernel ("" or "@6.12").
crashed_cases() {
	local name p
	sed -n 's/^FAIL \([a-z0-9@.-]*\):.*/\1/p' "$RUN/summary.txt" | while read -r name; do
		[[ -n $name && $name != venue ]] || continue
		if [[ -n $1 ]]; then [[ $name == *"$1" ]] || continue; else [[ $name != *@* ]] || continue; fi
		p=$(case_path "$name")
		# A crash on record, or a guest whose console stopped before it was
		# up (NAME.hang, once: a second hang is a failure).
		if grep -qsE "$CRASH_RE" "$p.console" "$p.stderr" || [[ -e $p.hang && ! -e $p.try1.hang ]]; then
			echo "$name"
		fi
	done
	return 0 # an ordinary FAIL is not an error here (set -e, pipefail)
}

# keep_attempt NAME: move the files of NAME's failed attempt (console, stderr,
# status, result, snapshots ...) to NAME.tryK.*, K = 1, 2, ..., so a retry
# does not overwrite the evidence; .done and .result go with them, so the case
# runs again.  Prints K.
keep_attempt() {
	local p k=1 f rest
	p=$(case_path "$1")
	while compgen -G "$p.try$k.*" >/dev/null; do k=$((k + 1)); done
	for f in "$p".*; do
		[[ -e $f ]] || continue
		rest=${f#"$p."}
		[[ $rest == tries || $rest == try[0-9]* ]] && continue
		mv "$f" "$p.try$k.$rest"
	done
	echo "$k"
}

# last_console_lines FILE: its last 3 non-blank lines, joined with " | ", at most 300 characters.
last_console_lines() {
	[[ -s $1 ]] || return 0
	tr -d '\r' <"$1" | grep -v '^[[:space:]]*$' | tail -n 3 | paste -sd '|' | sed 's/|/ | /g' | cut -c1-300
}

# crash_line PATH: the first line of PATH.console or PATH.stderr that made it a crash.
crash_line() {
	grep -h -m1 -E "$CRASH_RE" "$1.console" "$1.stderr" 2>/dev/null | tr -d '\r' | head -n1 | cut -c1-160
}

# guest_cases [SUFFIX]: run guest_cmd (in the venue: fresh machines as needed)
# and retry the crashed cases of that kernel.
guest_cases() {
	local name retry pass k why last crash p
	if [[ $mode == native ]]; then
		"${guest_cmd[@]}" | grep -v '^cases:' | tee -a "$RUN/summary.txt" || true
		return
	fi
	venue_machines
	[[ -n $boot_time ]] && return
	# Up to two more runs, each in a fresh machine, for cases whose guest
	# crashed; every failure stays visible as a RETRY line.  A real bug fails
	# all three times.
	for pass in 1 2; do
		retry=$(crashed_cases "${1:-}")
		[[ -n $retry ]] || return 0
		for name in $retry; do
			why=$(sed -n "s/^FAIL $name: //p" "$RUN/summary.txt" | head -n1)
			k=$(keep_attempt "$name")
			p=$(case_path "$name").try$k
			last=$(last_console_lines "$p.console")
			crash=$(crash_line "$p")
			[[ -z $crash && -e $p.hang ]] && crash="a hang, no crash message: $(cat "$p.hang")"
			local selftest=''
			[[ $name == "${E2E_FAKE_CRASH:-}" && $k == 1 ]] && selftest=' [on purpose: the retry-evidence self-test, E2E_FAKE_CRASH]'
			echo "RETRY $name: $why (guest crashed: ${crash:-?}; attempt $k kept as $p.*; running it again; its last console lines: ${last:-none})$selftest"
			sed -i "/^FAIL $name:/d" "$RUN/summary.txt"
		done | tee -a "$RUN/retries.txt"
		venue_machines
	done
}

machines=0 # venue machines started so far (names their console logs)

venue_machines() {
	local rc=0 t0 log outer try
	t0=$(now_ms)
	# The emulated machine can freeze (see cases.sh): then it panics, and a
	# fresh one resumes the cases that have no result yet.
	for try in 1 2 3 4; do
		machines=$((machines + 1))
		log=$RUN/outer-console.$machines.log
		: >"$log"
		rc=0
		# The whole outer machine is bounded: ~5 s boot + the cases, each
		# bounded by its VMM's --timeout 30 (+ 30 s for a VMM that ignores it).
		"$E2E_SRC/outer.sh" --timeout "$outer_timeout" --results "$RUN" --log "$log" -- "${guest_cmd[@]}" &
		outer=$!
		# Show result lines as they come (the console has \r\n line ends);
		# tail ends by itself once outer.sh has (--pid), after reading the rest.
		tail --pid="$outer" -n +1 -F "$log" 2>/dev/null | sed -u 's/\r$//' |
			grep --line-buffered -E '^(PASS|FAIL|boot-time|net-bench|mq-bench|mem-bench)' | tee -a "$RUN/summary.txt" || true
		wait "$outer" || rc=$?
		((rc == 124 || rc == 125)) || break
		echo "e2e: venue machine $try $([[ $rc == 124 ]] && echo timed out || echo froze), $([[ $try == 4 ]] && echo giving up || echo starting another)"
		# The emulated machine's own kernel says why, when it panicked (e.g. "corrupted stack end
		# detected inside scheduler" in a ktvm-vcpu thread, seen with 4-vCPU guests).
		sed -n 's/\r$//; s/^\[ *[0-9.]*\] //; /Kernel panic\|soft lockup\|^CPU: .* Comm:/p' "$log" | head -n 2 | sed 's/^/e2e:   /'
	done
	echo "e2e: venue ran $(($(now_ms) - t0)) ms in $try machine(s) (outer status $rc)"
	if ((rc == 124 || rc == 125)); then
		report "FAIL venue: outer machine $([[ $rc == 124 ]] && echo timed out || echo froze) 4 times; see $RUN/outer-console.*.log"
	elif ((rc != 0)) && ! grep -q '^FAIL' "$RUN/summary.txt"; then
		report "FAIL venue: guest cases ended with status $rc and no result; see $log"
	fi
}

if [[ -n $boot_time ]]; then
	guest_cases
	if grep -q '^FAIL' "$RUN/summary.txt"; then exit 1; fi
	exit 0
fi
[[ $vmm == ktvm ]] && host_cases
# (--only naming only NAME@6.12 cases: no machine for the first kernel.)
[[ -n $only && -z $(tr , '\n' <<<"$only" | grep -v @) ]] || guest_cases
# The second guest kernel (Debian's 6.12, issue 17): a subset of the cases in
# make test (cases.sh K612_CASES), all of them with E2E_K612=all; E2E_K612=0
# leaves it out.  Results are named NAME@6.12, files in k6.12/.
if [[ ${E2E_K612:-1} != 0 && ( -z $only || $only == *@6.12* ) ]]; then
	if "$E2E_SRC/build-guest-initrd.sh" --kernel 6.12; then
		mkdir -p "$RUN/k6.12"
		guest_cmd=("$E2E_SRC/cases.sh" --out "$RUN/k6.12" --vmm "$vmm" --kernel 6.12)
		[[ -n $only ]] && guest_cmd+=(--only "$only")
		[[ ${E2E_K612:-1} == all ]] && guest_cmd+=(--all)
		guest_cases @6.12
	else
		report "FAIL kernel-6.12: Debian's 6.12 kernel or its initrd could not be prepared"
	fi
fi
# The evidence of every retried attempt, listed (see keep_attempt).
if [[ -s $RUN/retries.txt ]]; then
	echo "e2e: files of retried attempts (kept):"
	for f in "$RUN"/*.try[0-9]*.* "$RUN"/k*/*.try[0-9]*.*; do [[ -e $f ]] && echo "e2e:   $f"; done
fi
# Harness self-test (E2E_FAKE_CRASH=CASE, set by run_all.sh): CASE's first try
# crashed its guest on purpose; the retry must have kept that attempt's files
# and quoted its console, and the case must have passed on the retry.
if [[ -n ${E2E_FAKE_CRASH:-} && $mode == venue ]]; then
	fc=$E2E_FAKE_CRASH
	if ! grep -qs "Kernel panic" "$RUN/$fc.try1.console"; then
		report "FAIL retry-evidence: no $fc.try1.console with the first attempt's panic"
	elif ! grep -qs "^RETRY $fc: .*guest crashed: .*Kernel panic.*attempt 1 kept as .*last console lines: ." "$RUN/retries.txt"; then
		report "FAIL retry-evidence: the RETRY line does not quote the first attempt's console"
	elif ! grep -qs "^PASS $fc " "$RUN/summary.txt"; then
		report "FAIL retry-evidence: $fc did not pass on its retry"
	else
		report "PASS retry-evidence: $fc's crashed first attempt kept ($(ls "$RUN/$fc".try1.* | wc -l) files), quoted, passed on retry"
	fi
fi
p=$(grep -c '^PASS' "$RUN/summary.txt" || true)
f=$(grep -c '^FAIL' "$RUN/summary.txt" || true)
echo "e2e: $p passed, $f failed"
((f == 0))
