//! Connection to the real API server, per-test namespaces, CRD installation, the in-process
//! operator and small wait helpers.
//!
//! The tests need a kube-apiserver (scripts/start-kube-apiserver.sh starts one; its kubeconfig
//! is found at KUBECONFIG or /var/lib/lustrekit/kube-test/kubeconfig). Without one they are
//! skipped with a message, except under CI=true or LUSTREKIT_KUBE_TESTS=1, where they fail.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use lk_operator::controller::{self, Context};
use lk_operator::{LustreCluster, Settings};

pub const DEFAULT_KUBECONFIG: &str = "/var/lib/lustrekit/kube-test/kubeconfig";

pub struct Env {
    pub client: Client,
    pub ns: String,
}

fn required() -> bool {
    let on = |k: &str| std::env::var(k).is_ok_and(|v| v == "1" || v == "true");
    on("CI") || on("LUSTREKIT_KUBE_TESTS")
}

pub fn kubeconfig_path() -> Option<PathBuf> {
    std::env::var("KUBECONFIG")
        .ok()
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            let p = PathBuf::from(DEFAULT_KUBECONFIG);
            p.exists().then_some(p)
        })
}

pub async fn client_from(path: &PathBuf) -> Result<Client, String> {
    let kc = Kubeconfig::read_from(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    Client::try_from(config).map_err(|e| e.to_string())
}

/// A client and a fresh namespace, or `None` (skip) when no API server is there and the
/// tests are not required.
pub async fn env(test: &str) -> Option<Env> {
    let skip = |why: String| -> Option<Env> {
        if required() {
            panic!("{test}: {why} (CI=true or LUSTREKIT_KUBE_TESTS=1 requires the API server tests; run scripts/start-kube-apiserver.sh)");
        }
        eprintln!("SKIPPED {test}: {why}; run scripts/start-kube-apiserver.sh to run it");
        None
    };
    let Some(path) = kubeconfig_path() else {
        return skip(format!("no KUBECONFIG and no {DEFAULT_KUBECONFIG}"));
    };
    let client = match client_from(&path).await {
        Ok(c) => c,
        Err(e) => return skip(format!("cannot load {}: {e}", path.display())),
    };
    if let Err(e) = client.apiserver_version().await {
        return skip(format!(
            "the API server in {} does not answer: {e}",
            path.display()
        ));
    }
    install_crds(&client).await;
    let ns = format!("lk-{test}-{:04x}", rand::random::<u16>());
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let mut n = Namespace::default();
    n.metadata.name = Some(ns.clone());
    namespaces
        .create(&PostParams::default(), &n)
        .await
        .expect("create namespace");
    Some(Env { client, ns })
}

/// The LustreCluster CRD (generated) and KubeVirt's types (deploy/kubevirt), server-side
/// applied and awaited until established.
pub async fn install_crds(client: &Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let pp = PatchParams::apply("lustrekit-tests").force();
    let mut all = vec![lk_operator::crd::crd().expect("CRD serializes")];
    let kubevirt = include_str!("../../../../deploy/kubevirt/kubevirt-crds.yaml");
    for doc in serde_yaml_ng::Deserializer::from_str(kubevirt) {
        let crd: CustomResourceDefinition =
            serde::Deserialize::deserialize(doc).expect("kubevirt CRD parses");
        all.push(crd);
    }
    for crd in &all {
        let name = crd.metadata.name.clone().expect("crd name");
        crds.patch(&name, &pp, &Patch::Apply(crd))
            .await
            .unwrap_or_else(|e| panic!("apply CRD {name}: {e}"));
    }
    for crd in &all {
        let name = crd.metadata.name.clone().expect("crd name");
        wait_for(
            &format!("CRD {name} established"),
            Duration::from_secs(30),
            || {
                let crds = crds.clone();
                let name = name.clone();
                async move {
                    let c = crds.get(&name).await.ok()?;
                    c.status?
                        .conditions?
                        .iter()
                        .any(|c| c.type_ == "Established" && c.status == "True")
                        .then_some(())
                }
            },
        )
        .await;
    }
}

pub fn settings(ns: &str, agent_port: u16) -> Settings {
    Settings {
        agent_port,
        busy_requeue: Duration::from_millis(300),
        idle_requeue: Duration::from_secs(1),
        agent_timeout: Duration::from_secs(2),
        phase_retry_seconds: 1,
        namespace: Some(ns.to_string()),
        health_listen: None,
    }
}

/// Runs the operator for one namespace in this test's runtime.
pub fn start_operator(client: Client, ns: &str, agent_port: u16) -> tokio::task::JoinHandle<()> {
    let ctx = Arc::new(Context::new(client, settings(ns, agent_port)));
    tokio::spawn(controller::run(ctx, futures::future::pending::<()>()))
}

/// Polls `f` every 100 ms until it gives `Some`, or panics after `timeout` naming `what`.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if start.elapsed() > timeout {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub fn condition(lc: &LustreCluster, type_: &str) -> Option<(String, String)> {
    lc.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| (c.status.clone(), c.reason.clone()))
}

