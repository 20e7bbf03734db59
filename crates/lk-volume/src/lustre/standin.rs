// SPDX-License-Identifier: Apache-2.0
//! [`LustreOps`] on a plain directory standing in for a Lustre mount (tests, laptops, CI).
//!
//! Everything is recorded in one JSON file (written atomically under a lock): stripes per
//! file, project IDs per directory, quota limits per project, nodemaps with their ranges,
//! fileset and properties. Usage of a project is measured by walking its directories.
//! Nothing is enforced — a plain directory has no project quota and no nodemaps — so a write
//! beyond a quota succeeds here; `share show` reports usage against limits all the same.
//! Mistakes `lctl` would refuse (a nodemap made twice, a range in two nodemaps, a range
//! removed that is not there) are refused the same way.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{fileset_under, Backend, LustreError, LustreOps, NidRange, NodemapProperty};
use super::{ProjectQuota, QuotaLimits, QuotaUsage, Stripe};
use crate::fsutil::{self, LockError};

/// One recorded nodemap.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StandInNodemap {
    pub ranges: Vec<NidRange>,
    pub fileset: Option<String>,
    pub fileset_readonly: bool,
    pub properties: BTreeMap<String, String>,
}

/// Everything the stand-in records (the JSON file's content).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StandInState {
    /// Striping by path relative to the root.
    #[serde(default)]
    pub stripes: BTreeMap<String, Stripe>,
    /// Project ID by directory relative to the root.
    #[serde(default)]
    pub projects: BTreeMap<String, u32>,
    #[serde(default)]
    pub quotas: BTreeMap<u32, QuotaLimits>,
    #[serde(default)]
    pub nodemaps: BTreeMap<String, StandInNodemap>,
    #[serde(default)]
    pub nodemap_active: bool,
}

pub struct StandInLustre {
    root: PathBuf,
    state: PathBuf,
}

impl StandInLustre {
    /// `root` plays the mount point; `state` is the JSON file (its directory must exist).
    pub fn new(root: impl Into<PathBuf>, state: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            state: state.into(),
        }
    }

    fn err(&self, source: std::io::Error) -> LustreError {
        LustreError::StandIn {
            path: self.state.display().to_string(),
            source,
        }
    }

    /// The recorded state (empty when nothing was recorded yet).
    pub fn state(&self) -> Result<StandInState, LustreError> {
        match fsutil::read_json(&self.state) {
            Ok(s) => Ok(s),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(StandInState::default()),
            Err(e) => Err(self.err(e)),
        }
    }

    fn update<T>(
        &self,
        f: impl FnOnce(&mut StandInState) -> Result<T, LustreError>,
    ) -> Result<T, LustreError> {
        let lock_path = self.state.with_extension("lock");
        let _lock = fsutil::lock(&lock_path).map_err(|e| match e {
            LockError::Busy => LustreError::StandInBusy {
                path: self.state.display().to_string(),
            },
            LockError::Io(e) => self.err(e),
        })?;
        let mut state = self.state()?;
        // Directories and files removed since they were recorded are forgotten.
        state.stripes.retain(|p, _| self.root.join(p).exists());
        state.projects.retain(|p, _| self.root.join(p).is_dir());
        let value = f(&mut state)?;
        fsutil::write_json_atomic(&self.state, &state).map_err(|e| self.err(e))?;
        Ok(value)
    }

    fn rel(&self, path: &Path) -> Result<String, LustreError> {
        let fileset = fileset_under(&self.root, "", path)?;
        Ok(fileset.trim_start_matches('/').to_string())
    }

    fn nodemap<'a>(
        state: &'a mut StandInState,
        name: &str,
    ) -> Result<&'a mut StandInNodemap, LustreError> {
        state
            .nodemaps
            .get_mut(name)
            .ok_or_else(|| LustreError::NodemapMissing(name.into()))
    }
}

impl LustreOps for StandInLustre {
    fn backend(&self) -> Backend {
        Backend::StandIn
    }

