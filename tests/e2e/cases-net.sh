# Network e2e cases (virtio-net over a TAP). Sourced by cases.sh, which
# provides $out, $KTVM, $VMLINUX, want_run, now_ms, median.
#
# Each case creates the TAP ktvmtap0 (10.0.2.1/24) itself, boots the guest with
# initrd-net.cpio.gz and ktvm.test=net (guest-init's agent: eth0 = 10.0.2.2/24),
# and drives it through the serial console: the harness writes "run ID CMD"
# lines to the VMM's stdin (a FIFO) and waits, bounded, for the guest's
# "KTVM-E2E: done ID rc=N". So the network under test never carries the
# harness's own control traffic, and a dead network fails a case quickly.
# No sleeps as synchronisation: every wait is for a console line, a listening
# socket or a process, each with a timeout.

TAP=ktvmtap0
HOST_IP=10.0.2.1
GUEST_IP=10.0.2.2
NET_INITRD=$GDIR/initrd-net.cpio.gz
DEFAULT_MAC=02:00:00:00:00:01
# iperf3 minimum, Mbit/s per direction (the venue's emulated CPU is slow).
IPERF_MIN_MBPS=${E2E_IPERF_MIN_MBPS:-$([[ -n ${E2E_IN_VENUE:-} ]] && echo 50 || echo 1000)}

NET_CASES=(net-ping net-mac net-mtu9000 net-offloads net-iperf net-rx-stall net-tap-eperm net-pcap net-api demo)

tap_setup() { # [MTU]
	ip link del "$TAP" 2>/dev/null || true
	ip tuntap add dev "$TAP" mode tap || return 1
	ip addr add "$HOST_IP/24" dev "$TAP" || return 1
	ip link set "$TAP" mtu "${1:-1500}" up || return 1
}

# wait_for FILE PATTERN SECONDS [PID]: until a line of FILE contains PATTERN
# (fixed string); gives up after SECONDS, or when process PID has ended and
# the pattern is still missing.
wait_for() {
	local f=$1 pat=$2 s=$3 pid=${4:-} tailpid rc=0
	if [[ -n $pid ]]; then
		exec {wfd}< <(exec tail --pid="$pid" -s 0.2 -n +1 -F "$f" 2>/dev/null)
	else
		exec {wfd}< <(exec tail -s 0.2 -n +1 -F "$f" 2>/dev/null)
	fi
	tailpid=$!
	timeout "$s" grep -q -m1 -F -e "$pat" <&"$wfd" || rc=$?
	exec {wfd}<&-
	kill "$tailpid" 2>/dev/null || true
	return $rc
}

# guest_start NAME TIMEOUT NETSPEC [CMDLINE]: boot the agent guest in the
# background under $G_VMM (ktvm, or for --net-bench qemu-vhost-off|on, which
# get the TAP from NETSPEC's tap=). Console in a local file (tail -F needs
# inotify, which the 9p results share lacks); guest_end copies it to
# $out/NAME.console.
G_VMM=ktvm
G_EXTRA=() # more ktvm run options for the next guest_start
guest_start() {
	G_NAME=$1 G_WHY=''
	local t=$2 spec=$3 extra=${4:-} cmd
	local cmdline="quiet ktvm.test=net ktvm.ip=$GUEST_IP/24 $extra"
	case $G_VMM in
	ktvm | ktvmbase) # ktvmbase: the binary in $E2E_KTVM_BASE, for an A/B of a change
		local bin=$KTVM
		if [[ $G_VMM == ktvmbase ]]; then
			[[ -x ${E2E_KTVM_BASE:-} ]] || die "E2E_KTVM_BASE is not an executable"
			bin=$E2E_KTVM_BASE
		fi
		cmd=("$bin" run --kernel "$VMLINUX" --initrd "$NET_INITRD" --cpus 1 --memory 256M
			--cmdline "$cmdline" ${spec:+--net "$spec"} --console stdio --timeout "$t" "${G_EXTRA[@]}") ;;
	qemu-vhost-on | qemu-vhost-off | qemu-pc-vhost-on | qemu-pc-vhost-off)
		# microvm with PCIe (ACPI-described ECAM) and the PVH vmlinux, or -M pc
		# (i440FX, SeaBIOS) and the bzImage; virtio-net-pci on the same TAP;
		# poweroff through microvm's ACPI GED or the PIIX4's ACPI.
		local tap=${spec#tap=} m=(-M microvm,pcie=on,rtc=on) k=$VMLINUX
		tap=${tap%%,*}
		[[ $G_VMM == qemu-pc-* ]] && m=(-M pc) k=$BZIMAGE
		# debug-threads=on: QEMU's threads get names ("CPU 0/KVM", "worker"), so
		# the bench can say which of them used the CPU.
		cmd=(timeout "$t" qemu-system-x86_64 "${m[@]}" -accel kvm -cpu host -smp 1 -m 256
			-name ktvm-e2e,debug-threads=on
			-nodefaults -no-user-config -display none -serial stdio -no-reboot
			-kernel "$k" -initrd "$NET_INITRD" -append "console=ttyS0 reboot=t $cmdline"
			-netdev "tap,id=n0,ifname=$tap,script=no,downscript=no,vhost=${G_VMM##*-vhost-}"
			-device "virtio-net-pci,netdev=n0,mac=$DEFAULT_MAC") ;;
	*) die "unknown VMM $G_VMM" ;;
	esac
	guest_launch "$t" "${cmd[@]}"
}

# guest_launch TIMEOUT CMD...: start CMD (a VMM running the agent guest, G_NAME
# set) in the background with the console FIFO as stdin; wait for the agent.
guest_launch() {
	local t=$1
	shift
	G_DIR=$(mktemp -d /tmp/ktvm-e2e-net.XXXXXX)
	G_CON=$G_DIR/console
	G_SEQ=0
	: >"$G_CON"
	mkfifo "$G_DIR/in"
	# Read-write: never blocks, and the VMM never sees EOF while we hold it.
	exec {G_IN}<>"$G_DIR/in"
	G_T0=$(now_ms)
	timeout -k 5 $((t + 30)) "$@" <"$G_DIR/in" >"$G_CON" 2>"$out/$G_NAME.stderr" {G_IN}>&- &
	G_PID=$!
	if ! wait_for "$G_CON" "KTVM-E2E: agent ready" 90 "$G_PID"; then
		G_WHY="no 'agent ready' from the guest ($(grep -m1 -E 'KTVM-E2E: (no eth0|insmod)' "$G_CON" | tr -d '\r')$(tail -n1 "$out/$G_NAME.stderr"))"
		boot_stall_evidence
		return 1
	fi
}

# boot_stall_evidence: the guest's console stopped before its agent was
# ready (seen once in a CI dry run: mq-msix-off, 4 vCPUs, the console cut
# mid-line, no crash message): what ktvm says then, into NAME.stall-boot
# (its stats twice, its threads and their wchan: a main loop that still
# answers SIGUSR1 is alive, the guest stopped), and NAME.hang, which run.sh
# reads as a guest that stopped: retried once in a fresh machine with every
# file kept, like a crash, its RETRY line naming it a hang.
boot_stall_evidence() {
	local pid
	pid=$(vmm_pid) || return 0
	{
		echo "== console (last 10 lines) =="
		tail -n 10 "$G_CON" | tr -d '\r'
		vmm_snapshot "$pid"
	} >"$out/$G_NAME.stall-boot" 2>&1
	echo "console stopped before the agent was ready; evidence in $G_NAME.stall-boot" >"$out/$G_NAME.hang"
}