pub fn is_true(lc: &LustreCluster, type_: &str) -> bool {
    condition(lc, type_).is_some_and(|(s, _)| s == "True")
}

/// Waits until `type_` is True on the cluster and returns it.
pub async fn wait_condition(
    env: &Env,
    name: &str,
    type_: &str,
    timeout: Duration,
) -> LustreCluster {
    let api: Api<LustreCluster> = Api::namespaced(env.client.clone(), &env.ns);
    wait_for(&format!("{name}: {type_}=True"), timeout, || {
        let api = api.clone();
        async move { api.get(name).await.ok().filter(|lc| is_true(lc, type_)) }
    })
    .await
}

/// Reasons of the events about `name`, oldest first.
pub async fn event_reasons(env: &Env, name: &str) -> Vec<String> {
    let api: Api<Event> = Api::namespaced(env.client.clone(), &env.ns);
    let mut events: Vec<Event> = api
        .list(&ListParams::default())
        .await
        .expect("list events")
        .items
        .into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
        .collect();
    events.sort_by_key(|e| e.event_time.as_ref().map(|t| t.0));
    events.into_iter().filter_map(|e| e.reason).collect()
}

pub async fn create_cluster(env: &Env, yaml: &str) -> LustreCluster {
    let lc: LustreCluster = serde_yaml_ng::from_str(yaml).expect("test cluster parses");
    let api: Api<LustreCluster> = Api::namespaced(env.client.clone(), &env.ns);
    api.create(&PostParams::default(), &lc)
        .await
        .expect("create LustreCluster")
}

pub async fn patch_spec(env: &Env, name: &str, patch: serde_json::Value) {
    let api: Api<LustreCluster> = Api::namespaced(env.client.clone(), &env.ns);
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("patch LustreCluster");
}

/// Waits (events are written asynchronously) until every reason in `want` was reported.
pub async fn wait_events(env: &Env, name: &str, want: &[&str]) -> Vec<String> {
    let start = Instant::now();
    loop {
        let reasons = event_reasons(env, name).await;
        let missing: Vec<&&str> = want
            .iter()
            .filter(|w| !reasons.iter().any(|r| r == **w))
            .collect();
        if missing.is_empty() {
            return reasons;
        }
        if start.elapsed() > Duration::from_secs(10) {
            panic!("events {missing:?} missing for {name}: {reasons:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Applies the chart's ServiceAccount, Role and RoleBinding for namespace `ns` (rendered with
/// `operator.watchNamespace: ns`), and its ClusterRole and ClusterRoleBinding for
/// StorageClasses (cluster-scoped; named after the namespace), and returns a client that acts as that ServiceAccount, so the
/// operator runs with exactly the chart's permissions.
pub async fn chart_client(env: &Env) -> Client {
    use kube::api::{DynamicObject, GroupVersionKind};
    use kube::discovery;
    let values = format!("operator: {{watchNamespace: {}}}\n", env.ns);
    let rendered = crate::helm::render(&env.ns, Some(&values));
    let mut account = None;
    for doc in serde_yaml_ng::Deserializer::from_str(&rendered) {
        let obj: DynamicObject = serde::Deserialize::deserialize(doc).expect("rendered YAML");
        let types = obj.types.clone().expect("types");
        let kinds = [
            "ServiceAccount",
            "Role",
            "RoleBinding",
            "ClusterRole",
            "ClusterRoleBinding",
        ];
        if !kinds.contains(&types.kind.as_str()) {
            continue;
        }
        let gvk = GroupVersionKind::try_from(&types).expect("gvk");
        let (ar, caps) = discovery::pinned_kind(&env.client, &gvk)
            .await
            .expect("discover");
        let api: Api<DynamicObject> = match caps.scope {
            discovery::Scope::Cluster => Api::all_with(env.client.clone(), &ar),
            discovery::Scope::Namespaced => Api::namespaced_with(env.client.clone(), &env.ns, &ar),
        };
        let name = obj.metadata.name.clone().expect("name");
        api.patch(
            &name,
            &PatchParams::apply("lustrekit-tests").force(),
            &Patch::Apply(&obj),
        )
        .await
        .unwrap_or_else(|e| panic!("apply {} {name}: {e}", types.kind));
        if types.kind == "ServiceAccount" {
            account = Some(name);
        }
    }
    let account = account.expect("the chart renders a ServiceAccount");
    let path = kubeconfig_path().expect("kubeconfig");
    let kc = Kubeconfig::read_from(&path).expect("kubeconfig");
    let mut config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("config");
    config.auth_info.impersonate = Some(format!("system:serviceaccount:{}:{account}", env.ns));
    config.auth_info.impersonate_groups = Some(vec![
        "system:serviceaccounts".into(),
        format!("system:serviceaccounts:{}", env.ns),
        "system:authenticated".into(),
    ]);
    Client::try_from(config).expect("impersonating client")
}
