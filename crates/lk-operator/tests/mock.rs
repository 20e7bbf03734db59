//! Reconcile against kube-rs's mocked API (tower-test): each scenario spells out the exact HTTP
//! calls the operator must make, in order, and fails on a missing or unexpected one.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use http::{Request, Response};
use kube::client::Body;
use kube::Client;
use lk_agent::report::PhaseRecord;
use lk_agent::HealthReport;
use lk_operator::agent_client::{AgentCallError, Agents};
use lk_operator::controller::{reconcile, Context};
use lk_operator::{LustreCluster, Settings};
use serde_json::{json, Value};

type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;

/// No agent is ever reached in these scenarios.
struct NoAgents;

impl Agents for NoAgents {
    fn report(&self, address: String) -> BoxFuture<'_, Result<HealthReport, AgentCallError>> {
        Box::pin(async move { Err(unexpected(address)) })
    }
    fn run_phase(
        &self,
        address: String,
        _: String,
        _: String,
        _: String,
        _: bool,
    ) -> BoxFuture<'_, Result<PhaseRecord, AgentCallError>> {
        Box::pin(async move { Err(unexpected(address)) })
    }
}

fn unexpected(address: String) -> AgentCallError {
    AgentCallError::Status {
        status: http::StatusCode::INTERNAL_SERVER_ERROR,
        body: format!("unexpected call to {address}"),
    }
}

fn cluster(fsname: &str, finalized: bool) -> LustreCluster {
    let mut v = json!({
        "apiVersion": "lustrekit.dev/v1alpha1",
        "kind": "LustreCluster",
        "metadata": {"name": "demo", "namespace": "ns", "uid": "u-1", "generation": 1, "resourceVersion": "7"},
        "spec": {
            "fsname": fsname,
            "nodes": [{"name": "n1", "roles": ["mgs", "mds", "oss"]}],
            "targets": {"mgt": {"node": "n1"}, "mdts": [{"index": 0, "node": "n1"}], "osts": [{"index": 0, "node": "n1"}]}
        }
    });
    if finalized {
        v["metadata"]["finalizers"] = json!(["lustrekit.dev/cleanup"]);
    }
    serde_json::from_value(v).expect("cluster")
}

fn context() -> (Arc<Context>, Handle) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(service, "ns");
    let ctx = Context::with_agents(client, Settings::default(), Arc::new(NoAgents));
    (Arc::new(ctx), handle)
}

async fn expect(handle: &mut Handle, method: &str, path: &str) -> Value {
    let (req, send) = tokio::time::timeout(Duration::from_secs(2), handle.next_request())
        .await
        .unwrap_or_else(|_| panic!("no {method} {path} within 2 s"))
        .expect("a request");
    assert_eq!(req.method().as_str(), method, "{}", req.uri());
    assert!(
        req.uri().path() == path,
        "expected {path}, got {}",
        req.uri()
    );
    let query = req.uri().query().unwrap_or("").to_string();
    let body = req.into_body().collect_bytes().await.expect("body");
    let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut answer = value.clone();
    if answer.get("metadata").is_none() {
        answer = json!({"apiVersion": "v1", "kind": "Status", "metadata": {}});
    }
    if path.contains("/events") {
        answer["metadata"]["name"] = json!("ev-1");
    }
    if path.contains("lustreclusters") {
        answer = serde_json::to_value(cluster("demo", true)).expect("json");
    }
    send.send_response(
        Response::builder()
            .status(200)
            .body(Body::from(serde_json::to_vec(&answer).expect("json")))
            .expect("response"),
    );
    json!({"query": query, "body": value})
}

#[tokio::test]
async fn a_new_cluster_gets_the_finalizer_first() {
    let (ctx, mut handle) = context();
    let lc = Arc::new(cluster("demo", false));
    let task = tokio::spawn(reconcile(lc, ctx));
    let call = expect(
        &mut handle,
        "PATCH",
        "/apis/lustrekit.dev/v1alpha1/namespaces/ns/lustreclusters/demo",
    )
    .await;
    assert_eq!(
        call["body"]["metadata"]["finalizers"],
        json!(["lustrekit.dev/cleanup"])
    );
    assert_eq!(
        call["body"]["metadata"]["resourceVersion"], "7",
        "guarded by the resource version"
    );
    task.await.expect("join").expect("reconcile");
}