# vmm_snapshot PID: ktvm's stats twice, 2 s apart (kill -USR1: its counters
# and ring indices), and its threads' states, CPU and wchan, on stdout.
vmm_snapshot() {
	local pid=$1 t
	echo "== ktvm stats, two snapshots 2 s apart =="
	kill -USR1 "$pid" 2>/dev/null
	sleep 2 # the interval between the two snapshots is the measurement
	kill -USR1 "$pid" 2>/dev/null
	sleep 0.5
	grep -a '^{"ktvm"' "$out/$G_NAME.stderr" | tail -n 2
	echo "== ktvm threads =="
	for t in /proc/"$pid"/task/*; do
		echo "$(cat "$t/comm") $(awk '{ sub(/^.*\) /, ""); print "state=" $1, "cpu=" $12 + $13 }' "$t/stat") wchan=$(cat "$t/wchan" 2>/dev/null)"
	done
}

# grun SECONDS CMD: run CMD (sh -c) in the guest; returns its status, 255 when
# no answer came within SECONDS.
grun() {
	local s=$1 rc
	shift
	G_SEQ=$((G_SEQ + 1))
	printf 'run %s %s\n' "$G_SEQ" "$*" >&"$G_IN"
	wait_for "$G_CON" "KTVM-E2E: done $G_SEQ rc=" "$s" "$G_PID" || return 255
	rc=$(sed -n "s/^KTVM-E2E: done $G_SEQ rc=\\([0-9]*\\).*/\\1/p" "$G_CON" | head -n1)
	return "${rc:-255}"
}

# gfield KEY: value of "KTVM-E2E: ... KEY=value" in this guest's console.
gfield() { sed -n "s/^KTVM-E2E: .*\\b$1=\\([^ ]*\\).*/\\1/p" "$G_CON" | tr -d '\r' | tail -n1; }

# guest_stop: ask the agent to power off; the VMM must end with status 0
# within 30 s. Sets G_STATUS.
guest_stop() {
	printf 'exit\n' >&"$G_IN" 2>/dev/null || true
	guest_reap 30
}

guest_reap() { # SECONDS: wait for the VMM (bounded), kill it after that
	if ! timeout "$1" tail --pid="$G_PID" -f /dev/null; then
		kill "$G_PID" 2>/dev/null || true
	fi
	G_STATUS=0
	wait "$G_PID" || G_STATUS=$?
}

guest_end() { # always: reap, collect the console, remove the TAP
	if [[ -n ${G_PID:-} ]] && kill -0 "$G_PID" 2>/dev/null; then
		kill "$G_PID" 2>/dev/null || true
		wait "$G_PID" 2>/dev/null || true
	fi
	[[ -n ${G_DIR:-} ]] && tr -d '\r' <"$G_CON" >"$out/$G_NAME.console" 2>/dev/null
	[[ -n ${G_IN:-} ]] && exec {G_IN}>&-
	# G_T0 is unset when a case resumed after a venue freeze failed before its guest started.
	echo $(($(now_ms) - ${G_T0:-$(now_ms)})) >"$out/$G_NAME.ms"
	echo "${G_STATUS:-?}" >"$out/$G_NAME.status"
	rm -rf "${G_DIR:-/nonexistent}"
	ip link del "$TAP" 2>/dev/null || true
	G_PID='' G_DIR='' G_IN='' G_STATUS=''
}

# Checks the guest's view of eth0 (the agent's "net" line) and stops the guest.
check_nic() { # WANT_MAC WANT_MTU
	local mac mtu
	mac=$(gfield mac) mtu=$(gfield mtu)
	[[ $mac == "$1" ]] || { reason="guest eth0 has MAC ${mac:-?}, want $1"; return 1; }
	[[ $mtu == "$2" ]] || { reason="guest eth0 came up with MTU ${mtu:-?}, want $2"; return 1; }
}

stop_ok() { # the guest powers off on request: status 0
	guest_stop
	((G_STATUS == 0)) || { reason="ktvm ended with status $G_STATUS after poweroff, want 0 ($(tail -n1 "$out/$G_NAME.stderr"))"; return 1; }
}

# host_ping ARGS...: iputils ping to the guest, bounded; average RTT in $RTT.
host_ping() {
	local f=$out/$G_NAME.host-ping rc=0
	timeout 40 ping "$@" "$GUEST_IP" >"$f" 2>&1 || rc=$?
	RTT=$(sed -n 's|^rtt min/avg/max/mdev = [0-9.]*/\([0-9.]*\)/.*|\1|p' "$f")
	return $rc
}

# poll_for FILE PATTERN SECONDS: until FILE has a line with PATTERN (fixed
# string), polled: for files on the 9p results share, where tail -F cannot wait.
poll_for() {
	local i
	for ((i = 0; i < $3 * 5; i++)); do
		grep -q -F -e "$2" "$1" 2>/dev/null && return 0
		sleep 0.2
	done
	return 1
}

# --- The cases: each sets $reason on failure and may set $note. ---

case_net_ping() {
	tap_setup || { reason="cannot set up TAP $TAP"; return; }
	guest_start net-ping 120 "tap=$TAP" || { reason=$G_WHY; return; }
	check_nic "$DEFAULT_MAC" 1500 || return
	grun 40 "ping -c 3 -W 5 -w 30 $HOST_IP" || { reason="guest cannot ping the host (status $?)"; return; }
	host_ping -c 3 -W 5 -w 30 || { reason="host cannot ping the guest: $(tail -n2 "$out/$G_NAME.host-ping" | head -n1)"; return; }
	note="host->guest rtt avg ${RTT} ms"
	stop_ok || return
}

# pcap=FILE: libpcap's file, read back by tcpdump, holds the guest's ICMP echo
# requests with its source MAC (TX) and the host's replies (RX); --stats
# prints the counters as JSON at exit.
case_net_pcap() {
	local cap=$out/net-pcap.pcap txt=$out/net-pcap.tcpdump n
	rm -f "$cap"
	tap_setup || { reason="cannot set up TAP $TAP"; return; }
	G_EXTRA=(--stats)
	guest_start net-pcap 120 "tap=$TAP,pcap=$cap" || { G_EXTRA=(); reason=$G_WHY; return; }
	G_EXTRA=()
	grun 40 "ping -c 3 -W 5 -w 30 $HOST_IP" || { reason="guest cannot ping the host (status $?)"; return; }
	stop_ok || return
	tcpdump -r "$cap" -e -n -tt >"$txt" 2>&1 || { reason="tcpdump -r failed: $(tail -n1 "$txt")"; return; }
	grep -q -E "^[0-9]+\.[0-9]+ $DEFAULT_MAC > .*: $GUEST_IP > $HOST_IP: ICMP echo request" "$txt" ||
		{ reason="no ICMP echo request from $DEFAULT_MAC in the capture ($(wc -l <"$txt") lines)"; return; }
	grep -q -E "> $DEFAULT_MAC, .*: $HOST_IP > $GUEST_IP: ICMP echo reply" "$txt" ||
		{ reason="no ICMP echo reply to the guest in the capture"; return; }
	grep -q '"nics":\[{"name":"net0"' "$out/net-pcap.stderr" ||
		{ reason="--stats printed no statistics at exit"; return; }
	n=$(grep -c . "$txt")
	note="$n frames in the capture"
}

