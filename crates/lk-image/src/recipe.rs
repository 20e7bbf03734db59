//! The image recipe: packages, files written into the root filesystem and commands run in it.
//! Pure data; its hash decides whether a cached image is still current.

use sha2::{Digest, Sha256};

/// Bump when the build procedure changes in a way the recipe data does not show.
const RECIPE_VERSION: u32 = 1;

/// 9p mount tag and guest mount point of the shared folder (must match lk-plan).
pub const SHARED_TAG: &str = "lustrekit";
pub const SHARED_MOUNT: &str = "/mnt/lustrekit";

/// Packages added to debootstrap's `minbase` variant: an init, udev, the kernel, the guest
/// agent, and the few tools the guest steps use. No recommends, no docs.
pub const PACKAGES: &[&str] = &[
    "systemd-sysv",
    "udev",
    "dbus",
    "kmod",
    "iproute2",
    "procps",
    "e2fsprogs",
    "qemu-guest-agent",
    "linux-image-amd64",
];

/// Kernel module trees removed from the image: hardware a libvirt guest never has. Keeps the
/// image a few hundred MiB smaller; `depmod` runs afterwards.
pub const PRUNED_MODULE_DIRS: &[&str] = &[
    "kernel/drivers/gpu",
    "kernel/drivers/media",
    "kernel/drivers/net/wireless",
    "kernel/drivers/net/ethernet",
    "kernel/drivers/bluetooth",
    "kernel/drivers/staging",
    "kernel/drivers/iio",
    "kernel/drivers/hid",
    "kernel/drivers/usb",
    "kernel/drivers/input/touchscreen",
    "kernel/drivers/infiniband/hw",
    "kernel/drivers/isdn",
    "kernel/drivers/scsi/qla2xxx",
    "kernel/drivers/scsi/lpfc",
    "kernel/drivers/scsi/mpt3sas",
    "kernel/drivers/scsi/megaraid",
    "kernel/sound",
    "kernel/net/wireless",
    "kernel/net/mac80211",
    "kernel/net/bluetooth",
];

/// Paths (inside the root) deleted at the end: documentation, caches, logs, and anything that
/// would make clones share an identity.
pub const REMOVED_PATHS: &[&str] = &[
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
    "usr/share/lintian",
    "var/cache/apt",
    "var/lib/apt/lists",
    "var/cache/debconf/templates.dat-old",
    "var/cache/debconf/config.dat-old",
    "var/log/dpkg.log",
    "var/log/apt",
    "var/log/bootstrap.log",
    "var/lib/dbus/machine-id",
    "etc/hostid",
    "etc/hostname",
    "etc/ssh/ssh_host_rsa_key",
];

/// A file written into the root filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootFile {
    /// Path inside the root, without the leading `/`.
    pub path: &'static str,
    pub contents: String,
    pub mode: u32,
}

/// Everything that determines the image's contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipe {
    pub suite: String,
    pub mirror: String,
    pub packages: Vec<String>,
    /// Size of the ext4 root filesystem; the guest grows it to fill a bigger disk at boot.
    pub fs_bytes: u64,
    pub files: Vec<RootFile>,
    /// Commands run with `chroot ROOT ...` after the files are written.
    pub chroot_commands: Vec<Vec<String>>,
    /// Lustre installed from a built repository (`lustrekit image build --lustre`).
    pub lustre: Option<LustreInstall>,
}

/// Lustre packages baked into the image, so clusters with `source: preinstalled` skip the
/// install stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LustreInstall {
    /// A repository made by `lustrekit build` (packages + `Packages` index).
    pub repo: std::path::PathBuf,
    /// Its cache key: a different build is a different image.
    pub key: String,
}

/// Packages installed from the repository; `KVER` is the image's kernel. Servers and clients
/// alike: the image serves every role.
pub const LUSTRE_PACKAGES: &[&str] = &[
    "lustre-utils",
    "lustre-modules-KVER",
    "lustre-osd-zfs-mount",
    "zfs-modules-KVER",
    "zfsutils-linux",
    "lustre-tests",
];

