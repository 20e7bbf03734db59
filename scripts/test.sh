#!/usr/bin/env bash
# The test command: formatting, lints, then every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -f scripts/start-libvirt.sh ]]; then
    # Tests that boot VMs need libvirtd and virtlogd (no systemd on these machines).
    bash scripts/start-libvirt.sh
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked
