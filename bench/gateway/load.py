#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Load driver for bench/gateway/run.sh: small-object PUT/GET/HEAD/DELETE rates at several
concurrencies, large-object throughput (one PUT, and the same size as an SLO of segments), and
10k-entry listing pages. Loopback only; every
loop is bounded in count and time. Prints one JSON document on stdout."""
import argparse
import http.client
import json
import os
import statistics
import threading
import time
import urllib.parse


def auth(base, user, key):
    u = urllib.parse.urlparse(base)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    c.request("GET", "/auth/v1.0", headers={"X-Auth-User": user, "X-Auth-Key": key})
    r = c.getresponse()
    r.read()
    assert r.status in (200, 204), r.status
    storage = urllib.parse.urlparse(r.getheader("X-Storage-Url"))
    return u.hostname, u.port, storage.path, r.getheader("X-Auth-Token")


class Client:
    def __init__(self, host, port, path, token):
        self.host, self.port, self.path, self.token = host, port, path, token
        self.c = http.client.HTTPConnection(host, port, timeout=120, blocksize=1 << 20)

    def req(self, method, p, body=None, headers=None, expect=(200, 201, 202, 204)):
        h = {"X-Auth-Token": self.token}
        h.update(headers or {})
        try:
            self.c.request(method, self.path + p, body=body, headers=h)
            r = self.c.getresponse()
            data = r.read()
        except (http.client.HTTPException, OSError):
            self.c.close()
            self.c = http.client.HTTPConnection(self.host, self.port, timeout=120, blocksize=1 << 20)
            raise
        if r.status not in expect:
            raise RuntimeError(f"{method} {p}: {r.status} {data[:200]!r}")
        return r, data


def run_phase(clients, n, fn, max_seconds):
    """Runs fn(client, i) for i in 0..n over len(clients) threads; returns ops/s and p50/p99 ms."""
    lock = threading.Lock()
    nxt = [0]
    lat = []
    deadline = time.monotonic() + max_seconds

    def worker(cl):
        while time.monotonic() < deadline:
            with lock:
                i = nxt[0]
                if i >= n:
                    return
                nxt[0] += 1
            t0 = time.perf_counter()
            fn(cl, i)
            dt = time.perf_counter() - t0
            with lock:
                lat.append(dt)

    t0 = time.perf_counter()
    ts = [threading.Thread(target=worker, args=(c,)) for c in clients]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    el = time.perf_counter() - t0
    lat.sort()
    return {
        "ops": len(lat),
        "seconds": round(el, 3),
        "ops_per_s": round(len(lat) / el, 1) if el else 0,
        "p50_ms": round(1000 * lat[len(lat) // 2], 2) if lat else None,
        "p99_ms": round(1000 * lat[int(len(lat) * 0.99)], 2) if lat else None,
    }


def small_objects(cred, conc, n, size, max_seconds):
    clients = [Client(*cred) for _ in range(conc)]
    cont = f"/small-c{conc}"
    clients[0].req("PUT", cont)
    body = os.urandom(size)
    out = {}
    out["PUT"] = run_phase(clients, n, lambda c, i: c.req("PUT", f"{cont}/o{i:06d}", body), max_seconds)
    done = out["PUT"]["ops"]
    out["GET"] = run_phase(clients, done, lambda c, i: c.req("GET", f"{cont}/o{i:06d}"), max_seconds)
    out["HEAD"] = run_phase(clients, done, lambda c, i: c.req("HEAD", f"{cont}/o{i:06d}"), max_seconds)
    out["DELETE"] = run_phase(clients, done, lambda c, i: c.req("DELETE", f"{cont}/o{i:06d}"), max_seconds)
    return out


class Repeat:
    """A file-like body of `total` bytes made of one random block, so nothing big sits in memory."""

    def __init__(self, total, block=1 << 20):
        self.left, self.block = total, os.urandom(block)

    def read(self, n=-1):
        if self.left <= 0:
            return b""
        n = min(self.left, len(self.block) if n is None or n < 0 else min(n, len(self.block)))
        self.left -= n
        return self.block[:n]


def read_all(c, p):
    """GETs `p`, reading the body in 1 MiB chunks; returns its length."""
    c.c.request("GET", c.path + p, headers={"X-Auth-Token": c.token})
    resp = c.c.getresponse()
    assert resp.status == 200, resp.status
    got = 0
    while True:
        chunk = resp.read(1 << 20)
        if not chunk:
            return got
        got += len(chunk)


def slo_object(c, size_mb, segments, r):
    """Uploads a `size_mb` object as an SLO of `segments` equal segments (as `swift upload
    --use-slo` does), then reads it back; returns (segments s, manifest s, GET s)."""
    seg_bytes = (size_mb << 20) // segments
    t0 = time.perf_counter()
    entries = []
    for i in range(segments):
        p = f"/large_segments/slo{r}/{i:04d}"
        resp, _ = c.req("PUT", p, Repeat(seg_bytes), {"Content-Length": str(seg_bytes)})
        entries.append({"path": p, "etag": resp.getheader("Etag").strip('"'), "size_bytes": seg_bytes})
    t1 = time.perf_counter()
    c.req("PUT", f"/large/slo{r}?multipart-manifest=put", json.dumps(entries).encode())
    t2 = time.perf_counter()
    assert read_all(c, f"/large/slo{r}") == seg_bytes * segments
    t3 = time.perf_counter()
    c.req("DELETE", f"/large/slo{r}?multipart-manifest=delete")
    return t1 - t0, t2 - t1, t3 - t2


def dlo_object(c, size_mb, segments, r, tree):
    """Uploads a `size_mb` object as a DLO of `segments` equal segments (as `swift upload`
    does without --use-slo), then reads it back; returns (segments s, manifest s, file s,
    GET s). With `tree` (the account's directory of a lustrekit gateway), file s is the time
    from the manifest's 201 until the tree's file holds the whole object (lustrekit writes it
    in the background); None otherwise."""
    seg_bytes = (size_mb << 20) // segments
    prefix = f"large_segments/dlo{r}/"
    t0 = time.perf_counter()
    for i in range(segments):
        c.req("PUT", f"/{prefix}{i:04d}", Repeat(seg_bytes), {"Content-Length": str(seg_bytes)})
    t1 = time.perf_counter()
    c.req("PUT", f"/large/dlo{r}", b"", {"X-Object-Manifest": prefix})
    t2 = time.perf_counter()
    file_s = None
    if tree:
        path = os.path.join(tree, "large", f"dlo{r}")
        deadline = t2 + 600
        while not (os.path.exists(path) and os.path.getsize(path) == seg_bytes * segments):
            assert time.perf_counter() < deadline, f"{path} never held the whole object"
            time.sleep(0.02)
        file_s = time.perf_counter() - t2
    t3 = time.perf_counter()
    assert read_all(c, f"/large/dlo{r}") == seg_bytes * segments
    get_s = time.perf_counter() - t3
    c.req("DELETE", f"/large/dlo{r}")
    for i in range(segments):
        c.req("DELETE", f"/{prefix}{i:04d}")
    return t1 - t0, t2 - t1, file_s, get_s


def large_object(cred, size_mb, rounds, segments, tree):
    c = Client(*cred)
    c.req("PUT", "/large")
    c.req("PUT", "/large_segments")
    put, get = [], []
    for r in range(rounds):
        t0 = time.perf_counter()
        c.req("PUT", f"/large/big{r}", Repeat(size_mb << 20), {"Content-Length": str(size_mb << 20)})
        put.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        got = read_all(c, f"/large/big{r}")
        assert got == size_mb << 20, got
        get.append(time.perf_counter() - t0)
        c.req("DELETE", f"/large/big{r}")
    slo = [slo_object(c, size_mb, segments, r) for r in range(rounds)]
    seg_s = statistics.median(s for s, _, _ in slo)
    manifest_s = statistics.median(m for _, m, _ in slo)
    dlo = [dlo_object(c, size_mb, segments, r, tree) for r in range(rounds)]
    dlo_seg_s = statistics.median(s for s, _, _, _ in dlo)
    dlo_manifest_s = statistics.median(m for _, m, _, _ in dlo)
    dlo_file_s = statistics.median(f for _, _, f, _ in dlo) if tree else None
    return {
        "size_mb": size_mb,
        "PUT_MBps": round(size_mb / statistics.median(put), 1),
        "GET_MBps": round(size_mb / statistics.median(get), 1),
        "slo_segments": segments,
        # The whole upload: segments, then the manifest.
        "SLO_PUT_MBps": round(size_mb / (seg_s + manifest_s), 1),
        "SLO_manifest_s": round(manifest_s, 2),
        "SLO_GET_MBps": round(size_mb / statistics.median(g for _, _, g in slo), 1),
        "DLO_PUT_MBps": round(size_mb / (dlo_seg_s + dlo_manifest_s), 1),
        # Until the tree's file holds the whole object (lustrekit only).
        "DLO_file_s": None if dlo_file_s is None else round(dlo_file_s, 2),
        "DLO_GET_MBps": round(size_mb / statistics.median(g for _, _, _, g in dlo), 1),
    }


def listing(cred, container, rounds):
    c = Client(*cred)
    r, _ = c.req("HEAD", f"/{container}")
    count = int(r.getheader("X-Container-Object-Count"))
    out = {"objects": count}
    for label, marker in (("first", ""), ("middle", "o%07d" % min(count // 2, count - 10001))):
        times = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            _, data = c.req("GET", f"/{container}?format=json&limit=10000&marker={marker}")
            times.append(time.perf_counter() - t0)
            n = len(json.loads(data))
            assert n == 10000, n
        out[f"{label}_page_ms"] = round(1000 * statistics.median(times), 1)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--user", default="test:tester")
    ap.add_argument("--key", default="testing")
    ap.add_argument("--what", choices=["small", "large", "listing"], required=True)
    ap.add_argument("--n1", type=int, default=400)
    ap.add_argument("--n16", type=int, default=2000)
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--large-mb", type=int, default=512)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--segments", type=int, default=8)
    ap.add_argument("--container", default="list100k")
    ap.add_argument("--max-seconds", type=float, default=60)
    ap.add_argument("--tree", help="a lustrekit gateway's account directory (DLO file timing)")
    a = ap.parse_args()
    cred = auth(a.url, a.user, a.key)
    if a.what == "small":
        res = {"c1": small_objects(cred, 1, a.n1, a.size, a.max_seconds),
               "c16": small_objects(cred, 16, a.n16, a.size, a.max_seconds)}
    elif a.what == "large":
        res = large_object(cred, a.large_mb, a.rounds, a.segments, a.tree)
    else:
        res = listing(cred, a.container, 5)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