#[tokio::test]
async fn an_invalid_spec_is_reported_in_status_and_as_an_event() {
    let (ctx, mut handle) = context();
    let lc = Arc::new(cluster("much-too-long-name", true));
    let task = tokio::spawn(reconcile(lc, ctx));
    let call = expect(
        &mut handle,
        "PATCH",
        "/apis/lustrekit.dev/v1alpha1/namespaces/ns/lustreclusters/demo/status",
    )
    .await;
    assert!(call["query"]
        .as_str()
        .expect("q")
        .contains("fieldManager=lustrekit-operator-status"));
    let status = &call["body"]["status"];
    assert_eq!(status["phase"], "Invalid");
    assert_eq!(status["observedGeneration"], 1);
    let accepted = status["conditions"]
        .as_array()
        .expect("conditions")
        .iter()
        .find(|c| c["type"] == "SpecAccepted")
        .expect("SpecAccepted")
        .clone();
    assert_eq!(
        (accepted["status"].as_str(), accepted["reason"].as_str()),
        (Some("False"), Some("InvalidSpec"))
    );
    assert!(accepted["message"]
        .as_str()
        .expect("msg")
        .contains("spec.fsname"));
    let event = expect(
        &mut handle,
        "POST",
        "/apis/events.k8s.io/v1/namespaces/ns/events",
    )
    .await;
    assert_eq!(event["body"]["reason"], "InvalidSpec");
    assert_eq!(event["body"]["type"], "Warning");
    task.await.expect("join").expect("reconcile");
}

#[tokio::test]
async fn deleting_without_children_removes_the_finalizer() {
    let (ctx, mut handle) = context();
    let mut lc = cluster("demo", true);
    lc.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        k8s_openapi::jiff::Timestamp::now(),
    ));
    let task = tokio::spawn(reconcile(Arc::new(lc), ctx));
    // Observe: token Secret, Secrets, VMs, VMIs, PVCs — all empty.
    let list = |kind: &str| json!({"apiVersion": "v1", "kind": kind, "metadata": {}, "items": []});
    for (method, path, answer) in [
        (
            "GET",
            "/api/v1/namespaces/ns/secrets/demo-agent-token",
            None,
        ),
        (
            "GET",
            "/api/v1/namespaces/ns/secrets",
            Some(list("SecretList")),
        ),
        (
            "GET",
            "/apis/kubevirt.io/v1/namespaces/ns/virtualmachines",
            Some(list("VirtualMachineList")),
        ),
        (
            "GET",
            "/apis/kubevirt.io/v1/namespaces/ns/virtualmachineinstances",
            Some(list("VirtualMachineInstanceList")),
        ),
        (
            "GET",
            "/api/v1/namespaces/ns/persistentvolumeclaims",
            Some(list("PersistentVolumeClaimList")),
        ),
        (
            "GET",
            "/apis/storage.k8s.io/v1/storageclasses",
            Some(list("StorageClassList")),
        ),
    ] {
        let (req, send) = tokio::time::timeout(Duration::from_secs(2), handle.next_request())
            .await
            .expect("request in time")
            .expect("request");
        assert_eq!((req.method().as_str(), req.uri().path()), (method, path));
        let resp = match answer {
            Some(body) => Response::builder().status(200).body(Body::from(serde_json::to_vec(&body).expect("json"))),
            None => Response::builder().status(404).body(Body::from(serde_json::to_vec(&json!({"apiVersion": "v1", "kind": "Status", "status": "Failure", "reason": "NotFound", "code": 404, "message": "not found"})).expect("json"))),
        };
        send.send_response(resp.expect("response"));
    }
    let event = expect(
        &mut handle,
        "POST",
        "/apis/events.k8s.io/v1/namespaces/ns/events",
    )
    .await;
    assert_eq!(event["body"]["reason"], "CleanupComplete");
    let call = expect(
        &mut handle,
        "PATCH",
        "/apis/lustrekit.dev/v1alpha1/namespaces/ns/lustreclusters/demo",
    )
    .await;
    assert_eq!(call["body"]["metadata"]["finalizers"], json!([]));
    task.await.expect("join").expect("reconcile");
}