/// Debian packages the image with Lustre adds from the mirror: what `lustrekit test` and
/// `lustrekit bench` run besides Lustre's own tools (fio on the clients; gawk, without which
/// obdfilter-survey reports every row SHORT; lsof, which the framework's client stop calls,
/// and python3-yaml, with which sanity-lnet compares LNet configurations: the lustre-tests
/// package these builds make depends on neither; qemu-utils, whose qemu-img and qemu-nbd
/// `lustrekit volume --cluster` runs on a client node to keep volumes on Lustre and serve them
/// to the hypervisor. ssh, pdsh and the framework's other helpers come with lustre-tests from
/// the build's repository).
pub const LUSTRE_IMAGE_TOOLS: &[&str] = &["fio", "gawk", "lsof", "python3-yaml", "qemu-utils"];

impl Recipe {
    pub fn new(suite: &str, mirror: &str, extra_packages: &[String], fs_bytes: u64) -> Recipe {
        let mut packages: Vec<String> = PACKAGES.iter().map(|s| s.to_string()).collect();
        for p in extra_packages {
            if !packages.contains(p) {
                packages.push(p.clone());
            }
        }
        Recipe {
            suite: suite.to_string(),
            mirror: mirror.trim_end_matches('/').to_string(),
            packages,
            fs_bytes,
            files: root_files(suite, mirror.trim_end_matches('/')),
            chroot_commands: chroot_commands(),
            lustre: None,
        }
    }

