//! Step 3 (pure): the objects a cluster needs, from the validated topology and plan. Nothing
//! here talks to the API server; [`crate::apply`] does.
//!
//! - [`pvc`]: one PersistentVolumeClaim per target (raw block; ReadWriteMany when a failover
//!   pair shares it), never owned by the LustreCluster so that it outlives it;
//! - [`cloudinit`]: per-node NoCloud user data (the planner's scripts, the agent) and network
//!   data (static LNet addresses: stable NIDs);
//! - [`vm`]: one KubeVirt VirtualMachine per node.

pub mod cloudinit;
pub mod pvc;
pub mod vm;

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::DynamicObject;
use kube::Resource as _;

use crate::crd::LustreCluster;
use crate::error::{OperatorError, Result};
use crate::names;
use crate::validate::Validated;

/// Everything to apply for one cluster.
#[derive(Debug, Clone)]
pub struct Desired {
    /// Cloud-init Secrets, one per node.
    pub secrets: Vec<Secret>,
    pub pvcs: Vec<PersistentVolumeClaim>,
    /// VirtualMachines in node order.
    pub vms: Vec<DynamicObject>,
}

pub struct Input<'a> {
    pub lc: &'a LustreCluster,
    pub validated: &'a Validated,
    /// The agents' bearer token.
    pub token: &'a str,
    /// Nodes being fenced: their VM is built with `runStrategy: Halted`.
    pub halted: &'a BTreeSet<String>,
    /// Port the agents listen on.
    pub agent_port: u16,
}

/// Names and owner of the cluster being built.
pub(crate) struct Meta {
    pub cluster: String,
    pub namespace: String,
    pub owner: OwnerReference,
}

impl Meta {
    pub fn new(lc: &LustreCluster) -> Result<Meta> {
        Ok(Meta {
            cluster: lc
                .metadata
                .name
                .clone()
                .ok_or(OperatorError::MissingField("metadata.name"))?,
            namespace: lc
                .metadata
                .namespace
                .clone()
                .ok_or(OperatorError::MissingField("metadata.namespace"))?,
            owner: lc
                .controller_owner_ref(&())
                .ok_or(OperatorError::MissingField("metadata.uid"))?,
        })
    }

    pub fn labels(&self, extra: &[(&str, &str)]) -> BTreeMap<String, String> {
        let mut l = BTreeMap::from([
            (names::LABEL_CLUSTER.to_string(), self.cluster.clone()),
            (
                names::LABEL_MANAGED_BY.to_string(),
                names::MANAGED_BY.to_string(),
            ),
        ]);
        for (k, v) in extra {
            l.insert((*k).to_string(), (*v).to_string());
        }
        l
    }
}

pub fn build(input: &Input<'_>) -> Result<Desired> {
    let meta = Meta::new(input.lc)?;
    let t = &input.validated.topology;
    let spec = input.lc.spec.kubernetes.clone().unwrap_or_default();
    let pvcs = pvc::build(&meta, t, spec.storage_class_name.as_deref());
    let mut secrets = Vec::new();
    let mut vms = Vec::new();
    for domain in &input.validated.plan.resources.domains {
        secrets.push(cloudinit::build(
            &meta,
            input.validated,
            domain,
            input.token,
            input.agent_port,
        )?);
        vms.push(vm::build(
            &meta,
            input.validated,
            domain,
            &spec,
            input.halted.contains(&domain.node),
        )?);
    }
    Ok(Desired { secrets, pvcs, vms })
}

#[cfg(test)]
pub(crate) mod tests;
