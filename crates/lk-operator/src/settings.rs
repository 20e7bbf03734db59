//! Runtime settings of the operator (flags of `lustrekit operator`) and the effective
//! per-cluster timeouts.

use std::time::Duration;

use crate::crd::LustreCluster;

pub const DEFAULT_VM_IMAGE: &str = "lustrekit/debian-12-lustre:2.17";

#[derive(Debug, Clone)]
pub struct Settings {
    /// TCP port of the in-guest agents.
    pub agent_port: u16,
    /// Re-check interval while something is in progress.
    pub busy_requeue: Duration,
    /// Re-check interval of a settled cluster (health polling).
    pub idle_requeue: Duration,
    /// Timeout of one HTTP call to an agent.
    pub agent_timeout: Duration,
    /// Seconds before a failed phase is run again.
    pub phase_retry_seconds: i64,
    /// Only this namespace (all when `None`).
    pub namespace: Option<String>,
    /// Where to serve `/healthz` and `/readyz` (the Deployment's probes).
    pub health_listen: Option<std::net::SocketAddr>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            agent_port: lk_agent::DEFAULT_PORT,
            busy_requeue: Duration::from_secs(5),
            idle_requeue: Duration::from_secs(30),
            agent_timeout: Duration::from_secs(5),
            phase_retry_seconds: 30,
            namespace: None,
            health_listen: None,
        }
    }
}

/// Timeouts with defaults applied, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Effective {
    pub boot: i64,
    pub phase: i64,
    pub replace_after: i64,
    pub recovery: i64,
    pub teardown: i64,
}

pub fn timeouts(lc: &LustreCluster) -> Effective {
    let t = lc
        .spec
        .kubernetes
        .as_ref()
        .and_then(|k| k.timeouts.clone())
        .unwrap_or_default();
    let s = |v: Option<u64>, d: i64| v.map_or(d, |v| i64::try_from(v).unwrap_or(i64::MAX));
    Effective {
        boot: s(t.boot_seconds, 600),
        phase: s(t.phase_seconds, 900),
        replace_after: s(t.replace_after_seconds, 120),
        recovery: s(t.recovery_seconds, 900),
        teardown: s(t.teardown_seconds, 300),
    }
}
