//! The pure decision, step by step: boot, phase order, failures, fencing and replacement,
//! scale-down refusal and drain. No API server, no agents: observed state is built by hand.

use std::time::Duration;

use lk_agent::report::{PhaseState, TargetHealth};
use lk_model::topology::TargetKind;

use super::{decide, drain, Decision, Input};
use crate::agent_client::AgentCallError;
use crate::crd::{LustreCluster, LustreClusterStatus, NodeStatus};
use crate::observe::{Observed, PvcView};
use crate::settings::timeouts;
use crate::states::{ClusterPhase, NodeState, VmiPhase};
use crate::test_support::*;
use crate::validate::Validated;

fn run(lc: &LustreCluster, v: &Validated, o: &Observed, now: i64) -> Decision {
    decide(&Input {
        lc,
        validated: v,
        observed: o,
        now,
        timeouts: timeouts(lc),
        agent_port: 9690,
        retry_seconds: 30,
    })
}

fn cond(d: &Decision, t: &str) -> (bool, String) {
    d.conditions
        .iter()
        .find(|c| c.type_ == t)
        .map(|c| (c.status, c.reason.clone()))
        .unwrap_or_else(|| panic!("no {t}"))
}

/// `lc` with the node states of a previous decision.
fn with_status(lc: &LustreCluster, d: &Decision) -> LustreCluster {
    let mut lc = lc.clone();
    lc.status = Some(LustreClusterStatus {
        nodes: d.nodes.clone(),
        ..Default::default()
    });
    lc
}

fn serving(o: &mut Observed, node: &str, labels: &[&str]) {
    if let Some(Ok(r)) = o.reports.get_mut(node) {
        r.health = Some(lk_agent::parse::health::Health {
            healthy: true,
            ..Default::default()
        });
        r.lustre_loaded = true;
        r.targets = labels
            .iter()
            .map(|l| TargetHealth {
                label: l.to_string(),
                status: "UP".into(),
                recovery: None,
                recovery_time_remaining: None,
            })
            .collect();
    }
}

#[test]
fn nothing_exists_yet() {
    let lc = cluster(DEMO);
    let v = validated(&lc);
    let d = run(&lc, &v, &Observed::default(), 1000);
    assert!(d.nodes.iter().all(|n| n.state == NodeState::Pending));
    assert!(d.runs.is_empty());
    assert_eq!(cond(&d, "Provisioning"), (true, "InProgress".into()));
    assert!(!cond(&d, "Ready").0);
    assert_eq!(d.nodes[1].nids, ["10.240.0.11@tcp0"]);
}

#[test]
fn phases_run_in_order_across_nodes() {
    let lc = cluster(DEMO);
    let v = validated(&lc);
    let mut o = booted(&v);
    let d = run(&lc, &v, &o, 1000);
    let install: Vec<&str> = d.runs.iter().map(|r| r.node.as_str()).collect();
    assert_eq!(install, ["mds1", "oss1", "client1"]);
    assert!(d
        .runs
        .iter()
        .all(|r| r.phase == "install" && r.address.ends_with(":9690")));
    assert!(d.events.iter().any(|e| e.reason == "PhaseStarted"));
    // The MGS/MDS formats first; only then does anyone mount.
    for p in ["install", "lnet", "lnet-check"] {
        for n in ["mds1", "oss1", "client1"] {
            done(&mut o, &v, p, n);
        }
    }
    let d = run(&lc, &v, &o, 1000);
    assert!(cond(&d, "LNetReady").0);
    let runs: Vec<(&str, &str)> = d
        .runs
        .iter()
        .map(|r| (r.node.as_str(), r.phase.as_str()))
        .collect();
    assert_eq!(runs, [("mds1", "format"), ("oss1", "format")]);
    done(&mut o, &v, "format", "mds1");
    let d = run(&lc, &v, &o, 1000);
    assert_eq!(d.runs.len(), 1, "mount-mgs waits for every format");
    assert_eq!(
        (d.runs[0].node.as_str(), d.runs[0].phase.as_str()),
        ("oss1", "format")
    );
}

