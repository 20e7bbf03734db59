//! The `LustreCluster` custom resource: the model's own `spec` (`lk_model::raw::ClusterSpec`,
//! flattened, so every topology file is a valid resource) plus an optional `spec.kubernetes`
//! section that only the operator reads, and the status the operator writes.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use lk_model::raw::ClusterSpec;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::OperatorError;
use crate::states::{ClusterPhase, NodeState, TargetState};

/// A Lustre filesystem served by KubeVirt virtual machines.
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[kube(
    group = "lustrekit.dev",
    version = "v1alpha1",
    kind = "LustreCluster",
    namespaced,
    status = "LustreClusterStatus",
    derive = "PartialEq",
    shortname = "lc",
    category = "lustrekit",
    doc = "A Lustre filesystem (MGS, MDS, OSS, clients) served by KubeVirt virtual machines.",
    printcolumn = r#"{"name": "Fsname", "type": "string", "jsonPath": ".spec.fsname"}"#,
    printcolumn = r#"{"name": "Phase", "type": "string", "jsonPath": ".status.phase"}"#,
    printcolumn = r#"{"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name": "OSTs", "type": "integer", "jsonPath": ".status.ostCount"}"#,
    printcolumn = r#"{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct LustreClusterSpec {
    /// The topology, exactly as in a `lustrekit` topology file.
    #[serde(flatten)]
    pub cluster: ClusterSpec,
    /// Settings only the Kubernetes operator reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<KubernetesSpec>,
}

/// Decoded by hand: serde ignores `deny_unknown_fields` under `flatten`, so `kubernetes` is
/// taken out first and the rest decoded as the model's strict `ClusterSpec` (a typo is an
/// error here as in `lustrekit validate`).
impl<'de> Deserialize<'de> for LustreClusterSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let mut map = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
        let kubernetes = match map.remove("kubernetes") {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => Some(
                serde_json::from_value(v)
                    .map_err(|e| D::Error::custom(format!("kubernetes: {e}")))?,
            ),
        };
        let cluster =
            serde_json::from_value(serde_json::Value::Object(map)).map_err(D::Error::custom)?;
        Ok(LustreClusterSpec {
            cluster,
            kubernetes,
        })
    }
}

/// What happens to the target volumes (PVCs) when the LustreCluster is deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum DeletionPolicy {
    /// Keep every PVC (the default): recreating the cluster mounts the same data.
    #[default]
    Retain,
    /// Delete the PVCs too; needs `deletionConfirmation`.
    Delete,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KubernetesSpec {
    /// KubeVirt containerDisk image with Lustre and the agent installed. Default:
    /// `lustrekit/debian-12-lustre:2.17`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vm_image: Option<String>,
    /// StorageClass of the target PVCs. Default: the cluster's default class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
    /// Multus NetworkAttachmentDefinition carrying each LNet network, by LNet name. Default:
    /// `<cluster>-<lnet>` (e.g. `demo-tcp0`) in the cluster's namespace.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub network_attachments: std::collections::BTreeMap<String, String>,
    /// `Retain` (default) or `Delete`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<DeletionPolicy>,
    /// With `deletionPolicy: Delete`, must be exactly `delete-volumes-of-<metadata.name>`;
    /// otherwise deletion stops with the condition DeletionIsBlocked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_confirmation: Option<String>,
    /// OST indexes that may be removed from the spec: each is deactivated, its files migrated
    /// off with `lfs migrate`, then it is unmounted and forgotten. Removing an OST not listed
    /// here is refused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drain_osts: Vec<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeouts: Option<Timeouts>,
    /// What the operator publishes for the CSI driver `lustre.csi.lustrekit.io`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csi: Option<CsiSpec>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CsiSpec {
    /// A StorageClass whose claims become shares on this filesystem (the CSI controller must
    /// serve the cluster as `<namespace>.<name>`: `--cluster` and `--share-root`, the chart's
    /// `csi.clusters` and `csi.controller.shareRoots`). Removing it deletes the StorageClass;
    /// volumes already made stay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<StorageClassSpec>,
}

/// The published StorageClass. Kubernetes cannot change a StorageClass's parameters or
/// reclaim policy: changing `onDelete` or `reclaimPolicy` (or the name) deletes it and creates
/// it anew; claims already bound keep their volumes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StorageClassSpec {
    /// Default: `lustre-<namespace>-<name>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What DeleteVolume does with a share: `delete` (default) or `retain`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_delete: Option<ShareOnDelete>,
    /// `Delete` (default) or `Retain`: whether Kubernetes calls DeleteVolume at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reclaim_policy: Option<ReclaimPolicy>,
    /// Default: true (the driver raises a share's quota online).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_volume_expansion: Option<bool>,
}

// The CSI StorageClass parameter `onDelete`, spelt as the driver takes it. (A `//` comment:
// a doc comment would replace the field's description in the CRD schema.)
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ShareOnDelete {
    /// Remove the share (directory, quota, project ID).
    #[default]
    Delete,
    /// Keep the share and its data.
    Retain,
}

impl ShareOnDelete {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delete => "delete",
            Self::Retain => "retain",
        }
    }
}

