#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Turns the JSON results of bench/sync/run.sh into RESULTS.md (and results.png when
matplotlib is available)."""
import argparse
import os
import platform
import subprocess
import time

import results  # bench/sync/results.py, beside this script

ap = argparse.ArgumentParser()
ap.add_argument("--dir", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--png", required=True)
ap.add_argument("--fstype", required=True)
a = ap.parse_args()


def load(name):
    return results.load(a.dir, name)


def pct(v, q):
    return results.pct(v, q) * 1000  # in ms


lag = {k: load(k) for k in ("lag-burst", "lag-paced")}
cl = {k: load(k) for k in ("changelog-create", "changelog-modify")}
cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
                     capture_output=True, text=True).stdout.strip()
rev = results.git_rev()

lines = [
    "# lk-sync benchmark",
    "",
    f"Measured {time.strftime('%Y-%m-%d')} at commit `{rev}` by `bench/sync/run.sh` (release build), "
    f"on {os.cpu_count()} cores ({cpu}), Linux {platform.release()}, tree on {a.fstype}. "
    "The machine is shared: treat the figures as orders of magnitude.",
    "",
    "## POSIX-to-listing lag (inotify backend)",
    "",
    "A Python writer creates 10,000 files of 100 bytes in 20 × 10 nested directories while "
    "`lk-sync --backend inotify` runs; a separate process polls the listing index (the SQLite "
    "database the gateway's listings read) every ~2 ms plus the query time. A file's lag is "
    "from the end of its write to the first poll that lists it (so it includes up to one "
    "poll interval).",
    "",
    "| run | files | writing took | p50 lag | p99 lag | max lag | all listed after last write | missing |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
]
for k, title in (("lag-burst", "burst (as fast as Python writes)"),
                 ("lag-paced", f"paced ({lag['lag-paced']['rate']:.0f} files/s)")):
    r = lag[k]
    v = r["lags"]
    lines.append(
        f"| {title} | {r['n']} | {r['create_seconds']:.2f} s | {pct(v, 0.5):.1f} ms | "
        f"{pct(v, 0.99):.1f} ms | {v[-1] * 1000:.1f} ms | "
        f"{r['all_listed_after_last_write'] * 1000:.0f} ms | {r['missing']} |")
lines += [
    "",
    "## Changelog records parsed and applied per second (changelog backend)",
    "",
    "`lk-sync --backend changelog --once` reads a recorded changelog of one MDT through the "
    "stand-in `lfs` (`fake_lfs.py`: prints the records, answers `fid2path` from a table), "
    "parses, coalesces, resolves, stats each file, commits the index with the cursor and "
    "clears. Wall time of the whole run, including process start, the stand-in's "
    "`fid2path` calls (one Python process per 500 FIDs) and the final check. `create`: each "
    "file created and closed once; `modify`: each file also written, `touch`ed, truncated "
    "and `chmod`ed twice (records that coalesce). Both end with 300 renames and 300 unlinks.",
    "",
    "| shape | records | files | batches | seconds | records/s | listing matches tree |",
    "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
]
for k in ("changelog-create", "changelog-modify"):
    r = cl[k]
    lines.append(
        f"| {r['shape']} | {r['records']} | {r['files']} | {r['batches']} | {r['seconds']:.2f} | "
        f"{r['per_second']:.0f} | {'yes' if r['listed'] == r['expected'] else 'NO'} |")
lines += [
    "",
    "Not measured here: a real `lfs changelog` / `fid2path` against an MDT (no Lustre on "
    "these machines); on Lustre every `stat` and `fid2path` is an RPC, so expect the "
    "per-record cost of the `create` shape to be dominated by those.",
    "",
]
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4))
    for k, title in (("lag-burst", "burst"), ("lag-paced", "paced")):
        v = [x * 1000 for x in lag[k]["lags"]]
        ax.plot(v, [i / len(v) for i in range(len(v))], label=title)
    ax.set_xscale("log")
    ax.set_xlabel("POSIX-to-listing lag (ms, log scale)")
    ax.set_ylabel("fraction of 10,000 files")
    ax.set_title("lk-sync inotify backend: lag CDF")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(a.png, dpi=100)
    lines.insert(len(lines) - 0, "![lag CDF](results.png)\n")
except ImportError:
    pass
with open(a.out, "w") as f:
    f.write("\n".join(lines))
