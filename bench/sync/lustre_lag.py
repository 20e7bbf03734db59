#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""POSIX-to-listing lag of the changelog backend on a real Lustre client (runs on the node).

Run on the node that serves a lustrekit `spec.services` Swift endpoint (sync: changelog).
Creates N files of 100 bytes through the Lustre mount, half in a directory on MDT0 and half
in one made with `lfs mkdir -i 1` (DNE), while a separate process polls the listing index
(the SQLite database the gateway's listings read). A file's lag is the time from the end of
its write (close) to the first poll that finds its row (the listing then shows it, hashing a
row the sync has not hashed yet on request); its hash lag, to the first poll that finds its
MD5 in the row. Prints one JSON document with every lag and the timings. Standard library only.
"""
import argparse
import hashlib
import json
import multiprocessing as mp
import os
import sqlite3
import subprocess
import time

BODY = b"x" * 99 + b"\n"


def poller(db, account, container, prefix, n, out_q, written, deadline_s):
    """Polls until every file is listed and hashed, or `deadline_s` after the writer is done."""
    listed = {}  # name -> first poll that found its row
    hashed = {}  # name -> (first poll that found its MD5 in the row, the MD5)
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    end = None
    while len(hashed) < n and (end is None or time.time() < end):
        if end is None and written.is_set():
            end = time.time() + deadline_s
        rows = conn.execute(
            "SELECT name, etag FROM objects WHERE account=? AND container=? AND name>=? AND name<?",
            (account, container, prefix, prefix + "\uffff"),
        ).fetchall()
        now = time.time()
        for name, etag in rows:
            listed.setdefault(name, now)
            if etag and name not in hashed:
                hashed[name] = (now, etag)
        time.sleep(0.002)
    out_q.put({"listed": listed, "hashed": hashed})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True, help="the service's root on the Lustre mount")
    ap.add_argument("--db", required=True, help="the gateway's index.sqlite3")
    ap.add_argument("--account", default="test")
    ap.add_argument("--container", default="lag")
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--rate", type=float, default=0, help="files/s (0: as fast as possible)")
    ap.add_argument("--deadline", type=float, default=900, help="s after the last write")
    a = ap.parse_args()

    cdir = os.path.join(a.root, a.account, a.container)
    run = f"run{int(time.time())}"
    base = os.path.join(cdir, run)
    os.makedirs(base, exist_ok=True)
    os.mkdir(os.path.join(base, "mdt0"))
    subprocess.run(["lfs", "mkdir", "-i", "1", os.path.join(base, "mdt1")], check=True)
    mdt1 = subprocess.run(
        ["lfs", "getdirstripe", "-i", os.path.join(base, "mdt1")],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    names = [f"{run}/mdt{i % 2}/f{i:05d}" for i in range(a.n)]
    want = hashlib.md5(BODY).hexdigest()

    q, written = mp.Queue(), mp.Event()
    p = mp.Process(
        target=poller,
        args=(a.db, a.account, a.container, run + "/", a.n, q, written, a.deadline),
    )
    p.start()
    closed = {}
    t0 = time.time()
    for i, name in enumerate(names):
        if a.rate:
            due = t0 + i / a.rate
            if due > time.time():
                time.sleep(due - time.time())
        with open(os.path.join(cdir, name), "wb") as f:
            f.write(BODY)
        closed[name] = time.time()
    t_written = time.time()
    written.set()
    res = q.get()
    p.join()
    listed, hashed = res["listed"], res["hashed"]
    lags = sorted(listed[n] - closed[n] for n in names if n in listed)
    hash_lags = sorted(hashed[n][0] - closed[n] for n in names if n in hashed)
    wrong = [n for n in names if n in hashed and hashed[n][1] != want]
    last = max(listed.values(), default=t_written)
    last_hash = max((h[0] for h in hashed.values()), default=t_written)
    print(json.dumps({
        "files": a.n,
        "rate": a.rate,
        "mdt_of_second_dir": mdt1,
        "writing_s": t_written - t0,
        "all_listed_after_last_write_s": last - t_written,
        "all_hashed_after_last_write_s": last_hash - t_written,
        "missing": a.n - len(lags),
        "unhashed": a.n - len(hash_lags),
        "wrong_etag": len(wrong),
        "indexed_before_hashed": sum(1 for n in listed if n not in hashed or listed[n] < hashed[n][0]),
        "lags_s": lags,
        "hash_lags_s": hash_lags,
    }))


if __name__ == "__main__":
    main()
