//! Errors of the build, each naming the step and what to provide or where to look.

use std::path::PathBuf;

use crate::steps::Step;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("the Lustre build must run as root (debootstrap, chroot and bind mounts need it)")]
    NotRoot,

    #[error("required tool `{tool}` not found in PATH (install it with scripts/install-deps.sh)")]
    MissingTool { tool: &'static str },

    #[error("{path} is not a Lustre source tree: {reason}")]
    NotLustreTree { path: PathBuf, reason: String },

    #[error("the image {image} has no recorded kernel ({reason}); build it with `lustrekit image build`")]
    NoKernel { image: PathBuf, reason: String },

    #[error("git: {what} ({url}): {detail}")]
    Git {
        url: String,
        what: String,
        detail: String,
    },

    #[error("build step `{step}` failed ({status}); log: {log}\n{tail}")]
    Step {
        step: Step,
        status: String,
        log: PathBuf,
        tail: String,
    },

    #[error("{step}: could not run `{command}`")]
    Spawn {
        step: Step,
        command: String,
        #[source]
        source: std::io::Error,
    },

    #[error("{step}: {action} {path}")]
    Io {
        step: Step,
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{step}: {detail}")]
    Invalid { step: Step, detail: String },
}

impl BuildError {
    pub(crate) fn io(
        step: Step,
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> BuildError {
        let path = path.into();
        move |source| BuildError::Io {
            step,
            action,
            path,
            source,
        }
    }
}
