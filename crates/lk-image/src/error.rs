//! Errors of the image build, each naming the step and the command or path involved.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("image build must run as root (debootstrap and chroot need it)")]
    NotRoot,

    #[error("required tool `{tool}` not found in PATH (install it with scripts/install-deps.sh)")]
    MissingTool { tool: &'static str },

    #[error("{step}: `{command}` failed ({status}); last output:\n{tail}")]
    Command {
        step: &'static str,
        command: String,
        status: String,
        tail: String,
    },

    #[error("{step}: could not start `{command}`")]
    Spawn {
        step: &'static str,
        command: String,
        #[source]
        source: std::io::Error,
    },

    #[error("{step}: {action} {path}")]
    Io {
        step: &'static str,
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{step}: no {what} found under {dir}")]
    NotFound {
        step: &'static str,
        what: &'static str,
        dir: PathBuf,
    },

    #[error("{step}: {action} {path}")]
    Json {
        step: &'static str,
        action: &'static str,
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    #[error("invalid --size `{value}`: {reason}")]
    BadSize { value: String, reason: SizeReason },
}

/// Why a root filesystem size is refused (printed inline after the value).
#[derive(Debug, thiserror::Error)]
pub enum SizeReason {
    #[error("{0}")]
    Syntax(lk_model::size::SizeError),
    #[error("at least 512M is needed for the kernel and base system")]
    TooSmall,
}

impl ImageError {
    pub(crate) fn io(
        step: &'static str,
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> ImageError {
        let path = path.into();
        move |source| ImageError::Io {
            step,
            action,
            path,
            source,
        }
    }
}
