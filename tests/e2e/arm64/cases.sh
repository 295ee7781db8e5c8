#!/bin/sh
# arm64 e2e cases, run by busybox sh inside the arm64 venue (job.sh), from a
# copy of the share in /tmp/w (9p reads of the 32 MB Image cost ~12 s each).
# Prints "PASS name (Ns)" / "FAIL name: reason"; per case, OUT gets
# NAME.console, NAME.stderr, NAME.status.
#   cases.sh SHARE OUT [CASE...]
#   E2E_ARM64_GUEST=DIR   the guest kernel's files (Image, guest*.cpio.gz,
#                         payload.sha256) from SHARE/DIR, e.g. k6.12 (the second
#                         guest kernel); its results are named NAME@6.12
S=$1 OUT=$2
shift 2
W=/tmp/w
G=$S SUF=''
if [ -n "${E2E_ARM64_GUEST:-}" ]; then
	G=$S/$E2E_ARM64_GUEST SUF=@${E2E_ARM64_GUEST#k}
fi
mkdir -p "$W" "$OUT"
cp "$S/ktvm" "$G/Image" "$G/guest.cpio.gz" "$G/guest-tools.cpio.gz" "$G/payload.sha256" \
	"$S/rsp-probe" "$S/nisv.Image" "$S/nisv.pc" "$W/" || exit 97
K=$W/Image I=$W/guest.cpio.gz
# Network cases: + iperf3, ethtool and their glibc (the kernel unpacks both archives).
IN=$W/guest-net.cpio.gz
cat "$I" "$W/guest-tools.cpio.gz" >"$IN" || exit 97
# iperf3 minimum per direction, Mbit/s (TCP, 5 s; nested KVM under TCG: ~0.6
# Gbit/s host->guest, 0.08..0.5 guest->host seen).
IPERF_MIN=${E2E_ARM64_IPERF_MIN_MBPS:-25}
SHA=$(cat "$W/payload.sha256")

now() { cut -d' ' -f1 /proc/uptime | tr -d .; } # centiseconds
pass() { echo "PASS $1$SUF ($(( ($(now) - T0) / 100 )).$(( ($(now) - T0) / 10 % 10 ))s)"; }
fail() { echo "FAIL $1$SUF: $2"; }
fld() { sed -n "s/^KTVM-E2E: .*$2=\([^ ]*\).*/\1/p" "$OUT/$1.console" | tr -d '\r' | head -n1; }

# run NAME TIMEOUT CPUS CMDLINE [ktvm options...]: guest console in NAME.console
run() {
	n=$1 t=$2 c=$3 a=$4
	shift 4
	T0=$(now)
	timeout -s KILL $((t + 30)) "$W/ktvm" run --kernel "$K" --initrd "$I" --memory 256M \
		--cpus "$c" --timeout "$t" --cmdline "quiet $a" "$@" </dev/null \
		>"$OUT/$n.console" 2>"$OUT/$n.stderr"
	echo $? >"$OUT/$n.status"
}
st() { cat "$OUT/$1.status"; }
booted() { grep -q 'KTVM-E2E: init reached' "$OUT/$1.console"; }

case_boot() { # NAME CPUS
	run "$1" 60 "$2" "ktvm.test=poweroff"
	if [ "$(st "$1")" != 0 ]; then fail "$1" "status $(st "$1"), want 0"
	elif ! booted "$1"; then fail "$1" "no init marker"
	elif [ "$(fld "$1" cpus)" != "$2" ]; then fail "$1" "guest saw $(fld "$1" cpus) CPUs, want $2"
	elif [ "$(fld "$1" payload_sha256)" != "$SHA" ]; then fail "$1" "initrd payload corrupted"
	else pass "$1"; fi
}

case_timeout() {
	run timeout 12 1 "ktvm.test=hang"
	if [ "$(st timeout)" != 124 ]; then fail timeout "status $(st timeout), want 124"
	elif ! grep -q 'vCPU 0 was at PC' "$OUT/timeout.stderr"; then fail timeout "no vCPU position"
	else pass timeout; fi
}

case_test_exit() {
	run test-exit 60 1 "ktvm.test=exit42"
	if [ "$(st test-exit)" != 42 ]; then fail test-exit "status $(st test-exit), want 42"
	else pass test-exit; fi
}

case_dtb() {
	T0=$(now)
	"$W/ktvm" run --kernel "$K" --initrd "$I" --cpus 2 --net tap=kdtb0 --dump-dtb "$OUT/guest.dtb" \
		</dev/null >/dev/null 2>"$OUT/dtb.stderr"
	r=$?
	if [ $r != 0 ]; then fail dump-dtb "status $r: $(head -n1 "$OUT/dtb.stderr")"
	elif [ ! -s "$OUT/guest.dtb" ]; then fail dump-dtb "no file"
	else pass dump-dtb; fi
}

# gicv2 (in a venue started with gic-version=2, see run.sh): the host KVM has
# no GICv3, so ktvm falls back to an in-kernel GICv2 (and says so) and a
# 2-vCPU guest boots to init and powers off with it.
case_gicv2() {
	run gicv2 60 1 "ktvm.test=poweroff" --log-level info
	if [ "$(st gicv2)" != 0 ]; then fail gicv2 "status $(st gicv2), want 0: $(grep -m1 -e error -e gic "$OUT/gicv2.stderr")"
	elif ! grep -q 'no GICv3' "$OUT/gicv2.stderr" || ! grep -q 'GICv2, ' "$OUT/gicv2.stderr"; then
		fail gicv2 "no fallback to GICv2 logged: $(grep -m1 gic "$OUT/gicv2.stderr")"
	elif ! booted gicv2; then fail gicv2 "no init marker"
	elif [ "$(fld gicv2 cpus)" != 1 ]; then fail gicv2 "guest saw $(fld gicv2 cpus) CPUs, want 2"
	else pass gicv2; fi
}

# gdb: the stub on a unix socket with --gdb-wait; rsp-probe (a minimal RSP
# client: the venue has no gdb) reads target.xml and the registers at the
# Image's entry, single-steps twice (pc + 4, then the B's target), writes the
# registers back, stops at a software and then a hardware breakpoint and
# detaches; the guest must then boot to init and power off (status 0).
case_gdb() {
	T0=$(now)
	sock=$W/gdb.sock
	rm -f "$sock"
	timeout -s KILL 90 "$W/ktvm" run --kernel "$K" --initrd "$I" --memory 256M --cpus 1 \
		--timeout 60 --cmdline "quiet ktvm.test=poweroff" --gdb "unix:$sock" --gdb-wait \
		</dev/null >"$OUT/gdb.console" 2>"$OUT/gdb.stderr" &
	pid=$!
	timeout 60 "$W/rsp-probe" "$sock" >"$OUT/gdb.probe" 2>&1
	pr=$?
	wait $pid
	r=$?
	echo $r >"$OUT/gdb.status"
	if [ $pr != 0 ]; then fail gdb "rsp-probe: $(grep -m1 FAIL "$OUT/gdb.probe" || tail -n1 "$OUT/gdb.probe")"
	elif [ $r != 0 ]; then fail gdb "ktvm ended with status $r after detach: $(grep -m1 -v info "$OUT/gdb.stderr")"
	elif ! booted gdb; then fail gdb "the guest did not reach init after detach"
	else pass gdb; fi
}

# kvm-error: nisv.Image stores a register pair to an address with neither RAM
# nor a device (no syndrome: KVM_RUN fails with ENOSYS). Status 1, one error
# line, and the register dump's PC is the store's address (nisv.pc).
case_kvm_error() {
	T0=$(now)
	timeout -s KILL 60 "$W/ktvm" run --kernel "$W/nisv.Image" --memory 64M --timeout 30 \
		</dev/null >"$OUT/kvm-error.console" 2>"$OUT/kvm-error.stderr"
	r=$?
	want=$(cat "$W/nisv.pc")
	pc=$(sed -n 's/^ *PC  *\(0x[0-9a-f]*\) .*/\1/p' "$OUT/kvm-error.stderr" | head -n1)
	nerr=$(grep -c ' error: ' "$OUT/kvm-error.stderr")
	if [ $r != 1 ]; then fail kvm-error "status $r, want 1"
	elif [ "$nerr" != 1 ]; then fail kvm-error "$nerr error lines, want 1"
	elif ! grep -q 'vCPU 0 registers:' "$OUT/kvm-error.stderr"; then fail kvm-error "no register dump"
	elif [ "$pc" != "$want" ]; then fail kvm-error "dump has PC $pc, want $want (the stp)"
	else pass kvm-error; fi
}

# iperf3 receiver throughput in Mbit/s from "iperf3 -f m" output FILE.
mbps() { awk '/receiver/ {for (i = 2; i <= NF; i++) if ($i == "Mbits/sec") v = $(i - 1)} END {print v}' "$1"; }
gbps() { awk -v m="$1" 'BEGIN {printf "%.2f", m / 1000}'; }

# net NAME QUEUE_PAIRS: the guest's agent pings the host, the host pings the
# guest, the guest lists its queues; with 1 pair, iperf3 TCP 5 s each way
# (server in the guest, client on the host, -R for guest -> host); with more,
# `ethtool -l eth0` must show one combined channel and the device no MQ
# feature (bit 22). Commands go in on the console.
case_net() {
	n=$1 qp=$2 tap=kt$$
	T0=$(now)
	log=$OUT/$n.console
	: >"$log"; : >"$OUT/$n.h2g.iperf3"; : >"$OUT/$n.g2h.iperf3"
	{
		w() { i=0; while ! grep -q "$1" "$log" 2>/dev/null; do
			i=$((i + 1)); [ $i -gt 300 ] && return 1; sleep 0.2; done; }
		w 'agent ready' || exit 0
		ip addr add 10.0.2.1/24 dev $tap && ip link set $tap up
		echo "run 1 ping -c 3 -W 5 10.0.2.1 >/dev/null"
		w 'done 1 ' || exit 0
		ping -c 3 -W 5 10.0.2.2 >"$OUT/$n.hostping" 2>&1
		echo "host_ping_rc=$?" >>"$OUT/$n.hostping"
		echo "run 2 echo KTVM-E2E: rxq=\$(ls -d /sys/class/net/eth0/queues/rx-* | wc -l) txq=\$(ls -d /sys/class/net/eth0/queues/tx-* | wc -l)"
		w 'done 2 ' || exit 0
		if [ "$qp" = 1 ]; then
			# 5201 = 0x1451; iperf3 listens on [::] (tcp6) or 0.0.0.0
			echo 'run 3 /usr/bin/iperf3 -s -D >/dev/null 2>&1 || exit 1; i=0; while ! grep -q ":1451 " /proc/net/tcp6 /proc/net/tcp; do i=$((i+1)); [ $i -gt 100 ] && exit 1; sleep 0.1; done'
			w 'done 3 ' || exit 0
			timeout 60 /usr/bin/iperf3 -c 10.0.2.2 -t 5 -f m --connect-timeout 10000 >"$OUT/$n.h2g.iperf3" 2>&1
			timeout 60 /usr/bin/iperf3 -c 10.0.2.2 -t 5 -f m --connect-timeout 10000 -R >"$OUT/$n.g2h.iperf3" 2>&1
		else
			echo 'run 3 o=$(/usr/bin/ethtool -l eth0) || exit 1; echo "KTVM-E2E: combined=$(echo "$o" | awk "/^Combined:/ {printf \"%s,\", \$2}") mq=$(cut -c23 /sys/class/net/eth0/device/features)"'
			w 'done 3 ' || exit 0
		fi
		# The NIC in the statistics (an MMIO NIC was missing from them before the
		# per-VM device list, issue 14): the table and the JSON line.
		"$W/ktvm" ctl "$W/$n.sock" stats >"$OUT/$n.table" 2>&1
		"$W/ktvm" ctl "$W/$n.sock" stats --json >"$OUT/$n.json" 2>&1
		echo exit
	} | timeout -s KILL 150 "$W/ktvm" run --kernel "$K" --initrd "$IN" --memory 256M --timeout 120 \
		--cmdline "quiet ktvm.test=net ktvm.ip=10.0.2.2/24" --net "tap=$tap,queue_pairs=$qp" \
		--stats --api-sock "$W/$n.sock" >"$log" 2>"$OUT/$n.stderr"
	r=$?
	if [ $r != 0 ]; then fail "$n" "status $r: $(grep -m1 -v info "$OUT/$n.stderr")"
	elif ! grep -q "^net0: tap $tap, mac 02:00:00:00:00:01, 1 of 1 queue pairs active" "$OUT/$n.table"; then
		fail "$n" "ktvm ctl stats shows no NIC: $(head -n 2 "$OUT/$n.table" | tr '\n' ' ')"
	elif ! grep -q '"nics":\[{"name":"net0"' "$OUT/$n.json"; then fail "$n" "ktvm ctl stats --json lists no NIC"
	elif ! grep -q '"nics":\[{"name":"net0"' "$OUT/$n.stderr"; then fail "$n" "--stats at exit lists no NIC"
	elif ! grep -q 'done 1 rc=0' "$log"; then fail "$n" "guest -> host ping failed"
	elif ! grep -q 'host_ping_rc=0' "$OUT/$n.hostping"; then fail "$n" "host -> guest ping failed"
	elif [ "$(fld "$n" rxq)" != 1 ] || [ "$(fld "$n" txq)" != 1 ]; then
		fail "$n" "guest has $(fld "$n" rxq) rx / $(fld "$n" txq) tx queues, want 1"
	elif [ "$qp" = 1 ]; then
		h=$(mbps "$OUT/$n.h2g.iperf3") g=$(mbps "$OUT/$n.g2h.iperf3")
		if ! grep -q 'done 3 rc=0' "$log"; then fail "$n" "iperf3 server did not start in the guest"
		elif [ -z "$h" ]; then fail "$n" "iperf3 host->guest failed: $(tail -n1 "$OUT/$n.h2g.iperf3")"
		elif [ -z "$g" ]; then fail "$n" "iperf3 guest->host failed: $(tail -n1 "$OUT/$n.g2h.iperf3")"
		elif [ "${h%.*}" -lt "$IPERF_MIN" ] || [ "${g%.*}" -lt "$IPERF_MIN" ]; then
			fail "$n" "iperf3 host->guest $h, guest->host $g Mbit/s, want >= $IPERF_MIN"
		else
			pass "$n"
			echo "PASS $n-iperf3$SUF: host->guest $(gbps "$h") Gbit/s, guest->host $(gbps "$g") Gbit/s (min $IPERF_MIN Mbit/s)"
		fi
	elif ! grep -q 'done 3 rc=0' "$log"; then fail "$n" "ethtool -l eth0 failed in the guest"
	elif [ "$(fld "$n" combined)" != "1,1," ]; then
		fail "$n" "ethtool -l: combined max,current = $(fld "$n" combined), want 1,1"
	elif [ "$(fld "$n" mq)" != 0 ]; then fail "$n" "device offers VIRTIO_NET_F_MQ"
	else pass "$n"; fi
}

all="boot-1cpu boot-2cpu timeout test-exit dump-dtb gdb kvm-error net-ping net-qp4"
for c in ${*:-$all}; do
	case $c in
	boot-1cpu) case_boot boot-1cpu 1 ;;
	boot-2cpu) case_boot boot-2cpu 2 ;;
	timeout) case_timeout ;;
	test-exit) case_test_exit ;;
	dump-dtb) case_dtb ;;
	gdb) case_gdb ;;
	kvm-error) case_kvm_error ;;
	gicv2) case_gicv2 ;;
	net-ping) case_net net-ping 1 ;;
	net-qp4) case_net net-qp4 4 ;;
	*) fail "$c" "unknown case" ;;
	esac
done
