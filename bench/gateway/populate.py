#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Fills a container with N zero-byte listing entries, bypassing the object API on both
systems so the listing benchmark measures listing, not ingest:
- lustrekit: N empty files in the tree (the gateway's start-up reconciliation indexes them);
- Swift: N object records PUT straight into the container server (what object servers do
  after each write), with the ring giving the partition."""
import argparse
import http.client
import os
import threading
import time

ap = argparse.ArgumentParser()
ap.add_argument("--mode", choices=["tree", "swift"], required=True)
ap.add_argument("--n", type=int, default=100_000)
ap.add_argument("--dir")
ap.add_argument("--swift-dir")
ap.add_argument("--account", default="AUTH_test")
ap.add_argument("--container", default="list100k")
a = ap.parse_args()
EMPTY = "d41d8cd98f00b204e9800998ecf8427e"

if a.mode == "tree":
    os.makedirs(a.dir, exist_ok=True)
    for i in range(a.n):
        os.close(os.open(os.path.join(a.dir, "o%07d" % i), os.O_CREAT | os.O_WRONLY, 0o644))
else:
    from swift.common.ring import Ring

    part, nodes = Ring(a.swift_dir, ring_name="container").get_nodes(a.account, a.container)
    node = nodes[0]
    lock = threading.Lock()
    nxt = [0]

    def worker():
        c = http.client.HTTPConnection(node["ip"], node["port"], timeout=60)
        while True:
            with lock:
                i = nxt[0]
                if i >= a.n:
                    return
                nxt[0] += 1
            ts = "%.5f" % time.time()
            path = f"/{node['device']}/{part}/{a.account}/{a.container}/o{i:07d}"
            c.request("PUT", path, headers={
                "X-Timestamp": ts, "X-Size": "0", "X-Content-Type": "application/octet-stream",
                "X-Etag": EMPTY, "X-Backend-Storage-Policy-Index": "0"})
            r = c.getresponse()
            r.read()
            if r.status not in (201, 202):
                raise SystemExit(f"container server answered {r.status} for {path}")

    ts = [threading.Thread(target=worker) for _ in range(16)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
