//! Engine errors. An `up` that failed and unwound carries the original error and every undo
//! that failed, so nothing is hidden.

use std::path::{Path, PathBuf};

use crate::ledger::Step;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{step}: create failed")]
    Create {
        step: Step,
        #[source]
        source: Box<lk_libvirt::Error>,
    },

    #[error("{step}: injected failure (fault injection at step {index})")]
    Injected { step: Step, index: usize },

    #[error("node readiness")]
    Ready(#[source] Box<lk_libvirt::Error>),

    #[error("{}", unwound_message(.undo_failures))]
    Unwound {
        #[source]
        original: Box<Error>,
        undo_failures: Vec<UndoFailure>,
    },

    #[error("{} undo step(s) failed: {}", .0.len(), .0.iter().map(|f| f.to_string()).collect::<Vec<_>>().join("; "))]
    Down(Vec<UndoFailure>),

    #[error("libvirt")]
    Libvirt(#[source] Box<lk_libvirt::Error>),

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
    pub(crate) fn libvirt(e: lk_libvirt::Error) -> Error {
        Error::Libvirt(Box::new(e))
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
