//! Runs the planner's phases (install → lnet → lnet-check → format → mount-mgs → mount-mdt →
//! mount-ost → wait-ost → mount-client → verify) in order across the cluster: a phase starts on
//! its nodes only when every earlier phase is done everywhere. A phase counts as done on a node
//! when the node's agent reports that exact script (by digest) succeeded on the current VM
//! instance, so a replaced server, a changed script (the spec grew) or a failed run is run
//! again; every script is idempotent.

use std::collections::BTreeSet;

use lk_agent::report::PhaseState;
use lk_agent::runner::digest;
use lk_plan::{Plan, Stage};

use super::{Decision, Input, Note, Run};
use crate::error::{OperatorError, Result};
use crate::states::NodeState;

#[derive(Debug, Default)]
pub struct Progress {
    /// (phase, node) pairs done.
    done: BTreeSet<(String, String)>,
    /// Stages whose every phase is done on every node.
    stages_done: BTreeSet<Stage>,
    pub all_done: bool,
    /// What the cluster waits for, for the Provisioning condition.
    pub waiting: Option<String>,
    pub failures: Vec<String>,
}

impl Progress {
    pub fn done_on(&self, phase: &str, node: &str) -> bool {
        self.done.contains(&(phase.to_string(), node.to_string()))
    }

    pub fn stage_done(&self, stage: Stage) -> bool {
        self.stages_done.contains(&stage)
    }
}

fn last_line(text: &str) -> &str {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
}

/// The plan's script for `phase` on `node`. lk-plan writes one per (phase, node); a missing
/// one must not run as an empty script, which would "succeed" and mark the phase done.
pub fn script<'p>(plan: &'p Plan, phase: &lk_plan::Phase, node: &str) -> Result<&'p str> {
    let path = phase.script(node);
    match plan.files.get(&path) {
        Some(s) => Ok(s),
        None => Err(OperatorError::MissingScript {
            phase: phase.name.to_string(),
            node: node.to_string(),
            path,
        }),
    }
}

pub fn decide(input: &Input<'_>, d: &mut Decision) -> Progress {
    let plan = &input.validated.plan;
    let running: BTreeSet<String> = d
        .nodes
        .iter()
        .filter(|n| n.state == NodeState::Running)
        .map(|n| n.name.clone())
        .collect();
    let mut p = Progress::default();
    record_done(input, d, &running, &mut p);
    let phase_done =
        |name: &str, nodes: &[String], p: &Progress| nodes.iter().all(|n| p.done_on(name, n));
    for stage in [
        Stage::Install,
        Stage::Lnet,
        Stage::Format,
        Stage::Mount,
        Stage::Verify,
    ] {
        let phases: Vec<_> = plan.phases.iter().filter(|ph| ph.stage == stage).collect();
        if phases
            .iter()
            .all(|ph| phase_done(&ph.name.to_string(), &ph.nodes, &p))
        {
            p.stages_done.insert(stage);
        }
    }
    let Some(phase) = plan
        .phases
        .iter()
        .find(|ph| !phase_done(&ph.name.to_string(), &ph.nodes, &p))
    else {
        p.all_done = true;
        return p;
    };
    start(input, d, &running, phase, &mut p);
    p
}

/// Which (phase, node) pairs are done, into `p` and each node's `phasesDone`. A missing
/// script is reported (Degraded, and an event) and its phase never counts as done.
fn record_done(input: &Input<'_>, d: &mut Decision, running: &BTreeSet<String>, p: &mut Progress) {
    let plan = &input.validated.plan;
    for phase in &plan.phases {
        for node in &phase.nodes {
            let script = match script(plan, phase, node) {
                Ok(s) => s,
                Err(e) => {
                    p.failures.push(e.to_string());
                    d.events
                        .push(Note::warning("ScriptMissing", "RunPhase", e.to_string()));
                    continue;
                }
            };
            let ok = running.contains(node)
                && input
                    .observed
                    .report(node)
                    .and_then(|r| r.phases.get(&phase.name.to_string()))
                    .is_some_and(|r| {
                        r.state == PhaseState::Succeeded && r.digest == digest(script)
                    });
            if ok {
                p.done.insert((phase.name.to_string(), node.clone()));
            }
        }
    }
    for n in d.nodes.iter_mut() {
        n.phases_done = plan
            .phases
            .iter()
            .filter(|ph| p.done_on(&ph.name.to_string(), &n.name))
            .map(|ph| ph.name.to_string())
            .collect();
    }
}

/// Starts (or waits for, or retries) the first phase not done, on its pending nodes.
fn start(
    input: &Input<'_>,
    d: &mut Decision,
    running: &BTreeSet<String>,
    phase: &lk_plan::Phase,
    p: &mut Progress,
) {
    let plan = &input.validated.plan;
    let obs = input.observed;
    let pending: Vec<&String> = phase
        .nodes
        .iter()
        .filter(|n| !p.done_on(&phase.name.to_string(), n))
        .collect();
    let names: Vec<&str> = pending.iter().map(|s| s.as_str()).collect();
    p.waiting = Some(on_nodes(phase, &names));
    d.busy = true;
    if obs.token.is_none() {
        p.waiting = Some("the agent token Secret does not exist yet".into());
        return;
    }
    let mut started = Vec::new();
    for node in pending {
        let Some(address) = obs.agent_address(node, input.agent_port) else {
            continue;
        };
        if !running.contains(node.as_str()) {
            continue;
        }
        // Reported by `record_done` already.
        let Ok(script) = script(plan, phase, node) else {
            continue;
        };
        let record = obs
            .report(node)
            .and_then(|r| r.phases.get(&phase.name.to_string()));
        let run = |force| Run {
            node: node.clone(),
            address: address.clone(),
            phase: phase.name.to_string(),
            script: script.to_string(),
            force,
        };
        match record {
            Some(r) if r.state == PhaseState::Running => {
                let ran = input.now - r.started_unix as i64;
                if ran > input.timeouts.phase {
                    p.failures.push(format!(
                        "phase {} on {node} has run for {ran}s (phaseSeconds is {})",
                        phase.name, input.timeouts.phase
                    ));
                }
            }
            Some(r) if r.state == PhaseState::Failed && r.digest == digest(script) => {
                let detail = format!(
                    "phase {} failed on {node} (exit {}): {}",
                    phase.name,
                    r.exit_code.map_or("none".into(), |c| c.to_string()),
                    last_line(&r.output_tail)
                );
                p.failures.push(detail.clone());
                let finished = r.finished_unix.unwrap_or(r.started_unix) as i64;
                if input.now - finished >= input.retry_seconds {
                    d.events.push(Note::warning(
                        "PhaseFailed",
                        "RunPhase",
                        format!("{detail}; running it again"),
                    ));
                    d.runs.push(run(true));
                }
            }
            _ => {
                d.runs.push(run(false));
                started.push(node.as_str());
            }
        }
    }
    if !started.is_empty() {
        d.events.push(Note::normal(
            "PhaseStarted",
            "RunPhase",
            on_nodes(phase, &started),
        ));
    }
}

/// `phase NAME (DESCRIPTION) on NODE, NODE`.
fn on_nodes(phase: &lk_plan::Phase, nodes: &[&str]) -> String {
    format!(
        "phase {} ({}) on {}",
        phase.name,
        phase.description,
        nodes.join(", ")
    )
}
