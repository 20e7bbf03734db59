# SPDX-License-Identifier: Apache-2.0
"""Shared helpers for the gateway tests driven by python-swiftclient (unmodified)."""
import hashlib
import os
import subprocess
import sys

import swiftclient.client

AUTH = os.environ["ST_AUTH"]
ROOT = os.environ["GW_ROOT"]
ADDR = os.environ["GW_ADDR"]


def conn(user="test:tester", key="testing"):
    return swiftclient.client.Connection(authurl=AUTH, user=user, key=key, retries=0)


def swift(*args, check=True):
    """Runs the `swift` CLI (swiftclient.shell, unmodified) and returns its stdout."""
    cmd = [sys.executable, "-m", "swiftclient.shell", "-A", AUTH, "-U", "test:tester",
           "-K", "testing", *args]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError(f"swift {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p.stdout


def md5(b):
    return hashlib.md5(b).hexdigest()


def expect_status(status, fn, *a, **kw):
    """Calls fn and asserts it raises ClientException with http_status == status."""
    try:
        fn(*a, **kw)
    except swiftclient.client.ClientException as e:
        assert e.http_status == status, f"expected {status}, got {e.http_status}: {e}"
        return e
    raise AssertionError(f"expected HTTP {status}, call succeeded")


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)
