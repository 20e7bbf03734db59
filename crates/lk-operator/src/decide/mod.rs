//! Step 4 (pure): from the validated spec, what was observed and the previous status, decide
//! the new status and every action: which VMs to fence, which phase scripts to run where,
//! which OSTs to drain, which events to emit. No client, no clock (the time is an input).
//!
//! - [`nodes`]: per-node state machine (boot, failure, fencing, replacement);
//! - [`phases`]: runs the planner's phases in order across nodes;
//! - [`drain`]: scale-down (refusal, or deactivate → migrate → remove);
//! - this file: targets, conditions and the summary phase.

pub mod drain;
pub mod nodes;
pub mod phases;

use std::collections::BTreeSet;

use lk_agent::parse::recovery::Status as Recovery;
use lk_model::topology::TargetKind;

use crate::conditions::{self as c, Cond};
use crate::crd::{LustreCluster, NodeStatus, TargetStatus};
use crate::names;
use crate::observe::Observed;
use crate::settings::Effective;
use crate::states::{ClusterPhase, NodeState, TargetState};
use crate::validate::Validated;

pub struct Input<'a> {
    pub lc: &'a LustreCluster,
    pub validated: &'a Validated,
    pub observed: &'a Observed,
    /// Unix seconds.
    pub now: i64,
    pub timeouts: Effective,
    pub agent_port: u16,
    /// Seconds before a failed phase is retried.
    pub retry_seconds: i64,
}

impl Input<'_> {
    pub fn cluster(&self) -> &str {
        self.lc.metadata.name.as_deref().unwrap_or_default()
    }

    pub fn prev_nodes(&self) -> &[NodeStatus] {
        self.lc
            .status
            .as_ref()
            .map(|s| s.nodes.as_slice())
            .unwrap_or_default()
    }
}

/// A Kubernetes Event to publish on the LustreCluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub warning: bool,
    pub reason: &'static str,
    pub action: &'static str,
    pub note: String,
}

impl Note {
    pub fn normal(reason: &'static str, action: &'static str, note: impl Into<String>) -> Self {
        Note {
            warning: false,
            reason,
            action,
            note: note.into(),
        }
    }

    pub fn warning(reason: &'static str, action: &'static str, note: impl Into<String>) -> Self {
        Note {
            warning: true,
            reason,
            action,
            note: note.into(),
        }
    }
}

/// Run a script through a node's agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub node: String,
    pub address: String,
    pub phase: String,
    pub script: String,
    pub force: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Decision {
    pub nodes: Vec<NodeStatus>,
    pub targets: Vec<TargetStatus>,
    /// Nodes whose VM must be built halted (fencing).
    pub halted: BTreeSet<String>,
    /// VMI names to delete (power off).
    pub delete_vmis: Vec<String>,
    /// VM names to delete (nodes no longer in the spec).
    pub delete_vms: Vec<String>,
    pub runs: Vec<Run>,
    /// PVCs to label as drained.
    pub drained_pvcs: Vec<String>,
    pub events: Vec<Note>,
    pub conditions: Vec<Cond>,
    /// One word for the printer column.
    pub phase: ClusterPhase,
    pub ost_count: u32,
    /// Something is in progress: check again soon.
    pub busy: bool,
}

pub fn decide(input: &Input<'_>) -> Decision {
    let mut d = Decision::default();
    nodes::decide(input, &mut d);
    let progress = phases::decide(input, &mut d);
    let drain = drain::decide(input, &mut d, progress.all_done);
    targets(input, &mut d, &progress);
    replacements(input, &mut d, &progress);
    conditions(input, &mut d, &progress, &drain);
    d
}

