// SPDX-License-Identifier: Apache-2.0
//! A volume's state file, `info.json`, beside its images in the volume's directory:
//!
//! ```text
//! volumes/<name>/base.qcow2      the first image (raw or qcow2)
//! volumes/<name>/layer-1.qcow2   overlays, each backed by the one below (relative names)
//! volumes/<name>/info.json       this file: the chain, the active layer, snapshots, attachment
//! volumes/<name>/.lock           flock while an operation changes the volume
//! ```
//!
//! A snapshot is a frozen image of the chain; the active layer (top of the chain) is the only
//! one written. Files in the directory that the chain does not name are leftovers of an
//! operation that died, and are removed by the next change to the volume.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::lustre::Stripe;
use crate::qemu::Format;

pub const INFO_FILE: &str = "info.json";
pub const LOCK_FILE: &str = ".lock";
pub const VERSION: u32 = 1;

/// One snapshot: the image that holds its content and the volume size when it was taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotInfo {
    pub name: String,
    /// File name (in the volume directory) of the frozen image.
    pub image: String,
    pub size: u64,
    /// Seconds since the Unix epoch.
    pub created: u64,
}

/// The content of `info.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeInfo {
    pub version: u32,
    pub name: String,
    /// Format of the base image; overlays are always qcow2.
    pub format: Format,
    /// Virtual size in bytes.
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stripe: Option<Stripe>,
    /// The layer the volume is read and written through (the last of `chain`).
    pub active: String,
    /// Image files from the base up to the active layer.
    pub chain: Vec<String>,
    /// Snapshots, oldest first.
    #[serde(default)]
    pub snapshots: Vec<SnapshotInfo>,
    /// What the volume is attached to (a libvirt domain), if anything. Set by attach (and by
    /// an NBD export, which an attachment through a client node rests on); extend, revert,
    /// snapshot and delete honour it.
    #[serde(default)]
    pub attached_to: Option<String>,
    /// The NBD server serving the volume, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export: Option<super::export::NbdExport>,
    /// Where the content came from (`clone of NAME`, `snapshot NAME@SNAP`), if not empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub created: u64,
    /// Number for the next overlay file (`layer-N.qcow2`).
    pub next_layer: u32,
}

impl VolumeInfo {
    pub fn new(name: &str, format: Format, size: u64, stripe: Option<Stripe>) -> Self {
        let base = base_file(format);
        Self {
            version: VERSION,
            name: name.into(),
            format,
            size,
            stripe,
            active: base.clone(),
            chain: vec![base],
            snapshots: Vec::new(),
            attached_to: None,
            export: None,
            source: None,
            created: crate::fsutil::now_unix(),
            next_layer: 1,
        }
    }

    /// Problems that make the file unusable (a hand edit, a bug): each an explanation.
    pub fn check(&self, dir_name: &str) -> Result<(), String> {
        if self.version != VERSION {
            return Err(format!("version {} is not {VERSION}", self.version));
        }
        if self.name != dir_name {
            return Err(format!(
                "names volume {:?} but lives in {dir_name:?}",
                self.name
            ));
        }
        if self.chain.last() != Some(&self.active) {
            return Err(format!(
                "active layer {:?} is not the top of the chain",
                self.active
            ));
        }
        let frozen = &self.chain[..self.chain.len() - 1];
        if let Some(s) = self.snapshots.iter().find(|s| !frozen.contains(&s.image)) {
            return Err(format!(
                "snapshot {:?} names {:?}, not a frozen layer",
                s.name, s.image
            ));
        }
        if self
            .chain
            .iter()
            .any(|f| f.contains('/') || f.starts_with('.'))
        {
            return Err("a chain entry is not a plain file name".into());
        }
        Ok(())
    }

    /// The format of an image of the chain (the base has the volume's; overlays are qcow2).
    pub fn image_format(&self, image: &str) -> Format {
        if self.chain.first().map(String::as_str) == Some(image) {
            self.format
        } else {
            Format::Qcow2
        }
    }

    pub fn snapshot(&self, name: &str) -> Option<&SnapshotInfo> {
        self.snapshots.iter().find(|s| s.name == name)
    }

    /// Takes the next overlay file name.
    pub fn take_layer(&mut self) -> String {
        let layer = format!("layer-{}.qcow2", self.next_layer);
        self.next_layer += 1;
        layer
    }

    pub fn snapshot_names(&self) -> Vec<String> {
        self.snapshots.iter().map(|s| s.name.clone()).collect()
    }
}

/// The base image's file name for a format.
pub fn base_file(format: Format) -> String {
    format!("base.{format}")
}

/// Whether a file in a volume directory is an image lustrekit made (base or layer).
pub fn is_image_file(name: &str) -> bool {
    name.starts_with("base.") || (name.starts_with("layer-") && name.ends_with(".qcow2"))
}

/// Removes image files of `dir` the chain does not name (leftovers of an interrupted
/// operation or of discarded layers). Returns what could not be removed.
pub fn sweep(dir: &Path, info: &VolumeInfo) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut stuck = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_image_file(&name) && !info.chain.contains(&name) {
            if let Err(e) = std::fs::remove_file(entry.path()) {
                stuck.push(format!("{}: {e}", entry.path().display()));
            }
        }
    }
    stuck
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_catches_inconsistent_files() {
        let mut i = VolumeInfo::new("v", Format::Raw, 1 << 30, None);
        assert_eq!(i.check("v"), Ok(()));
        assert!(i.check("w").is_err());
        i.active = "layer-9.qcow2".into();
        assert!(i.check("v").expect_err("bad").contains("top of the chain"));
        let mut i = VolumeInfo::new("v", Format::Raw, 1 << 30, None);
        i.snapshots.push(SnapshotInfo {
            name: "s".into(),
            image: "base.raw".into(),
            size: 1,
            created: 0,
        });
        assert!(i
            .check("v")
            .expect_err("active is no snapshot")
            .contains("not a frozen layer"));
        assert_eq!(i.image_format("base.raw"), Format::Raw);
        assert_eq!(i.image_format("layer-1.qcow2"), Format::Qcow2);
    }
}
