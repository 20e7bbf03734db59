// SPDX-License-Identifier: Apache-2.0
//! What volumes and shares ask of Lustre, behind one trait ([`LustreOps`]):
//! - [`real::RealLustre`]: `lfs` and `lctl` (2.17 syntax, argv from [`argv`]) through a
//!   [`crate::runner::CommandRunner`], so they can run on this host or inside a VM;
//! - [`standin::StandInLustre`]: a plain directory standing in for a Lustre mount; it
//!   records stripes, projects, quotas and nodemaps in a JSON file and measures project usage
//!   by walking the share's directory. It cannot enforce anything: a write beyond a quota
//!   succeeds, and nodemaps restrict no one. `show` still reports usage against limits.
//! - [`nid`]: NID ranges as nodemaps take them.

pub mod argv;
pub mod nid;
pub mod real;
pub mod standin;

use std::path::Path;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::runner::CommandError;
pub use nid::{NidRange, NidRangeError};

/// Striping of a file (`lfs setstripe`): `count` OSTs (-1: all, 0: the filesystem default)
/// and `size` bytes per stripe (0: the default; otherwise a multiple of 64 KiB).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stripe {
    pub count: i32,
    pub size: u64,
}

/// The smallest stripe size and the unit every stripe size is a multiple of.
pub const STRIPE_UNIT: u64 = 64 * 1024;

impl Stripe {
    /// Checks the values `lfs setstripe` would refuse.
    pub fn validate(&self) -> Result<(), LustreError> {
        if self.count < -1 {
            return Err(LustreError::Stripe(format!(
                "stripe count {} is below -1 (-1 means every OST)",
                self.count
            )));
        }
        if !self.size.is_multiple_of(STRIPE_UNIT) {
            return Err(LustreError::Stripe(format!(
                "stripe size {} is not a multiple of 64KiB",
                self.size
            )));
        }
        Ok(())
    }
}

/// Project quota limits. Block limits are bytes (Lustre keeps KiB; lustrekit rounds up);
/// 0 means unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaLimits {
    pub block_soft: u64,
    pub block_hard: u64,
    pub inode_soft: u64,
    pub inode_hard: u64,
}

/// What a project uses: bytes and inodes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaUsage {
    pub bytes: u64,
    pub inodes: u64,
}

/// Usage and limits of one project.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectQuota {
    pub usage: QuotaUsage,
    pub limits: QuotaLimits,
}

/// Nodemap properties lustrekit sets (lctl-nodemap-modify(8)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NodemapProperty {
    /// Root is not squashed.
    Admin(bool),
    /// Client identities are used as they are (no mapping).
    Trusted(bool),
    /// Clients are forced to a read-only mount.
    ReadonlyMount(bool),
    /// Squashed users are denied instead of squashed.
    DenyUnknown(bool),
}

impl NodemapProperty {
    /// The property name and value as `--property NAME --value VALUE` take them.
    pub fn name_value(self) -> (&'static str, &'static str) {
        let (name, on) = match self {
            Self::Admin(v) => ("admin", v),
            Self::Trusted(v) => ("trusted", v),
            Self::ReadonlyMount(v) => ("readonly_mount", v),
            Self::DenyUnknown(v) => ("deny_unknown", v),
        };
        (name, if on { "1" } else { "0" })
    }
}

#[derive(Debug, Error)]
pub enum LustreError {
    #[error(transparent)]
    Command(#[from] CommandError),
    #[error("invalid striping: {0}")]
    Stripe(String),
    #[error("could not read the quota of project {id} from `lfs quota` output {output:?}")]
    QuotaOutput { id: u32, output: String },
    #[error("{path} is not under the Lustre mount {mount}")]
    NotUnder { path: String, mount: String },
    #[error("path {0} is not valid UTF-8")]
    Path(String),
    #[error("stand-in Lustre state {path}")]
    StandIn {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("stand-in Lustre state {path} is being changed by another process")]
    StandInBusy { path: String },
    #[error("nodemap {0} already exists")]
    NodemapExists(String),
    #[error("nodemap {0} does not exist")]
    NodemapMissing(String),
    #[error("NID range {range} already belongs to nodemap {nodemap}")]
    RangeTaken { range: String, nodemap: String },
    #[error("NID range {range} is not in nodemap {nodemap}")]
    RangeMissing { range: String, nodemap: String },
}

/// Which implementation is behind a [`LustreOps`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    Lustre,
    StandIn,
}

