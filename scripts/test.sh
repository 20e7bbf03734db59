#!/usr/bin/env bash
# The test command: formatting, lints, then every test of the workspace.
#
# Tests that boot VMs need root, libvirtd (started here; no systemd on these machines) and the
# base image (built here, cached). With LUSTREKIT_VM_TESTS=1 (the default under CI) a missing
# prerequisite fails those tests instead of skipping them.
#
# Real-Lustre tests (crates/lk-cli/tests/lustre.rs) run whenever a Lustre source tree is at its
# well-known path, /var/cache/lustrekit/lustre-release: Lustre is built from it (cached after the
# first time) and baked into a second image; without the tree they print one SKIPPED line each.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -n "${CI:-}" ]]; then
    export LUSTREKIT_VM_TESTS=${LUSTREKIT_VM_TESTS:-1}
    export LUSTREKIT_KUBE_TESTS=${LUSTREKIT_KUBE_TESTS:-1}
fi
lustre_src=/var/cache/lustrekit/lustre-release
real_lustre=0
[[ -f $lustre_src/LUSTRE-VERSION-GEN ]] && real_lustre=1

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

vm_prerequisites() {
    echo "== libvirt and the base image"
    bash scripts/start-libvirt.sh
    cargo run --quiet --bin lustrekit -- image build
    if ((real_lustre)); then
        echo "== Lustre from $lustre_src (cached after the first build), and the image with it"
        cargo run --quiet --bin lustrekit -- image build --lustre tests/real-lustre/small.yaml
    fi
}

if [[ "${LUSTREKIT_VM_TESTS:-0}" == 1 ]]; then
    vm_prerequisites
fi

if [[ "${LUSTREKIT_KUBE_TESTS:-0}" == 1 ]]; then
    # Operator tests need a real kube-apiserver: built once from Debian's source package
    # (cached under /var/cache/lustrekit/kube-apiserver), started on loopback with etcd.
    echo "== kube-apiserver for the operator tests"
    KUBECONFIG=$(bash scripts/start-kube-apiserver.sh | tail -n 1)
    export KUBECONFIG
fi

# csi-sanity for crates/lk-csi/tests/it/sanity.rs: built once from the csi-test tree when it is
# here (the test prints a SKIPPED line without it).
echo "== csi-sanity"
bash scripts/build-csi-sanity.sh

echo "== cargo test"
cargo test --workspace

# Without LUSTREKIT_VM_TESTS the VM tests above skipped (no libvirtd); real Lustre still runs
# when its source tree is here.
if [[ "${LUSTREKIT_VM_TESTS:-0}" != 1 ]]; then
    if ((real_lustre)); then
        vm_prerequisites
        echo "== real-Lustre tests"
        cargo test -p lk-cli --test lustre
    else
        echo "SKIPPED: real-Lustre tests: no Lustre source tree at $lustre_src"
    fi
fi
