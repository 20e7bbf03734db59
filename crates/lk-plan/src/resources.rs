//! Host-side resources a cluster needs, named concretely so that a provider only has to create
//! them. Every name starts with the cluster name, which is how leftovers are found.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resources {
    /// One NAT network per LNet network, in spec order.
    pub networks: Vec<NetworkResource>,
    pub pool: PoolResource,
    pub shared: SharedFolder,
    /// Root volumes in node order, then target volumes in mount order.
    pub volumes: Vec<VolumeResource>,
    /// In node order.
    pub domains: Vec<DomainResource>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkResource {
    /// libvirt network name: `<cluster>-<lnet>`.
    pub name: String,
    /// The LNet network it carries, e.g. `tcp0`.
    pub lnet: String,
    /// Host bridge device, at most 15 characters: `lk<8 hex of the network name>`.
    pub bridge: String,
    pub cidr: String,
    /// The host's address on the network (gateway, DNS, DHCP server).
    pub host_address: Ipv4Addr,
    pub netmask: Ipv4Addr,
    pub prefix: u8,
    /// Dynamic range for anything not reserved (kept small and below the node addresses).
    pub dhcp_start: Ipv4Addr,
    pub dhcp_end: Ipv4Addr,
    /// Fixed reservations: node addresses, and so NIDs, are known before boot.
    pub hosts: Vec<DhcpHost>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DhcpHost {
    pub node: String,
    pub mac: String,
    pub address: Ipv4Addr,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolResource {
    /// libvirt storage pool name: the cluster name.
    pub name: String,
    /// Directory of the pool (a `dir` pool).
    pub path: String,
}

/// The host folder shared into every guest over 9p.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedFolder {
    pub host_path: String,
    /// 9p mount tag.
    pub tag: String,
    pub guest_path: String,
    /// Sub-folders created on the host: scripts/, logs/, packages/.
    pub subdirs: Vec<String>,
    /// Host files copied in before the guests start (where Lustre comes from).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub imports: Vec<Import>,
}

/// A host file or folder copied into the shared folder by `up`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Import {
    pub from: String,
    /// Destination relative to the shared folder.
    pub to: String,
    pub kind: ImportKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportKind {
    /// The `.rpm` and `.deb` files of a folder (not recursive).
    Packages,
    /// One file.
    File,
    /// A whole tree (a source checkout).
    Tree,
    /// An apt repository made by the host build: every file of the folder (packages and
    /// the `Packages` index), copied.
    Repository,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VolumeFormat {
    Qcow2,
    Raw,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "purpose", rename_all = "lowercase")]
pub enum VolumePurpose {
    /// A node's root disk: a qcow2 overlay of the base image.
    Root { node: String },
    /// A Lustre target's disk, by label (`fs-OST0001`).
    Target { target: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeResource {
    /// Volume name in the pool: `<cluster>-<node>-root.qcow2`, `<cluster>-<fs>-ost1.img`.
    pub name: String,
    #[serde(flatten)]
    pub purpose: VolumePurpose,
    pub format: VolumeFormat,
    pub capacity_bytes: u64,
    /// Backing image for copy-on-write root volumes.
    pub backing: Option<String>,
    /// Disk serial seen in the guest as /dev/disk/by-id/virtio-<serial>.
    pub serial: String,
    /// Nodes the volume is attached to; two for a failover target (then shareable, raw, no
    /// cache).
    pub attached_to: Vec<String>,
}

impl VolumeResource {
    pub fn shareable(&self) -> bool {
        self.attached_to.len() > 1
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainResource {
    /// libvirt domain name: `<cluster>-<node>`.
    pub name: String,
    pub node: String,
    pub vcpus: u32,
    pub memory_mib: u64,
    /// In guest interface order (eth0 first).
    pub nics: Vec<Nic>,
    /// In guest device order (vda first: the root disk).
    pub disks: Vec<DiskAttachment>,
    /// Direct kernel boot, when the image comes with a kernel.
    pub kernel: Option<KernelBoot>,
    /// Serial console output file, relative to the shared folder (`logs/<node>/console.log`).
    pub console_log: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nic {
    /// libvirt network name.
    pub network: String,
    pub lnet: String,
    pub mac: String,
    pub address: Ipv4Addr,
    /// Interface name in the guest (`eth0`, ...; the image boots with net.ifnames=0).
    pub guest_interface: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskAttachment {
    /// Volume name in the pool.
    pub volume: String,
    /// Guest device (`vda`, `vdb`, ...).
    pub device: String,
    pub serial: String,
    pub shareable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelBoot {
    pub kernel: String,
    pub initrd: Option<String>,
    pub cmdline: String,
}
