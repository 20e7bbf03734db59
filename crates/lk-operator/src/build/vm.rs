//! One KubeVirt VirtualMachine per node: an ephemeral containerDisk root (a replacement starts
//! clean), the cloud-init Secret, every target PVC the node serves (disk serials as the
//! planner gives them, so scripts find `/dev/disk/by-id/virtio-<serial>`), one bridge
//! interface per LNet network on its Multus attachment with the planner's MAC (the address is
//! static in the guest, so NIDs never change), and the pod network last (the agent's address).

use kube::api::{DynamicObject, ObjectMeta};
use lk_plan::resources::DomainResource;
use serde_json::{json, Value};

use super::Meta;
use crate::crd::KubernetesSpec;
use crate::error::{OperatorError, Result};
use crate::kubevirt::vm_resource;
use crate::names;
use crate::settings::DEFAULT_VM_IMAGE;
use crate::validate::Validated;

pub(crate) fn build(
    meta: &Meta,
    v: &Validated,
    domain: &DomainResource,
    spec: &KubernetesSpec,
    halted: bool,
) -> Result<DynamicObject> {
    let t = &v.topology;
    let node = &domain.node;
    let image = spec.vm_image.as_deref().unwrap_or(DEFAULT_VM_IMAGE);
    let mut disks = vec![
        json!({"name": "root", "disk": {"bus": "virtio"}}),
        json!({"name": "cloudinit", "disk": {"bus": "virtio"}}),
    ];
    let mut volumes = vec![
        json!({"name": "root", "containerDisk": {"image": image}}),
        json!({"name": "cloudinit", "cloudInitNoCloud": {
            "secretRef": {"name": names::cloud_init_secret(&meta.cluster, node)},
            "networkDataSecretRef": {"name": names::cloud_init_secret(&meta.cluster, node)},
        }}),
    ];
    for target in t.targets().filter(|x| x.service_nodes().any(|n| n == node)) {
        let name = t.target_name(target);
        let short = name.short();
        let mut disk = json!({"name": short, "serial": name.serial(), "disk": {"bus": "virtio"}});
        if target.failover.is_some() {
            // A failover pair shares the disk: no host cache, and KubeVirt must allow two
            // writers (Lustre and ZFS multihost arbitrate; the operator fences).
            disk["shareable"] = Value::Bool(true);
            disk["cache"] = json!("none");
            disk["io"] = json!("native");
        }
        disks.push(disk);
        volumes.push(json!({
            "name": short,
            "persistentVolumeClaim": {"claimName": names::pvc(&meta.cluster, &name)},
        }));
    }
    let mut interfaces = Vec::new();
    let mut networks = Vec::new();
    for nic in &domain.nics {
        let nad = spec
            .network_attachments
            .get(&nic.lnet)
            .cloned()
            .unwrap_or_else(|| names::network_attachment(&meta.cluster, &nic.lnet));
        interfaces.push(json!({"name": nic.lnet, "bridge": {}, "macAddress": nic.mac}));
        networks.push(json!({"name": nic.lnet, "multus": {"networkName": nad}}));
    }
    interfaces.push(json!({
        "name": names::POD_NETWORK,
        "masquerade": {},
        "macAddress": super::cloudinit::pod_mac(&meta.cluster, node),
    }));
    networks.push(json!({"name": names::POD_NETWORK, "pod": {}}));
    let labels = meta.labels(&[(names::LABEL_NODE, node)]);
    let roles = roles(t, node)?;
    let mut obj =
        DynamicObject::new(&names::vm(&meta.cluster, node), &vm_resource()).within(&meta.namespace);
    obj.metadata = ObjectMeta {
        name: Some(names::vm(&meta.cluster, node)),
        namespace: Some(meta.namespace.clone()),
        labels: Some(labels.clone()),
        annotations: Some([(names::ANNOTATION_ROLES.to_string(), roles)].into()),
        owner_references: Some(vec![meta.owner.clone()]),
        ..Default::default()
    };
    obj.data = json!({
        "spec": {
            "runStrategy": if halted { "Halted" } else { "Always" },
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "hostname": node,
                    "terminationGracePeriodSeconds": 60,
                    "domain": {
                        "cpu": {"cores": domain.vcpus},
                        "memory": {"guest": format!("{}Mi", domain.memory_mib)},
                        "resources": {"requests": {"memory": format!("{}Mi", domain.memory_mib)}},
                        "devices": {"disks": disks, "interfaces": interfaces},
                    },
                    "networks": networks,
                    "volumes": volumes,
                },
            },
        },
    });
    Ok(obj)
}

/// The roles annotation, `mgs,mds`. The planner makes a VM only for a node of the topology;
/// an empty annotation would order the VM's deletion with the clients.
fn roles(t: &lk_model::Topology, node: &str) -> Result<String> {
    let n = t.node(node).ok_or_else(|| OperatorError::UnknownNode {
        node: node.to_string(),
    })?;
    Ok(n.roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(","))
}
