# SPDX-License-Identifier: Apache-2.0
"""After kill -9 and restart: every 201 object is readable with the right ETag and listed;
nothing partial is visible, listed or left under an object name in the tree."""
import hashlib
import json
import os
import random
import sys

from swifttest import ROOT, check, conn

results_path = sys.argv[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 100
acked = [json.loads(line) for line in open(results_path) if line.strip()]
check(len(acked) > 0, "no PUT got a 201 before the kill")
expected = {}
for i in range(N):
    data = random.Random(i).randbytes(200_000 + i * 1_000)
    expected[f"obj/{i % 10}/o{i:03d}"] = (hashlib.md5(data).hexdigest(), len(data))

c = conn()
_, listing = c.get_container("crash", full_listing=True)
listed = {o["name"]: o for o in listing}
for a in acked:
    md5, size = expected[a["name"]]
    check(a["etag"] == md5, f"201 etag {a}")
    h, got = c.get_object("crash", a["name"])
    check(h["etag"] == md5 and hashlib.md5(got).hexdigest() == md5, f"{a['name']} content after restart")
    check(a["name"] in listed, f"{a['name']} got 201 but is not listed")
for name, o in listed.items():
    md5, size = expected[name]
    check(o["hash"] == md5 and o["bytes"] == size, f"listed partial object {name}: {o}")
temps = 0
base = os.path.join(ROOT, "test", "crash")
for d, _, files in os.walk(base):
    for f in files:
        rel = os.path.relpath(os.path.join(d, f), base)
        if f.startswith(".lk-tmp-"):
            temps += 1
            check(rel not in listed, f"temp file listed: {rel}")
            continue
        md5, size = expected[rel]
        data = open(os.path.join(d, f), "rb").read()
        check(hashlib.md5(data).hexdigest() == md5, f"partial file visible in the tree: {rel}")
        check(rel in listed, f"complete file {rel} not listed after reconcile")
h = c.head_container("crash")
check(int(h["x-container-object-count"]) == len(listed), h)
print(f"crash ok: {len(acked)} acknowledged, {len(listed)} listed, {temps} temp files left invisible")
