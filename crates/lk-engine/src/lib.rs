//! Applies a [`lk_plan::Plan`] through a [`Provider`] and takes it down again, surviving
//! crashes.
//!
//! - [`provider`]: the trait for everything asked of the outside world (networks, pools,
//!   volumes, domains from a typed [`provider::DomainSpec`], power, guest exec, readiness,
//!   the ownership inventory); lk-libvirt implements it; `fake` (tests, or the `fake`
//!   feature) is an in-memory one that fails or dies at any call, for the fault matrix in
//!   `tests/fault_matrix.rs`.
//! - [`up`] ([`infra`]): shared folder, networks, pool, volumes, then domains (bounded
//!   parallel), then readiness (parallel). Every create is announced in the [`ledger`]
//!   (synced) before the call and confirmed after it. On any error, or when cancelled
//!   (Ctrl-C), every step of the run is undone in reverse; undo failures do not stop the
//!   unwinding and are all reported with the original error.
//! - [`run_stages`] ([`stages`]): the guest stages install → lnet → format → mount → verify,
//!   resumable; a failure keeps the infrastructure and gathers logs.
//! - [`down`] / [`gc`] ([`teardown`]): undo, in reverse, everything the ledger says may exist
//!   (works after kill -9); remove everything libvirt says the cluster owns (works when the
//!   ledger is lost). Objects without lustrekit's marks are never touched.
//! - [`failover`]: move a target to its partner node (controlled, or fenced) and back.
//! - [`status`], [`exec`]: live state and guest commands.
//! - [`observe`]: progress events for the CLI's bars.
//!
//! Fault injection: [`UpOptions::fail_at`] makes step k fail before its create;
//! [`UpOptions::hold_at`] stops right after step k's create (before its `done` is recorded)
//! until the process is killed or interrupted. The library reads no environment; the CLI
//! maps `LUSTREKIT_FAIL_AT` / `LUSTREKIT_HOLD_AT` onto them.

pub mod bench;
pub mod error;
pub mod failover;
#[cfg(any(test, feature = "fake"))]
pub mod fake;
pub mod guests;
pub mod infra;
pub mod ledger;
pub mod observe;
pub mod provider;
pub mod shared;
pub mod stages;
pub mod suite;
pub mod teardown;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::provider::{Accel, DomainState, ExecOutput, Ready, Watch};
use lk_plan::Plan;

pub use error::{Error, NodeFailure, UndoFailure};
pub use infra::{check_inputs, steps, up};
pub use observe::{Event, Observer};
pub use provider::{Provider, ProviderError};
pub use stages::{run_stages, StageOptions, StageState, StageStatus, STAGES};
pub use teardown::{down, gc};

/// The plan `up` applied, saved so that `status`, `exec`, `down` work by cluster name.
pub const PLAN_FILE: &str = "plan.json";
/// Guest stage progress.
pub const STAGES_FILE: &str = "stages.json";
/// The last `up`'s timings (per step, per node ready), so `status` shows them later.
pub const REPORT_FILE: &str = "report.json";

/// A shared "stop now" flag (set from a signal handler).
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn new(flag: Arc<AtomicBool>) -> Cancel {
        Cancel(flag)
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

#[derive(Debug, Clone)]
pub struct UpOptions {
    pub accel: Accel,
    /// Wait for every node to be ready (agent, lease, 9p) before returning.
    pub wait_ready: bool,
    pub ready_timeout: Duration,
    /// Most domains created or waited for at once (1 = sequential).
    pub parallel: usize,
    /// Fail step `k` (0-based, in [`steps`] order) before its create.
    pub fail_at: Option<usize>,
    /// Stop after step `k`'s create, before recording it done, until killed or cancelled.
    pub hold_at: Option<usize>,
    /// Run id recorded in the ledger and in domain metadata; generated when `None`.
    pub run_id: Option<String>,
    /// Host user qemu runs as; the shared folder is given to it so guests can write logs.
    pub qemu_user: Option<String>,
    pub cancel: Cancel,
}

impl UpOptions {
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }
}

