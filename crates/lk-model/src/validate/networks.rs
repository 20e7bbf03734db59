//! LNet networks and routes, and that every node reaches every server it needs.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use super::{is_lnet_name, Sourced, Validator};
use crate::defaults as d;
use crate::net::Ipv4Cidr;
use crate::raw;
use crate::topology::*;

impl Validator {
    pub(super) fn networks(&mut self, cluster: &str, spec: &raw::ClusterSpec) -> Vec<Network> {
        if spec.networks.is_empty() {
            let default = d::network_cidr(cluster);
            return match Ipv4Cidr::parse(&default) {
                Ok(cidr) => vec![Network {
                    name: d::NETWORK_NAME.into(),
                    cidr,
                }],
                // The default comes from the cluster name: a failure is lustrekit's bug, and
                // it must not read as "no network".
                Err(e) => {
                    self.fail(
                        "spec.networks",
                        format!("internal: the default network {default} is not valid: {e}"),
                    );
                    Vec::new()
                }
            };
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

    pub(super) fn routes(
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

    /// Every client must reach every server over LNet: a shared network or a chain of routes.
    pub(super) fn check_reachability<'a>(
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
}
