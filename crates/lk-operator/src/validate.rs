//! Step 1 (pure): the resource's spec through the model's own validation, plus what only the
//! operator cares about. Produces the topology and its plan, or every problem found.

use lk_model::raw::{self, LustreSource};
use lk_model::{Diagnostic, Topology};
use lk_plan::{Plan, PlanOptions};

use crate::crd::LustreCluster;

pub struct Validated {
    pub topology: Topology,
    pub plan: Plan,
}

/// Validates `lc`; problems name their field like `lustrekit validate` does.
pub fn validate(lc: &LustreCluster) -> Result<Validated, Vec<Diagnostic>> {
    let name = lc.metadata.name.clone().unwrap_or_default();
    let doc = raw::LustreCluster {
        api_version: raw::API_VERSION.into(),
        kind: raw::KIND.into(),
        metadata: raw::Metadata { name },
        spec: lc.spec.cluster.clone(),
    };
    let mut problems = Vec::new();
    let source = lc.spec.cluster.lustre.as_ref().map(|l| l.source);
    match source {
        Some(LustreSource::Build) | Some(LustreSource::Tarball) => problems.push(Diagnostic::new(
            "spec.lustre.source",
            "on Kubernetes Lustre comes from the VM image (`preinstalled`) or a package \
             repository (`packages` with `repository`); host folders and build VMs are libvirt-only",
        )),
        Some(LustreSource::Packages)
            if lc
                .spec
                .cluster
                .lustre
                .as_ref()
                .is_some_and(|l| l.repository.is_none()) =>
        {
            problems.push(Diagnostic::new(
                "spec.lustre.repository",
                "on Kubernetes `packages` needs a repository URL (host folders are libvirt-only)",
            ))
        }
        _ => {}
    }
    if !lc.spec.cluster.services.is_empty() {
        problems.push(Diagnostic::new(
            "spec.services",
            "services are deployed by `lustrekit up` on libvirt only; on Kubernetes run the \
             gateway as a workload on a Lustre client (docs/gateway.md)",
        ));
    }
    let topology = match lk_model::validate::validate(&doc) {
        Ok(t) => Some(t),
        Err(mut p) => {
            problems.append(&mut p);
            None
        }
    };
    match topology {
        Some(topology) if problems.is_empty() => {
            let plan = lk_plan::plan(&topology, &PlanOptions::default());
            Ok(Validated { topology, plan })
        }
        _ => Err(problems),
    }
}
