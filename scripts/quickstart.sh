#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install dependencies, build lustrekit, validate
# every example topology and print the plan of the HA example.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo build --release --locked --bin lustrekit
lk=target/release/lustrekit
for f in examples/*.yaml; do
    "$lk" validate "$f"
done
"$lk" plan examples/ha.yaml
