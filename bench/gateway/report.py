#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Turns the JSON results of bench/gateway/run.sh into RESULTS.md (and a PNG when
matplotlib is available)."""
import argparse
import json
import os
import platform
import subprocess
import time

ap = argparse.ArgumentParser()
for a in ["--dir", "--out", "--png", "--fstype"]:
    ap.add_argument(a, required=True)
for a in ["--raw-mbps", "--lk-reconcile", "--swift-populate"]:
    ap.add_argument(a, type=float, required=True)
ap.add_argument("--large-mb", type=int, required=True)
ap.add_argument("--list-n", type=int, required=True)
a = ap.parse_args()


def load(name, what):
    with open(os.path.join(a.dir, f"{name}-{what}.json")) as f:
        return json.load(f)


lk = {w: load("lk", w) for w in ("small", "large", "listing")}
sw = {w: load("swift", w) for w in ("small", "large", "listing")}


def ratio(x, y, higher_better=True):
    if not x or not y:
        return "n/a"
    return f"{(x / y if higher_better else y / x):.1f}x"


rows = []
for conc in ("c1", "c16"):
    for op in ("PUT", "GET", "HEAD", "DELETE"):
        l, s = lk["small"][conc][op], sw["small"][conc][op]
        rows.append((f"4 KiB {op}, concurrency {conc[1:]} (ops/s)", l["ops_per_s"], s["ops_per_s"],
                     ratio(l["ops_per_s"], s["ops_per_s"]), f"{l['p50_ms']} / {s['p50_ms']}"))
for op in ("PUT", "GET"):
    l, s = lk["large"][f"{op}_MBps"], sw["large"][f"{op}_MBps"]
    rows.append((f"{a.large_mb} MiB object {op} (MB/s)", l, s, ratio(l, s), ""))
n_seg = lk["large"]["slo_segments"]
for op in ("PUT", "GET"):
    l, s = lk["large"][f"SLO_{op}_MBps"], sw["large"][f"SLO_{op}_MBps"]
    what = "segments + manifest PUT" if op == "PUT" else "GET"
    rows.append((f"{a.large_mb} MiB SLO of {n_seg} segments, {what} (MB/s)", l, s, ratio(l, s), ""))
for op in ("PUT", "GET"):
    l, s = lk["large"][f"DLO_{op}_MBps"], sw["large"][f"DLO_{op}_MBps"]
    what = "segments + manifest PUT" if op == "PUT" else "GET"
    rows.append((f"{a.large_mb} MiB DLO of {n_seg} segments, {what} (MB/s)", l, s, ratio(l, s), ""))
for page in ("first", "middle"):
    l, s = lk["listing"][f"{page}_page_ms"], sw["listing"][f"{page}_page_ms"]
    rows.append((f"10k-entry listing page, {page} of {a.list_n} (ms)", l, s, ratio(l, s, False), ""))

swift_ver = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "swift"], capture_output=True, text=True).stdout
lines = [
    "# lustrekit gateway vs OpenStack Swift",
    "",
    f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `bench/gateway/run.sh` on "
    f"{os.cpu_count()} cores, {platform.system()} {platform.release()}, both systems storing on the "
    f"same {a.fstype} filesystem. Swift {swift_ver} from Debian (single node: proxy + account + "
    f"container + object servers, 2 workers each, tempauth, memcached). lustrekit gateway: release "
    f"build. Client: `load.py` (Python threads, keep-alive connections) on the same 2 cores.",
    "",
    "| benchmark | lustrekit | Swift | lustrekit advantage | p50 ms (lk / Swift) |",
    "|---|---:|---:|---:|---:|",
]
for r in rows:
    lines.append("| " + " | ".join(str(x) for x in r) + " |")
lines += [
    "",
    f"Raw write of {a.large_mb} MiB with `dd conv=fsync` to the same filesystem: **{a.raw_mbps} MB/s**. "
    f"Large-object PUT as a fraction of raw: lustrekit {lk['large']['PUT_MBps'] / a.raw_mbps:.0%}, "
    f"Swift {sw['large']['PUT_MBps'] / a.raw_mbps:.0%}.",
    "",
    f"Segmented upload against one PUT of the same {a.large_mb} MiB: lustrekit's SLO upload runs at "
    f"{lk['large']['SLO_PUT_MBps'] / lk['large']['PUT_MBps']:.0%} of its plain PUT rate, of which the "
    f"manifest PUT took {lk['large']['SLO_manifest_s']} s (it writes the segments' bytes into the "
    f"object's file, so the tree holds the whole object); Swift's at "
    f"{sw['large']['SLO_PUT_MBps'] / sw['large']['PUT_MBps']:.0%} (manifest PUT "
    f"{sw['large']['SLO_manifest_s']} s: it checks the segments and stores the list). lustrekit keeps "
    f"the segments too, so a segmented object takes twice its size on disk until its segments are "
    f"deleted.",
    "",
    f"DLO: the segments and a manifest PUT (no body) at "
    f"{lk['large']['DLO_PUT_MBps'] / lk['large']['PUT_MBps']:.0%} of lustrekit's plain PUT rate "
    f"(Swift {sw['large']['DLO_PUT_MBps'] / sw['large']['PUT_MBps']:.0%} of its own); lustrekit then "
    f"writes the segments' bytes into the manifest's file in the background: the tree held the "
    f"whole object {lk['large']['DLO_file_s']} s after the manifest's 201 (a one-time copy, "
    f"like the SLO's manifest PUT, and twice the size on disk while the segments exist).",
    "",
    f"Listing population (not part of the ratios): Swift's container DB was filled with "
    f"{a.list_n} records PUT straight to the container server in {a.swift_populate} s; lustrekit's "
    f"{a.list_n} files were created in the tree while the gateway was down and its start-up "
    f"reconciliation (ETag of each file, xattrs, index) took {a.lk_reconcile} s including start-up.",
    "",
    "Notes: the load driver shares the 2 cores with the servers, so concurrency-16 rates are "
    "partly bounded by the Python client; ratios are what matters. Both systems fsync object "
    "data before answering 201.",
]
with open(a.out, "w") as f:
    f.write("\n".join(lines) + "\n")

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [r[0].split(" (")[0] for r in rows]
    fig, ax = plt.subplots(figsize=(10, 6))
    ys = range(len(rows))
    vals = []
    for r in rows:
        l, s = float(r[1]), float(r[2])
        higher_better = "(ms)" not in r[0]
        vals.append(l / s if higher_better else s / l)
    ax.barh(list(ys), vals, color=["tab:green" if v >= 1 else "tab:red" for v in vals])
    ax.axvline(1, color="black", linewidth=0.8)
    ax.set_yticks(list(ys))
    ax.set_yticklabels(labels, fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("lustrekit / Swift (higher is better for lustrekit)")
    ax.set_title("lustrekit gateway vs OpenStack Swift (single node, same filesystem)")
    fig.tight_layout()
    fig.savefig(a.png, dpi=100)
    with open(a.out, "a") as f:
        f.write("\n![ratios](results.png)\n")
except ImportError:
    pass
