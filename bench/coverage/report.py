#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""lcov.info -> RESULTS.md: line coverage per crate and per file, and the uncovered lines."""
import argparse
import os
import subprocess
import time

ap = argparse.ArgumentParser()
ap.add_argument("--lcov", required=True)
ap.add_argument("--root", required=True)
ap.add_argument("--out", required=True)
a = ap.parse_args()

files = {}
cur = None
with open(a.lcov) as f:
    for line in f:
        line = line.strip()
        if line.startswith("SF:"):
            cur = os.path.relpath(line[3:], a.root)
            files.setdefault(cur, {})
        elif line.startswith("DA:") and cur:
            n, hits = line[3:].split(",")[:2]
            files[cur][int(n)] = files[cur].get(int(n), 0) + int(hits)


def ranges(lines):
    out, start, prev = [], None, None
    for n in sorted(lines):
        if start is None:
            start = prev = n
        elif n == prev + 1:
            prev = n
        else:
            out.append((start, prev))
            start = prev = n
    if start is not None:
        out.append((start, prev))
    return ", ".join(f"{s}" if s == e else f"{s}-{e}" for s, e in out)


rev = subprocess.run(["git", "-C", a.root, "rev-parse", "--short", "HEAD"],
                     capture_output=True, text=True).stdout.strip()
lines = [
    "# Line coverage of lk-gateway and lk-sync",
    "",
    f"Measured {time.strftime('%Y-%m-%d')} at commit `{rev}` by `bench/coverage/run.sh` "
    "(cargo-tarpaulin, LLVM source-based coverage) over `cargo test -p lk-gateway -p lk-sync`: "
    "unit tests, the integration tests and the binaries they start. Lines are the ones "
    "the compiler maps to code.",
    "",
    "| crate | lines | covered | % |",
    "|---|---:|---:|---:|",
]
by_crate = {}
for p, d in files.items():
    c = p.split("/")[1]
    t = by_crate.setdefault(c, [0, 0])
    t[0] += len(d)
    t[1] += sum(1 for h in d.values() if h > 0)
for c, (n, cov) in sorted(by_crate.items()):
    lines.append(f"| {c} | {n} | {cov} | {100 * cov / n:.1f} |")
lines += [
    "",
    "What the tool cannot see: a process's counters are written when it exits in order. The "
    "gateway's tests stop it with SIGTERM, and so do lk-sync's daemon tests, so the code "
    "that runs only inside those daemons is measured; lk-sync's crash tests kill it with "
    "SIGKILL, so those runs are not counted.",
]
lines += ["", "| file | lines | covered | % | uncovered lines |", "|---|---:|---:|---:|---|"]
for p in sorted(files):
    d = files[p]
    cov = sum(1 for h in d.values() if h > 0)
    miss = [n for n, h in d.items() if h == 0]
    lines.append(f"| {p} | {len(d)} | {cov} | {100 * cov / max(1, len(d)):.1f} | {ranges(miss)} |")
lines.append("")
with open(a.out, "w") as f:
    f.write("\n".join(lines))
