//! The StorageClass a LustreCluster asks for (`spec.kubernetes.csi.storageClass`): what it
//! should be and what to do about the StorageClasses that exist. Pure; [`crate::observe`]
//! lists them and [`crate::apply::storage_classes`] carries the plan out.
//!
//! A StorageClass is cluster-scoped and a namespaced owner cannot own it, so ownership is in
//! labels (the LustreCluster's name and namespace) and deletion happens here (spec field
//! removed) and in the finalizer's cleanup (LustreCluster deleted). Kubernetes refuses changes
//! to a StorageClass's provisioner, parameters, reclaim policy and binding mode: a spec that
//! changes one deletes the StorageClass and creates it again, which is what `kubectl replace
//! --force` would do and leaves bound claims and their volumes alone (a volume's `onDelete`
//! is in its volume ID, not read from the class).

use std::collections::BTreeMap;

use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::ResourceExt as _;

use crate::conditions::{self as c, Cond};
use crate::crd::{LustreCluster, StorageClassSpec};
use crate::decide::Note;
use crate::names;

/// Parameter keys of the CSI driver's StorageClasses (docs/csi.md).
pub const PARAM_CLUSTER: &str = "cluster";
pub const PARAM_ON_DELETE: &str = "onDelete";
/// Kubernetes' default binding mode, written out so a comparison sees what the server stores.
const BINDING_MODE: &str = "Immediate";

/// What the operator needs to know about an existing StorageClass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScView {
    pub name: String,
    /// `(namespace, name)` of the LustreCluster that owns it, from its labels, when the
    /// operator made it.
    pub owner: Option<(String, String)>,
    pub provisioner: String,
    pub parameters: BTreeMap<String, String>,
    pub reclaim_policy: String,
    pub binding_mode: String,
    pub deleting: bool,
}

impl ScView {
    pub fn of(sc: &StorageClass) -> Self {
        let labels = sc.labels();
        let managed =
            labels.get(names::LABEL_MANAGED_BY).map(String::as_str) == Some(names::MANAGED_BY);
        let owner = match (
            labels.get(names::LABEL_CLUSTER_NAMESPACE),
            labels.get(names::LABEL_CLUSTER),
        ) {
            (Some(ns), Some(name)) if managed => Some((ns.clone(), name.clone())),
            _ => None,
        };
        ScView {
            name: sc.name_any(),
            owner,
            provisioner: sc.provisioner.clone(),
            parameters: sc.parameters.clone().unwrap_or_default(),
            // The server fills the defaults in; an object without them is compared as if.
            reclaim_policy: sc.reclaim_policy.clone().unwrap_or_else(|| "Delete".into()),
            binding_mode: sc
                .volume_binding_mode
                .clone()
                .unwrap_or_else(|| BINDING_MODE.into()),
            deleting: sc.metadata.deletion_timestamp.is_some(),
        }
    }

    /// Whether this one, as it is, can stand for `want` (everything Kubernetes will not
    /// change in place is equal).
    fn matches(&self, want: &StorageClass) -> bool {
        let want = ScView::of(want);
        (
            &self.provisioner,
            &self.parameters,
            &self.reclaim_policy,
            &self.binding_mode,
        ) == (
            &want.provisioner,
            &want.parameters,
            &want.reclaim_policy,
            &want.binding_mode,
        )
    }
}

/// Namespace and name of a LustreCluster (the namespace is set on everything reconciled).
fn identity(lc: &LustreCluster) -> (String, String) {
    (lc.namespace().unwrap_or_default(), lc.name_any())
}

fn requested(lc: &LustreCluster) -> Option<&StorageClassSpec> {
    lc.spec
        .kubernetes
        .as_ref()?
        .csi
        .as_ref()?
        .storage_class
        .as_ref()
}

