//! Step 2 (client required): what exists for a cluster, found by its label, and what each
//! running server's agent reports. Read-only.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Secret};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, DynamicObject, ListParams};
use kube::Client;
use lk_agent::HealthReport;
use lk_model::raw::Role;
use lk_model::topology::TargetKind;
use serde_json::Value;

use crate::agent_client::{AgentCallError, Agents};
use crate::error::{OperatorError, Result};
use crate::kubevirt::{vm_resource, vmi_resource, VmiView};
use crate::names;
use crate::storage_class::ScView;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmView {
    pub name: String,
    pub node: String,
    pub run_strategy: String,
    /// Roles recorded on the VM (for ordering deletion of VMs no longer in the spec).
    pub roles: Vec<Role>,
    pub deleting: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PvcView {
    pub name: String,
    pub label: String,
    pub kind: TargetKind,
    pub index: u16,
    /// Primary node of the target.
    pub node: String,
    pub drained: bool,
    /// Deletion requested (a PVC in use, or without the protection controller, lingers).
    pub deleting: bool,
}

/// Everything observed about one cluster. Nodes are keyed by the node label.
#[derive(Debug, Default)]
pub struct Observed {
    /// The agents' token, when its Secret exists.
    pub token: Option<String>,
    pub vms: BTreeMap<String, VmView>,
    pub vmis: BTreeMap<String, VmiView>,
    pub pvcs: Vec<PvcView>,
    pub secrets: Vec<String>,
    /// Every StorageClass (cluster-scoped; few): the cluster's own by label, and any other
    /// holding the name the spec asks for.
    pub storage_classes: Vec<ScView>,
    /// Per node with a running VMI: its agent's report, or why there is none.
    pub reports: BTreeMap<String, Result<HealthReport, AgentCallError>>,
}

impl Observed {
    pub fn report(&self, node: &str) -> Option<&HealthReport> {
        self.reports.get(node).and_then(|r| r.as_ref().ok())
    }

    pub fn agent_address(&self, node: &str, port: u16) -> Option<String> {
        self.vmis
            .get(node)
            .filter(|v| v.is_running())
            .and_then(|v| v.pod_ip.as_ref())
            .map(|ip| format!("{ip}:{port}"))
    }
}

fn node_of(meta: &kube::api::ObjectMeta) -> Option<String> {
    meta.labels.as_ref()?.get(names::LABEL_NODE).cloned()
}

fn malformed(
    kind: &'static str,
    name: &str,
    field: &str,
    reason: impl Into<String>,
) -> OperatorError {
    OperatorError::Malformed {
        kind,
        name: name.to_string(),
        field: field.to_string(),
        reason: reason.into(),
    }
}

/// `mgs,mds` → roles. The operator wrote it, so a missing or unknown word means the object
/// was changed by hand: an error, not "no role" (which would order its deletion first).
pub fn parse_roles(vm: &str, annotation: Option<&str>) -> Result<Vec<Role>> {
    let field = format!("annotation {}", names::ANNOTATION_ROLES);
    let text = annotation.ok_or_else(|| malformed("VirtualMachine", vm, &field, "missing"))?;
    text.split(',')
        .filter(|w| !w.is_empty())
        .map(|w| {
            serde_json::from_value::<Role>(Value::String(w.to_string()))
                .map_err(|_| malformed("VirtualMachine", vm, &field, format!("unknown role `{w}`")))
        })
        .collect()
}

fn vm_view(vm: &DynamicObject, node: String) -> Result<VmView> {
    let name = vm
        .metadata
        .name
        .clone()
        .ok_or_else(|| malformed("VirtualMachine", &node, "metadata.name", "missing"))?;
    let annotation = vm
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(names::ANNOTATION_ROLES));
    Ok(VmView {
        roles: parse_roles(&name, annotation.map(String::as_str))?,
        run_strategy: vm
            .data
            .get("spec")
            .and_then(|s| s.get("runStrategy"))
            .and_then(Value::as_str)
            // KubeVirt's default when the field is absent.
            .unwrap_or("Always")
            .to_string(),
        name,
        node,
        deleting: vm.metadata.deletion_timestamp.is_some(),
    })
}

