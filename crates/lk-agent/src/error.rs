//! Errors of the agent crate.

use std::path::PathBuf;

/// A parse problem names the command whose output it read and the offending line.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("unexpected output of `{command}` at line {line}: {reason}: {text:?}")]
    Parse {
        command: &'static str,
        line: usize,
        text: String,
        reason: &'static str,
    },
    #[error("failed to run `{command}`")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` exited with {status}: {stderr}")]
    Command {
        command: String,
        status: String,
        stderr: String,
    },
    #[error("failed to access {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to bind {address}")]
    Bind {
        address: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the phase state file {path} is corrupt; remove it to start with no phase done")]
    StateCorrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("failed to serialize the phase records for {path}")]
    StateSerialize {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// The blocking task collecting a health report panicked or was cancelled.
    #[error("the health probe task failed: {0}")]
    ProbeTask(String),
    #[error("invalid phase name {0:?}: expected 1-64 of [a-z0-9-]")]
    PhaseName(String),
}

impl AgentError {
    /// The error with its causes on one line (for the health report's `errors`).
    pub fn chain(&self) -> String {
        let mut s = self.to_string();
        let mut cur = std::error::Error::source(self);
        while let Some(c) = cur {
            s.push_str(": ");
            s.push_str(&c.to_string());
            cur = c.source();
        }
        s
    }

    pub(crate) fn parse(
        command: &'static str,
        line: usize,
        text: &str,
        reason: &'static str,
    ) -> Self {
        AgentError::Parse {
            command,
            line,
            text: text.to_string(),
            reason,
        }
    }
}