/// Answers the deletion path's observe calls: no token, no children, and `classes` as the
/// StorageClasses.
async fn observe_deleting(handle: &mut Handle, classes: Value) {
    let list = |kind: &str| json!({"apiVersion": "v1", "kind": kind, "metadata": {}, "items": []});
    let not_found = json!({"apiVersion": "v1", "kind": "Status", "status": "Failure", "reason": "NotFound", "code": 404, "message": "not found"});
    for (path, status, body) in [
        (
            "/api/v1/namespaces/ns/secrets/demo-agent-token",
            404,
            not_found,
        ),
        ("/api/v1/namespaces/ns/secrets", 200, list("SecretList")),
        (
            "/apis/kubevirt.io/v1/namespaces/ns/virtualmachines",
            200,
            list("VirtualMachineList"),
        ),
        (
            "/apis/kubevirt.io/v1/namespaces/ns/virtualmachineinstances",
            200,
            list("VirtualMachineInstanceList"),
        ),
        (
            "/api/v1/namespaces/ns/persistentvolumeclaims",
            200,
            list("PersistentVolumeClaimList"),
        ),
        (
            "/apis/storage.k8s.io/v1/storageclasses",
            200,
            classes.clone(),
        ),
    ] {
        let (req, send) = tokio::time::timeout(Duration::from_secs(2), handle.next_request())
            .await
            .expect("request in time")
            .expect("request");
        assert_eq!((req.method().as_str(), req.uri().path()), ("GET", path));
        send.send_response(
            Response::builder()
                .status(status)
                .body(Body::from(serde_json::to_vec(&body).expect("json")))
                .expect("response"),
        );
    }
}

/// A StorageClass is cluster-scoped (no owner reference): deleting the LustreCluster deletes
/// the one labelled as its own first, and leaves another namespace's cluster's alone.
#[tokio::test]
async fn deleting_removes_the_clusters_storage_class_first() {
    let (ctx, mut handle) = context();
    let mut lc = cluster("demo", true);
    lc.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        k8s_openapi::jiff::Timestamp::now(),
    ));
    let task = tokio::spawn(reconcile(Arc::new(lc), ctx));
    let class = |name: &str, ns: &str| {
        json!({
            "metadata": {"name": name, "labels": {
                "lustrekit.dev/cluster": "demo",
                "lustrekit.dev/cluster-namespace": ns,
                "app.kubernetes.io/managed-by": "lustrekit-operator"}},
            "provisioner": "lustre.csi.lustrekit.io",
            "parameters": {"cluster": format!("{ns}.demo"), "onDelete": "delete"}
        })
    };
    let classes = json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClassList", "metadata": {},
        "items": [class("lustre-ns-demo", "ns"), class("lustre-other-demo", "other")]});
    observe_deleting(&mut handle, classes).await;
    expect(
        &mut handle,
        "DELETE",
        "/apis/storage.k8s.io/v1/storageclasses/lustre-ns-demo",
    )
    .await;
    let status = expect(
        &mut handle,
        "PATCH",
        "/apis/lustrekit.dev/v1alpha1/namespaces/ns/lustreclusters/demo/status",
    )
    .await;
    assert_eq!(status["body"]["status"]["phase"], "Deleting");
    let event = expect(
        &mut handle,
        "POST",
        "/apis/events.k8s.io/v1/namespaces/ns/events",
    )
    .await;
    assert_eq!(event["body"]["reason"], "StorageClassDeleted");
    task.await.expect("join").expect("reconcile");
}
