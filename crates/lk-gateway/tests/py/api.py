# SPDX-License-Identifier: Apache-2.0
"""python-swiftclient's Python API against the gateway: listings (paging, prefix,
delimiter, end_marker, reverse, formats), ranges, conditional GETs, metadata and limits,
copies, ACLs, bulk delete, /info, CORS, clashes."""
import http.client
import json
import time
import urllib.parse
from email.utils import formatdate

from swifttest import ADDR, check, conn, expect_status, md5

c = conn()
url, token = c.get_auth()
path = urllib.parse.urlparse(url).path


def raw(method, p, headers=None, body=None):
    h = http.client.HTTPConnection(ADDR)
    h.request(method, p, body=body, headers=headers or {})
    r = h.getresponse()
    data = r.read()
    h.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, data


# --- containers: 201 then 202
rd = {}
c.put_container("api", response_dict=rd)
check(rd["status"] == 201, rd)
c.put_container("api", response_dict=rd)
check(rd["status"] == 202, rd)

names = ["a", "b/1", "b/2", "b/3/x", "c", "d/1", "e"]
for n in names:
    c.put_object("api", n, contents=("data of " + n).encode())

# --- listings
_, objs = c.get_container("api", full_listing=True)
check([o["name"] for o in objs] == names, objs)
check(objs[0]["hash"] == md5(b"data of a") and objs[0]["bytes"] == 9, objs[0])
paged, marker = [], ""
while True:
    _, page = c.get_container("api", limit=2, marker=marker)
    if not page:
        break
    paged += [o["name"] for o in page]
    marker = page[-1]["name"]
