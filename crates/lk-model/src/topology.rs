//! The validated, fully explicit cluster: defaults filled in, the compact layout expanded,
//! sizes in bytes, every cross-reference checked. The planner only ever sees this.

use std::collections::BTreeSet;

use lk_lustre::target::TargetName;
use serde::Serialize;

pub use crate::net::Ipv4Cidr;
pub use crate::raw::{Backend, FailoverMode, Role, ServiceKind, ServiceSync};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Topology {
    /// Cluster name (`metadata.name`).
    pub name: String,
    pub fsname: String,
    pub lustre: LustreSource,
    pub backend: Backend,
    pub image: Image,
    pub networks: Vec<Network>,
    pub nodes: Vec<Node>,
    pub mgt: Target,
    /// Sorted by index.
    pub mdts: Vec<Target>,
    /// Sorted by index.
    pub osts: Vec<Target>,
    /// One per client-role node, in node order.
    pub clients: Vec<ClientMount>,
    pub routes: Vec<Route>,
    /// In topology order; names unique.
    pub services: Vec<Service>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "source", rename_all = "lowercase")]
pub enum LustreSource {
    Packages {
        origin: PackageOrigin,
    },
    Tarball {
        path: String,
    },
    Build {
        origin: SourceOrigin,
        configure_options: Vec<String>,
    },
    Preinstalled,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageOrigin {
    Repository(String),
    Folder(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceOrigin {
    Path(String),
    Git { url: String, git_ref: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Image {
    pub path: String,
    pub kernel: Option<String>,
    pub initrd: Option<String>,
    pub cmdline: String,
    pub root_disk_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Network {
    /// LNet name, e.g. `tcp0`.
    pub name: String,
    pub cidr: Ipv4Cidr,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Node {
    pub name: String,
    pub roles: BTreeSet<Role>,
    pub vcpus: u32,
    pub memory_bytes: u64,
    /// In NIC order.
    pub networks: Vec<String>,
}

impl Node {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// True for nodes that serve targets (and so need the backend's modules).
    pub fn is_server(&self) -> bool {
        self.has(Role::Mgs) || self.has(Role::Mds) || self.has(Role::Oss)
    }
}

/// Target kinds are Lustre knowledge: one enum, in lk-lustre, under the model's name.
pub use lk_lustre::target::Kind as TargetKind;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    pub kind: TargetKind,
    /// 0 for the MGT.
    pub index: u16,
    pub node: String,
    pub failover: Option<String>,
    pub failover_mode: FailoverMode,
    pub size_bytes: u64,
}

impl Target {
    /// The nodes that can serve this target, primary first.
    pub fn service_nodes(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.node.as_str()).chain(self.failover.as_deref())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClientMount {
    pub node: String,
    pub mount_point: String,
}

/// A service on a client node, over its mount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Service {
    pub name: String,
    pub kind: ServiceKind,
    /// A client node.
    pub node: String,
    pub port: u16,
    /// The served directory: the node's mount point joined with the relative `path`.
    pub root: String,
    /// The node's mount point.
    pub mount_point: String,
    pub sync: ServiceSync,
    /// `ACCOUNT:USER:KEY[:admin]`, as the gateway's `--user`.
    pub users: Vec<String>,
}

impl Service {
    /// The changelog user registered on each MDT for this service (Lustre allows 15
    /// characters: the name has at most 12).
    pub fn changelog_user(&self) -> String {
        format!("lk-{}", self.name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Route {
    pub from: String,
    pub to: String,
    pub gateway: String,
}

impl Topology {
    /// The Lustre names of `target` in this filesystem (label, facet, device, pool, ...).
    pub fn target_name(&self, target: &Target) -> TargetName {
        TargetName::new(&self.fsname, target.kind, target.index)
    }

    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }

    pub fn network(&self, name: &str) -> Option<&Network> {
        self.networks.iter().find(|n| n.name == name)
    }

    /// MGT, then MDTs, then OSTs: the order targets are mounted in.
    pub fn targets(&self) -> impl Iterator<Item = &Target> {
        std::iter::once(&self.mgt)
            .chain(&self.mdts)
            .chain(&self.osts)
    }
}
