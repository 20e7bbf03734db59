//! Deletion (pure decision; [`crate::apply::cleanup`] carries it out). Unwinds in the reverse
//! of bring-up, one step per reconcile, waiting for each to finish:
//! 0. the cluster's StorageClasses (no new claims on a filesystem going away; cluster-scoped,
//!    so no owner reference deletes them);
//! 1. guest teardown: the planner's teardown phases (unmount clients, MDTs, OSTs, MGS), through
//!    the agents that still answer, for at most `teardownSeconds`;
//! 2. VMs, group by group: clients and routers, then MDS, then OSS, then MGS servers, each
//!    group gone (instances included) before the next;
//! 3. the Secrets (cloud-init, agent token);
//! 4. the PVCs, only with `deletionPolicy: Delete` and the exact confirmation; with `Delete`
//!    and a wrong or missing confirmation nothing more happens (DeletionIsBlocked) until the
//!    spec is fixed; with `Retain` they are kept;
//! 5. the finalizer is removed.

use lk_agent::report::PhaseState;
use lk_agent::runner::digest;
use lk_model::raw::Role;
use lk_plan::Plan;

use crate::crd::{DeletionPolicy, LustreCluster};
use crate::decide::phases::script;
use crate::decide::{Note, Run};
use crate::names;
use crate::observe::{Observed, VmView};
use crate::storage_class;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Run these teardown scripts (with the agents' token) and check again.
    Teardown {
        runs: Vec<Run>,
        token: String,
    },
    /// Wait for teardown scripts or for deleted objects to go.
    Wait(String),
    DeleteVms(Vec<String>),
    DeleteSecrets(Vec<String>),
    DeletePvcs(Vec<String>),
    DeleteStorageClasses(Vec<String>),
    /// `Delete` without the right confirmation: stop here.
    Blocked(String),
    RemoveFinalizer,
}

#[derive(Debug, Clone)]
pub struct Cleanup {
    pub step: Step,
    pub events: Vec<Note>,
}

/// Deletion order of a VM: 0 clients/routers, 1 MDS, 2 OSS, 3 MGS (from the roles the VM
/// carries, so VMs no longer in the spec are ordered too).
pub fn group(vm: &VmView) -> u8 {
    vm.roles
        .iter()
        .map(|r| match r {
            Role::Mgs => 3,
            Role::Oss => 2,
            Role::Mds => 1,
            Role::Client | Role::Router | Role::Build => 0,
        })
        .max()
        .unwrap_or(0)
}

pub const GROUPS: [&str; 4] = ["clients and routers", "MDS", "OSS", "MGS"];

pub fn decide(
    lc: &LustreCluster,
    plan: Option<&Plan>,
    observed: &Observed,
    agent_port: u16,
    elapsed: i64,
    teardown_seconds: i64,
) -> Cleanup {
    let mut events = Vec::new();
    // 0. StorageClasses.
    let classes = storage_class::owned(lc, &observed.storage_classes);
    if !classes.is_empty() {
        return Cleanup {
            step: Step::DeleteStorageClasses(classes),
            events,
        };
    }
    let any_vm = !observed.vms.is_empty() || !observed.vmis.is_empty();
    // 1. Guest teardown, while there are VMs, a token to call the agents with, and time left.
    if let (Some(plan), Some(token), true) = (plan, observed.token.as_ref(), any_vm) {
        if elapsed < teardown_seconds {
            if let Some(step) = teardown(plan, observed, agent_port, token, &mut events) {
                return Cleanup { step, events };
            }
        }
    }
    let step = vms(observed, &mut events)
        .or_else(|| {
            // 3. Secrets.
            (!observed.secrets.is_empty()).then(|| Step::DeleteSecrets(observed.secrets.clone()))
        })
        .unwrap_or_else(|| pvcs(lc, observed, &mut events));
    Cleanup { step, events }
}

