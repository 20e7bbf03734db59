#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Summarise a pytest junit XML of Swift's functional suite run against the gateway.

    summary.py junit.xml            # counts, then failures/errors/skips grouped by message
    summary.py junit.xml --list     # also every test id under its group

Groups key on the first line of the message with numbers, quoted values and hex ids
blanked, so one gateway difference that breaks many tests shows up as one line.
"""
import collections
import re
import sys
import xml.etree.ElementTree as ET


def norm(msg):
    first = (msg or "").strip().splitlines()[0] if (msg or "").strip() else "(no message)"
    first = re.sub(r"[0-9a-f]{32}", "<md5>", first)
    first = re.sub(r"tx[0-9a-f-]{20,}", "<txid>", first)
    first = re.sub(r"'[^']{20,}'", "'<long>'", first)
    first = re.sub(r"\d+", "N", first)
    return first[:160]


def main():
    path = sys.argv[1]
    show = "--list" in sys.argv
    counts = collections.Counter()
    groups = {k: collections.defaultdict(list) for k in ("failure", "error", "skipped")}
    for case in ET.parse(path).getroot().iter("testcase"):
        tid = f"{case.get('classname')}.{case.get('name')}"
        outcome = "passed"
        for child in case:
            if child.tag in groups:
                outcome = child.tag
                groups[child.tag][norm(child.get("message"))].append(tid)
                break
        counts[outcome] += 1
    print("passed %d, failed %d, errors %d, skipped %d" % (
        counts["passed"], counts["failure"], counts["error"], counts["skipped"]))
    for kind in ("failure", "error", "skipped"):
        if not groups[kind]:
            continue
        print(f"\n== {kind}")
        for msg, tids in sorted(groups[kind].items(), key=lambda kv: -len(kv[1])):
            print(f"{len(tids):4d}  {msg}")
            if show:
                for t in tids:
                    print(f"        {t}")


if __name__ == "__main__":
    main()
