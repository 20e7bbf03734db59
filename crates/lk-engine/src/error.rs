//! Engine errors. An `up` that failed and unwound carries the original error and every undo
//! that failed, so nothing is hidden.

use std::path::{Path, PathBuf};

use lk_plan::Stage;
use serde::{Deserialize, Serialize};

use crate::ledger::Step;
use crate::provider::ProviderError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{step}: create failed")]
    Create {
        step: Step,
        #[source]
        source: Box<ProviderError>,
    },

    #[error("{step}: injected failure (fault injection at step {index})")]
    Injected { step: Step, index: usize },

    #[error("{what} {} does not exist (run `lustrekit image build`, or set spec.image)", path.display())]
    MissingInput { what: &'static str, path: PathBuf },

    #[error("interrupted during {during}")]
    Interrupted { during: String },

    #[error("cannot start at stage {}: stage {} has not completed (run without --from, or --from {})", from.as_str(), missing.as_str(), missing.as_str())]
    StageOrder { from: Stage, missing: Stage },

    #[error("{}", stage_message(*.stage, .phase, .failures, .logs))]
    Stage {
        stage: Stage,
        phase: String,
        failures: Vec<NodeFailure>,
        logs: PathBuf,
    },

    #[error("cluster `{cluster}` is not known here: no {} (bring it up with `lustrekit up FILE`, or pass the topology file)", path.display())]
    UnknownCluster { cluster: String, path: PathBuf },

    #[error("no node `{node}` in this cluster (nodes: {known})")]
    UnknownNode { node: String, known: String },

    #[error("cannot fail over {target}: {known}")]
    NoFailover { target: String, known: String },

    #[error("node readiness")]
    Ready(#[source] Box<ProviderError>),

    #[error("{}", unwound_message(.undo_failures))]
    Unwound {
        #[source]
        original: Box<Error>,
        undo_failures: Vec<UndoFailure>,
    },

    #[error("{} undo step(s) failed: {}", .0.len(), .0.iter().map(|f| f.to_string()).collect::<Vec<_>>().join("; "))]
    Down(Vec<UndoFailure>),

    #[error("provider")]
    Provider(#[source] Box<ProviderError>),

    #[error("{action} {}", path.display())]
    Json {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    #[error("{file} is damaged; fix or remove it")]
    Damaged {
        file: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    #[error("{action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// One undo that failed during unwinding or `down`.
#[derive(Debug, thiserror::Error)]
#[error("undo {step}: {message}")]
pub struct UndoFailure {
    pub step: Step,
    pub message: String,
}

/// One node on which a guest phase failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeFailure {
    pub node: String,
    /// Relative to the shared folder.
    pub script: String,
    /// -1 when the script could not be run at all.
    pub exit_code: i64,
    /// The script's own `lustrekit:` messages, or its last lines.
    pub detail: String,
    /// Host path of the phase's full output.
    pub log: PathBuf,
}

impl std::fmt::Display for NodeFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "node {} ({}, exit {}): {}",
            self.node,
            self.script,
            self.exit_code,
            self.detail.replace('\n', " | ")
        )
    }
}

fn stage_message(
    stage: Stage,
    phase: &str,
    failures: &[NodeFailure],
    logs: &std::path::Path,
) -> String {
    let mut m = format!(
        "stage {}: phase {phase} failed on {} node(s)",
        stage.as_str(),
        failures.len()
    );
    for f in failures {
        m.push_str(&format!(
            "\n  node {} ({}, exit {}):\n    {}\n    full output: {}",
            f.node,
            f.script,
            f.exit_code,
            f.detail.replace('\n', "\n    "),
            f.log.display()
        ));
    }
    m.push_str(&format!(
        "\nEvery node's console, dmesg and lctl dk are gathered under {}.\n\
         The infrastructure stays up: fix the cause and run `lustrekit up` again (it resumes at \
         this stage), or remove everything with `lustrekit down`.",
        logs.display()
    ));
    m
}

fn unwound_message(f: &[UndoFailure]) -> String {
    if f.is_empty() {
        "up failed; every completed step was undone".into()
    } else {
        let list: Vec<String> = f.iter().map(|u| u.to_string()).collect();
        format!(
            "up failed, and {} undo step(s) failed too: {}",
            f.len(),
            list.join("; ")
        )
    }
}

impl Error {
    /// Whether the operation stopped because it was asked to (Ctrl-C, SIGTERM).
    pub fn is_interrupted(&self) -> bool {
        match self {
            Error::Interrupted { .. } => true,
            Error::Unwound { original, .. } => original.is_interrupted(),
            _ => false,
        }
    }

    pub(crate) fn provider(e: ProviderError) -> Error {
        Error::Provider(Box::new(e))
    }

    pub(crate) fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.to_path_buf();
        move |source| Error::Io {
            action,
            path,
            source,
        }
    }
}
