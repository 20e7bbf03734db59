//! Test builders shared by the unit tests: clusters from YAML, validated plans, observed state.

use std::collections::BTreeMap;

use lk_agent::report::{PhaseRecord, PhaseState};
use lk_agent::runner::digest;
use lk_agent::HealthReport;

use crate::agent_client::AgentCallError;
use crate::crd::LustreCluster;
use crate::kubevirt::VmiView;
use crate::observe::{Observed, VmView};
use crate::validate::{self, Validated};

pub const DEMO: &str = r#"
apiVersion: lustrekit.dev/v1alpha1
kind: LustreCluster
metadata: {name: demo, namespace: ns, uid: 0000-1111, generation: 1}
spec:
  fsname: demo
  networks: [{name: tcp0, cidr: 10.240.0.0/24}]
  nodes:
    - {name: mds1, roles: [mgs, mds]}
    - {name: oss1, roles: [oss]}
    - {name: client1, roles: [client]}
  targets:
    mgt: {node: mds1}
    mdts: [{index: 0, node: mds1}]
    osts: [{index: 0, node: oss1}, {index: 1, node: oss1}]
"#;

pub fn cluster(yaml: &str) -> LustreCluster {
    serde_yaml_ng::from_str(yaml).expect("test cluster parses")
}

/// A topology file from examples/, as a resource in namespace `ns`.
pub fn example(name: &str) -> LustreCluster {
    let path = format!("{}/../../examples/{name}", env!("CARGO_MANIFEST_DIR"));
    let mut lc = cluster(&std::fs::read_to_string(path).expect("example"));
    lc.metadata.namespace = Some("ns".into());
    lc.metadata.uid = Some("0000-1111".into());
    lc
}

pub fn validated(lc: &LustreCluster) -> Validated {
    match validate::validate(lc) {
        Ok(v) => v,
        Err(p) => panic!("invalid test cluster: {p:?}"),
    }
}

/// Every node has a VM and a running instance at 10.0.0.N whose agent answers with no
/// phase run yet.
pub fn booted(v: &Validated) -> Observed {
    let mut o = Observed {
        token: Some("t0k".into()),
        ..Default::default()
    };
    for (i, n) in v.plan.nodes.iter().enumerate() {
        o.vms.insert(
            n.node.clone(),
            VmView {
                name: format!("demo-{}", n.node),
                node: n.node.clone(),
                run_strategy: "Always".into(),
                roles: crate::observe::parse_roles(&n.node, Some(&n.roles.join(",")))
                    .expect("plan roles are known words"),
                deleting: false,
            },
        );
        o.vmis.insert(
            n.node.clone(),
            VmiView {
                name: format!("demo-{}", n.node),
                uid: format!("uid-{}", n.node),
                phase: crate::states::VmiPhase::Running,
                pod_ip: Some(format!("10.0.0.{}", i + 1)),
                deleting: false,
            },
        );
        o.reports.insert(
            n.node.clone(),
            Ok(HealthReport {
                node: n.node.clone(),
                ..Default::default()
            }),
        );
    }
    o
}

/// Marks `phase` as succeeded on `node` with the plan's current script.
pub fn done(o: &mut Observed, v: &Validated, phase: &str, node: &str) {
    let path = format!("scripts/{node}/{phase}.sh");
    let script = v
        .plan
        .files
        .get(&path)
        .unwrap_or_else(|| panic!("the test plan has no {path}"))
        .clone();
    set_phase(o, node, phase, &script, PhaseState::Succeeded);
}

pub fn set_phase(o: &mut Observed, node: &str, phase: &str, script: &str, state: PhaseState) {
    if let Some(Ok(r)) = o.reports.get_mut(node) {
        r.phases.insert(
            phase.to_string(),
            PhaseRecord {
                digest: digest(script),
                state,
                exit_code: Some(if state == PhaseState::Failed { 1 } else { 0 }),
                output_tail: "zpool import: no pools available\n".into(),
                started_unix: 1000,
                finished_unix: Some(1001),
            },
        );
    }
}

/// Every phase of the plan done everywhere.
pub fn all_done(o: &mut Observed, v: &Validated) {
    for p in &v.plan.phases {
        for n in &p.nodes {
            done(o, v, &p.name.to_string(), n);
        }
    }
}

pub fn empty_reports() -> BTreeMap<String, Result<HealthReport, AgentCallError>> {
    BTreeMap::new()
}
