// SPDX-License-Identifier: Apache-2.0
//! Access to a share by NID range, through nodemaps: each share has up to two nodemaps, one
//! read-write and one read-only, each with the share as its fileset. `allow` creates the
//! level's nodemap on first use (fileset, `trusted`, `admin`, `readonly_mount`) and adds the
//! range; `deny` removes the range and, with the last one, the nodemap.
//!
//! Nodemaps restrict clients only while the nodemap feature is active on the filesystem
//! (`lctl nodemap_activate 1`), which also subjects every other client to the default
//! nodemap; lustrekit does not switch it on by itself (see docs/volumes.md).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{ShareError, ShareRecord, Shares};
use crate::lustre::{NidRange, NodemapProperty};
use crate::undo::transaction;

/// Read-write or read-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccessLevel {
    Rw,
    Ro,
}

impl fmt::Display for AccessLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Rw => "rw",
            Self::Ro => "ro",
        })
    }
}

impl std::str::FromStr for AccessLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "rw" => Ok(Self::Rw),
            "ro" => Ok(Self::Ro),
            other => Err(format!("unknown access level {other:?} (use rw or ro)")),
        }
    }
}

/// One client range allowed on a share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessRule {
    pub range: NidRange,
    pub level: AccessLevel,
    pub nodemap: String,
}

/// The nodemap of a share and level: `lk` + up to 5 letters/digits of the name + 8 hex
/// digits of its FNV-1a hash + `w` or `r`; at most 16 characters of `[A-Za-z0-9_]`, as
/// nodemap names must be.
pub fn nodemap_name(share: &str, level: AccessLevel) -> String {
    let mut name = nodemap_stem(share);
    name.push(match level {
        AccessLevel::Rw => 'w',
        AccessLevel::Ro => 'r',
    });
    name
}

fn nodemap_stem(share: &str) -> String {
    let readable: String = share
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(5)
        .collect();
    format!(
        "lk{readable}{:08x}",
        crate::fsutil::fnv1a32(share.as_bytes())
    )
}

/// Refuses a new share whose nodemap names another share already has.
pub(crate) fn refuse_nodemap_collision(
    name: &str,
    records: &[ShareRecord],
) -> Result<(), ShareError> {
    let stem = nodemap_stem(name);
    match records
        .iter()
        .find(|r| r.name != name && nodemap_stem(&r.name) == stem)
    {
        Some(other) => Err(ShareError::NodemapCollision {
            share: name.into(),
            other: other.name.clone(),
            nodemap: stem,
        }),
        None => Ok(()),
    }
}

impl Shares {
    /// Allows `range` on share `name` at `level`. Allowing what is already allowed at the
    /// same level changes nothing; at the other level it is refused.
    pub fn allow(
        &self,
        name: &str,
        range: &NidRange,
        level: AccessLevel,
    ) -> Result<AccessRule, ShareError> {
        let _lock = self.lock()?;
        let mut record = self.record(name)?;
        if let Some(rule) = record.access.iter().find(|r| &r.range == range) {
            if rule.level == level {
                return Ok(rule.clone());
            }
            return Err(ShareError::RuleExists {
                share: name.into(),
                range: range.to_string(),
                level: rule.level.to_string(),
            });
        }
        for other in self.records()? {
            if other.access.iter().any(|r| &r.range == range) {
                return Err(ShareError::RangeElsewhere {
                    range: range.to_string(),
                    other: other.name,
                });
            }
        }
        let nodemap = nodemap_name(name, level);
        let rule = AccessRule {
            range: range.clone(),
            level,
            nodemap: nodemap.clone(),
        };
        let lustre = self.lustre();
        transaction(|rb| {
            if !record.nodemaps.contains(&nodemap) {
                self.make_nodemap(name, &nodemap, level)?;
                rb.push(format!("nodemap {nodemap}"), || {
                    lustre.nodemap_del(&nodemap).map_err(|e| e.to_string())
                });
                record.nodemaps.push(nodemap.clone());
            }
            lustre
                .nodemap_add_range(&nodemap, range)
                .map_err(ShareError::lustre(name, "lctl nodemap_add_range failed"))?;
            rb.push(format!("range {range} in nodemap {nodemap}"), || {
                lustre
                    .nodemap_del_range(&nodemap, range)
                    .map_err(|e| e.to_string())
            });
            record.access.push(rule.clone());
            self.save(&record)
        })?;
        Ok(rule)
    }

