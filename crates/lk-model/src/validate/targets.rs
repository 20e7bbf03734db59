//! Targets (MGT, MDTs, OSTs) and client mounts: placement on nodes with the right role,
//! indexes, sizes and one failover style.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::{is_absolute_clean, Sourced, TargetSpecs, Validator};
use crate::defaults as d;
use crate::raw::{self, FailoverMode, Role};
use crate::size::{format_size, parse_size};
use crate::topology::*;

impl Validator {
    pub(super) fn targets(
        &mut self,
        spec: &raw::ClusterSpec,
        specs: &TargetSpecs,
        nodes: &[Sourced<Node>],
        default_mode: FailoverMode,
    ) -> Option<(Target, Vec<Target>, Vec<Target>)> {
        let mut modes: Vec<(String, FailoverMode)> = Vec::new();
        let mgt = match &specs.mgt {
            None => {
                self.fail(
                    if spec.targets.is_some() {
                        "spec.targets.mgt"
                    } else {
                        "spec.targets"
                    },
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
        let mut indexed =
            |v: &mut Self, kind, list| v.indexed(kind, list, nodes, default_mode, &mut modes);
        let mdts = indexed(self, TargetKind::Mdt, &specs.mdts);
        let osts = indexed(self, TargetKind::Ost, &specs.osts);
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
        self.check_one_failover_style(&modes);
        Some((mgt?, mdts, osts))
    }

    /// MDTs or OSTs, each index used once, sorted by index.
    fn indexed(
        &mut self,
        kind: TargetKind,
        list: &[Sourced<raw::TargetSpec>],
        nodes: &[Sourced<Node>],
        default_mode: FailoverMode,
        modes: &mut Vec<(String, FailoverMode)>,
    ) -> Vec<Target> {
        let mut seen: BTreeMap<u16, String> = BTreeMap::new();
        let mut out = Vec::new();
        for Sourced { path, item } in list {
            let Some(t) = self.target(path, item, kind, nodes, default_mode, modes) else {
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
        out
    }

    /// Lustre cannot mix servicenode and failnode targets; `modes` has each target with a
    /// failover node and its style.
    fn check_one_failover_style(&mut self, modes: &[(String, FailoverMode)]) {
        let failover_modes: BTreeSet<FailoverMode> = modes.iter().map(|(_, m)| *m).collect();
        if failover_modes.len() <= 1 {
            return;
        }
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

    pub(super) fn target(
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
        self.check_placement(path, t, role, &label, nodes);
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
        let size_bytes = self.target_size(path, t.size.as_deref(), &label, default_size, min_size);
        (self.problems.len() == before).then(|| Target {
            kind,
            index: t.index as u16,
            node: t.node.clone(),
            failover: t.failover.clone(),
            failover_mode,
            size_bytes,
        })
    }

    /// The primary and failover nodes exist and have the role that serves `label`.
    fn check_placement(
        &mut self,
        path: &str,
        t: &raw::TargetSpec,
        role: Role,
        label: &str,
        nodes: &[Sourced<Node>],
    ) {
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
    }

    /// Size in bytes: `default_size` when unset, at least `min_size`.
    fn target_size(
        &mut self,
        path: &str,
        size: Option<&str>,
        label: &str,
        default_size: u64,
        min_size: u64,
    ) -> u64 {
        let Some(s) = size else {
            return default_size;
        };
        match parse_size(s) {
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
        }
    }

    pub(super) fn clients(
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
}