fn targets(input: &Input<'_>, d: &mut Decision, progress: &phases::Progress) {
    let t = &input.validated.topology;
    for target in t.targets() {
        let name = t.target_name(target);
        let label = name.label();
        let served = target.service_nodes().find_map(|n| {
            input
                .observed
                .report(n)
                .and_then(|r| r.target(&label))
                .map(|h| (n.to_string(), h))
        });
        let (node, state, recovery) = match served {
            Some((n, h)) if h.is_serving() => (n, TargetState::Mounted, h.recovery),
            Some((n, h)) if h.is_up() => (n, TargetState::Recovering, h.recovery),
            Some((n, h)) => (n, TargetState::Down, h.recovery),
            None => {
                let formatted = progress.done_on("format", &target.node);
                let state = if formatted {
                    TargetState::Formatted
                } else {
                    TargetState::Pending
                };
                (target.node.clone(), state, None)
            }
        };
        let in_service = matches!(state, TargetState::Mounted | TargetState::Recovering);
        if target.kind == TargetKind::Ost && in_service {
            d.ost_count += 1;
        }
        d.targets.push(TargetStatus {
            label,
            kind: target.kind.as_str().into(),
            index: target.index,
            node,
            pvc: names::pvc(input.cluster(), &name),
            state,
            recovery: recovery.map(|r| recovery_word(r).to_string()),
        });
    }
}

/// The target's `recovery_status` word, as Lustre prints it.
fn recovery_word(r: Recovery) -> &'static str {
    match r {
        Recovery::Complete => "COMPLETE",
        Recovery::Recovering => "RECOVERING",
        Recovery::Inactive => "INACTIVE",
        Recovery::Waiting => "WAITING",
        Recovery::WaitingForClients => "WAITING_FOR_CLIENTS",
    }
}

/// A replacement ends when the node runs every phase again and each target it serves is
/// mounted with recovery complete; past `recoverySeconds` a warning is emitted (once).
fn replacements(input: &Input<'_>, d: &mut Decision, progress: &phases::Progress) {
    let t = &input.validated.topology;
    let plan = &input.validated.plan;
    for n in d.nodes.iter_mut() {
        let Some(started) = n.replacement_started_unix else {
            continue;
        };
        let phases_done = plan
            .phases
            .iter()
            .filter(|p| p.nodes.contains(&n.name))
            .all(|p| progress.done_on(&p.name.to_string(), &n.name));
        let labels: Vec<String> = t
            .targets()
            .filter(|x| x.node == n.name)
            .map(|x| t.target_name(x).label())
            .collect();
        let mounted = d
            .targets
            .iter()
            .filter(|x| labels.contains(&x.label))
            .all(|x| x.state == TargetState::Mounted);
        if n.state == NodeState::Running && phases_done && mounted {
            d.events.push(Note::normal(
                "ServerRecovered",
                "Replace",
                format!(
                    "{} replaced in {}s: same volumes and NIDs, targets mounted and recovered",
                    n.name,
                    input.now - started
                ),
            ));
            n.replacement_started_unix = None;
            n.recovery_timed_out = false;
        } else if input.now - started > input.timeouts.recovery && !n.recovery_timed_out {
            n.recovery_timed_out = true;
            d.events.push(Note::warning(
                "RecoveryTimedOut",
                "Replace",
                format!(
                    "{} has not recovered {}s after its replacement began (recoverySeconds is {})",
                    n.name,
                    input.now - started,
                    input.timeouts.recovery
                ),
            ));
        }
    }
}

fn conditions(
    input: &Input<'_>,
    d: &mut Decision,
    progress: &phases::Progress,
    drain: &drain::Outcome,
) {
    d.conditions.push(Cond::new(
        c::SPEC_ACCEPTED,
        true,
        "Valid",
        "the topology is valid",
    ));
    let stage = |s: lk_plan::Stage, type_: &'static str, what: &str| {
        let ok = progress.stage_done(s);
        Cond::new(
            type_,
            ok,
            if ok { "Done" } else { "Waiting" },
            if ok {
                format!("{what} on every node")
            } else {
                format!("{what}: not yet on every node")
            },
        )
    };
    d.conditions.push(stage(
        lk_plan::Stage::Lnet,
        c::LNET_READY,
        "LNet configured and peers reachable",
    ));
    d.conditions.push(stage(
        lk_plan::Stage::Format,
        c::FORMATTED,
        "targets formatted",
    ));
    d.conditions.push(stage(
        lk_plan::Stage::Mount,
        c::MOUNTED,
        "targets and clients mounted",
    ));
    let degraded = degraded(input, d, progress);
    summary(d, progress, drain, &degraded);
}

