//! The topology exactly as a user writes it (YAML) and as the Kubernetes CRD stores it.
//!
//! These types only describe shape: every field is optional where a default exists, sizes are
//! strings, and nothing is cross-checked. [`crate::validate`] turns a [`LustreCluster`] into a
//! [`crate::Topology`]. Unknown fields are rejected so that typos never pass silently.
//! Every default is documented on its field and gathered in `docs/topology.md`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The only `apiVersion` this release understands.
pub const API_VERSION: &str = "lustrekit.dev/v1alpha1";
/// The only `kind` this release understands.
pub const KIND: &str = "LustreCluster";

/// A whole Lustre cluster: its machines, networks, targets and where Lustre comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LustreCluster {
    /// Must be `lustrekit.dev/v1alpha1`.
    pub api_version: String,
    /// Must be `LustreCluster`.
    pub kind: String,
    pub metadata: Metadata,
    pub spec: ClusterSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Metadata {
    /// Cluster name: 1-40 of [a-z0-9-], starting with a letter. Prefixes every libvirt object
    /// (networks, pool, volumes, domains) of this cluster.
    pub name: String,
}

/// The desired cluster.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterSpec {
    /// Lustre filesystem name: 1-8 of [A-Za-z0-9_-].
    pub fsname: String,
    /// Where Lustre comes from. Default: `{source: preinstalled}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lustre: Option<LustreSpec>,
    /// Backing filesystem of the targets. Default: `zfs` (an ldiskfs MDT needs Lustre's patched
    /// e2fsprogs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<Backend>,
    /// Base image of every VM. Default: `{path: /var/lib/lustrekit/images/debian-12.qcow2}`
    /// (what `lustrekit image build` writes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageSpec>,
    /// How failover partners are written into the targets. Default: `servicenode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover_mode: Option<FailoverMode>,
    /// LNet networks; each is also a libvirt NAT network. Default: one `tcp0` network with a
    /// /24 derived from the cluster name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub networks: Vec<NetworkSpec>,
    /// Compact form ("4 OSS x 2 OSTs, 6 clients"); expands to nodes, targets and clients placed
    /// before any explicit ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<LayoutSpec>,
    /// Machines of the cluster.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<NodeSpec>,
    /// MGT, MDTs and OSTs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<TargetsSpec>,
    /// Client mounts. A node with the `client` role and no entry here mounts at
    /// `/mnt/<fsname>`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clients: Vec<ClientSpec>,
    /// LNet routes between networks through router nodes. Each route works both ways; routes
    /// through several routers (multi-hop) are derived from these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteSpec>,
    /// Services run on client nodes over their Lustre mount (`lustrekit up` deploys them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServiceSpec>,
}

