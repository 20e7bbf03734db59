//! Per-node state machine. States: Pending (no VM yet), Booting (VM, no running instance),
//! Running (agent answers), Unreachable (running, agent silent), Fencing (the instance is
//! being powered off before a replacement may import the node's targets: DESIGN.md §5's rule
//! for shared disks, applied to every server), Restarting (fenced; a new instance with the same
//! PVCs and NIDs is starting), BootTimedOut.

use super::{Decision, Input, Note};
use crate::agent_client::AgentCallError;
use crate::crd::NodeStatus;
use crate::kubevirt::VmiView;
use crate::names;
use crate::states::{NodeState, VmiPhase};

pub fn decide(input: &Input<'_>, d: &mut Decision) {
    for node_plan in &input.validated.plan.nodes {
        let n = node(input, d, node_plan);
        if n.state == NodeState::Fencing {
            d.halted.insert(n.name.clone());
        }
        if n.state != NodeState::Running {
            d.busy = true;
        }
        d.nodes.push(n);
    }
}

fn node(input: &Input<'_>, d: &mut Decision, node_plan: &lk_plan::NodePlan) -> NodeStatus {
    let node = node_plan.node.as_str();
    // No previous entry: a node this status never saw, i.e. Pending.
    let prev = input
        .prev_nodes()
        .iter()
        .find(|n| n.name == node)
        .cloned()
        .unwrap_or_default();
    if let NodeState::Unknown(word) = &prev.state {
        d.events.push(Note::warning(
            "UnknownNodeState",
            "Observe",
            format!("the status of {node} says `{word}`, a state this operator does not know; deriving it again"),
        ));
    }
    let vm = input.observed.vms.get(node);
    let vmi = input.observed.vmis.get(node);
    if let Some(VmiView {
        phase: VmiPhase::Unknown(word),
        name,
        ..
    }) = vmi
    {
        d.events.push(Note::warning(
            "UnknownInstancePhase",
            "Observe",
            format!("VirtualMachineInstance {name} is in phase `{word}`, which this operator does not know; treating it as not running"),
        ));
    }
    let report = input.observed.reports.get(node);
    let mut n = NodeStatus {
        name: node.to_string(),
        vm: names::vm(input.cluster(), node),
        nids: node_plan.nids.clone(),
        state: NodeState::Pending,
        vmi_uid: vmi.map(|v| v.uid.clone()),
        agent_reachable: matches!(report, Some(Ok(_))),
        since_unix: prev.since_unix,
        replacement_started_unix: prev.replacement_started_unix,
        replacements: prev.replacements,
        recovery_timed_out: prev.recovery_timed_out,
        phases_done: Vec::new(),
    };
    let now = input.now;
    if prev.state == NodeState::Fencing {
        fencing(&mut n, d, vmi, now);
    } else if vm.is_none() {
        n.state = NodeState::Pending;
        if prev.vmi_uid.is_some() && prev.state != NodeState::Pending {
            n.replacement_started_unix.get_or_insert(now);
            n.replacements += 1;
            d.events.push(Note::warning(
                "ServerRecreated",
                "Recreate",
                format!(
                    "VirtualMachine {} was deleted; recreating it with the same volumes and NIDs",
                    n.vm
                ),
            ));
        }
    } else if let Some(v) = vmi.filter(|v| v.is_failed()) {
        d.delete_vmis.push(v.name.clone());
        let why = Note::warning(
            "ServerFailed",
            "Fence",
            format!("the instance of {node} is {}; powering it off before a replacement imports its targets", v.phase),
        );
        fence(&mut n, d, now, why);
    } else if let Some(v) = vmi.filter(|v| v.is_running()) {
        running(input, &mut n, d, &prev, v, report);
    } else {
        // A VM without a running instance: KubeVirt is starting one.
        booting(input, &mut n, d, &prev, WaitingFor::Instance);
    }
    n
}

fn fence(n: &mut NodeStatus, d: &mut Decision, now: i64, why: Note) {
    n.state = NodeState::Fencing;
    n.since_unix = Some(now);
    if n.replacement_started_unix.is_none() {
        n.replacement_started_unix = Some(now);
        n.replacements += 1;
    }
    d.events.push(why);
}

