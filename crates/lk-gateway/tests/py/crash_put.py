# SPDX-License-Identifier: Apache-2.0
"""100 concurrent slow PUTs; every 201 is appended (and fsynced) to the results file.
The test kills the gateway with SIGKILL while they run; failures here are expected."""
import http.client
import json
import os
import random
import sys
import threading
import time

from swifttest import ADDR, conn

results_path = sys.argv[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 100
url, token = conn().get_auth()
path = url.split(ADDR, 1)[1]
lock = threading.Lock()
out = open(results_path, "a")


def body(i):
    return random.Random(i).randbytes(200_000 + i * 1_000)


def put(i):
    time.sleep(random.Random(1000 + i).uniform(0, 1.5))
    data = body(i)
    name = f"obj/{i % 10}/o{i:03d}"
    try:
        h = http.client.HTTPConnection(ADDR, timeout=30)
        h.putrequest("PUT", f"{path}/crash/{name}")
        h.putheader("X-Auth-Token", token)
        h.putheader("Content-Length", str(len(data)))
        h.endheaders()
        for off in range(0, len(data), 16_384):
            h.send(data[off:off + 16_384])
            time.sleep(0.03)
        r = h.getresponse()
        r.read()
        if r.status == 201:
            with lock:
                out.write(json.dumps({"i": i, "name": name, "etag": r.getheader("Etag")}) + "\n")
                out.flush()
                os.fsync(out.fileno())
    except OSError:
        pass  # the gateway was killed


threads = [threading.Thread(target=put, args=(i,)) for i in range(N)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("puts done")
