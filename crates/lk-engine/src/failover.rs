//! Moving a target between the two nodes of its failover pair, with the order DESIGN §5
//! gives: controlled (release on the old node: umount, `zpool export`; takeover on the new
//! one: import, mount, wait for recovery) or hard (fence the old node by powering its VM off,
//! then `zpool import -f`), then the clients' verify phase. Where each target is served is
//! kept in `<cluster>/active.json`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use lk_plan::{FailoverTarget, Phase, PhaseName, Plan, Stage};
use serde::Serialize;

use crate::error::Error;
use crate::observe::Observer;
use crate::provider::{DomainState, Provider};
use crate::stages::{run_on, StageOptions};
use crate::{cluster_dir, write_atomic};

pub(crate) const ACTIVE_FILE: &str = "active.json";

/// Where each failover target is served now (label → node); absent means its primary. No
/// file means every target is on its primary; a damaged one is an error, never "primary".
pub fn active(cluster_dir: &Path) -> Result<BTreeMap<String, String>, Error> {
    let p = cluster_dir.join(ACTIVE_FILE);
    match std::fs::read(&p) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(Error::io("read", &p)(e)),
        Ok(b) => serde_json::from_slice(&b).map_err(|source| Error::Damaged { file: p, source }),
    }
}

/// Finds a failover target by label (`fs-OST0001`), facet (`ost2`) or, for the MGS, `mgs`.
pub fn find<'p>(plan: &'p Plan, name: &str) -> Result<&'p FailoverTarget, Error> {
    plan.failover
        .iter()
        .find(|f| f.label.eq_ignore_ascii_case(name) || f.facet == name)
        .ok_or_else(|| Error::NoFailover {
            target: name.into(),
            known: if plan.failover.is_empty() {
                "none: no target has a failover node in this topology".into()
            } else {
                plan.failover
                    .iter()
                    .map(|f| format!("{} ({})", f.label, f.facet))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        })
}

#[derive(Debug, Clone, Serialize)]
pub struct Move {
    pub target: String,
    pub from: String,
    pub to: String,
    /// The old node was powered off first (fencing) and the pool force-imported.
    pub fenced: bool,
    /// Other targets the fenced node served, moved with this one (`fs-MDT0000 to mds2`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub with: Vec<String>,
    pub seconds: f64,
    /// Verify output per client after the move.
    pub verified: BTreeMap<String, String>,
}

/// The two scripts that move a target: release it on one node, take it over on the other.
#[derive(Debug, Clone, Copy)]
enum Verb {
    Release,
    Takeover,
}

fn script_phase(verb: Verb, f: &FailoverTarget) -> Phase {
    let facet = f.facet.clone();
    Phase {
        name: match verb {
            Verb::Release => PhaseName::Release { facet },
            Verb::Takeover => PhaseName::Takeover { facet },
        },
        stage: Stage::Mount,
        description: String::new(),
        nodes: vec![f.primary.clone(), f.partner.clone()],
    }
}

