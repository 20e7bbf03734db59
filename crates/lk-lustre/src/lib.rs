//! Lustre knowledge shared by the planner, the operator, the gateway and the sync daemon.
//!
//! - [`nid`]: LNet NIDs and the `,` / `:` joining rules;
//! - [`target`]: target labels (`fs-OST0001`), kinds and on-disk names;
//! - [`cmd`]: argument builders for `mkfs.lustre`, `mount`, `lnetctl`, `lctl`, rendered as
//!   shell-safe command lines;
//! - [`shell`]: quoting for generated shell;
//! - [`changelog`]: MDT changelog records (`lfs changelog`) and coalescing of a batch.
//!
//! Everything is pure: the builders return argument vectors; callers decide where they run.

pub mod changelog;
pub mod cmd;
pub mod nid;
pub mod shell;
pub mod target;
