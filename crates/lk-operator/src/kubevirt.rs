//! KubeVirt's VirtualMachine and VirtualMachineInstance, as dynamic objects (no KubeVirt crate
//! is needed for the few fields the operator writes and reads).

use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use serde_json::Value;

use crate::error::OperatorError;
use crate::states::VmiPhase;

pub fn vm_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("kubevirt.io", "v1", "VirtualMachine"),
        "virtualmachines",
    )
}

pub fn vmi_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("kubevirt.io", "v1", "VirtualMachineInstance"),
        "virtualmachineinstances",
    )
}

/// What the operator reads of a VirtualMachineInstance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmiView {
    pub name: String,
    pub uid: String,
    pub phase: VmiPhase,
    /// Address of the pod-network interface (where the agent listens).
    pub pod_ip: Option<String>,
    pub deleting: bool,
}

impl VmiView {
    pub fn from_object(o: &DynamicObject) -> Result<VmiView, OperatorError> {
        let status = o.data.get("status");
        // KubeVirt writes no phase before the instance is scheduled.
        let phase = status
            .and_then(|s| s.get("phase"))
            .and_then(Value::as_str)
            .map_or(VmiPhase::Pending, VmiPhase::from);
        let pod_ip = status
            .and_then(|s| s.get("interfaces"))
            .and_then(Value::as_array)
            .and_then(|ifs| {
                ifs.iter().find(|i| {
                    i.get("name").and_then(Value::as_str) == Some(crate::names::POD_NETWORK)
                })
            })
            .and_then(|i| i.get("ipAddress"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let field = |f: &'static str, v: &Option<String>| {
            v.clone().ok_or_else(|| OperatorError::Malformed {
                kind: "VirtualMachineInstance",
                name: o.metadata.name.clone().unwrap_or_else(|| "?".into()),
                field: f.into(),
                reason: "missing".into(),
            })
        };
        Ok(VmiView {
            name: field("metadata.name", &o.metadata.name)?,
            uid: field("metadata.uid", &o.metadata.uid)?,
            phase,
            pod_ip,
            deleting: o.metadata.deletion_timestamp.is_some(),
        })
    }

    pub fn is_running(&self) -> bool {
        self.phase == VmiPhase::Running && !self.deleting
    }

    /// The instance is gone for good (stopped, failed, or its node lost): fence and replace.
    pub fn is_failed(&self) -> bool {
        match self.phase {
            VmiPhase::Failed | VmiPhase::Succeeded | VmiPhase::KubevirtUnknown => true,
            VmiPhase::Pending
            | VmiPhase::Scheduling
            | VmiPhase::Scheduled
            | VmiPhase::Running
            | VmiPhase::Unknown(_) => false,
        }
    }
}
