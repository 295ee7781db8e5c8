#!/bin/bash
# The demo's VM, run where ktvm runs (on this host with hardware
# virtualisation, or inside the venue): a host TAP ktvm-demoN with
# 10.0.2.1/24, ktvm with 2 vCPUs and a 2-pair NIC on it (the guest's eth0 is
# 10.0.2.2/24), the console on this terminal; the TAP is removed when ktvm
# ends, and ktvm's status is this script's.
#   demo-net.sh KTVM KERNEL INITRD [extra ktvm run options...]
# Without CAP_NET_ADMIN (no TAP can be made) the demo boots without a NIC.
set -uo pipefail
ktvm=$1 kernel=$2 initrd=$3
shift 3
host_ip=10.0.2.1 guest_ip=10.0.2.2/24
tap=
for i in 0 1 2 3 4 5 6 7 8 9; do
	[[ -e /sys/class/net/ktvm-demo$i ]] && continue
	# multi_queue: the NIC has 2 queue pairs, one TAP queue each.
	if ip tuntap add dev "ktvm-demo$i" mode tap multi_queue 2>/dev/null; then
		tap=ktvm-demo$i
		break
	fi
	echo "demo: cannot create a TAP (needs root or CAP_NET_ADMIN): the guest gets no NIC" >&2
	break
done
net=()
if [[ -n $tap ]]; then
	trap 'ip link del "$tap" 2>/dev/null' EXIT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
	ip addr add "$host_ip/24" dev "$tap" && ip link set "$tap" up ||
		{ echo "demo: cannot configure TAP $tap" >&2; exit 1; }
	net=(--net "tap=$tap,queue_pairs=2")
fi
"$ktvm" run --kernel "$kernel" --initrd "$initrd" --cpus 2 --memory 512M "${net[@]}" --console stdio \
	--cmdline "quiet ktvm.test=demo ktvm.ip=$guest_ip ktvm.host=$host_ip ktvm.tap=$tap" "$@"
st=$?
exit "$st"
