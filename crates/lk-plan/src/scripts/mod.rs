//! Per-node guest scripts and the cluster-wide order they run in.
//!
//! Order (from Lustre's test framework and public lab setups): install (build first when
//! building) -> LNet (routes, forwarding on routers) -> LNet ping check -> format -> mount MGS ->
//! MDTs -> OSTs -> wait until every MDT is connected to every OST -> mount clients -> verify.
//! Teardown: clients, MDTs, OSTs, MGS, then modules. Every script is idempotent: it checks what
//! is already done before acting, so a re-run converges.

//!
//! Layout: this module decides the phases and which nodes run them; each phase's script body
//! comes from the module of its concern: [`install`] (build, install), [`lnet`], [`targets`]
//! (format, mount), [`verify`], [`teardown`] (unmount, unload, failover moves); [`script`] is
//! the script text itself.

mod install;
mod lnet;
mod script;
pub mod services;
mod targets;
mod teardown;
mod verify;

use std::collections::BTreeMap;

use lk_lustre::cmd::Backing;
use lk_lustre::target::TargetName;
use lk_model::topology::{
    Backend, LustreSource, Node, PackageOrigin, Role, SourceOrigin, Target, TargetKind,
};
use lk_model::Topology;

use crate::addressing::Addressing;
use crate::{FailoverTarget, NodePlan, NodeStep, Phase, PhaseName, Stage};
use script::Script;

/// Exit code of a script that finds Lustre missing or unusable on its node.
pub const EXIT_LUSTRE_MISSING: u8 = 3;

pub struct Generated {
    pub nodes: Vec<NodePlan>,
    pub phases: Vec<Phase>,
    pub teardown: Vec<Phase>,
    pub failover: Vec<FailoverTarget>,
    pub files: BTreeMap<String, String>,
}

pub fn describe_source(s: &LustreSource, host_build: bool) -> String {
    let place = if host_build {
        "on the host (chroot)"
    } else {
        "in the build VM"
    };
    match s {
        LustreSource::Preinstalled => "preinstalled in the image".into(),
        LustreSource::Packages {
            origin: PackageOrigin::Repository(url),
        } => {
            format!("packages from repository {url}")
        }
        LustreSource::Packages {
            origin: PackageOrigin::Folder(path),
        } => {
            format!("packages from host folder {path}")
        }
        LustreSource::Tarball { path } => format!("install tree from tarball {path}"),
        LustreSource::Build {
            origin: SourceOrigin::Path(p),
            ..
        } => {
            format!("built {place} from {p}")
        }
        LustreSource::Build {
            origin: SourceOrigin::Git { url, git_ref },
            ..
        } => {
            format!("built {place} from {url} at {git_ref}")
        }
    }
}

/// Everything a script generator needs about the cluster.
struct Ctx<'a> {
    t: &'a Topology,
    a: &'a Addressing,
    /// Lustre is compiled on the host: nodes install from the repository in packages/.
    host_build: bool,
    /// MGS nodes (primary first), each as its joined NIDs.
    mgs_nodes: Vec<String>,
}

impl Ctx<'_> {
    fn target(&self, target: &Target) -> TargetName {
        self.t.target_name(target)
    }

    fn backing(&self, target: &Target) -> Backing {
        let n = self.target(target);
        match self.t.backend {
            Backend::Ldiskfs => Backing::Ldiskfs { device: n.device() },
            Backend::Zfs => Backing::Zfs {
                dataset: n.zfs_dataset(),
                vdev: n.device(),
            },
        }
    }

    fn primary_targets(&self, node: &str, kind: TargetKind) -> Vec<&Target> {
        self.t
            .targets()
            .filter(|x| x.kind == kind && x.node == node)
            .collect()
    }

    /// Targets of `kind` that `node` serves, as primary or failover partner.
    fn served_targets(&self, node: &str, kind: TargetKind) -> Vec<&Target> {
        self.t
            .targets()
            .filter(|x| x.kind == kind && x.service_nodes().any(|n| n == node))
            .collect()
    }

    fn lustre_nodes(&self) -> Vec<&Node> {
        self.t
            .nodes
            .iter()
            .filter(|n| n.roles.iter().any(|r| *r != Role::Build))
            .collect()
    }
}

