# Multiqueue virtio-net e2e cases (NetConfig queue_pairs, MSI-X, several NICs,
# --config) and run.sh --mq-bench. Sourced by cases.sh after cases-net.sh,
# whose agent guest (guest_launch, grun, gfield, guest_end, ...) they drive.
#
# Same rules as cases-net.sh: every wait is bounded and waits for a console
# line, a listening socket or a process. mq-channels leaves its guest running
# for mq-resize (one 4-vCPU boot for both); run alone, or resumed after a
# venue freeze, mq-resize boots its own.

MQ_CASES=(mq-channels mq-resize mq-msix-off mq-two-nics mq-config-json)
TAP2=ktvmtap1
HOST_IP2=10.0.5.1
GUEST_IP2=10.0.5.2
MAC2=02:00:00:00:00:02

# mq_tap NAME IP [multi]: a fresh TAP (IFF_MULTI_QUEUE with "multi").
mq_tap() {
	ip link del "$1" 2>/dev/null || true
	ip tuntap add dev "$1" mode tap ${3:+multi_queue} || return 1
	ip addr add "$2/24" dev "$1" || return 1
	ip link set "$1" up
}

# mq_ktvm NAME TIMEOUT CPUS ARGS...: the agent guest under ktvm, NICs from ARGS.
mq_ktvm() {
	G_NAME=$1 G_WHY=''
	local t=$2 cpus=$3
	shift 3
	guest_launch "$t" "$KTVM" run --kernel "$VMLINUX" --initrd "$NET_INITRD" --cpus "$cpus" --memory 256M \
		--cmdline "quiet ktvm.test=net ktvm.ip=$GUEST_IP/24" "$@" --console stdio --timeout "$t"
}

# vmm_pid: the VMM's own pid. G_PID is the `timeout` wrapper's (guest_launch):
# follow its children past any `timeout` to the VMM process.
vmm_pid() {
	local p=$G_PID n
	for n in 1 2 3; do
		[[ $(cat "/proc/$p/comm" 2>/dev/null) == timeout ]] || break
		p=$(pgrep -P "$p" | head -n1)
		[[ -n $p ]] || return 1
	done
	[[ -d /proc/$p && $(cat "/proc/$p/comm") != timeout ]] && echo "$p"
}

