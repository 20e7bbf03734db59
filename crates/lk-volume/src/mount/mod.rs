// SPDX-License-Identifier: Apache-2.0
//! Mounting Lustre on a host that mounts it itself (Cinder's `*_mount_point_base`,
//! `*_mount_options`, `*_mount_attempts`): [`Mounter::ensure_mounted`] checks
//! `/proc/self/mountinfo` and runs `mount -t lustre` a bounded number of times, each failure
//! recorded, until the table shows the mount.

pub mod mountinfo;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;

use crate::runner::{run_checked, CommandRunner};

#[derive(Debug, Error)]
pub enum MountError {
    #[error("Lustre source {source_:?}: {reason} (expected MGSNID[:MGSNID...]:/FSNAME[/SUBDIR], e.g. 10.0.0.1@tcp:/lustre)")]
    Source { source_: String, reason: String },
    #[error("mount attempts must be at least 1")]
    NoAttempts,
    #[error("{mount_point} already has {fstype} {source_} mounted on it")]
    MountedOther {
        mount_point: String,
        fstype: String,
        source_: String,
    },
    #[error("could not read the mount table")]
    MountInfo(#[source] std::io::Error),
    #[error(transparent)]
    Parse(#[from] mountinfo::ParseError),
    #[error("could not create the mount point {path}")]
    MkDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("mounting {source_} on {mount_point} failed {} time(s): {}", .tries.len(), .tries.join("; "))]
    Failed {
        source_: String,
        mount_point: String,
        tries: Vec<String>,
    },
}

/// A Lustre client mount source, `MGSNID[:MGSNID...]:/FSNAME[/SUBDIR]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LustreSource {
    pub text: String,
    pub fsname: String,
}

impl LustreSource {
    pub fn parse(text: &str) -> Result<Self, MountError> {
        let fail = |reason: &str| MountError::Source {
            source_: text.into(),
            reason: reason.into(),
        };
        let (nids, path) = text
            .rsplit_once(":/")
            .ok_or_else(|| fail("no ':/' before the filesystem name"))?;
        if nids.is_empty()
            || nids
                .split(':')
                .any(|n| n.split(',').any(|nid| !nid.contains('@')))
        {
            return Err(fail("every MGS NID must look like ADDRESS@NET"));
        }
        let fsname = path.split('/').next().unwrap_or_default();
        if fsname.is_empty() || fsname.len() > 8 {
            return Err(fail("the filesystem name must be 1 to 8 characters"));
        }
        if !fsname
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(fail(
                "the filesystem name may only have letters, digits, '_' and '-'",
            ));
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(fail("whitespace or control characters"));
        }
        Ok(Self {
            text: text.into(),
            fsname: fsname.into(),
        })
    }
}

/// Where a source is mounted under a base directory: `BASE/FSNAME-HASH`, deterministic (the
/// hash is FNV-1a of the whole source), like Cinder's hashed mount points.
pub fn mount_point_for(base: &Path, source: &LustreSource) -> PathBuf {
    base.join(format!(
        "{}-{:08x}",
        source.fsname,
        crate::fsutil::fnv1a32(source.text.as_bytes())
    ))
}

/// How `ensure_mounted` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountStatus {
    /// The source was already mounted there; nothing ran.
    AlreadyMounted,
    /// Mounted, on the given attempt (1-based).
    Mounted { attempt: u32 },
}

type ReadTable = Box<dyn Fn() -> std::io::Result<String> + Send + Sync>;
type Sleep = Box<dyn Fn(Duration) + Send + Sync>;

/// Mounts through a runner and checks the result in a mount table.
pub struct Mounter {
    runner: Arc<dyn CommandRunner>,
    table: ReadTable,
    sleep: Sleep,
    /// Pause between attempts.
    pub delay: Duration,
}

impl Mounter {
    /// On this host: `/proc/self/mountinfo`, real sleeps of `delay` between attempts.
    pub fn new(runner: Arc<dyn CommandRunner>, delay: Duration) -> Self {
        Self::with_table(
            runner,
            Box::new(|| std::fs::read_to_string("/proc/self/mountinfo")),
            Box::new(std::thread::sleep),
            delay,
        )
    }

    /// With another mount table and clock (tests, or a table read inside a VM).
    pub fn with_table(
        runner: Arc<dyn CommandRunner>,
        table: ReadTable,
        sleep: Sleep,
        delay: Duration,
    ) -> Self {
        Self {
            runner,
            table,
            sleep,
            delay,
        }
    }

    fn mounted(&self, mount_point: &Path) -> Result<Option<mountinfo::MountEntry>, MountError> {
        let text = (self.table)().map_err(MountError::MountInfo)?;
        let entries = mountinfo::parse(&text)?;
        Ok(mountinfo::at(&entries, mount_point).cloned())
    }

    /// Makes sure `source` is mounted on `mount_point` (created if missing) with `options`
    /// (comma-separated, may be empty), trying `mount` at most `attempts` times.
    pub fn ensure_mounted(
        &self,
        source: &LustreSource,
        mount_point: &Path,
        options: &str,
        attempts: u32,
    ) -> Result<MountStatus, MountError> {
        if attempts == 0 {
            return Err(MountError::NoAttempts);
        }
        if let Some(m) = self.mounted(mount_point)? {
            if m.fstype == "lustre" && m.source == source.text {
                return Ok(MountStatus::AlreadyMounted);
            }
            return Err(MountError::MountedOther {
                mount_point: mount_point.display().to_string(),
                fstype: m.fstype,
                source_: m.source,
            });
        }
        std::fs::create_dir_all(mount_point).map_err(|source| MountError::MkDir {
            path: mount_point.display().to_string(),
            source,
        })?;
        let argv = mount_argv(&source.text, mount_point, options);
        let mut tries = Vec::new();
        for attempt in 1..=attempts {
            if attempt > 1 {
                (self.sleep)(self.delay);
            }
            match run_checked(self.runner.as_ref(), &argv) {
                Ok(_) => match self.mounted(mount_point)? {
                    Some(m) if m.fstype == "lustre" => return Ok(MountStatus::Mounted { attempt }),
                    _ => tries.push(format!(
                        "attempt {attempt}: mount succeeded but the mount table does not show it"
                    )),
                },
                Err(e) => tries.push(format!("attempt {attempt}: {e}")),
            }
        }
        Err(MountError::Failed {
            source_: source.text.clone(),
            mount_point: mount_point.display().to_string(),
            tries,
        })
    }
}

/// `mount -t lustre [-o OPTIONS] SOURCE MOUNT_POINT`.
pub fn mount_argv(source: &str, mount_point: &Path, options: &str) -> Vec<String> {
    let mut a = vec!["mount".to_string(), "-t".into(), "lustre".into()];
    if !options.is_empty() {
        a.extend(["-o".into(), options.into()]);
    }
    a.extend([source.into(), mount_point.display().to_string()]);
    a
}
