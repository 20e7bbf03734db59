//! The compact `spec.layout`, expanded into nodes, targets and clients ahead of the explicit
//! ones, each remembering the field it came from.

use super::{Sourced, TargetSpecs, Validator};
use crate::defaults as d;
use crate::raw::{self, Role};

/// Node, target and client specs with the fields they came from.
pub(super) type Expanded = (
    Vec<Sourced<raw::NodeSpec>>,
    TargetSpecs,
    Vec<Sourced<raw::ClientSpec>>,
);

impl Validator {
    /// The compact layout expanded ahead of the explicit nodes, targets and clients.
    pub(super) fn expand(&mut self, spec: &raw::ClusterSpec) -> Expanded {
        let mut nodes = Vec::new();
        let mut targets = TargetSpecs::default();
        if let Some(layout) = &spec.layout {
            let counts = self.layout_counts(layout);
            nodes = layout_nodes(counts);
            targets = layout_targets(layout, counts);
        }
        for (i, n) in spec.nodes.iter().enumerate() {
            nodes.push(Sourced {
                path: format!("spec.nodes[{i}]"),
                item: n.clone(),
            });
        }
        if let Some(t) = &spec.targets {
            self.explicit_targets(t, &mut targets);
        }
        let clients = spec
            .clients
            .iter()
            .enumerate()
            .map(|(i, c)| Sourced {
                path: format!("spec.clients[{i}]"),
                item: c.clone(),
            })
            .collect();
        (nodes, targets, clients)
    }

    /// MDS, OSS, OSTs per OSS and client counts, each checked and clamped to its range.
    fn layout_counts(&mut self, layout: &raw::LayoutSpec) -> LayoutCounts {
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
        LayoutCounts {
            mds: counts[0],
            oss: counts[1],
            per_oss: counts[2],
            clients: counts[3],
        }
    }

    fn explicit_targets(&mut self, t: &raw::TargetsSpec, targets: &mut TargetSpecs) {
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
}

#[derive(Clone, Copy)]
struct LayoutCounts {
    mds: u32,
    oss: u32,
    per_oss: u32,
    clients: u32,
}

const LAYOUT: &str = "spec.layout";

/// `mds1` (also the MGS) .. `mdsN`, `oss1` .. `ossN`, `client1` .. `clientN`.
fn layout_nodes(c: LayoutCounts) -> Vec<Sourced<raw::NodeSpec>> {
    let node = |name: String, roles: Vec<Role>| Sourced {
        path: LAYOUT.to_string(),
        item: raw::NodeSpec {
            name,
            roles,
            vcpus: None,
            memory: None,
            networks: vec![],
        },
    };
    let mut nodes = Vec::new();
    for m in 1..=c.mds {
        let roles = if m == 1 {
            vec![Role::Mgs, Role::Mds]
        } else {
            vec![Role::Mds]
        };
        nodes.push(node(format!("mds{m}"), roles));
    }
    for o in 1..=c.oss {
        nodes.push(node(format!("oss{o}"), vec![Role::Oss]));
    }
    for n in 1..=c.clients {
        nodes.push(node(format!("client{n}"), vec![Role::Client]));
    }
    nodes
}

/// The MGT on mds1, one MDT per MDS, `per_oss` OSTs per OSS numbered across them.
fn layout_targets(layout: &raw::LayoutSpec, c: LayoutCounts) -> TargetSpecs {
    let target = |index: u32, node: String, size: &Option<String>| Sourced {
        path: LAYOUT.to_string(),
        item: raw::TargetSpec {
            index: i64::from(index),
            node,
            failover: None,
            failover_mode: None,
            size: size.clone(),
        },
    };
    let mut targets = TargetSpecs {
        mgt: Some(Sourced {
            path: LAYOUT.to_string(),
            item: raw::MgtSpec {
                node: "mds1".into(),
                failover: None,
                failover_mode: None,
                size: None,
            },
        }),
        ..TargetSpecs::default()
    };
    for m in 0..c.mds {
        targets
            .mdts
            .push(target(m, format!("mds{}", m + 1), &layout.mdt_size));
    }
    for o in 0..c.oss {
        for k in 0..c.per_oss {
            targets.osts.push(target(
                o * c.per_oss + k,
                format!("oss{}", o + 1),
                &layout.ost_size,
            ));
        }
    }
    targets
}
