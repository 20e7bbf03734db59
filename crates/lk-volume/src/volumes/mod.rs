// SPDX-License-Identifier: Apache-2.0
//! Cinder-style volumes: one directory per volume under `ROOT/volumes/` holding its images
//! and `info.json` (see [`info`]).
//!
//! - create: a sparse raw file or a qcow2 with `preallocation=metadata`, optionally striped
//!   first (`lfs setstripe` makes the empty file; qemu-img keeps its layout);
//! - snapshot: the active layer is frozen and a qcow2 overlay on it becomes active
//!   ([`ops`]); revert puts a fresh overlay on a snapshot's image and drops the layers above;
//! - clone / create-from-snapshot: `qemu-img convert` into a new independent volume ([`copy`]);
//! - extend: `qemu-img resize` of the active layer, refused while attached;
//! - capacity: statvfs plus provisioned sizes, with Cinder's over-subscription rule
//!   ([`capacity`]).
//!
//! Every create is built in a hidden `.new-*` directory and renamed into place, so a failure
//! (or a crash) never leaves a half-made volume under its name; changes to an existing volume
//! register undos ([`crate::undo`]) and rewrite `info.json` atomically last.

pub mod capacity;
pub mod copy;
pub mod error;
pub mod export;
pub mod info;
pub mod ops;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

pub use capacity::Capacity;
pub use error::VolumeError;
pub use export::NbdExport;
pub use info::{SnapshotInfo, VolumeInfo};

use crate::fsutil::{self, LockError};
use crate::lustre::{LustreOps, Stripe};
use crate::qemu::{Format, ImageInfo, QemuImg};
use crate::runner::CommandRunner;
use crate::undo::{self, transaction};

/// Cinder's default `max_over_subscription_ratio`.
pub const DEFAULT_MAX_OVER_SUBSCRIPTION_RATIO: f64 = 20.0;

/// Settings of a volume store.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VolumeConfig {
    /// Provisioned (virtual) bytes may reach this many times the filesystem's size.
    pub max_over_subscription_ratio: f64,
}

impl Default for VolumeConfig {
    fn default() -> Self {
        Self {
            max_over_subscription_ratio: DEFAULT_MAX_OVER_SUBSCRIPTION_RATIO,
        }
    }
}

/// What to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateRequest {
    pub name: String,
    pub size: u64,
    pub format: Format,
    pub stripe: Option<Stripe>,
}

/// A volume as `list` shows it: its state plus where it is and what its files take.
#[derive(Debug, Clone, Serialize)]
pub struct Volume {
    #[serde(flatten)]
    pub info: VolumeInfo,
    pub path: PathBuf,
    /// Bytes allocated on disk by all its images (st_blocks × 512).
    pub allocated: u64,
    /// Apparent size of all its images (st_size).
    pub apparent: u64,
}

/// A volume as `show` shows it: plus what qemu-img says about the active layer.
#[derive(Debug, Clone, Serialize)]
pub struct VolumeDetail {
    #[serde(flatten)]
    pub volume: Volume,
    pub image: ImageInfo,
}

/// `list`'s answer: the volumes that read well, and a line per directory that did not.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Listing {
    pub volumes: Vec<Volume>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

/// Volumes under one directory (`ROOT/volumes`).
pub struct Volumes {
    dir: PathBuf,
    runner: Arc<dyn CommandRunner>,
    qemu: QemuImg,
    lustre: Arc<dyn LustreOps>,
    config: VolumeConfig,
}

/// The lock on a volume, held while it changes.
pub(crate) struct Locked {
    pub info: VolumeInfo,
    pub dir: PathBuf,
    _lock: fsutil::Lock,
}