/// 1. The first teardown phase with something to run or to wait for, if any.
fn teardown(
    plan: &Plan,
    observed: &Observed,
    agent_port: u16,
    token: &str,
    events: &mut Vec<Note>,
) -> Option<Step> {
    for phase in &plan.teardown {
        let mut runs = Vec::new();
        let mut running = Vec::new();
        for node in &phase.nodes {
            let Some(address) = observed.agent_address(node, agent_port) else {
                continue;
            };
            let Some(report) = observed.report(node) else {
                continue;
            };
            // Like a failed teardown step, a missing script does not stop deletion.
            let script = match script(plan, phase, node) {
                Ok(s) => s.to_string(),
                Err(e) => {
                    events.push(Note::warning("ScriptMissing", "Teardown", e.to_string()));
                    continue;
                }
            };
            match report.phases.get(&phase.name.to_string()) {
                Some(r) if r.digest == digest(&script) && r.state == PhaseState::Succeeded => {}
                Some(r) if r.state == PhaseState::Running => running.push(node.clone()),
                // A failed teardown step does not stop deletion.
                Some(r) if r.digest == digest(&script) && r.state == PhaseState::Failed => {}
                _ => runs.push(Run {
                    node: node.clone(),
                    address,
                    phase: phase.name.to_string(),
                    script,
                    force: false,
                }),
            }
        }
        if !runs.is_empty() {
            events.push(Note::normal(
                "TearingDown",
                "Teardown",
                format!(
                    "{} on {}",
                    phase.name,
                    runs.iter()
                        .map(|r| r.node.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
            return Some(Step::Teardown {
                runs,
                token: token.to_string(),
            });
        }
        if !running.is_empty() {
            return Some(Step::Wait(format!(
                "{} running on {}",
                phase.name,
                running.join(", ")
            )));
        }
    }
    None
}

/// 2. VMs, group by group, each group's instances gone before the next.
fn vms(observed: &Observed, events: &mut Vec<Note>) -> Option<Step> {
    for (g, what) in GROUPS.iter().enumerate() {
        let group_vms: Vec<&VmView> = observed
            .vms
            .values()
            .filter(|v| usize::from(group(v)) == g)
            .collect();
        let to_delete: Vec<String> = group_vms
            .iter()
            .filter(|v| !v.deleting)
            .map(|v| v.name.clone())
            .collect();
        if !to_delete.is_empty() {
            events.push(Note::normal(
                "DeletingServers",
                "Delete",
                format!("{what}: {}", to_delete.join(", ")),
            ));
            return Some(Step::DeleteVms(to_delete));
        }
        // Instances of VMs already deleted (this group's) must be gone before the next group.
        let stopping = observed
            .vmis
            .keys()
            .any(|node| !observed.vms.contains_key(node));
        if !group_vms.is_empty() || stopping {
            return Some(Step::Wait(format!("{what} servers to stop")));
        }
    }
    (!observed.vmis.is_empty()).then(|| Step::Wait("virtual machine instances to stop".into()))
}

/// 4. The PVCs per `deletionPolicy`, then 5. the finalizer.
fn pvcs(lc: &LustreCluster, observed: &Observed, events: &mut Vec<Note>) -> Step {
    // No `spec.kubernetes`: every setting at its default (Retain).
    let k = lc.spec.kubernetes.clone().unwrap_or_default();
    let pvcs: Vec<String> = observed
        .pvcs
        .iter()
        .filter(|p| !p.deleting)
        .map(|p| p.name.clone())
        .collect();
    if pvcs.is_empty() {
        return Step::RemoveFinalizer;
    }
    match k.deletion_policy.unwrap_or_default() {
        DeletionPolicy::Delete => {
            let cluster = lc.metadata.name.as_deref().unwrap_or_default();
            let expected = names::deletion_confirmation(cluster);
            if k.deletion_confirmation.as_deref() != Some(expected.as_str()) {
                return Step::Blocked(format!(
                    "deletionPolicy is Delete but spec.kubernetes.deletionConfirmation is not `{expected}`; set it to delete the volumes, or set deletionPolicy: Retain to keep them"
                ));
            }
            events.push(Note::warning(
                "DeletingVolumes",
                "Delete",
                format!(
                    "deletionPolicy Delete, confirmed: deleting {}",
                    pvcs.join(", ")
                ),
            ));
            Step::DeletePvcs(pvcs)
        }
        DeletionPolicy::Retain => {
            events.push(Note::normal(
                "VolumesRetained",
                "Delete",
                format!("deletionPolicy Retain: keeping {}", pvcs.join(", ")),
            ));
            Step::RemoveFinalizer
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::*;

    fn step(lc: &LustreCluster, o: &Observed) -> Cleanup {
        let v = validated(lc);
        decide(lc, Some(&v.plan), o, 9690, 0, 300)
    }

    #[test]
    fn unwinds_in_reverse() {
        let lc = cluster(DEMO);
        let v = validated(&lc);
        let mut o = booted(&v);
        o.secrets = vec!["demo-agent-token".into()];
        // 1. Teardown scripts, clients first.
        let c = step(&lc, &o);
        let Step::Teardown { runs, .. } = &c.step else {
            panic!("{:?}", c.step)
        };
        assert_eq!(
            (runs[0].phase.as_str(), runs[0].node.as_str()),
            ("umount-client", "client1")
        );
        for p in &v.plan.teardown {
            for n in &p.nodes {
                done(&mut o, &v, &p.name.to_string(), n);
            }
        }
        // 2. VMs: clients, then OSS, then the MGS/MDS server.
        let c = step(&lc, &o);
        assert_eq!(c.step, Step::DeleteVms(vec!["demo-client1".into()]));
        o.vms.remove("client1");
        assert!(
            matches!(step(&lc, &o).step, Step::Wait(_)),
            "its instance is still there"
        );
        o.vmis.remove("client1");
        assert_eq!(
            step(&lc, &o).step,
            Step::DeleteVms(vec!["demo-oss1".into()])
        );
        o.vms.remove("oss1");
        o.vmis.remove("oss1");
        assert_eq!(
            step(&lc, &o).step,
            Step::DeleteVms(vec!["demo-mds1".into()])
        );
        o.vms.remove("mds1");
        o.vmis.remove("mds1");
        // 3. Secrets, 4. PVCs per policy, 5. the finalizer.
        assert_eq!(
            step(&lc, &o).step,
            Step::DeleteSecrets(vec!["demo-agent-token".into()])
        );
        o.secrets.clear();
        o.pvcs = vec![crate::observe::PvcView {
            name: "demo-mgs".into(),
            label: "MGS".into(),
            kind: lk_model::topology::TargetKind::Mgt,
            index: 0,
            node: "mds1".into(),
            drained: false,
            deleting: false,
        }];
        let c = step(&lc, &o);
        assert_eq!(c.step, Step::RemoveFinalizer);
        assert!(c.events.iter().any(|e| e.reason == "VolumesRetained"));
        let del = cluster(&DEMO.replace(
            "  fsname: demo\n",
            "  fsname: demo\n  kubernetes: {deletionPolicy: Delete}\n",
        ));
        assert!(
            matches!(step(&del, &o).step, Step::Blocked(m) if m.contains("delete-volumes-of-demo"))
        );
        let ok = cluster(&DEMO.replace(
            "  fsname: demo\n",
            "  fsname: demo\n  kubernetes: {deletionPolicy: Delete, deletionConfirmation: delete-volumes-of-demo}\n",
        ));
        assert_eq!(
            step(&ok, &o).step,
            Step::DeletePvcs(vec!["demo-mgs".into()])
        );
        o.pvcs[0].deleting = true;
        assert_eq!(step(&ok, &o).step, Step::RemoveFinalizer);
    }

    #[test]
    fn storage_classes_go_first() {
        let lc = cluster(DEMO);
        let v = validated(&lc);
        let mut o = booted(&v);
        let ours = |name: &str, owner: (&str, &str)| storage_class::ScView {
            name: name.into(),
            owner: Some((owner.0.into(), owner.1.into())),
            provisioner: names::CSI_DRIVER.into(),
            parameters: Default::default(),
            reclaim_policy: "Delete".into(),
            binding_mode: "Immediate".into(),
            deleting: false,
        };
        o.storage_classes = vec![
            ours("lustre-ns-demo", ("ns", "demo")),
            ours("lustre-other-demo", ("other", "demo")),
        ];
        assert_eq!(
            step(&lc, &o).step,
            Step::DeleteStorageClasses(vec!["lustre-ns-demo".into()])
        );
        o.storage_classes[0].deleting = true;
        assert!(matches!(step(&lc, &o).step, Step::Teardown { .. }));
    }

    #[test]
    fn teardown_is_skipped_past_its_timeout() {
        let lc = cluster(DEMO);
        let v = validated(&lc);
        let o = booted(&v);
        let c = decide(&lc, Some(&v.plan), &o, 9690, 301, 300);
        assert!(matches!(c.step, Step::DeleteVms(_)));
    }
}
