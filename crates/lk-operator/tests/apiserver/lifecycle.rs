//! create → children with owner references → conditions progress to Ready → spec edit
//! converges → delete unwinds in reverse order through the finalizer (PVCs kept), and
//! `deletionPolicy: Delete` is blocked until confirmed.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Secret};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams};
use lk_operator::kubevirt::vm_resource;
use lk_operator::states::{ClusterPhase, TargetState};
use lk_operator::LustreCluster;
use serde_json::json;

use crate::fake_kubevirt::FakeKubevirt;
use crate::harness::{self, condition, is_true, wait_for};

pub const DEMO: &str = r#"
apiVersion: lustrekit.dev/v1alpha1
kind: LustreCluster
metadata: {name: demo}
spec:
  fsname: demo
  networks: [{name: tcp0, cidr: 10.240.0.0/24}]
  nodes:
    - {name: mds1, roles: [mgs, mds]}
    - {name: oss1, roles: [oss]}
    - {name: oss2, roles: [oss]}
    - {name: client1, roles: [client], memory: 1GiB}
  targets:
    mgt: {node: mds1}
    mdts: [{index: 0, node: mds1}]
    osts: [{index: 0, node: oss1}, {index: 1, node: oss2}]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_ready_edit_delete() {
    let Some(env) = harness::env("lifecycle").await else {
        return;
    };
    let port = 19101;
    // The operator acts as the Helm chart's ServiceAccount with the chart's Role: a permission
    // missing from the chart's least-privilege RBAC fails this test.
    let operator_client = harness::chart_client(&env).await;
    let _op = harness::start_operator(operator_client, &env.ns, port);
    let kv = FakeKubevirt::start(env.client.clone(), &env.ns, 41, port);
    let lcs: Api<LustreCluster> = Api::namespaced(env.client.clone(), &env.ns);
    let vms: Api<DynamicObject> = Api::namespaced_with(env.client.clone(), &env.ns, &vm_resource());
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(env.client.clone(), &env.ns);
    let secrets: Api<Secret> = Api::namespaced(env.client.clone(), &env.ns);
    let created = harness::create_cluster(&env, DEMO).await;
    let uid = created.metadata.uid.clone().expect("uid");

    // Children: VMs and Secrets owned by the LustreCluster, PVCs labelled but not owned.
    let list = wait_for("4 VMs", Duration::from_secs(30), || async {
        let l = vms.list(&ListParams::default()).await.ok()?;
        (l.items.len() == 4).then_some(l.items)
    })
    .await;
    for vm in &list {
        let owner = &vm.metadata.owner_references.as_ref().expect("owner")[0];
        assert_eq!(
            (owner.kind.as_str(), owner.uid.as_str(), owner.controller),
            ("LustreCluster", uid.as_str(), Some(true))
        );
    }
    let oss1 = list
        .iter()
        .find(|v| v.metadata.name.as_deref() == Some("demo-oss1"))
        .expect("demo-oss1");
    let disks = oss1.data["spec"]["template"]["spec"]["domain"]["devices"]["disks"].to_string();
    assert!(disks.contains("\"serial\":\"demo-ost1\""), "{disks}");
    let ifs = &oss1.data["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"];
    assert_eq!(ifs[0]["name"], "tcp0");
    assert_eq!(
        ifs[1]["name"], "pod",
        "the pod network comes last so LNet NICs keep eth0.."
    );
    let cloud = secrets
        .get("demo-oss1-cloudinit")
        .await
        .expect("cloud-init secret");
    assert_eq!(
        cloud.metadata.owner_references.as_ref().expect("owner")[0].uid,
        uid
    );
    let net = String::from_utf8(cloud.data.as_ref().expect("data")["networkdata"].0.clone())
        .expect("utf8");
    assert!(
        net.contains("10.240.0.11/24"),
        "static LNet address of oss1: {net}"
    );
    let user =
        String::from_utf8(cloud.data.as_ref().expect("data")["userdata"].0.clone()).expect("utf8");
    assert!(
        user.starts_with("#cloud-config\n")
            && user.contains("/var/lib/lustrekit/plan/mount-ost.sh"),
        "{user}"
    );
    let pvc_list = wait_for("4 PVCs", Duration::from_secs(10), || async {
        let l = pvcs.list(&ListParams::default()).await.ok()?;
        (l.items.len() == 4).then_some(l.items)
    })
    .await;
    for p in &pvc_list {
        assert!(
            p.metadata.owner_references.is_none(),
            "PVCs outlive the cluster"
        );
        assert_eq!(
            p.metadata.labels.as_ref().expect("labels")["lustrekit.dev/cluster"],
            "demo"
        );
    }

    // Conditions progress to Ready, in stage order.
    let start = Instant::now();
    let mut first_true: BTreeMap<&str, Duration> = BTreeMap::new();
    let order = ["LNetReady", "Formatted", "Mounted", "Ready"];
    while !first_true.contains_key("Ready") {
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "not Ready: {:?}",
            lcs.get("demo").await.ok().and_then(|l| l.status)
        );
        if let Ok(lc) = lcs.get("demo").await {
            for c in order {
                if is_true(&lc, c) {
                    first_true.entry(c).or_insert(start.elapsed());
                }
            }
            if first_true.is_empty() {
                assert_eq!(
                    condition(&lc, "Ready")
                        .map(|c| c.0)
                        .as_deref()
                        .unwrap_or("False"),
                    "False"
                );
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for pair in order.windows(2) {
        assert!(
            first_true[pair[0]] <= first_true[pair[1]],
            "{pair:?}: {first_true:?}"
        );
    }
    let lc = lcs.get("demo").await.expect("get");
    let status = lc.status.clone().expect("status");
    assert_eq!(status.observed_generation, lc.metadata.generation);
    assert_eq!(status.phase, Some(ClusterPhase::Ready));
    assert_eq!(status.ost_count, 2);
    assert!(
        status
            .targets
            .iter()
            .all(|t| t.state == TargetState::Mounted),
        "{:?}",
        status.targets
    );
    let oss1_status = status
        .nodes
        .iter()
        .find(|n| n.name == "oss1")
        .expect("oss1");
    assert_eq!(oss1_status.nids, ["10.240.0.11@tcp0"]);
    assert!(
        !is_true(&lc, "Degraded") && !is_true(&lc, "Provisioning") && is_true(&lc, "SpecAccepted")
    );
    // The planner's order, per node, through the agents.
    assert_eq!(
        kv.phases_of("oss1"),
        [
            "install",
            "lnet",
            "lnet-check",
            "format",
            "mount-ost",
            "verify-servers"
        ]
    );
    let mds = kv.phases_of("mds1");
    let pos = |p: &str| {
        mds.iter()
            .position(|x| x == p)
            .unwrap_or_else(|| panic!("{p} not run on mds1: {mds:?}"))
    };
    assert!(
        pos("format") < pos("mount-mgs")
            && pos("mount-mgs") < pos("mount-mdt")
            && pos("mount-mdt") < pos("wait-ost")
    );
    let all = kv.all_phases();
    let at = |n: &str, p: &str| all.iter().position(|(a, b)| a == n && b == p).expect("ran");
    assert!(
        at("oss1", "mount-ost") > at("mds1", "mount-mdt"),
        "OSTs mount after the MDT"
    );
    assert!(
        at("client1", "mount-client") > at("mds1", "wait-ost"),
        "clients mount after the MDT sees every OST"
    );
    harness::wait_events(
        &env,
        "demo",
        &["ServerCreated", "VolumeCreated", "PhaseStarted", "Ready"],
    )
    .await;

    // A spec edit converges: the client's memory changes on its VM, the new generation is
    // observed and the cluster is Ready again.
    harness::patch_spec(
        &env,
        "demo",
        json!({"spec": {"nodes": [
        {"name": "mds1", "roles": ["mgs", "mds"]},
        {"name": "oss1", "roles": ["oss"]},
        {"name": "oss2", "roles": ["oss"]},
        {"name": "client1", "roles": ["client"], "memory": "1536MiB"}]}}),
    )
    .await;
    let generation = lcs.get("demo").await.expect("get").metadata.generation;
    wait_for("the edit to converge", Duration::from_secs(30), || async {
        let lc = lcs.get("demo").await.ok()?;
        let vm = vms.get("demo-client1").await.ok()?;
        let mem = vm.data["spec"]["template"]["spec"]["domain"]["memory"]["guest"]
            .as_str()?
            .to_string();
        (lc.status.as_ref()?.observed_generation == generation
            && is_true(&lc, "Ready")
            && mem == "1536Mi")
            .then_some(())
    })
    .await;

    // Delete: teardown scripts, then VMs group by group (clients, MDS, OSS, MGS), Secrets;
    // PVCs are kept (deletionPolicy Retain), the finalizer goes last.
    lcs.delete("demo", &DeleteParams::default())
        .await
        .expect("delete");
    let mut gone: Vec<String> = Vec::new();
    let mut present: Vec<String> = list
        .iter()
        .filter_map(|v| v.metadata.name.clone())
        .collect();
    let start = Instant::now();
    while lcs.get_opt("demo").await.expect("get").is_some() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "LustreCluster not deleted: {:?}",
            lcs.get("demo").await.ok().and_then(|l| l.status)
        );
        let now: Vec<String> = vms
            .list(&ListParams::default())
            .await
            .expect("list")
            .items
            .into_iter()
            .filter_map(|v| v.metadata.name)
            .collect();
        for p in present.iter().filter(|p| !now.contains(p)) {
            gone.push(p.clone());
        }
        present = now;
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    gone.append(&mut present);
    let idx = |n: &str| {
        gone.iter()
            .position(|g| g == n)
            .unwrap_or_else(|| panic!("{n}: {gone:?}"))
    };
    assert!(
        idx("demo-client1") < idx("demo-oss1") && idx("demo-client1") < idx("demo-oss2"),
        "{gone:?}"
    );
    assert!(
        idx("demo-oss1") < idx("demo-mds1") && idx("demo-oss2") < idx("demo-mds1"),
        "MGS last: {gone:?}"
    );
    let teardown = kv.all_phases();
    let at = |n: &str, p: &str| teardown.iter().rposition(|(a, b)| a == n && b == p);
    assert!(at("client1", "umount-client").is_some(), "{teardown:?}");
    assert!(at("client1", "umount-client") < at("oss1", "umount-ost"));
    assert!(secrets
        .list(&ListParams::default().labels("lustrekit.dev/cluster=demo"))
        .await
        .expect("list")
        .items
        .is_empty());
    assert_eq!(
        pvcs.list(&ListParams::default())
            .await
            .expect("list")
            .items
            .len(),
        4,
        "Retain keeps the volumes"
    );
    harness::wait_events(
        &env,
        "demo",
        &[
            "TearingDown",
            "DeletingServers",
            "VolumesRetained",
            "CleanupComplete",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_policy_needs_confirmation() {
    let Some(env) = harness::env("delpolicy").await else {
        return;
    };
    let port = 19102;
    let _op = harness::start_operator(env.client.clone(), &env.ns, port);
    let _kv = FakeKubevirt::start(env.client.clone(), &env.ns, 42, port);
    let lcs: Api<LustreCluster> = Api::namespaced(env.client.clone(), &env.ns);
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(env.client.clone(), &env.ns);
    let yaml = DEMO.replace(
        "  fsname: demo\n",
        "  fsname: demo\n  kubernetes: {deletionPolicy: Delete}\n",
    );
    harness::create_cluster(&env, &yaml).await;
    wait_for("4 PVCs", Duration::from_secs(30), || async {
        (pvcs.list(&ListParams::default()).await.ok()?.items.len() == 4).then_some(())
    })
    .await;
    lcs.delete("demo", &DeleteParams::default())
        .await
        .expect("delete");
    let lc =
        harness::wait_condition(&env, "demo", "DeletionIsBlocked", Duration::from_secs(60)).await;
    assert_eq!(
        condition(&lc, "DeletionIsBlocked").map(|c| c.1).as_deref(),
        Some("ConfirmationMismatch")
    );
    assert!(pvcs
        .list(&ListParams::default())
        .await
        .expect("list")
        .items
        .iter()
        .all(|p| p.metadata.deletion_timestamp.is_none()));
    harness::patch_spec(&env, "demo", json!({"spec": {"kubernetes": {"deletionPolicy": "Delete", "deletionConfirmation": "delete-volumes-of-demo"}}})).await;
    wait_for("the cluster to go", Duration::from_secs(30), || async {
        lcs.get_opt("demo").await.ok()?.is_none().then_some(())
    })
    .await;
    // Deleted (or, with no PVC-protection controller here, marked for deletion).
    assert!(pvcs
        .list(&ListParams::default())
        .await
        .expect("list")
        .items
        .iter()
        .all(|p| p.metadata.deletion_timestamp.is_some()));
}