/// A target PVC from its labels (all written by the operator; `drained` only once drained).
pub fn pvc_view(meta: &kube::api::ObjectMeta) -> Result<PvcView> {
    const KIND: &str = "PersistentVolumeClaim";
    let name = meta
        .name
        .clone()
        .ok_or_else(|| malformed(KIND, "?", "metadata.name", "missing"))?;
    let labels = meta.labels.clone().unwrap_or_default();
    let get = |k: &str| {
        labels
            .get(k)
            .cloned()
            .ok_or_else(|| malformed(KIND, &name, &format!("label {k}"), "missing"))
    };
    let kind = match get(names::LABEL_TARGET_KIND)?.as_str() {
        "mgt" => TargetKind::Mgt,
        "mdt" => TargetKind::Mdt,
        "ost" => TargetKind::Ost,
        other => {
            return Err(malformed(
                KIND,
                &name,
                names::LABEL_TARGET_KIND,
                format!("unknown target kind `{other}`"),
            ))
        }
    };
    let index = get(names::LABEL_TARGET_INDEX)?;
    let index = index.parse().map_err(|e| {
        malformed(
            KIND,
            &name,
            names::LABEL_TARGET_INDEX,
            format!("`{index}`: {e}"),
        )
    })?;
    Ok(PvcView {
        label: get(names::LABEL_TARGET)?,
        kind,
        index,
        node: get(names::LABEL_NODE)?,
        // Absent until the drain finished.
        drained: labels.get(names::LABEL_DRAINED).map(String::as_str) == Some("true"),
        deleting: meta.deletion_timestamp.is_some(),
        name,
    })
}

pub async fn observe(
    client: &Client,
    namespace: &str,
    cluster: &str,
    agents: &dyn Agents,
    agent_port: u16,
) -> Result<Observed> {
    let lp = ListParams::default().labels(&format!("{}={cluster}", names::LABEL_CLUSTER));
    let mut o = Observed::default();

    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let token_name = names::token_secret(cluster);
    o.token = secrets
        .get_opt(&token_name)
        .await
        .map_err(OperatorError::kube("read", "Secret", &token_name))?
        .and_then(|s| s.data)
        .and_then(|d| d.get(names::TOKEN_KEY).cloned())
        .and_then(|b| String::from_utf8(b.0).ok());
    o.secrets = secrets
        .list_metadata(&lp)
        .await
        .map_err(OperatorError::kube("list", "Secret", cluster))?
        .items
        .into_iter()
        .filter_map(|s| s.metadata.name)
        .collect();

    let vms: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &vm_resource());
    for vm in vms
        .list(&lp)
        .await
        .map_err(OperatorError::kube("list", "VirtualMachine", cluster))?
    {
        let Some(node) = node_of(&vm.metadata) else {
            continue;
        };
        o.vms.insert(node.clone(), vm_view(&vm, node)?);
    }
    let vmis: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &vmi_resource());
    for vmi in vmis.list(&lp).await.map_err(OperatorError::kube(
        "list",
        "VirtualMachineInstance",
        cluster,
    ))? {
        if let Some(node) = node_of(&vmi.metadata) {
            o.vmis.insert(node, VmiView::from_object(&vmi)?);
        }
    }

    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), namespace);
    for pvc in pvcs.list_metadata(&lp).await.map_err(OperatorError::kube(
        "list",
        "PersistentVolumeClaim",
        cluster,
    ))? {
        o.pvcs.push(pvc_view(&pvc.metadata)?);
    }

    let classes: Api<StorageClass> = Api::all(client.clone());
    o.storage_classes = classes
        .list(&ListParams::default())
        .await
        .map_err(OperatorError::kube("list", "StorageClass", "(all)"))?
        .iter()
        .map(ScView::of)
        .collect();

    let polls = o
        .vmis
        .keys()
        .filter_map(|node| o.agent_address(node, agent_port).map(|a| (node.clone(), a)))
        .map(|(node, address)| async move { (node, agents.report(address).await) })
        .collect::<Vec<_>>();
    for (node, report) in futures::future::join_all(polls).await {
        o.reports.insert(node, report);
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::api::ObjectMeta;

    fn pvc(labels: &[(&str, &str)]) -> ObjectMeta {
        ObjectMeta {
            name: Some("demo-ost1".into()),
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..Default::default()
        }
    }

    #[test]
    fn target_pvcs_are_read_from_their_labels() {
        let full = [
            (names::LABEL_TARGET, "demo-OST0001"),
            (names::LABEL_TARGET_KIND, "ost"),
            (names::LABEL_TARGET_INDEX, "1"),
            (names::LABEL_NODE, "oss1"),
        ];
        let p = pvc_view(&pvc(&full)).expect("valid labels");
        assert_eq!((p.kind, p.index, p.drained), (TargetKind::Ost, 1, false));
        // Before, a missing index read as 0 and an odd kind as "": a wrong target.
        let err = pvc_view(&pvc(&full[..2])).expect_err("no index label");
        assert!(err.to_string().contains("target-index"), "{err}");
        let mut bad = full;
        bad[2].1 = "one";
        assert!(pvc_view(&pvc(&bad)).is_err());
        bad = full;
        bad[1].1 = "ostt";
        assert!(pvc_view(&pvc(&bad)).is_err());
    }

    #[test]
    fn roles_are_words_the_model_knows() {
        assert_eq!(
            parse_roles("demo-mds1", Some("mgs,mds")).expect("known"),
            [Role::Mgs, Role::Mds]
        );
        assert!(parse_roles("demo-mds1", Some("mgs,mdz")).is_err());
        assert!(parse_roles("demo-mds1", None).is_err());
    }
}
