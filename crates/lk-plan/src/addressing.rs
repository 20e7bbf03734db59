//! Fixed addresses, MACs and NIDs of every node, and the LNet routes each node needs.

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};
use std::net::Ipv4Addr;

use lk_lustre::nid::{node_nids, Nid};
use lk_model::defaults::fnv1a;
use lk_model::net::FIRST_NODE_OFFSET;
use lk_model::topology::Role;
use lk_model::Topology;

/// An LNet route a node adds: reach `net` through `gateway` (a NID on a local network).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRoute {
    pub net: String,
    pub gateway: String,
    pub hops: u32,
}

#[derive(Debug, Clone)]
pub struct Addressing {
    /// (node, network) to address.
    addresses: BTreeMap<(String, String), Ipv4Addr>,
    macs: BTreeMap<(String, String), String>,
    routes: BTreeMap<String, Vec<NodeRoute>>,
}

impl Addressing {
    pub fn new(t: &Topology) -> Self {
        let mut addresses = BTreeMap::new();
        for net in &t.networks {
            let members = t.nodes.iter().filter(|n| n.networks.contains(&net.name));
            for (k, node) in members.enumerate() {
                // Validation guarantees the subnet has room.
                if let Some(ip) = net.cidr.host(FIRST_NODE_OFFSET + k as u32) {
                    addresses.insert((node.name.clone(), net.name.clone()), ip);
                }
            }
        }
        let mut macs = BTreeMap::new();
        let mut used = HashSet::new();
        for node in &t.nodes {
            for net in &node.networks {
                let mut seed = fnv1a(format!("{}/{}/{}", t.name, node.name, net).as_bytes());
                // Deterministic probing keeps MACs unique inside the cluster.
                while !used.insert(seed & 0x00ff_ffff) {
                    seed = seed.wrapping_add(1);
                }
                let h = seed & 0x00ff_ffff;
                macs.insert(
                    (node.name.clone(), net.clone()),
                    format!(
                        "52:54:00:{:02x}:{:02x}:{:02x}",
                        h >> 16,
                        (h >> 8) & 0xff,
                        h & 0xff
                    ),
                );
            }
        }
        let mut a = Addressing {
            addresses,
            macs,
            routes: BTreeMap::new(),
        };
        a.routes = routes(t, &a);
        a
    }

    pub fn address(&self, node: &str, net: &str) -> Option<Ipv4Addr> {
        self.addresses
            .get(&(node.to_string(), net.to_string()))
            .copied()
    }

    /// MAC of `node`'s NIC on `net`. `new` gives every (node, network) of its topology one,
    /// so the empty default is only reached by asking about another topology's nodes.
    pub fn mac(&self, node: &str, net: &str) -> String {
        self.macs
            .get(&(node.to_string(), net.to_string()))
            .cloned()
            .unwrap_or_default()
    }

    /// NIDs of a node, one per network in NIC order (none for a node not in `t`).
    pub fn nids(&self, t: &Topology, node: &str) -> Vec<Nid> {
        t.node(node)
            .map(|n| {
                n.networks
                    .iter()
                    .filter_map(|net| self.address(node, net).map(|ip| Nid::new(ip, net.clone())))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The node's NIDs joined with `,`, as mkfs.lustre and mount take them.
    pub fn joined_nids(&self, t: &Topology, node: &str) -> String {
        node_nids(&self.nids(t, node))
    }

    pub fn routes(&self, node: &str) -> &[NodeRoute] {
        self.routes.get(node).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// For each node, every remote network reachable through routers: breadth-first over the
/// declared routes (each usable both ways), so the first hop is the nearest router and `hops`
/// counts routers on the way.
fn routes(t: &Topology, a: &Addressing) -> BTreeMap<String, Vec<NodeRoute>> {
    let mut out = BTreeMap::new();
    for node in &t.nodes {
        if node.roles.iter().all(|r| *r == Role::Build) {
            continue;
        }
        let local: BTreeSet<&str> = node.networks.iter().map(String::as_str).collect();
        // network -> (first-hop gateway NID, hops)
        let mut found: BTreeMap<&str, (String, u32)> = BTreeMap::new();
        let mut queue: VecDeque<(&str, Option<String>, u32)> = node
            .networks
            .iter()
            .map(|n| (n.as_str(), None, 0))
            .collect();
        let mut seen: HashSet<&str> = local.clone().into_iter().collect();
        while let Some((net, first_hop, hops)) = queue.pop_front() {
            for r in &t.routes {
                let next = if r.from == net {
                    r.to.as_str()
                } else if r.to == net {
                    r.from.as_str()
                } else {
                    continue;
                };
                if r.gateway == node.name || !seen.insert(next) {
                    continue;
                }
                let gw = first_hop.clone().or_else(|| {
                    a.address(&r.gateway, net)
                        .map(|ip| Nid::new(ip, net).to_string())
                });
                let Some(gw) = gw else { continue };
                found.insert(next, (gw.clone(), hops + 1));
                queue.push_back((next, Some(gw), hops + 1));
            }
        }
        let list: Vec<NodeRoute> = t
            .networks
            .iter()
            .filter_map(|n| {
                found.get(n.name.as_str()).map(|(gw, hops)| NodeRoute {
                    net: n.name.clone(),
                    gateway: gw.clone(),
                    hops: *hops,
                })
            })
            .collect();
        out.insert(node.name.clone(), list);
    }
    out
}
