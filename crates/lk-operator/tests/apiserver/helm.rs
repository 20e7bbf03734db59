//! The Helm chart renders (scripts/helm-template.sh: Go text/template + sprig, the engine Helm
//! uses, since Helm itself is not installable here) and every object passes a server-side dry
//! run on the real API server, for both RBAC shapes (cluster-wide and one namespace), and with
//! the CSI driver enabled (controller Deployment, node DaemonSet, CSIDriver, StorageClass, RBAC).

use std::process::Command;

use kube::api::{Api, DynamicObject, GroupVersionKind, Patch, PatchParams};
use kube::discovery::{self, Scope};

use crate::harness;

pub fn render(namespace: &str, extra: Option<&str>) -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let mut cmd = Command::new("bash");
    cmd.arg(format!("{root}/scripts/helm-template.sh"))
        .args(["-namespace", namespace]);
    let file;
    if let Some(values) = extra {
        file = tempfile::NamedTempFile::new().expect("tmp");
        std::fs::write(file.path(), values).expect("write values");
        cmd.arg("-f").arg(file.path());
    }
    let out = cmd
        .arg(format!("{root}/deploy/helm/lustrekit"))
        .output()
        .expect("run helm-template.sh");
    assert!(
        out.status.success(),
        "render failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf8")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chart_renders_and_passes_a_server_side_dry_run() {
    let Some(env) = harness::env("helm").await else {
        return;
    };
    let csi = "csi: {enabled: true, fs: \"10.0.0.1@tcp:/lustre\", clusters: {lab: \"10.0.0.9@tcp:/lab\"}, controller: {shareRoots: {lab: /mnt/lab}}, storageClass: {create: true, name: lk-NS}}\n";
    for values in [None, Some("operator: {watchNamespace: NS}\n"), Some(csi)] {
        let values = values.map(|v| v.replace("NS", &env.ns));
        let rendered = render(&env.ns, values.as_deref());
        let mut kinds = Vec::new();
        for doc in serde_yaml_ng::Deserializer::from_str(&rendered) {
            let obj: DynamicObject =
                serde::Deserialize::deserialize(doc).expect("rendered YAML parses");
            let types = obj.types.clone().expect("apiVersion and kind");
            let gvk = GroupVersionKind::try_from(&types).expect("gvk");
            let (ar, caps) = discovery::pinned_kind(&env.client, &gvk)
                .await
                .unwrap_or_else(|e| panic!("{gvk:?}: {e}"));
            let api: Api<DynamicObject> = match caps.scope {
                Scope::Cluster => Api::all_with(env.client.clone(), &ar),
                Scope::Namespaced => Api::namespaced_with(
                    env.client.clone(),
                    obj.metadata.namespace.as_deref().unwrap_or(&env.ns),
                    &ar,
                ),
            };
            let name = obj.metadata.name.clone().expect("name");
            api.patch(
                &name,
                &PatchParams::apply("lustrekit-helm-test").dry_run().force(),
                &Patch::Apply(&obj),
            )
            .await
            .unwrap_or_else(|e| panic!("server-side dry run of {} {name}: {e}", types.kind));
            kinds.push(types.kind);
        }
        let with_csi = values.as_deref().is_some_and(|v| v.starts_with("csi:"));
        let expected_role = if values.is_some() && !with_csi {
            "Role"
        } else {
            "ClusterRole"
        };
        let mut expected = vec![
            "CustomResourceDefinition",
            "ServiceAccount",
            expected_role,
            "Deployment",
        ];
        if with_csi {
            expected.extend([
                "CSIDriver",
                "StorageClass",
                "DaemonSet",
                "Role",
                "RoleBinding",
            ]);
        } else {
            assert!(
                !kinds.iter().any(|x| x == "CSIDriver"),
                "CSI is off by default"
            );
        }
        for k in expected {
            assert!(kinds.iter().any(|x| x == k), "{k} not rendered: {kinds:?}");
        }
    }
}