# net_threads PID NIC: "comm runtime_ns" per ktvm-NIC-qN worker thread.
net_threads() {
	local t c ns
	for t in /proc/"$1"/task/*; do
		c=$(cat "$t/comm" 2>/dev/null) || continue
		[[ $c == "ktvm-$2-q"* ]] || continue
		ns=$(cut -d' ' -f1 "$t/schedstat" 2>/dev/null) ||
			ns=$(awk '{print ($14 + $15) * 10000000}' "$t/stat")
		echo "$c $ns"
	done | sort
}

# Guest commands (sh -c in the guest; the agent reads one line each). Their
# answers are "KTVM-E2E: KEY=..." lines, read back with gfield KEY.
# channels=MAX/CURRENT/ ("Combined:" of ethtool -l: pre-set maximum, current)
G_CHANNELS='echo "KTVM-E2E: channels=$(ethtool -l eth0 | awk '\''/^Combined:/ {printf "%s/", $2}'\'')"'
# irqs=input.0:28,output.0:29,... (the MSI/MSI-X vectors of virtio queues)
G_IRQS='echo "KTVM-E2E: irqs=$(awk '\''/MSI/ && $NF ~ /^virtio[0-9]+-(input|output)\.[0-9]+$/ {sub(":", "", $1); sub(/^virtio[0-9]+-/, "", $NF); printf "%s:%s,", $NF, $1}'\'' /proc/interrupts)"'
# qstats=rx_queue_0_packets=N,... (virtio_net's per-queue counters: 6.1 names
# them rx_queue_0_packets, 6.10 and later rx0_packets; both become the former)
G_QSTATS='echo "KTVM-E2E: qstats=$(ethtool -S eth0 | awk '\''/^ *[rt]x(_queue_)?[0-9]+_packets:/ {sub(":", "", $1); if ($1 !~ /_queue_/) { d = substr($1, 1, 2); q = substr($1, 3); sub("_packets", "", q); $1 = d "_queue_" q "_packets" } printf "%s=%s,", $1, $2}'\'')"'

# host_qstats PID: ktvm's own per-queue packet counters for net0 (kill -USR1
# prints its statistics on stderr) in qstats' form.  For guests whose driver
# has no per-queue packet counts in ethtool -S (6.10 and later moved them to
# netlink qstats): ktvm's RX queue N is the guest's RX queue N.
host_qstats() {
	local pid=$1 f=$out/$G_NAME.stderr n i
	n=$(grep -c '"nics":' "$f" 2>/dev/null)
	kill -USR1 "$pid" || return 1
	for ((i = 0; i < 50; i++)); do
		(($(grep -c '"nics":' "$f" 2>/dev/null) > n)) && break
		sleep 0.2 # polling the file, bounded (10 s)
	done
	grep '"nics":' "$f" | tail -n 1 | python3 -c '
import json, sys
nic = json.loads(sys.stdin.read())["nics"][0]
print("".join("%s_queue_%d_packets=%d," % (q["dir"], q["queue"] // 2, q["packets"]) for q in nic["queues"]))'
}

# qdelta BEFORE AFTER DIR: "q0=N q1=N ..." packets per DIR (rx|tx) queue between two qstats.
qdelta() {
	awk -v a="$1" -v b="$2" -v d="$3" 'BEGIN {
		n = split(a, x, ","); for (i = 1; i <= n; i++) { split(x[i], kv, "="); va[kv[1]] = kv[2] }
		n = split(b, y, ","); for (i = 1; i <= n; i++) { split(y[i], kv, "=")
			if (kv[1] ~ "^" d "_queue_") { q = kv[1]; sub("^" d "_queue_", "", q); sub("_packets$", "", q)
				printf "q%s=%d ", q, kv[2] - va[kv[1]] } } }'
}
# busy_queues "q0=N q1=N ..." MIN: how many queues carried at least MIN packets.
busy_queues() { tr ' ' '\n' <<<"$1" | awk -F= -v m="$2" '$2 >= m {n++} END {print n + 0}'; }

# 4 vCPUs, queue_pairs=8: the guest offers 8 and uses 4 (one per CPU), one
# MSI-X vector per queue; iperf3 -P 8 into the guest spreads over the TAP's
# queues (flow hash), so several guest RX queues, TX queues (the ACKs leave on
# the CPU of the RX interrupt) and ktvm worker threads carry it.
case_mq_channels() {
	local ch irqs q d n nums=() before after rxd txd pid t0s t1s busy nthreads qsrc
	mq_tap "$TAP" "$HOST_IP" multi || { reason="cannot set up the multi-queue TAP $TAP"; return; }
	mq_ktvm mq-channels 300 4 --net "tap=$TAP,queue_pairs=8" || { reason=$G_WHY; return; }
	check_nic "$DEFAULT_MAC" 1500 || return
	grun 30 "$G_CHANNELS" || { reason="ethtool -l eth0 failed in the guest"; return; }
	ch=$(gfield channels)
	[[ $ch == 8/4/ ]] || { reason="ethtool -l eth0: combined max/current ${ch:-?}, want 8/4"; return; }
	grun 30 "$G_IRQS" || { reason="reading /proc/interrupts failed"; return; }
	irqs=$(gfield irqs)
	for q in 0 1 2 3; do
		for d in input output; do
			n=$(tr ',' '\n' <<<"$irqs" | sed -n "s/^$d\\.$q://p")
			[[ -n $n ]] || { reason="no MSI vector for virtio $d.$q in /proc/interrupts ($irqs)"; return; }
			nums+=("$n")
		done
	done
	(($(printf '%s\n' "${nums[@]}" | sort -u | wc -l) == 8)) ||
		{ reason="input/output.0..3 share vectors: $irqs"; return; }
	pid=$(vmm_pid) || { reason="cannot find ktvm's pid under $G_PID"; return; }
	start_guest_iperf3 || return
	grun 30 "$G_QSTATS" || { reason="ethtool -S eth0 failed in the guest"; return; }
	before=$(gfield qstats) qsrc=guest
	if [[ -z $before ]]; then
		qsrc=ktvm # a 6.10+ guest driver: the device's own counters
		before=$(host_qstats "$pid") || { reason="kill -USR1 gave no statistics"; return; }
	fi
	t0s=$(net_threads "$pid" net0)
	run_iperf3 mq-channels 3 -P 8 || { reason="iperf3 -P 8 host->guest failed: $(tail -n1 "$out/mq-channels.iperf3")"; return; }
	t1s=$(net_threads "$pid" net0)
	grun 30 "$G_QSTATS" || { reason="ethtool -S eth0 failed in the guest"; return; }
	after=$(gfield qstats)
	[[ $qsrc == ktvm ]] && { after=$(host_qstats "$pid") || { reason="kill -USR1 gave no statistics"; return; }; }
	rxd=$(qdelta "$before" "$after" rx) txd=$(qdelta "$before" "$after" tx)
	printf 'threads before:\n%s\nthreads after:\n%s\nrx packets: %s\ntx packets: %s\n' "$t0s" "$t1s" "$rxd" "$txd" >"$out/mq-channels.queues"
	nthreads=$(grep -c . <<<"$t1s")
	# worker threads whose CPU time grew by over 1 ms during iperf3
	busy=$(join <(echo "$t0s") <(echo "$t1s") | awk '$3 - $2 > 1000000 {n++} END {print n + 0}')
	(($(busy_queues "$rxd" 100) >= 2)) || { reason="iperf3 -P 8 reached fewer than 2 guest RX queues: $rxd"; return; }
	(($(busy_queues "$txd" 100) >= 2)) || { reason="iperf3 -P 8 left the guest on fewer than 2 TX queues: $txd"; return; }
	((nthreads >= 4)) || { reason="ktvm (pid $pid) has $nthreads ktvm-net0-q* threads, want >= 4: $(tr '\n' ' ' <<<"$t1s")"; return; }
	((busy >= 2)) || { reason="fewer than 2 ktvm-net0-q* threads ran during iperf3: $(tr '\n' ' ' <<<"$t1s")"; return; }
	note="combined 8/4, 8 vectors, $(mbps_to_gbps "$MBPS") Gbit/s; packets ($qsrc's counters) rx $rxd; tx $txd; $busy of $nthreads worker threads busy"
	note=${note// ;/;}
	# mq-resize goes on with this guest when it runs next.
	if [[ -z $only || ,$only, == *,mq-resize,* ]] && [[ ! -e $out/mq-resize.done ]]; then
		tr -d '\r' <"$G_CON" >"$out/mq-channels.console"
		MQ_KEEP=1
	else
		stop_ok || return
	fi
}

# ethtool -L eth0 combined 2, then 4: VQ_PAIRS_SET over the control queue,
# ktvm detaches/attaches TAP queues. After each, pings both ways and 8 TCP
# flows into the guest (a flow the TAP steered to a detached queue would stall).
case_mq_resize() {
	local n ch
	if [[ -z ${G_PID:-} ]] || ! kill -0 "$G_PID" 2>/dev/null; then
		guest_end
		mq_tap "$TAP" "$HOST_IP" multi || { reason="cannot set up the multi-queue TAP $TAP"; return; }
		mq_ktvm mq-resize 240 4 --net "tap=$TAP,queue_pairs=8" || { reason=$G_WHY; return; }
	fi
	G_NAME=mq-resize
	start_guest_iperf3 || return
	for n in 2 4; do
		grun 30 "ethtool -L eth0 combined $n" || { reason="ethtool -L eth0 combined $n failed (status $?)"; return; }
		grun 30 "$G_CHANNELS" || { reason="ethtool -l eth0 failed in the guest"; return; }
		ch=$(gfield channels)
		[[ $ch == 8/$n/ ]] || { reason="after combined $n: ethtool -l shows ${ch:-?}, want 8/$n"; return; }
		grun 40 "ping -c 3 -W 5 -w 30 $HOST_IP" || { reason="after combined $n the guest cannot ping the host"; return; }
		host_ping -c 3 -W 5 -w 30 || { reason="after combined $n the host cannot ping the guest"; return; }
		run_iperf3 "mq-resize.$n" 2 -P 8 || { reason="after combined $n: iperf3 -P 8 host->guest failed: $(tail -n1 "$out/mq-resize.$n.iperf3")"; return; }
		note+="combined $n: $(mbps_to_gbps "$MBPS") Gbit/s; "
	done
	note=${note%; }
	stop_ok || return
}

# queue_pairs=4 with msix=off: no MSI-X, so no multiqueue: the guest (4 vCPUs)
# sees one pair (no VIRTIO_NET_F_MQ: combined max 1, cannot be raised), its
# virtio interrupts are INTx, and traffic flows.
case_mq_msix_off() {
	local ch qs irqs
	mq_tap "$TAP" "$HOST_IP" multi || { reason="cannot set up the multi-queue TAP $TAP"; return; }
	mq_ktvm mq-msix-off 200 4 --net "tap=$TAP,queue_pairs=4,msix=off" || { reason=$G_WHY; return; }
	grun 30 "$G_CHANNELS" || { reason="ethtool -l eth0 failed in the guest"; return; }
	ch=$(gfield channels)
	[[ $ch == 1/1/ ]] || { reason="ethtool -l eth0: combined max/current ${ch:-?}, want 1/1"; return; }
	grun 30 'echo "KTVM-E2E: queues=$(ls /sys/class/net/eth0/queues | tr "\n" ",") virtio_irqs=$(awk '\''$NF ~ /^virtio/ {printf "%s:%s,", $NF, $(NF-2)}'\'' /proc/interrupts)"' ||
		{ reason="reading the guest's queues failed"; return; }
	qs=$(gfield queues) irqs=$(gfield virtio_irqs)
	[[ $qs == rx-0,tx-0, ]] || { reason="guest eth0 queues: $qs, want rx-0 tx-0"; return; }
	[[ -n $irqs && $irqs != *MSI* ]] || { reason="virtio interrupts are not INTx: ${irqs:-none}"; return; }
	if grun 30 "ethtool -L eth0 combined 2 2>/dev/null"; then
		reason="ethtool -L eth0 combined 2 succeeded without multiqueue"
		return
	fi
	grun 40 "ping -c 3 -W 5 -w 30 $HOST_IP" || { reason="guest cannot ping the host"; return; }
	host_ping -c 3 -W 5 -w 30 || { reason="host cannot ping the guest"; return; }
	start_guest_iperf3 || return
	run_iperf3 mq-msix-off 2 -P 4 || { reason="iperf3 host->guest failed: $(tail -n1 "$out/mq-msix-off.iperf3")"; return; }
	note="combined 1/1, queues ${qs%,}, irq ${irqs%,}, $(mbps_to_gbps "$MBPS") Gbit/s"
	stop_ok || return
}

# Two NICs on two TAPs, distinct MACs, 2 pairs each (2 vCPUs): eth0 on
# 10.0.2.0/24, eth1 on 10.0.5.0/24; pings both ways on each, and the host's
# neighbour entry on each TAP has that NIC's MAC.
case_mq_two_nics() {
	local m0 m1 ch
	mq_tap "$TAP" "$HOST_IP" multi && mq_tap "$TAP2" "$HOST_IP2" multi || { reason="cannot set up TAPs $TAP, $TAP2"; return; }
	mq_ktvm mq-two-nics 200 2 --net "tap=$TAP,queue_pairs=2" --net "tap=$TAP2,mac=$MAC2,queue_pairs=2" ||
		{ reason=$G_WHY; return; }
	grun 30 'echo "KTVM-E2E: mac0=$(cat /sys/class/net/eth0/address) mac1=$(cat /sys/class/net/eth1/address) channels1=$(ethtool -l eth1 | awk '\''/^Combined:/ {printf "%s/", $2}'\'')"' ||
		{ reason="no eth1 in the guest"; return; }
	m0=$(gfield mac0) m1=$(gfield mac1) ch=$(gfield channels1)
	[[ $m0 == "$DEFAULT_MAC" && $m1 == "$MAC2" ]] || { reason="guest MACs eth0 ${m0:-?} eth1 ${m1:-?}, want $DEFAULT_MAC $MAC2"; return; }
	[[ $ch == 2/2/ ]] || { reason="eth1: combined max/current ${ch:-?}, want 2/2"; return; }
	grun 30 "ip addr add $GUEST_IP2/24 dev eth1 && ip link set eth1 up" || { reason="cannot configure eth1"; return; }
	grun 40 "ping -c 3 -W 5 -w 30 $HOST_IP" || { reason="guest cannot ping the host over eth0"; return; }
	grun 40 "ping -c 3 -W 5 -w 30 $HOST_IP2" || { reason="guest cannot ping the host over eth1"; return; }
	host_ping -c 3 -W 5 -w 30 || { reason="host cannot ping the guest's eth0"; return; }
	timeout 40 ping -c 3 -W 5 -w 30 "$GUEST_IP2" >"$out/mq-two-nics.host-ping2" 2>&1 || { reason="host cannot ping the guest's eth1"; return; }
	[[ $(ip neigh show "$GUEST_IP" dev "$TAP" | awk '{print $3}') == "$DEFAULT_MAC" ]] ||
		{ reason="neighbour on $TAP: $(ip neigh show "$GUEST_IP" dev "$TAP"), want $DEFAULT_MAC"; return; }
	[[ $(ip neigh show "$GUEST_IP2" dev "$TAP2" | awk '{print $3}') == "$MAC2" ]] ||
		{ reason="neighbour on $TAP2: $(ip neigh show "$GUEST_IP2" dev "$TAP2"), want $MAC2"; return; }
	note="eth0 $m0 via $TAP, eth1 $m1 via $TAP2 (2/2 pairs): pings both ways on each"
	stop_ok || return
}

# The whole VM from a JSON file (MAC in serde's [u8; 6] form, 2 pairs);
# only --console/--timeout on the command line. Also: config --print of the
# file reads back to the same output (round trip).
case_mq_config_json() {
	local j=$out/mq-config-json.vm.json p1=$out/mq-config-json.print1.json p2=$out/mq-config-json.print2.json ch mac
	cat >"$j" <<-EOF
		{
		  "kernel": "$VMLINUX",
		  "initrd": "$NET_INITRD",
		  "cmdline": "quiet ktvm.test=net ktvm.ip=$GUEST_IP/24",
		  "cpus": 2,
		  "memory": "256M",
		  "nets": [{"tap": "$TAP", "mac": [2, 0, 0, 0, 0, 3], "queue_pairs": 2}]
		}
	EOF
	"$KTVM" config --print --config "$j" >"$p1" 2>"$out/mq-config-json.print.stderr" ||
		{ reason="ktvm config --print --config failed: $(head -n1 "$out/mq-config-json.print.stderr")"; return; }
	"$KTVM" config --print --config "$p1" >"$p2" 2>>"$out/mq-config-json.print.stderr" && cmp -s "$p1" "$p2" ||
		{ reason="config --print does not round-trip (see $p1, $p2)"; return; }
	mq_tap "$TAP" "$HOST_IP" multi || { reason="cannot set up the multi-queue TAP $TAP"; return; }
	G_NAME=mq-config-json G_WHY=''
	guest_launch 200 "$KTVM" run --config "$j" --console stdio --timeout 200 || { reason=$G_WHY; return; }
	mac=02:00:00:00:00:03
	check_nic "$mac" 1500 || return
	grun 30 "$G_CHANNELS" || { reason="ethtool -l eth0 failed in the guest"; return; }
	ch=$(gfield channels)
	[[ $ch == 2/2/ ]] || { reason="ethtool -l eth0: combined max/current ${ch:-?}, want 2/2 (queue_pairs 2 from the file)"; return; }
	grun 40 "ping -c 3 -W 5 -w 30 $HOST_IP" || { reason="guest cannot ping the host"; return; }
	host_ping -c 3 -W 5 -w 30 || { reason="host cannot ping the guest"; return; }
	note="MAC $mac and 2/2 pairs from $(basename "$j"); config --print round-trips"
	stop_ok || return
}

# mq_case NAME: like net_case; a case that sets MQ_KEEP leaves its guest up.
mq_case() {
	local name=$1 rc=0 reason='' note='' ms fn
	MQ_KEEP=''
	want_run "$name" || rc=$?
	((rc == 1)) && return 0
	if ((rc == 2)); then
		reason="the venue froze during this case $MAX_TRIES times"
	elif [[ ! -s $NET_INITRD ]]; then
		reason="$NET_INITRD missing"
	else
		fn=case_${name//-/_}
		local t0
		t0=$(now_ms)
		G_NAME=$name
		"$fn"
		if [[ -n $MQ_KEEP && -z $reason ]]; then
			echo $(($(now_ms) - t0)) >"$out/$name.ms"
		else
			guest_end
			ip link del "$TAP2" 2>/dev/null || true
			echo $(($(now_ms) - t0)) >"$out/$name.ms"
		fi
	fi
	if [[ -z $reason ]]; then
		ms=$(cat "$out/$name.ms")
		printf 'PASS %s (%d.%ds)%s\n' "$name" $((ms / 1000)) $((ms % 1000 / 100)) "${note:+: $note}"
	else
		printf 'FAIL %s: %s\n' "$name" "$reason"
	fi | tee "$out/$name.result"
	: >"$out/$name.done"
}

run_mq_cases() {
	local name
	for name in "${MQ_CASES[@]}"; do
		[[ -z $only || ,$only, == *,$name,* ]] || continue
		mq_case "$name"
	done
	# A kept guest whose follower did not run.
	[[ -n ${G_PID:-} ]] && guest_end
	ip link del "$TAP2" 2>/dev/null || true
}

# --- mq-bench: iperf3 -P 4 both ways with 1, 2, 4 queue pairs, ktvm vs QEMU ---
# 4 vCPUs; QEMU microvm (pcie=on) with -netdev tap,queues=N,vhost=off and
# virtio-net-pci mq=on,vectors=2N+2. Interleaved, median of $runs.
MQ_BENCH_VMMS=${E2E_MQ_BENCH_VMMS:-ktvm,qemu}
MQ_BENCH_PAIRS=${E2E_MQ_BENCH_PAIRS:-1 2 4}

mq_bench_one() { # NAME VMM PAIRS SECONDS
	local name=$1 v=$2 n=$3 s=$4 t cmd
	t=$((s * 2 + 150))
	G_NAME=$name G_WHY='' G_T0=$(now_ms)
	if mq_tap "$TAP" "$HOST_IP" $( ((n > 1)) && echo multi); then
		if [[ $v == ktvm ]]; then
			mq_ktvm "$name" "$t" 4 --net "tap=$TAP,queue_pairs=$n"
		else
			G_NAME=$name
			guest_launch "$t" timeout "$t" qemu-system-x86_64 -M microvm,pcie=on,rtc=on -accel kvm -cpu host -smp 4 -m 256 \
				-nodefaults -no-user-config -display none -serial stdio -no-reboot \
				-kernel "$VMLINUX" -initrd "$NET_INITRD" -append "console=ttyS0 reboot=t quiet ktvm.test=net ktvm.ip=$GUEST_IP/24" \
				-netdev "tap,id=n0,ifname=$TAP,script=no,downscript=no,vhost=off,queues=$n" \
				-device "virtio-net-pci,netdev=n0,mac=$DEFAULT_MAC,mq=on,vectors=$((2 * n + 2))"
		fi && {
			grun 30 "$G_CHANNELS" && gfield channels | cut -d/ -f2 >"$out/$name.pairs"
			if start_guest_iperf3; then
				run_iperf3 "$name.g2h" "$s" -P 4 -R && echo "$MBPS" >"$out/$name.g2h"
				run_iperf3 "$name.h2g" "$s" -P 4 && echo "$MBPS" >"$out/$name.h2g"
			fi
			guest_stop
		}
	fi
	guest_end
	printf 'mq-bench %s: %s pair(s) in use, guest->host %s Gbit/s, host->guest %s Gbit/s%s\n' "$name" \
		"$(cat "$out/$name.pairs" 2>/dev/null || echo ?)" \
		"$(mbps_to_gbps "$(cat "$out/$name.g2h" 2>/dev/null)")" "$(mbps_to_gbps "$(cat "$out/$name.h2g" 2>/dev/null)")" \
		"${G_WHY:+ ($G_WHY)}"
	G_WHY=''
}

mq_bench() {
	local i v n list name rc s=${E2E_MQ_BENCH_SECONDS:-10} g2h h2g r
	IFS=, read -ra list <<<"$MQ_BENCH_VMMS"
	for ((i = 1; i <= runs; i++)); do
		for n in $MQ_BENCH_PAIRS; do
			for v in "${list[@]}"; do
				name=mqbench-$v-$n-$i rc=0
				want_run "$name" || rc=$?
				((rc == 1)) && continue
				if ((rc == 2)); then
					echo "mq-bench $name: venue froze $MAX_TRIES times" | tee "$out/$name.result"
				else
					mq_bench_one "$name" "$v" "$n" "$s" | tee "$out/$name.result"
				fi
				: >"$out/$name.done"
			done
		done
	done
	echo "mq-bench: median of $runs, iperf3 -P 4 TCP ${s} s per direction; 4 vCPUs, 256M; QEMU microvm virtio-net-pci vhost=off"
	printf 'mq-bench: %-6s %5s %18s %18s\n' VMM pairs "guest->host Gbit/s" "host->guest Gbit/s"
	for v in "${list[@]}"; do
		for n in $MQ_BENCH_PAIRS; do
			g2h=$(cat "$out"/mqbench-"$v"-"$n"-*.g2h 2>/dev/null | median_f)
			h2g=$(cat "$out"/mqbench-"$v"-"$n"-*.h2g 2>/dev/null | median_f)
			echo "$g2h" >"$out/mqbench-$v-$n.g2h.median"
			echo "$h2g" >"$out/mqbench-$v-$n.h2g.median"
			printf 'mq-bench: %-6s %5s %18s %18s\n' "$v" "$n" "$(mbps_to_gbps "$g2h")" "$(mbps_to_gbps "$h2g")"
		done
	done
	for v in "${list[@]}"; do
		r=$(awk -v a="$(cat "$out/mqbench-$v-2.g2h.median" 2>/dev/null)" -v b="$(cat "$out/mqbench-$v-1.g2h.median" 2>/dev/null)" \
			-v c="$(cat "$out/mqbench-$v-2.h2g.median" 2>/dev/null)" -v d="$(cat "$out/mqbench-$v-1.h2g.median" 2>/dev/null)" \
			'BEGIN {printf "guest->host %s, host->guest %s", (a && b) ? sprintf("%.2f", a / b) : "?", (c && d) ? sprintf("%.2f", c / d) : "?"}')
		echo "mq-bench: $v 2 pairs / 1 pair: $r"
	done
	echo "mq-bench: the venue has 2 emulated CPUs for the 4 vCPUs, ktvm's or QEMU's I/O threads and the host's iperf3 (3.12, one thread), so more pairs cannot add CPU: expect flat scaling"
}
