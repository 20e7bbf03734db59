//! Every default of the model, in one place (mirrored in `docs/topology.md`).

/// Base image written by `lustrekit image build`.
pub const IMAGE_PATH: &str = "/var/lib/lustrekit/images/debian-12.qcow2";
/// Kernel and initrd that `lustrekit image build` writes beside the default image; used for
/// direct kernel boot when the image path is left at its default.
pub const IMAGE_KERNEL: &str = "/var/lib/lustrekit/images/debian-12.vmlinuz";
pub const IMAGE_INITRD: &str = "/var/lib/lustrekit/images/debian-12.initrd";
/// Kernel command line for direct kernel boot; `net.ifnames=0` keeps NICs named eth0, eth1...
pub const KERNEL_CMDLINE: &str = "root=/dev/vda rw console=ttyS0 net.ifnames=0";
pub const ROOT_DISK: u64 = 8 << 30;
pub const MIN_ROOT_DISK: u64 = 2 << 30;

pub const VCPUS: u32 = 1;
pub const MAX_VCPUS: u32 = 64;
/// Servers (mgs/mds/oss) and the build VM: a server with MDT+OST used ~600 MiB under ZFS.
pub const SERVER_MEMORY: u64 = 2 << 30;
pub const CLIENT_MEMORY: u64 = 1 << 30;
pub const ROUTER_MEMORY: u64 = 512 << 20;
pub const MIN_MEMORY: u64 = 512 << 20;
pub const MIN_SERVER_MEMORY: u64 = 1 << 30;

pub const MGT_SIZE: u64 = 256 << 20;
pub const MDT_SIZE: u64 = 1 << 30;
pub const OST_SIZE: u64 = 2 << 30;
/// Smallest MGT that mkfs.lustre formats with room to spare on either backend.
pub const MIN_MGT_SIZE: u64 = 64 << 20;
/// Smallest MDT/OST: below this ldiskfs journals and ZFS metaslabs leave no usable space.
pub const MIN_TARGET_SIZE: u64 = 256 << 20;

pub const GIT_REF: &str = "master";
pub const NETWORK_NAME: &str = "tcp0";

/// Caps on the compact layout, so a typo cannot expand to millions of VMs.
pub const MAX_LAYOUT_MDS: u32 = 16;
pub const MAX_LAYOUT_OSS: u32 = 64;
pub const MAX_LAYOUT_OSTS_PER_OSS: u32 = 32;
pub const MAX_LAYOUT_CLIENTS: u32 = 64;
/// Most nodes one cluster may have.
pub const MAX_NODES: usize = 128;

/// Services: port, served directory under the mount, tempauth user (Swift's all-in-one one).
pub const SERVICE_PORT: u16 = 8080;
pub const SERVICE_PATH: &str = "swift";
pub const SERVICE_USER: &str = "test:tester:testing:admin";

/// Client mount point when none is given.
pub fn mount_point(fsname: &str) -> String {
    format!("/mnt/{fsname}")
}

/// A /24 in 10.100.0.0-10.199.255.0 chosen from the cluster name, so two clusters with default
/// networks rarely collide (FNV-1a: stable across releases and platforms).
pub fn network_cidr(cluster: &str) -> String {
    let h = fnv1a(cluster.as_bytes());
    format!("10.{}.{}.0/24", 100 + (h % 100), (h >> 8) % 256)
}

/// FNV-1a: stable across releases and platforms (unlike std's hasher), so names and addresses
/// derived from it never change under a running cluster.
pub fn fnv1a(bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in bytes {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}