#[test]
fn a_running_phase_is_not_started_twice_and_a_failed_one_is_retried() {
    let lc = cluster(DEMO);
    let v = validated(&lc);
    let mut o = booted(&v);
    let script = v.plan.files["scripts/oss1/install.sh"].clone();
    set_phase(&mut o, "oss1", "install", &script, PhaseState::Running);
    let d = run(&lc, &v, &o, 1000);
    assert!(!d.runs.iter().any(|r| r.node == "oss1"));
    set_phase(&mut o, "oss1", "install", &script, PhaseState::Failed);
    let d = run(&lc, &v, &o, 1010);
    assert!(
        !d.runs.iter().any(|r| r.node == "oss1"),
        "not before retry_seconds"
    );
    assert_eq!(cond(&d, "Degraded"), (true, "PhaseFailed".into()));
    let d = run(&lc, &v, &o, 1031);
    let retry = d.runs.iter().find(|r| r.node == "oss1").expect("retry");
    assert!(retry.force);
    assert!(d
        .events
        .iter()
        .any(|e| e.reason == "PhaseFailed" && e.note.contains("no pools available")));
}

#[test]
fn all_done_and_serving_is_ready() {
    let lc = cluster(DEMO);
    let v = validated(&lc);
    let mut o = booted(&v);
    all_done(&mut o, &v);
    serving(&mut o, "mds1", &["MGS", "demo-MDT0000"]);
    serving(&mut o, "oss1", &["demo-OST0000", "demo-OST0001"]);
    serving(&mut o, "client1", &[]);
    let d = run(&lc, &v, &o, 1000);
    assert_eq!(cond(&d, "Ready"), (true, "Ready".into()));
    assert!(!cond(&d, "Degraded").0);
    assert_eq!(d.phase, ClusterPhase::Ready);
    assert_eq!(d.ost_count, 2);
    assert!(d.runs.is_empty() && !d.busy);
    // A target down: Degraded, not Ready.
    if let Some(Ok(r)) = o.reports.get_mut("oss1") {
        r.targets[1].status = "ST".into();
    }
    let d = run(&lc, &v, &o, 1000);
    assert_eq!(cond(&d, "Degraded"), (true, "TargetDown".into()));
    assert!(!cond(&d, "Ready").0);
}

#[test]
fn a_failed_server_is_fenced_then_restarted_then_recovered() {
    let lc = cluster(DEMO);
    let v = validated(&lc);
    let mut o = booted(&v);
    all_done(&mut o, &v);
    serving(&mut o, "mds1", &["MGS", "demo-MDT0000"]);
    serving(&mut o, "oss1", &["demo-OST0000", "demo-OST0001"]);
    let d0 = run(&lc, &v, &o, 1000);
    // The instance fails.
    o.vmis.get_mut("oss1").expect("vmi").phase = VmiPhase::Failed;
    o.reports.remove("oss1");
    let d1 = run(&with_status(&lc, &d0), &v, &o, 1010);
    let oss1 = |d: &Decision| {
        d.nodes
            .iter()
            .find(|n| n.name == "oss1")
            .cloned()
            .expect("oss1")
    };
    assert_eq!(oss1(&d1).state, NodeState::Fencing);
    assert_eq!(d1.delete_vmis, ["demo-oss1"]);
    assert!(d1.halted.contains("oss1"));
    assert!(d1
        .events
        .iter()
        .any(|e| e.reason == "ServerFailed" && e.warning));
    assert_eq!(oss1(&d1).replacements, 1);
    // Still there: still fencing, VM still halted.
    let d2 = run(&with_status(&lc, &d1), &v, &o, 1011);
    assert_eq!(oss1(&d2).state, NodeState::Fencing);
    assert!(d2.halted.contains("oss1"));
    // Gone: restarting with the VM running again.
    o.vmis.remove("oss1");
    let d3 = run(&with_status(&lc, &d2), &v, &o, 1012);
    assert_eq!(oss1(&d3).state, NodeState::Restarting);
    assert!(!d3.halted.contains("oss1"));
    assert!(d3.events.iter().any(|e| e.reason == "ServerFenced"));
    // A new instance whose agent answers: phases run again on it only.
    let mut fresh = booted(&v);
    fresh.vmis.get_mut("oss1").expect("vmi").uid = "uid-2".into();
    for p in &v.plan.phases {
        for n in p.nodes.iter().filter(|n| *n != "oss1") {
            done(&mut fresh, &v, &p.name.to_string(), n);
        }
    }
    serving(&mut fresh, "mds1", &["MGS", "demo-MDT0000"]);
    let d4 = run(&with_status(&lc, &d3), &v, &fresh, 1020);
    assert_eq!(oss1(&d4).state, NodeState::Running);
    assert!(d4.events.iter().any(|e| e.reason == "ServerReplaced"));
    assert!(d4.runs.iter().all(|r| r.node == "oss1") && !d4.runs.is_empty());
    assert!(cond(&d4, "Degraded").0);
    // Phases done and targets recovered: ServerRecovered, replacement over.
    for p in &v.plan.phases {
        if p.nodes.iter().any(|n| n == "oss1") {
            done(&mut fresh, &v, &p.name.to_string(), "oss1");
        }
    }
    serving(&mut fresh, "oss1", &["demo-OST0000", "demo-OST0001"]);
    let d5 = run(&with_status(&lc, &d4), &v, &fresh, 1030);
    assert!(d5
        .events
        .iter()
        .any(|e| e.reason == "ServerRecovered" && e.note.contains("in 20s")));
    assert_eq!(oss1(&d5).replacement_started_unix, None);
    assert!(cond(&d5, "Ready").0);
}