    fn setstripe(&self, path: &Path, stripe: &Stripe) -> Result<(), LustreError> {
        stripe.validate()?;
        let rel = self.rel(path)?;
        // Like `lfs setstripe`: the file is created empty, and refused if it exists.
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| {
                self.err(std::io::Error::new(
                    e.kind(),
                    format!("{}: {e}", path.display()),
                ))
            })?;
        self.update(|s| {
            s.stripes.insert(rel, *stripe);
            Ok(())
        })
    }

    fn set_project(&self, dir: &Path, id: u32) -> Result<(), LustreError> {
        if !dir.is_dir() {
            return Err(self.err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{} is not a directory", dir.display()),
            )));
        }
        let rel = self.rel(dir)?;
        self.update(|s| {
            s.projects.insert(rel, id);
            Ok(())
        })
    }

    fn clear_project(&self, dir: &Path) -> Result<(), LustreError> {
        let rel = self.rel(dir)?;
        self.update(|s| {
            s.projects.remove(&rel);
            Ok(())
        })
    }

    fn set_project_quota(&self, id: u32, limits: &QuotaLimits) -> Result<(), LustreError> {
        self.update(|s| {
            if *limits == QuotaLimits::default() {
                s.quotas.remove(&id);
            } else {
                s.quotas.insert(id, *limits);
            }
            Ok(())
        })
    }

    fn project_quota(&self, id: u32) -> Result<ProjectQuota, LustreError> {
        let state = self.state()?;
        let mut usage = QuotaUsage::default();
        for (dir, _) in state.projects.iter().filter(|(_, p)| **p == id) {
            let u = fsutil::tree_usage(&self.root.join(dir)).map_err(|e| self.err(e))?;
            usage.bytes = usage.bytes.saturating_add(u.bytes);
            usage.inodes = usage.inodes.saturating_add(u.inodes);
        }
        Ok(ProjectQuota {
            usage,
            limits: state.quotas.get(&id).copied().unwrap_or_default(),
        })
    }

    fn fileset_of(&self, dir: &Path) -> Result<String, LustreError> {
        fileset_under(&self.root, "", dir)
    }

    fn nodemap_add(&self, name: &str) -> Result<(), LustreError> {
        self.update(|s| {
            if s.nodemaps.contains_key(name) {
                return Err(LustreError::NodemapExists(name.into()));
            }
            s.nodemaps.insert(name.into(), StandInNodemap::default());
            Ok(())
        })
    }

    fn nodemap_add_range(&self, name: &str, range: &NidRange) -> Result<(), LustreError> {
        self.update(|s| {
            if let Some((other, _)) = s.nodemaps.iter().find(|(_, n)| n.ranges.contains(range)) {
                return Err(LustreError::RangeTaken {
                    range: range.to_string(),
                    nodemap: other.clone(),
                });
            }
            Self::nodemap(s, name)?.ranges.push(range.clone());
            Ok(())
        })
    }

    fn nodemap_set_fileset(
        &self,
        name: &str,
        fileset: &str,
        readonly: bool,
    ) -> Result<(), LustreError> {
        self.update(|s| {
            let n = Self::nodemap(s, name)?;
            n.fileset = Some(fileset.into());
            n.fileset_readonly = readonly;
            Ok(())
        })
    }

    fn nodemap_modify(&self, name: &str, property: NodemapProperty) -> Result<(), LustreError> {
        self.update(|s| {
            let (prop, value) = property.name_value();
            Self::nodemap(s, name)?
                .properties
                .insert(prop.into(), value.into());
            Ok(())
        })
    }

    fn nodemap_del_range(&self, name: &str, range: &NidRange) -> Result<(), LustreError> {
        self.update(|s| {
            let n = Self::nodemap(s, name)?;
            let before = n.ranges.len();
            n.ranges.retain(|r| r != range);
            if n.ranges.len() == before {
                return Err(LustreError::RangeMissing {
                    range: range.to_string(),
                    nodemap: name.into(),
                });
            }
            Ok(())
        })
    }

    fn nodemap_del(&self, name: &str) -> Result<(), LustreError> {
        self.update(|s| {
            s.nodemaps
                .remove(name)
                .map(drop)
                .ok_or_else(|| LustreError::NodemapMissing(name.into()))
        })
    }

    fn nodemap_activate(&self, on: bool) -> Result<(), LustreError> {
        self.update(|s| {
            s.nodemap_active = on;
            Ok(())
        })
    }
}
