#!/bin/bash
# Run a command inside the outer (venue) machine: an emulated x86 with SVM+NPT
# whose KVM can run Linux guests, seeing the host's / (read-only, with a tmpfs
# overlay on top) through 9p.
#
#   outer.sh [--timeout SECONDS] [--results DIR] [--interactive] [--log FILE] -- CMD [ARGS...]
#
# CMD runs as root in the chroot with the current directory kept; DIR (created
# if needed, default a fresh build/e2e/runs/outer.*) is writable inside at the
# same path, for results. Exit status: CMD's, or 124 if the whole machine hit
# --timeout (default 600 s), or 125 if the machine died without reporting one
# (e.g. it froze and panicked).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

timeout_s=600 results='' interactive='' logfile=''
while (($#)); do
	case $1 in
	--timeout) timeout_s=$2; shift 2 ;;
	--results) results=$2; shift 2 ;;
	--interactive) interactive=1; shift ;;
	--log) logfile=$2; shift 2 ;;
	--) shift; break ;;
	*) break ;;
	esac
done
(($#)) || die "usage: outer.sh [--timeout S] [--results DIR] [--interactive] [--log FILE] -- CMD [ARGS...]"

"$E2E_SRC/build-outer-initrd.sh"
if [[ -z $results ]]; then
	mkdir -p "$E2E_BUILD/runs"
	results=$(mktemp -d "$E2E_BUILD/runs/outer.XXXXXX")
fi
mkdir -p "$results"
results=$(cd "$results" && pwd)

# job.sh: bind the share at its host path, so paths are the same inside and out.
{
	echo '#!/bin/bash'
	echo "mkdir -p $(printf %q "$results") && mount --bind /e2e $(printf %q "$results") || exit 95"
	echo "cd $(printf %q "$PWD") || exit 95"
	echo "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=${TERM:-linux}"
	echo "export E2E_IN_VENUE=1"
	# The caller's knobs (E2E_SOAK_SECONDS, E2E_FAKE_FREEZE, ..., KTVM: the binary
	# under test), not its paths.
	for v in $(compgen -e | grep -E '^(E2E_|KTVM$)' | grep -v -x -E 'E2E_(SRC|BUILD|IN_VENUE|OUTER_TIMEOUT)'); do
		echo "export $v=$(printf %q "${!v}")"
	done
	printf '%q ' "$@"
	echo
} >"$results/job.sh"

qemu=(qemu-system-x86_64 -accel tcg,thread=multi -cpu EPYC-Rome,+svm,+npt -smp 2 -m 2048
	-nodefaults -display none -no-reboot -serial stdio
	-kernel "$E2E_BUILD/kernel/vmlinux" -initrd "$E2E_BUILD/outer/initrd.cpio.gz"
	# A VMM thread stuck in the kernel froze this machine now and then:
	# panic on the soft lockup and end at once, so the caller can retry.
	-append "console=ttyS0 loglevel=1 panic=-1 softlockup_panic=1 watchdog_thresh=8"
	-fsdev local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap
	-device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot
	-fsdev "local,id=results,path=$results,security_model=none"
	-device virtio-9p-pci,fsdev=results,mount_tag=results
	-device isa-debug-exit,iobase=0xf4,iosize=0x04)

# Freeze watchdog. The emulated machine sometimes stops dead inside a VMM
# run (no soft-lockup report, nothing on the console): outer-init touches
# .heartbeat on the results share every 2 s; if that stops for $stale_s, kill
# QEMU (by the pid it wrote) and report a freeze, so the caller can retry.
# (A single stuck vCPU is caught inside instead, by softlockup_panic.)
stale_s=${E2E_HEARTBEAT_STALE:-30}
hb=$results/.heartbeat pidfile=$results/.qemu.pid
rm -f "$pidfile" "$results/.froze"
touch "$hb" # covers the ~5 s boot before the first beat
qemu+=(-pidfile "$pidfile")
watchdog() {
	local pid=
	while :; do
		sleep 2 # polling a clock, not waiting for an event
		[[ -n $pid ]] || pid=$(cat "$pidfile" 2>/dev/null) || continue
		kill -0 "$pid" 2>/dev/null || return 0
		if (($(date +%s) - $(stat -c %Y "$hb") > stale_s)); then
			: >"$results/.froze"
			kill "$pid"
			sleep 5
			kill -KILL "$pid" 2>/dev/null || true
			return 0
		fi
	done
}
watchdog &
wdpid=$!
trap 'kill $wdpid 2>/dev/null || true' EXIT
froze() { [[ -e $results/.froze ]] && log "outer machine froze (no heartbeat for ${stale_s}s); killed it"; }

if [[ -n $interactive ]]; then
	# Console on the user's terminal; QEMU sets it raw (Ctrl-A x quits QEMU).
	# Keep the timeout: a stuck emulated machine must not hang the terminal.
	# QEMU's own warnings (TCG lacks some EPYC features) go to a file.
	set +e
	timeout --foreground -k 5 "$timeout_s" "${qemu[@]}" 2>"$results/qemu-stderr.log"
	rc=$?
	set -e
	froze && exit 125
	((rc == 124)) && { log "outer machine timed out after ${timeout_s}s"; exit 124; }
	((rc == 0 || rc % 2 == 1)) || { grep -v "TCG doesn't support" "$results/qemu-stderr.log" >&2; exit "$rc"; }
	exit 0
fi

logfile=${logfile:-$results/outer-console.log}
set +e
# A hard timeout on the whole machine too: if all else fails, killing QEMU helps.
timeout -k 5 "$timeout_s" "${qemu[@]}" </dev/null >"$logfile" 2>&1
rc=$?
set -e
froze && exit 125
((rc == 124 || rc == 137)) && { log "outer machine timed out after ${timeout_s}s (console: $logfile)"; exit 124; }
st=$(sed -n 's/^E2E-OUTER: status \([0-9]*\).*/\1/p' "$logfile" | tail -n1)
if [[ -z $st ]]; then
	why="ended (qemu $rc) without a status"
	grep -q 'soft lockup' "$logfile" && why="froze (soft lockup)"
	log "outer machine $why (console: $logfile)"
	exit 125
fi
exit "$st"