/// The Lustre operations volumes and shares need. Nodemap operations run where `lctl` can
/// change the nodemap configuration (the MGS); the others run on a client with the mount.
pub trait LustreOps: Send + Sync {
    fn backend(&self) -> Backend;
    /// Creates the empty file `path` with the given striping.
    fn setstripe(&self, path: &Path, stripe: &Stripe) -> Result<(), LustreError>;
    /// Gives `dir` (and everything under it) project `id`, inherited by new entries.
    fn set_project(&self, dir: &Path, id: u32) -> Result<(), LustreError>;
    /// Clears the project ID and inheritance of `dir` and everything under it.
    fn clear_project(&self, dir: &Path) -> Result<(), LustreError>;
    /// Sets the quota limits of project `id` (all zero: unlimited).
    fn set_project_quota(&self, id: u32, limits: &QuotaLimits) -> Result<(), LustreError>;
    /// Usage and limits of project `id`.
    fn project_quota(&self, id: u32) -> Result<ProjectQuota, LustreError>;
    /// The nodemap fileset (path from the filesystem root, starting with `/`) of `dir`.
    fn fileset_of(&self, dir: &Path) -> Result<String, LustreError>;
    fn nodemap_add(&self, name: &str) -> Result<(), LustreError>;
    fn nodemap_add_range(&self, name: &str, range: &NidRange) -> Result<(), LustreError>;
    /// Sets the nodemap's primary fileset, read-only if asked.
    fn nodemap_set_fileset(
        &self,
        name: &str,
        fileset: &str,
        readonly: bool,
    ) -> Result<(), LustreError>;
    fn nodemap_modify(&self, name: &str, property: NodemapProperty) -> Result<(), LustreError>;
    fn nodemap_del_range(&self, name: &str, range: &NidRange) -> Result<(), LustreError>;
    fn nodemap_del(&self, name: &str) -> Result<(), LustreError>;
    /// Turns the nodemap feature on or off for the whole filesystem.
    fn nodemap_activate(&self, on: bool) -> Result<(), LustreError>;
}

pub(crate) fn utf8(path: &Path) -> Result<&str, LustreError> {
    path.to_str()
        .ok_or_else(|| LustreError::Path(path.display().to_string()))
}

/// The fileset of `dir` under a mount at `mount` whose own root is `prefix` in the filesystem
/// (empty for a whole-filesystem mount).
pub(crate) fn fileset_under(mount: &Path, prefix: &str, dir: &Path) -> Result<String, LustreError> {
    let rel = dir.strip_prefix(mount).map_err(|_| LustreError::NotUnder {
        path: dir.display().to_string(),
        mount: mount.display().to_string(),
    })?;
    let rel = utf8(rel)?;
    let mut fileset = prefix.trim_end_matches('/').to_string();
    if !rel.is_empty() {
        fileset.push('/');
        fileset.push_str(rel);
    }
    if fileset.is_empty() {
        fileset.push('/');
    }
    Ok(fileset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fileset_is_the_path_from_the_filesystem_root() {
        let m = Path::new("/mnt/lustre");
        assert_eq!(
            fileset_under(m, "", Path::new("/mnt/lustre/shares/a")).expect("ok"),
            "/shares/a"
        );
        assert_eq!(
            fileset_under(m, "/proj", Path::new("/mnt/lustre/shares/a")).expect("ok"),
            "/proj/shares/a"
        );
        assert_eq!(fileset_under(m, "", m).expect("ok"), "/");
        assert!(fileset_under(m, "", Path::new("/srv/x")).is_err());
    }

    #[test]
    fn stripe_validation() {
        assert!(Stripe {
            count: -1,
            size: 1 << 20
        }
        .validate()
        .is_ok());
        assert!(Stripe { count: 0, size: 0 }.validate().is_ok());
        assert!(Stripe { count: -2, size: 0 }.validate().is_err());
        assert!(Stripe {
            count: 1,
            size: 1000
        }
        .validate()
        .is_err());
    }
}
