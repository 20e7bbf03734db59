#!/bin/bash
# Step `configure`: autogen + configure of the source copy at /work/src against the guest
# kernel's headers and the ZFS modules built for it. Extra options come from the topology.
# shellcheck source=common.sh
. /work/steps/common.sh
cd /work/src
zver=$(dpkg-query -W -f='${Version}' zfs-dkms)
zsrc=${zver%%-*}
common=$(find /usr/src -maxdepth 1 -name "linux-headers-${KVER%-*}-common" | head -n 1)
[ -n "$common" ] || common="/usr/src/linux-headers-${KVER}"
step "autogen.sh"
sh autogen.sh >/dev/null
step "configure (kernel ${KVER}, zfs ${zsrc})"
read -r -a extra <<<"${CONFIGURE_OPTIONS:-}"
./configure --with-linux="$common" --with-linux-obj="/usr/src/linux-headers-${KVER}" \
    --with-zfs="/usr/src/zfs-${zsrc}" --with-zfs-obj="/var/lib/dkms/zfs/${zsrc}/${KVER}/x86_64" \
    --disable-ldiskfs --enable-server --prefix=/usr --sysconfdir=/etc --localstatedir=/var \
    --libdir=/usr/lib --with-systemdsystemunitdir=/lib/systemd/system \
    "${extra[@]}" >/work/configure.out
grep -qE '^#define HAVE_ZFS_OSD 1|ENABLE_ZFS' config.h lustre/autoconf/lustre-core.m4 2>/dev/null || true
step "configured: $(grep -E '^LUSTRE_VERSION *=' autoMakefile 2>/dev/null | head -n1 || echo version unknown)"