    /// Hex SHA-256 over everything that shapes the image. The mirror is left out: any mirror
    /// serves the same packages.
    pub fn hash(&self) -> String {
        let mut h = Sha256::new();
        h.update(format!("lustrekit-image v{RECIPE_VERSION}\n"));
        h.update(format!("suite {}\n", self.suite));
        h.update(format!("packages {}\n", self.packages.join(",")));
        h.update(format!("fs_bytes {}\n", self.fs_bytes));
        // sources.list only names the mirror.
        for f in self
            .files
            .iter()
            .filter(|f| f.path != "etc/apt/sources.list")
        {
            h.update(format!(
                "file {} {:o} {}\n",
                f.path,
                f.mode,
                f.contents.len()
            ));
            h.update(&f.contents);
        }
        for c in &self.chroot_commands {
            h.update(format!("run {}\n", c.join(" ")));
        }
        for p in PRUNED_MODULE_DIRS.iter().chain(REMOVED_PATHS) {
            h.update(format!("rm {p}\n"));
        }
        if let Some(l) = &self.lustre {
            h.update(format!("lustre {} {}\n", l.key, LUSTRE_PACKAGES.join(",")));
        }
        let digest = h.finalize();
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

fn file(path: &'static str, contents: &str) -> RootFile {
    RootFile {
        path,
        contents: contents.to_string(),
        mode: 0o644,
    }
}

fn root_files(suite: &str, mirror: &str) -> Vec<RootFile> {
    vec![
        file(
            "etc/fstab",
            &format!(
                "# Written by lustrekit image build.\n\
                 # Root is the whole virtio disk (direct kernel boot, no partition table); systemd\n\
                 # grows it to the size of the node's root volume at boot.\n\
                 /dev/vda / ext4 rw,errors=remount-ro,x-systemd.growfs 0 1\n\
                 # The cluster's shared folder (9p tag '{SHARED_TAG}'); nofail: a VM without it still boots.\n\
                 {SHARED_TAG} {SHARED_MOUNT} 9p trans=virtio,version=9p2000.L,msize=262144,nofail,x-systemd.requires=systemd-modules-load.service,x-systemd.device-timeout=10s 0 0\n"
            ),
        ),
        file("etc/modules-load.d/lustrekit.conf", "9p\n9pnet_virtio\n"),
        file(
            "etc/systemd/network/10-lustrekit.network",
            "# DHCP on every NIC; libvirt's dnsmasq hands out fixed addresses by MAC.\n\
             [Match]\n\
             Name=eth* en*\n\n\
             [Network]\n\
             DHCP=ipv4\n\
             LinkLocalAddressing=no\n\
             IPv6AcceptRA=no\n\n\
             [DHCPv4]\n\
             # Identify by MAC, not by machine-id derived DUID, so reservations always match.\n\
             ClientIdentifier=mac\n\
             UseHostname=yes\n\
             # Only the first NIC's network routes to the outside.\n\
             RouteMetric=1024\n",
        ),
        // Direct kernel boot needs the root disk driver in the initrd; a short list keeps the
        // initrd small, which matters when TCG decompresses it.
        file("etc/initramfs-tools/conf.d/lustrekit", "MODULES=list\nCOMPRESS=gzip\n"),
        file(
            "etc/initramfs-tools/modules",
            "virtio_pci\nvirtio_blk\nvirtio_net\nvirtio_console\next4\ncrc32c_generic\n",
        ),
        file(
            "etc/dpkg/dpkg.cfg.d/01-lustrekit-nodoc",
            "path-exclude /usr/share/doc/*\n\
             path-include /usr/share/doc/*/copyright\n\
             path-exclude /usr/share/man/*\n\
             path-exclude /usr/share/info/*\n\
             path-exclude /usr/share/locale/*\n\
             path-include /usr/share/locale/locale.alias\n",
        ),
        file(
            "etc/apt/apt.conf.d/01-lustrekit",
            "APT::Install-Recommends \"false\";\nAPT::Install-Suggests \"false\";\n",
        ),
        file("etc/apt/sources.list", &format!("deb {mirror} {suite} main\n")),
        // Empty: systemd generates a fresh id at first boot, so every clone differs (and so
        // do their DHCP identities). No /etc/hostid either: ZFS users run zgenhostid.
        file("etc/machine-id", ""),
        file("etc/hosts", "127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n"),
        file("etc/resolv.conf", ""),
        file(
            "etc/lustrekit-image",
            &format!("# lustrekit guest base image\nsuite={suite}\n"),
        ),
    ]
}

fn chroot_commands() -> Vec<Vec<String>> {
    let c = |args: &[&str]| args.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    vec![
        c(&["systemctl", "enable", "systemd-networkd.service"]),
        // Nothing in the guest waits for the network; the engine waits for the DHCP lease.
        c(&[
            "systemctl",
            "disable",
            "systemd-networkd-wait-online.service",
        ]),
        c(&[
            "systemctl",
            "mask",
            "apt-daily.timer",
            "apt-daily-upgrade.timer",
            "e2scrub_all.timer",
        ]),
        // Lab VM: root logs in on the serial console without a password (the console is only
        // reachable from the host).
        c(&["passwd", "-d", "root"]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_stable_and_ignores_mirror() {
        let a = Recipe::new("bookworm", "http://deb.debian.org/debian", &[], 2 << 30);
        let b = Recipe::new("bookworm", "http://mirror.example/debian/", &[], 2 << 30);
        assert_eq!(a.hash(), b.hash());
        assert_eq!(a.hash().len(), 64);
    }

    #[test]
    fn hash_changes_with_packages_and_size() {
        let a = Recipe::new("bookworm", "http://m/debian", &[], 2 << 30);
        let b = Recipe::new(
            "bookworm",
            "http://m/debian",
            &["zfsutils-linux".into()],
            2 << 30,
        );
        let c = Recipe::new("bookworm", "http://m/debian", &[], 3 << 30);
        assert_ne!(a.hash(), b.hash());
        assert_ne!(a.hash(), c.hash());
    }

    #[test]
    fn duplicate_extra_packages_are_ignored() {
        let r = Recipe::new("bookworm", "http://m/debian", &["kmod".into()], 2 << 30);
        assert_eq!(r.packages.len(), PACKAGES.len());
    }

    #[test]
    fn fstab_mounts_shared_folder_with_nofail() {
        let r = Recipe::new("bookworm", "http://m/debian", &[], 2 << 30);
        let fstab = r
            .files
            .iter()
            .find(|f| f.path == "etc/fstab")
            .map(|f| f.contents.clone());
        let fstab = fstab.expect("the recipe writes etc/fstab");
        let line = fstab
            .lines()
            .find(|l| l.starts_with("lustrekit "))
            .expect("fstab has the lustrekit line");
        assert!(line.contains(" /mnt/lustrekit 9p "), "{line}");
        assert!(line.contains("trans=virtio"), "{line}");
        assert!(line.contains("nofail"), "{line}");
    }

    #[test]
    fn machine_id_is_empty() {
        let r = Recipe::new("bookworm", "http://m/debian", &[], 2 << 30);
        let id = r.files.iter().find(|f| f.path == "etc/machine-id");
        assert_eq!(id.map(|f| f.contents.as_str()), Some(""));
        assert!(REMOVED_PATHS.contains(&"etc/hostid"));
    }
}
