#!/bin/bash
# arm64 end-to-end tests: cross-build a static aarch64 ktvm, boot the arm64
# venue (QEMU virt with EL2, Debian's arm64 kernel, KVM built in) and run
# cases.sh inside it against the same Debian kernel as the inner guest.
#
#   run.sh [CASE...]        (cases: see cases.sh; default all)
#   E2E_ARM64_KTVM=PATH     use this aarch64 ktvm instead of cross-building one
#   E2E_ARM64_IPERF_MIN_MBPS  iperf3 minimum per direction (default 25 Mbit/s)
#   E2E_ARM64_GICV2=0       leave out the gicv2 case (a second outer machine,
#                           gic-version=2; run by default, or when named)
#
# Output: "PASS name (Ns)" / "FAIL name: reason" per case, then
# "e2e-arm64: N passed, N failed".  Logs: build/e2e/arm64/runs/<run>/.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
A_SRC=$E2E_SRC/arm64
OUT=$E2E_BUILD/arm64

ensure_packages arm64
"$A_SRC/prepare.sh"
# E2E_ARM64_KTVM: an aarch64 ktvm already built (else cross-built here, static).
KTVM_ARM=${E2E_ARM64_KTVM:-$REPO/build/aarch64/ktvm}
if [[ -z ${E2E_ARM64_KTVM:-} ]]; then
	make -C "$REPO" -s ARCH=aarch64 CROSS_COMPILE=aarch64-linux-gnu- KTVM_BIN=build/aarch64/ktvm \
		build/aarch64/ktvm >"$OUT/build.log" 2>&1 || {
		cat "$OUT/build.log" >&2
		echo "FAIL arm64-build: make ARCH=aarch64 failed"
		echo "e2e-arm64: 0 passed, 1 failed"
		exit 1
	}
fi

mkdir -p "$OUT/runs"
ls -1dt "$OUT"/runs/run.* 2>/dev/null | tail -n +4 | xargs -r rm -rf || true
RUN=$(mktemp -d "$OUT/runs/run.$(date +%Y%m%d-%H%M%S).XXXX")
cp "$KTVM_ARM" "$RUN/ktvm"
cp "$OUT/Image" "$OUT/guest.cpio.gz" "$OUT/guest-tools.cpio.gz" "$OUT/payload.sha256" "$A_SRC/cases.sh" "$RUN/"
mkdir -p "$RUN/out"
# Test programs for the venue: the gdb case's RSP client (static arm64) and the
# kvm-error case's tiny Image (nisv.S) with the PC its fault must be dumped at.
aarch64-linux-gnu-gcc -static -O2 -Wall -o "$RUN/rsp-probe" "$A_SRC/rsp-probe.c" 2>"$OUT/tools.log" &&
	aarch64-linux-gnu-as -o "$RUN/nisv.o" "$A_SRC/nisv.S" 2>>"$OUT/tools.log" &&
	aarch64-linux-gnu-ld -Ttext=0 -e _start -o "$RUN/nisv.elf" "$RUN/nisv.o" 2>>"$OUT/tools.log" &&
	aarch64-linux-gnu-objcopy -O binary "$RUN/nisv.elf" "$RUN/nisv.Image" 2>>"$OUT/tools.log" || {
	cat "$OUT/tools.log" >&2
	echo "FAIL arm64-tools: cannot build rsp-probe or nisv.Image"
	echo "e2e-arm64: 0 passed, 1 failed"
	exit 1
}
# RAM base + text_offset 0 + the offset of `fault'
printf '0x%016x\n' $((0x40000000 + 0x$(aarch64-linux-gnu-nm "$RUN/nisv.elf" | awk '$3 == "fault" {print $1}'))) >"$RUN/nisv.pc"
# venue GIC LOG [CASE...]: boot the outer machine with gic-version=GIC and run
# the cases (cases.sh's default list if none); its console goes to RUN/LOG,
# its PASS/FAIL lines to RUN/summary.txt.
venue() {
	local gic=$1 log=$2 rc st name=venue-arm64
	shift 2
	[[ $gic == 3 ]] || name=venue-arm64-gicv$gic
	echo "E2E_ARM64_GUEST=${ARM64_GUEST:-} E2E_ARM64_IPERF_MIN_MBPS=${E2E_ARM64_IPERF_MIN_MBPS:-25} sh /share/cases.sh /share /share/out${ARM64_GUEST:+/$ARM64_GUEST} $*" >"$RUN/job.sh"
	set +e
	timeout -k 5 "${E2E_ARM64_TIMEOUT:-420}" qemu-system-aarch64 \
		-M "virt,virtualization=on,gic-version=$gic" -cpu max,pauth-impdef=on -smp 2 -m 1024 \
		-accel tcg,thread=multi -nodefaults -display none -no-reboot -serial stdio \
		-kernel "$OUT/Image" -initrd "$OUT/outer.cpio.gz" \
		-append "console=ttyAMA0 loglevel=1 panic=-1 softlockup_panic=1" \
		-fsdev "local,id=share,path=$RUN,security_model=none" \
		-device virtio-9p-pci,fsdev=share,mount_tag=share \
		</dev/null >"$RUN/$log" 2>&1
	rc=$?
	set -e
	sed 's/\r$//' "$RUN/$log" | grep -E '^(PASS|FAIL)' | tee -a "$RUN/summary.txt" || true
	st=$(sed -n 's/^E2E-OUTER: status \([0-9]*\).*/\1/p' "$RUN/$log" | tail -n1)
	if [[ -z $st ]]; then
		echo "FAIL $name: outer machine ended (qemu $rc) without a status; see $RUN/$log" |
			tee -a "$RUN/summary.txt"
	elif [[ $st != 0 ]] && ! grep -q '^FAIL' "$RUN/summary.txt"; then
		echo "FAIL $name: job ended with status $st; see $RUN/$log" | tee -a "$RUN/summary.txt"
	fi
}

