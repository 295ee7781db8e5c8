#!/usr/bin/env python3
"""tests/bench/netacct.py RUNDIR: the network bench's accounting (run.sh
--net-bench, tests/e2e/cases-net.sh net_bench), per GB moved.

Reads, for every boot netbench-VMM-RUN and every ORIENT (gc: the guest is the
iperf3 client, hc: the host is) and DIR (g2h, h2g):
  NAME.ORIENT.DIR.mbps           the receiver's Mbit/s
  NAME.ORIENT.DIR.retr           the sender's retransmits (iperf3 "Retr")
  NAME.ORIENT.DIR.snap0, .snap1  counters before and after (host_snap and
                                 guest_snap: tab-separated "kind key value")
  netbench-strace-VMM.ORIENT.DIR.strace   `strace -c -f` of that VMM, one run
and writes RUNDIR/netbench.json (every run's figures and the medians) and
prints the tables.  Counts are per GB (10^9 bytes of Ethernet frames the
guest sent for g2h, received for h2g).  A figure that was not measured is
shown as "-", never invented.

Usable as a module: load(rundir) returns the same dictionary."""
import glob
import json
import os
import re
import statistics
import sys

ORIENTS = {"gc": "guest is the iperf3 client", "hc": "host is the iperf3 client"}
DIRS = {"g2h": "guest->host", "h2g": "host->guest"}
VMM_ORDER = ["ktvm", "ktvmbase", "qemu-vhost-off", "qemu-vhost-on", "qemu-pc-vhost-off", "qemu-pc-vhost-on"]
VMM_LABEL = {
    "ktvm": "ktvm (PVH)",
    "ktvmbase": "ktvm base (E2E_KTVM_BASE)",
    "qemu-vhost-off": "QEMU microvm off",
    "qemu-vhost-on": "QEMU microvm on",
    "qemu-pc-vhost-off": "QEMU pc off",
    "qemu-pc-vhost-on": "QEMU pc on",
}
# KVM's per-VM debugfs counters worth a column (the rest stay in the JSON).
KVM_KEYS = ["exits", "halt_exits", "io_exits", "mmio_exits", "irq_injections", "irq_exits",
            "insn_emulation", "halt_wakeup", "request_irq_exits", "irq_window_exits", "signal_exits"]


def read_snap(path):
    """{"guest": {k: v}, "kvm": {...}, "hosttcp": {...}, "thread": {tid: (comm, ticks)},
    "ktvm": parsed stats JSON or None, "time_ms": int} or None."""
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    s = {"guest": {}, "kvm": {}, "hosttcp": {}, "hostcpu": {}, "thread": {}, "ktvm": None, "time_ms": None}
    for j, ln in enumerate(lines):
        # "times": the shell's own and its finished children's user/system time.
        if ln == "times" and j + 2 < len(lines):
            ms = 0
            for w in lines[j + 2].split():
                mt = re.match(r"(\d+)m([0-9.]+)s$", w)
                if mt:
                    ms += int(mt.group(1)) * 60000 + float(mt.group(2)) * 1000
            s["hostcpu"]["children_ms"] = ms
            continue
        if ln.startswith("time_ms "):
            s["time_ms"] = int(ln.split()[1])
            continue
        parts = ln.split("\t")
        if parts[0] == "threadio" and len(parts) == 4 and parts[3].isdigit():
            s.setdefault("threadio", {}).setdefault(parts[1], {})[parts[2]] = int(parts[3])
        elif parts[0] == "thread" and len(parts) == 4 and parts[3].isdigit():
            s["thread"][parts[1]] = (parts[2], int(parts[3]))
        elif parts[0] == "ktvmstats" and len(parts) == 2:
            try:
                s["ktvm"] = json.loads(parts[1])
            except ValueError:
                pass
        elif parts[0] in ("guest", "kvm", "hosttcp", "hostcpu") and len(parts) == 3:
            try:
                s[parts[0]][parts[1]] = int(parts[2])
            except ValueError:
                pass
    return s