/// Fencing lasts until the old instance is gone; then the replacement starts.
fn fencing(n: &mut NodeStatus, d: &mut Decision, vmi: Option<&VmiView>, now: i64) {
    match vmi {
        Some(v) => {
            n.state = NodeState::Fencing;
            if !v.deleting {
                d.delete_vmis.push(v.name.clone());
            }
        }
        None => {
            n.state = NodeState::Restarting;
            n.since_unix = Some(now);
            d.events.push(Note::normal(
                "ServerFenced",
                "Fence",
                format!("the old instance of {} is powered off; starting a replacement with the same volumes and NIDs", n.name),
            ));
        }
    }
}

/// A running instance: Running when its agent answers; otherwise still booting (the agent
/// starts after cloud-init), or Unreachable and, past `replaceAfterSeconds`, fenced.
fn running(
    input: &Input<'_>,
    n: &mut NodeStatus,
    d: &mut Decision,
    prev: &NodeStatus,
    v: &VmiView,
    report: Option<&Result<lk_agent::HealthReport, AgentCallError>>,
) {
    let now = input.now;
    if let Some(Ok(_)) = report {
        n.state = NodeState::Running;
        n.since_unix = None;
        if prev.state == NodeState::Restarting {
            d.events.push(Note::normal(
                "ServerReplaced",
                "Replace",
                format!(
                    "the replacement of {} is up; remounting its targets",
                    n.name
                ),
            ));
        }
        return;
    }
    let was_booting = match prev.state {
        NodeState::Restarting
        | NodeState::Booting
        | NodeState::Pending
        | NodeState::BootTimedOut => true,
        // An unknown word was reported above; an agent gone silent is the safe reading.
        NodeState::Running
        | NodeState::Unreachable
        | NodeState::Fencing
        | NodeState::Unknown(_) => false,
    };
    if was_booting {
        booting(input, n, d, prev, WaitingFor::Agent);
        return;
    }
    let since = if prev.state == NodeState::Unreachable {
        prev.since_unix.unwrap_or(now)
    } else {
        now
    };
    n.since_unix = Some(since);
    if now - since >= input.timeouts.replace_after {
        d.delete_vmis.push(v.name.clone());
        let why = Note::warning(
            "AgentUnreachable",
            "Fence",
            format!(
                "the agent of {} has not answered for {}s; powering the server off to replace it",
                n.name,
                now - since
            ),
        );
        fence(n, d, now, why);
    } else {
        n.state = NodeState::Unreachable;
    }
}

/// What a booting node still lacks (for the BootTimedOut event).
enum WaitingFor {
    /// KubeVirt has not started an instance.
    Instance,
    /// The instance runs; its agent has not answered.
    Agent,
}

/// Booting (or still Restarting), until `bootSeconds` pass: then BootTimedOut, reported once.
fn booting(
    input: &Input<'_>,
    n: &mut NodeStatus,
    d: &mut Decision,
    prev: &NodeStatus,
    what: WaitingFor,
) {
    let now = input.now;
    let since = *n.since_unix.get_or_insert(now);
    n.state = match prev.state {
        NodeState::Restarting => NodeState::Restarting,
        NodeState::BootTimedOut => NodeState::BootTimedOut,
        NodeState::Pending
        | NodeState::Booting
        | NodeState::Running
        | NodeState::Unreachable
        | NodeState::Fencing
        | NodeState::Unknown(_) => NodeState::Booting,
    };
    if n.state != NodeState::BootTimedOut && now - since >= input.timeouts.boot {
        n.state = NodeState::BootTimedOut;
        let message = match what {
            WaitingFor::Instance => {
                format!(
                    "{} has had no running instance for {}s",
                    n.name,
                    now - since
                )
            }
            WaitingFor::Agent => format!(
                "the agent of {} did not answer within {}s of boot",
                n.name, input.timeouts.boot
            ),
        };
        d.events
            .push(Note::warning("BootTimedOut", "Boot", message));
    }
}