# gicv2 needs its own machine (gic-version=2: its KVM has no GICv3, ktvm falls
# back to GICv2; ~30-45 s more, E2E_ARM64_GICV2=0 leaves it out); the rest share one.
v3=() v2=()
for c in "$@"; do
	if [[ $c == gicv2 ]]; then v2+=("$c"); else v3+=("$c"); fi
done
if (($# == 0)) && [[ ${E2E_ARM64_GICV2:-1} != 0 ]]; then v2=(gicv2); fi
: >"$RUN/summary.txt"
t0=$(now_ms)
if (($# == 0 || ${#v3[@]})); then
	venue 3 outer-console.log "${v3[@]}"
fi
# The dumped device tree must read back cleanly (no dtc warnings).
if [[ -s $RUN/out/guest.dtb ]]; then
	if dtc -I dtb -O dts -o "$RUN/out/guest.dts" "$RUN/out/guest.dtb" 2>"$RUN/out/dtc.log" &&
		[[ ! -s $RUN/out/dtc.log ]]; then
		echo "PASS dtb-dtc (0.0s)" | tee -a "$RUN/summary.txt"
	else
		echo "FAIL dtb-dtc: $(head -n1 "$RUN/out/dtc.log")" | tee -a "$RUN/summary.txt"
	fi
fi
if ((${#v2[@]})); then
	venue 2 outer-console-gicv2.log "${v2[@]}"
fi
# The second guest kernel (Debian's 6.12, issue 17) in a machine of its own:
# the cases that boot Linux (E2E_ARM64_K612=0 leaves it out).  NAME@6.12.
if [[ ${E2E_ARM64_K612:-1} != 0 && $# == 0 ]]; then
	if "$A_SRC/prepare.sh" --kernel 6.12; then
		mkdir -p "$RUN/k6.12" "$RUN/out/k6.12"
		cp "$E2E_BUILD/arm64-6.12/"{Image,guest.cpio.gz,guest-tools.cpio.gz,payload.sha256} "$RUN/k6.12/"
		ARM64_GUEST=k6.12 venue 3 outer-console-k6.12.log boot-1cpu boot-2cpu test-exit net-ping net-qp4
	else
		echo "FAIL kernel-6.12-arm64: Debian's 6.12 arm64 kernel could not be prepared" | tee -a "$RUN/summary.txt"
	fi
fi
echo "e2e-arm64: venue ran $(($(now_ms) - t0)) ms; logs in $RUN"
p=$(grep -c '^PASS' "$RUN/summary.txt" || true)
f=$(grep -c '^FAIL' "$RUN/summary.txt" || true)
echo "e2e-arm64: $p passed, $f failed"
((f == 0 && p > 0))
