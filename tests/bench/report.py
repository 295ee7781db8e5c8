#!/usr/bin/env python3
"""tests/bench/report.py OUT: make bench's results, from the parts' run
directories (OUT/PART.rundir) and OUT/datapath.json, into OUT/results.json,
OUT/results.md (the table against issue 8's targets) and OUT/chart.dat
(for chart.gp).  Missing parts are reported as such, never invented."""
import glob
import json
import os
import re
import statistics
import sys

out = sys.argv[1]


def rundir(part):
    try:
        with open(os.path.join(out, part + ".rundir")) as f:
            d = f.read().strip()
        return d if d and os.path.isdir(d) else None
    except OSError:
        return None


def numbers(paths):
    vals = []
    for p in paths:
        try:
            with open(p) as f:
                t = f.read().strip()
            if t:
                vals.append(float(t.split()[0]))
        except (OSError, ValueError):
            pass
    return vals


def summary(vals):
    if not vals:
        return None
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "n": len(vals)}


res = {"parts": {}}

# Boot: boottime-VARIANT-RUN.marker_ms (ms from VMM start to the init marker).
d = rundir("boot")
if d:
    boot = {}
    for p in glob.glob(os.path.join(d, "boottime-*-*.marker_ms")):
        m = re.match(r"boottime-(.+)-(\d+)\.marker_ms$", os.path.basename(p))
        if m:
            boot.setdefault(m.group(1), []).append(p)
    res["parts"]["boot"] = {v: summary(numbers(ps)) for v, ps in sorted(boot.items())}

# Network, 1 pair: run.sh --net-bench's accounting (netacct.py: per VMM,
# orientation and direction, Gbit/s and counts per GB), plus ping RTT.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netacct  # noqa: E402

net_tables = []
d = rundir("net")
if d:
    acct = netacct.load(d)
    net = acct["vmms"]
    for v in net:
        net[v]["rtt"] = summary(numbers(glob.glob(os.path.join(d, "netbench-%s-[0-9]*.rtt" % v))))
    res["parts"]["net"] = net
    net_tables = netacct.tables(acct)

# Multiqueue: mqbench-VMM-PAIRS-RUN.{g2h,h2g} (Mbit/s, iperf3 -P 4).
d = rundir("mq")
if d:
    mq = {}
    for p in glob.glob(os.path.join(d, "mqbench-*-*-*.g2h")):
        m = re.match(r"mqbench-(.+)-(\d+)-\d+\.g2h$", os.path.basename(p))
        v, n = m.group(1), m.group(2)
        mq.setdefault(v, {})[n] = {k: summary(numbers(glob.glob(os.path.join(d, "mqbench-%s-%s-*.%s" % (v, n, k)))))
                                   for k in ("g2h", "h2g")}
    res["parts"]["mq"] = mq

# Memory: membench-VMM-RUN.kb (RSS outside guest RAM, kB).
d = rundir("mem")
if d:
    mem = {}
    for p in glob.glob(os.path.join(d, "membench-*-*.kb")):
        v = re.match(r"membench-(.+)-\d+\.kb$", os.path.basename(p)).group(1)
        mem.setdefault(v, []).append(p)
    res["parts"]["mem"] = {v: summary(numbers(ps)) for v, ps in sorted(mem.items())}

# Datapath: the benchmark's own JSON.
try:
    with open(os.path.join(out, "datapath.json")) as f:
        res["parts"]["datapath"] = json.load(f)
except (OSError, ValueError):
    pass


def med(*keys):
    o = res["parts"]
    for k in keys:
        if not isinstance(o, dict) or o.get(k) is None:
            return None
        o = o[k]
    return o


rows = []  # (metric, value, target text, target value, higher is better)


def ratio(a, b):
    return a / b if a is not None and b else None


