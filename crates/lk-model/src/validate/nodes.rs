//! Nodes: names, roles, vCPUs, memory and networks; every server role backed by a target.

use std::collections::BTreeSet;

use super::{is_dns_label, Sourced, TargetSpecs, Validator};
use crate::defaults as d;
use crate::net::FIRST_NODE_OFFSET;
use crate::raw::{self, Role};
use crate::size::{format_size, parse_size};
use crate::topology::*;

impl Validator {
    pub(super) fn nodes(
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
            let node = self.node(path, n, networks);
            out.push(Sourced {
                path: path.clone(),
                item: node,
            });
        }
        self.check_network_room(&out, networks);
        out
    }

    /// One node with its defaults filled in; problems are recorded, not returned.
    fn node(&mut self, path: &str, n: &raw::NodeSpec, networks: &[Network]) -> Node {
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
        let memory_bytes = self.memory(path, n.memory.as_deref(), &roles);
        let networks = self.node_networks(path, n, &roles, networks);
        Node {
            name: n.name.clone(),
            roles,
            vcpus,
            memory_bytes,
            networks,
        }
    }

    /// Memory in bytes: the role's default when unset, at least the role's minimum, whole MiB.
    fn memory(&mut self, path: &str, memory: Option<&str>, roles: &BTreeSet<Role>) -> u64 {
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
        let Some(m) = memory else {
            return default_memory;
        };
        match parse_size(m) {
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
        }
    }

    /// The node's networks (the first network when none is named), each known and listed
    /// once; a router needs two.
    fn node_networks(
        &mut self,
        path: &str,
        n: &raw::NodeSpec,
        roles: &BTreeSet<Role>,
        networks: &[Network],
    ) -> Vec<String> {
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
        nets
    }

    /// Every node needs a fixed address on each of its networks.
    fn check_network_room(&mut self, nodes: &[Sourced<Node>], networks: &[Network]) {
        for net in networks {
            let members = nodes
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
    }

    /// A node with a server role must serve a target of that kind (checked against the
    /// placements as written, so a target that failed its own checks adds no noise here).
    pub(super) fn check_server_roles(&mut self, nodes: &[Sourced<Node>], specs: &TargetSpecs) {
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
}
