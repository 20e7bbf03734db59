#!/usr/bin/env bash
# Line coverage of lk-gateway and lk-sync with cargo-tarpaulin's LLVM engine: rustc's own
# profiler runtime writes the profiles and tarpaulin reads them, so no llvm-tools are needed.
#
#   scripts/coverage.sh        # report: target/coverage/tarpaulin-report.{html,json}
#
# What it counts: code run inside the test processes (unit tests, and the integration tests
# that call the crates in-process). The request handlers and the server, and lk-sync's inotify
# backend and hasher, are exercised by integration tests through spawned lk-gateway and lk-sync
# binaries, whose profiles tarpaulin does not map (tried: `--objects` with the binaries,
# `--follow-exec`; the ptrace engine segfaults on the changelog tests), so they show as
# uncovered: the figure is a lower bound.
# Not part of the test command: it rebuilds both crates instrumented (target/tarpaulin).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-tarpaulin >/dev/null || cargo install cargo-tarpaulin --locked
cargo tarpaulin --engine llvm -p lk-gateway -p lk-sync --target-dir target/tarpaulin \
    --include-files "crates/lk-gateway/*" "crates/lk-sync/*" \
    --out Html --out Json --output-dir target/coverage --timeout 300 --skip-clean
