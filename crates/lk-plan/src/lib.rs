//! The planner: a validated [`Topology`] to a [`Plan`], pure data with no I/O.
//!
//! A plan has two halves:
//! - [`resources`]: what the provider creates on the host (networks with fixed DHCP
//!   reservations, the storage pool, volumes, the shared folder, domains);
//! - guest work: [`Phase`]s in execution order, each running one generated script per node
//!   (kept in [`Plan::files`], written to the shared folder), plus the teardown phases.
//!
//! Layout: [`addressing`] (addresses, MACs, NIDs, routes), [`build`] (resources),
//! [`phase`] (typed stages and phases), [`scripts`] (per-node guest scripts), [`placement`] (where a Lustre build runs), [`local_sh`] (Lustre test-framework config),
//! [`render`] (text and JSON output). The same input always gives byte-identical output.

pub mod addressing;
pub mod benchenv;
pub mod build;
pub mod local_sh;
pub mod phase;
pub mod placement;
pub mod render;
pub mod resources;
pub mod scripts;
pub mod testenv;

use std::collections::BTreeMap;

use lk_model::topology::{LustreSource, Role};
use lk_model::Topology;
use serde::{Deserialize, Serialize};

pub use phase::{Phase, PhaseName, Stage};
pub use placement::{BuildOn, BuildPlace, BuildPlacement, Kvm};
pub use resources::Resources;

/// Host locations the plan refers to. Defaults suit a root user with qemu:///system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanOptions {
    /// Where per-cluster pools and shared folders live.
    pub state_dir: String,
    /// Where a `source: build` topology compiles Lustre (`--build-on`).
    pub build_on: BuildOn,
    /// What the accelerator probe found (decides `BuildOn::Auto`).
    pub kvm: Kvm,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            state_dir: "/var/lib/lustrekit".into(),
            build_on: BuildOn::Auto,
            kvm: Kvm::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub cluster: String,
    pub fsname: String,
    pub backend: String,
    /// One line saying where Lustre comes from.
    pub lustre: String,
    /// For `source: build`: where it compiles and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<BuildPlacement>,
    pub resources: Resources,
    /// Per node, in node order: identity and the steps it takes, in execution order.
    pub nodes: Vec<NodePlan>,
    /// Guest phases of `up`, in order.
    pub phases: Vec<Phase>,
    /// Guest phases of `down`, in order (before the resources are destroyed).
    pub teardown: Vec<Phase>,
    /// Targets that can move between two nodes (`lustrekit failover`); each has the scripts
    /// `release-<facet>` and `takeover-<facet>` on both nodes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failover: Vec<FailoverTarget>,
    /// Services on client nodes (`spec.services`), with the endpoints they answer on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServicePlan>,
    /// Files for the shared folder, by path relative to it (scripts, cfg/local.sh).
    pub files: BTreeMap<String, String>,
}

/// A service of the topology, where it runs and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServicePlan {
    pub name: String,
    /// `swift`.
    pub kind: String,
    pub node: String,
    /// `http://ADDRESS:PORT` on the node's first network (reachable from the host).
    pub endpoint: String,
    /// The tempauth URL clients authenticate at (`ENDPOINT/auth/v1.0`).
    pub auth_url: String,
    /// The served directory in the node's Lustre mount.
    pub root: String,
    /// `changelog` or `none`.
    pub sync: String,
    /// The changelog user registered on every MDT (with `sync: changelog`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changelog_user: Option<String>,
    /// systemd units on the node.
    pub units: Vec<String>,
    /// Tempauth users as `ACCOUNT:USER` (their keys stay in the topology).
    pub users: Vec<String>,
}

/// A target with a failover partner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailoverTarget {
    /// `fs-OST0001`.
    pub label: String,
    /// `ost2`: names its scripts.
    pub facet: String,
    pub primary: String,
    pub partner: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodePlan {
    pub node: String,
    pub domain: String,
    pub roles: Vec<String>,
    /// One per network, in NIC order.
    pub nids: Vec<String>,
    /// Where a client node mounts the filesystem (`None` on servers and routers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount: Option<String>,
    pub steps: Vec<NodeStep>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStep {
    pub phase: PhaseName,
    pub stage: Stage,
    /// Relative to the shared folder.
    pub script: String,
    /// The essential commands, for people to read; the script adds the checks around them.
    pub commands: Vec<String>,
}

/// Plans a validated topology.
pub fn plan(topology: &Topology, options: &PlanOptions) -> Plan {
    let placement = matches!(topology.lustre, LustreSource::Build { .. }).then(|| {
        let build_node = topology
            .nodes
            .iter()
            .find(|n| n.has(Role::Build))
            .map(|n| n.name.as_str());
        placement::decide(options.build_on, &options.kvm, build_node)
    });
    let host_build = placement
        .as_ref()
        .is_some_and(|p| p.place == BuildPlace::Host);
    // Building on the host: nodes that would only have compiled are not created.
    let owned;
    let topology = if host_build {
        let mut t = topology.clone();
        t.nodes
            .retain(|n| n.roles.iter().any(|r| *r != Role::Build));
        owned = t;
        &owned
    } else {
        topology
    };
    let addressing = addressing::Addressing::new(topology);
    let resources = build::resources(topology, options, &addressing, host_build);
    let generated = scripts::generate(topology, &addressing, host_build);
    let mut files = generated.files;
    files.insert("cfg/local.sh".into(), local_sh::render(topology));
    Plan {
        cluster: topology.name.clone(),
        fsname: topology.fsname.clone(),
        backend: match topology.backend {
            lk_model::topology::Backend::Ldiskfs => "ldiskfs".into(),
            lk_model::topology::Backend::Zfs => "zfs".into(),
        },
        lustre: scripts::describe_source(&topology.lustre, host_build),
        build: placement,
        resources,
        nodes: generated.nodes,
        phases: generated.phases,
        teardown: generated.teardown,
        failover: generated.failover,
        services: service_plans(topology, &addressing),
        files,
    }
}

fn service_plans(t: &Topology, a: &addressing::Addressing) -> Vec<ServicePlan> {
    use lk_model::topology::ServiceSync;
    t.services
        .iter()
        .map(|s| {
            // A client node is on at least one network (validation gives it the first).
            let address = t
                .node(&s.node)
                .and_then(|n| n.networks.first())
                .and_then(|net| a.address(&s.node, net))
                .map_or_else(|| s.node.clone(), |ip| ip.to_string());
            let endpoint = format!("http://{address}:{}", s.port);
            let changelog = s.sync == ServiceSync::Changelog;
            let mut units = scripts::services::unit_names(&s.name).to_vec();
            if !changelog {
                units.truncate(1);
            }
            ServicePlan {
                name: s.name.clone(),
                kind: s.kind.as_str().into(),
                node: s.node.clone(),
                auth_url: format!("{endpoint}/auth/v1.0"),
                endpoint,
                root: s.root.clone(),
                sync: if changelog { "changelog" } else { "none" }.into(),
                changelog_user: changelog.then(|| s.changelog_user()),
                units,
                users: s
                    .users
                    .iter()
                    .map(|u| u.splitn(3, ':').take(2).collect::<Vec<_>>().join(":"))
                    .collect(),
            }
        })
        .collect()
}