/// Every problem seen, as (reason, message); the first reason names the Degraded condition.
fn degraded(
    input: &Input<'_>,
    d: &Decision,
    progress: &phases::Progress,
) -> Vec<(&'static str, String)> {
    let mut degraded: Vec<(&'static str, String)> = Vec::new();
    for n in &d.nodes {
        match &n.state {
            NodeState::Fencing | NodeState::Restarting => degraded.push((
                "ServerReplacing",
                format!("{} is being replaced ({})", n.name, n.state),
            )),
            NodeState::Unreachable => degraded.push((
                "AgentUnreachable",
                format!("the agent of {} does not answer", n.name),
            )),
            NodeState::BootTimedOut => {
                degraded.push(("BootTimedOut", format!("{} did not boot in time", n.name)))
            }
            // Not a problem (yet): still coming up, or serving.
            NodeState::Pending | NodeState::Booting | NodeState::Running => {}
            // `nodes::decide` derives every state afresh, so this cannot come from there.
            NodeState::Unknown(word) => degraded.push((
                "UnknownNodeState",
                format!("{} is in the unknown state `{word}`", n.name),
            )),
        }
        if n.replacement_started_unix.is_some() && n.state == NodeState::Running {
            degraded.push((
                "Recovering",
                format!(
                    "{} was replaced; waiting for its targets to recover",
                    n.name
                ),
            ));
        }
    }
    for (node, report) in &input.observed.reports {
        if let Ok(r) = report {
            if r.health.as_ref().is_some_and(|h| !h.healthy) {
                degraded.push((
                    "Unhealthy",
                    format!("health_check on {node} says NOT HEALTHY"),
                ));
            }
        }
    }
    for t in &d.targets {
        if t.state == TargetState::Down {
            degraded.push(("TargetDown", format!("{} on {} is not UP", t.label, t.node)));
        }
    }
    for f in &progress.failures {
        degraded.push(("PhaseFailed", f.clone()));
    }
    degraded
}

/// Degraded, Provisioning, Ready and DeletionIsBlocked, and the one-word phase.
fn summary(
    d: &mut Decision,
    progress: &phases::Progress,
    drain: &drain::Outcome,
    degraded: &[(&'static str, String)],
) {
    let is_degraded = !degraded.is_empty();
    d.conditions.push(match degraded.first() {
        Some((reason, _)) => Cond::new(
            c::DEGRADED,
            true,
            reason,
            degraded
                .iter()
                .map(|(_, m)| m.as_str())
                .collect::<Vec<_>>()
                .join("; "),
        ),
        None => Cond::new(c::DEGRADED, false, "Healthy", "no problem seen"),
    });

    let all_running = d.nodes.iter().all(|n| n.state == NodeState::Running);
    let provisioning = !progress.all_done || !all_running;
    d.conditions.push(Cond::new(
        c::PROVISIONING,
        provisioning,
        if provisioning { "InProgress" } else { "Done" },
        if provisioning {
            progress
                .waiting
                .clone()
                .unwrap_or_else(|| "waiting for servers".into())
        } else {
            "every phase done".into()
        },
    ));
    let all_mounted = d.targets.iter().all(|t| t.state == TargetState::Mounted);
    let ready = !provisioning && !is_degraded && all_mounted && !drain.in_progress;
    d.conditions.push(Cond::new(
        c::READY,
        ready,
        if ready {
            "Ready"
        } else if drain.in_progress {
            "Draining"
        } else if is_degraded {
            "Degraded"
        } else {
            "Provisioning"
        },
        if ready {
            "every target is mounted and healthy".to_string()
        } else {
            "not every target is mounted and healthy".to_string()
        },
    ));
    d.conditions.push(Cond::new(
        c::DELETION_IS_BLOCKED,
        false,
        "NotDeleting",
        "the cluster is not being deleted",
    ));
    d.phase = if ready {
        ClusterPhase::Ready
    } else if is_degraded && progress.all_done {
        ClusterPhase::Degraded
    } else if drain.in_progress {
        ClusterPhase::Draining
    } else {
        ClusterPhase::Provisioning
    };
    d.busy |= !ready;
}

#[cfg(test)]
pub(crate) mod tests;
