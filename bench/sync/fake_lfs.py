#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Stand-in `lfs` for the changelog benchmark (like crates/lk-sync/tests/fake-lfs.sh, with a
dictionary for fid2path so that large batches are not dominated by the stand-in).
State in $FAKE_LFS_DIR: MDT.records, fids (`[FID] PATH` lines), clears."""
import os
import sys

d = os.environ["FAKE_LFS_DIR"]
args = sys.argv[1:]
if args[0] == "changelog":
    args = [x for x in args[1:] if x != "--follow"]
    with open(os.path.join(d, args[0] + ".records"), "rb") as f:
        sys.stdout.buffer.write(f.read())
elif args[0] == "changelog_clear":
    if args[3] == "0":
        sys.exit(22)
    with open(os.path.join(d, "clears"), "a") as f:
        f.write(" ".join(args[1:]) + "\n")
elif args[0] == "fid2path":
    rest = [x for x in args[1:] if x != "--print-fid"]
    mount, fids = rest[0], rest[1:]
    table = {}
    with open(os.path.join(d, "fids")) as f:
        for line in f:
            fid, path = line.rstrip("\n").split(" ", 1)
            table.setdefault(fid, []).append(path)
    out = []
    for fid in fids:
        for p in table.get(fid, []):
            out.append(f"{fid} {mount}/{p}")
    sys.stdout.write("\n".join(out) + ("\n" if out else ""))
else:
    sys.exit(95)