for kind, pvh in (("PVH vmlinux", "ktvm-pvh"), ("bzImage", "ktvm-bzimage")):
    ref = med("boot", "qemu-microvm", "median") or med("boot", "qemu", "median")
    mine = med("boot", pvh, "median") or (med("boot", "ktvm", "median") if kind == "PVH vmlinux" else None)
    rows.append(("boot to init, ktvm %s / QEMU microvm" % kind, ratio(mine, ref), "<= 0.5", 0.5, False))
for o, oname in (("gc", "guest client"), ("hc", "host client")):
    for d_, name in (("g2h", "guest->host"), ("h2g", "host->guest")):
        k = med("net", "ktvm", o, d_, "gbps")
        for m, mname in (("qemu-pc-", "QEMU pc"), ("qemu-", "QEMU microvm")):
            rows.append(("iperf3 1 pair %s, %s, ktvm / %s vhost=off" % (name, oname, mname),
                         ratio(k, med("net", m + "vhost-off", o, d_, "gbps")), ">= 1.3", 1.3, True))
            rows.append(("iperf3 1 pair %s, %s, ktvm / %s vhost=on" % (name, oname, mname),
                         ratio(k, med("net", m + "vhost-on", o, d_, "gbps")), ">= 1.0", 1.0, True))
for d_, name in (("g2h", "guest->host"), ("h2g", "host->guest")):
    rows.append(("iperf3 -P 4 %s, ktvm 2 pairs / 1 pair" % name,
                 ratio(med("mq", "ktvm", "2", d_, "median"), med("mq", "ktvm", "1", d_, "median")), ">= 1.7", 1.7, True))
dp = res["parts"].get("datapath") or {}
for dirn in ("tx", "rx"):
    r = None
    for e in dp.get("results", []) if isinstance(dp.get("results"), list) else []:
        if e.get("dir") == dirn and int(e.get("frame_bytes", e.get("size", 0))) == 1500 and int(e.get("pairs", 1)) == 1:
            r = e.get("ratio")
    rows.append(("datapath %s 1500 B, ktvm / raw TAP" % dirn.upper(), r, ">= 0.9", 0.9, True))
kb = med("mem", "ktvm", "median")
rows.append(("RSS outside guest RAM, ktvm (MiB)", kb / 1024 if kb is not None else None, "<= 1.8", 1.8, False))
rows.append(("RSS outside guest RAM, ktvm / QEMU", ratio(kb, med("mem", "qemu-vhost-off", "median")), "(info)", None, False))

res["targets"] = [{"metric": m, "value": v, "target": t,
                   "met": (None if v is None or tv is None else (v >= tv if hi else v <= tv))}
                  for m, v, t, tv, hi in rows]
with open(os.path.join(out, "results.json"), "w") as f:
    json.dump(res, f, indent=1, sort_keys=True)

lines = ["| metric | measured | target | met |", "|---|---|---|---|"]
for t in res["targets"]:
    v = "not measured" if t["value"] is None else "%.2f" % t["value"]
    met = "" if t["met"] is None else ("yes" if t["met"] else "**no**")
    lines.append("| %s | %s | %s | %s |" % (t["metric"], v, t["target"], met))
lines.append("")
lines.append("Raw medians (ms, Mbit/s, kB) are in results.json; each part's log beside it.")
if net_tables:
    lines.append("")
    lines.append("## Network accounting (run.sh --net-bench, medians)")
    lines.extend(net_tables)
with open(os.path.join(out, "results.md"), "w") as f:
    f.write("\n".join(lines) + "\n")

# chart.dat: one bar per measured metric, value / target (1.0 = target met
# exactly; for lower-is-better metrics, target / value), so every bar reads
# "higher is better, >= 1 meets the target".
with open(os.path.join(out, "chart.dat"), "w") as f:
    for m, v, t, tv, hi in rows:
        if v is None or tv is None or v <= 0:
            continue
        score = v / tv if hi else tv / v
        f.write('"%s" %.3f\n' % (m.replace('"', "'"), score))
