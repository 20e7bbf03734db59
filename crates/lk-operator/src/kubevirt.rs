//! KubeVirt's VirtualMachine and VirtualMachineInstance, as dynamic objects (no KubeVirt crate
//! is needed for the few fields the operator writes and reads).

use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use serde_json::Value;

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
    /// Pending, Scheduling, Scheduled, Running, Succeeded, Failed, Unknown.
    pub phase: String,
    /// Address of the pod-network interface (where the agent listens).
    pub pod_ip: Option<String>,
    pub deleting: bool,
}

impl VmiView {
    pub fn from_object(o: &DynamicObject) -> VmiView {
        let status = o.data.get("status");
        let phase = status
            .and_then(|s| s.get("phase"))
            .and_then(Value::as_str)
            .unwrap_or("Pending")
            .to_string();
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
        VmiView {
            name: o.metadata.name.clone().unwrap_or_default(),
            uid: o.metadata.uid.clone().unwrap_or_default(),
            phase,
            pod_ip,
            deleting: o.metadata.deletion_timestamp.is_some(),
        }
    }

    pub fn is_running(&self) -> bool {
        self.phase == "Running" && !self.deleting
    }

    pub fn is_failed(&self) -> bool {
        matches!(self.phase.as_str(), "Failed" | "Succeeded" | "Unknown")
    }
}