# --api-sock: ktvm ctl pause stops the guest answering pings, resume brings it
# back, stats --json is one JSON line (paused true), stats a table whose rate
# column shows pings as RX packets per second, kill -USR1 prints the stats on
# stderr, a bad command gets "error:", stop ends ktvm with status 0 and removes
# the socket.
case_net_api() {
	local sock=/tmp/ktvm-e2e-api.$$.sock ans pid
	tap_setup || { reason="cannot set up TAP $TAP"; return; }
	G_EXTRA=(--api-sock "$sock")
	guest_start net-api 180 "tap=$TAP" || { G_EXTRA=(); reason=$G_WHY; return; }
	G_EXTRA=()
	host_ping -c 2 -W 5 -w 30 || { reason="host cannot ping the guest before pausing"; return; }
	ans=$("$KTVM" ctl "$sock" pause) || { reason="ctl pause failed: $ans"; return; }
	[[ $ans == ok ]] || { reason="ctl pause answered '$ans'"; return; }
	if timeout 20 ping -c 3 -W 2 -w 8 "$GUEST_IP" >"$out/net-api.paused-ping" 2>&1; then
		reason="the guest answered pings while paused"
		return
	fi
	ans=$("$KTVM" ctl "$sock" stats --json) || { reason="ctl stats --json failed: $ans"; return; }
	[[ $ans == '{'*'"paused":true'*'"nics":[{"name":"net0"'* ]] || { reason="ctl stats --json answered '${ans:0:120}'"; return; }
	ans=$("$KTVM" ctl "$sock" stats) || { reason="ctl stats failed: $ans"; return; }
	printf '%s\n' "$ans" >"$out/net-api.table"
	[[ $ans == *", paused, "* && $ans == *"net0: tap $TAP, mac $DEFAULT_MAC"* && $ans == *"queue  dir"*"pkt/s"* ]] ||
		{ reason="ctl stats printed no table: '${ans:0:160}'"; return; }
	pid=$(pgrep -P "$G_PID" -x ktvm | head -n1)
	[[ -n $pid ]] && kill -USR1 "$pid"
	poll_for "$out/net-api.stderr" '"nics":[{"name":"net0"' 10 || { reason="kill -USR1 printed no statistics"; return; }
	ans=$("$KTVM" ctl "$sock" resume) && [[ $ans == ok ]] || { reason="ctl resume answered '$ans'"; return; }
	host_ping -c 2 -W 5 -w 30 || { reason="the guest does not answer pings after resume"; return; }
	# The table's rate column: pings at 10/s show as RX packets per second within a few samples.
	timeout 20 ping -q -i 0.1 -c 100 "$GUEST_IP" >/dev/null 2>&1 &
	local pinger=$! rate=0 t
	for t in $(seq 1 40); do
		rate=$("$KTVM" ctl "$sock" stats | awk '$1 == "total" && $2 == "rx" { print int($8) }')
		((${rate:-0} > 0)) && break
		sleep 0.25 # polling, bounded by the loop (40 tries)
	done
	kill "$pinger" 2>/dev/null; wait "$pinger" 2>/dev/null
	((${rate:-0} > 0)) || { reason="ctl stats showed no RX rate under 10 pings/s"; return; }
	if ans=$("$KTVM" ctl "$sock" frobnicate); then
		reason="a bad command succeeded: '$ans'"
		return
	fi
	[[ $ans == error:* ]] || { reason="a bad command answered '$ans'"; return; }
	ans=$("$KTVM" ctl "$sock" stop) && [[ $ans == ok ]] || { reason="ctl stop answered '$ans'"; return; }
	guest_reap 30
	((G_STATUS == 0)) || { reason="ktvm ended with status $G_STATUS after ctl stop, want 0"; return; }
	[[ ! -e $sock ]] || { reason="the control socket was left behind"; rm -f "$sock"; return; }
	note="pause/resume/stats (table, rate $rate pkt/s, --json)/stop, kill -USR1"
}

# make demo's VM (demo-net.sh, the script `make demo` runs) driven through its
# console as a person would: the banner, ping the host, ethtool -l shows 2
# queue pairs, Ctrl-A s prints the statistics table, poweroff gives status 0
# and the TAP is gone.  Typed lines are echoed by the guest's tty, so each
# command prints a marker that its echo cannot contain (DEMO-$((40+2)) -> DEMO-42).
case_demo() {
	local st
	G_DIR=$(mktemp -d /tmp/ktvm-e2e-demo.XXXXXX)
	G_CON=$G_DIR/console
	: >"$G_CON"
	mkfifo "$G_DIR/in"
	exec {G_IN}<>"$G_DIR/in"
	G_T0=$(now_ms)
	# script(1): the console on a terminal, as in `make demo` (Ctrl-A escapes
	# are read from a terminal only); ktvm's stderr shares it.
	timeout -k 5 210 script -q -e -f -c "$(printf '%q ' "$E2E_SRC/demo-net.sh" "$KTVM" "$VMLINUX" \
		"$NET_INITRD" --timeout 180)" /dev/null <"$G_DIR/in" >"$G_CON" 2>"$out/demo.stderr" {G_IN}>&- &
	G_PID=$!
	wait_for "$G_CON" "Ctrl-A s " 120 "$G_PID" ||
		{ reason="no demo banner ($(tail -n1 "$out/demo.stderr"))"; return; }
	grep -q "ktvm demo: 2 vCPUs; eth0 $GUEST_IP/24 is ktvm's virtio-net NIC (2 queue pairs) on host TAP ktvm-demo0 $HOST_IP" "$G_CON" ||
		{ reason="banner: '$(grep -m1 'ktvm demo:' "$G_CON" | tr -d '\r')'"; return; }
	grep -q "ping -c 3 $HOST_IP" "$G_CON" || { reason="the banner does not say how to ping the host"; return; }
	printf 'ping -c 3 -W 5 %s; echo "DEMO-$((40+2)) ping rc=$?"\n' "$HOST_IP" >&"$G_IN"
	wait_for "$G_CON" "DEMO-42 ping rc=" 60 "$G_PID" || { reason="ping from the demo guest never finished"; return; }
	grep -q "DEMO-42 ping rc=0" "$G_CON" || { reason="the demo guest cannot ping the host"; return; }
	printf 'echo "DEMO-$((40+3)) combined=$(ethtool -l eth0 | grep -c "^Combined:.*2")"\n' >&"$G_IN"
	wait_for "$G_CON" "DEMO-43 combined=" 30 "$G_PID" || { reason="ethtool -l never answered"; return; }
	grep -q "DEMO-43 combined=2" "$G_CON" || { reason="ethtool -l eth0 does not show 2 queue pairs (max and current)"; return; }
	printf '\001s' >&"$G_IN"
	wait_for "$G_CON" "net0: tap ktvm-demo0, mac $DEFAULT_MAC, 2 of 2 queue pairs active" 20 "$G_PID" ||
		{ reason="Ctrl-A s printed no statistics table"; return; }
	wait_for "$G_CON" "total  tx" 10 "$G_PID" || { reason="the statistics table has no totals"; return; }
	printf 'poweroff\n' >&"$G_IN"
	guest_reap 60
	((G_STATUS == 0)) || { reason="poweroff ended the demo with status $G_STATUS, want 0"; return; }
	[[ ! -e /sys/class/net/ktvm-demo0 ]] || { reason="the demo's TAP ktvm-demo0 was left behind"; ip link del ktvm-demo0; return; }
	note="banner, ping, ethtool -l (2 pairs), Ctrl-A s table, poweroff 0, TAP removed"
}

