# SPDX-License-Identifier: Apache-2.0
"""What the sync benchmarks' report scripts share: reading a run's JSON, percentiles, the
commit measured."""
import json
import os
import subprocess


def load(directory, name):
    """The JSON result `name` of a run kept in `directory`."""
    with open(os.path.join(directory, name + ".json")) as f:
        return json.load(f)


def pct(v, q):
    """The q-quantile of the sorted values v (NaN when there are none)."""
    return v[min(len(v) - 1, int(len(v) * q))] if v else float("nan")


def git_rev():
    """The short commit of the tree the report is written from."""
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True).stdout.strip()