impl Default for UpOptions {
    fn default() -> Self {
        UpOptions {
            accel: Accel::Tcg,
            wait_ready: true,
            ready_timeout: Duration::from_secs(600),
            parallel: 4,
            fail_at: None,
            hold_at: None,
            run_id: None,
            qemu_user: Some("libvirt-qemu".into()),
            cancel: Cancel::default(),
        }
    }
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StepTiming {
    pub step: String,
    pub seconds: f64,
    /// False when the object already existed and was adopted.
    pub created: bool,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct UpReport {
    pub run: String,
    pub steps: Vec<StepTiming>,
    pub ready: Vec<Ready>,
    pub seconds: f64,
}

/// The cluster's state directory (parent of its pool directory): ledger, plan, stage
/// progress, pool, shared folder.
pub fn cluster_dir(plan: &Plan) -> PathBuf {
    Path::new(&plan.resources.pool.path)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(&plan.resources.pool.path))
}

/// `<state_dir>/clusters/<name>`, where the planner puts a cluster's state.
pub fn cluster_dir_for(state_dir: &Path, cluster: &str) -> PathBuf {
    state_dir.join("clusters").join(cluster)
}

/// Saves the plan in its cluster directory (atomically).
pub fn save_plan(plan: &Plan) -> Result<(), Error> {
    let dir = cluster_dir(plan);
    std::fs::create_dir_all(&dir).map_err(Error::io("create", &dir))?;
    let path = dir.join(PLAN_FILE);
    let json = serde_json::to_vec_pretty(plan)
        .map_err(|e| Error::io("serialise", &path)(std::io::Error::other(e)))?;
    write_atomic(&path, &json)
}

/// Saves the report of an `up` beside its plan.
pub fn save_report(plan: &Plan, report: &UpReport) -> Result<(), Error> {
    let path = cluster_dir(plan).join(REPORT_FILE);
    let json = serde_json::to_vec_pretty(report)
        .map_err(|e| Error::io("serialise", &path)(std::io::Error::other(e)))?;
    write_atomic(&path, &json)
}

/// The last `up`'s report; `None` when no `up` finished its infrastructure yet.
pub fn load_report(cluster_dir: &Path) -> Result<Option<UpReport>, Error> {
    let path = cluster_dir.join(REPORT_FILE);
    match std::fs::read(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("read", &path)(e)),
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| Error::io("parse", &path)(std::io::Error::other(e))),
    }
}

/// The plan saved by the last `up` of the cluster whose state is in `cluster_dir`.
pub fn load_plan(cluster: &str, cluster_dir: &Path) -> Result<Plan, Error> {
    let path = cluster_dir.join(PLAN_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::UnknownCluster {
                cluster: cluster.into(),
                path,
            })
        }
        Err(e) => return Err(Error::io("read", &path)(e)),
    };
    serde_json::from_slice(&bytes).map_err(|e| {
        Error::io("parse", &path)(std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    })
}

/// Writes `bytes` to a temp file beside `path`, syncs it, and renames it over `path`.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).map_err(Error::io("create", &tmp))?;
    let written = f.write_all(bytes).and_then(|()| f.sync_all());
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io("write", &tmp)(e));
    }
    std::fs::rename(&tmp, path).map_err(Error::io("rename", &tmp))
}

pub(crate) fn poisoned() -> Error {
    Error::Io {
        action: "lock ledger (a worker panicked)",
        path: PathBuf::new(),
        source: std::io::Error::other("poisoned"),
    }
}

/// The error and its sources on one line.
pub fn chain(e: impl std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NodeStatus {
    pub node: String,
    pub domain: String,
    pub roles: Vec<String>,
    /// The domain's state; `None` when it does not exist.
    pub state: Option<DomainState>,
    /// Leased address of the first NIC, when there is one.
    pub address: Option<std::net::Ipv4Addr>,
    pub nids: Vec<String>,
}

/// Live state of every node of the plan.
pub fn status(lv: &dyn Provider, plan: &Plan) -> Result<Vec<NodeStatus>, Error> {
    let mut out = Vec::new();
    for d in &plan.resources.domains {
        let state = lv.domain_state(&d.name).map_err(Error::provider)?;
        // Only a running domain has a lease to ask about; asking a stopped one is an error.
        let address = match (state, d.nics.first()) {
            (Some(DomainState::Running), Some(nic)) => lv
                .leased_address(&d.name, &nic.mac)
                .map_err(Error::provider)?,
            _ => None,
        };
        // Every domain of a plan belongs to one of its nodes; a plan where one does not is
        // damaged, not a node without roles.
        let Some(np) = plan.nodes.iter().find(|n| n.node == d.node) else {
            return Err(Error::UnknownNode {
                node: d.node.clone(),
                known: node_names(plan),
            });
        };
        out.push(NodeStatus {
            node: d.node.clone(),
            domain: d.name.clone(),
            roles: np.roles.clone(),
            state,
            address,
            nids: np.nids.clone(),
        });
    }
    Ok(out)
}

/// The plan's node names, comma-separated (for "unknown node" messages).
pub fn node_names(plan: &Plan) -> String {
    let known: Vec<&str> = plan.nodes.iter().map(|n| n.node.as_str()).collect();
    known.join(", ")
}

/// Runs `argv` on `node` through the guest agent.
pub fn exec(
    lv: &dyn Provider,
    plan: &Plan,
    node: &str,
    argv: &[&str],
    timeout: Duration,
) -> Result<ExecOutput, Error> {
    let Some(domain) = plan.resources.domains.iter().find(|d| d.node == node) else {
        return Err(Error::UnknownNode {
            node: node.into(),
            known: node_names(plan),
        });
    };
    lv.exec(&domain.name, argv, timeout, Watch::none())
        .map_err(Error::provider)
}