/// Moves `target` to `to` (default: the other node of its pair). `hard` fences the current
/// node (powers its VM off) instead of releasing the target there.
pub fn failover(
    lv: &dyn Provider,
    plan: &Plan,
    target: &str,
    to: Option<&str>,
    hard: bool,
    opts: &StageOptions,
    obs: &dyn Observer,
) -> Result<Move, Error> {
    let t0 = Instant::now();
    let f = find(plan, target)?;
    let dir = cluster_dir(plan);
    let mut act = active(&dir)?;
    let from = act
        .get(&f.label)
        .cloned()
        .unwrap_or_else(|| f.primary.clone());
    let to = match to {
        Some(n) if n == f.primary || n == f.partner => n.to_string(),
        Some(n) => {
            return Err(Error::NoFailover {
                target: format!("{} on node {n}", f.label),
                known: format!("{} is served by {} or {}", f.label, f.primary, f.partner),
            })
        }
        None if from == f.primary => f.partner.clone(),
        None => f.primary.clone(),
    };
    if to == from {
        return Err(Error::NoFailover {
            target: format!("{} to {to}", f.label),
            known: format!("it is already served by {to}"),
        });
    }
    // Fencing powers off everything the old node serves: its other failover targets move with
    // this one, each to its other node, in mount order (an MGS before the MDT beside it).
    let moving: Vec<(&FailoverTarget, String)> = plan
        .failover
        .iter()
        .filter_map(|g| {
            if g.label == f.label {
                return Some((g, to.clone()));
            }
            let served = act.get(&g.label).unwrap_or(&g.primary);
            (hard && *served == from).then(|| (g, other_node(g, &from)))
        })
        .collect();
    if hard {
        // Fencing first: a frozen owner that comes back with the pool imported loses writes.
        lv.power_off(domain_of(plan, &from)?)
            .map_err(Error::provider)?;
    } else {
        run_on(
            lv,
            plan,
            &script_phase(Verb::Release, f),
            &from,
            &[],
            opts,
            obs,
        )?;
    }
    let args: &[&str] = if hard { &["--force"] } else { &[] };
    let p = dir.join(ACTIVE_FILE);
    for (g, dest) in &moving {
        run_on(
            lv,
            plan,
            &script_phase(Verb::Takeover, g),
            dest,
            args,
            opts,
            obs,
        )?;
        // Recorded after each takeover, so a failure half-way leaves the truth behind.
        act.insert(g.label.clone(), dest.clone());
        let json = serde_json::to_vec_pretty(&act).map_err(|source| Error::Json {
            action: "serialise",
            path: p.clone(),
            source,
        })?;
        write_atomic(&p, &json)?;
    }

    let mut verified = BTreeMap::new();
    if let Some(verify) = plan
        .phases
        .iter()
        .find(|p| p.name == PhaseName::VerifyClients)
    {
        for client in &verify.nodes {
            let line = run_on(lv, plan, verify, client, &[], opts, obs)?;
            verified.insert(client.clone(), line);
        }
    }
    Ok(Move {
        target: f.label.clone(),
        with: moving
            .iter()
            .filter(|(g, _)| g.label != f.label)
            .map(|(g, dest)| format!("{} to {dest}", g.label))
            .collect(),
        from,
        to,
        fenced: hard,
        seconds: t0.elapsed().as_secs_f64(),
        verified,
    })
}

/// The node of `g`'s pair that is not `node`.
fn other_node(g: &FailoverTarget, node: &str) -> String {
    if g.primary == node {
        g.partner.clone()
    } else {
        g.primary.clone()
    }
}

/// The domain of `node`; a failover pair naming a node the plan does not have is an error
/// (fencing "" would power off nothing and then force-import a pool still in use).
fn domain_of<'p>(plan: &'p Plan, node: &str) -> Result<&'p str, Error> {
    plan.nodes
        .iter()
        .find(|p| p.node == node)
        .map(|p| p.domain.as_str())
        .ok_or_else(|| Error::UnknownNode {
            node: node.into(),
            known: crate::node_names(plan),
        })
}

/// Moves `target` back to its primary node (controlled).
pub fn failback(
    lv: &dyn Provider,
    plan: &Plan,
    target: &str,
    opts: &StageOptions,
    obs: &dyn Observer,
) -> Result<Move, Error> {
    let f = find(plan, target)?;
    let primary_domain = domain_of(plan, &f.primary)?;
    if lv.domain_state(primary_domain).map_err(Error::provider)? != Some(DomainState::Running) {
        return Err(Error::NoFailover {
            target: format!("{} back to {}", f.label, f.primary),
            known: format!(
                "{} is not running (fenced by a hard failover?): boot it with `lustrekit up FILE --until infra`, then fail back",
                f.primary
            ),
        });
    }
    failover(lv, plan, target, Some(&f.primary), false, opts, obs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_with(failover: Vec<FailoverTarget>) -> Plan {
        let t = lk_model::load(
            std::fs::read(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../examples/ha.yaml"
            ))
            .unwrap_or_default()
            .as_slice(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let mut p = lk_plan::plan(&t, &lk_plan::PlanOptions::default());
        if !failover.is_empty() {
            p.failover = failover;
        }
        p
    }

    #[test]
    fn targets_are_found_by_label_or_facet() {
        let p = plan_with(Vec::new());
        let by_label = find(&p, "hafs-OST0001").map(|f| f.facet.clone()).ok();
        let by_facet = find(&p, "ost2").map(|f| f.label.clone()).ok();
        assert_eq!(by_label.as_deref(), Some("ost2"));
        assert_eq!(by_facet.as_deref(), Some("hafs-OST0001"));
        match find(&p, "ost9") {
            Err(Error::NoFailover { known, .. }) => assert!(known.contains("hafs-OST0000 (ost1)")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn each_pair_has_release_and_takeover_scripts_on_both_nodes() {
        let p = plan_with(Vec::new());
        assert!(!p.failover.is_empty());
        for f in &p.failover {
            for verb in [Verb::Release, Verb::Takeover] {
                let ph = script_phase(verb, f);
                for n in [&f.primary, &f.partner] {
                    assert!(p.files.contains_key(&ph.script(n)), "{}", ph.script(n));
                }
            }
        }
    }
}
