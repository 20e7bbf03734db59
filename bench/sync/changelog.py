#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Changelog records parsed and applied per second by lk-sync's changelog backend.

Builds a tree of files and the changelog Lustre would write for it, then times
`lk-sync --backend changelog --once` reading it through the stand-in lfs (fake_lfs.py), from
the first `lfs changelog` line to the last commit and clear. Two shapes:
- create: every file created and closed once (CREAT, CLOSE per file; little to coalesce);
- modify: files created, then written again and again (CLOSE, MTIME, TRUNC, SATTR): most
  records merge into one refresh per file per batch.
Both include a few hundred renames and unlinks."""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

SEQ = 0x200000402


def fid(oid):
    return "[0:0x0:0x0]" if oid == 0 else f"[{SEQ:#x}:{oid:#x}:0x0]"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--shape", choices=["create", "modify"], required=True)
    ap.add_argument("--records", type=int, default=100000)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    shutil.rmtree(a.work, ignore_errors=True)
    mnt = os.path.join(a.work, "mnt")
    fake = os.path.join(a.work, "fake")
    os.makedirs(fake)
    fids = {}
    recs = []
    oid = [1]

    def new(path):
        oid[0] += 1
        fids[oid[0]] = path
        return oid[0]

    def rec(kind, t, tail="", flags=0):
        recs.append(f"{len(recs) + 1} {kind} 15:15:41.305116815 2018.01.09 {flags:#x} "
                    f"t={fid(t)} ef=0xf u=500:500 nid=10.0.0.1@tcp{(' ' + tail) if tail else ''}")

    dirs = {}
    for d in ["", "swift", "swift/acct", "swift/acct/cont"]:
        os.makedirs(os.path.join(mnt, d), exist_ok=True)
        dirs[d] = new(d)
    for i in range(100):
        d = f"swift/acct/cont/d{i:02}"
        os.makedirs(os.path.join(mnt, d))
        dirs[d] = new(d)
        rec("02MKDIR", dirs[d], f"p={fid(dirs['swift/acct/cont'])} d{i:02}")
    files = []
    per_file = 2 if a.shape == "create" else 10
    nfiles = max(1, (a.records - 100 - 600) // per_file)
    for i in range(nfiles):
        d = f"swift/acct/cont/d{i % 100:02}"
        name = f"f{i:06}"
        path = f"{d}/{name}"
        with open(os.path.join(mnt, path), "wb") as f:
            f.write(b"y" * 64)
        f_ = new(path)
        files.append((f_, path))
        rec("01CREAT", f_, f"p={fid(dirs[d])} {name}")
        rec("11CLOSE", f_)
    if a.shape == "modify":
        for _ in range(2):
            for f_, path in files:
                for kind in ("11CLOSE", "17MTIME", "13TRUNC", "14SATTR"):
                    rec(kind, f_)
    # Renames (within and across directories) and unlinks.
    for j in range(300):
        f_, path = files[j * 3]
        d, name = path.rsplit("/", 1)
        nd = f"swift/acct/cont/d{(j + 1) % 100:02}"
        npath = f"{nd}/r{name}"
        os.rename(os.path.join(mnt, path), os.path.join(mnt, npath))
        fids[f_] = npath
        rec("08RENME", 0, f"p={fid(dirs[nd])} r{name} s={fid(f_)} sp={fid(dirs[d])} {name}")
    for j in range(300):
        f_, path = files[j * 3 + 1]
        d, name = path.rsplit("/", 1)
        os.remove(os.path.join(mnt, path))
        del fids[f_]
        rec("06UNLNK", f_, f"p={fid(dirs[d])} {name}", flags=1)
    with open(os.path.join(fake, "lustre-MDT0000.records"), "w") as f:
        f.write("\n".join(recs) + "\n")
    with open(os.path.join(fake, "fids"), "w") as f:
        for k, v in fids.items():
            f.write(f"{fid(k)} {v}\n")

    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, FAKE_LFS_DIR=fake)
    t0 = time.time()
    p = subprocess.run(
        [a.bin, "--backend", "changelog", "--root", os.path.join(mnt, "swift"),
         "--mount", mnt, "--mdt", "lustre-MDT0000", "--changelog-user", "cl1",
         "--lfs", os.path.join(here, "fake_lfs.py"), "--once", "--no-etag"],
        env=env, capture_output=True, text=True)
    wall = time.time() - t0
    if p.returncode != 0:
        sys.exit(p.stderr)
    batches = [l for l in p.stderr.splitlines() if "changelog batch committed" in l]
    import sqlite3
    db = sqlite3.connect(os.path.join(mnt, "swift", ".lustrekit-gateway", "index.sqlite3"))
    listed = db.execute("SELECT COUNT(*) FROM objects").fetchone()[0]
    expect = len(files) - 300
    json.dump({"shape": a.shape, "records": len(recs), "files": len(files),
               "listed": listed, "expected": expect, "batches": len(batches),
               "seconds": wall, "per_second": len(recs) / wall}, open(a.out, "w"))
    print(f"changelog {a.shape}: {len(recs)} records in {wall:.2f}s = "
          f"{len(recs) / wall:.0f}/s, {len(batches)} batches, listed {listed}/{expect}",
          file=sys.stderr)
    if listed != expect:
        sys.exit("listing does not match the tree")


if __name__ == "__main__":
    main()