def thread_group(comm):
    """QEMU's threads are named per instance (vhost-PID, CPU 0/KVM); ktvm's per NIC."""
    if re.match(r"vhost-\d+$", comm):
        return "vhost (kernel)"
    return comm


def ktvm_nic(st):
    try:
        return st["nics"][0]
    except (TypeError, KeyError, IndexError):
        return None


def delta(a, b, kind, key):
    if key in a[kind] and key in b[kind]:
        return b[kind][key] - a[kind][key]
    return None


def measure(base, hz=100):
    """The figures of one iperf3 run (base = RUNDIR/NAME.ORIENT.DIR)."""
    m = {}
    try:
        with open(base + ".mbps") as f:
            m["gbps"] = float(f.read().split()[0]) / 1000
    except (OSError, ValueError, IndexError):
        m["gbps"] = None
    try:
        with open(base + ".retr") as f:
            m["iperf3_retr"] = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        m["iperf3_retr"] = None
    a, b = read_snap(base + ".snap0"), read_snap(base + ".snap1")
    if not a or not b:
        return m
    d = base.rsplit(".", 1)[1]
    moved = delta(a, b, "guest", "dev.tx_bytes" if d == "g2h" else "dev.rx_bytes")
    m["bytes"] = moved
    sec = (b["time_ms"] - a["time_ms"]) / 1000 if a["time_ms"] and b["time_ms"] else None
    m["seconds"] = sec
    if not moved:
        return m
    gb = moved / 1e9
    per = {}

    def put(name, v):
        if v is not None:
            per[name] = v / gb

    # The guest's view: kicks it sent, interrupts it took, per queue.
    put("guest_kicks_tx", delta(a, b, "guest", "eth.tx_queue_0_kicks"))
    put("guest_kicks_rx", delta(a, b, "guest", "eth.rx_queue_0_kicks"))
    irq = {"tx": 0, "rx": 0, "other": 0}
    seen = False
    for k in b["guest"]:
        if not k.startswith("irq.") or k not in a["guest"]:
            continue
        seen = True
        v = b["guest"][k] - a["guest"][k]
        if re.search(r"-output\.0$", k):
            irq["tx"] += v
        elif re.search(r"-input\.0$", k):
            irq["rx"] += v
        else:
            irq["other"] += v
    if seen:
        for q, v in irq.items():
            put("guest_irqs_" + q, v)
    put("guest_pkts_tx", delta(a, b, "guest", "dev.tx_packets"))
    put("guest_pkts_rx", delta(a, b, "guest", "dev.rx_packets"))
    put("guest_tcp_retrans", delta(a, b, "guest", "tcp.RetransSegs"))
    put("host_tcp_retrans", delta(a, b, "hosttcp", "RetransSegs"))
    idle, tot = delta(a, b, "guest", "cpu.idle"), delta(a, b, "guest", "cpu.total")
    if idle is not None and tot:
        m["guest_busy_pct"] = 100 * (1 - idle / tot)
    idle, tot = delta(a, b, "hostcpu", "idle"), delta(a, b, "hostcpu", "total")
    if idle is not None and tot:
        # of all the host's CPUs together (the venue has 2): 100 = both busy
        m["host_busy_pct"] = 100 * (1 - idle / tot)
        if moved:
            # every CPU-second the host spent (guest, VMM, the other iperf3, the
            # host's network stack) per GB: what a CPU-bound host pays
            m["host_cpu_s_per_gb"] = (tot - idle) / hz / (moved / 1e9)
    ip = delta(a, b, "hostcpu", "children_ms")  # the harness's children: iperf3 above all
    if ip is not None and sec:
        m["host_iperf3_pct"] = 100 * ip / 1000 / sec
    # The frames' average size in the data direction (TSO/GSO frames count once).
    pk = delta(a, b, "guest", "dev.tx_packets" if d == "g2h" else "dev.rx_packets")
    if pk:
        m["avg_frame_bytes"] = moved / pk
    # L2 exits: KVM's counters for this VM.
    for k in KVM_KEYS:
        put("kvm_" + k, delta(a, b, "kvm", k))
    # ktvm's device counters.
    na, nb = ktvm_nic(a["ktvm"]), ktvm_nic(b["ktvm"])
    if na and nb:
        for q in ("tx", "rx"):
            for k in ("kicks", "interrupts", "interrupts_suppressed", "tap_eagain", "packets", "no_buffers"):
                if k in na.get(q, {}) and k in nb.get(q, {}):
                    put("ktvm_%s_%s" % (q, k), nb[q][k] - na[q][k])
    # CPU of every VMM thread (and vhost-net's kernel thread), seconds per GB
    # and share of one CPU over the window.
    cpu = {}
    for tid, (comm, t1) in b["thread"].items():
        if tid in a["thread"]:
            g = thread_group(comm)
            cpu[g] = cpu.get(g, 0) + (t1 - a["thread"][tid][1])
    m["cpu_s_per_gb"] = {g: t / hz / gb for g, t in cpu.items()}
    if sec:
        m["cpu_pct"] = {g: 100 * t / hz / sec for g, t in cpu.items()}
    m["cpu_s_per_gb_total"] = sum(m["cpu_s_per_gb"].values()) if cpu else None
    # read/write-type syscalls per thread (/proc/PID/task/TID/io syscr, syscw)
    rw = {}
    ia, ib = a.get("threadio", {}), b.get("threadio", {})
    for tid, v1 in ib.items():
        if tid in ia and tid in b["thread"]:
            g = thread_group(b["thread"][tid][0])
            for k_ in ("syscr", "syscw"):
                if k_ in v1 and k_ in ia[tid]:
                    rw.setdefault(g, {}).setdefault(k_, 0)
                    rw[g][k_] += v1[k_] - ia[tid][k_]
    if rw:
        m["rw_syscalls_per_gb"] = {g: {k_: n / gb for k_, n in d_.items()} for g, d_ in rw.items()}
        put("rw_syscalls", sum(sum(d_.values()) for d_ in rw.values()))
    pf = read_perf(base + ".perf")
    if pf:
        m["syscalls_per_gb"] = {"total": pf["total"] / gb,
                                "threads": {g: n / gb for g, n in pf["threads"].items()},
                                "calls": {c: n / gb for c, n in pf["calls"].items()}}
        put("syscalls", pf["total"])
    m["per_gb"] = per
    return m