impl Ctx<'_> {
    /// Names of `nodes`, in topology order.
    fn names<'n>(nodes: impl Iterator<Item = &'n Node>) -> Vec<String> {
        nodes.map(|n| n.name.clone()).collect()
    }

    fn with_role(&self, role: Role) -> Vec<String> {
        Self::names(self.t.nodes.iter().filter(|n| n.has(role)))
    }

    /// Nodes that are primary for at least one target of `kind`.
    fn primaries_of(&self, kind: TargetKind) -> Vec<String> {
        Self::names(
            self.t
                .nodes
                .iter()
                .filter(|n| !self.primary_targets(&n.name, kind).is_empty()),
        )
    }

    /// Nodes that can serve a target of `kind`: after a failover the target is mounted on its
    /// partner, so teardown runs on both and each node releases only what it has.
    fn servers_of(&self, kind: TargetKind) -> Vec<String> {
        Self::names(
            self.t
                .nodes
                .iter()
                .filter(|n| !self.served_targets(&n.name, kind).is_empty()),
        )
    }

    /// The guest phases of `up`, in order.
    fn up_phases(&self) -> Vec<Phase> {
        let t = self.t;
        let lustre_nodes = Self::names(self.lustre_nodes().into_iter());
        let formatters = Self::names(
            t.nodes
                .iter()
                .filter(|n| t.targets().any(|x| x.node == n.name)),
        );
        let mdt_primaries = self.primaries_of(TargetKind::Mdt);
        let clients = self.with_role(Role::Client);
        let mut phases = Vec::new();
        if matches!(t.lustre, LustreSource::Build { .. }) && !self.host_build {
            phases.push((PhaseName::Build, self.with_role(Role::Build)));
        }
        phases.extend([
            (PhaseName::Install, lustre_nodes.clone()),
            (PhaseName::Lnet, lustre_nodes.clone()),
            (PhaseName::LnetCheck, lustre_nodes),
            (PhaseName::Format, formatters),
            (PhaseName::MountMgs, self.primaries_of(TargetKind::Mgt)),
            (PhaseName::MountMdt, mdt_primaries.clone()),
            (PhaseName::MountOst, self.primaries_of(TargetKind::Ost)),
            (PhaseName::WaitOst, mdt_primaries),
            (PhaseName::MountClient, clients.clone()),
            (
                PhaseName::VerifyServers,
                Self::names(t.nodes.iter().filter(|n| n.is_server())),
            ),
            (PhaseName::VerifyClients, clients),
        ]);
        self.place_route_check(&mut phases);
        phases.extend(self.service_phases(PhaseName::ChangelogUsers, PhaseName::StartServices));
        phases
            .into_iter()
            .map(|(n, nodes)| phase(n, nodes))
            .collect()
    }

    /// Inserts `route-check` just before the first mount phase with a node that checks routes
    /// (clients, usually: servers' mounts then overlap the routers' start), or before
    /// mount-client when only routers do. Nothing when no node has a peer across routers.
    fn place_route_check(&self, phases: &mut Vec<(PhaseName, Vec<String>)>) {
        let checkers = self.route_checkers();
        if checkers.is_empty() {
            return;
        }
        let is_mount = |p: &PhaseName| p.stage() == Stage::Mount;
        let at = phases
            .iter()
            .position(|(p, nodes)| is_mount(p) && nodes.iter().any(|n| checkers.contains(n)))
            .or_else(|| {
                phases
                    .iter()
                    .position(|(p, _)| *p == PhaseName::MountClient)
            })
            .unwrap_or(phases.len());
        phases.insert(at, (PhaseName::RouteCheck, checkers));
    }

    /// The guest phases of `down`, in order.
    fn teardown_phases(&self) -> Vec<Phase> {
        let lustre_nodes = Self::names(self.lustre_nodes().into_iter());
        let mut services =
            self.service_phases(PhaseName::ChangelogDeregister, PhaseName::StopServices);
        services.reverse();
        services
            .into_iter()
            .chain([
                (PhaseName::UmountClient, self.with_role(Role::Client)),
                (PhaseName::UmountMdt, self.servers_of(TargetKind::Mdt)),
                (PhaseName::UmountOst, self.servers_of(TargetKind::Ost)),
                (PhaseName::UmountMgs, self.servers_of(TargetKind::Mgt)),
                (PhaseName::Unload, lustre_nodes),
            ])
            .map(|(n, nodes)| phase(n, nodes))
            .collect()
    }

    /// The changelog phase (on every node that can serve an MDT, when a service follows the
    /// changelog) and the services phase (on the services' nodes); none without services.
    fn service_phases(
        &self,
        changelog: PhaseName,
        services: PhaseName,
    ) -> Vec<(PhaseName, Vec<String>)> {
        let t = self.t;
        let mut out = Vec::new();
        if t.services
            .iter()
            .any(|s| s.sync == lk_model::topology::ServiceSync::Changelog)
        {
            out.push((changelog, self.servers_of(TargetKind::Mdt)));
        }
        let hosts = Self::names(
            t.nodes
                .iter()
                .filter(|n| t.services.iter().any(|s| s.node == n.name)),
        );
        if !hosts.is_empty() {
            out.push((services, hosts));
        }
        out
    }

    /// Writes the script of `p` for each of its nodes into `files`; returns each node's
    /// script path and key commands.
    fn write_phase(
        &self,
        p: &Phase,
        files: &mut BTreeMap<String, String>,
    ) -> Vec<(String, NodeStep)> {
        let mut steps = Vec::new();
        for node_name in &p.nodes {
            // Phases are made from the topology's nodes: every name is one of them.
            let Some(node) = self.t.node(node_name) else {
                continue;
            };
            let mut s = Script::new(self.t, node, p);
            self.body(&p.name, node, &mut s);
            files.insert(p.script(node_name), s.text());
            steps.push((
                node_name.clone(),
                NodeStep {
                    phase: p.name.clone(),
                    stage: p.stage,
                    script: p.script(node_name),
                    commands: s.commands,
                },
            ));
        }
        steps
    }

    /// Failover pairs: a release and a takeover script for the target on both of its nodes.
    fn failover(&self, files: &mut BTreeMap<String, String>) -> Vec<FailoverTarget> {
        let mut failover = Vec::new();
        for target in self.t.targets() {
            let Some(partner) = &target.failover else {
                continue;
            };
            let name = self.target(target);
            let nodes: Vec<String> = target.service_nodes().map(String::from).collect();
            let facet = name.facet();
            let moves = [
                PhaseName::Release {
                    facet: facet.clone(),
                },
                PhaseName::Takeover {
                    facet: facet.clone(),
                },
            ];
            for p in moves {
                // Not steps of `up`: run on demand by `lustrekit failover`.
                self.write_phase(&phase(p, nodes.clone()), files);
            }
            failover.push(FailoverTarget {
                label: name.label(),
                facet,
                primary: target.node.clone(),
                partner: partner.clone(),
            });
        }
        failover
    }

    /// The target a failover script moves, by facet.
    fn by_facet(&self, facet: &str) -> Option<&Target> {
        self.t.targets().find(|x| self.target(x).facet() == facet)
    }

    fn body(&self, phase: &PhaseName, node: &Node, sc: &mut Script) {
        match phase {
            PhaseName::Build => self.build(sc),
            PhaseName::Install => self.install(node, sc),
            PhaseName::Lnet => self.lnet(node, sc),
            PhaseName::LnetCheck => self.lnet_check(node, sc),
            PhaseName::RouteCheck => self.route_check(node, sc),
            PhaseName::Format => self.format(node, sc),
            PhaseName::MountMgs => self.mount_targets(node, TargetKind::Mgt, sc),
            PhaseName::MountMdt => self.mount_targets(node, TargetKind::Mdt, sc),
            PhaseName::MountOst => self.mount_targets(node, TargetKind::Ost, sc),
            PhaseName::WaitOst => self.wait_ost(node, sc),
            PhaseName::MountClient => self.mount_client(node, sc),
            PhaseName::VerifyServers => self.verify_server(node, sc),
            PhaseName::VerifyClients => self.verify_client(node, sc),
            PhaseName::ChangelogUsers => self.changelog_users(node, sc),
            PhaseName::StartServices => self.start_services(node, sc),
            PhaseName::StopServices => self.stop_services(node, sc),
            PhaseName::ChangelogDeregister => self.changelog_deregister(node, sc),
            PhaseName::UmountClient => self.umount_client(node, sc),
            PhaseName::UmountMdt => self.umount_targets(node, TargetKind::Mdt, sc),
            PhaseName::UmountOst => self.umount_targets(node, TargetKind::Ost, sc),
            PhaseName::UmountMgs => self.umount_targets(node, TargetKind::Mgt, sc),
            PhaseName::Unload => self.unload(sc),
            // Failover phases are only made from targets (see `failover`), so the facet
            // always names one.
            PhaseName::Release { facet } => {
                if let Some(target) = self.by_facet(facet) {
                    self.release(target, sc);
                }
            }
            PhaseName::Takeover { facet } => {
                if let Some(target) = self.by_facet(facet) {
                    self.takeover(target, sc);
                }
            }
        }
    }
}

