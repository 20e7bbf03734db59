//! The reconcile loop. Per LustreCluster, in order (pure steps marked):
//! finalizer → validate (pure) → observe → scale-down check (pure) → decide (pure) →
//! build (pure) → apply → status. Deletion goes through [`crate::cleanup`] instead.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DynamicObject};
use kube::runtime::controller::Action;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{watcher, Controller};
use kube::{Client, Resource as _, ResourceExt as _};

use crate::agent_client::{Agents, HttpAgents};
use crate::cleanup::{self, Step};
use crate::conditions::{self as c, Cond};
use crate::crd::{LustreCluster, LustreClusterStatus};
use crate::decide::{self, drain, Note};
use crate::error::{OperatorError, Result};
use crate::kubevirt::{vm_resource, vmi_resource};
use crate::observe::{self, Observed};
use crate::settings::{self, Settings};
use crate::states::ClusterPhase;
use crate::{apply, build, names, storage_class, validate};

pub struct Context {
    pub client: Client,
    pub settings: Settings,
    pub agents: Arc<dyn Agents>,
    pub recorder: Recorder,
}

impl Context {
    pub fn new(client: Client, settings: Settings) -> Self {
        let agents = Arc::new(HttpAgents::new(settings.agent_timeout));
        Self::with_agents(client, settings, agents)
    }

    pub fn with_agents(client: Client, settings: Settings, agents: Arc<dyn Agents>) -> Self {
        let recorder = Recorder::new(
            client.clone(),
            Reporter {
                controller: names::FIELD_MANAGER.into(),
                instance: std::env::var("POD_NAME").ok(),
            },
        );
        Context {
            client,
            settings,
            agents,
            recorder,
        }
    }
}

fn now_unix() -> i64 {
    Timestamp::now().as_second()
}

/// Runs the controller until `shutdown` resolves.
pub async fn run(
    ctx: Arc<Context>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let client = ctx.client.clone();
    let (lcs, vms, vmis): (Api<LustreCluster>, Api<DynamicObject>, Api<DynamicObject>) =
        match &ctx.settings.namespace {
            Some(ns) => (
                Api::namespaced(client.clone(), ns),
                Api::namespaced_with(client.clone(), ns, &vm_resource()),
                Api::namespaced_with(client.clone(), ns, &vmi_resource()),
            ),
            None => (
                Api::all(client.clone()),
                Api::all_with(client.clone(), &vm_resource()),
                Api::all_with(client.clone(), &vmi_resource()),
            ),
        };
    let managed = watcher::Config::default().labels(&format!(
        "{}={}",
        names::LABEL_MANAGED_BY,
        names::MANAGED_BY
    ));
    let by_cluster = watcher::Config::default().labels(names::LABEL_CLUSTER);
    Controller::new(lcs, watcher::Config::default())
        .owns_with(vms, vm_resource(), managed)
        .watches_with(vmis, vmi_resource(), by_cluster, |vmi: DynamicObject| {
            let ns = vmi.namespace()?;
            let cluster = vmi.labels().get(names::LABEL_CLUSTER)?.clone();
            Some(ObjectRef::<LustreCluster>::new(&cluster).within(&ns))
        })
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|res| async move {
            if let Err(e) = res {
                tracing::debug!(error = %e, "reconcile");
            }
        })
        .await;
}

fn error_policy(lc: Arc<LustreCluster>, err: &OperatorError, _ctx: Arc<Context>) -> Action {
    tracing::warn!(cluster = %lc.name_any(), error = %err, "reconcile failed");
    Action::requeue(Duration::from_secs(5))
}

pub async fn reconcile(lc: Arc<LustreCluster>, ctx: Arc<Context>) -> Result<Action> {
    let ns = lc
        .namespace()
        .ok_or(OperatorError::MissingField("metadata.namespace"))?;
    if lc.meta().deletion_timestamp.is_some() {
        return delete(&lc, &ctx, &ns).await;
    }
    if !lc.finalizers().iter().any(|f| f == names::FINALIZER) {
        apply::set_finalizer(&ctx.client, &lc, true).await?;
        return Ok(Action::requeue(Duration::from_millis(200)));
    }
    let now = now_unix();
    let prev = lc.status.clone().unwrap_or_default();
    let generation = lc.meta().generation;
    let time = Time(Timestamp::now());

    let validated = match validate::validate(&lc) {
        Ok(v) => v,
        Err(problems) => return invalid(&ctx, &lc, &problems).await,
    };

    let token = apply::ensure_token(&ctx.client, &lc).await?;
    let observed = observe::observe(
        &ctx.client,
        &ns,
        &lc.name_any(),
        ctx.agents.as_ref(),
        ctx.settings.agent_port,
    )
    .await?;

    let refused = drain::refused(&lc, &validated.topology, &observed);
    if !refused.is_empty() {
        return scale_down_refused(&ctx, &lc, &refused).await;
    }

    let input = decide::Input {
        lc: &lc,
        validated: &validated,
        observed: &observed,
        now,
        timeouts: settings::timeouts(&lc),
        agent_port: ctx.settings.agent_port,
        retry_seconds: ctx.settings.phase_retry_seconds,
    };
    let decision = decide::decide(&input);
    let desired = build::build(&build::Input {
        lc: &lc,
        validated: &validated,
        token: &token,
        halted: &decision.halted,
        agent_port: ctx.settings.agent_port,
    })?;

    let mut notes = carry_out(ctx.as_ref(), &ns, &desired, &observed, &decision, &token).await?;
    let mut conditions = decision.conditions.clone();
    conditions.extend(storage_classes(&ctx, &lc, &observed, &mut notes).await?);

    let status = LustreClusterStatus {
        observed_generation: generation,
        phase: Some(decision.phase.clone()),
        conditions: c::merge(&prev.conditions, &conditions, &time, generation),
        ost_count: decision.ost_count,
        nodes: decision.nodes.clone(),
        targets: decision.targets.clone(),
    };
    if prev.phase != Some(ClusterPhase::Ready) && decision.phase == ClusterPhase::Ready {
        notes.push(Note::normal(
            "Ready",
            "Reconcile",
            "every target is mounted and healthy",
        ));
    }
    apply::patch_status(&ctx.client, &lc, &status).await?;
    apply::publish(&ctx.recorder, &lc, &notes).await;
    Ok(Action::requeue(if decision.busy {
        ctx.settings.busy_requeue
    } else {
        ctx.settings.idle_requeue
    }))
}

