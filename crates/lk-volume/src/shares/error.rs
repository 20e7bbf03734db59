// SPDX-License-Identifier: Apache-2.0
//! Errors of share operations; each names the share (and range) it is about.

use thiserror::Error;

use crate::lustre::LustreError;
use crate::name::NameError;
use crate::size;
use crate::undo::Failed;

#[derive(Debug, Error)]
pub enum ShareError {
    #[error(transparent)]
    Name(#[from] NameError),
    #[error("share {0} does not exist")]
    NotFound(String),
    #[error("share {0} already exists")]
    Exists(String),
    #[error("a share size must be larger than 0")]
    ZeroSize,
    #[error("share {share} uses {} but the new limit is {}; lowering below usage is refused", fmt(*.used, .what), fmt(*.limit, .what))]
    BelowUsage {
        share: String,
        what: &'static str,
        used: u64,
        limit: u64,
    },
    #[error("share {share} still allows {}; deny them first, or delete with force", .ranges.join(", "))]
    HasAccess { share: String, ranges: Vec<String> },
    #[error("share {share} already allows {range} ({level}); deny it first to change the level")]
    RuleExists {
        share: String,
        range: String,
        level: String,
    },
    #[error("share {share} has no access rule for {range}")]
    NoSuchRule { share: String, range: String },
    #[error("NID range {range} is already allowed on share {other}")]
    RangeElsewhere { range: String, other: String },
    #[error(
        "share {share} would use nodemap names of share {other} ({nodemap}); choose another name"
    )]
    NodemapCollision {
        share: String,
        other: String,
        nodemap: String,
    },
    #[error("no free project ID from {0} up")]
    NoProjectId(u32),
    #[error("the share registry is being changed by another process")]
    Busy,
    #[error("share {share}: {action}")]
    Lustre {
        share: String,
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
    #[error("share {share}: record {path} is unusable: {reason}")]
    State {
        share: String,
        path: String,
        reason: String,
    },
    #[error("undoing the failed operation left behind: {}", .leftovers.join("; "))]
    Unwound {
        #[source]
        source: Box<ShareError>,
        leftovers: Vec<String>,
    },
}

fn fmt(v: u64, what: &str) -> String {
    if what == "bytes" {
        size::human(v)
    } else {
        format!("{v} {what}")
    }
}

impl ShareError {
    pub(crate) fn io(action: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        Self::Io {
            action,
            path: path.display().to_string(),
            source,
        }
    }

    pub(crate) fn lustre(share: &str, action: &'static str) -> impl FnOnce(LustreError) -> Self {
        let share = share.to_string();
        move |source| Self::Lustre {
            share,
            action,
            source,
        }
    }
}

impl From<Failed<ShareError>> for ShareError {
    fn from(f: Failed<ShareError>) -> Self {
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