/// A StorageClass's `reclaimPolicy`, spelt as Kubernetes takes it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ReclaimPolicy {
    #[default]
    Delete,
    Retain,
}

impl ReclaimPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delete => "Delete",
            Self::Retain => "Retain",
        }
    }
}

/// Named timeouts, in seconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Timeouts {
    /// From VM start until its agent answers. Default: 600.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_seconds: Option<u64>,
    /// One phase script on one node. Default: 900.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase_seconds: Option<u64>,
    /// A running server whose agent stays unreachable this long is fenced and replaced.
    /// Default: 120.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replace_after_seconds: Option<u64>,
    /// From a replacement's start until its targets finished recovery. Default: 900.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_seconds: Option<u64>,
    /// Guest teardown (unmounts) during deletion before VMs are deleted anyway. Default: 300.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teardown_seconds: Option<u64>,
}

/// Observed state, written by the operator only.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LustreClusterStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// One word: Invalid, Provisioning, Ready, Degraded, Deleting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub phase: Option<ClusterPhase>,
    /// SpecAccepted, Provisioning, LNetReady, Formatted, Mounted, Ready, Degraded,
    /// DeletionIsBlocked, StorageClassReady.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// OSTs in service.
    #[serde(default)]
    pub ost_count: u32,
    #[serde(default)]
    pub nodes: Vec<NodeStatus>,
    #[serde(default)]
    pub targets: Vec<TargetStatus>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeStatus {
    pub name: String,
    /// The KubeVirt VirtualMachine.
    pub vm: String,
    /// Stable LNet NIDs (static addresses from the model).
    #[serde(default)]
    pub nids: Vec<String>,
    /// Pending, Booting, Running, Fencing, Restarting, Failed.
    #[schemars(with = "String")]
    pub state: NodeState,
    /// UID of the running VirtualMachineInstance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vmi_uid: Option<String>,
    /// The agent answered the last poll.
    #[serde(default)]
    pub agent_reachable: bool,
    /// Unix time the node entered its current trouble (unreachable, fencing, restarting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_unix: Option<i64>,
    /// Unix time the current replacement started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replacement_started_unix: Option<i64>,
    /// Replacements done so far.
    #[serde(default)]
    pub replacements: u32,
    /// The current replacement exceeded `recoverySeconds` (reported once).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recovery_timed_out: bool,
    /// Phases done on the current VM instance, in order.
    #[serde(default)]
    pub phases_done: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TargetStatus {
    /// `MGS`, `fs-MDT0000`, `fs-OST0001`.
    pub label: String,
    /// mgt, mdt, ost.
    pub kind: String,
    pub index: u16,
    pub node: String,
    pub pvc: String,
    /// Pending, Formatted, Mounted, Recovering, Down, Draining, Drained.
    #[schemars(with = "String")]
    pub state: TargetState,
    /// recovery_status of the target (COMPLETE, RECOVERING, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery: Option<String>,
}

/// The CustomResourceDefinition. `null` is dropped from `enum` lists (optional enums are
/// `nullable` already, and kubectl's client-side validation rejects a null enum value).
pub fn crd() -> Result<CustomResourceDefinition, OperatorError> {
    use kube::CustomResourceExt as _;
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                if let Some(serde_json::Value::Array(values)) = map.get_mut("enum") {
                    values.retain(|x| !x.is_null());
                }
                map.values_mut().for_each(strip);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            // Leaves: nothing to strip.
            serde_json::Value::Null
            | serde_json::Value::Bool(_)
            | serde_json::Value::Number(_)
            | serde_json::Value::String(_) => {}
        }
    }
    let serialize = |source| OperatorError::Serialize {
        what: "the CustomResourceDefinition",
        source,
    };
    let mut value = serde_json::to_value(LustreCluster::crd()).map_err(serialize)?;
    strip(&mut value);
    serde_json::from_value(value).map_err(serialize)
}

/// The CRD as YAML, as `lustrekit crd` prints it and the Helm chart ships it.
pub fn crd_yaml() -> Result<String, OperatorError> {
    let body = serde_yaml_ng::to_string(&crd()?).map_err(|source| OperatorError::Yaml {
        what: "the CustomResourceDefinition",
        source,
    })?;
    Ok(format!(
        "# Generated by `lustrekit crd` from lk-model's types; do not edit.\n{body}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_topology_file_is_a_resource() {
        let yaml = include_str!("../../../examples/all-in-one.yaml");
        let lc: LustreCluster = serde_yaml_ng::from_str(yaml).unwrap();
        assert!(!lc.spec.cluster.fsname.is_empty());
        assert!(lc.spec.kubernetes.is_none());
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let yaml = "apiVersion: lustrekit.dev/v1alpha1\nkind: LustreCluster\nmetadata: {name: a}\nspec: {fsname: fs, nodez: []}\n";
        assert!(serde_yaml_ng::from_str::<LustreCluster>(yaml).is_err());
        let yaml = "apiVersion: lustrekit.dev/v1alpha1\nkind: LustreCluster\nmetadata: {name: a}\nspec: {fsname: fs, kubernetes: {vmImag: x}}\n";
        assert!(serde_yaml_ng::from_str::<LustreCluster>(yaml).is_err());
    }
}
