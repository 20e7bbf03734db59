//! `lnet`, `lnet-check` and `route-check`: networks and routes on each node, a ping of every
//! peer on a shared network, and, later, a ping of every peer across routers.
//!
//! Routers forward only some time after routing is enabled (their router checks, see
//! `install::ROUTER_CHECK_SECS`), so the check across routers is its own phase, placed just
//! before the first mount that needs it: formatting and the mounts that need no router overlap
//! that wait instead of queueing behind it.

use lk_lustre::cmd;
use lk_lustre::shell::{join, quote};
use lk_model::topology::{Node, Role};

use super::install::ROUTER_CHECK_SECS;
use super::script::{s, Script, HELPER_NID_PRESENT, HELPER_WAIT_FOR};
use super::Ctx;

/// Seconds lnet-check retries a ping to a peer on a shared network, and route-check across
/// routers.
const LNET_PING_SECS: u32 = 60;
const LNET_ROUTED_PING_SECS: u32 = 300;

impl Ctx<'_> {
    pub(super) fn lnet(&self, node: &Node, sc: &mut Script) {
        sc.helper(HELPER_NID_PRESENT);
        sc.cmd(&s(&["modprobe", "lnet"]));
        sc.cmd(&cmd::lnet_configure());
        for (i, net) in node.networks.iter().enumerate() {
            let Some(ip) = self.a.address(&node.name, net) else {
                continue;
            };
            let nid = format!("{ip}@{net}");
            sc.cmd_unless(
                &format!("nid_configured {}", quote(&nid)),
                &cmd::lnet_net_add(net, &format!("eth{i}")),
            );
        }
        for r in self.a.routes(&node.name) {
            sc.cmd_unless(
                &format!("route_configured {} {}", quote(&r.net), quote(&r.gateway)),
                &cmd::lnet_route_add(&r.net, &r.gateway, r.hops),
            );
        }
        if node.has(Role::Router) {
            sc.cmd(&cmd::lnet_enable_routing());
        }
        sc.line("# Save the configuration and enable the lnet service, which restores it at boot");
        sc.line("# (a fenced node that boots again comes back with its NIDs and routes).");
        sc.commands
            .push("lnetctl export --backup > /etc/lnet.conf; systemctl enable lnet".into());
        sc.line("lnetctl export --backup >/etc/lnet.conf");
        sc.line("if [ -e /lib/systemd/system/lnet.service ] || [ -e /usr/lib/systemd/system/lnet.service ]; then");
        // --no-reload: only the next boot needs the link, and a daemon-reload costs seconds of
        // CPU per node under TCG (2.3 s against 0.14 s on an idle one).
        sc.line("    systemctl enable --no-reload lnet.service >/dev/null 2>&1 || log 'could not enable lnet.service'");
        sc.line("fi");
    }

    /// Peers a node must reach: clients and servers reach the MGS and every server NID they
    /// use; MDS nodes reach OSS nodes. Routers check their neighbours.
    /// (peer node, NID to ping).
    pub(super) fn peers(&self, node: &Node) -> Vec<(String, String)> {
        let t = self.t;
        let mut peers: Vec<&str> = Vec::new();
        let servers: Vec<&str> = t.targets().flat_map(|x| x.service_nodes()).collect();
        if node.has(Role::Client) {
            peers.extend(&servers);
        }
        if node.is_server() {
            peers.extend(t.mgt.service_nodes());
        }
        if node.has(Role::Mds) {
            peers.extend(t.osts.iter().flat_map(|x| x.service_nodes()));
        }
        if node.has(Role::Router) {
            peers.extend(
                t.routes
                    .iter()
                    .filter(|r| r.gateway != node.name)
                    .map(|r| r.gateway.as_str()),
            );
        }
        let mut out = Vec::new();
        for p in peers {
            if p == node.name || out.iter().any(|(n, _): &(String, String)| n == p) {
                continue;
            }
            // Ping the first NID of the peer on a shared network, else its first NID (routed).
            let Some(peer) = t.node(p) else { continue };
            let net = peer
                .networks
                .iter()
                .find(|n| node.networks.contains(n))
                .or(peer.networks.first());
            if let Some((net, ip)) = net.and_then(|n| Some((n, self.a.address(p, n)?))) {
                out.push((p.to_string(), format!("{ip}@{net}")));
            }
        }
        out
    }

    /// A ping sent while a route on its way is down waits for the peer's discovery to time out
    /// (`lnet_transaction_timeout`, 150 s), however short the ping's own timeout. So first wait
    /// until this node's routes are up, then one router check more, by which the routers have
    /// checked their next hops too.
    fn wait_for_routes(&self, node: &Node, sc: &mut Script) {
        sc.line("routes_up() { ! lnetctl route show -v 2>/dev/null | grep -q 'state: down'; }");
        sc.commands
            .push("lnetctl route show -v  (until no route is down)".into());
        sc.line(format!(
            "wait_for {LNET_ROUTED_PING_SECS} {} routes_up",
            quote(&format!("every route of {} to be up", node.name))
        ));
        sc.line(format!("sleep {ROUTER_CHECK_SECS}"));
    }

    /// Whether `node` reaches `peer` only through routers (they share no network).
    fn routed(&self, node: &Node, peer: &str) -> bool {
        self.t
            .node(peer)
            .is_some_and(|p| !p.networks.iter().any(|n| node.networks.contains(n)))
    }

    /// Nodes with a peer across routers: they run `route-check`.
    pub(super) fn route_checkers(&self) -> Vec<String> {
        self.lustre_nodes()
            .into_iter()
            .filter(|n| self.peers(n).iter().any(|(p, _)| self.routed(n, p)))
            .map(|n| n.name.clone())
            .collect()
    }

    fn ping_peers(&self, node: &Node, routed: bool, limit: u32, sc: &mut Script) {
        for (peer, nid) in self.peers(node) {
            if self.routed(node, &peer) != routed {
                continue;
            }
            sc.commands.push(join(&cmd::lnet_ping(&nid)));
            sc.line(format!(
                "wait_for {limit} {} ping_nid {}",
                quote(&format!(
                    "an LNet ping from {} to {peer} ({nid}) to succeed",
                    node.name
                )),
                quote(&nid)
            ));
        }
    }

    pub(super) fn lnet_check(&self, node: &Node, sc: &mut Script) {
        if !self.peers(node).iter().any(|(p, _)| !self.routed(node, p)) {
            sc.line("# No LNet peers on this node's networks to check.");
            return;
        }
        sc.helper(HELPER_WAIT_FOR);
        sc.line("ping_nid() { lnetctl ping \"$1\" >/dev/null 2>&1; }");
        self.ping_peers(node, false, LNET_PING_SECS, sc);
    }

    /// A route is down until the next check of its router (alive_router_check_interval), and
    /// a remote peer is only reached once every hop is up: wait for the routes, then ping.
    pub(super) fn route_check(&self, node: &Node, sc: &mut Script) {
        sc.helper(HELPER_WAIT_FOR);
        sc.line("ping_nid() { lnetctl ping \"$1\" >/dev/null 2>&1; }");
        self.wait_for_routes(node, sc);
        self.ping_peers(node, true, LNET_ROUTED_PING_SECS, sc);
    }
}