/// Applies the built objects and the decided deletes, labels and script runs; returns the
/// events to publish.
async fn carry_out(
    ctx: &Context,
    ns: &str,
    desired: &build::Desired,
    observed: &Observed,
    decision: &decide::Decision,
    token: &str,
) -> Result<Vec<Note>> {
    let vms: Vec<String> = observed.vms.values().map(|v| v.name.clone()).collect();
    let pvcs: Vec<String> = observed.pvcs.iter().map(|p| p.name.clone()).collect();
    let mut notes = apply::apply_desired(&ctx.client, ns, desired, &vms, &pvcs).await?;
    apply::delete_vmis(&ctx.client, ns, &decision.delete_vmis).await?;
    apply::delete_vms(&ctx.client, ns, &decision.delete_vms).await?;
    apply::label_drained(&ctx.client, ns, &decision.drained_pvcs).await?;
    notes.extend(decision.events.iter().cloned());
    notes.extend(apply::run_scripts(ctx.agents.as_ref(), decision, token).await);
    Ok(notes)
}

/// Publishes, replaces or deletes the cluster's StorageClass; returns its condition, if any.
async fn storage_classes(
    ctx: &Context,
    lc: &LustreCluster,
    observed: &Observed,
    notes: &mut Vec<Note>,
) -> Result<Option<Cond>> {
    let plan = storage_class::decide(lc, &observed.storage_classes);
    apply::storage_classes(&ctx.client, &plan).await?;
    notes.extend(plan.notes);
    Ok(plan.condition)
}

/// The spec does not validate: say why, and wait for an edit.
async fn invalid(
    ctx: &Context,
    lc: &LustreCluster,
    problems: &[lk_model::Diagnostic],
) -> Result<Action> {
    let message = problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    refuse(
        ctx,
        lc,
        Some(ClusterPhase::Invalid),
        &[
            Cond::new(c::SPEC_ACCEPTED, false, "InvalidSpec", &message),
            Cond::new(c::READY, false, "InvalidSpec", "the spec is invalid"),
        ],
        Note::warning("InvalidSpec", "Validate", message.clone()),
    )
    .await
}

/// The spec drops OSTs that no drain request covers: refuse it, and wait for an edit.
async fn scale_down_refused(ctx: &Context, lc: &LustreCluster, refused: &[u16]) -> Result<Action> {
    let list = refused
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let message = format!(
        "the spec removes OST index {list}; removing an OST loses its data unless it is drained first: list the index in spec.kubernetes.drainOsts, or put the OST back"
    );
    refuse(
        ctx,
        lc,
        None,
        &[Cond::new(
            c::SPEC_ACCEPTED,
            false,
            "ScaleDownRefused",
            &message,
        )],
        Note::warning("ScaleDownRefused", "Validate", message.clone()),
    )
    .await
}

/// Records why the spec is not acted on (conditions, and `phase` when given), announces it
/// once per generation, and waits for the next edit.
async fn refuse(
    ctx: &Context,
    lc: &LustreCluster,
    phase: Option<ClusterPhase>,
    conds: &[Cond],
    note: Note,
) -> Result<Action> {
    let prev = lc.status.clone().unwrap_or_default();
    let generation = lc.meta().generation;
    let status = LustreClusterStatus {
        observed_generation: generation,
        phase: phase.or(prev.phase.clone()),
        conditions: c::merge(&prev.conditions, conds, &Time(Timestamp::now()), generation),
        ..prev.clone()
    };
    apply::patch_status(&ctx.client, lc, &status).await?;
    if prev.observed_generation != generation {
        apply::publish(&ctx.recorder, lc, &[note]).await;
    }
    Ok(Action::requeue(ctx.settings.idle_requeue))
}

