//! Target PVCs: raw block volumes, labelled with their target; no owner reference, so deleting
//! the LustreCluster (or its VMs) never deletes data by itself.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimSpec, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use lk_model::Topology;

use super::Meta;
use crate::names;

pub(crate) fn build(
    meta: &Meta,
    t: &Topology,
    storage_class: Option<&str>,
) -> Vec<PersistentVolumeClaim> {
    t.targets()
        .map(|target| {
            let name = t.target_name(target);
            let index = target.index.to_string();
            let shared = target.failover.is_some();
            PersistentVolumeClaim {
                metadata: ObjectMeta {
                    name: Some(names::pvc(&meta.cluster, &name)),
                    namespace: Some(meta.namespace.clone()),
                    labels: Some(meta.labels(&[
                        (names::LABEL_TARGET, &name.label()),
                        (names::LABEL_TARGET_KIND, target.kind.as_str()),
                        (names::LABEL_TARGET_INDEX, &index),
                        (names::LABEL_NODE, &target.node),
                    ])),
                    ..Default::default()
                },
                spec: Some(PersistentVolumeClaimSpec {
                    access_modes: Some(vec![if shared {
                        "ReadWriteMany".into()
                    } else {
                        "ReadWriteOnce".into()
                    }]),
                    volume_mode: Some("Block".into()),
                    storage_class_name: storage_class.map(str::to_string),
                    resources: Some(VolumeResourceRequirements {
                        requests: Some(BTreeMap::from([(
                            "storage".to_string(),
                            Quantity(target.size_bytes.to_string()),
                        )])),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                status: None,
            }
        })
        .collect()
}
