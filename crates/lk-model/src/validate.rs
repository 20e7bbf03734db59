//! [`LustreCluster`] to [`Topology`]: fills defaults, expands the compact layout, and checks
//! every rule, collecting all problems instead of stopping at the first.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

use crate::defaults as d;
use crate::error::Diagnostic;
use crate::net::{Ipv4Cidr, FIRST_NODE_OFFSET};
use crate::raw::{self, FailoverMode, LustreCluster, Role};
use crate::size::{format_size, parse_size};
use crate::topology::*;

/// Validates a decoded document. On failure every problem found is returned, each with the
/// field path it concerns (positions are filled in by the caller, which has the text).
pub fn validate(doc: &LustreCluster) -> Result<Topology, Vec<Diagnostic>> {
    let mut v = Validator::default();
    let topology = v.run(doc);
    if v.problems.is_empty() {
        topology.ok_or_else(|| vec![Diagnostic::new("", "internal: no topology and no problem")])
    } else {
        Err(v.problems)
    }
}

#[derive(Default)]
struct Validator {
    problems: Vec<Diagnostic>,
}

/// A node or target together with the path it came from (`spec.nodes[3]` or `spec.layout`).
struct Sourced<T> {
    path: String,
    item: T,
}

impl Validator {
    fn fail(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Diagnostic::new(path, message));
    }

    fn run(&mut self, doc: &LustreCluster) -> Option<Topology> {
        if doc.api_version != raw::API_VERSION {
            self.fail(
                "apiVersion",
                format!("must be `{}`, not `{}`", raw::API_VERSION, doc.api_version),
            );
        }
        if doc.kind != raw::KIND {
            self.fail(
                "kind",
                format!("must be `{}`, not `{}`", raw::KIND, doc.kind),
            );
        }
        let name = &doc.metadata.name;
        if !is_dns_label(name, 40) {
            self.fail(
                "metadata.name",
                format!("`{name}` must be 1-40 of [a-z0-9-], start with a letter and not end with `-` (it prefixes libvirt object names)"),
            );
        }
        let spec = &doc.spec;
        self.check_fsname(&spec.fsname);

        let networks = self.networks(name, spec);
        let (node_specs, target_specs, client_specs) = self.expand(spec);
        let nodes = self.nodes(&node_specs, &networks);
        let default_mode = spec.failover_mode.unwrap_or_default();
        let targets = self.targets(spec, &target_specs, &nodes, default_mode);
        let clients = self.clients(&client_specs, &nodes, &spec.fsname);
        let routes = self.routes(spec, &nodes, &networks);
        self.check_server_roles(&nodes, &target_specs);
        let lustre = self.lustre(spec);
        let image = self.image(spec);
        if self.problems.is_empty() {
            self.check_reachability(&nodes, &targets, &clients, &routes);
        }

        let (mgt, mdts, osts) = targets?;
        Some(Topology {
            name: name.clone(),
            fsname: spec.fsname.clone(),
            lustre: lustre?,
            backend: spec.backend.unwrap_or_default(),
            image: image?,
            networks,
            nodes: nodes.into_iter().map(|n| n.item).collect(),
            mgt,
            mdts,
            osts,
            clients,
            routes,
        })
    }

    fn check_fsname(&mut self, fsname: &str) {
        let ok_chars = fsname
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if fsname.is_empty() || fsname.len() > 8 || !ok_chars {
            self.fail(
                "spec.fsname",
                format!("`{fsname}` must be 1-8 characters of [A-Za-z0-9_-]"),
            );
        }
    }

    fn networks(&mut self, cluster: &str, spec: &raw::ClusterSpec) -> Vec<Network> {
        if spec.networks.is_empty() {
            let cidr = Ipv4Cidr::parse(&d::network_cidr(cluster)).ok();
            return cidr
                .map(|cidr| {
                    vec![Network {
                        name: d::NETWORK_NAME.into(),
                        cidr,
                    }]
                })
                .unwrap_or_default();
        }
        let mut out: Vec<Network> = Vec::new();
        for (i, n) in spec.networks.iter().enumerate() {
            let path = format!("spec.networks[{i}]");
            if !is_lnet_name(&n.name) {
                self.fail(
                    format!("{path}.name"),
                    format!("`{}` is not an LNet network name: expected tcp or o2ib with an optional number, e.g. tcp0", n.name),
                );
            }
            if out.iter().any(|o| o.name == n.name) {
                self.fail(
                    format!("{path}.name"),
                    format!("duplicate network `{}`", n.name),
                );
                continue;
            }
            match Ipv4Cidr::parse(&n.cidr) {
                Err(e) => self.fail(format!("{path}.cidr"), e),
                Ok(cidr) => {
                    if let Some(o) = out.iter().find(|o| o.cidr.overlaps(&cidr)) {
                        self.fail(
                            format!("{path}.cidr"),
                            format!("{cidr} overlaps {} of network `{}`", o.cidr, o.name),
                        );
                    }
                    out.push(Network {
                        name: n.name.clone(),
                        cidr,
                    });
                }
            }
        }
        out
    }

    /// The compact layout expanded ahead of the explicit nodes, targets and clients.
    #[allow(clippy::type_complexity)]
    fn expand(
        &mut self,
        spec: &raw::ClusterSpec,
    ) -> (
        Vec<Sourced<raw::NodeSpec>>,
        TargetSpecs,
        Vec<Sourced<raw::ClientSpec>>,
    ) {
        let mut nodes = Vec::new();
        let mut targets = TargetSpecs::default();
        let mut clients = Vec::new();
        if let Some(layout) = &spec.layout {
            let mut counts = Vec::new();
            for (field, value, min, max) in [
                ("mds", layout.mds.unwrap_or(1), 1, d::MAX_LAYOUT_MDS),
                ("oss", layout.oss, 1, d::MAX_LAYOUT_OSS),
                (
                    "ostsPerOss",
                    layout.osts_per_oss.unwrap_or(1),
                    1,
                    d::MAX_LAYOUT_OSTS_PER_OSS,
                ),
                (
                    "clients",
                    layout.clients.unwrap_or(1),
                    0,
                    d::MAX_LAYOUT_CLIENTS,
                ),
            ] {
                if value < min || value > max {
                    self.fail(
                        format!("spec.layout.{field}"),
                        format!("{value} is out of range: must be {min}-{max}"),
                    );
                }
                counts.push(value.clamp(min, max));
            }
            let [mds, oss, per_oss, n_clients] = [counts[0], counts[1], counts[2], counts[3]];
            let path = "spec.layout".to_string();
            let node = |name: String, roles: Vec<Role>| Sourced {
                path: path.clone(),
                item: raw::NodeSpec {
                    name,
                    roles,
                    vcpus: None,
                    memory: None,
                    networks: vec![],
                },
            };
            for m in 1..=mds {
                let roles = if m == 1 {
                    vec![Role::Mgs, Role::Mds]
                } else {
                    vec![Role::Mds]
                };
                nodes.push(node(format!("mds{m}"), roles));
            }
            for o in 1..=oss {
                nodes.push(node(format!("oss{o}"), vec![Role::Oss]));
            }
            for c in 1..=n_clients {
                nodes.push(node(format!("client{c}"), vec![Role::Client]));
            }
            targets.mgt = Some(Sourced {
                path: path.clone(),
                item: raw::MgtSpec {
                    node: "mds1".into(),
                    failover: None,
                    failover_mode: None,
                    size: None,
                },
            });
            let target = |index: u32, node: String, size: &Option<String>| Sourced {
                path: path.clone(),
                item: raw::TargetSpec {
                    index: i64::from(index),
                    node,
                    failover: None,
                    failover_mode: None,
                    size: size.clone(),
                },
            };
            for m in 0..mds {
                targets
                    .mdts
                    .push(target(m, format!("mds{}", m + 1), &layout.mdt_size));
            }
            for o in 0..oss {
                for k in 0..per_oss {
                    targets.osts.push(target(
                        o * per_oss + k,
                        format!("oss{}", o + 1),
                        &layout.ost_size,
                    ));
                }
            }
        }
        for (i, n) in spec.nodes.iter().enumerate() {
            nodes.push(Sourced {
                path: format!("spec.nodes[{i}]"),
                item: n.clone(),
            });
        }
        if let Some(t) = &spec.targets {
            if let Some(mgt) = &t.mgt {
                if targets.mgt.is_some() {
                    self.fail(
                        "spec.targets.mgt",
                        "the layout already places the MGT on mds1; remove one of them",
                    );
                } else {
                    targets.mgt = Some(Sourced {
                        path: "spec.targets.mgt".into(),
                        item: mgt.clone(),
                    });
                }
            }
            for (i, m) in t.mdts.iter().enumerate() {
                targets.mdts.push(Sourced {
                    path: format!("spec.targets.mdts[{i}]"),
                    item: m.clone(),
                });
            }
            for (i, o) in t.osts.iter().enumerate() {
                targets.osts.push(Sourced {
                    path: format!("spec.targets.osts[{i}]"),
                    item: o.clone(),
                });
            }
        }
        for (i, c) in spec.clients.iter().enumerate() {
            clients.push(Sourced {
                path: format!("spec.clients[{i}]"),
                item: c.clone(),
            });
        }
        (nodes, targets, clients)
    }

    fn nodes(
        &mut self,
        specs: &[Sourced<raw::NodeSpec>],
        networks: &[Network],
    ) -> Vec<Sourced<Node>> {
        if specs.len() > d::MAX_NODES {
            self.fail(
                "spec.nodes",
                format!(
                    "{} nodes; a cluster has at most {}",
                    specs.len(),
                    d::MAX_NODES
                ),
            );
        }
        let mut out: Vec<Sourced<Node>> = Vec::new();
        for Sourced { path, item: n } in specs {
            if !is_dns_label(&n.name, 30) {
                self.fail(
                    format!("{path}.name"),
                    format!(
                        "`{}` must be 1-30 of [a-z0-9-], start with a letter and not end with `-`",
                        n.name
                    ),
                );
            }
            if let Some(first) = out.iter().find(|o| o.item.name == n.name) {
                self.fail(
                    format!("{path}.name"),
                    format!(
                        "duplicate node name `{}` (first defined at {})",
                        n.name, first.path
                    ),
                );
                continue;
            }
            let roles: BTreeSet<Role> = n.roles.iter().copied().collect();
            if roles.is_empty() {
                self.fail(
                    format!("{path}.roles"),
                    "a node needs at least one role of mgs, mds, oss, client, router, build",
                );
            } else if roles.len() != n.roles.len() {
                self.fail(format!("{path}.roles"), "a role is listed twice");
            }
            let vcpus = n.vcpus.unwrap_or(d::VCPUS);
            if !(1..=d::MAX_VCPUS).contains(&vcpus) {
                self.fail(
                    format!("{path}.vcpus"),
                    format!("{vcpus} is out of range: must be 1-{}", d::MAX_VCPUS),
                );
            }
            let server = roles
                .iter()
                .any(|r| matches!(r, Role::Mgs | Role::Mds | Role::Oss | Role::Build));
            let default_memory = if server {
                d::SERVER_MEMORY
            } else if roles.contains(&Role::Client) {
                d::CLIENT_MEMORY
            } else {
                d::ROUTER_MEMORY
            };
            let min_memory = if server {
                d::MIN_SERVER_MEMORY
            } else {
                d::MIN_MEMORY
            };
            let memory_bytes = match &n.memory {
                None => default_memory,
                Some(m) => match parse_size(m) {
                    Err(e) => {
                        self.fail(format!("{path}.memory"), e);
                        default_memory
                    }
                    Ok(b) if b < min_memory => {
                        self.fail(
                            format!("{path}.memory"),
                            format!(
                                "{m} is too small: this node needs at least {}",
                                format_size(min_memory)
                            ),
                        );
                        b
                    }
                    Ok(b) if b % (1 << 20) != 0 => {
                        self.fail(
                            format!("{path}.memory"),
                            format!("{m} must be a whole number of MiB"),
                        );
                        b
                    }
                    Ok(b) => b,
                },
            };
            let mut nets = n.networks.clone();
            if nets.is_empty() {
                nets.extend(networks.first().map(|n| n.name.clone()));
            }
            for (j, net) in nets.iter().enumerate() {
                if !networks.iter().any(|x| &x.name == net) {
                    self.fail(
                        format!("{path}.networks[{j}]"),
                        format!("unknown network `{net}`"),
                    );
                }
                if nets[..j].contains(net) {
                    self.fail(
                        format!("{path}.networks[{j}]"),
                        format!("network `{net}` is listed twice"),
                    );
                }
            }
            if roles.contains(&Role::Router) && nets.len() < 2 {
                self.fail(
                    format!("{path}.networks"),
                    "a router must be on at least two networks",
                );
            }
            out.push(Sourced {
                path: path.clone(),
                item: Node {
                    name: n.name.clone(),
                    roles,
                    vcpus,
                    memory_bytes,
                    networks: nets,
                },
            });
        }
        // Every node needs a fixed address on each of its networks.
        for net in networks {
            let members = out
                .iter()
                .filter(|n| n.item.networks.contains(&net.name))
                .count() as u32;
            if members + FIRST_NODE_OFFSET > net.cidr.host_count() {
                self.fail(
                    "spec.networks",
                    format!(
                        "network `{}` ({}) has room for {} nodes but {members} are on it",
                        net.name,
                        net.cidr,
                        net.cidr.host_count().saturating_sub(FIRST_NODE_OFFSET)
                    ),
                );
            }
        }
        out
    }

    fn targets(
        &mut self,
        spec: &raw::ClusterSpec,
        specs: &TargetSpecs,
        nodes: &[Sourced<Node>],
        default_mode: FailoverMode,
    ) -> Option<(Target, Vec<Target>, Vec<Target>)> {
        let mut modes: Vec<(String, FailoverMode)> = Vec::new();
        let mgt =
            match &specs.mgt {
                None => {
                    self.fail(
                    if spec.targets.is_some() { "spec.targets.mgt" } else { "spec.targets" },
                    "no MGS: the cluster needs an MGT (targets.mgt) on a node with the mgs role",
                );
                    None
                }
                Some(Sourced { path, item }) => {
                    let t = raw::TargetSpec {
                        index: 0,
                        node: item.node.clone(),
                        failover: item.failover.clone(),
                        failover_mode: item.failover_mode,
                        size: item.size.clone(),
                    };
                    self.target(path, &t, TargetKind::Mgt, nodes, default_mode, &mut modes)
                }
            };
        let mut kinds = Vec::new();
        for (kind, list) in [
            (TargetKind::Mdt, &specs.mdts),
            (TargetKind::Ost, &specs.osts),
        ] {
            let mut seen: BTreeMap<u16, String> = BTreeMap::new();
            let mut out = Vec::new();
            for Sourced { path, item } in list {
                let Some(t) = self.target(path, item, kind, nodes, default_mode, &mut modes) else {
                    continue;
                };
                if let Some(first) = seen.get(&t.index) {
                    self.fail(
                        format!("{path}.index"),
                        format!(
                            "duplicate {} index {} (also at {first})",
                            kind.as_str().to_uppercase(),
                            t.index
                        ),
                    );
                    continue;
                }
                seen.insert(t.index, path.clone());
                out.push(t);
            }
            out.sort_by_key(|t| t.index);
            kinds.push(out);
        }
        let osts = kinds.pop().unwrap_or_default();
        let mdts = kinds.pop().unwrap_or_default();
        if !specs.mdts.iter().any(|s| s.item.index == 0) {
            self.fail(
                "spec.targets.mdts",
                "no MDT 0: the filesystem root lives on MDT index 0",
            );
        }
        if specs.osts.is_empty() {
            self.fail(
                "spec.targets.osts",
                "no OST: the filesystem needs at least one OST",
            );
        }
        let failover_modes: BTreeSet<FailoverMode> = modes.iter().map(|(_, m)| *m).collect();
        if failover_modes.len() > 1 {
            let describe = |m: FailoverMode| {
                modes
                    .iter()
                    .filter(|(_, x)| *x == m)
                    .map(|(p, _)| p.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            // Point at the first target whose style differs from the first one's.
            let first = modes[0].1;
            let at = modes
                .iter()
                .find(|(_, m)| *m != first)
                .map(|(p, _)| format!("{p}.failoverMode"))
                .unwrap_or_else(|| "spec.failoverMode".into());
            self.fail(
                at,
                format!(
                    "servicenode and failnode styles are mixed (servicenode: {}; failnode: {}); Lustre cannot mix them, use one style",
                    describe(FailoverMode::Servicenode),
                    describe(FailoverMode::Failnode)
                ),
            );
        }
        Some((mgt?, mdts, osts))
    }

    fn target(
        &mut self,
        path: &str,
        t: &raw::TargetSpec,
        kind: TargetKind,
        nodes: &[Sourced<Node>],
        default_mode: FailoverMode,
        modes: &mut Vec<(String, FailoverMode)>,
    ) -> Option<Target> {
        let before = self.problems.len();
        let (role, default_size, min_size) = match kind {
            TargetKind::Mgt => (Role::Mgs, d::MGT_SIZE, d::MIN_MGT_SIZE),
            TargetKind::Mdt => (Role::Mds, d::MDT_SIZE, d::MIN_TARGET_SIZE),
            TargetKind::Ost => (Role::Oss, d::OST_SIZE, d::MIN_TARGET_SIZE),
        };
        let label = kind.as_str().to_uppercase();
        if !(0..=65535).contains(&t.index) {
            self.fail(
                format!("{path}.index"),
                format!("{label} index {} is outside 0..65535", t.index),
            );
        }
        for (field, name) in [("node", Some(&t.node)), ("failover", t.failover.as_ref())] {
            let Some(name) = name else { continue };
            match nodes.iter().find(|n| &n.item.name == name) {
                None => self.fail(
                    format!("{path}.{field}"),
                    format!("{label} is placed on unknown node `{name}`"),
                ),
                Some(n) if !n.item.has(role) => self.fail(
                    format!("{path}.{field}"),
                    format!(
                        "node `{name}` serves an {label} but lacks the `{}` role",
                        role.as_str()
                    ),
                ),
                Some(_) => {}
            }
        }
        if t.failover.as_ref() == Some(&t.node) {
            self.fail(
                format!("{path}.failover"),
                format!("failover node `{}` is the primary node itself", t.node),
            );
        }
        if t.failover_mode.is_some() && t.failover.is_none() {
            self.fail(
                format!("{path}.failoverMode"),
                "set without a failover node",
            );
        }
        let failover_mode = t.failover_mode.unwrap_or(default_mode);
        if t.failover.is_some() {
            modes.push((path.to_string(), failover_mode));
        }
        let size_bytes = match &t.size {
            None => default_size,
            Some(s) => match parse_size(s) {
                Err(e) => {
                    self.fail(format!("{path}.size"), e);
                    default_size
                }
                Ok(b) if b < min_size => {
                    self.fail(
                        format!("{path}.size"),
                        format!(
                            "{s} is too small to format: an {label} needs at least {}",
                            format_size(min_size)
                        ),
                    );
                    b
                }
                Ok(b) => b,
            },
        };
        (self.problems.len() == before).then(|| Target {
            kind,
            index: t.index as u16,
            node: t.node.clone(),
            failover: t.failover.clone(),
            failover_mode,
            size_bytes,
        })
    }

    fn clients(
        &mut self,
        specs: &[Sourced<raw::ClientSpec>],
        nodes: &[Sourced<Node>],
        fsname: &str,
    ) -> Vec<ClientMount> {
        let mut explicit: HashMap<&str, String> = HashMap::new();
        for Sourced { path, item } in specs {
            match nodes.iter().find(|n| n.item.name == item.node) {
                None => self.fail(
                    format!("{path}.node"),
                    format!("unknown node `{}`", item.node),
                ),
                Some(n) if !n.item.has(Role::Client) => self.fail(
                    format!("{path}.node"),
                    format!(
                        "node `{}` mounts the filesystem but lacks the `client` role",
                        item.node
                    ),
                ),
                Some(_) => {}
            }
            let mount = item
                .mount_point
                .clone()
                .unwrap_or_else(|| d::mount_point(fsname));
            if !is_absolute_clean(&mount) {
                self.fail(
                    format!("{path}.mountPoint"),
                    format!("`{mount}` must be an absolute path other than `/`, without `..`, `.`, empty components or whitespace"),
                );
            }
            if explicit.insert(&item.node, mount).is_some() {
                self.fail(
                    format!("{path}.node"),
                    format!("node `{}` has two client entries", item.node),
                );
            }
        }
        nodes
            .iter()
            .filter(|n| n.item.has(Role::Client))
            .map(|n| ClientMount {
                node: n.item.name.clone(),
                mount_point: explicit
                    .get(n.item.name.as_str())
                    .cloned()
                    .unwrap_or_else(|| d::mount_point(fsname)),
            })
            .collect()
    }

    fn routes(
        &mut self,
        spec: &raw::ClusterSpec,
        nodes: &[Sourced<Node>],
        networks: &[Network],
    ) -> Vec<Route> {
        let mut out = Vec::new();
        for (i, r) in spec.routes.iter().enumerate() {
            let path = format!("spec.routes[{i}]");
            let before = self.problems.len();
            for (field, net) in [("from", &r.from), ("to", &r.to)] {
                if !networks.iter().any(|n| &n.name == net) {
                    self.fail(
                        format!("{path}.{field}"),
                        format!("route through unknown network `{net}`"),
                    );
                }
            }
            if r.from == r.to {
                self.fail(format!("{path}.to"), "a route joins two different networks");
            }
            match nodes.iter().find(|n| n.item.name == r.gateway) {
                None => self.fail(
                    format!("{path}.gateway"),
                    format!("unknown router node `{}`", r.gateway),
                ),
                Some(n) => {
                    if !n.item.has(Role::Router) {
                        self.fail(
                            format!("{path}.gateway"),
                            format!("node `{}` lacks the `router` role", r.gateway),
                        );
                    }
                    let missing: Vec<&str> = [&r.from, &r.to]
                        .into_iter()
                        .filter(|net| !n.item.networks.contains(net))
                        .map(String::as_str)
                        .collect();
                    if !missing.is_empty() {
                        self.fail(
                            format!("{path}.gateway"),
                            format!("router `{}` must be on both networks `{}` and `{}` but is not on `{}`", r.gateway, r.from, r.to, missing.join("`, `")),
                        );
                    }
                }
            }
            if self.problems.len() == before {
                out.push(Route {
                    from: r.from.clone(),
                    to: r.to.clone(),
                    gateway: r.gateway.clone(),
                });
            }
        }
        out
    }

    /// A node with a server role must serve a target of that kind (checked against the
    /// placements as written, so a target that failed its own checks adds no noise here).
    fn check_server_roles(&mut self, nodes: &[Sourced<Node>], specs: &TargetSpecs) {
        let pairs = |list: Vec<(&String, Option<&String>)>| -> Vec<(String, Option<String>)> {
            list.into_iter()
                .map(|(n, f)| (n.clone(), f.cloned()))
                .collect()
        };
        let kinds = [
            (
                Role::Mgs,
                "MGT",
                pairs(
                    specs
                        .mgt
                        .iter()
                        .map(|m| (&m.item.node, m.item.failover.as_ref()))
                        .collect(),
                ),
            ),
            (
                Role::Mds,
                "MDT",
                pairs(
                    specs
                        .mdts
                        .iter()
                        .map(|m| (&m.item.node, m.item.failover.as_ref()))
                        .collect(),
                ),
            ),
            (
                Role::Oss,
                "OST",
                pairs(
                    specs
                        .osts
                        .iter()
                        .map(|m| (&m.item.node, m.item.failover.as_ref()))
                        .collect(),
                ),
            ),
        ];
        for n in nodes {
            let name = n.item.name.as_str();
            for (role, kind, list) in &kinds {
                let placed = list
                    .iter()
                    .any(|(p, f)| p == name || f.as_deref() == Some(name));
                if n.item.has(*role) && !placed {
                    self.fail(
                        format!("{}.roles", n.path),
                        format!("node `{name}` has the `{}` role but no {kind} is placed on it (as primary or failover)", role.as_str()),
                    );
                }
            }
        }
    }

    /// Every client must reach every server over LNet: a shared network or a chain of routes.
    fn check_reachability<'a>(
        &mut self,
        nodes: &'a [Sourced<Node>],
        targets: &'a Option<(Target, Vec<Target>, Vec<Target>)>,
        clients: &[ClientMount],
        routes: &'a [Route],
    ) {
        let Some((mgt, mdts, osts)) = targets else {
            return;
        };
        let servers: BTreeSet<&str> = std::iter::once(mgt)
            .chain(mdts)
            .chain(osts)
            .flat_map(|t| t.service_nodes())
            .collect();
        let mut links: HashMap<&'a str, Vec<&'a str>> = HashMap::new();
        for r in routes {
            links.entry(&r.from).or_default().push(&r.to);
            links.entry(&r.to).or_default().push(&r.from);
        }
        let reachable = |from: &'a [String]| -> HashSet<&'a str> {
            let mut seen: HashSet<&'a str> = from.iter().map(String::as_str).collect();
            let mut queue: VecDeque<&str> = seen.iter().copied().collect();
            while let Some(n) = queue.pop_front() {
                for next in links.get(n).into_iter().flatten() {
                    if seen.insert(next) {
                        queue.push_back(next);
                    }
                }
            }
            seen
        };
        let node = |name: &str| nodes.iter().find(|n| n.item.name == name);
        let mut pairs: Vec<(String, String)> = clients
            .iter()
            .flat_map(|c| servers.iter().map(|s| (c.node.clone(), s.to_string())))
            .collect();
        // Servers talk to the MGS and MDTs to the OSTs, too.
        for s in &servers {
            for m in mgt.service_nodes() {
                pairs.push((s.to_string(), m.to_string()));
            }
        }
        for (a, b) in pairs {
            let (Some(na), Some(nb)) = (node(&a), node(&b)) else {
                continue;
            };
            let reach = reachable(&na.item.networks);
            if !nb.item.networks.iter().any(|n| reach.contains(n.as_str())) {
                self.fail(
                    format!("{}.networks", na.path),
                    format!("node `{a}` cannot reach server `{b}` over LNet: no shared network and no route (add spec.routes)"),
                );
                return;
            }
        }
    }

    fn lustre(&mut self, spec: &raw::ClusterSpec) -> Option<LustreSource> {
        let l = spec.lustre.clone().unwrap_or_default();
        let p = "spec.lustre";
        let before = self.problems.len();
        let forbid = |v: &mut Self, field: &str, set: bool, source: &str| {
            if set {
                v.fail(
                    format!("{p}.{field}"),
                    format!("not used with source `{source}`"),
                );
            }
        };
        let out = match l.source {
            raw::LustreSource::Preinstalled => {
                for (f, set) in [
                    ("repository", l.repository.is_some()),
                    ("path", l.path.is_some()),
                    ("git", l.git.is_some()),
                    ("ref", l.git_ref.is_some()),
                    ("configureOptions", !l.configure_options.is_empty()),
                ] {
                    forbid(self, f, set, "preinstalled");
                }
                LustreSource::Preinstalled
            }
            raw::LustreSource::Packages => {
                for (f, set) in [
                    ("git", l.git.is_some()),
                    ("ref", l.git_ref.is_some()),
                    ("configureOptions", !l.configure_options.is_empty()),
                ] {
                    forbid(self, f, set, "packages");
                }
                match (&l.repository, &l.path) {
                    (Some(url), None) => {
                        self.check_url(
                            &format!("{p}.repository"),
                            url,
                            &["http://", "https://", "file://"],
                        );
                        LustreSource::Packages {
                            origin: PackageOrigin::Repository(url.clone()),
                        }
                    }
                    (None, Some(path)) => {
                        self.check_abs(&format!("{p}.path"), path);
                        LustreSource::Packages {
                            origin: PackageOrigin::Folder(path.clone()),
                        }
                    }
                    _ => {
                        self.fail(p, "source `packages` needs exactly one of `repository` (URL) or `path` (host folder of .rpm/.deb files)");
                        LustreSource::Preinstalled
                    }
                }
            }
            raw::LustreSource::Tarball => {
                for (f, set) in [
                    ("repository", l.repository.is_some()),
                    ("git", l.git.is_some()),
                    ("ref", l.git_ref.is_some()),
                    ("configureOptions", !l.configure_options.is_empty()),
                ] {
                    forbid(self, f, set, "tarball");
                }
                match &l.path {
                    Some(path) => {
                        self.check_abs(&format!("{p}.path"), path);
                        LustreSource::Tarball { path: path.clone() }
                    }
                    None => {
                        self.fail(format!("{p}.path"), "source `tarball` needs `path`, the host path of the install-tree tarball");
                        LustreSource::Preinstalled
                    }
                }
            }
            raw::LustreSource::Build => {
                forbid(self, "repository", l.repository.is_some(), "build");
                // Without a build node lustrekit compiles on the host (lk-plan's placement).
                let origin = match (&l.path, &l.git) {
                    (Some(path), None) => {
                        self.check_abs(&format!("{p}.path"), path);
                        if l.git_ref.is_some() {
                            self.fail(format!("{p}.ref"), "`ref` goes with `git`, not `path`");
                        }
                        SourceOrigin::Path(path.clone())
                    }
                    (None, Some(url)) => {
                        self.check_url(
                            &format!("{p}.git"),
                            url,
                            &["http://", "https://", "git://", "ssh://", "file://"],
                        );
                        SourceOrigin::Git {
                            url: url.clone(),
                            git_ref: l.git_ref.clone().unwrap_or_else(|| d::GIT_REF.into()),
                        }
                    }
                    _ => {
                        self.fail(p, "source `build` needs exactly one of `path` (host source tree) or `git` (URL)");
                        SourceOrigin::Path(String::new())
                    }
                };
                for (i, opt) in l.configure_options.iter().enumerate() {
                    if !opt.starts_with("--") || opt.contains(['\n', '\'', '\0']) {
                        self.fail(
                            format!("{p}.configureOptions[{i}]"),
                            format!("`{opt}` must be a single --option without quotes or newlines"),
                        );
                    }
                }
                LustreSource::Build {
                    origin,
                    configure_options: l.configure_options.clone(),
                }
            }
        };
        (self.problems.len() == before).then_some(out)
    }

    fn image(&mut self, spec: &raw::ClusterSpec) -> Option<Image> {
        let i = spec.image.clone().unwrap_or_default();
        let before = self.problems.len();
        let path = i.path.clone().unwrap_or_else(|| d::IMAGE_PATH.into());
        self.check_abs("spec.image.path", &path);
        for (field, v) in [("kernel", &i.kernel), ("initrd", &i.initrd)] {
            if let Some(v) = v {
                self.check_abs(&format!("spec.image.{field}"), v);
            }
        }
        if i.initrd.is_some() && i.kernel.is_none() {
            self.fail(
                "spec.image.initrd",
                "an initrd needs `kernel` for direct boot",
            );
        }
        if i.cmdline.is_some() && i.kernel.is_none() {
            self.fail(
                "spec.image.cmdline",
                "a kernel command line needs `kernel` for direct boot",
            );
        }
        let root_disk_bytes = match &i.root_disk_size {
            None => d::ROOT_DISK,
            Some(s) => match parse_size(s) {
                Err(e) => {
                    self.fail("spec.image.rootDiskSize", e);
                    0
                }
                Ok(b) if b < d::MIN_ROOT_DISK => {
                    self.fail(
                        "spec.image.rootDiskSize",
                        format!(
                            "{s} is too small: at least {}",
                            format_size(d::MIN_ROOT_DISK)
                        ),
                    );
                    b
                }
                Ok(b) => b,
            },
        };
        // The default image comes with its kernel and initrd beside it (direct kernel boot).
        let default_image = i.path.is_none() && i.kernel.is_none() && i.initrd.is_none();
        let (kernel, initrd) = if default_image {
            (
                Some(d::IMAGE_KERNEL.to_string()),
                Some(d::IMAGE_INITRD.to_string()),
            )
        } else {
            (i.kernel.clone(), i.initrd.clone())
        };
        (self.problems.len() == before).then(|| Image {
            path,
            kernel,
            initrd,
            cmdline: i
                .cmdline
                .clone()
                .unwrap_or_else(|| d::KERNEL_CMDLINE.into()),
            root_disk_bytes,
        })
    }

    fn check_abs(&mut self, path: &str, value: &str) {
        if !is_absolute_clean(value) {
            self.fail(
                path,
                format!("`{value}` must be an absolute host path without `..` or whitespace"),
            );
        }
    }

    fn check_url(&mut self, path: &str, value: &str, schemes: &[&str]) {
        let ok = schemes
            .iter()
            .any(|s| value.starts_with(s) && value.len() > s.len())
            && !value
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '\'' || c == '"');
        if !ok {
            self.fail(
                path,
                format!(
                    "`{value}` must be a URL starting with {}",
                    schemes.join(", ")
                ),
            );
        }
    }
}

