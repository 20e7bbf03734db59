//! Step 5 (client required): carries out what [`crate::build`] and [`crate::decide`] produced.
//! Objects the operator owns are server-side applied with its field manager; PVCs are only
//! ever created (their spec is immutable, and data is never touched implicitly); status is
//! applied with a separate field manager.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Secret};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::ByteString;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::runtime::events::{Event, EventType, Recorder};
use kube::{Client, Resource as _, ResourceExt as _};
use serde_json::json;

use crate::agent_client::Agents;
use crate::build::Desired;
use crate::crd::{LustreCluster, LustreClusterStatus};
use crate::decide::{Decision, Note};
use crate::error::{OperatorError, Result};
use crate::kubevirt::{vm_resource, vmi_resource};
use crate::names;
use crate::storage_class::ScPlan;

fn is_conflict(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 409)
}

fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

/// The agents' token: read, or created once (random, 32 bytes hex) with an owner reference.
pub async fn ensure_token(client: &Client, lc: &LustreCluster) -> Result<String> {
    let ns = lc
        .namespace()
        .ok_or(OperatorError::MissingField("metadata.namespace"))?;
    let cluster = lc.name_any();
    let name = names::token_secret(&cluster);
    let api: Api<Secret> = Api::namespaced(client.clone(), &ns);
    let read = |s: Secret| {
        s.data
            .and_then(|d| d.get(names::TOKEN_KEY).cloned())
            .and_then(|b| String::from_utf8(b.0).ok())
    };
    if let Some(s) = api
        .get_opt(&name)
        .await
        .map_err(OperatorError::kube("read", "Secret", &name))?
    {
        if let Some(t) = read(s) {
            return Ok(t);
        }
    }
    let token: String = (0..32)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect();
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            namespace: Some(ns),
            labels: Some(BTreeMap::from([
                (names::LABEL_CLUSTER.to_string(), cluster),
                (
                    names::LABEL_MANAGED_BY.to_string(),
                    names::MANAGED_BY.to_string(),
                ),
            ])),
            owner_references: lc.controller_owner_ref(&()).map(|o| vec![o]),
            ..Default::default()
        },
        data: Some(BTreeMap::from([(
            names::TOKEN_KEY.to_string(),
            ByteString(token.clone().into_bytes()),
        )])),
        type_: Some("Opaque".into()),
        ..Default::default()
    };
    match api.create(&PostParams::default(), &secret).await {
        Ok(_) => Ok(token),
        Err(e) if is_conflict(&e) => {
            let s = api
                .get(&name)
                .await
                .map_err(OperatorError::kube("read", "Secret", &name))?;
            read(s).ok_or(OperatorError::MissingField("agent token"))
        }
        Err(e) => Err(OperatorError::kube("create", "Secret", &name)(e)),
    }
}

/// Applies the desired objects; returns events for what was created.
pub async fn apply_desired(
    client: &Client,
    ns: &str,
    desired: &Desired,
    existing_vms: &[String],
    existing_pvcs: &[String],
) -> Result<Vec<Note>> {
    let mut notes = Vec::new();
    let pp = PatchParams::apply(names::FIELD_MANAGER).force();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    for s in &desired.secrets {
        let name = s.name_any();
        secrets
            .patch(&name, &pp, &Patch::Apply(s))
            .await
            .map_err(OperatorError::kube("apply", "Secret", &name))?;
    }
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), ns);
    for p in &desired.pvcs {
        let name = p.name_any();
        if existing_pvcs.contains(&name) {
            continue;
        }
        match pvcs.create(&PostParams::default(), p).await {
            Ok(_) => notes.push(Note::normal(
                "VolumeCreated",
                "Create",
                format!("PVC {name}"),
            )),
            Err(e) if is_conflict(&e) => {}
            Err(e) => {
                return Err(OperatorError::kube(
                    "create",
                    "PersistentVolumeClaim",
                    &name,
                )(e))
            }
        }
    }
    let vms: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &vm_resource());
    for vm in &desired.vms {
        let name = vm.name_any();
        vms.patch(&name, &pp, &Patch::Apply(vm))
            .await
            .map_err(OperatorError::kube("apply", "VirtualMachine", &name))?;
        if !existing_vms.contains(&name) {
            notes.push(Note::normal(
                "ServerCreated",
                "Create",
                format!("VirtualMachine {name}"),
            ));
        }
    }
    Ok(notes)
}

pub async fn delete_vmis(client: &Client, ns: &str, names: &[String]) -> Result<()> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &vmi_resource());
    for n in names {
        match api.delete(n, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => {
                return Err(OperatorError::kube("delete", "VirtualMachineInstance", n)(
                    e,
                ))
            }
        }
    }
    Ok(())
}

pub async fn delete_vms(client: &Client, ns: &str, names: &[String]) -> Result<()> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &vm_resource());
    for n in names {
        match api.delete(n, &DeleteParams::background()).await {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(OperatorError::kube("delete", "VirtualMachine", n)(e)),
        }
    }
    Ok(())
}

