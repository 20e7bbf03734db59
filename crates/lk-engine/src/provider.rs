//! The seam between the engine and the outside world. Everything `up`, the stages, `down`,
//! `gc` and failover ask of a hypervisor goes through [`Provider`]: lk-libvirt implements it
//! against libvirt, `crate::fake` in memory (for the fault matrix run by every
//! `cargo test`). The engine builds no libvirt XML: it hands the provider typed
//! descriptions ([`DomainSpec`], lk-plan's resources) and the provider renders them.

use std::net::Ipv4Addr;
use std::time::Duration;

use lk_plan::resources::{
    DomainResource, NetworkResource, PoolResource, SharedFolder, VolumeResource,
};

/// Who owns an object: the cluster and the `up` run that made it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Owner {
    pub cluster: String,
    pub run: String,
}

/// The accelerator domains are defined with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Accel {
    Kvm,
    Tcg,
}

/// Everything a provider needs to define one domain.
#[derive(Debug, Clone, Copy)]
pub struct DomainSpec<'a> {
    pub domain: &'a DomainResource,
    pub owner: &'a Owner,
    pub accel: Accel,
    /// Directory of the cluster's storage pool; disk files are `<pool>/<volume>`.
    pub pool_path: &'a str,
    /// All volumes of the plan (to look up each disk's format).
    pub volumes: &'a [VolumeResource],
    pub shared: &'a SharedFolder,
}

/// What "ready" means for a node: its domain, the shared folder to find mounted, the console
/// log to quote when it never gets there.
#[derive(Debug, Clone, Copy)]
pub struct ReadySpec<'a> {
    pub domain: &'a DomainResource,
    pub shared_guest_path: &'a str,
    pub console_log: &'a str,
    pub timeout: Duration,
}

/// A domain's power state, as the hypervisor reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DomainState {
    NoState,
    Running,
    Blocked,
    Paused,
    ShuttingDown,
    ShutOff,
    Crashed,
    Suspended,
    /// A state this build does not know (a newer libvirt).
    Unknown,
}

impl DomainState {
    pub fn as_str(self) -> &'static str {
        match self {
            DomainState::NoState => "no state",
            DomainState::Running => "running",
            DomainState::Blocked => "blocked",
            DomainState::Paused => "paused",
            DomainState::ShuttingDown => "shutting down",
            DomainState::ShutOff => "shut off",
            DomainState::Crashed => "crashed",
            DomainState::Suspended => "suspended",
            DomainState::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for DomainState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Output of a guest command.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ExecOutput {
    pub exit_code: i64,
    pub stdout: String,
    pub stderr: String,
}

/// Objects of one cluster found by their ownership marks.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Owned {
    /// Domains whose metadata names the cluster, with their run id.
    pub domains: Vec<(String, String)>,
    pub networks: Vec<String>,
    pub pools: Vec<String>,
    /// (pool, volume).
    pub volumes: Vec<(String, String)>,
}

impl Owned {
    pub fn is_empty(&self) -> bool {
        self.domains.is_empty()
            && self.networks.is_empty()
            && self.pools.is_empty()
            && self.volumes.is_empty()
    }

    /// Number of objects listed.
    pub fn len(&self) -> usize {
        self.domains.len() + self.networks.len() + self.pools.len() + self.volumes.len()
    }
}

/// Hooks for long waits: what the wait is doing now, and whether to give up early (Ctrl-C).
#[derive(Clone, Copy)]
pub struct Watch<'a> {
    pub progress: &'a (dyn Fn(&str) + Sync),
    pub cancelled: &'a (dyn Fn() -> bool + Sync),
}

fn no_progress(_: &str) {}

fn never() -> bool {
    false
}

impl Watch<'static> {
    /// Reports nothing and never cancels.
    pub fn none() -> Watch<'static> {
        Watch {
            progress: &no_progress,
            cancelled: &never,
        }
    }
}

