// SPDX-License-Identifier: Apache-2.0
//! The crate's error type.

use std::path::PathBuf;

/// A sync failure. Problems with single entries or lines (a file that vanished, a malformed
/// changelog record) are not errors: they are logged and skipped.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The settings make no sense (e.g. the changelog backend without an MDT).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Opening the tree or the index failed.
    #[error("failed to open the gateway tree and index under {}", root.display())]
    Open {
        /// Gateway root.
        root: PathBuf,
        /// Cause.
        #[source]
        source: lk_gateway::sync_api::StartError,
    },
    /// The index refused a change or a query.
    #[error("failed to update the listing index while {context}")]
    Index {
        /// What was being done.
        context: &'static str,
        /// Cause.
        #[source]
        source: lk_gateway::sync_api::IndexError,
    },
    /// Reading the tree failed in a way that is not "the entry went away".
    #[error("failed to {action} {}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// Path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// inotify could not be set up.
    #[error("failed to {action} (inotify)")]
    Inotify {
        /// What was being done.
        action: &'static str,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The SIGTERM/SIGINT handler could not be installed.
    #[error("failed to handle signal {signal}")]
    Signal {
        /// The signal number.
        signal: i32,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// An external command (`lfs ...`) could not be started.
    #[error("failed to run `{command}`")]
    Spawn {
        /// The command line.
        command: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// An external command ran and failed.
    #[error("`{command}` failed: {detail}")]
    Command {
        /// The command line.
        command: String,
        /// Exit status and stderr.
        detail: String,
    },
}

/// Short for `Result<T, SyncError>`.
pub type SyncResult<T> = Result<T, SyncError>;

pub(crate) fn index_err(
    context: &'static str,
) -> impl FnOnce(lk_gateway::sync_api::IndexError) -> SyncError {
    move |source| SyncError::Index { context, source }
}

/// `error: cause: cause...`, for logs.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
