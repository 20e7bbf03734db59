#!/usr/bin/env bash
# Installs what lustrekit's build, tests and quickstart need on a fresh Debian 12 machine.
# Idempotent: already-installed packages are skipped by apt. Run as root.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

bookworm_qemu_utils() {
    # The machine image ships a newer qemu-utils than bookworm's qemu-system-x86 accepts;
    # pin qemu-utils to the version that matches qemu-system-x86 (same source package).
    apt-cache policy qemu-system-x86 | awk '/Candidate:/ {print $2}'
}

need=()
for pkg in shellcheck pkg-config libvirt-dev libvirt-daemon-system libvirt-clients \
    qemu-system-x86 debootstrap e2fsprogs python3-swiftclient xattr attr dnsmasq-base libsqlite3-dev \
    openssh-client; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done

if ((${#need[@]})); then
    apt-get update -qq
    qv=$(bookworm_qemu_utils)
    apt-get install -y -qq --allow-downgrades --no-install-recommends \
        "${need[@]}" "qemu-utils=${qv}" >/dev/null
fi

# Operator tests: a real kube-apiserver built from Debian's `kubernetes` source package with
# golang-1.19 (scripts/build-kube-apiserver.sh adds the deb-src line it needs), etcd, and the
# Helm-chart renderer built from Debian's Go packages (scripts/helm-template.sh).
kube_need=()
for pkg in etcd-server golang-1.19-go golang-github-modern-go-reflect2-dev \
    golang-github-masterminds-sprig-dev golang-gopkg-yaml.v3-dev dpkg-dev make rsync openssl curl; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || kube_need+=("$pkg")
done
if ((${#kube_need[@]})); then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${kube_need[@]}" >/dev/null
fi

# The CSI driver (crates/lk-csi) needs no system packages: its CSI v1 bindings come
# pre-generated from the bpfman-csi crate (no protoc, no csi.proto). csi-sanity is built by
# scripts/build-csi-sanity.sh with golang-1.19 (above) from a csi-test source tree with its
# vendor/ folder.