/// Where the Lustre software on the nodes comes from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LustreSpec {
    /// `packages`, `tarball`, `build` or `preinstalled`.
    pub source: LustreSource,
    /// `packages`: a repository URL (http/https) the guests' package manager installs from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// `packages`: host folder of .rpm/.deb files; `tarball`: host path of the staged install
    /// tree; `build`: host path of a Lustre source tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// `build`: git URL of the Lustre source (instead of `path`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<String>,
    /// `build` with `git`: branch, tag or commit. Default: `master`.
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
    /// `build`: extra `./configure` options.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub configure_options: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LustreSource {
    Packages,
    Tarball,
    Build,
    #[default]
    Preinstalled,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Ldiskfs,
    #[default]
    Zfs,
}

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum FailoverMode {
    /// `--servicenode=N1 --servicenode=N2` on every target (both nodes equal).
    #[default]
    Servicenode,
    /// `--failnode=N2` (the primary is implied by where the target is formatted).
    Failnode,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ImageSpec {
    /// Host path of the base image (qcow2). Every root volume is a copy-on-write overlay of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Host path of a kernel for direct boot. Default: with the default image, its kernel
    /// (`/var/lib/lustrekit/images/debian-12.vmlinuz`); otherwise none (the image boots itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<String>,
    /// Host path of an initrd for direct boot (needs `kernel`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initrd: Option<String>,
    /// Kernel command line for direct boot. Default: `root=/dev/vda rw console=ttyS0
    /// net.ifnames=0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmdline: Option<String>,
    /// Size of each node's root volume. Default: `8GiB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_disk_size: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NetworkSpec {
    /// LNet network name: `tcp` or `o2ib` followed by an optional number (`tcp0`, `tcp1`).
    pub name: String,
    /// IPv4 subnet, `/16` to `/28` (e.g. `10.20.0.0/24`). The host takes the first address;
    /// nodes get fixed addresses from `.10` on.
    pub cidr: String,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Mgs,
    Mds,
    Oss,
    Client,
    Router,
    Build,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Mgs => "mgs",
            Role::Mds => "mds",
            Role::Oss => "oss",
            Role::Client => "client",
            Role::Router => "router",
            Role::Build => "build",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NodeSpec {
    /// Host name: 1-30 of [a-z0-9-], starting with a letter.
    pub name: String,
    /// One or more of mgs, mds, oss, client, router, build.
    pub roles: Vec<Role>,
    /// Virtual CPUs, 1-64. Default: 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vcpus: Option<u32>,
    /// Memory, e.g. `2GiB`, `1536MiB`. Default: 2GiB for servers (mgs/mds/oss) and build,
    /// 1GiB for clients, 512MiB for routers. At least 512MiB; servers at least 1GiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    /// LNet networks this node is on, in NIC order (eth0, eth1, ...). Default: the first
    /// network.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub networks: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TargetsSpec {
    /// The management target (exactly one per cluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mgt: Option<MgtSpec>,
    /// Metadata targets; index 0 is required.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mdts: Vec<TargetSpec>,
    /// Object storage targets; at least one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub osts: Vec<TargetSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MgtSpec {
    /// Node that formats and normally serves the MGT (needs the `mgs` role).
    pub node: String,
    /// Failover partner (needs the `mgs` role); the disk is shared by both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover: Option<String>,
    /// Per-target override of `spec.failoverMode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover_mode: Option<FailoverMode>,
    /// Disk size. Default: `256MiB`; at least 64MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TargetSpec {
    /// Target index, 0-65535, unique among targets of its kind.
    pub index: i64,
    /// Node that formats and normally serves the target (`mds` role for MDTs, `oss` for OSTs).
    pub node: String,
    /// Failover partner with the same role; the disk is shared by both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover: Option<String>,
    /// Per-target override of `spec.failoverMode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover_mode: Option<FailoverMode>,
    /// Disk size. Default: `1GiB` for MDTs, `2GiB` for OSTs; at least 256MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClientSpec {
    /// A node with the `client` role.
    pub node: String,
    /// Absolute mount point. Default: `/mnt/<fsname>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_point: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RouteSpec {
    /// One network the router is on.
    pub from: String,
    /// The other network the router is on.
    pub to: String,
    /// A node with the `router` role on both networks.
    pub gateway: String,
}

/// Compact form of a big layout; expands to explicit nodes `mds1..`, `oss1..`, `client1..`
/// (MGS on `mds1`), targets numbered from 0, all on the first network.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LayoutSpec {
    /// Number of MDS nodes, one MDT each. Default: 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mds: Option<u32>,
    /// Number of OSS nodes.
    pub oss: u32,
    /// OSTs on each OSS. Default: 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub osts_per_oss: Option<u32>,
    /// Number of client nodes. Default: 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clients: Option<u32>,
    /// Size of every MDT. Default as for MDTs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mdt_size: Option<String>,
    /// Size of every OST. Default as for OSTs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ost_size: Option<String>,
}

/// A service deployed on a client node over its Lustre mount.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServiceSpec {
    /// What it serves: `swift` (lustrekit's Swift-compatible object gateway).
    pub kind: ServiceKind,
    /// Unique service name: 1-12 of [a-z0-9-], starting with a letter. Default: the kind.
    /// Names the systemd units and the MDT changelog user (`lk-<name>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A node with the `client` role; the service runs over its mount.
    pub node: String,
    /// TCP port, 1024-65535. Default: 8080.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Directory under the node's mount that is served (accounts are its subdirectories):
    /// relative, no `..`. Default: `swift`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// How changes made through POSIX reach the object listings: `changelog` (a changelog
    /// user on every MDT, followed by `lustrekit sync`) or `none`. Default: `changelog`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<ServiceSync>,
    /// Tempauth users, `ACCOUNT:USER:KEY[:admin]`. Default: `[test:tester:testing:admin]`
    /// (Swift's all-in-one test user).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ServiceKind {
    Swift,
}

impl ServiceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceKind::Swift => "swift",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ServiceSync {
    #[default]
    Changelog,
    None,
}
