// SPDX-License-Identifier: Apache-2.0
//! Manila-style shares: a share is a directory `ROOT/shares/<name>` with its own Lustre
//! project ID (inherited by everything created in it) and a project quota (block and inode
//! limits). Access is per NID range ([`access`]): clients are put in a nodemap whose fileset
//! is the share, one nodemap per share and level (read-write, read-only).
//!
//! Records live outside the shared directories, in `ROOT/shares/.lustrekit/<name>.json`
//! (written atomically); project IDs are claimed with exclusive files in
//! `ROOT/shares/.lustrekit/ids/`; changes to the registry hold `ROOT/shares/.lustrekit/lock`.

pub mod access;
pub mod error;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use access::{nodemap_name, AccessLevel, AccessRule};
pub use error::ShareError;

use crate::fsutil::{self, LockError};
use crate::lustre::{Backend, LustreOps, QuotaLimits, QuotaUsage};
use crate::undo::{self, transaction};

const STATE_DIR: &str = ".lustrekit";
const VERSION: u32 = 1;

/// Settings of a share store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShareConfig {
    /// The lowest project ID handed out.
    pub first_project_id: u32,
    /// Nodemap property `trusted`: client user IDs are used as they are.
    pub trusted: bool,
    /// Nodemap property `admin`: client root is not squashed.
    pub admin: bool,
}

impl Default for ShareConfig {
    fn default() -> Self {
        Self {
            first_project_id: 100_000,
            trusted: true,
            admin: false,
        }
    }
}

/// What to create: `size` bytes (block soft and hard limit) and optionally an inode limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareRequest {
    pub name: String,
    pub size: u64,
    pub inodes: Option<u64>,
}

/// A share's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareRecord {
    pub version: u32,
    pub name: String,
    pub project_id: u32,
    pub limits: QuotaLimits,
    #[serde(default)]
    pub access: Vec<AccessRule>,
    /// Nodemaps that exist for this share (a nodemap whose last range was denied but which
    /// could not be deleted stays listed until it is).
    #[serde(default)]
    pub nodemaps: Vec<String>,
    pub created: u64,
}

/// A share as `show` and `list` report it.
#[derive(Debug, Clone, Serialize)]
pub struct Share {
    #[serde(flatten)]
    pub record: ShareRecord,
    pub path: PathBuf,
    /// The nodemap fileset: the share's path from the filesystem root.
    pub fileset: String,
    pub usage: QuotaUsage,
    /// False on the directory stand-in: limits are recorded, not enforced.
    pub enforced: bool,
}

/// Shares under one directory (`ROOT/shares`).
pub struct Shares {
    dir: PathBuf,
    lustre: Arc<dyn LustreOps>,
    config: ShareConfig,
}

impl Shares {
    pub fn new(dir: impl Into<PathBuf>, lustre: Arc<dyn LustreOps>, config: ShareConfig) -> Self {
        Self {
            dir: dir.into(),
            lustre,
            config,
        }
    }

    fn state_dir(&self) -> PathBuf {
        self.dir.join(STATE_DIR)
    }

    fn record_path(&self, name: &str) -> PathBuf {
        self.state_dir().join(format!("{name}.json"))
    }

    fn id_path(&self, id: u32) -> PathBuf {
        self.state_dir().join("ids").join(id.to_string())
    }

