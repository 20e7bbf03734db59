#!/usr/bin/env bash
# Line coverage of lk-gateway and lk-sync with cargo-tarpaulin's LLVM engine: rustc's own
# profiler runtime writes the profiles and tarpaulin reads them, so no llvm-tools are needed.
# The integration tests spawn the lk-gateway binary; it is built instrumented too and the
# profiles its processes write are counted.
#
#   scripts/coverage.sh        # report: target/coverage/tarpaulin-report.{html,json}
#
# Not part of the test command: it rebuilds both crates instrumented (target/tarpaulin).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-tarpaulin >/dev/null || cargo install cargo-tarpaulin --locked
cargo tarpaulin --engine llvm -p lk-gateway -p lk-sync --target-dir target/tarpaulin \
    --out Html --out Json --output-dir target/coverage --timeout 300 --skip-clean
