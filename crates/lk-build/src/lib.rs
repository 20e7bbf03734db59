//! Builds Lustre into Debian packages for the guest kernel, on the host.
//!
//! A TCG guest is far too slow to compile Lustre, so when KVM does not work lustrekit builds
//! in a chroot of the guest's distribution on the host ("the build root") instead of in the
//! build VM. The result is an apt repository (the built packages, ZFS modules for the guest
//! kernel, and the closure of their dependencies) that nodes install from the shared folder
//! without a network.
//!
//! Cache layout under [`BuildRequest::cache_dir`] (default `/var/cache/lustrekit/build`):
//!
//! - `root-SUITE/`: the build root (debootstrap, once; packages added per kernel)
//! - `zfs/KVER/`: `zfs-modules-KVER` built from Debian's zfs-dkms, once per kernel
//! - `git/HASH/`: bare clones of git sources
//! - `work/KEY/`: a build in progress (source copy, logs, staging); kept after a failure
//! - `packages/KEY/`: finished repositories, published by an atomic rename, so the cache
//!   never holds a half-made one; `build.json` inside describes it
//!
//! KEY is [`key::cache_key`] over the source revision (git commit, or the tree's content
//! hash), the kernel, the distribution, the configure options and the build scripts.
//!
//! Layout: [`steps`] (the ordered steps and their scripts, in `scripts/`), [`source`]
//! (recognising a Lustre tree, hashing it, git), [`key`], `chroot` (bind mounts, logged
//! commands), `runner` (the steps in order), [`error`].

pub mod error;
pub mod key;
pub mod source;
pub mod steps;

mod chroot;
mod runner;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use error::BuildError;
pub use runner::build;
pub use source::SourceSpec;
pub use steps::Step;

/// Default cache folder.
pub const DEFAULT_CACHE_DIR: &str = "/var/cache/lustrekit/build";

/// What to build and where to keep it.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    pub source: SourceSpec,
    pub configure_options: Vec<String>,
    /// Guest kernel release, e.g. `6.1.0-50-amd64` (from the image's recipe).
    pub kernel: String,
    /// Guest distribution suite, e.g. `bookworm`.
    pub suite: String,
    pub mirror: String,
    pub security_mirror: String,
    pub cache_dir: PathBuf,
    /// make -j.
    pub jobs: u32,
    /// Rebuild even when the cache has these packages.
    pub force: bool,
}

/// Progress of a build.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Started(Step),
    /// Done, with seconds.
    Finished(Step, f64),
    /// Not needed this time, and why.
    Skipped(Step, String),
    /// A line a step printed that starts with `== ` (its own progress).
    Note(Step, String),
}

/// Description of a finished repository (`build.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuildManifest {
    pub key: String,
    pub source: String,
    pub source_id: String,
    pub kernel: String,
    pub suite: String,
    pub configure_options: Vec<String>,
    /// Lustre version of the packages, e.g. `2.17.0`.
    pub lustre_version: String,
    /// The packages built here (the rest of the repository is their dependencies).
    pub built: Vec<String>,
    /// Seconds per step of the build that made it.
    pub step_seconds: Vec<(Step, f64)>,
}

/// Result of [`build`].
#[derive(Debug, Clone)]
pub struct BuildOutput {
    pub repo: PathBuf,
    pub manifest: BuildManifest,
    /// Found in the cache: nothing was compiled.
    pub cached: bool,
    pub seconds: f64,
}

/// The published repository of `key`, if the cache has it. A repository whose manifest cannot
/// be read is an error (publishing is atomic, so it was damaged after the build).
pub fn cached_repo(
    cache_dir: &Path,
    key: &str,
) -> Result<Option<(PathBuf, BuildManifest)>, BuildError> {
    let repo = cache_dir.join("packages").join(key);
    if !repo.exists() {
        return Ok(None);
    }
    let path = repo.join("build.json");
    let text = std::fs::read_to_string(&path).map_err(BuildError::io(
        Step::Publish,
        "read the manifest",
        &path,
    ))?;
    let manifest = serde_json::from_str(&text).map_err(|e| BuildError::Invalid {
        step: Step::Publish,
        detail: format!(
            "{} is damaged ({e}); remove {} to rebuild",
            path.display(),
            repo.display()
        ),
    })?;
    Ok(Some((repo, manifest)))
}