fn phase(name: PhaseName, nodes: Vec<String>) -> Phase {
    Phase {
        stage: name.stage(),
        description: name.description().into(),
        name,
        nodes,
    }
}

pub fn generate(t: &Topology, a: &Addressing, host_build: bool) -> Generated {
    let mgs_nodes = t.mgt.service_nodes().map(|n| a.joined_nids(t, n)).collect();
    let ctx = Ctx {
        t,
        a,
        host_build,
        mgs_nodes,
    };
    let phases = ctx.up_phases();
    let teardown = ctx.teardown_phases();
    let mut files = BTreeMap::new();
    let mut nodes: Vec<NodePlan> = t
        .nodes
        .iter()
        .map(|n| NodePlan {
            node: n.name.clone(),
            domain: format!("{}-{}", t.name, n.name),
            roles: n.roles.iter().map(|r| r.as_str().to_string()).collect(),
            nids: a.nids(t, &n.name).iter().map(ToString::to_string).collect(),
            mount: t
                .clients
                .iter()
                .find(|c| c.node == n.name)
                .map(|c| c.mount_point.clone()),
            steps: Vec::new(),
        })
        .collect();
    for p in phases.iter().chain(&teardown) {
        for (node_name, step) in ctx.write_phase(p, &mut files) {
            if let Some(np) = nodes.iter_mut().find(|np| np.node == node_name) {
                np.steps.push(step);
            }
        }
    }
    let failover = ctx.failover(&mut files);
    Generated {
        nodes,
        phases,
        teardown,
        failover,
        files,
    }
}
