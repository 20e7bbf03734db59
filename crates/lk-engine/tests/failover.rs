//! `failover` and `--hard` on the in-memory provider: which node is fenced, which targets
//! move and where `active.json` says they are.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use lk_engine::failover::{active, failback, failover};
use lk_engine::fake::Fake;
use lk_engine::observe::{Event, Observer};
use lk_engine::{cluster_dir, StageOptions};
use lk_plan::Plan;

/// The HA example planned into `state`, with its shared folder there and every domain running.
fn ha(state: &Path) -> (Fake, Plan) {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/ha.yaml");
    let bytes = std::fs::read(&example).unwrap_or_else(|e| panic!("{}: {e}", example.display()));
    let t = lk_model::load(&bytes).unwrap_or_else(|e| panic!("{e}"));
    let opts = lk_plan::PlanOptions {
        state_dir: state.to_string_lossy().into_owned(),
        ..lk_plan::PlanOptions::default()
    };
    let plan = lk_plan::plan(&t, &opts);
    std::fs::create_dir_all(&plan.resources.shared.host_path).unwrap_or_else(|e| panic!("{e}"));
    let fake = Fake::new();
    for n in &plan.nodes {
        fake.add_domain(&n.domain, None);
    }
    (fake, plan)
}

/// Records "node phase" of every guest phase started.
#[derive(Default)]
struct Phases(Mutex<Vec<String>>);

impl Observer for Phases {
    fn event(&self, event: Event<'_>) {
        if let Event::PhaseStart { phase, node, .. } = event {
            if let Ok(mut v) = self.0.lock() {
                v.push(format!("{node} {phase}"));
            }
        }
    }
}

fn domain<'p>(plan: &'p Plan, node: &str) -> &'p str {
    plan.nodes
        .iter()
        .find(|n| n.node == node)
        .map(|n| n.domain.as_str())
        .unwrap_or_else(|| panic!("no node {node}"))
}

fn execs_on(fake: &Fake, domain: &str) -> usize {
    let call = format!("exec {domain}");
    fake.calls().iter().filter(|c| **c == call).count()
}

fn label(plan: &Plan, facet: &str) -> String {
    plan.failover
        .iter()
        .find(|f| f.facet == facet)
        .map(|f| f.label.clone())
        .unwrap_or_else(|| panic!("no facet {facet}"))
}

#[test]
fn a_hard_failover_moves_every_target_of_the_fenced_node_in_mount_order() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (fake, plan) = ha(tmp.path());
    let opts = StageOptions::default();
    let phases = Phases::default();
    let m = failover(&fake, &plan, "mds1", None, true, &opts, &phases)
        .unwrap_or_else(|e| panic!("{e}"));
    let mgs = label(&plan, "mgs");
    let mdt0 = label(&plan, "mds1");
    assert_eq!(
        (m.from.as_str(), m.to.as_str(), m.fenced),
        ("mds1", "mds2", true)
    );
    assert_eq!(m.with, vec![format!("{mgs} to mds2")]);
    // Fenced before anything is taken over; then the MGS, then the MDT, then the clients.
    let calls = fake.calls();
    let off = calls
        .iter()
        .position(|c| *c == format!("power_off {}", domain(&plan, "mds1")))
        .unwrap_or_else(|| panic!("mds1 not fenced: {calls:?}"));
    let first_exec = calls.iter().position(|c| c.starts_with("exec "));
    assert!(first_exec.is_some_and(|e| e > off), "{calls:?}");
    assert_eq!(execs_on(&fake, domain(&plan, "mds2")), 2, "{calls:?}");
    assert_eq!(execs_on(&fake, domain(&plan, "mds1")), 0, "{calls:?}");
    let expected: BTreeMap<String, String> =
        [(mgs.clone(), "mds2".into()), (mdt0.clone(), "mds2".into())].into();
    assert_eq!(
        active(&cluster_dir(&plan)).unwrap_or_else(|e| panic!("{e}")),
        expected
    );
    // The MGS is taken over before the MDT beside it, then the clients are verified.
    assert_eq!(
        phases.0.lock().map(|v| v.clone()).unwrap_or_default(),
        vec![
            "mds2 takeover-mgs".to_string(),
            "mds2 takeover-mds1".into(),
            "client1 verify-clients".into()
        ]
    );

    // Failing back needs the fenced node running again; each target comes back on its own.
    assert!(failback(&fake, &plan, "mds1", &opts, &()).is_err());
}

#[test]
fn a_controlled_failover_moves_only_its_target() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (fake, plan) = ha(tmp.path());
    let opts = StageOptions::default();
    let m =
        failover(&fake, &plan, "mds1", None, false, &opts, &()).unwrap_or_else(|e| panic!("{e}"));
    assert!(m.with.is_empty() && !m.fenced, "{m:?}");
    assert!(!fake.calls().iter().any(|c| c.starts_with("power_off")));
    let act = active(&cluster_dir(&plan)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(act.len(), 1, "{act:?}");
    assert_eq!(
        act.get(&label(&plan, "mds1")).map(String::as_str),
        Some("mds2")
    );
}