# The guest's source MAC as the host sees it on the wire (tcpdump -e), and in
# its neighbour table: NetConfig's default, 02:00:00:00:00:01, with no mac= given.
case_net_mac() {
	local mac=$DEFAULT_MAC td=$out/net-mac.tcpdump tdpid src
	tap_setup || { reason="cannot set up TAP $TAP"; return; }
	guest_start net-mac 120 "tap=$TAP" || { reason=$G_WHY; return; }
	check_nic "$mac" 1500 || return
	timeout 60 tcpdump -e -n -l -c 1 -i "$TAP" "icmp and src host $GUEST_IP" >"$td" 2>"$td.err" &
	tdpid=$!
	wait_for "$td.err" "listening on" 20 "$tdpid" || { reason="tcpdump did not start: $(head -n1 "$td.err")"; return; }
	grun 40 "ping -c 1 -W 5 $HOST_IP" || { reason="guest cannot ping the host"; return; }
	timeout 20 tail --pid="$tdpid" -f /dev/null || true
	kill "$tdpid" 2>/dev/null
	wait "$tdpid" 2>/dev/null
	# "12:00:00.000000 02:6b:74:76:6d:02 > 6e:..., ethertype IPv4 (0x0800), ..."
	src=$(awk 'NR == 1 {print $2}' "$td")
	[[ $src == "$mac" ]] || { reason="tcpdump saw source MAC ${src:-none}, want $mac ($(head -n1 "$td"))"; return; }
	[[ $(ip neigh show "$GUEST_IP" dev "$TAP" | awk '{print $3}') == "$mac" ]] ||
		{ reason="host neighbour entry: $(ip neigh show "$GUEST_IP" dev "$TAP"), want lladdr $mac"; return; }
	note="tcpdump: source $src"
	stop_ok || return
}

# mtu=9000: VIRTIO_NET_F_MTU makes the guest's eth0 come up with MTU 9000
# (guest-init does not set it); then full-size frames with DF, both ways
# (iputils ping in the guest as iping: busybox ping has no -M).
case_net_mtu9000() {
	tap_setup 9000 || { reason="cannot set up TAP $TAP"; return; }
	guest_start net-mtu9000 120 "tap=$TAP,mtu=9000" || { reason=$G_WHY; return; }
	check_nic "$DEFAULT_MAC" 9000 || return
	grun 40 "iping -c 3 -W 5 -w 30 -M do -s 8972 $HOST_IP" || { reason="guest cannot ping the host with 9000-byte DF packets (status $?)"; return; }
	host_ping -c 3 -W 5 -w 30 -M do -s 8972 || { reason="host cannot ping the guest with 9000-byte DF packets: $(tail -n2 "$out/$G_NAME.host-ping" | head -n1)"; return; }
	# One byte more must not fit (DF): proves the MTU really is 9000.
	if timeout 20 ping -c 1 -W 2 -M do -s 8973 "$GUEST_IP" >/dev/null 2>&1; then
		reason="an 8973-byte DF ping went through an MTU of 9000"
		return
	fi
	note="8972-byte DF pings both ways, rtt avg ${RTT} ms"
	stop_ok || return
}

# The offloads the guest got (features negotiated with ktvm), and what ktvm
# then programmed on the TAP (TUNSETOFFLOAD).
case_net_offloads() {
	local f g h
	tap_setup || { reason="cannot set up TAP $TAP"; return; }
	guest_start net-offloads 120 "tap=$TAP" || { reason=$G_WHY; return; }
	f='^(rx-checksumming|tx-checksumming|scatter-gather|tcp-segmentation-offload|generic-receive-offload):'
	grun 40 "ethtool -k eth0 | grep -E '$f' | sed 's/^/KTVM-E2E: ethtool /'" ||
		{ reason="ethtool -k eth0 failed in the guest"; return; }
	g=$(sed -n 's/^KTVM-E2E: ethtool \([a-z-]*\): \([a-z]*\).*/\1=\2/p' "$G_CON" | tr -d '\r' | tr '\n' ' ')
	h=$(ethtool -k "$TAP" 2>/dev/null | grep -E "$f" | sed 's/^\([a-z-]*\): \([a-z]*\).*/\1=\2/' | tr '\n' ' ')
	echo "guest eth0: $g" >"$out/net-offloads.ethtool"
	echo "host $TAP: $h" >>"$out/net-offloads.ethtool"
	[[ " $g" == *" tx-checksumming=on "* && " $g" == *" tcp-segmentation-offload=on "* ]] ||
		{ reason="guest offloads not on: $g"; return; }
	note="guest: ${g% }; tap: ${h% }"
	stop_ok || return
}

# iperf3_mbps FILE: receiver throughput in Mbit/s from iperf3 -f m output.
iperf3_mbps() { awk '/receiver/ {for (i = 2; i <= NF; i++) if ($i == "Mbits/sec") v = $(i - 1)} END {print v}' "$1"; }
mbps_to_gbps() { awk -v m="$1" 'BEGIN {if (m == "") print "?"; else printf "%.2f", m / 1000}'; }

# start_guest_iperf3: iperf3 server in the guest, waited for until it listens.
start_guest_iperf3() {
	grun 40 "iperf3 -s -D >/dev/null 2>&1; i=0; while ! netstat -ltn | grep -q ':5201 '; do i=\$((i+1)); [ \$i -gt 100 ] && exit 1; usleep 100000; done" ||
		{ reason="iperf3 server did not start in the guest"; return 1; }
}

# iperf3_stalled FILE: does iperf3's per-second output (-i 1 --forceflush)
# end in 3 intervals at 0 bit/s for one stream (the [SUM] lines when there
# are some)? Prints that stream's tag ("[SUM][TX-C]", "[  5]").
iperf3_stalled() {
	awk '/sender|receiver/ { next }
		/ sec .*bits\/sec/ && match($0, /^\[[^]]*\](\[[^]]*\])?/) {
			k = substr($0, RSTART, RLENGTH)
			z[k] = ($0 ~ / 0\.00 [KMG]?bits\/sec/) ? z[k] + 1 : 0
			if (k ~ /SUM/) sum = 1
		}
		END {
			for (k in z) if (z[k] >= 3 && (!sum || k ~ /SUM/)) { print k; exit 0 }
			exit 1
		}' "$1"
}

# stall_snapshot TAG: what ktvm and the guest say while traffic is stuck,
# into $out/$G_NAME.stall-TAG: ktvm's counters and ring indices twice, 2 s
# apart (kill -USR1), its threads, the host TAP; the guest's interrupt
# counts and virtio_net's own counters go to its console.
stall_snapshot() {
	local pid f=$out/$G_NAME.stall-$1
	if ! pid=$(vmm_pid); then
		{
			echo "== the VMM is not running any more =="
			tail -n 20 "$out/$G_NAME.stderr"
			echo "== console (last 60 lines) =="
			tail -n 60 "$G_CON" | tr -d '\r'
		} >"$f" 2>&1
		return 0
	fi
	{
		vmm_snapshot "$pid"
		echo "== host TAP =="
		ip -s link show "$TAP" 2>&1
	} >"$f" 2>&1
	grun 20 'echo "== guest =="; grep -i -E "virtio|CPU" /proc/interrupts; ethtool -S eth0 2>&1; grep "^Tcp" /proc/net/snmp; ip -s link show eth0' \
		>/dev/null || true
}

