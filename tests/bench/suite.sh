#!/usr/bin/env bash
# make bench: ktvm against QEMU, side by side on this machine (issue 8).
#
#   tests/bench/suite.sh [--quick] [--only boot,net,mq,mem,datapath] [--out DIR]
#
# Parts (each a ratio measured in one run, interleaved, median of several):
#   datapath  the virtio-net data path with no guest, against the raw TAP limit
#             (native: tests/bench/datapath.c)
#   boot      VMM start -> the guest's first line from /init (run.sh --boot-time)
#   net       iperf3 both ways, guest and host as the client, 1 pair, ktvm and
#             QEMU microvm/pc vhost=off/on, with kicks, interrupts, exits,
#             syscalls and CPU per GB (run.sh --net-bench; tests/bench/netacct.py)
#   mq        iperf3 -P 4 with 1, 2, 4 pairs (run.sh --mq-bench)
#   mem       RSS outside guest RAM with an idle guest (run.sh --mem-bench)
# Guests run in the venue when this host's /dev/kvm cannot run Linux.
# Output in DIR (default build/bench/): results.json, results.md (the table),
# results.png (gnuplot), and each part's log. A benchmark never fails on
# speed: the status is non-zero only when a part could not run at all.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
out=$root/build/bench only=boot,net,mq,mem,datapath quick=''
while (($#)); do
	case $1 in
	--quick) quick=1; shift ;;
	--only) only=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	-h | --help) sed -n '2,18p' "$0"; exit 0 ;;
	*) echo "suite.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
mkdir -p "$out"
want() { [[ ,$only, == *,$1,* ]]; }
failed=0

# run_part NAME CMD...: CMD's output in NAME.log; the e2e run directory it
# reports ("logs in DIR") in NAME.rundir.
run_part() {
	local name=$1 t0=$SECONDS
	shift
	echo "bench: $name ..."
	"$@" >"$out/$name.log" 2>&1 || echo "bench: $name ended with status $? (see $out/$name.log)"
	# The e2e harness keeps only its last few run directories: keep this one's results here.
	local d
	d=$(sed -n 's/.*logs in \(\/[^ ]*\)$/\1/p' "$out/$name.log" | head -n1)
	rm -rf "$out/$name.run"
	if [[ -n $d && -d $d ]]; then
		cp -r "$d" "$out/$name.run"
		echo "$out/$name.run" >"$out/$name.rundir"
	else
		: >"$out/$name.rundir"
	fi
	echo "bench: $name took $((SECONDS - t0)) s"
}

if want datapath; then
	bin=build/$(uname -m)/bench/datapath
	make -s "$bin" >"$out/datapath.build.log" 2>&1 || cat "$out/datapath.build.log"
	if [[ -x $bin ]]; then
		run_part datapath "$bin" --json "$out/datapath.json" ${quick:+--seconds 0.5}
	else
		echo "bench: datapath: no benchmark binary"
		failed=1
	fi
fi
r=${quick:+1}
want boot && run_part boot tests/e2e/run.sh --boot-time --runs "${r:-5}"
want net && E2E_NET_BENCH_SECONDS=${quick:+3} run_part net tests/e2e/run.sh --net-bench --runs "${r:-3}"
want mq && E2E_MQ_BENCH_SECONDS=${quick:+3} run_part mq tests/e2e/run.sh --mq-bench --runs "${r:-3}"
want mem && run_part mem tests/e2e/run.sh --mem-bench --runs "${r:-3}"

python3 tests/bench/report.py "$out" || failed=1
[[ -s $out/results.md ]] && cat "$out/results.md"
if command -v gnuplot >/dev/null && [[ -s $out/chart.dat ]]; then
	gnuplot -e "datafile='$out/chart.dat'; outfile='$out/results.png'" tests/bench/chart.gp &&
		echo "bench: chart in $out/results.png"
fi
exit $failed
