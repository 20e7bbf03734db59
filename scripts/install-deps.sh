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
    qemu-system-x86 debootstrap e2fsprogs python3-swiftclient xattr attr dnsmasq-base libsqlite3-dev; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done

if ((${#need[@]})); then
    apt-get update -qq
    qv=$(bookworm_qemu_utils)
    apt-get install -y -qq --allow-downgrades --no-install-recommends \
        "${need[@]}" "qemu-utils=${qv}" >/dev/null
fi
