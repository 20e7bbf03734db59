#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Line coverage of lk-gateway and lk-sync (not a test): cargo-tarpaulin with its LLVM engine
# (source-based coverage: rustc's -C instrument-coverage; the profiler runtime ships with
# the standard library, no llvm-tools needed). The integration tests start the lk-gateway
# and lk-sync binaries, so those are passed as extra objects; a binary's counters are
# written when it exits in order (both test harnesses stop their binary with SIGTERM).
# Writes bench/coverage/RESULTS.md (per file, with the uncovered lines).
#   bash bench/coverage/run.sh        # ~10 min on 2 cores (an instrumented build of its own)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
target=${COV_TARGET_DIR:-/var/tmp/lk-coverage-target}
out=${COV_OUT:-/var/tmp/lk-coverage}
command -v cargo-tarpaulin >/dev/null || cargo install cargo-tarpaulin --locked
mkdir -p "$out"
rm -rf "$target/tarpaulin/profraws"
cd "$repo"
# The binaries must exist before tarpaulin loads them as objects: a first run builds them.
[[ -x "$target/debug/lk-gateway" ]] || cargo tarpaulin --engine llvm -p lk-gateway -p lk-sync \
    --no-run --target-dir "$target" --skip-clean >/dev/null
cargo tarpaulin --engine llvm -p lk-gateway -p lk-sync \
    --include-files 'crates/lk-gateway/*' 'crates/lk-sync/*' \
    --objects "$target/debug/lk-gateway" "$target/debug/lk-sync" \
    --out Lcov --output-dir "$out" --target-dir "$target" --skip-clean --timeout 300 \
    >"$out/run.log" 2>&1 || { tail -40 "$out/run.log"; exit 1; }
grep -E "coverage, " "$out/run.log" | tail -1
/usr/bin/python3 "$here/report.py" --lcov "$out/lcov.info" --root "$repo" --out "$here/RESULTS.md"
echo "wrote $here/RESULTS.md"
