// SPDX-License-Identifier: Apache-2.0
//! Changes to an existing volume: snapshot, revert, snapshot delete, extend, attachment.
//! Each takes the volume's lock, changes files, and writes `info.json` last; if that write
//! fails, what the step made is undone.

use super::{qemu_err, refuse_attached, SnapshotInfo, VolumeError, Volumes};
use crate::undo::{self, transaction};

impl Volumes {
    /// Snapshots a volume: the active layer is frozen as the snapshot's image and a new
    /// qcow2 overlay on it (relative backing name) becomes the active layer. Refused while
    /// attached (a running guest's disk is snapshotted through the hypervisor).
    pub fn snapshot(&self, name: &str, snapshot: &str) -> Result<SnapshotInfo, VolumeError> {
        crate::name::validate("snapshot", snapshot)?;
        let locked = self.lock(name)?;
        let mut info = locked.info.clone();
        refuse_attached(&info, "snapshot")?;
        if info.snapshot(snapshot).is_some() {
            return Err(VolumeError::SnapshotExists {
                volume: name.into(),
                snapshot: snapshot.into(),
            });
        }
        let frozen = info.active.clone();
        let layer = info.take_layer();
        let layer_path = locked.dir.join(&layer);
        let record = SnapshotInfo {
            name: snapshot.into(),
            image: frozen.clone(),
            size: info.size,
            created: crate::fsutil::now_unix(),
        };
        info.snapshots.push(record.clone());
        info.chain.push(layer.clone());
        info.active = layer;
        transaction(|rb| {
            self.qemu
                .overlay(
                    &layer_path,
                    &frozen,
                    locked.info.image_format(&frozen),
                    info.size,
                )
                .map_err(|source| {
                    qemu_err(name, "qemu-img create of the overlay failed", source)
                })?;
            rb.push(layer_path.display().to_string(), || {
                undo::remove_path(&layer_path)
            });
            self.save(&locked, &info)
        })?;
        Ok(record)
    }

    /// Reverts a volume to a snapshot: a fresh overlay on the snapshot's image becomes the
    /// active layer (at the volume's current size) and the layers above it are discarded.
    /// Newer snapshots would be lost, so they must be named for discarding: refused unless
    /// `discard_newer`.
    pub fn revert(
        &self,
        name: &str,
        snapshot: &str,
        discard_newer: bool,
    ) -> Result<(), VolumeError> {
        crate::name::validate("snapshot", snapshot)?;
        let locked = self.lock(name)?;
        let mut info = locked.info.clone();
        refuse_attached(&info, "revert")?;
        let index = snapshot_index(&info, snapshot)?;
        let newer: Vec<String> = info.snapshots[index + 1..]
            .iter()
            .map(|s| s.name.clone())
            .collect();
        if !newer.is_empty() && !discard_newer {
            return Err(VolumeError::NewerSnapshots {
                volume: name.into(),
                snapshot: snapshot.into(),
                newer,
            });
        }
        let image = info.snapshots[index].image.clone();
        let position = chain_position(&info, &image)?;
        let layer = info.take_layer();
        let layer_path = locked.dir.join(&layer);
        info.snapshots.truncate(index + 1);
        info.chain.truncate(position + 1);
        info.chain.push(layer.clone());
        info.active = layer;
        transaction(|rb| {
            self.qemu
                .overlay(
                    &layer_path,
                    &image,
                    locked.info.image_format(&image),
                    info.size,
                )
                .map_err(|source| {
                    qemu_err(name, "qemu-img create of the overlay failed", source)
                })?;
            rb.push(layer_path.display().to_string(), || {
                undo::remove_path(&layer_path)
            });
            self.save(&locked, &info)
        })
        .map_err(VolumeError::from)
    }

    /// Deletes a snapshot. Its image stays in the chain if it is the base; otherwise the layer
    /// above is rebased (qemu-img safe mode: content unchanged) onto the one below and the
    /// image removed. Refused while attached.
    pub fn delete_snapshot(&self, name: &str, snapshot: &str) -> Result<(), VolumeError> {
        crate::name::validate("snapshot", snapshot)?;
        let locked = self.lock(name)?;
        let mut info = locked.info.clone();
        refuse_attached(&info, "snapshot delete")?;
        let index = snapshot_index(&info, snapshot)?;
        let image = info.snapshots.remove(index).image;
        let position = chain_position(&info, &image)?;
        if position > 0 {
            let above = locked.dir.join(&info.chain[position + 1]);
            let below = info.chain[position - 1].clone();
            // A rebase that fails half-way has only copied clusters the chain already shows.
            self.qemu
                .rebase(&above, &below, info.image_format(&below))
                .map_err(|source| qemu_err(name, "qemu-img rebase failed", source))?;
            info.chain.remove(position);
        }
        self.save(&locked, &info)
    }

    /// Grows a volume to `size` bytes (`qemu-img resize` of the active layer). Refused while
    /// attached and when not larger; counted against over-subscription.
    pub fn extend(&self, name: &str, size: u64) -> Result<(), VolumeError> {
        let locked = self.lock(name)?;
        let mut info = locked.info.clone();
        refuse_attached(&info, "extend")?;
        if size <= info.size {
            return Err(VolumeError::NotLarger {
                volume: name.into(),
                current: info.size,
                requested: size,
            });
        }
        self.check_capacity(size - info.size)?;
        let old = info.size;
        let active = locked.dir.join(&info.active);
        let format = info.image_format(&info.active);
        info.size = size;
        transaction(|rb| {
            self.qemu
                .resize(&active, format, size, false)
                .map_err(|source| qemu_err(name, "qemu-img resize failed", source))?;
            rb.push(
                format!("{} grown to {size} bytes", active.display()),
                || {
                    self.qemu
                        .resize(&active, format, old, true)
                        .map_err(|e| super::chain(&e))
                },
            );
            self.save(&locked, &info)
        })
        .map_err(VolumeError::from)
    }

    /// Records what the volume is attached to (`None`: detached). For the attach/detach code
    /// that owns the hypervisor side; extend, revert, snapshot and delete honour it.
    pub fn set_attached(&self, name: &str, to: Option<&str>) -> Result<(), VolumeError> {
        let locked = self.lock(name)?;
        let mut info = locked.info.clone();
        info.attached_to = to.map(str::to_string);
        self.save(&locked, &info)
    }
}

fn snapshot_index(info: &super::VolumeInfo, snapshot: &str) -> Result<usize, VolumeError> {
    info.snapshots
        .iter()
        .position(|s| s.name == snapshot)
        .ok_or_else(|| VolumeError::SnapshotNotFound {
            volume: info.name.clone(),
            snapshot: snapshot.into(),
        })
}

fn chain_position(info: &super::VolumeInfo, image: &str) -> Result<usize, VolumeError> {
    info.chain
        .iter()
        .position(|c| c == image)
        .ok_or_else(|| VolumeError::State {
            volume: info.name.clone(),
            path: super::info::INFO_FILE.into(),
            reason: format!("snapshot image {image:?} is not in the chain"),
        })
}
