// SPDX-License-Identifier: Apache-2.0
//! The filesystems the controller makes shares on: the default one (`--root`/`--fs`) and
//! named clusters (`--share-root NAME=DIR` with `--cluster NAME=NIDS:/FSNAME`). Each has
//! its own share store, so project IDs, quotas and capacity are per filesystem.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use lk_volume::shares::{Share, Shares};

use crate::proto::Volume;
use crate::volume::{keys, Filesystem, ShareVolumeId};

/// One filesystem's share store.
pub struct ShareTarget {
    pub shares: Shares,
    /// The share directory (`ROOT/shares`), for statvfs.
    pub dir: PathBuf,
    /// The filesystem as nodes mount it.
    pub fs: Filesystem,
}

impl ShareTarget {
    pub fn new(shares: Shares, dir: PathBuf, fs: Filesystem) -> Self {
        Self { shares, dir, fs }
    }

    /// The CSI volume of a share on this filesystem.
    pub fn volume_of(&self, id: &ShareVolumeId, share: &Share) -> Volume {
        let fileset = share.fileset.trim_matches('/');
        let context = HashMap::from([(keys::SOURCE.to_string(), format!("{}/{fileset}", self.fs))]);
        Volume {
            capacity_bytes: share.record.limits.block_hard as i64,
            volume_id: id.to_string(),
            volume_context: context,
            ..Default::default()
        }
    }
}

/// The default filesystem and the named clusters.
#[derive(Clone)]
pub struct ShareTargets {
    default: Arc<ShareTarget>,
    named: Arc<BTreeMap<String, ShareTarget>>,
}

impl ShareTargets {
    pub fn new(default: ShareTarget, named: BTreeMap<String, ShareTarget>) -> Self {
        Self {
            default: Arc::new(default),
            named: Arc::new(named),
        }
    }

    /// The target a StorageClass parameter or volume ID names (`None`: the default), or
    /// `None` when no such cluster is served.
    pub fn get(&self, cluster: Option<&str>) -> Option<&ShareTarget> {
        match cluster {
            None => Some(&self.default),
            Some(name) => self.named.get(name),
        }
    }

    /// The named clusters, for messages ("known: a, b").
    pub fn known(&self) -> String {
        let names: Vec<&str> = self.named.keys().map(String::as_str).collect();
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        }
    }
}
