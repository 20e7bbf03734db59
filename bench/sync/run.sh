#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# lk-sync benchmark (not a test): POSIX-to-listing lag of the inotify backend for 10k files,
# and changelog records parsed and applied per second. Writes bench/sync/RESULTS.md and
# results.png (when python3-matplotlib is installed).
#   bash bench/sync/run.sh            # work files under /var/tmp/lk-bench-sync
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=${BENCH_WORK:-/var/tmp/lk-bench-sync}
mkdir -p "$work"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}
(cd "$repo" && cargo build --release -p lk-sync)
bin=$CARGO_TARGET_DIR/release/lk-sync
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3

"$py" "$here/lag.py" --bin "$bin" --work "$work/lag" --n 10000 --out "$work/lag-burst.json"
"$py" "$here/lag.py" --bin "$bin" --work "$work/lag" --n 10000 --rate 1000 --out "$work/lag-paced.json"
"$py" "$here/changelog.py" --bin "$bin" --work "$work/cl" --shape create --records 100000 \
    --out "$work/changelog-create.json"
"$py" "$here/changelog.py" --bin "$bin" --work "$work/cl" --shape modify --records 100000 \
    --out "$work/changelog-modify.json"
"$py" "$here/report.py" --dir "$work" --out "$here/RESULTS.md" --png "$here/results.png" \
    --fstype "$(df --output=fstype "$work" | tail -1)"
rm -rf "$work/lag" "$work/cl"
echo "wrote $here/RESULTS.md"
