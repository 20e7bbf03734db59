#!/bin/bash
# Step `root`: the build root's packages: compilers, Lustre's build dependencies, the headers of
# the guest's kernel and Debian's ZFS source (zfs-dkms). Idempotent: apt skips what is there.
# shellcheck source=common.sh
. /work/steps/common.sh
step "apt sources: ${SUITE:?} main contrib (+ updates, security)"
cat >/etc/apt/sources.list <<SOURCES
deb ${MIRROR:?} ${SUITE} main contrib
deb ${MIRROR} ${SUITE}-updates main contrib
deb ${SECURITY_MIRROR:?} ${SUITE}-security main contrib
SOURCES



apt-get update -qq
step "kernel headers for ${KVER}"
if ! apt-cache show "linux-headers-${KVER}" >/dev/null 2>&1; then
    die "no package linux-headers-${KVER} in ${MIRROR} ${SUITE}: the image's kernel has no headers to build against (rebuild the image with 'lustrekit image build --force' to move it to a current kernel)"
fi
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends \
    build-essential dkms "linux-headers-${KVER}" zfs-dkms libzfslinux-dev \
    autoconf automake libtool pkg-config bison flex python3 \
    libyaml-dev libnl-genl-3-dev libselinux-dev libssl-dev libkeyutils-dev \
    libreadline-dev libmount-dev libpython3-dev swig ed rsync bzip2 quilt \
    dpkg-dev fakeroot git ${EXTRA_PACKAGES:-} >/dev/null
dpkg-query -W -f='${Version}\n' zfs-dkms >/work/zfs-version
step "build root ready: zfs-dkms $(cat /work/zfs-version), headers ${KVER}"
