#!/bin/bash
# Step `zfs`: ZFS kernel modules for the guest kernel from Debian's zfs-dkms source, once per
# (ZFS version, kernel), packaged as zfs-modules-KVER so that nodes never compile them.
# shellcheck source=common.sh
. /work/steps/common.sh
zver=$(dpkg-query -W -f='${Version}' zfs-dkms)
zsrc=${zver%%-*}
step "dkms build zfs/${zsrc} for ${KVER}"
if ! dkms status -m zfs -v "$zsrc" -k "$KVER" 2>/dev/null | grep -qE ': (built|installed)'; then
    dkms build -m zfs -v "$zsrc" -k "$KVER" -j "${JOBS:-2}" ||
        { tail -n 40 "/var/lib/dkms/zfs/${zsrc}/build/make.log" >&2 || true; die "dkms build of zfs ${zsrc} for ${KVER} failed"; }
fi
obj="/var/lib/dkms/zfs/${zsrc}/${KVER}/x86_64"
[ -d "$obj/module" ] || die "dkms reported zfs built but ${obj}/module is missing"
step "package zfs-modules-${KVER}"
pkg=/work/zfs-pkg
rm -rf "$pkg"
mkdir -p "$pkg/DEBIAN" "$pkg/lib/modules/${KVER}/updates/zfs"
cp "$obj"/module/*.ko "$pkg/lib/modules/${KVER}/updates/zfs/"
cat >"$pkg/DEBIAN/control" <<CONTROL
Package: zfs-modules-${KVER}
Version: ${zver}
Architecture: amd64
Maintainer: lustrekit <lustrekit@localhost>
Provides: zfs-modules
Section: kernel
Priority: optional
Description: ZFS ${zsrc} kernel modules for Linux ${KVER}
 Built by lustrekit from Debian's zfs-dkms so that nodes never compile them.
CONTROL
printf '#!/bin/sh\nset -e\ndepmod -a %s || true\n' "$KVER" >"$pkg/DEBIAN/postinst"
chmod 0755 "$pkg/DEBIAN/postinst"
rm -rf /work/zfs-out && mkdir -p /work/zfs-out
dpkg-deb --root-owner-group -Zgzip --build "$pkg" "/work/zfs-out/zfs-modules-${KVER}_${zver}_amd64.deb" >/dev/null
rm -rf "$pkg"
step "zfs-modules-${KVER} ${zver}"
