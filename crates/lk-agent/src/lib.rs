//! The in-guest health agent (`lustrekit agent`), used by the Kubernetes operator and usable by
//! the libvirt backend.
//!
//! Layout:
//! - [`parse`] (pure): strict parsers of `lctl dl`, `lctl get_param health_check` and
//!   `*.recovery_status`; each declares the command it reads;
//! - [`report`] (pure): the JSON health report, the agent's contract with the operator;
//! - [`metrics`] (pure): the report as Prometheus text;
//! - [`probe`] (touches the world): runs `lctl` and builds a report;
//! - [`runner`] (touches the world): runs the operator's per-node scripts, one at a time, and
//!   remembers their outcome across agent restarts;
//! - [`server`] (touches the world): the HTTP API.

pub mod error;
pub mod metrics;
pub mod parse;
pub mod probe;
pub mod report;
pub mod runner;
pub mod server;

pub use error::AgentError;
pub use report::HealthReport;

/// Default TCP port of the agent.
pub const DEFAULT_PORT: u16 = 9690;
