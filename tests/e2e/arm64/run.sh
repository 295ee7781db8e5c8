#!/bin/bash
# arm64 end-to-end tests: cross-build a static aarch64 ktvm, boot the arm64
# venue (QEMU virt with EL2, Debian's arm64 kernel, KVM built in) and run
# cases.sh inside it against the same Debian kernel as the inner guest.
#
#   run.sh [CASE...]        (cases: see cases.sh; default all)
#   E2E_ARM64_KTVM=PATH     use this aarch64 ktvm instead of cross-building one
#   E2E_ARM64_IPERF_MIN_MBPS  iperf3 minimum per direction (default 25 Mbit/s)
#
# Output: "PASS name (Ns)" / "FAIL name: reason" per case, then
# "e2e-arm64: N passed, N failed".  Logs: build/e2e/arm64/runs/<run>/.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
A_SRC=$E2E_SRC/arm64
OUT=$E2E_BUILD/arm64

for p in qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross device-tree-compiler; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=" $p"
done
if [[ -n ${missing:-} ]]; then
	[[ $(id -u) == 0 ]] || die "missing packages:$missing"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
		{ apt-get update -qq >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null; }
fi
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
echo "E2E_ARM64_IPERF_MIN_MBPS=${E2E_ARM64_IPERF_MIN_MBPS:-25} sh /share/cases.sh /share /share/out $*" >"$RUN/job.sh"

t0=$(now_ms)
set +e
timeout -k 5 "${E2E_ARM64_TIMEOUT:-420}" qemu-system-aarch64 \
	-M virt,virtualization=on,gic-version=3 -cpu max,pauth-impdef=on -smp 2 -m 1024 \
	-accel tcg,thread=multi -nodefaults -display none -no-reboot -serial stdio \
	-kernel "$OUT/Image" -initrd "$OUT/outer.cpio.gz" \
	-append "console=ttyAMA0 loglevel=1 panic=-1 softlockup_panic=1" \
	-fsdev "local,id=share,path=$RUN,security_model=none" \
	-device virtio-9p-pci,fsdev=share,mount_tag=share \
	</dev/null >"$RUN/outer-console.log" 2>&1
rc=$?
set -e
sed 's/\r$//' "$RUN/outer-console.log" | grep -E '^(PASS|FAIL)' | tee "$RUN/summary.txt" || true
# The dumped device tree must read back cleanly (no dtc warnings).
if [[ -s $RUN/out/guest.dtb ]]; then
	if dtc -I dtb -O dts -o "$RUN/out/guest.dts" "$RUN/out/guest.dtb" 2>"$RUN/out/dtc.log" &&
		[[ ! -s $RUN/out/dtc.log ]]; then
		echo "PASS dtb-dtc (0.0s)" | tee -a "$RUN/summary.txt"
	else
		echo "FAIL dtb-dtc: $(head -n1 "$RUN/out/dtc.log")" | tee -a "$RUN/summary.txt"
	fi
fi
st=$(sed -n 's/^E2E-OUTER: status \([0-9]*\).*/\1/p' "$RUN/outer-console.log" | tail -n1)
if [[ -z $st ]]; then
	echo "FAIL venue-arm64: outer machine ended (qemu $rc) without a status; see $RUN/outer-console.log" |
		tee -a "$RUN/summary.txt"
elif [[ $st != 0 ]] && ! grep -q '^FAIL' "$RUN/summary.txt"; then
	echo "FAIL venue-arm64: job ended with status $st; see $RUN/outer-console.log" | tee -a "$RUN/summary.txt"
fi
echo "e2e-arm64: venue ran $(($(now_ms) - t0)) ms; logs in $RUN"
p=$(grep -c '^PASS' "$RUN/summary.txt" || true)
f=$(grep -c '^FAIL' "$RUN/summary.txt" || true)
echo "e2e-arm64: $p passed, $f failed"
((f == 0 && p > 0))
