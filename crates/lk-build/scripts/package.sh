#!/bin/bash
# Step `package`: make install into a staging root, then split it into Debian packages:
#   lustre-modules-KVER   every kernel module (client, server, osd-zfs)
#   lustre-utils          commands, libraries, mount helpers, udev rules, systemd units
#   lustre-osd-zfs-mount  the ZFS plugin of mkfs.lustre/mount.lustre (servers only)
#   lustre-tests          the test framework and suites (with lustre-iokit's surveys)
# shellcheck source=common.sh
. /work/steps/common.sh
cd /work/src
stage=/work/stage
rm -rf "$stage" /work/pkgs /work/out
mkdir -p /work/out
step "make install DESTDIR=${stage}"
make install DESTDIR="$stage" >/work/install.out 2>&1 || { tail -n 40 /work/install.out >&2; die "make install failed"; }
version=$(sed -ne 's/^LUSTRE_VERSION = //p' LUSTRE-VERSION-FILE 2>/dev/null | tr '_' '-')
[ -n "$version" ] || version=$(./LUSTRE-VERSION-GEN | tr '_' '-')
debver="${version}-1"
# Lustre's make install leaves out the helper that `mount -t lustre_tgt` runs.
if [ -e "$stage/sbin/mount.lustre" ] && [ ! -e "$stage/sbin/mount.lustre_tgt" ]; then
    ln -s mount.lustre "$stage/sbin/mount.lustre_tgt"
elif [ -e "$stage/usr/sbin/mount.lustre" ] && [ ! -e "$stage/usr/sbin/mount.lustre_tgt" ]; then
    ln -s mount.lustre "$stage/usr/sbin/mount.lustre_tgt"
fi
# Debian's apt refuses to install over usrmerge'd /sbin and /lib without care: keep paths as
# Lustre installs them (dpkg follows the /lib -> usr/lib links of bookworm).

pkgroot() { rm -rf "/work/pkgs/$1"; mkdir -p "/work/pkgs/$1/DEBIAN"; echo "/work/pkgs/$1"; }
# move GLOB... from the stage into package root $1
take() {
    local root=$1 p
    shift
    for p in "$@"; do
        # -prune: a matching directory moves whole, its entries are not visited.
        (cd "$stage" && find . -path "./$p" -print0 -prune 2>/dev/null) | while IFS= read -r -d '' f; do
            mkdir -p "$root/$(dirname "$f")"
            mv "$stage/$f" "$root/$f"
        done
    done
}
# Debian package names of the shared libraries the ELF files under $1 need, outside $1.
lib_depends() {
    local root=$1 lib path pkg
    find "$root" -type f \( -perm -u+x -o -name '*.so*' \) -print0 |
        # Scripts are not ELF: objdump fails on them, which is fine.
        while IFS= read -r -d '' f; do { objdump -p "$f" 2>/dev/null || true; } | awk '/NEEDED/ {print $2}'; done |
        sort -u | while read -r lib; do
            [ -n "$(find "$root" "$stage" /work/pkgs -name "$lib" -print -quit)" ] && continue
            path=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64/ {print $NF; exit}')
            if [ -z "$path" ]; then
                echo "warning: $lib (needed under $root) is not a known library" >&2
                continue
            fi
            pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null || dpkg -S "$path" 2>/dev/null || true)
            pkg=${pkg%%:*}
            if [ -n "$pkg" ]; then echo "$pkg"; else echo "warning: no package owns $path" >&2; fi
        done | sort -u | paste -sd, - | sed 's/,/, /g'
}
control() { # root package depends description
    cat >"$1/DEBIAN/control" <<CONTROL
Package: $2
Version: ${debver}
Architecture: amd64
Maintainer: lustrekit <lustrekit@localhost>
Section: admin
Priority: optional
Depends: $3
Description: $4
 Built by lustrekit from the Lustre source at revision ${REVISION:-unknown}.
CONTROL
}
build_deb() { dpkg-deb --root-owner-group -Zgzip --build "/work/pkgs/$1" "/work/out/$1_${debver}_amd64.deb" >/dev/null; }

step "lustre-modules-${KVER}"
mods=$(pkgroot "lustre-modules-${KVER}")
take "$mods" "lib/modules/*" "usr/lib/modules/*"
[ -n "$(find "$mods" -name lustre.ko -print -quit)" ] || die "make install produced no lustre.ko"
[ -n "$(find "$mods" -name osd_zfs.ko -print -quit)" ] || die "make install produced no osd_zfs.ko (was ZFS found by configure?)"
# Debug info is most of the modules' size (242 MB of them unpacked become 28 MB): no node
# needs it, and every node installs the package.
find "$mods" -name '*.ko' -exec strip --strip-debug {} +
control "$mods" "lustre-modules-${KVER}" "kmod" "Lustre ${version} kernel modules for Linux ${KVER}"
printf '#!/bin/sh\nset -e\ndepmod -a %s || true\n' "$KVER" >"$mods/DEBIAN/postinst"
chmod 0755 "$mods/DEBIAN/postinst"
build_deb "lustre-modules-${KVER}"

step "lustre-osd-zfs-mount"
osd=$(pkgroot lustre-osd-zfs-mount)
take "$osd" "usr/lib/lustre/mount_osd_zfs.so" "usr/lib*/lustre/mount_osd_zfs.so"
deps=$(lib_depends "$osd")
control "$osd" lustre-osd-zfs-mount "lustre-utils (= ${debver}), zfsutils-linux, zfs-modules-${KVER}${deps:+, $deps}" "Lustre ZFS OSD plugin for mkfs.lustre and mount.lustre"
build_deb lustre-osd-zfs-mount

step "lustre-tests"
tests=$(pkgroot lustre-tests)
take "$tests" "usr/lib/lustre/tests" "usr/lib64/lustre/tests" "usr/bin/*-survey" "usr/bin/iokit-*" \
    "usr/bin/ost-survey" "usr/bin/plot-*" "usr/bin/config.sh" "usr/bin/gather_stats_everywhere" \
    "usr/bin/libecho" "usr/bin/lstats.sh" "usr/share/doc/lustre-iokit"
deps=$(lib_depends "$tests")
control "$tests" lustre-tests "lustre-utils (= ${debver}), bash, perl, bc, attr, acl, rsync, pdsh, openssh-client, openssh-server, dbench, iozone3 | bash${deps:+, $deps}" "Lustre ${version} test framework, suites and iokit surveys"
sed -i 's/, dbench, iozone3 | bash//' "$tests/DEBIAN/control"
build_deb lustre-tests

step "lustre-utils"
utils=$(pkgroot lustre-utils)
mv "$stage"/* "$utils"/
deps=$(lib_depends "$utils")
control "$utils" lustre-utils "lustre-modules-${KVER} (= ${debver}), kmod${deps:+, $deps}" "Lustre ${version} commands, libraries and mount helpers"
build_deb lustre-utils
ls -1 /work/out
step "packaged Lustre ${version}"
