// SPDX-License-Identifier: Apache-2.0
//! Capacity as Cinder's NFS-family drivers report it, and its scheduler's rule for thin
//! provisioning: a request fits when the provisioned ratio `(provisioned + requested) /
//! total` stays within `max_over_subscription_ratio` and `free × ratio` covers the request.

use serde::Serialize;

use super::{VolumeError, Volumes};
use crate::fsutil;

/// What `volume list` reports about the store (bytes; ratios as numbers).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Capacity {
    /// Size of the filesystem (statvfs `f_blocks × f_frsize`).
    pub total: u64,
    /// Available to an unprivileged writer (statvfs `f_bavail × f_frsize`).
    pub free: u64,
    /// Sum of the volumes' virtual sizes.
    pub provisioned: u64,
    /// Bytes the volumes' images take on disk.
    pub allocated: u64,
    /// Sum of the images' apparent sizes.
    pub apparent: u64,
    pub volumes: usize,
    pub snapshots: usize,
    /// `provisioned / total`.
    pub over_subscription_ratio: f64,
    pub max_over_subscription_ratio: f64,
    /// Always true: volumes are sparse or metadata-preallocated.
    pub thin_provisioning: bool,
}

impl Volumes {
    /// The capacity report of the store.
    pub fn capacity(&self) -> Result<Capacity, VolumeError> {
        let listing = self.list()?;
        let probe = if self.dir().exists() {
            self.dir().to_path_buf()
        } else {
            self.dir().parent().unwrap_or(self.dir()).to_path_buf()
        };
        let (total, free) =
            fsutil::space(&probe).map_err(|e| VolumeError::io("could not statvfs", &probe, e))?;
        let provisioned = listing.volumes.iter().map(|v| v.info.size).sum::<u64>();
        Ok(Capacity {
            total,
            free,
            provisioned,
            allocated: listing.volumes.iter().map(|v| v.allocated).sum(),
            apparent: listing.volumes.iter().map(|v| v.apparent).sum(),
            volumes: listing.volumes.len(),
            snapshots: listing.volumes.iter().map(|v| v.info.snapshots.len()).sum(),
            over_subscription_ratio: ratio(provisioned, total),
            max_over_subscription_ratio: self.config.max_over_subscription_ratio,
            thin_provisioning: true,
        })
    }

    /// Refuses `requested` more provisioned bytes beyond the over-subscription limit.
    pub fn check_capacity(&self, requested: u64) -> Result<(), VolumeError> {
        let cap = self.capacity()?;
        check(&cap, requested)
    }
}

/// The rule itself, pure.
pub fn check(cap: &Capacity, requested: u64) -> Result<(), VolumeError> {
    let max = cap.max_over_subscription_ratio;
    let provisioned = cap.provisioned.saturating_add(requested);
    let r = ratio(provisioned, cap.total);
    if r > max {
        return Err(VolumeError::Oversubscribed {
            requested,
            provisioned,
            total: cap.total,
            ratio: r,
            max,
        });
    }
    #[allow(clippy::cast_precision_loss)]
    let free_virtual = cap.free as f64 * max;
    #[allow(clippy::cast_precision_loss)]
    if free_virtual < requested as f64 {
        return Err(VolumeError::NoSpace {
            requested,
            free: cap.free,
            max,
        });
    }
    Ok(())
}

fn ratio(provisioned: u64, total: u64) -> f64 {
    if total == 0 {
        return f64::INFINITY;
    }
    #[allow(clippy::cast_precision_loss)]
    let r = provisioned as f64 / total as f64;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cap(total: u64, free: u64, provisioned: u64, max: f64) -> Capacity {
        Capacity {
            total,
            free,
            provisioned,
            allocated: 0,
            apparent: 0,
            volumes: 0,
            snapshots: 0,
            over_subscription_ratio: ratio(provisioned, total),
            max_over_subscription_ratio: max,
            thin_provisioning: true,
        }
    }

    #[test]
    fn cinder_rule() {
        assert!(check(&cap(100, 100, 0, 1.0), 100).is_ok());
        assert!(matches!(
            check(&cap(100, 100, 50, 1.0), 51),
            Err(VolumeError::Oversubscribed { .. })
        ));
        assert!(check(&cap(100, 100, 50, 2.0), 150).is_ok());
        assert!(matches!(
            check(&cap(100, 10, 0, 2.0), 21),
            Err(VolumeError::NoSpace { .. })
        ));
        assert!(matches!(
            check(&cap(0, 0, 0, 20.0), 1),
            Err(VolumeError::Oversubscribed { .. })
        ));
    }
}