    pub(crate) fn share_dir(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    pub(crate) fn lustre(&self) -> &dyn LustreOps {
        self.lustre.as_ref()
    }

    pub(crate) fn config(&self) -> ShareConfig {
        self.config
    }

    /// Takes the registry lock (creating the state directory on first use).
    pub(crate) fn lock(&self) -> Result<fsutil::Lock, ShareError> {
        let ids = self.state_dir().join("ids");
        fs::create_dir_all(&ids).map_err(|e| ShareError::io("could not create", &ids, e))?;
        fsutil::lock(&self.state_dir().join("lock")).map_err(|e| match e {
            LockError::Busy => ShareError::Busy,
            LockError::Io(e) => ShareError::io("could not lock", &self.state_dir(), e),
        })
    }

    /// A share's record (the name is validated first).
    pub fn record(&self, name: &str) -> Result<ShareRecord, ShareError> {
        crate::name::validate("share", name)?;
        let path = self.record_path(name);
        let record: ShareRecord = match fsutil::read_json(&path) {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ShareError::NotFound(name.into()))
            }
            Err(e) => return Err(state_error(name, &path, e.to_string())),
        };
        if record.version != VERSION || record.name != name {
            return Err(state_error(
                name,
                &path,
                "version or name does not match".into(),
            ));
        }
        Ok(record)
    }

    pub(crate) fn save(&self, record: &ShareRecord) -> Result<(), ShareError> {
        let path = self.record_path(&record.name);
        fsutil::write_json_atomic(&path, record)
            .map_err(|e| ShareError::io("could not write", &path, e))
    }

    /// Every record, sorted by name.
    pub fn records(&self) -> Result<Vec<ShareRecord>, ShareError> {
        let dir = self.state_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(ShareError::io("could not list", &dir, e)),
        };
        let mut records = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| ShareError::io("could not list", &dir, e))?;
            let file = entry.file_name().to_string_lossy().into_owned();
            if let Some(name) = file.strip_suffix(".json").filter(|n| !n.starts_with('.')) {
                records.push(self.record(name)?);
            }
        }
        records.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(records)
    }

    /// Creates a share: directory, project ID, project quota, record. A failure at any step
    /// undoes the steps before it.
    pub fn create(&self, req: &ShareRequest) -> Result<Share, ShareError> {
        crate::name::validate("share", &req.name)?;
        if req.size == 0 {
            return Err(ShareError::ZeroSize);
        }
        let _lock = self.lock()?;
        let records = self.records()?;
        access::refuse_nodemap_collision(&req.name, &records)?;
        let name = req.name.as_str();
        let dir = self.share_dir(name);
        let limits = QuotaLimits {
            block_soft: req.size,
            block_hard: req.size,
            inode_soft: req.inodes.unwrap_or(0),
            inode_hard: req.inodes.unwrap_or(0),
        };
        transaction(|rb| {
            match fs::create_dir(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    return Err(ShareError::Exists(name.into()))
                }
                Err(e) => return Err(ShareError::io("could not create", &dir, e)),
            }
            rb.push(dir.display().to_string(), || undo::remove_path(&dir));
            let id = self.claim_project_id(name, &records)?;
            let id_path = self.id_path(id);
            rb.push(id_path.display().to_string(), move || {
                undo::remove_path(&id_path)
            });
            self.lustre
                .set_project(&dir, id)
                .map_err(ShareError::lustre(name, "lfs project failed"))?;
            rb.push(format!("project {id} on {}", dir.display()), || {
                self.lustre.clear_project(&dir).map_err(|e| e.to_string())
            });
            self.lustre
                .set_project_quota(id, &limits)
                .map_err(ShareError::lustre(name, "lfs setquota failed"))?;
            rb.push(format!("quota of project {id}"), move || {
                self.lustre
                    .set_project_quota(id, &QuotaLimits::default())
                    .map_err(|e| e.to_string())
            });
            self.save(&ShareRecord {
                version: VERSION,
                name: name.into(),
                project_id: id,
                limits,
                access: Vec::new(),
                nodemaps: Vec::new(),
                created: fsutil::now_unix(),
            })
        })?;
        self.show(name)
    }

    /// Claims the lowest free project ID at or above the configured first one. An ID that owns
    /// anything on the filesystem is not free either: another share root on the same
    /// filesystem (the CSI controller's beside an admin's) or the admin's own projects hold it,
    /// and sharing it would merge two quotas. Usage, not limits, says so (a share's directory
    /// is itself one inode of its project; a default project quota gives every ID limits).
    fn claim_project_id(&self, name: &str, records: &[ShareRecord]) -> Result<u32, ShareError> {
        let first = self.config.first_project_id;
        for id in first..u32::MAX {
            if records.iter().any(|r| r.project_id == id) {
                continue;
            }
            let quota = self
                .lustre
                .project_quota(id)
                .map_err(ShareError::lustre(name, "lfs quota failed"))?;
            if quota.usage != QuotaUsage::default() {
                continue;
            }
            let path = self.id_path(id);
            match fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(_) => return Ok(id),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(ShareError::io("could not claim project ID", &path, e)),
            }
        }
        Err(ShareError::NoProjectId(first))
    }

    fn view(&self, record: ShareRecord) -> Result<Share, ShareError> {
        let name = record.name.clone();
        let path = self.share_dir(&name);
        let quota = self
            .lustre
            .project_quota(record.project_id)
            .map_err(ShareError::lustre(
                &name,
                "reading the project quota failed",
            ))?;
        let fileset = self
            .lustre
            .fileset_of(&path)
            .map_err(ShareError::lustre(&name, "finding the fileset failed"))?;
        Ok(Share {
            record,
            path,
            fileset,
            usage: quota.usage,
            enforced: self.lustre.backend() == Backend::Lustre,
        })
    }

    /// One share with its usage.
    pub fn show(&self, name: &str) -> Result<Share, ShareError> {
        let record = self.record(name)?;
        self.view(record)
    }

    /// Every share with its usage, sorted by name.
    pub fn list(&self) -> Result<Vec<Share>, ShareError> {
        self.records()?.into_iter().map(|r| self.view(r)).collect()
    }

    /// Changes the limits: `size` bytes and, if given, `inodes`. Lowering below what the share
    /// uses now is refused.
    pub fn resize(&self, name: &str, size: u64, inodes: Option<u64>) -> Result<Share, ShareError> {
        if size == 0 {
            return Err(ShareError::ZeroSize);
        }
        let _lock = self.lock()?;
        let mut record = self.record(name)?;
        let used = self
            .lustre
            .project_quota(record.project_id)
            .map_err(ShareError::lustre(name, "reading the project quota failed"))?
            .usage;
        refuse_below(name, "bytes", used.bytes, size)?;
        let old = record.limits;
        record.limits.block_soft = size;
        record.limits.block_hard = size;
        if let Some(n) = inodes {
            refuse_below(name, "inodes", used.inodes, n)?;
            record.limits.inode_soft = n;
            record.limits.inode_hard = n;
        }
        let id = record.project_id;
        transaction(|rb| {
            self.lustre
                .set_project_quota(id, &record.limits)
                .map_err(ShareError::lustre(name, "lfs setquota failed"))?;
            rb.push(format!("new quota of project {id}"), || {
                self.lustre
                    .set_project_quota(id, &old)
                    .map_err(|e| e.to_string())
            });
            self.save(&record)
        })?;
        self.view(record)
    }

    /// Deletes a share and everything in it. Refused while access rules exist unless `force`
    /// (which denies them first). Steps are idempotent and the record goes last, so a delete
    /// that fails half-way can be run again.
    pub fn delete(&self, name: &str, force: bool) -> Result<(), ShareError> {
        let _lock = self.lock()?;
        let mut record = self.record(name)?;
        if !record.access.is_empty() && !force {
            return Err(ShareError::HasAccess {
                share: name.into(),
                ranges: record.access.iter().map(|r| r.range.to_string()).collect(),
            });
        }
        self.remove_access(&mut record)?;
        let id = record.project_id;
        let dir = self.share_dir(name);
        undo::remove_path(&dir)
            .map_err(|e| ShareError::io("could not remove", &dir, std::io::Error::other(e)))?;
        self.lustre
            .set_project_quota(id, &QuotaLimits::default())
            .map_err(ShareError::lustre(
                name,
                "clearing the project quota failed",
            ))?;
        let id_path = self.id_path(id);
        undo::remove_path(&id_path)
            .map_err(|e| ShareError::io("could not release", &id_path, std::io::Error::other(e)))?;
        let path = self.record_path(name);
        fs::remove_file(&path).map_err(|e| ShareError::io("could not remove", &path, e))
    }
}

fn refuse_below(share: &str, what: &'static str, used: u64, limit: u64) -> Result<(), ShareError> {
    if limit != 0 && limit < used {
        return Err(ShareError::BelowUsage {
            share: share.into(),
            what,
            used,
            limit,
        });
    }
    Ok(())
}

fn state_error(share: &str, path: &Path, reason: String) -> ShareError {
    ShareError::State {
        share: share.into(),
        path: path.display().to_string(),
        reason,
    }
}
