//! `spec.kubernetes.csi.storageClass`: the operator (with the chart's RBAC) publishes a
//! StorageClass naming the cluster as the CSI driver knows it, replaces it when a parameter
//! changes (Kubernetes refuses the change in place), deletes it when the field goes or the
//! LustreCluster is deleted, and leaves a StorageClass it did not make alone.

use std::time::Duration;

use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, DeleteParams, PostParams};
use lk_operator::LustreCluster;
use serde_json::json;

use crate::harness::{self, condition, wait_for, Env};
use crate::lifecycle::DEMO;

const WAIT: Duration = Duration::from_secs(30);

/// Waits until StorageClass `name` exists and `ok` holds for it.
async fn wait_class(
    api: &Api<StorageClass>,
    name: &str,
    what: &str,
    ok: impl Fn(&StorageClass) -> bool,
) -> StorageClass {
    wait_for(&format!("StorageClass {name}: {what}"), WAIT, || async {
        api.get_opt(name).await.ok().flatten().filter(&ok)
    })
    .await
}

async fn wait_gone(api: &Api<StorageClass>, name: &str) {
    wait_for(&format!("StorageClass {name} deleted"), WAIT, || async {
        matches!(api.get_opt(name).await, Ok(None)).then_some(())
    })
    .await
}

fn param<'a>(sc: &'a StorageClass, key: &str) -> Option<&'a str> {
    sc.parameters.as_ref()?.get(key).map(String::as_str)
}

async fn set_class(env: &Env, class: serde_json::Value) {
    let patch = json!({"spec": {"kubernetes": {"csi": {"storageClass": class}}}});
    harness::patch_spec(env, "demo", patch).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_replaced_and_removed() {
    let Some(env) = harness::env("storageclass").await else {
        return;
    };
    let operator_client = harness::chart_client(&env).await;
    let _op = harness::start_operator(operator_client, &env.ns, 19105);
    let classes: Api<StorageClass> = Api::all(env.client.clone());
    let lcs: Api<LustreCluster> = Api::namespaced(env.client.clone(), &env.ns);
    let yaml = DEMO.replace(
        "  fsname: demo\n",
        "  fsname: demo\n  kubernetes: {csi: {storageClass: {}}}\n",
    );
    harness::create_cluster(&env, &yaml).await;
    let name = format!("lustre-{}-demo", env.ns);
    let csi_name = format!("{}.demo", env.ns);

    // Published with the defaults, labelled with its owner.
    let first = wait_class(&classes, &name, "published", |_| true).await;
    assert_eq!(first.provisioner, "lustre.csi.lustrekit.io");
    assert_eq!(param(&first, "cluster"), Some(csi_name.as_str()));
    assert_eq!(param(&first, "onDelete"), Some("delete"));
    assert_eq!(first.reclaim_policy.as_deref(), Some("Delete"));
    assert_eq!(first.allow_volume_expansion, Some(true));
    let labels = first.metadata.labels.clone().expect("labels");
    assert_eq!(labels["lustrekit.dev/cluster"], "demo");
    assert_eq!(labels["lustrekit.dev/cluster-namespace"], env.ns);
    wait_for("StorageClassReady", WAIT, || async {
        let lc = lcs.get("demo").await.ok()?;
        (condition(&lc, "StorageClassReady")? == ("True".into(), "Published".into())).then_some(())
    })
    .await;

    // onDelete changes: Kubernetes refuses new parameters, so it is replaced.
    set_class(&env, json!({"onDelete": "retain"})).await;
    let uid = first.metadata.uid.clone();
    let second = wait_class(&classes, &name, "onDelete retain", |sc| {
        param(sc, "onDelete") == Some("retain")
    })
    .await;
    assert_ne!(second.metadata.uid, uid, "a new object");
    assert_eq!(param(&second, "cluster"), Some(csi_name.as_str()));
    harness::wait_events(
        &env,
        "demo",
        &["StorageClassCreated", "StorageClassReplaced"],
    )
    .await;

    // allowVolumeExpansion may change in place: the same object.
    set_class(
        &env,
        json!({"onDelete": "retain", "allowVolumeExpansion": false}),
    )
    .await;
    let third = wait_class(&classes, &name, "no expansion", |sc| {
        sc.allow_volume_expansion == Some(false)
    })
    .await;
    assert_eq!(third.metadata.uid, second.metadata.uid);

    // The field removed: the StorageClass goes.
    harness::patch_spec(&env, "demo", json!({"spec": {"kubernetes": {"csi": null}}})).await;
    wait_gone(&classes, &name).await;

    // A name someone else holds is left alone and reported.
    let taken = format!("taken-{}", env.ns);
    let mut foreign = StorageClass {
        provisioner: "example.com/other".into(),
        ..Default::default()
    };
    foreign.metadata.name = Some(taken.clone());
    classes
        .create(&PostParams::default(), &foreign)
        .await
        .expect("create a foreign StorageClass");
    set_class(&env, json!({"name": taken})).await;
    wait_for("StorageClassReady NameTaken", WAIT, || async {
        let lc = lcs.get("demo").await.ok()?;
        (condition(&lc, "StorageClassReady")?.1 == "NameTaken").then_some(())
    })
    .await;
    let still = classes.get(&taken).await.expect("foreign StorageClass");
    assert_eq!(still.provisioner, "example.com/other");
    assert!(still.metadata.labels.is_none(), "not labelled as ours");
    classes
        .delete(&taken, &DeleteParams::default())
        .await
        .expect("delete the foreign StorageClass");

    // Once the name is free it is published; deleting the LustreCluster deletes it.
    wait_class(&classes, &taken, "published once free", |sc| {
        sc.provisioner == "lustre.csi.lustrekit.io"
    })
    .await;
    lcs.delete("demo", &DeleteParams::default())
        .await
        .expect("delete LustreCluster");
    wait_gone(&classes, &taken).await;
    wait_for("LustreCluster gone", Duration::from_secs(60), || async {
        matches!(lcs.get_opt("demo").await, Ok(None)).then_some(())
    })
    .await;
}
