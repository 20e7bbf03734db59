//! Step 2 (client required): what exists for a cluster, found by its label, and what each
//! running server's agent reports. Read-only.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Secret};
use kube::api::{Api, DynamicObject, ListParams};
use kube::Client;
use lk_agent::HealthReport;
use serde_json::Value;

use crate::agent_client::Agents;
use crate::error::{OperatorError, Result};
use crate::kubevirt::{vm_resource, vmi_resource, VmiView};
use crate::names;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmView {
    pub name: String,
    pub node: String,
    pub run_strategy: String,
    /// Roles recorded on the VM (for ordering deletion of VMs no longer in the spec).
    pub roles: String,
    pub deleting: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PvcView {
    pub name: String,
    pub label: String,
    pub kind: String,
    pub index: u16,
    /// Primary node of the target.
    pub node: String,
    pub drained: bool,
    /// Deletion requested (a PVC in use, or without the protection controller, lingers).
    pub deleting: bool,
}

/// Everything observed about one cluster. Nodes are keyed by the node label.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// The agents' token, when its Secret exists.
    pub token: Option<String>,
    pub vms: BTreeMap<String, VmView>,
    pub vmis: BTreeMap<String, VmiView>,
    pub pvcs: Vec<PvcView>,
    pub secrets: Vec<String>,
    /// Per node with a running VMI: its agent's report, or why there is none.
    pub reports: BTreeMap<String, Result<HealthReport, String>>,
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
        let spec = vm.data.get("spec");
        o.vms.insert(
            node.clone(),
            VmView {
                name: vm.metadata.name.clone().unwrap_or_default(),
                node,
                run_strategy: spec
                    .and_then(|s| s.get("runStrategy"))
                    .and_then(Value::as_str)
                    .unwrap_or("Always")
                    .to_string(),
                roles: vm
                    .metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get("lustrekit.dev/roles").cloned())
                    .unwrap_or_default(),
                deleting: vm.metadata.deletion_timestamp.is_some(),
            },
        );
    }
    let vmis: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &vmi_resource());
    for vmi in vmis.list(&lp).await.map_err(OperatorError::kube(
        "list",
        "VirtualMachineInstance",
        cluster,
    ))? {
        if let Some(node) = node_of(&vmi.metadata) {
            o.vmis.insert(node, VmiView::from_object(&vmi));
        }
    }

    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), namespace);
    for pvc in pvcs.list_metadata(&lp).await.map_err(OperatorError::kube(
        "list",
        "PersistentVolumeClaim",
        cluster,
    ))? {
        let labels = pvc.metadata.labels.clone().unwrap_or_default();
        let get = |k: &str| labels.get(k).cloned().unwrap_or_default();
        o.pvcs.push(PvcView {
            name: pvc.metadata.name.clone().unwrap_or_default(),
            label: get(names::LABEL_TARGET),
            kind: get(names::LABEL_TARGET_KIND),
            index: get(names::LABEL_TARGET_INDEX).parse().unwrap_or(0),
            node: get(names::LABEL_NODE),
            drained: get(names::LABEL_DRAINED) == "true",
            deleting: pvc.metadata.deletion_timestamp.is_some(),
        });
    }

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