/// The StorageClass the spec asks for, or `None`.
pub fn desired(lc: &LustreCluster) -> Option<StorageClass> {
    let spec = requested(lc)?;
    let (ns, cluster) = identity(lc);
    let name = spec
        .name
        .clone()
        .unwrap_or_else(|| names::storage_class(&ns, &cluster));
    let parameters = BTreeMap::from([
        (PARAM_CLUSTER.to_string(), names::csi_cluster(&ns, &cluster)),
        (
            PARAM_ON_DELETE.to_string(),
            spec.on_delete.unwrap_or_default().as_str().to_string(),
        ),
    ]);
    let labels = BTreeMap::from([
        (names::LABEL_CLUSTER.to_string(), cluster),
        (names::LABEL_CLUSTER_NAMESPACE.to_string(), ns),
        (
            names::LABEL_MANAGED_BY.to_string(),
            names::MANAGED_BY.to_string(),
        ),
    ]);
    Some(StorageClass {
        metadata: ObjectMeta {
            name: Some(name),
            labels: Some(labels),
            ..Default::default()
        },
        provisioner: names::CSI_DRIVER.to_string(),
        parameters: Some(parameters),
        reclaim_policy: Some(spec.reclaim_policy.unwrap_or_default().as_str().to_string()),
        allow_volume_expansion: Some(spec.allow_volume_expansion.unwrap_or(true)),
        volume_binding_mode: Some(BINDING_MODE.to_string()),
        ..Default::default()
    })
}

/// The names of the StorageClasses this LustreCluster owns that are not being deleted yet.
pub fn owned(lc: &LustreCluster, existing: &[ScView]) -> Vec<String> {
    let me = identity(lc);
    existing
        .iter()
        .filter(|v| v.owner.as_ref() == Some(&me) && !v.deleting)
        .map(|v| v.name.clone())
        .collect()
}

/// What to do: delete these, then apply that (server-side), and what to report.
#[derive(Debug, Clone, Default)]
pub struct ScPlan {
    pub delete: Vec<String>,
    pub apply: Option<StorageClass>,
    /// `StorageClassReady`, when there is something to say.
    pub condition: Option<Cond>,
    pub notes: Vec<Note>,
}

/// No StorageClass asked for: delete ours. The condition is only written for a cluster that
/// had one (others never mention StorageClasses), so a stale `NameTaken` does not linger.
fn not_requested(lc: &LustreCluster, existing: &[ScView]) -> ScPlan {
    let delete = owned(lc, existing);
    let had_condition = lc.status.as_ref().is_some_and(|s| {
        s.conditions
            .iter()
            .any(|x| x.type_ == c::STORAGE_CLASS_READY)
    });
    let mut plan = ScPlan::default();
    if !delete.is_empty() {
        plan.notes.push(Note::normal(
            "StorageClassDeleted",
            "Delete",
            format!(
                "{}: spec.kubernetes.csi.storageClass is not set",
                delete.join(", ")
            ),
        ));
    }
    if !delete.is_empty() || had_condition {
        plan.condition = Some(Cond::new(
            c::STORAGE_CLASS_READY,
            false,
            "NotRequested",
            "spec.kubernetes.csi.storageClass is not set",
        ));
    }
    plan.delete = delete;
    plan
}

/// Decides from the spec and every existing StorageClass.
pub fn decide(lc: &LustreCluster, existing: &[ScView]) -> ScPlan {
    let mut plan = ScPlan::default();
    let Some(want) = desired(lc) else {
        return not_requested(lc, existing);
    };
    let name = want.name_any();
    // Renamed: the old one goes.
    plan.delete = owned(lc, existing)
        .into_iter()
        .filter(|n| *n != name)
        .collect();
    match existing.iter().find(|v| v.name == name) {
        Some(v) if v.owner.as_ref() != Some(&identity(lc)) => {
            let message = format!(
                "StorageClass {name} exists and was not made for this LustreCluster; set spec.kubernetes.csi.storageClass.name to another name"
            );
            plan.notes
                .push(Note::warning("StorageClassNameTaken", "Apply", &message));
            plan.condition = Some(Cond::new(
                c::STORAGE_CLASS_READY,
                false,
                "NameTaken",
                message,
            ));
            return plan;
        }
        // Going away (replaced last time, or by hand): make it again once it is gone.
        Some(v) if v.deleting => {
            plan.condition = Some(Cond::new(
                c::STORAGE_CLASS_READY,
                false,
                "Replacing",
                format!("waiting for StorageClass {name} to be deleted"),
            ));
            return plan;
        }
        Some(v) if !v.matches(&want) => {
            plan.delete.push(name.clone());
            plan.notes.push(Note::normal(
                "StorageClassReplaced",
                "Apply",
                format!("{name}: its parameters or reclaim policy changed, which Kubernetes does not allow in place"),
            ));
        }
        Some(_) => {}
        None => plan
            .notes
            .push(Note::normal("StorageClassCreated", "Apply", name.clone())),
    }
    plan.condition = Some(Cond::new(
        c::STORAGE_CLASS_READY,
        true,
        "Published",
        format!("StorageClass {name}"),
    ));
    plan.apply = Some(want);
    plan
}

#[cfg(test)]
mod tests;