def read_perf(path):
    """{"threads": {group: syscalls}, "calls": {syscall: n}, "total": n} from
    `perf stat --per-thread -x,` over the syscall tracepoints, or None."""
    th, calls, total = {}, {}, 0
    try:
        with open(path) as f:
            for ln in f:
                w = ln.rstrip("\n").split(",")
                if ln.startswith("#") or len(w) < 4 or not w[1].isdigit():
                    continue
                comm = w[0].rsplit("-", 1)[0]
                n, ev = int(w[1]), w[3]
                if ev == "raw_syscalls:sys_enter":
                    g = thread_group(comm)
                    th[g] = th.get(g, 0) + n
                    total += n
                elif ev.startswith("syscalls:sys_enter_"):
                    k = ev[len("syscalls:sys_enter_"):]
                    calls[k] = calls.get(k, 0) + n
    except OSError:
        return None
    if not th:
        return None
    return {"threads": th, "calls": calls, "total": total}


def read_strace(path):
    """{syscall: calls} from `strace -c` output."""
    calls = {}
    try:
        with open(path) as f:
            for ln in f:
                w = ln.split()
                if len(w) >= 5 and re.match(r"^[0-9.]+$", w[0]) and w[-1] != "total":
                    calls[w[-1]] = int(w[3])
    except (OSError, ValueError):
        return None
    return calls or None


