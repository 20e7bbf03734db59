#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""POSIX-to-listing lag of lk-sync's inotify backend.

Starts `lk-sync --backend inotify` over a fresh tree, creates N files in nested directories
(at a given rate, or as fast as possible), and polls the listing index (the SQLite database
the gateway's listings read) from a separate process. A file's lag is the time from the end
of its write (close) to the first poll that lists it. Writes JSON with the lags and timings.
"""
import argparse
import json
import multiprocessing as mp
import os
import shutil
import sqlite3
import subprocess
import sys
import time


def poller(db, n, out_q, stop):
    seen = {}
    conn = None
    while len(seen) < n and not stop.is_set():
        try:
            if conn is None:
                conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
            rows = conn.execute(
                "SELECT name FROM objects WHERE account='acct' AND container='cont'"
            ).fetchall()
        except sqlite3.Error:
            conn = None
            time.sleep(0.002)
            continue
        now = time.time()
        for (name,) in rows:
            if name not in seen:
                seen[name] = now
        time.sleep(0.002)
    out_q.put(seen)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--rate", type=float, default=0, help="files/s; 0 = as fast as possible")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    shutil.rmtree(a.work, ignore_errors=True)
    root = os.path.join(a.work, "root")
    cont = os.path.join(root, "acct", "cont")
    os.makedirs(cont)
    log = open(os.path.join(a.work, "sync.log"), "w")
    p = subprocess.Popen(
        [a.bin, "--root", root, "--backend", "inotify"],
        stdout=subprocess.PIPE, stderr=log, text=True)
    assert p.stdout.readline().strip() == "lk-sync ready"
    db = os.path.join(root, ".lustrekit-gateway", "index.sqlite3")

    stop = mp.Event()
    q = mp.Queue()
    pr = mp.Process(target=poller, args=(db, a.n, q, stop))
    pr.start()
    time.sleep(0.2)

    names = [f"d{i % 20:02}/s{(i // 20) % 10:02}/f{i:05}.dat" for i in range(a.n)]
    created = {}
    t0 = time.time()
    for i, name in enumerate(names):
        if a.rate:
            due = t0 + i / a.rate
            d = due - time.time()
            if d > 0:
                time.sleep(d)
        path = os.path.join(cont, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(b"x" * 100)
        created[name] = time.time()
    t_created = time.time()
    # Read before joining: the poller cannot exit until its (large) result is consumed.
    try:
        seen = q.get(timeout=300)
    except Exception:
        stop.set()
        seen = q.get(timeout=30)
    pr.join(timeout=30)
    t_all = max(seen.values()) if seen else float("nan")
    p.kill()
    p.wait()
    lags = sorted(seen[n] - created[n] for n in names if n in seen)
    missing = sum(1 for n in names if n not in seen)
    json.dump({
        "n": a.n, "rate": a.rate, "missing": missing,
        "create_seconds": t_created - t0,
        "all_listed_after_last_write": t_all - t_created,
        "lags": lags,
    }, open(a.out, "w"))
    print(f"lag n={a.n} rate={a.rate or 'max'}: missing={missing} "
          f"p50={lags[len(lags) // 2] * 1000:.1f}ms p99={lags[int(len(lags) * 0.99)] * 1000:.1f}ms",
          file=sys.stderr)


if __name__ == "__main__":
    main()
