//! The compact `spec.layout`, expanded into nodes, targets and clients ahead of the explicit
//! ones, each remembering the field it came from.

use super::{Sourced, TargetSpecs, Validator};
use crate::defaults as d;
use crate::raw::{self, Role};

impl Validator {
    /// The compact layout expanded ahead of the explicit nodes, targets and clients.
    #[allow(clippy::type_complexity)]
    pub(super) fn expand(
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
}