/// When a domain is ready, and how long each part took from the start of the wait.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Ready {
    pub node: String,
    pub address: Ipv4Addr,
    pub agent_after: Duration,
    pub lease_after: Duration,
    pub shared_after: Duration,
}

/// Kind of provider object, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    Domain,
    Network,
    Pool,
    Volume,
}

impl std::fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ObjectKind::Domain => "domain",
            ObjectKind::Network => "network",
            ObjectKind::Pool => "storage pool",
            ObjectKind::Volume => "volume",
        })
    }
}

/// What a provider call can fail with. The engine treats two cases specially (a foreign
/// object of the same name: nothing to undo; a cancelled wait: interrupted); everything else
/// is the provider's own error, kept whole for the chain.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("{kind} `{name}` already exists and is not lustrekit's (owner: {owner}); rename the cluster or remove it")]
    Foreign {
        kind: ObjectKind,
        name: String,
        owner: String,
    },

    #[error("domain `{domain}`: interrupted while waiting for {waiting_for}")]
    Cancelled { domain: String, waiting_for: String },

    #[error(transparent)]
    Backend(Box<dyn std::error::Error + Send + Sync + 'static>),
}

/// The outside world as the engine sees it. Creates are idempotent "ensure" calls that return
/// whether they created (false: adopted an existing object of ours) and refuse foreign
/// objects; removes treat "already gone" as success.
pub trait Provider: Sync {
    /// Creates (defines and starts) a network, or adopts ours.
    fn ensure_network(&self, n: &NetworkResource) -> Result<bool, ProviderError>;
    fn remove_network(&self, name: &str) -> Result<(), ProviderError>;

    /// Creates and starts a storage pool (and its directory), or adopts ours.
    fn ensure_pool(&self, p: &PoolResource) -> Result<bool, ProviderError>;
    fn remove_pool(&self, name: &str) -> Result<(), ProviderError>;

    /// Creates a volume in `pool` (a copy-on-write overlay of its base image when it has
    /// one), or adopts the existing one.
    fn ensure_volume(&self, pool: &str, v: &VolumeResource) -> Result<bool, ProviderError>;
    fn remove_volume(&self, pool: &str, name: &str) -> Result<(), ProviderError>;

    /// Defines and starts a domain, tagged with its owner. A running domain of the same
    /// cluster is adopted; a stopped one is replaced.
    fn ensure_domain(&self, spec: &DomainSpec<'_>) -> Result<bool, ProviderError>;
    /// Powers off and undefines a domain.
    fn remove_domain(&self, name: &str) -> Result<(), ProviderError>;
    /// Powers a domain off and keeps its definition (fencing).
    fn power_off(&self, name: &str) -> Result<(), ProviderError>;
    /// `None` when the domain does not exist.
    fn domain_state(&self, name: &str) -> Result<Option<DomainState>, ProviderError>;
    /// The address leased to the domain's NIC with `mac`.
    fn leased_address(&self, domain: &str, mac: &str) -> Result<Option<Ipv4Addr>, ProviderError>;

    /// Runs `argv` in the guest (through its agent) and waits for it, unless `watch` says
    /// to stop waiting.
    fn exec(
        &self,
        domain: &str,
        argv: &[&str],
        timeout: Duration,
        watch: Watch<'_>,
    ) -> Result<ExecOutput, ProviderError>;

    /// Waits until the node answers, has its address and sees the shared folder.
    fn wait_ready(&self, spec: &ReadySpec<'_>, watch: Watch<'_>) -> Result<Ready, ProviderError>;

    /// Everything of `cluster`, found by ownership marks alone (no ledger): what `gc` removes.
    fn owned(&self, cluster: &str, pool_dir: &str) -> Result<Owned, ProviderError>;
}

/// Absolute host path of a domain's console log (the plan gives it relative to the shared
/// folder).
pub fn console_path(d: &DomainResource, shared: &SharedFolder) -> String {
    format!(
        "{}/{}",
        shared.host_path.trim_end_matches('/'),
        d.console_log
    )
}