def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def rw_median(ms):
    xs = [x["rw_syscalls_per_gb"] for x in ms if x.get("rw_syscalls_per_gb")]
    if not xs:
        return None
    groups = set()
    for x in xs:
        groups |= set(x)
    return {g: {k_: med(x.get(g, {}).get(k_, 0) for x in xs) for k_ in ("syscr", "syscw")} for g in sorted(groups)}


def syscall_median(ms):
    sc = [x["syscalls_per_gb"] for x in ms if x.get("syscalls_per_gb")]
    if not sc:
        return None
    out = {"total": med(x["total"] for x in sc), "threads": {}, "calls": {}}
    for part in ("threads", "calls"):
        keys = set()
        for x in sc:
            keys |= set(x[part])
        out[part] = {k: med(x[part].get(k, 0) for x in sc) for k in sorted(keys)}
    return out


def load(rundir):
    runs = {}  # vmm -> orient -> dir -> [measure]
    for p in sorted(glob.glob(os.path.join(rundir, "netbench-*-*.*.*.snap1")) +
                    glob.glob(os.path.join(rundir, "netbench-*-*.*.*.mbps"))):
        mm = re.match(r"netbench-(.+)-(\d+)\.(gc|hc)\.(g2h|h2g)\.(snap1|mbps)$", os.path.basename(p))
        if not mm:
            continue
        v, i, o, d = mm.group(1), mm.group(2), mm.group(3), mm.group(4)
        lst = runs.setdefault(v, {}).setdefault(o, {}).setdefault(d, {})
        if i not in lst:
            lst[i] = measure(os.path.join(rundir, "netbench-%s-%s.%s.%s" % (v, i, o, d)))
    res = {"what": "iperf3 TCP 1 stream, 1 vCPU; counts per GB (10^9 bytes of frames in the data direction)",
           "vmms": {}}
    for v, os_ in runs.items():
        rv = res["vmms"].setdefault(v, {})
        for o, ds in os_.items():
            for d, byrun in ds.items():
                ms = [byrun[k] for k in sorted(byrun, key=int)]
                keys = set()
                for x in ms:
                    keys |= set(x.get("per_gb", {}))
                groups = set()
                for x in ms:
                    groups |= set(x.get("cpu_s_per_gb", {}))
                summ = {
                    "n": len(ms),
                    "gbps": med(x.get("gbps") for x in ms),
                    "gbps_runs": [x.get("gbps") for x in ms],
                    "iperf3_retr": med(x.get("iperf3_retr") for x in ms),
                    "guest_busy_pct": med(x.get("guest_busy_pct") for x in ms),
                    "host_busy_pct": med(x.get("host_busy_pct") for x in ms),
                    "host_cpu_s_per_gb": med(x.get("host_cpu_s_per_gb") for x in ms),
                    "host_iperf3_pct": med(x.get("host_iperf3_pct") for x in ms),
                    "avg_frame_bytes": med(x.get("avg_frame_bytes") for x in ms),
                    "per_gb": {k: med(x.get("per_gb", {}).get(k) for x in ms) for k in sorted(keys)},
                    "cpu_s_per_gb": {g: med(x.get("cpu_s_per_gb", {}).get(g, 0) for x in ms) for g in sorted(groups)},
                    "cpu_pct": {g: med(x.get("cpu_pct", {}).get(g, 0) for x in ms) for g in sorted(groups)},
                    "cpu_s_per_gb_total": med(x.get("cpu_s_per_gb_total") for x in ms),
                    "syscalls_per_gb": syscall_median(ms),
                    "rw_syscalls_per_gb": rw_median(ms),
                    "runs": ms,
                }
                rv.setdefault(o, {})[d] = summ
    # strace: one run per VMM; calls per GB with the bytes of that same run
    # when its snapshots exist, else of the median run of the timed boots.
    for p in glob.glob(os.path.join(rundir, "netbench-strace-*.*.*.strace")):
        mm = re.match(r"netbench-strace-(.+)\.(gc|hc)\.(g2h|h2g)\.strace$", os.path.basename(p))
        if not mm:
            continue
        v, o, d = mm.groups()
        calls = read_strace(p)
        if not calls:
            continue
        try:
            with open(p[:-len(".strace")] + ".mbps") as f:
                mbps = float(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            mbps = None
        secs = None
        try:
            with open(p[:-len(".strace")] + ".iperf3") as f:
                for ln in f:
                    mt = re.search(r"0\.00-([0-9.]+)\s+sec.*receiver", ln)
                    if mt:
                        secs = float(mt.group(1))
        except OSError:
            pass
        gb = mbps * 1e6 / 8 * secs / 1e9 if mbps and secs else None
        ent = res["vmms"].setdefault(v, {}).setdefault(o, {}).setdefault(d, {})
        ent["strace"] = {"calls": calls, "gbps_under_strace": mbps / 1000 if mbps else None,
                         "gb": gb, "calls_per_gb": {k: c / gb for k, c in calls.items()} if gb else None,
                         "note": "iperf3 payload GB under strace (not frames): counts only"}
    return res


def fmt(v, nd=0):
    if v is None:
        return "-"
    if nd == 0:
        return "%.0f" % v
    return "%.*f" % (nd, v)


def k(v):
    """thousands, 1 decimal"""
    return "-" if v is None else "%.1f" % (v / 1000)


def vmm_sorted(vs):
    return sorted(vs, key=lambda v: (VMM_ORDER.index(v) if v in VMM_ORDER else 99, v))


def tables(res):
    out = []
    vs = vmm_sorted(res["vmms"])
    for o in ORIENTS:
        for d in DIRS:
            rows = [(v, res["vmms"][v].get(o, {}).get(d)) for v in vs]
            rows = [(v, e) for v, e in rows if e and e.get("n")]
            if not rows:
                continue
            out.append("")
            out.append("%s, %s (%s); per GB, thousands unless marked:" % (DIRS[d], o, ORIENTS[o]))
            out.append("| VMM | Gbit/s | kicks TX | kicks RX | IRQs TX | IRQs RX | frames TX | frames RX | "
                       "L2 exits | halt exits | userspace I/O exits | irq inj. | VMM CPU s/GB | host CPU s/GB | guest busy % | "
                       "host busy % | host iperf3 % | VMM read+write syscalls | retrans (iperf3) | avg frame B |")
            out.append("|" + "---|" * 20)
            for v, e in rows:
                p = e["per_gb"]
                uio = None
                if p.get("kvm_io_exits") is not None or p.get("kvm_mmio_exits") is not None:
                    uio = (p.get("kvm_io_exits") or 0) + (p.get("kvm_mmio_exits") or 0)
                out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                    VMM_LABEL.get(v, v), fmt(e["gbps"], 2), k(p.get("guest_kicks_tx")), k(p.get("guest_kicks_rx")),
                    k(p.get("guest_irqs_tx")), k(p.get("guest_irqs_rx")), k(p.get("guest_pkts_tx")),
                    k(p.get("guest_pkts_rx")), k(p.get("kvm_exits")), k(p.get("kvm_halt_exits")), k(uio),
                    k(p.get("kvm_irq_injections")), fmt(e["cpu_s_per_gb_total"], 1), fmt(e["host_cpu_s_per_gb"], 1), fmt(e["guest_busy_pct"]),
                    fmt(e["host_busy_pct"]), fmt(e["host_iperf3_pct"]), k(p.get("rw_syscalls")), fmt(e["iperf3_retr"]), fmt(e["avg_frame_bytes"])))
            # ktvm's own view of the same run: kicks it took, interrupts it sent or suppressed.
            if "ktvm" in dict(rows) and dict(rows)["ktvm"]["per_gb"].get("ktvm_tx_kicks") is not None:
                p = dict(rows)["ktvm"]["per_gb"]
                out.append("")
                out.append("ktvm's device counters, per GB (thousands): TX kicks %s, RX kicks %s, TX IRQs %s "
                           "(suppressed %s), RX IRQs %s (suppressed %s), TX tap EAGAIN %s, RX no-buffers %s" % (
                               k(p.get("ktvm_tx_kicks")), k(p.get("ktvm_rx_kicks")), k(p.get("ktvm_tx_interrupts")),
                               k(p.get("ktvm_tx_interrupts_suppressed")), k(p.get("ktvm_rx_interrupts")),
                               k(p.get("ktvm_rx_interrupts_suppressed")), k(p.get("ktvm_tx_tap_eagain")),
                               k(p.get("ktvm_rx_no_buffers"))))
            out.append("")
            out.append("CPU per thread, % of one CPU over the run (s per GB); read/write-type syscalls per GB (thousands):")
            for v, e in rows:
                parts = ["%s %s%% (%s)" % (g, fmt(e["cpu_pct"].get(g)), fmt(s, 2))
                         for g, s in sorted(e["cpu_s_per_gb"].items(), key=lambda x: -(x[1] or 0)) if s]
                rwp = e.get("rw_syscalls_per_gb") or {}
                rws = ", ".join("%s r %s w %s" % (g, k(c["syscr"]), k(c["syscw"])) for g, c in rwp.items()
                                if c["syscr"] + c["syscw"] >= 50)
                out.append("- %s: %s%s" % (VMM_LABEL.get(v, v), ", ".join(parts) or "-", "; syscalls: " + rws if rws else ""))
    sysl = []
    for o in ORIENTS:
        for d in DIRS:
            for v in vs:
                e = res["vmms"][v].get(o, {}).get(d, {})
                sc = e.get("syscalls_per_gb")
                if not sc:
                    continue
                th = ", ".join("%s %s" % (g, k(n)) for g, n in sorted(sc["threads"].items(), key=lambda x: -x[1]) if n)
                cl = ", ".join("%s %s" % (c, k(n)) for c, n in sorted(sc["calls"].items(), key=lambda x: -x[1]) if n >= 50)
                sysl.append("- %s %s %s: total %s; by thread: %s; by call: %s" % (
                    VMM_LABEL.get(v, v), o, d, k(sc["total"]), th, cl))
    if sysl:
        out.append("")
        out.append("VMM syscalls per GB (perf stat on the syscall tracepoints, during the timed runs; thousands):")
        out.extend(sysl)
    st = [(v, o, d, res["vmms"][v][o][d]["strace"]) for v in vs for o in ORIENTS for d in DIRS
          if "strace" in res["vmms"][v].get(o, {}).get(d, {})]
    if st:
        out.append("")
        out.append("Syscalls per GB of iperf3 payload (strace -c -f, a separate boot; thousands; top 8):")
        for v, o, d, s in st:
            cp = s.get("calls_per_gb") or {}
            top = sorted(cp.items(), key=lambda x: -x[1])[:8]
            out.append("- %s %s %s (%s Gbit/s under strace): total %s; %s" % (
                VMM_LABEL.get(v, v), o, d, fmt(s.get("gbps_under_strace"), 2), k(sum(cp.values()) if cp else None),
                ", ".join("%s %s" % (n, k(c)) for n, c in top)))
    return out


def main():
    rundir = sys.argv[1]
    res = load(rundir)
    with open(os.path.join(rundir, "netbench.json"), "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
    for ln in tables(res):
        print(ln)
    print("")
    print("(every run and counter: %s)" % os.path.join(rundir, "netbench.json"))


if __name__ == "__main__":
    main()
