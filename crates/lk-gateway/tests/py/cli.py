# SPDX-License-Identifier: Apache-2.0
"""The `swift` CLI against the gateway: upload/download/list/stat/post/copy/delete,
segmented uploads as DLO and SLO; objects are plain files in the tree."""
import os
import tempfile

from swifttest import ROOT, check, md5, swift

work = tempfile.mkdtemp()
os.chdir(work)
os.makedirs("tree/sub/deeper")
files = {
    "tree/a.txt": b"alpha\n",
    "tree/sub/b.txt": b"bravo" * 1000,
    "tree/sub/deeper/c.bin": os.urandom(300_000),
}
for p, data in files.items():
    with open(p, "wb") as f:
        f.write(data)
big = os.urandom(3 * 1024 * 1024 + 123)
with open("big.bin", "wb") as f:
    f.write(big)

# upload a directory tree and single files
swift("upload", "cli", "tree")
listing = swift("list", "cli").split()
check(sorted(listing) == sorted(files), f"listing {listing}")
# the same objects are plain files in the tree
for p, data in files.items():
    with open(os.path.join(ROOT, "test", "cli", p), "rb") as f:
        check(f.read() == data, f"{p} on disk differs")

# list with prefix and delimiter
check(swift("list", "cli", "--prefix", "tree/sub/").split() == ["tree/sub/b.txt", "tree/sub/deeper/c.bin"], "prefix")
check(swift("list", "cli", "--delimiter", "/").split() == ["tree/"], "delimiter")
check(swift("list", "cli", "--prefix", "tree/", "--delimiter", "/").split() == ["tree/a.txt", "tree/sub/"], "prefix+delimiter")
check(swift("list").split() == ["cli"], "account listing")

# stat account / container / object
st = swift("stat")
check("Containers: 1" in st and "Objects: 3" in st, st)
st = swift("stat", "cli")
check("Objects: 3" in st, st)
st = swift("stat", "cli", "tree/a.txt")
check(f"ETag: {md5(files['tree/a.txt'])}" in st and "Content Length: 6" in st, st)

# post metadata on container and object
swift("post", "-m", "Color:blue", "cli")
check("Meta Color: blue" in swift("stat", "cli"), "container meta")
swift("post", "-m", "Shape:round", "-H", "Content-Type:text/x-test", "cli", "tree/a.txt")
st = swift("stat", "cli", "tree/a.txt")
check("Meta Shape: round" in st and "text/x-test" in st, st)

# download and compare
swift("download", "cli", "tree/sub/deeper/c.bin", "-o", "dl.bin")
check(open("dl.bin", "rb").read() == files["tree/sub/deeper/c.bin"], "download differs")
swift("download", "cli", "-D", "dl_all")
for p, data in files.items():
    check(open(os.path.join("dl_all", p), "rb").read() == data, f"download -D {p}")

# copy (server side)
swift("copy", "-d", "/cli2/copied.txt", "cli", "tree/a.txt")
check(swift("list", "cli2").split() == ["copied.txt"], "copy target")
st = swift("stat", "cli2", "copied.txt")
check("Meta Shape: round" in st and md5(files["tree/a.txt"]) in st, st)

# segmented upload as DLO
swift("upload", "seg", "big.bin", "-S", "1000000")
st = swift("stat", "seg", "big.bin")
check("Manifest: seg_segments/big.bin/" in st, st)
check(len(swift("list", "seg_segments").split()) == 4, "4 DLO segments")
swift("download", "seg", "big.bin", "-o", "dlo.out")
check(open("dlo.out", "rb").read() == big, "DLO content")

# segmented upload as SLO
swift("upload", "seg", "big.bin", "--object-name", "slo.bin", "-S", "1000000", "--use-slo")
st = swift("stat", "seg", "slo.bin")
check("X-Static-Large-Object: True" in st or "Static-Large-Object" in st, st)
check(f"Content Length: {len(big)}" in st, st)
swift("download", "seg", "slo.bin", "-o", "slo.out")
check(open("slo.out", "rb").read() == big, "SLO content")
seg_before = len(swift("list", "seg_segments").split())
check(seg_before == 8, f"8 segments, got {seg_before}")

# delete: SLO removes its segments, DLO too (swift CLI deletes them)
swift("delete", "seg", "slo.bin")
swift("delete", "seg", "big.bin")
check(swift("list", "seg_segments").split() == [], "segments deleted")
check(swift("list", "seg").split() == [], "manifests deleted")
swift("delete", "cli", "tree/a.txt")
check(not os.path.exists(os.path.join(ROOT, "test", "cli", "tree", "a.txt")), "file removed")
swift("delete", "--all")
check(swift("list").split() == [], "everything deleted")
print("cli ok")