#[test]
fn a_silent_agent_is_replaced_after_the_named_timeout() {
    let yaml = DEMO.replace(
        "  fsname: demo\n",
        "  fsname: demo\n  kubernetes: {timeouts: {replaceAfterSeconds: 60}}\n",
    );
    let lc = cluster(&yaml);
    let v = validated(&lc);
    let mut o = booted(&v);
    let d0 = run(&lc, &v, &o, 1000);
    o.reports.insert(
        "oss1".into(),
        Err(AgentCallError::Timeout(Duration::from_secs(5))),
    );
    let d1 = run(&with_status(&lc, &d0), &v, &o, 1100);
    let state = |d: &Decision| {
        d.nodes
            .iter()
            .find(|n| n.name == "oss1")
            .map(|n| n.state.clone())
    };
    assert_eq!(state(&d1), Some(NodeState::Unreachable));
    let d2 = run(&with_status(&lc, &d1), &v, &o, 1159);
    assert_eq!(state(&d2), Some(NodeState::Unreachable));
    let d3 = run(&with_status(&lc, &d2), &v, &o, 1160);
    assert_eq!(state(&d3), Some(NodeState::Fencing));
    assert!(d3.events.iter().any(|e| e.reason == "AgentUnreachable"));
}

#[test]
fn a_deleted_vm_is_recreated_and_reported() {
    let lc = cluster(DEMO);
    let v = validated(&lc);
    let mut o = booted(&v);
    let d0 = run(&lc, &v, &o, 1000);
    o.vms.remove("oss1");
    o.vmis.remove("oss1");
    o.reports.remove("oss1");
    let d1 = run(&with_status(&lc, &d0), &v, &o, 1001);
    assert!(d1.events.iter().any(|e| e.reason == "ServerRecreated"));
    let n: &NodeStatus = d1.nodes.iter().find(|n| n.name == "oss1").expect("oss1");
    assert_eq!((&n.state, n.replacements), (&NodeState::Pending, 1));
}

fn ost_pvc(index: u16, node: &str) -> PvcView {
    PvcView {
        name: format!("demo-ost{}", index + 1),
        label: format!("demo-OST{index:04x}"),
        kind: TargetKind::Ost,
        index,
        node: node.into(),
        drained: false,
        deleting: false,
    }
}

#[test]
fn removing_an_ost_needs_a_drain_request() {
    let lc = cluster(DEMO);
    let v = validated(&lc);
    let mut o = booted(&v);
    o.pvcs = vec![ost_pvc(0, "oss1"), ost_pvc(1, "oss1"), ost_pvc(2, "oss2")];
    assert_eq!(drain::refused(&lc, &v.topology, &o), [2]);
    let allowed = cluster(&DEMO.replace(
        "  fsname: demo\n",
        "  fsname: demo\n  kubernetes: {drainOsts: [2]}\n",
    ));
    assert!(drain::refused(&allowed, &v.topology, &o).is_empty());
    o.pvcs[2].drained = true;
    assert!(
        drain::refused(&lc, &v.topology, &o).is_empty(),
        "drained OSTs are history"
    );
}