check(paged == names, f"paging {paged}")
_, page = c.get_container("api", delimiter="/")
check([o.get("name", o.get("subdir")) for o in page] == ["a", "b/", "c", "d/", "e"], page)
_, page = c.get_container("api", prefix="b/", delimiter="/")
check([o.get("name", o.get("subdir")) for o in page] == ["b/1", "b/2", "b/3/"], page)
_, page = c.get_container("api", marker="b/", end_marker="d", delimiter="/")
check([o.get("name", o.get("subdir")) for o in page] == ["c"], page)
_, page = c.get_container("api", query_string="reverse=true", limit=3)
check([o["name"] for o in page] == ["e", "d/1", "c"], page)
hdrs = c.head_container("api")
check(hdrs["x-container-object-count"] == "7", hdrs)
check(hdrs["x-container-bytes-used"] == str(sum(len("data of " + n) for n in names)), hdrs)
st, h, body = raw("GET", path + "/api?format=xml&limit=1", {"X-Auth-Token": token})
check(st == 200 and body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<container name="api"><object><name>a</name>'), body)
st, h, body = raw("GET", path + "/api?prefix=b/", {"X-Auth-Token": token})
check(st == 200 and body == b"b/1\nb/2\nb/3/x\n" and h["content-type"].startswith("text/plain"), body)
st, _, _ = raw("GET", path + "/api?prefix=zzz", {"X-Auth-Token": token})
check(st == 204, f"empty plain listing is 204, got {st}")
st, _, _ = raw("GET", path + "/api?limit=10001", {"X-Auth-Token": token})
check(st == 412, f"limit over 10000 is 412, got {st}")
ah, conts = c.get_account()
check([x["name"] for x in conts] == ["api"] and ah["x-account-object-count"] == "7", ah)

# --- ranges
body = bytes(range(256)) * 40
c.put_object("api", "r.bin", contents=body)
h, got = c.get_object("api", "r.bin", headers={"Range": "bytes=10-19"})
check(got == body[10:20] and h["content-range"] == f"bytes 10-19/{len(body)}", h)
h, got = c.get_object("api", "r.bin", headers={"Range": "bytes=-5"})
check(got == body[-5:], "suffix range")
h, got = c.get_object("api", "r.bin", headers={"Range": "bytes=0-1,100-101"})
check(h["content-type"].startswith("multipart/byteranges;boundary="), h)
boundary = h["content-type"].split("boundary=")[1].encode()
parts = [p for p in got.split(b"--" + boundary) if p.strip(b"-\r\n")]
check(len(parts) == 2 and parts[0].endswith(b"\r\n\r\n" + body[0:2] + b"\r\n"), parts)
check(b"Content-Range: bytes 100-101/10240" in parts[1] and parts[1].endswith(body[100:102] + b"\r\n"), parts)
expect_status(416, c.get_object, "api", "r.bin", headers={"Range": "bytes=999999-"})
h = c.head_object("api", "r.bin")
check(h["content-length"] == str(len(body)) and h["accept-ranges"] == "bytes", h)

# --- conditional requests
etag = md5(body)
expect_status(304, c.get_object, "api", "r.bin", headers={"If-None-Match": etag})
expect_status(412, c.get_object, "api", "r.bin", headers={"If-Match": '"nope"'})
h, got = c.get_object("api", "r.bin", headers={"If-Match": f'"{etag}"'})
check(got == body, "If-Match hit")
future = formatdate(time.time() + 3600, usegmt=True)
past = formatdate(time.time() - 3600, usegmt=True)
expect_status(304, c.get_object, "api", "r.bin", headers={"If-Modified-Since": future})
h, got = c.get_object("api", "r.bin", headers={"If-Modified-Since": past})
check(got == body, "modified since")
expect_status(412, c.get_object, "api", "r.bin", headers={"If-Unmodified-Since": past})
expect_status(412, c.put_object, "api", "r.bin", contents=b"x", headers={"If-None-Match": "*"})

# --- ETag mismatch, metadata, limits
expect_status(422, c.put_object, "api", "bad", contents=b"abc", etag=md5(b"abd"))
expect_status(404, c.head_object, "api", "bad")
c.put_object("api", "m", contents=b"m", headers={"X-Object-Meta-One": "1", "Content-Type": "text/x-one"})
c.post_object("api", "m", headers={"X-Object-Meta-Two": "2"})
h = c.head_object("api", "m")
check(h.get("x-object-meta-two") == "2" and "x-object-meta-one" not in h, f"POST replaces user meta: {h}")
check(h["content-type"] == "text/x-one" and h["etag"] == md5(b"m"), h)
expect_status(400, c.put_object, "api", "m2", contents=b"", headers={"X-Object-Meta-" + "n" * 129: "v"})
expect_status(400, c.put_object, "api", "m2", contents=b"", headers={"X-Object-Meta-N": "v" * 257})
expect_status(400, c.put_object, "api", "m2", contents=b"", headers={f"X-Object-Meta-N{i}": "v" for i in range(91)})
expect_status(400, c.put_object, "api", "n" * 1025, contents=b"")
c.post_container("api", headers={"X-Container-Meta-Owner": "me"})
check(c.head_container("api")["x-container-meta-owner"] == "me", "container meta")
c.post_account(headers={"X-Account-Meta-Team": "hpc"})
check(c.head_account()["x-account-meta-team"] == "hpc", "account meta")

# --- copies
c.put_object("api", "copy1", contents=None, headers={"X-Copy-From": "/api/r.bin"})
check(c.get_object("api", "copy1")[1] == body, "X-Copy-From")
c.copy_object("api", "m", destination="/api/copy2", headers={"X-Object-Meta-Three": "3"})
h = c.head_object("api", "copy2")
check(h["x-object-meta-two"] == "2" and h["x-object-meta-three"] == "3" and h["etag"] == md5(b"m"), h)

# --- DLO with ranges across segments (Python API)
for i in range(3):
    c.put_object("api", f"dlo-seg/{i:02d}", contents=bytes([65 + i]) * 10)
c.put_object("api", "dlo", contents=b"", headers={"X-Object-Manifest": "api/dlo-seg/"})
h, got = c.get_object("api", "dlo")
check(got == b"A" * 10 + b"B" * 10 + b"C" * 10 and h["x-object-manifest"] == "api/dlo-seg/", h)
h, got = c.get_object("api", "dlo", headers={"Range": "bytes=8-21"})
check(got == b"AABBBBBBBBBBCC", got)
# SLO via the API, with multipart-manifest=get
manifest = [{"path": f"/api/dlo-seg/{i:02d}", "etag": md5(bytes([65 + i]) * 10), "size_bytes": 10} for i in range(3)]
c.put_object("api", "slo", contents=json.dumps(manifest), query_string="multipart-manifest=put")
h, got = c.get_object("api", "slo")
check(got == b"A" * 10 + b"B" * 10 + b"C" * 10 and h["x-static-large-object"] == "True", h)
h, got = c.get_object("api", "slo", query_string="multipart-manifest=get")
check([s["name"] for s in json.loads(got)] == [f"/api/dlo-seg/{i:02d}" for i in range(3)], got)
bad = [{"path": "/api/dlo-seg/00", "etag": "0" * 32, "size_bytes": 10}]
expect_status(400, c.put_object, "api", "slo2", contents=json.dumps(bad), query_string="multipart-manifest=put")

# --- a name that is an object and a prefix of others (stored as clash/.lk-self)
c.put_object("api", "clash", contents=b"x")
c.put_object("api", "clash/inner", contents=b"y")
check(c.get_object("api", "clash")[1] == b"x" and c.get_object("api", "clash/inner")[1] == b"y", "clash")
c.delete_object("api", "clash/inner")
c.delete_object("api", "clash")
expect_status(409, c.delete_container, "api")

# --- ACLs: a non-admin user needs X-Container-Read/Write
reader = conn("test:reader", "readkey")
expect_status(403, reader.get_container, "api")
expect_status(403, reader.get_account)
c.post_container("api", headers={"X-Container-Read": "test:reader"})
check(reader.get_object("api", "a")[1] == b"data of a", "ACL read")
expect_status(403, reader.put_object, "api", "w", contents=b"w")
c.post_container("api", headers={"X-Container-Write": "test:reader"})
reader.put_object("api", "w", contents=b"w")
expect_status(403, reader.put_container, "newone")

# --- bulk delete
c.put_container("bulk")
for i in range(5):
    c.put_object("bulk", f"o{i}", contents=b"z")
todel = "\n".join(urllib.parse.quote(f"/bulk/o{i}") for i in range(5)) + "\n/bulk/missing\n/bulk\n"
h, out = c.post_account(data=todel, query_string="bulk-delete",
                        headers={"Accept": "application/json", "Content-Type": "text/plain"})
res = json.loads(out)
check(res["Number Deleted"] == 6 and res["Number Not Found"] == 1 and res["Errors"] == [], res)
expect_status(404, c.head_container, "bulk")

# --- /info advertises exactly what is implemented
caps = c.get_capabilities()
check(set(caps) == {"swift", "tempauth", "slo", "dlo", "bulk_delete", "bulk_upload", "staticweb", "tempurl",
                   "versioned_writes", "symlink", "object_versioning", "container_quotas"},
      caps.keys())
check(caps["tempurl"]["allowed_digests"] == ["sha1", "sha256", "sha512"], caps["tempurl"])

# --- temporary URLs, signed by python-swiftclient
from swiftclient.utils import generate_temp_url  # noqa: E402

c.post_account({"X-Account-Meta-Temp-URL-Key": "py-key"})
for digest in ("sha1", "sha256", "sha512"):
    for iso in (False, True):
        signed = generate_temp_url(path + "/api/a", 600, "py-key", "GET", digest=digest, iso8601=iso)
        st, h, body = raw("GET", signed)
        check(st == 200 and body == b"data of a", f"tempurl {digest} iso={iso}: {st} {body!r}")
        check(h.get("content-disposition", "").startswith("attachment; filename=\"a\""), h)
signed = generate_temp_url(path + "/api/", 600, "py-key", "GET", prefix=True)
check(raw("GET", signed.replace("/api/?", "/api/a?"))[0] == 200, "prefix tempurl")
signed = generate_temp_url(path + "/api/a", 600, "py-key", "GET")
st, _, body = raw("PUT", signed, body=b"x")
check(st == 401 and body == b"401 Unauthorized: Temp URL invalid\n", (st, body))
c.post_account({"X-Remove-Account-Meta-Temp-URL-Key": "x"})
check(raw("GET", signed)[0] == 401, "no key, no tempurl")
check(caps["swift"]["max_meta_value_length"] == 256, caps["swift"])

# --- CORS
st, h, _ = raw("OPTIONS", path + "/api/a", {"Origin": "http://example.test", "Access-Control-Request-Method": "GET"})
check(st == 401, f"preflight without allow-origin is 401, got {st}")
c.post_container("api", headers={"X-Container-Meta-Access-Control-Allow-Origin": "http://example.test"})
st, h, _ = raw("OPTIONS", path + "/api/a", {"Origin": "http://example.test", "Access-Control-Request-Method": "GET",
                                             "Access-Control-Request-Headers": "x-auth-token"})
check(st == 200 and h["access-control-allow-origin"] == "http://example.test", (st, h))
check("GET" in h["access-control-allow-methods"] and h["access-control-allow-headers"] == "x-auth-token", h)
st, h, _ = raw("GET", path + "/api/a", {"Origin": "http://example.test", "X-Auth-Token": token})
check(st == 200 and h["access-control-allow-origin"] == "http://example.test", h)

# --- tokens
st, _, _ = raw("GET", path, {"X-Auth-Token": "AUTH_tkbogus"})
check(st == 401, st)
st, _, _ = raw("GET", "/auth/v1.0", {"X-Auth-User": "test:tester", "X-Auth-Key": "wrong"})
check(st == 401, st)
print("api ok")