# iperf3_watched FILE SECONDS ARGS...: the host's iperf3 client against the
# guest, watched while it runs. Returns 1 on failure; on a stall (see
# iperf3_stalled) it snapshots ktvm and the guest first and sets STALL.
iperf3_watched() {
	local f=$1 s=$2 ipid i k
	shift 2
	STALL=''
	timeout $((s + 40)) iperf3 -c "$GUEST_IP" -t "$s" -i 1 -f m --forceflush --connect-timeout 10000 "$@" >"$f" 2>&1 &
	ipid=$!
	for ((i = 0; i < s + 45; i++)); do
		kill -0 "$ipid" 2>/dev/null || break
		if k=$(iperf3_stalled "$f"); then
			stall_snapshot "${f##*/}"
			kill "$ipid" 2>/dev/null
			wait "$ipid" 2>/dev/null
			STALL="$k stalled for 3 s at $(grep -c -E '^\[SUM\]|^\[ *[0-9]+\]' "$f") interval lines; snapshot in $G_NAME.stall-${f##*/}"
			return 1
		fi
		sleep 1 # polling iperf3's per-second output
	done
	wait "$ipid"
}

# run_iperf3 NAME SECONDS [-R]: host client against the guest's server
# (-R: the guest sends). Sets MBPS.
run_iperf3() {
	local f=$out/$1.iperf3 s=$2
	shift 2
	MBPS=''
	iperf3_watched "$f" "$s" "$@" || return 1
	MBPS=$(iperf3_mbps "$f")
	[[ -n $MBPS ]]
}

case_net_iperf() {
	local tx rx
	tap_setup || { reason="cannot set up TAP $TAP"; return; }
	guest_start net-iperf 180 "tap=$TAP" || { reason=$G_WHY; return; }
	start_guest_iperf3 || return
	run_iperf3 net-iperf.host-to-guest 5 || { reason="iperf3 host->guest failed: ${STALL:-$(tail -n1 "$out/net-iperf.host-to-guest.iperf3")}"; return; }
	rx=$MBPS
	run_iperf3 net-iperf.guest-to-host 5 -R || { reason="iperf3 guest->host failed: ${STALL:-$(tail -n1 "$out/net-iperf.guest-to-host.iperf3")}"; return; }
	tx=$MBPS
	note="TCP 5 s: guest->host $(mbps_to_gbps "$tx") Gbit/s, host->guest $(mbps_to_gbps "$rx") Gbit/s"
	echo "$note" >"$out/net-iperf.throughput"
	awk -v a="$tx" -v b="$rx" -v m="$IPERF_MIN_MBPS" 'BEGIN {exit !(a > m && b > m)}' ||
		{ reason="throughput under $IPERF_MIN_MBPS Mbit/s: $note"; return; }
	stop_ok || return
}

# RX stall and recovery. With eth0 down the guest's virtio_net has NAPI
# disabled: the RX buffers it posted stay in the ring but nothing consumes or
# refills them. A UDP flood from the host (to a static neighbour entry, as the
# guest answers no ARP then) fills the guest's RX ring (256), then ktvm has to
# stop reading the TAP, whose queue (qlen 1000) fills and drops (its tx_dropped
# counter proves it; measured: 1753 of 3000 dropped, 1255 delivered later). eth0 up again: NAPI takes the queued packets, refills
# and kicks; ktvm must resume reading the TAP, and pings must work again
# within a bounded time.
case_net_rx_stall() {
	local d0 d1 r0 r1 i u
	tap_setup || { reason="cannot set up TAP $TAP"; return; }
	guest_start net-rx-stall 180 "tap=$TAP" || { reason=$G_WHY; return; }
	grun 40 "ping -c 1 -W 5 -w 20 $HOST_IP" || { reason="guest cannot ping the host before the stall"; return; }
	ip neigh replace "$GUEST_IP" lladdr "$DEFAULT_MAC" dev "$TAP" nud permanent
	grun 20 'ip link set eth0 down && echo "KTVM-E2E: rx_before=$(cat /sys/class/net/eth0/statistics/rx_packets)"' ||
		{ reason="could not take eth0 down in the guest"; return; }
	r0=$(gfield rx_before)
	d0=$(cat "/sys/class/net/$TAP/statistics/tx_dropped")
	# 3000 datagrams of 1000 bytes to the discard port, one socket, no forks.
	exec {u}>"/dev/udp/$GUEST_IP/9" || { reason="cannot open a UDP socket to the guest"; return; }
	for ((i = 0; i < 3000; i++)); do printf '%1000s' '' >&"$u" 2>/dev/null; done
	exec {u}>&-
	d1=$(cat "/sys/class/net/$TAP/statistics/tx_dropped")
	((d1 - d0 > 0)) || { reason="the flood dropped nothing on the TAP (tx_dropped $d0 -> $d1): the guest's ring never filled up?"; return; }
	grun 60 "ip link set eth0 up && ping -c 3 -W 5 -w 40 $HOST_IP" ||
		{ reason="after the stall (TAP dropped $((d1 - d0))), the guest cannot ping the host within 40 s"; return; }
	host_ping -c 3 -W 5 -w 30 || { reason="after the stall, the host cannot ping the guest"; return; }
	grun 20 'echo "KTVM-E2E: rx_after=$(cat /sys/class/net/eth0/statistics/rx_packets)"' || { reason="agent did not answer"; return; }
	r1=$(gfield rx_after)
	# The guest must get the packets that waited in its ring and in the TAP.
	((r1 - r0 >= 256)) || { reason="guest received only $((r1 - r0)) packets after the stall, want >= 256 (its full ring)"; return; }
	note="TAP dropped $((d1 - d0)) of 3000, guest got $((r1 - r0)) after eth0 up"
	stop_ok || return
}

# A user without CAP_NET_ADMIN cannot create the TAP: status 1, one line that
# names it. That user needs /dev/kvm to get that far: in the venue (whose
# /dev/kvm is root's only) a temporary chmod; natively the device's group, if
# it has one; else only "status 1 or 2, one line" is checked (noted).
case_net_tap_eperm() {
	local mode rc=0 g k=$VMLINUX groups=() kvm_ok=''
	G_NAME=net-tap-eperm G_T0=$(now_ms) G_STATUS=''
	ip link del "$TAP" 2>/dev/null || true
	mode=$(stat -c %a /dev/kvm)
	g=$(stat -c %g /dev/kvm)
	if [[ -n ${E2E_IN_VENUE:-} ]]; then
		chmod 666 /dev/kvm
		kvm_ok=1
	elif ((g != 0)) && [[ $mode == ?[67]? ]]; then
		groups=(--groups="$g")
		kvm_ok=1
	fi
	if [[ $(stat -c %A "$k") != *r?? ]]; then # not world-readable: a copy that is
		k=$(mktemp /tmp/ktvm-e2e-vmlinux.XXXXXX)
		cp "$VMLINUX" "$k" && chmod 644 "$k"
	fi
	timeout -k 2 30 setpriv --reuid=65534 --regid=65534 --clear-groups "${groups[@]}" \
		"$KTVM" run --kernel "$k" --net "tap=$TAP" --timeout 10 </dev/null >/dev/null 2>"$out/$G_NAME.stderr" || rc=$?
	[[ -n ${E2E_IN_VENUE:-} ]] && chmod "$mode" /dev/kvm
	[[ $k == "$VMLINUX" ]] || rm -f "$k"
	G_STATUS=$rc
	((rc == 1 || rc == 2)) || { reason="status $rc, want 1 or 2 ($(head -n1 "$out/$G_NAME.stderr"))"; return; }
	(($(wc -l <"$out/$G_NAME.stderr") == 1)) || { reason="$(wc -l <"$out/$G_NAME.stderr") lines on stderr, want 1"; return; }
	if [[ -n $kvm_ok ]]; then
		grep -q "$TAP" "$out/$G_NAME.stderr" || { reason="error does not name the TAP: $(cat "$out/$G_NAME.stderr")"; return; }
		note="$(cat "$out/$G_NAME.stderr")"
	else
		note="uid 65534 has no /dev/kvm here, so the TAP error path is untested: $(cat "$out/$G_NAME.stderr")"
	fi
}

