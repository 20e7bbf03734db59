//! The Kubernetes operator for `LustreCluster` (`lustrekit operator`).
//!
//! Pipeline per resource ([`controller`]), each step's module says what it may touch:
//! - [`validate`] (pure): the spec through lk-model's validation → topology + lk-plan plan;
//! - [`observe`] (client): VMs, VMIs, PVCs, Secrets by label; agents' health reports;
//! - [`decide`] (pure): node state machine, phase orchestration, drains → status + actions;
//! - [`build`] (pure): Secrets (cloud-init), PVCs, KubeVirt VirtualMachines;
//! - [`apply`] (client): server-side apply, deletes, agent calls, events, status;
//! - [`cleanup`] (pure): the finalizer's reverse-order teardown;
//! - [`storage_class`] (pure): the StorageClass a cluster asks for, and replacing or deleting
//!   the ones that exist.
//!
//! Also: [`crd`] (the resource, generated from lk-model's types), [`conditions`], [`names`],
//! [`settings`], [`states`], [`kubevirt`], [`agent_client`], [`error`].

pub mod agent_client;
pub mod apply;
pub mod build;
pub mod cleanup;
pub mod conditions;
pub mod controller;
pub mod crd;
pub mod decide;
pub mod error;
pub mod health;
pub mod kubevirt;
pub mod names;
pub mod observe;
pub mod settings;
pub mod states;
pub mod storage_class;
#[cfg(test)]
pub(crate) mod test_support;
pub mod validate;

pub use crd::{crd_yaml, LustreCluster, LustreClusterSpec, LustreClusterStatus};
pub use error::OperatorError;
pub use settings::Settings;