pub async fn delete_secrets(client: &Client, ns: &str, names: &[String]) -> Result<()> {
    let api: Api<Secret> = Api::namespaced(client.clone(), ns);
    for n in names {
        match api.delete(n, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(OperatorError::kube("delete", "Secret", n)(e)),
        }
    }
    Ok(())
}

pub async fn delete_pvcs(client: &Client, ns: &str, names: &[String]) -> Result<()> {
    let api: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), ns);
    for n in names {
        match api.delete(n, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(OperatorError::kube("delete", "PersistentVolumeClaim", n)(e)),
        }
    }
    Ok(())
}

/// Deletes the StorageClasses the plan names (gone already is fine), then server-side applies
/// the wanted one.
pub async fn storage_classes(client: &Client, plan: &ScPlan) -> Result<()> {
    let api: Api<StorageClass> = Api::all(client.clone());
    delete_storage_classes(client, &plan.delete).await?;
    if let Some(sc) = &plan.apply {
        let name = sc.name_any();
        let pp = PatchParams::apply(names::FIELD_MANAGER).force();
        api.patch(&name, &pp, &Patch::Apply(sc))
            .await
            .map_err(OperatorError::kube("apply", "StorageClass", &name))?;
    }
    Ok(())
}

pub async fn delete_storage_classes(client: &Client, names: &[String]) -> Result<()> {
    let api: Api<StorageClass> = Api::all(client.clone());
    for n in names {
        match api.delete(n, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(OperatorError::kube("delete", "StorageClass", n)(e)),
        }
    }
    Ok(())
}

pub async fn label_drained(client: &Client, ns: &str, names: &[String]) -> Result<()> {
    let api: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), ns);
    for n in names {
        let patch = json!({"metadata": {"labels": {names::LABEL_DRAINED: "true"}}});
        api.patch(n, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(OperatorError::kube("label", "PersistentVolumeClaim", n))?;
    }
    Ok(())
}

/// Starts the decided scripts; an agent that fails to take one is reported, not fatal (the
/// next reconcile tries again).
pub async fn run_scripts(agents: &dyn Agents, decision: &Decision, token: &str) -> Vec<Note> {
    let calls = decision.runs.iter().map(|r| async move {
        let res = agents
            .run_phase(
                r.address.clone(),
                r.phase.clone(),
                r.script.clone(),
                token.to_string(),
                r.force,
            )
            .await;
        (r, res)
    });
    futures::future::join_all(calls)
        .await
        .into_iter()
        .filter_map(|(r, res)| {
            res.err().map(|e| {
                Note::warning(
                    "AgentCallFailed",
                    "RunPhase",
                    format!("could not start {} on {}: {e}", r.phase, r.node),
                )
            })
        })
        .collect()
}

pub async fn patch_status(
    client: &Client,
    lc: &LustreCluster,
    status: &LustreClusterStatus,
) -> Result<()> {
    let ns = lc
        .namespace()
        .ok_or(OperatorError::MissingField("metadata.namespace"))?;
    let name = lc.name_any();
    let api: Api<LustreCluster> = Api::namespaced(client.clone(), &ns);
    let patch = json!({
        "apiVersion": "lustrekit.dev/v1alpha1",
        "kind": "LustreCluster",
        "status": status,
    });
    api.patch_status(
        &name,
        &PatchParams::apply(names::STATUS_FIELD_MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await
    .map_err(OperatorError::kube(
        "update status of",
        "LustreCluster",
        &name,
    ))?;
    Ok(())
}

/// Adds or removes the finalizer, guarded by the resource version.
pub async fn set_finalizer(client: &Client, lc: &LustreCluster, present: bool) -> Result<()> {
    let ns = lc
        .namespace()
        .ok_or(OperatorError::MissingField("metadata.namespace"))?;
    let name = lc.name_any();
    let api: Api<LustreCluster> = Api::namespaced(client.clone(), &ns);
    let mut list: Vec<String> = lc.finalizers().to_vec();
    list.retain(|f| f != names::FINALIZER);
    if present {
        list.push(names::FINALIZER.to_string());
    }
    let patch = json!({"metadata": {"finalizers": list, "resourceVersion": lc.resource_version()}});
    match api
        .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) && !present => Ok(()),
        Err(e) => Err(OperatorError::kube(
            "update finalizers of",
            "LustreCluster",
            &name,
        )(e)),
    }
}

pub async fn publish(recorder: &Recorder, lc: &LustreCluster, notes: &[Note]) {
    let reference = lc.object_ref(&());
    for n in notes {
        let ev = Event {
            type_: if n.warning {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: n.reason.to_string(),
            note: Some(n.note.chars().take(1000).collect()),
            action: n.action.to_string(),
            secondary: None,
        };
        if let Err(e) = recorder.publish(&ev, &reference).await {
            tracing::warn!(reason = n.reason, error = %e, "failed to publish an event");
        }
    }
}
