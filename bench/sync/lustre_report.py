#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Turns the JSON of bench/sync/lustre.sh into LUSTRE.md (and lustre.png with matplotlib)."""
import argparse
import os
import time

import results  # bench/sync/results.py, beside this script

ap = argparse.ArgumentParser()
ap.add_argument("--dir", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--png", required=True)
a = ap.parse_args()


def load(name):
    return results.load(a.dir, name)


def pct(v, q):
    return results.pct(v, q)


runs = {k: load(k) for k in ("burst", "paced")}
rev = results.git_rev()
with open(os.path.join(a.dir, "users.txt")) as f:
    users = f.read().strip()

lines = [
    "# lk-sync changelog backend on real Lustre: POSIX-to-listing lag",
    "",
    f"Measured {time.strftime('%Y-%m-%d')} at commit `{rev}` by `bench/sync/lustre.sh`: Lustre "
    "2.17.0 on ZFS in one TCG VM (2 vCPUs on a shared 2-core host; MGS, 2 MDTs, 2 OSTs and "
    "the client, a copy of `tests/real-lustre/all-in-one.yaml`), with the `spec.services` "
    "Swift endpoint and its `lk-sync --backend changelog` (one changelog user per MDT) on "
    "the same node. `bench/sync/lustre_lag.py` runs on the node: it writes files of 100 "
    "bytes through the Lustre mount, half in a directory on MDT0 and half in one made with "
    "`lfs mkdir -i 1`, while another process polls the listing index (the SQLite database "
    "the gateway lists from) every ~2 ms plus the query. A file's **lag** runs from the end "
    "of its write (close) to the first poll that finds its row: from then on a listing shows "
    "it, with its MD5 (a row the sync has not hashed yet is hashed by the listing request "
    "itself, so no listing shows an empty ETag). Its **hash lag** runs to the first poll "
    "that finds the MD5 in the row, written by the sync's hasher.",
    "",
    "| run | files | writing took | p50 lag | p99 lag | max lag | all listed after last write | p50 hash lag | p99 hash lag | missing | wrong MD5 |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
]
for k, title in (("burst", "burst (as fast as Python writes)"),
                 ("paced", f"paced ({runs['paced']['rate']:.0f} files/s)")):
    r = runs[k]
    v, h = r["lags_s"], r["hash_lags_s"]
    lines.append(
        f"| {title} | {r['files']} | {r['writing_s']:.1f} s | {pct(v, 0.5):.2f} s | "
        f"{pct(v, 0.99):.2f} s | {(v[-1] if v else float('nan')):.2f} s | "
        f"{r['all_listed_after_last_write_s']:.2f} s | {pct(h, 0.5):.2f} s | "
        f"{pct(h, 0.99):.2f} s | {r['missing']} | {r['wrong_etag']} |")
lines += [
    "",
    f"The second directory was on MDT index {runs['burst']['mdt_of_second_dir']} (`lfs getdirstripe -i`).",
    "Each MDT's changelog user after both runs (its cleared index, then the MDT's current index):",
    "",
    "```",
    users,
    "```",
    "",
    "How to read it: the sync reads each MDT's changelog in batches, resolves FIDs with "
    "`lfs fid2path`, stats and hashes each new file and commits the index with the cursor, "
    "then clears the changelog up to it. On this VM every `lfs` call and every RPC competes "
    "with the writer for the same two emulated CPUs, so the burst run measures how far the "
    "sync falls behind a writer going flat out, and the paced run the lag at a steady rate.",
    "",
    "![lag CDF](lustre.png)",
    "",
]
with open(a.out, "w") as f:
    f.write("\n".join(lines))

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("matplotlib missing: no plot")
else:
    fig, ax = plt.subplots(figsize=(7, 4))
    for k in ("burst", "paced"):
        for key, style, what in (("lags_s", "-", "listed"), ("hash_lags_s", "--", "MD5 in index")):
            v = runs[k][key]
            ax.plot(v, [i / len(v) for i in range(len(v))], style, label=f"{k}: {what}")
    ax.set_xscale("log")
    ax.set_xlabel("POSIX-to-listing lag (s, log)")
    ax.set_ylabel("fraction of files listed")
    ax.set_title("lk-sync changelog backend on Lustre 2.17.0, 2 MDTs (burst 10k files, paced 2k)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(a.png, dpi=100)
