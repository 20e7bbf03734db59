// SPDX-License-Identifier: Apache-2.0
//! New independent volumes from existing content: clone (the whole chain up to the active
//! layer) and create-from-snapshot (the chain up to the snapshot's image), both by
//! `qemu-img convert` into a new volume built like `create` builds one.

use super::{qemu_err, Volume, VolumeError, VolumeInfo, Volumes};
use crate::lustre::Stripe;
use crate::qemu::Format;

/// How the new volume differs from its source (each `None`: as the source).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CopyOptions {
    pub format: Option<Format>,
    /// A size larger than the source's grows the copy after converting.
    pub size: Option<u64>,
    pub stripe: Option<Stripe>,
}

impl Volumes {
    /// Copies volume `source` (as its active layer shows it now) into a new volume `name`.
    /// The copy of an attached volume is only crash-consistent.
    pub fn clone_volume(
        &self,
        source: &str,
        name: &str,
        opts: &CopyOptions,
    ) -> Result<Volume, VolumeError> {
        let src = self.info(source)?;
        let image = src.active.clone();
        let origin = format!("clone of {source}");
        self.copy_from(&src, &image, src.size, name, opts, origin)
    }

    /// Creates a new volume `name` with the content of snapshot `snapshot` of `source`.
    pub fn create_from_snapshot(
        &self,
        source: &str,
        snapshot: &str,
        name: &str,
        opts: &CopyOptions,
    ) -> Result<Volume, VolumeError> {
        crate::name::validate("snapshot", snapshot)?;
        let src = self.info(source)?;
        let snap = src
            .snapshot(snapshot)
            .ok_or_else(|| VolumeError::SnapshotNotFound {
                volume: source.into(),
                snapshot: snapshot.into(),
            })?;
        let origin = format!("snapshot {source}@{snapshot}");
        self.copy_from(&src, &snap.image.clone(), snap.size, name, opts, origin)
    }

    fn copy_from(
        &self,
        src: &VolumeInfo,
        image: &str,
        src_size: u64,
        name: &str,
        opts: &CopyOptions,
        origin: String,
    ) -> Result<Volume, VolumeError> {
        crate::name::validate("volume", name)?;
        let size = opts.size.unwrap_or(src_size);
        if size < src_size {
            return Err(VolumeError::NotLarger {
                volume: name.into(),
                current: src_size,
                requested: size,
            });
        }
        if let Some(s) = &opts.stripe {
            s.validate()
                .map_err(|source| super::lustre_err(name, "invalid striping", source))?;
        }
        self.refuse_existing(name)?;
        self.check_capacity(size)?;
        let format = opts.format.unwrap_or(src.format);
        let mut info = VolumeInfo::new(name, format, size, opts.stripe.or(src.stripe));
        info.source = Some(origin);
        let src_path = self.dir().join(&src.name).join(image);
        let src_format = src.image_format(image);
        self.build(&info, |tmp| {
            let dst = tmp.join(&info.active);
            self.qemu
                .convert(&src_path, src_format.as_str(), &dst, format)
                .map_err(|source| qemu_err(name, "qemu-img convert failed", source))?;
            if size > src_size {
                self.qemu
                    .resize(&dst, format, size, false)
                    .map_err(|source| qemu_err(name, "qemu-img resize failed", source))?;
            }
            Ok(())
        })?;
        self.get(name)
    }
}