async fn delete(lc: &LustreCluster, ctx: &Context, ns: &str) -> Result<Action> {
    if !lc.finalizers().iter().any(|f| f == names::FINALIZER) {
        return Ok(Action::await_change());
    }
    let cluster = lc.name_any();
    let observed: Observed = observe::observe(
        &ctx.client,
        ns,
        &cluster,
        ctx.agents.as_ref(),
        ctx.settings.agent_port,
    )
    .await?;
    let validated = validate::validate(lc).ok();
    let started = lc
        .meta()
        .deletion_timestamp
        .as_ref()
        .map_or(now_unix(), |t| t.0.as_second());
    let tmo = settings::timeouts(lc);
    let decision = cleanup::decide(
        lc,
        validated.as_ref().map(|v| &v.plan),
        &observed,
        ctx.settings.agent_port,
        now_unix() - started,
        tmo.teardown,
    );
    let mut notes = decision.events.clone();
    let (blocked, message) = step_message(&decision.step);
    match &decision.step {
        Step::Teardown { runs, token } => {
            let d = decide::Decision {
                runs: runs.clone(),
                ..Default::default()
            };
            notes.extend(apply::run_scripts(ctx.agents.as_ref(), &d, token).await);
        }
        Step::Wait(_) => {}
        Step::DeleteVms(vms) => apply::delete_vms(&ctx.client, ns, vms).await?,
        Step::DeleteSecrets(s) => {
            notes.push(Note::normal("SecretsDeleted", "Delete", s.join(", ")));
            apply::delete_secrets(&ctx.client, ns, s).await?
        }
        Step::DeletePvcs(p) => apply::delete_pvcs(&ctx.client, ns, p).await?,
        Step::DeleteStorageClasses(s) => {
            notes.push(Note::normal("StorageClassDeleted", "Delete", s.join(", ")));
            apply::delete_storage_classes(&ctx.client, s).await?
        }
        Step::Blocked(m) => {
            let was_blocked = lc
                .status
                .as_ref()
                .is_some_and(|s| c::is_true(&s.conditions, c::DELETION_IS_BLOCKED));
            if !was_blocked {
                notes.push(Note::warning("DeletionIsBlocked", "Delete", m.clone()));
            }
        }
        Step::RemoveFinalizer => {
            notes.push(Note::normal(
                "CleanupComplete",
                "Delete",
                "every server, secret and (per policy) volume is handled; removing the finalizer",
            ));
            apply::publish(&ctx.recorder, lc, &notes).await;
            apply::set_finalizer(&ctx.client, lc, false).await?;
            return Ok(Action::await_change());
        }
    }
    let status = deleting_status(lc, blocked, message);
    apply::patch_status(&ctx.client, lc, &status).await?;
    apply::publish(&ctx.recorder, lc, &notes).await;
    Ok(Action::requeue(if blocked {
        ctx.settings.idle_requeue
    } else {
        ctx.settings.busy_requeue.min(Duration::from_secs(2))
    }))
}

/// What the condition shows for a deletion step: its name, never its data (a teardown holds
/// the agents' token).
fn step_message(step: &Step) -> (bool, String) {
    match step {
        Step::Blocked(m) => (true, m.clone()),
        Step::Wait(m) => (false, format!("waiting for {m}")),
        Step::Teardown { .. } => (false, "Teardown".to_string()),
        Step::DeleteVms(_) => (false, "DeleteVms".to_string()),
        Step::DeleteSecrets(_) => (false, "DeleteSecrets".to_string()),
        Step::DeletePvcs(_) => (false, "DeletePvcs".to_string()),
        Step::DeleteStorageClasses(_) => (false, "DeleteStorageClasses".to_string()),
        Step::RemoveFinalizer => (false, "RemoveFinalizer".to_string()),
    }
}

/// The status while deleting: phase Deleting, DeletionIsBlocked as decided, not Ready.
fn deleting_status(lc: &LustreCluster, blocked: bool, message: String) -> LustreClusterStatus {
    let prev = lc.status.clone().unwrap_or_default();
    let time = Time(Timestamp::now());
    LustreClusterStatus {
        phase: Some(ClusterPhase::Deleting),
        conditions: c::merge(
            &prev.conditions,
            &[
                Cond::new(
                    c::DELETION_IS_BLOCKED,
                    blocked,
                    if blocked {
                        "ConfirmationMismatch"
                    } else {
                        "InProgress"
                    },
                    message,
                ),
                Cond::new(c::READY, false, "Deleting", "the cluster is being deleted"),
            ],
            &time,
            lc.meta().generation,
        ),
        ..prev
    }
}

/// Runs the operator with the in-cluster or kubeconfig credentials until interrupted.
pub fn run_blocking(settings: Settings) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(OperatorError::Runtime)?;
    rt.block_on(async move {
        let client = Client::try_default().await.map_err(OperatorError::Config)?;
        if let Some(address) = settings.health_listen {
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .map_err(OperatorError::Runtime)?;
            tokio::spawn(crate::health::serve(listener, client.clone()));
        }
        let ctx = Arc::new(Context::new(client, settings));
        tracing::info!("lustrekit operator started");
        run(ctx, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
        Ok(())
    })
}