impl Volumes {
    /// Volumes in `dir` (created on first use); qemu-img runs through `runner`.
    pub fn new(
        dir: impl Into<PathBuf>,
        runner: Arc<dyn CommandRunner>,
        lustre: Arc<dyn LustreOps>,
        config: VolumeConfig,
    ) -> Self {
        Self {
            dir: dir.into(),
            qemu: QemuImg::new(runner.clone()),
            runner,
            lustre,
            config,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn runner(&self) -> &Arc<dyn CommandRunner> {
        &self.runner
    }

    pub fn lustre(&self) -> &dyn LustreOps {
        self.lustre.as_ref()
    }

    fn volume_dir(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Reads a volume's `info.json` (the name is validated first).
    pub fn info(&self, name: &str) -> Result<VolumeInfo, VolumeError> {
        crate::name::validate("volume", name)?;
        let path = self.volume_dir(name).join(info::INFO_FILE);
        let info: VolumeInfo = match fsutil::read_json(&path) {
            Ok(i) => i,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(VolumeError::NotFound(name.into()))
            }
            Err(e) => return Err(state_error(name, &path, e.to_string())),
        };
        info.check(name)
            .map_err(|reason| state_error(name, &path, reason))?;
        Ok(info)
    }

    /// Locks a volume and reads its state under the lock.
    pub(crate) fn lock(&self, name: &str) -> Result<Locked, VolumeError> {
        self.info(name)?;
        let dir = self.volume_dir(name);
        let lock = fsutil::lock(&dir.join(info::LOCK_FILE)).map_err(|e| match e {
            LockError::Busy => VolumeError::Busy(name.into()),
            LockError::Io(e) => VolumeError::io("could not lock", &dir, e),
        })?;
        let info = self.info(name)?;
        Ok(Locked {
            info,
            dir,
            _lock: lock,
        })
    }

    /// Writes a changed state, then removes layers it no longer names.
    pub(crate) fn save(&self, locked: &Locked, info: &VolumeInfo) -> Result<(), VolumeError> {
        let path = locked.dir.join(info::INFO_FILE);
        fsutil::write_json_atomic(&path, info)
            .map_err(|e| VolumeError::io("could not write", &path, e))?;
        // What cannot be removed now is removed by the next change.
        let _ = info::sweep(&locked.dir, info);
        Ok(())
    }

    /// Creates an empty volume.
    pub fn create(&self, req: &CreateRequest) -> Result<Volume, VolumeError> {
        crate::name::validate("volume", &req.name)?;
        if req.size == 0 {
            return Err(VolumeError::ZeroSize);
        }
        if let Some(s) = &req.stripe {
            s.validate()
                .map_err(|source| lustre_err(&req.name, "invalid striping", source))?;
        }
        self.refuse_existing(&req.name)?;
        self.check_capacity(req.size)?;
        let info = VolumeInfo::new(&req.name, req.format, req.size, req.stripe);
        self.build(&info, |tmp| {
            let base = tmp.join(&info.active);
            self.qemu
                .create(&base, req.format, req.size)
                .map_err(|source| qemu_err(&req.name, "qemu-img create failed", source))
        })?;
        self.get(&req.name)
    }

    /// Builds a new volume in a hidden directory: striping of the base image (if asked),
    /// `fill` to make the image, `info.json`, then a rename into place. Any failure removes
    /// the hidden directory.
    pub(crate) fn build(
        &self,
        info: &VolumeInfo,
        fill: impl FnOnce(&Path) -> Result<(), VolumeError>,
    ) -> Result<(), VolumeError> {
        fs::create_dir_all(&self.dir)
            .map_err(|e| VolumeError::io("could not create", &self.dir, e))?;
        let tmp = self.dir.join(format!(
            ".new-{}-{}-{}",
            info.name,
            std::process::id(),
            fsutil::now_unix()
        ));
        let target = self.volume_dir(&info.name);
        transaction(|rb| {
            fs::create_dir(&tmp).map_err(|e| VolumeError::io("could not create", &tmp, e))?;
            rb.push(tmp.display().to_string(), || undo::remove_path(&tmp));
            if let Some(stripe) = &info.stripe {
                self.lustre
                    .setstripe(&tmp.join(&info.active), stripe)
                    .map_err(|source| lustre_err(&info.name, "lfs setstripe failed", source))?;
            }
            fill(&tmp)?;
            let state = tmp.join(info::INFO_FILE);
            fsutil::write_json_atomic(&state, info)
                .map_err(|e| VolumeError::io("could not write", &state, e))?;
            rename_new(&tmp, &target, &info.name)
        })
        .map_err(VolumeError::from)
    }

    pub(crate) fn refuse_existing(&self, name: &str) -> Result<(), VolumeError> {
        let dir = self.volume_dir(name);
        match fs::symlink_metadata(&dir) {
            Ok(_) => Err(VolumeError::Exists(name.into())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(VolumeError::io("could not check", &dir, e)),
        }
    }

    /// One volume with its disk usage.
    pub fn get(&self, name: &str) -> Result<Volume, VolumeError> {
        let info = self.info(name)?;
        let path = self.volume_dir(name);
        let (allocated, apparent) = usage(&path, &info);
        Ok(Volume {
            info,
            path,
            allocated,
            apparent,
        })
    }

    /// One volume with qemu-img's view of its active layer.
    pub fn show(&self, name: &str) -> Result<VolumeDetail, VolumeError> {
        let volume = self.get(name)?;
        let image = self
            .qemu
            .info(&volume.path.join(&volume.info.active))
            .map_err(|source| qemu_err(name, "qemu-img info failed", source))?;
        Ok(VolumeDetail { volume, image })
    }

    /// Every volume, sorted by name. Directories that do not read as volumes (and leftovers
    /// of interrupted operations) are reported in `problems`.
    pub fn list(&self) -> Result<Listing, VolumeError> {
        let mut listing = Listing::default();
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(listing),
            Err(e) => return Err(VolumeError::io("could not list", &self.dir, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| VolumeError::io("could not list", &self.dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(".new-") || name.starts_with(".del-") {
                listing
                    .problems
                    .push(format!("{name}: left by an interrupted operation"));
                continue;
            }
            match self.get(&name) {
                Ok(v) => listing.volumes.push(v),
                Err(e) => listing.problems.push(format!("{name}: {}", chain(&e))),
            }
        }
        listing
            .volumes
            .sort_by(|a, b| a.info.name.cmp(&b.info.name));
        Ok(listing)
    }

    /// Deletes a volume. Refused while attached; refused with snapshots unless `force`
    /// (which deletes them too).
    pub fn delete(&self, name: &str, force: bool) -> Result<(), VolumeError> {
        let locked = self.lock(name)?;
        refuse_attached(&locked.info, "delete")?;
        if !locked.info.snapshots.is_empty() && !force {
            return Err(VolumeError::HasSnapshots {
                volume: name.into(),
                snapshots: locked.info.snapshot_names(),
            });
        }
        // The rename makes the volume disappear at once; the removal may then take a while.
        let doomed = self.dir.join(format!(
            ".del-{name}-{}-{}",
            std::process::id(),
            fsutil::now_unix()
        ));
        fs::rename(&locked.dir, &doomed)
            .map_err(|e| VolumeError::io("could not move away", &locked.dir, e))?;
        drop(locked);
        fs::remove_dir_all(&doomed).map_err(|e| VolumeError::io("could not remove", &doomed, e))
    }
}

/// Renames the finished hidden directory to its name, never replacing an existing one.
fn rename_new(tmp: &Path, target: &Path, name: &str) -> Result<(), VolumeError> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    match renameat_with(CWD, tmp, CWD, target, RenameFlags::NOREPLACE) {
        Ok(()) => Ok(()),
        Err(e) if e == rustix::io::Errno::EXIST => Err(VolumeError::Exists(name.into())),
        // Filesystems without RENAME_NOREPLACE: checked just before, so a plain rename.
        Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => {
            if target.exists() {
                return Err(VolumeError::Exists(name.into()));
            }
            fs::rename(tmp, target)
                .map_err(|e| VolumeError::io("could not rename into place", target, e))
        }
        Err(e) => Err(VolumeError::io(
            "could not rename into place",
            target,
            e.into(),
        )),
    }
}

/// Allocated and apparent bytes of the images of a volume.
fn usage(dir: &Path, info: &VolumeInfo) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt as _;
    let mut allocated = 0u64;
    let mut apparent = 0u64;
    for image in &info.chain {
        if let Ok(m) = fs::metadata(dir.join(image)) {
            allocated = allocated.saturating_add(m.blocks().saturating_mul(512));
            apparent = apparent.saturating_add(m.len());
        }
    }
    (allocated, apparent)
}

pub(crate) fn refuse_attached(info: &VolumeInfo, action: &'static str) -> Result<(), VolumeError> {
    match &info.attached_to {
        Some(to) => Err(VolumeError::Attached {
            volume: info.name.clone(),
            to: to.clone(),
            action,
        }),
        None => Ok(()),
    }
}

pub(crate) fn qemu_err(
    volume: &str,
    action: &'static str,
    source: crate::qemu::QemuError,
) -> VolumeError {
    VolumeError::Qemu {
        volume: volume.into(),
        action,
        source,
    }
}

pub(crate) fn lustre_err(
    volume: &str,
    action: &'static str,
    source: crate::lustre::LustreError,
) -> VolumeError {
    VolumeError::Lustre {
        volume: volume.into(),
        action,
        source,
    }
}

fn state_error(volume: &str, path: &Path, reason: String) -> VolumeError {
    VolumeError::State {
        volume: volume.into(),
        path: path.display().to_string(),
        reason,
    }
}

/// An error and its sources on one line.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