# net_case NAME: run one network case (resumable like the others).
net_case() {
	local name=$1 rc=0 reason='' note='' ms fn
	want_run "$name" || rc=$?
	((rc == 1)) && return 0
	if ((rc == 2)); then
		reason="the venue froze during this case $MAX_TRIES times"
	elif [[ ! -s $NET_INITRD ]]; then
		reason="$NET_INITRD missing"
	else
		fn=case_${name//-/_}
		G_T0=$(now_ms) G_NAME=$name
		"$fn"
		[[ $name == net-tap-eperm ]] || guest_end
		[[ -e $out/$name.ms ]] || echo $(($(now_ms) - G_T0)) >"$out/$name.ms"
	fi
	if [[ -z $reason ]]; then
		ms=$(cat "$out/$name.ms")
		printf 'PASS %s (%d.%ds)%s\n' "$name" $((ms / 1000)) $((ms % 1000 / 100)) "${note:+: $note}"
	else
		printf 'FAIL %s: %s\n' "$name" "$reason"
	fi | tee "$out/$name.result"
	: >"$out/$name.done"
}

# --- net-bench: iperf3 both ways, both orientations, with per-GB accounting (not in the default run) ---
# VMMs (guest_start's G_VMM): ktvm (PVH vmlinux); qemu-vhost-off|on, QEMU
# microvm,pcie=on with the vmlinux; qemu-pc-vhost-off|on, QEMU -M pc with the
# bzImage. All on the same TAP, 1 vCPU, 256M.
NET_BENCH_VMMS=${E2E_NET_BENCH_VMMS:-ktvm,qemu-vhost-off,qemu-vhost-on,qemu-pc-vhost-off,qemu-pc-vhost-on}
# Orientations: hc = the host is the iperf3 client (the guest's server; -R
# makes the guest send), gc = the guest is the client (-R: the host sends).
NET_BENCH_ORIENTS=${E2E_NET_BENCH_ORIENTS:-gc,hc}
# One more boot per VMM listed here (e.g. ktvm), with `strace -c -f` attached
# to the VMM during each iperf3 run: which syscalls (strace slows the VMM
# tenfold or more, so its counts per GB and its throughput are not the
# timed runs'; perf's below are).
NET_BENCH_STRACE=${E2E_NET_BENCH_STRACE-}
# Rounds (of --runs) whose iperf3 runs also count syscalls with perf (its
# start costs ~10 s a run in the venue): the first by default.
NET_BENCH_PERF_ROUNDS=${E2E_NET_BENCH_PERF_ROUNDS:-1}
NET_BENCH_PINGS=${E2E_NET_BENCH_PINGS:-200}
HOST_IPERF_PORT=5202 # the host's server for the guest-as-client runs

# The guest's counters, one console line "KTVM-E2E: snap K=V ...": virtio
# interrupts per vector (/proc/interrupts, 1 vCPU), virtio_net's per-queue
# packets/bytes/kicks (ethtool -S; kicks = notifications the driver really
# sent), eth0's byte counts, TCP segments and retransmits, CPU ticks.
G_SNAP='{ awk "/virtio/ {print \"irq.\" \$NF \"=\" \$2}" /proc/interrupts; ethtool -S eth0 | awk -F": *" "\$1 ~ /queue_0_(packets|bytes|kicks)\$/ {gsub(/ /, \"\", \$1); print \"eth.\" \$1 \"=\" \$2}"; for f in tx_bytes rx_bytes tx_packets rx_packets; do echo "dev.$f=$(cat /sys/class/net/eth0/statistics/$f)"; done; awk "/^Tcp:/ {if (h) {for (i = 2; i <= NF; i++) if (n[i] ~ /^(InSegs|OutSegs|RetransSegs)\$/) print \"tcp.\" n[i] \"=\" \$i} else {split(\$0, n); h = 1}}" /proc/net/snmp; head -n1 /proc/stat | awk "{s = 0; for (i = 2; i <= NF; i++) s += \$i; print \"cpu.idle=\" \$5; print \"cpu.total=\" s}"; } | tr "\n" " " | sed "s/^/KTVM-E2E: snap@SEQ@ /"; echo'

# host_snap FILE: the host's side of a snapshot: the clock, the VMM's
# threads' CPU ticks (utime+stime, tab-separated: QEMU's names have spaces)
# with vhost-net's kernel thread, KVM's per-VM counters (debugfs), the host's
# TCP counters, and ktvm's own stats (its control socket).
host_snap() {
	local f=$1 pid t c k v d
	pid=$(vmm_pid) || return 1
	{
		echo "time_ms $(now_ms)"
		for t in /proc/"$pid"/task/* $(pgrep -x "vhost-$pid" | sed 's|^|/proc/|'); do
			c=$(cat "$t/comm" 2>/dev/null) || continue
			printf 'thread\t%s\t%s\t%s\n' "${t##*/}" "$c" "$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "$t/stat" 2>/dev/null)"
			# read- and write-type syscalls (read/readv/pread..., write/writev...)
			awk -v t="${t##*/}" '/^sysc[rw]:/ { sub(/:/, "", $1); printf "threadio\t%s\t%s\t%s\n", t, $1, $2 }' "$t/io" 2>/dev/null
		done
		for d in /sys/kernel/debug/kvm/"$pid"-*; do
			[[ -d $d ]] || continue
			for k in "$d"/*; do
				[[ -f $k ]] && read -r v <"$k" 2>/dev/null && [[ $v =~ ^[0-9]+$ ]] && printf 'kvm\t%s\t%s\n' "${k##*/}" "$v"
			done
		done
		awk '/^Tcp:/ { if (h) { for (i = 2; i <= NF; i++) printf "hosttcp\t%s\t%s\n", n[i], $i } else { split($0, n); h = 1 } }' /proc/net/snmp
		# The host as a whole (all its CPUs) and its iperf3, the other end.
		awk '/^cpu / { s = 0; for (i = 2; i <= NF; i++) s += $i; printf "hostcpu\tidle\t%s\nhostcpu\ttotal\t%s\n", $5 + $6, s }' /proc/stat
		# The harness's finished children (iperf3 on the host, mostly), in ms.
		# (`times` of this very shell: a pipe or $() would fork and see none.)
		echo "times"
		times
		if [[ -n ${G_SOCK:-} ]]; then
			printf 'ktvmstats\t%s\n' "$("$KTVM" ctl "$G_SOCK" stats --json 2>/dev/null)"
		fi
	} >"$f"
}

