//! Per-node state machine. States: Pending (no VM yet), Booting (VM, no running instance),
//! Running (agent answers), Unreachable (running, agent silent), Fencing (the instance is
//! being powered off before a replacement may import the node's targets: DESIGN.md §5's rule
//! for shared disks, applied to every server), Restarting (fenced; a new instance with the same
//! PVCs and NIDs is starting), BootTimedOut.

use super::{Decision, Input, Note};
use crate::crd::NodeStatus;
use crate::names;

pub fn decide(input: &Input<'_>, d: &mut Decision) {
    let cluster = input.cluster();
    let tmo = input.timeouts;
    let now = input.now;
    for node_plan in &input.validated.plan.nodes {
        let node = node_plan.node.as_str();
        let prev = input
            .prev_nodes()
            .iter()
            .find(|n| n.name == node)
            .cloned()
            .unwrap_or_default();
        let vm = input.observed.vms.get(node);
        let vmi = input.observed.vmis.get(node);
        let report = input.observed.reports.get(node);
        let mut n = NodeStatus {
            name: node.to_string(),
            vm: names::vm(cluster, node),
            nids: node_plan.nids.clone(),
            state: String::new(),
            vmi_uid: vmi.map(|v| v.uid.clone()),
            agent_reachable: matches!(report, Some(Ok(_))),
            since_unix: prev.since_unix,
            replacement_started_unix: prev.replacement_started_unix,
            replacements: prev.replacements,
            recovery_timed_out: prev.recovery_timed_out,
            phases_done: Vec::new(),
        };
        let fence = |n: &mut NodeStatus, d: &mut Decision, why: Note| {
            n.state = "Fencing".into();
            n.since_unix = Some(now);
            if n.replacement_started_unix.is_none() {
                n.replacement_started_unix = Some(now);
                n.replacements += 1;
            }
            d.events.push(why);
        };
        if prev.state == "Fencing" {
            match vmi {
                Some(v) => {
                    n.state = "Fencing".into();
                    if !v.deleting {
                        d.delete_vmis.push(v.name.clone());
                    }
                }
                None => {
                    n.state = "Restarting".into();
                    n.since_unix = Some(now);
                    d.events.push(Note::normal(
                        "ServerFenced",
                        "Fence",
                        format!("the old instance of {node} is powered off; starting a replacement with the same volumes and NIDs"),
                    ));
                }
            }
        } else if vm.is_none() {
            n.state = "Pending".into();
            if prev.vmi_uid.is_some() && prev.state != "Pending" {
                n.replacement_started_unix.get_or_insert(now);
                n.replacements += 1;
                d.events.push(Note::warning(
                    "ServerRecreated",
                    "Recreate",
                    format!("VirtualMachine {} was deleted; recreating it with the same volumes and NIDs", n.vm),
                ));
            }
        } else if let Some(v) = vmi.filter(|v| v.is_failed()) {
            d.delete_vmis.push(v.name.clone());
            fence(
                &mut n,
                d,
                Note::warning(
                    "ServerFailed",
                    "Fence",
                    format!("the instance of {node} is {}; powering it off before a replacement imports its targets", v.phase),
                ),
            );
        } else if let Some(v) = vmi.filter(|v| v.is_running()) {
            match report {
                Some(Ok(_)) => {
                    n.state = "Running".into();
                    n.since_unix = None;
                    if prev.state == "Restarting" {
                        d.events.push(Note::normal(
                            "ServerReplaced",
                            "Replace",
                            format!("the replacement of {node} is up; remounting its targets"),
                        ));
                    }
                }
                _ => {
                    let booting = matches!(
                        prev.state.as_str(),
                        "Restarting" | "Booting" | "Pending" | "" | "BootTimedOut"
                    );
                    if booting {
                        // The agent starts after cloud-init.
                        let since = *n.since_unix.get_or_insert(now);
                        n.state = match prev.state.as_str() {
                            "Restarting" => "Restarting",
                            "BootTimedOut" => "BootTimedOut",
                            _ => "Booting",
                        }
                        .into();
                        if n.state != "BootTimedOut" && now - since >= tmo.boot {
                            n.state = "BootTimedOut".into();
                            d.events.push(Note::warning(
                                "BootTimedOut",
                                "Boot",
                                format!(
                                    "the agent of {node} did not answer within {}s of boot",
                                    tmo.boot
                                ),
                            ));
                        }
                    } else {
                        let since = if prev.state == "Unreachable" {
                            prev.since_unix.unwrap_or(now)
                        } else {
                            now
                        };
                        n.since_unix = Some(since);
                        if now - since >= tmo.replace_after {
                            d.delete_vmis.push(v.name.clone());
                            fence(
                                &mut n,
                                d,
                                Note::warning(
                                    "AgentUnreachable",
                                    "Fence",
                                    format!("the agent of {node} has not answered for {}s; powering the server off to replace it", now - since),
                                ),
                            );
                        } else {
                            n.state = "Unreachable".into();
                        }
                    }
                }
            }
        } else {
            // A VM without a running instance: KubeVirt is starting one.
            n.state = match prev.state.as_str() {
                "Restarting" => "Restarting",
                "BootTimedOut" => "BootTimedOut",
                _ => "Booting",
            }
            .into();
            let since = *n.since_unix.get_or_insert(now);
            if n.state != "BootTimedOut" && now - since >= tmo.boot {
                n.state = "BootTimedOut".into();
                d.events.push(Note::warning(
                    "BootTimedOut",
                    "Boot",
                    format!("{node} has had no running instance for {}s", now - since),
                ));
            }
        }
        if n.state == "Fencing" {
            d.halted.insert(node.to_string());
        }
        if n.state != "Running" {
            d.busy = true;
        }
        d.nodes.push(n);
    }
}
