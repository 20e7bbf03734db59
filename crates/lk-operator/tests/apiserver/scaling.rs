//! OSTs 2 → 4 (new servers format the next indexes and mount them), then 4 → 3 refused without
//! a drain request, then drained (deactivate, lfs migrate, deactivate permanently, unmount).

use std::time::Duration;

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use kube::api::{Api, DynamicObject, ListParams};
use lk_operator::kubevirt::vm_resource;
use lk_operator::LustreCluster;
use serde_json::json;

use crate::fake_kubevirt::FakeKubevirt;
use crate::harness::{self, condition, is_true, wait_for};

const LAYOUT: &str = r#"
apiVersion: lustrekit.dev/v1alpha1
kind: LustreCluster
metadata: {name: grow}
spec:
  fsname: grow
  networks: [{name: tcp0, cidr: 10.242.0.0/24}]
  layout: {mds: 1, oss: 2, ostsPerOss: 1, clients: 1}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn osts_grow_and_shrink_only_by_drain() {
    let Some(env) = harness::env("scale").await else {
        return;
    };
    let port = 19104;
    let _op = harness::start_operator(env.client.clone(), &env.ns, port);
    let kv = FakeKubevirt::start(env.client.clone(), &env.ns, 44, port);
    let lcs: Api<LustreCluster> = Api::namespaced(env.client.clone(), &env.ns);
    let vms: Api<DynamicObject> = Api::namespaced_with(env.client.clone(), &env.ns, &vm_resource());
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(env.client.clone(), &env.ns);
    harness::create_cluster(&env, LAYOUT).await;
    let lc = harness::wait_condition(&env, "grow", "Ready", Duration::from_secs(90)).await;
    assert_eq!(lc.status.expect("status").ost_count, 2);

    // 2 → 4.
    harness::patch_spec(&env, "grow", json!({"spec": {"layout": {"oss": 4}}})).await;
    let lc = wait_for(
        "4 OSTs mounted and Ready",
        Duration::from_secs(90),
        || async {
            let lc = lcs.get("grow").await.ok()?;
            let s = lc.status.as_ref()?;
            (s.observed_generation == lc.metadata.generation
                && s.ost_count == 4
                && is_true(&lc, "Ready"))
            .then_some(lc)
        },
    )
    .await;
    let labels: Vec<String> = lc
        .status
        .as_ref()
        .expect("status")
        .targets
        .iter()
        .map(|t| t.label.clone())
        .collect();
    assert!(
        labels.contains(&"grow-OST0002".to_string())
            && labels.contains(&"grow-OST0003".to_string()),
        "{labels:?}"
    );
    assert_eq!(
        vms.list(&ListParams::default())
            .await
            .expect("list")
            .items
            .len(),
        6
    );
    for p in ["grow-ost3", "grow-ost4"] {
        pvcs.get(p).await.unwrap_or_else(|e| panic!("{p}: {e}"));
    }
    assert!(kv.phases_of("oss3").contains(&"format".to_string()));
    // The MDS waits for the new OSTs too: its changed wait-ost script ran again.
    assert_eq!(
        kv.phases_of("mds1")
            .iter()
            .filter(|p| *p == "wait-ost")
            .count(),
        2
    );

    // 4 → 3 without a drain request: refused, nothing removed.
    harness::patch_spec(&env, "grow", json!({"spec": {"layout": {"oss": 3}}})).await;
    let lc = wait_for("ScaleDownRefused", Duration::from_secs(30), || async {
        let lc = lcs.get("grow").await.ok()?;
        (condition(&lc, "SpecAccepted") == Some(("False".into(), "ScaleDownRefused".into())))
            .then_some(lc)
    })
    .await;
    let msg = lc
        .status
        .as_ref()
        .expect("status")
        .conditions
        .iter()
        .find(|c| c.type_ == "SpecAccepted")
        .expect("cond")
        .message
        .clone();
    assert!(
        msg.contains("OST index 3") && msg.contains("drainOsts"),
        "{msg}"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        vms.list(&ListParams::default())
            .await
            .expect("list")
            .items
            .len(),
        6,
        "no server removed"
    );
    assert!(pvcs.get("grow-ost4").await.is_ok());
    harness::wait_events(&env, "grow", &["ScaleDownRefused"]).await;

    // With the drain requested: deactivate, migrate, remove, unmount; then the server goes.
    harness::patch_spec(
        &env,
        "grow",
        json!({"spec": {"kubernetes": {"drainOsts": [3]}}}),
    )
    .await;
    wait_for(
        "OST 3 drained and its server removed",
        Duration::from_secs(60),
        || async {
            let pvc = pvcs.get("grow-ost4").await.ok()?;
            let drained = pvc
                .metadata
                .labels?
                .get("lustrekit.dev/drained")
                .map(String::as_str)
                == Some("true");
            let gone = vms.get_opt("grow-oss4").await.ok()?.is_none();
            (drained && gone).then_some(())
        },
    )
    .await;
    let lc = wait_for("Ready with 3 OSTs", Duration::from_secs(30), || async {
        let lc = lcs.get("grow").await.ok()?;
        (is_true(&lc, "Ready")
            && is_true(&lc, "SpecAccepted")
            && lc.status.as_ref()?.ost_count == 3)
            .then_some(lc)
    })
    .await;
    assert_eq!(lc.status.expect("status").ost_count, 3);
    let all = kv.all_phases();
    let at = |n: &str, p: &str| {
        all.iter()
            .position(|(a, b)| a == n && b == p)
            .unwrap_or_else(|| panic!("{p} on {n}: {all:?}"))
    };
    assert!(at("mds1", "drain-ost3-deactivate") < at("client1", "drain-ost3-migrate"));
    assert!(at("client1", "drain-ost3-migrate") < at("mds1", "drain-ost3-remove"));
    assert!(at("mds1", "drain-ost3-remove") < at("oss4", "drain-ost3-umount"));
}