# guest_snap FILE: the guest's side (G_SNAP), appended to FILE as "guest K V".
guest_snap() {
	local seq
	grun 30 "${G_SNAP//@SEQ@/$((G_SEQ + 1))}" >/dev/null || return 1
	seq=$G_SEQ
	sed -n "s/^KTVM-E2E: snap$seq //p" "$G_CON" | tr -d '\r' | tr ' ' '\n' | sed -n 's/^\([^=]*\)=\([0-9]*\)$/guest\t\1\t\2/p' >>"$1"
}

# acct_before/acct_after TAG: counters around one iperf3 run. The guest's
# snapshot is taken outside the host's window (its console output is VM
# exits too) and the host's outside the guest's.
acct_before() {
	guest_snap "$out/$1.snap0.guest"
	host_snap "$out/$1.snap0"
	cat "$out/$1.snap0.guest" >>"$out/$1.snap0" 2>/dev/null
	rm -f "$out/$1.snap0.guest"
}
acct_after() {
	host_snap "$out/$1.snap1"
	guest_snap "$out/$1.snap1"
}

# strace_start TAG / strace_stop: `strace -c -f` on every thread of the VMM
# for one run, summary in $out/TAG.strace (counts; the times are strace's).
strace_start() {
	local pid
	S_PID=''
	pid=$(vmm_pid) || return 1
	strace -c -f -p "$pid" -o "$out/$1.strace" 2>"$out/$1.strace-err" &
	S_PID=$!
	# Attached once it says so for the process (bounded).
	wait_for "$out/$1.strace-err" "attached" 20 "$S_PID"
}
strace_stop() {
	[[ -n ${S_PID:-} ]] || return 0
	kill -INT "$S_PID" 2>/dev/null
	timeout 30 tail --pid="$S_PID" -f /dev/null || kill -KILL "$S_PID" 2>/dev/null
	wait "$S_PID" 2>/dev/null
	S_PID=''
}

# perf_start TAG / perf_stop: syscalls of every VMM thread during one run,
# counted by the kernel's syscall tracepoints (`perf stat --per-thread`:
# counting, not tracing, so the run keeps its speed, unlike strace), into
# $out/TAG.perf. No perf, or no tracepoints: nothing (the table says "-").
NET_BENCH_SYSCALLS=read,readv,write,writev,ioctl,epoll_wait,ppoll,io_uring_enter
perf_start() {
	local pid ev
	P_PID=''
	command -v perf >/dev/null || return 0
	pid=$(vmm_pid) || return 0
	ev=raw_syscalls:sys_enter,$(sed 's/\([a-z_0-9]*\)/syscalls:sys_enter_\1/g' <<<"$NET_BENCH_SYSCALLS")
	perf stat --per-thread -x, -e "$ev" -p "$pid" -o "$out/$1.perf" 2>"$out/$1.perf-err" &
	P_PID=$!
	# Counting once its output file has its header (bounded).
	poll_for "$out/$1.perf" "started on" 10 || true
}
perf_stop() {
	[[ -n ${P_PID:-} ]] || return 0
	kill -INT "$P_PID" 2>/dev/null
	timeout 20 tail --pid="$P_PID" -f /dev/null || kill -KILL "$P_PID" 2>/dev/null
	wait "$P_PID" 2>/dev/null
	P_PID=''
}

# guest_iperf3 TAG SECONDS [-R]: the guest as the iperf3 client against a
# one-off server on the host; the guest's summary lines ("sender",
# "receiver") come back on the console and go to $out/TAG.iperf3.
guest_iperf3() {
	local tag=$1 s=$2 spid seq i
	shift 2
	timeout $((s + 60)) iperf3 -s -1 -B "$HOST_IP" -p "$HOST_IPERF_PORT" -f m >"$out/$tag.server" 2>&1 &
	spid=$!
	for ((i = 0; i < 100; i++)); do # until it listens (bounded: 10 s)
		ss -ltn 2>/dev/null | grep -q "$HOST_IP:$HOST_IPERF_PORT " && break
		kill -0 "$spid" 2>/dev/null || break
		sleep 0.1
	done
	grun $((s + 60)) "iperf3 -c $HOST_IP -p $HOST_IPERF_PORT -t $s -f m --connect-timeout 10000 $* >/tmp/ipf.out 2>&1; rc=\$?; grep -E \"sender|receiver|error\" /tmp/ipf.out | sed \"s/^/KTVM-E2E: ipf$((G_SEQ + 1)) /\"; exit \$rc"
	local rc=$?
	seq=$G_SEQ
	sed -n "s/^KTVM-E2E: ipf$seq //p" "$G_CON" | tr -d '\r' >"$out/$tag.iperf3"
	timeout 10 tail --pid="$spid" -f /dev/null || kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	return $rc
}

# iperf3_retr FILE: the sender's retransmit count (iperf3's "Retr" column).
iperf3_retr() { awk '/sender/ {for (i = 2; i <= NF; i++) if ($i == "Mbits/sec" && $(i + 1) ~ /^[0-9]+$/) v = $(i + 1)} END {print v}' "$1"; }

# bench_iperf TAG ORIENT DIR SECONDS STRACE: one measured iperf3 run; writes
# TAG.mbps (receiver Mbit/s), TAG.retr, and the snapshots or the strace
# summary.
bench_iperf() {
	local tag=$1 o=$2 dir=$3 s=$4 st=$5 r=()
	[[ $o == hc && $dir == g2h || $o == gc && $dir == h2g ]] && r=(-R)
	if [[ -n $st ]]; then
		strace_start "$tag" || echo "strace did not attach" >>"$out/$tag.strace-err"
	else
		# perf first: its slow start stays out of the snapshots' window.
		[[ ,$NET_BENCH_PERF_ROUNDS, == *,$NB_ROUND,* ]] && perf_start "$tag"
		acct_before "$tag"
	fi
	if [[ $o == hc ]]; then
		run_iperf3 "$tag" "$s" "${r[@]}" || MBPS=''
	else
		MBPS=''
		guest_iperf3 "$tag" "$s" "${r[@]}" && MBPS=$(iperf3_mbps "$out/$tag.iperf3")
	fi
	if [[ -n $st ]]; then
		strace_stop
	else
		acct_after "$tag"
		perf_stop
	fi
	[[ -n $MBPS ]] && echo "$MBPS" >"$out/$tag.mbps"
	iperf3_retr "$out/$tag.iperf3" >"$out/$tag.retr"
	[[ -n $MBPS ]]
}

