// SPDX-License-Identifier: Apache-2.0
//! Errors of volume operations. Each names the volume (and snapshot) it is about; messages
//! say what was refused and why, and never repeat their source (the chain is printed once).

use thiserror::Error;

use crate::lustre::LustreError;
use crate::name::NameError;
use crate::qemu::QemuError;
use crate::size;
use crate::undo::Failed;

#[derive(Debug, Error)]
pub enum VolumeError {
    #[error(transparent)]
    Name(#[from] NameError),
    #[error("volume {0} does not exist")]
    NotFound(String),
    #[error("volume {0} already exists")]
    Exists(String),
    #[error("volume {volume} has no snapshot {snapshot}")]
    SnapshotNotFound { volume: String, snapshot: String },
    #[error("volume {volume} already has a snapshot {snapshot}")]
    SnapshotExists { volume: String, snapshot: String },
    #[error("volume {volume} has snapshots ({}); delete them first, or delete with force", .snapshots.join(", "))]
    HasSnapshots {
        volume: String,
        snapshots: Vec<String>,
    },
    #[error("volume {volume}: the NBD export failed: {reason}")]
    Export { volume: String, reason: String },
    #[error("volume {volume} is attached to {to}; {action} is refused while attached")]
    Attached {
        volume: String,
        to: String,
        action: &'static str,
    },
    #[error("volume {volume} is {} ({current} bytes); the new size {} ({requested} bytes) must be larger", size::human(*.current), size::human(*.requested))]
    NotLarger {
        volume: String,
        current: u64,
        requested: u64,
    },
    #[error("a volume size must be larger than 0")]
    ZeroSize,
    #[error("reverting {volume} to {snapshot} would discard the newer snapshots {}; ask to discard them", .newer.join(", "))]
    NewerSnapshots {
        volume: String,
        snapshot: String,
        newer: Vec<String>,
    },
    #[error("{requested} more bytes would provision {} of {} ({ratio:.2}x), above max_over_subscription_ratio {max}", size::human(*.provisioned), size::human(*.total))]
    Oversubscribed {
        requested: u64,
        provisioned: u64,
        total: u64,
        ratio: f64,
        max: f64,
    },
    #[error("{} requested but only {} free × max_over_subscription_ratio {max} can be provisioned", size::human(*.requested), size::human(*.free))]
    NoSpace { requested: u64, free: u64, max: f64 },
    #[error("volume {0} is being changed by another process")]
    Busy(String),
    #[error("volume {volume}: {action}")]
    Qemu {
        volume: String,
        action: &'static str,
        #[source]
        source: QemuError,
    },
    #[error("volume {volume}: {action}")]
    Lustre {
        volume: String,
        action: &'static str,
        #[source]
        source: LustreError,
    },
    #[error("{action} {path}")]
    Io {
        action: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("volume {volume}: state file {path} is unusable: {reason}")]
    State {
        volume: String,
        path: String,
        reason: String,
    },
    #[error("undoing the failed operation left behind: {}", .leftovers.join("; "))]
    Unwound {
        #[source]
        source: Box<VolumeError>,
        leftovers: Vec<String>,
    },
}

impl VolumeError {
    pub(crate) fn io(action: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        Self::Io {
            action,
            path: path.display().to_string(),
            source,
        }
    }
}

impl From<Failed<VolumeError>> for VolumeError {
    fn from(f: Failed<VolumeError>) -> Self {
        if f.leftovers.is_empty() {
            f.error
        } else {
            Self::Unwound {
                source: Box::new(f.error),
                leftovers: f.leftovers,
            }
        }
    }
}