#[derive(Default)]
struct TargetSpecs {
    mgt: Option<Sourced<raw::MgtSpec>>,
    mdts: Vec<Sourced<raw::TargetSpec>>,
    osts: Vec<Sourced<raw::TargetSpec>>,
}

fn is_dns_label(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && !s.ends_with('-')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn is_lnet_name(s: &str) -> bool {
    ["tcp", "o2ib"].iter().any(|p| {
        s.strip_prefix(p)
            .is_some_and(|n| n.len() <= 4 && n.chars().all(|c| c.is_ascii_digit()))
    })
}

/// Absolute, not `/` itself, no `.`/`..`/empty components, no whitespace or control
/// characters: such paths go into generated shell, fstab and libvirt XML.
fn is_absolute_clean(s: &str) -> bool {
    s.starts_with('/')
        && s.len() > 1
        && s.len() <= 4096
        && !s.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, '\'' | '"' | '\\' | '$' | '`')
        })
        && s[1..]
            .trim_end_matches('/')
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lnet_names() {
        for ok in ["tcp", "tcp0", "tcp12", "o2ib", "o2ib3"] {
            assert!(is_lnet_name(ok), "{ok}");
        }
        for bad in ["", "tcp-1", "eth0", "tcpx", "TCP0"] {
            assert!(!is_lnet_name(bad), "{bad}");
        }
    }

    #[test]
    fn paths() {
        assert!(is_absolute_clean("/mnt/lustre"));
        assert!(is_absolute_clean("/mnt/lustre/"));
        for bad in [
            "mnt",
            "/",
            "/mnt/../etc",
            "/mnt//x",
            "/mnt/a b",
            "/mnt/$x",
            "/./x",
        ] {
            assert!(!is_absolute_clean(bad), "{bad}");
        }
    }
}