# bench_one NAME VMM SECONDS [strace]: one boot, every orientation and
# direction: NAME.ORIENT.DIR.{mbps,retr,snap0,snap1,iperf3}; NAME.rtt (ms).
bench_one() {
	local name=$1 s=$3 st=${4:-} o dir line='' orients
	G_WHY='' G_VMM=$2 G_T0=$(now_ms) G_NAME=$name G_SOCK=''
	if [[ $G_VMM == ktvm || $G_VMM == ktvmbase ]]; then
		G_SOCK=/tmp/ktvm-e2e-bench.$$.sock
		G_EXTRA=(--api-sock "$G_SOCK")
	fi
	IFS=, read -ra orients <<<"$NET_BENCH_ORIENTS"
	if tap_setup && guest_start "$name" $((s * 8 + 300)) "tap=$TAP"; then
		G_EXTRA=()
		if start_guest_iperf3; then
			for o in "${orients[@]}"; do
				for dir in g2h h2g; do
					bench_iperf "$name.$o.$dir" "$o" "$dir" "$s" "$st" || G_WHY+="${G_WHY:+; }$o $dir failed"
					line+=" $o.$dir $(mbps_to_gbps "$(cat "$out/$name.$o.$dir.mbps" 2>/dev/null)")"
				done
			done
		fi
		[[ -n $st ]] || { host_ping -c "$NET_BENCH_PINGS" -i 0.05 -W 5 -w 40 -q && echo "$RTT" >"$out/$name.rtt"; }
		guest_stop
	fi
	G_EXTRA=()
	guest_end
	rm -f "${G_SOCK:-/nonexistent}"
	G_VMM=ktvm G_SOCK=''
	printf 'net-bench %s: Gbit/s%s, rtt %s ms%s\n' "$name" "$line" \
		"$(cat "$out/$name.rtt" 2>/dev/null || echo ?)" "${G_WHY:+ ($G_WHY)}"
	G_WHY=''
}

# Interleaved A B C A B C, so drift in the machine hits every VMM alike; then
# the strace boots; then the table (tests/bench/netacct.py: medians, per GB).
net_bench() {
	local i v list name rc s=${E2E_NET_BENCH_SECONDS:-10} slist
	IFS=, read -ra list <<<"$NET_BENCH_VMMS"
	IFS=, read -ra slist <<<"$NET_BENCH_STRACE"
	mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug 2>/dev/null || true
	[[ -d /sys/kernel/debug/kvm ]] || echo "net-bench: no KVM debugfs (/sys/kernel/debug/kvm): no exit counts"
	for ((i = 1; i <= runs + 1; i++)); do
		if ((i <= runs)); then
			set -- "${list[@]}"
		else
			set -- "${slist[@]}"
		fi
		NB_ROUND=$i
		for v; do
			name=netbench-$v-$i rc=0
			((i > runs)) && name=netbench-strace-$v
			want_run "$name" || rc=$?
			((rc == 1)) && continue
			if ((rc == 2)); then
				echo "net-bench $name: venue froze $MAX_TRIES times" | tee "$out/$name.result"
			else
				bench_one "$name" "$v" "$s" $( ((i > runs)) && echo strace) | tee "$out/$name.result"
			fi
			: >"$out/$name.done"
		done
	done
	echo "net-bench: median of $runs, iperf3 TCP ${s} s per direction and orientation, ping -c $NET_BENCH_PINGS -i 0.05; 1 vCPU, 256M, TAP $TAP"
	if command -v python3 >/dev/null; then
		python3 "$REPO/tests/bench/netacct.py" "$out" | sed 's/^/net-bench: /'
	else
		echo "net-bench: no python3: the table is not made (counters in $out/netbench-*.snap*)"
	fi
}

# guest_ram_range PID [STDERR]: "START END" (hex) of ktvm's guest RAM: the
# span of its "[anon:ktvm guest ram]" mappings in /proc/PID/maps (file pages
# mapped into it split it; the stats no longer give its address, issue 13).
guest_ram_range() {
	awk '/\[anon:ktvm guest ram\]$/ { split($1, r, "-"); if (lo == "") lo = r[1]; hi = r[2] }
		END { if (lo == "") exit 1; print lo, hi }' "/proc/$1/maps" 2>/dev/null
}

# poll_for_count FILE PATTERN N SECONDS: until FILE has N lines with PATTERN.
poll_for_count() {
	local i
	for ((i = 0; i < $4 * 5; i++)); do
		(($(grep -c -F -e "$2" "$1" 2>/dev/null) >= $3)) && return 0
		sleep 0.2
	done
	return 1
}

# rss_outside_guest PID [START END]: kB of RSS in every mapping outside guest
# RAM. Guest RAM is [START, END) (hex, from guest_ram_range: file pages
# mapped into it, e.g. the kernel's segments, count as the guest's), else
# the largest mapping (QEMU). Plain awk (mawk): hex addresses compared as
# space-padded strings.
rss_outside_guest() {
	awk -v lo="${2:-}" -v hi="${3:-}" '
		function pad(h) { return sprintf("%20s", h) }
		BEGIN { if (lo != "") { lo = pad(lo); hi = pad(hi) } }
		/^[0-9a-f]+-[0-9a-f]+ / {
			split($1, r, "-")
			inside = (lo != "" && pad(r[1]) >= lo && pad(r[2]) <= hi)
			next
		}
		/^Size:/ { sz = $2; next }
		/^Rss:/ {
			tot += $2
			if (inside) guest += $2
			if (sz > maxsz) { maxsz = sz; maxrss = $2 }
		}
		END { print tot - (lo != "" ? guest : maxrss) }' "/proc/$1/smaps" 2>/dev/null
}

# --- mem-bench: the VMM's RSS outside guest RAM with an idle guest ---
# The agent guest (1 vCPU, 256M, one NIC) under ktvm and QEMU microvm
# (virtio-net-pci, vhost=off), interleaved; /proc/PID/smaps 3 s after the
# agent is ready, summed over every mapping except guest RAM (ktvm names it;
# for QEMU it is the largest mapping).
MEM_BENCH_VMMS=${E2E_MEM_BENCH_VMMS:-ktvm,qemu-vhost-off}

mem_bench() {
	local i v list name rc pid range
	IFS=, read -ra list <<<"$MEM_BENCH_VMMS"
	for ((i = 1; i <= runs; i++)); do
		for v in "${list[@]}"; do
			name=membench-$v-$i rc=0
			want_run "$name" || rc=$?
			((rc == 1)) && continue
			G_WHY='' G_VMM=$v G_T0=$(now_ms) G_NAME=$name
			if ((rc != 2)) && tap_setup && guest_start "$name" 120 "tap=$TAP" && pid=$(vmm_pid); then
				sleep 3 # let the guest settle into idle: this is the measurement's start
				range=''
				[[ $v == ktvm ]] && range=$(guest_ram_range "$pid" "$out/$name.stderr")
				# shellcheck disable=SC2086 # START END, two words
				rss_outside_guest "$pid" $range >"$out/$name.kb"
				cat "/proc/$pid/smaps" >"$out/$name.smaps" 2>/dev/null
				awk '/^Rss:/ {t += $2} END {print t}' "/proc/$pid/smaps" >"$out/$name.total_kb"
				guest_stop
			fi
			guest_end
			G_VMM=ktvm
			echo "mem-bench $name: $(cat "$out/$name.kb" 2>/dev/null || echo ?) kB outside guest RAM, $(cat "$out/$name.total_kb" 2>/dev/null || echo ?) kB in all${G_WHY:+ ($G_WHY)}" |
				tee "$out/$name.result"
			: >"$out/$name.done"
		done
	done
	echo "mem-bench: median of $runs, RSS outside guest RAM with an idle guest (1 vCPU, 256M, one NIC)"
	for v in "${list[@]}"; do
		printf 'mem-bench: %-16s %8s kB\n' "$v" "$(cat "$out"/membench-"$v"-*.kb 2>/dev/null | median_f)"
	done
}

# median of decimal numbers (empty when there are none)
median_f() { sort -g | awk '{a[NR] = $1} END {if (NR) print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2)}'; }