#[test]
fn drain_steps_run_one_after_the_other_then_the_server_goes() {
    let lc = cluster(&DEMO.replace(
        "  fsname: demo\n",
        "  fsname: demo\n  kubernetes: {drainOsts: [2]}\n",
    ));
    let v = validated(&lc);
    let mut o = booted(&v);
    all_done(&mut o, &v);
    o.pvcs = vec![ost_pvc(0, "oss1"), ost_pvc(1, "oss1"), ost_pvc(2, "oss2")];
    // oss2 is no longer in the spec but still runs.
    let mut extra = booted(&v);
    let mut vm = extra.vms.remove("oss1").expect("vm");
    vm.node = "oss2".into();
    vm.name = "demo-oss2".into();
    o.vms.insert("oss2".into(), vm);
    let mut vmi = extra.vmis.remove("oss1").expect("vmi");
    vmi.pod_ip = Some("10.0.0.9".into());
    o.vmis.insert("oss2".into(), vmi);
    o.reports.insert("oss2".into(), Ok(Default::default()));
    let steps = drain::steps(&v.topology, &o.pvcs[2]).expect("steps");
    let names: Vec<(&str, &str)> = steps
        .iter()
        .map(|(s, n, _)| (s.as_str(), n.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("drain-ost2-deactivate", "mds1"),
            ("drain-ost2-migrate", "client1"),
            ("drain-ost2-remove", "mds1"),
            ("drain-ost2-umount", "oss2")
        ]
    );
    assert!(steps[0].2.contains("max_create_count=0"));
    assert!(
        steps[1].2.contains("lfs find /mnt/demo --ost 2") && steps[1].2.contains("lfs migrate")
    );
    assert!(steps[2]
        .2
        .contains("lctl conf_param demo-OST0002.osc.active=0"));
    assert!(steps[3].2.contains("zpool export demo-ost3"));
    for (i, (step, node, script)) in steps.iter().enumerate() {
        let d = run(&lc, &v, &o, 1000);
        assert_eq!(d.runs.len(), 1, "step {i}");
        assert_eq!(
            (d.runs[0].phase.as_str(), d.runs[0].node.as_str()),
            (step.as_str(), node.as_str())
        );
        assert!(
            d.delete_vms.is_empty(),
            "the server stays while its OST drains"
        );
        set_phase(&mut o, node, step, script, PhaseState::Succeeded);
    }
    let d = run(&lc, &v, &o, 1000);
    assert_eq!(d.drained_pvcs, ["demo-ost3"]);
    assert_eq!(d.delete_vms, ["demo-oss2"]);
    assert!(d.events.iter().any(|e| e.reason == "OstDrained"));
    assert!(d.events.iter().any(|e| e.reason == "ServerRemoved"));
    let _ = empty_reports();
}

#[test]
fn a_missing_script_is_reported_not_run_empty() {
    let lc = cluster(DEMO);
    let mut v = validated(&lc);
    let o = booted(&v);
    // An empty script would "succeed" and count the phase as done: it must not run.
    v.plan.files.remove("scripts/oss1/install.sh");
    let d = run(&lc, &v, &o, 1000);
    let nodes: Vec<&str> = d.runs.iter().map(|r| r.node.as_str()).collect();
    assert_eq!(nodes, ["mds1", "client1"]);
    assert!(d.runs.iter().all(|r| !r.script.is_empty()));
    let missing = d
        .events
        .iter()
        .find(|e| e.reason == "ScriptMissing")
        .expect("a ScriptMissing event");
    assert!(missing.warning);
    assert!(
        missing.note.contains("scripts/oss1/install.sh"),
        "{}",
        missing.note
    );
    assert_eq!(cond(&d, "Degraded"), (true, "PhaseFailed".into()));
    assert!(!cond(&d, "Ready").0);
}

#[test]
fn an_unknown_node_state_in_status_is_reported() {
    let lc = cluster(DEMO);
    let v = validated(&lc);
    let o = booted(&v);
    let mut d0 = run(&lc, &v, &o, 1000);
    d0.nodes[1].state = NodeState::Unknown("Hibernating".into());
    let d1 = run(&with_status(&lc, &d0), &v, &o, 1001);
    assert!(d1
        .events
        .iter()
        .any(|e| e.reason == "UnknownNodeState" && e.note.contains("`Hibernating`")));
    // Derived again from what is observed: its agent answers.
    assert_eq!(d1.nodes[1].state, NodeState::Running);
}