    /// Creates and configures a level's nodemap; a failure after the creation deletes it.
    fn make_nodemap(
        &self,
        share: &str,
        nodemap: &str,
        level: AccessLevel,
    ) -> Result<(), ShareError> {
        let lustre = self.lustre();
        let fileset = lustre
            .fileset_of(&self.share_dir(share))
            .map_err(ShareError::lustre(share, "finding the fileset failed"))?;
        let readonly = level == AccessLevel::Ro;
        let config = self.config();
        transaction(|rb| {
            lustre
                .nodemap_add(nodemap)
                .map_err(ShareError::lustre(share, "lctl nodemap_new failed"))?;
            rb.push(format!("nodemap {nodemap}"), || {
                lustre.nodemap_del(nodemap).map_err(|e| e.to_string())
            });
            lustre
                .nodemap_set_fileset(nodemap, &fileset, readonly)
                .map_err(ShareError::lustre(share, "lctl nodemap_fileset_add failed"))?;
            for property in [
                NodemapProperty::Trusted(config.trusted),
                NodemapProperty::Admin(config.admin),
                NodemapProperty::ReadonlyMount(readonly),
            ] {
                lustre
                    .nodemap_modify(nodemap, property)
                    .map_err(ShareError::lustre(share, "lctl nodemap_modify failed"))?;
            }
            Ok(())
        })
        .map_err(ShareError::from)
    }

    /// Removes `range` from share `name`; the level's nodemap goes with its last range.
    pub fn deny(&self, name: &str, range: &NidRange) -> Result<(), ShareError> {
        let _lock = self.lock()?;
        let mut record = self.record(name)?;
        self.deny_locked(&mut record, range)
    }

    fn deny_locked(&self, record: &mut ShareRecord, range: &NidRange) -> Result<(), ShareError> {
        let name = record.name.clone();
        let index = record
            .access
            .iter()
            .position(|r| &r.range == range)
            .ok_or_else(|| ShareError::NoSuchRule {
                share: name.clone(),
                range: range.to_string(),
            })?;
        let rule = record.access[index].clone();
        self.lustre()
            .nodemap_del_range(&rule.nodemap, range)
            .map_err(ShareError::lustre(&name, "lctl nodemap_del_range failed"))?;
        record.access.remove(index);
        self.save(record)?;
        self.drop_unused_nodemaps(record)
    }

    /// Deletes the share's nodemaps that no rule uses, recording each deletion.
    fn drop_unused_nodemaps(&self, record: &mut ShareRecord) -> Result<(), ShareError> {
        let unused: Vec<String> = record
            .nodemaps
            .iter()
            .filter(|n| !record.access.iter().any(|r| &r.nodemap == *n))
            .cloned()
            .collect();
        for nodemap in unused {
            self.lustre()
                .nodemap_del(&nodemap)
                .map_err(ShareError::lustre(&record.name, "lctl nodemap_del failed"))?;
            record.nodemaps.retain(|n| n != &nodemap);
            self.save(record)?;
        }
        Ok(())
    }

    /// Denies every rule and deletes every nodemap of a share (for delete with force).
    pub(crate) fn remove_access(&self, record: &mut ShareRecord) -> Result<(), ShareError> {
        while let Some(rule) = record.access.first().cloned() {
            self.deny_locked(record, &rule.range)?;
        }
        self.drop_unused_nodemaps(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodemap_names_are_short_valid_and_deterministic() {
        for share in ["a", "project-alpha-2024", "ü", &"x".repeat(128)] {
            for level in [AccessLevel::Rw, AccessLevel::Ro] {
                let n = nodemap_name(share, level);
                assert!(n.len() <= 16, "{n}");
                assert!(
                    n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
                    "{n}"
                );
                assert_eq!(n, nodemap_name(share, level));
            }
        }
        assert_eq!(
            nodemap_name("project-alpha", AccessLevel::Rw),
            nodemap_name("project-alpha", AccessLevel::Rw)
        );
        assert_ne!(
            nodemap_name("a", AccessLevel::Rw),
            nodemap_name("a", AccessLevel::Ro)
        );
        assert_ne!(
            nodemap_name("a", AccessLevel::Rw),
            nodemap_name("b", AccessLevel::Rw)
        );
        assert!(nodemap_name("project-alpha", AccessLevel::Ro).starts_with("lkproje"));
    }
}
