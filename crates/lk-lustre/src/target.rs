//! Target naming: labels as Lustre registers them and the names lustrekit gives their storage.

use serde::Serialize;

/// What a target is: the management, a metadata or an object storage target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Mgt,
    Mdt,
    Ost,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Mgt => "mgt",
            Kind::Mdt => "mdt",
            Kind::Ost => "ost",
        }
    }
}

/// A target of filesystem `fsname`: kind and index (0 for the MGT).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct TargetName {
    pub fsname: String,
    pub kind: Kind,
    pub index: u16,
}

impl TargetName {
    pub fn new(fsname: &str, kind: Kind, index: u16) -> Self {
        TargetName {
            fsname: fsname.to_string(),
            kind,
            index,
        }
    }

    /// The label Lustre gives the target: `MGS`, `fs-MDT0000`, `fs-OST000a` (index in hex).
    pub fn label(&self) -> String {
        match self.kind {
            Kind::Mgt => "MGS".to_string(),
            Kind::Mdt => format!("{}-MDT{:04x}", self.fsname, self.index),
            Kind::Ost => format!("{}-OST{:04x}", self.fsname, self.index),
        }
    }

    /// Short lowercase name used for pools, mount points and disk serials, numbered like the
    /// facets of Lustre's test framework (1-based): `mgs`, `mdt1` (index 0), `ost11` (index 10).
    /// With ZFS this makes pools `fs-mdt1/mdt1`, the framework's own default names.
    pub fn short(&self) -> String {
        match self.kind {
            Kind::Mgt => "mgs".to_string(),
            Kind::Mdt => format!("mdt{}", u32::from(self.index) + 1),
            Kind::Ost => format!("ost{}", u32::from(self.index) + 1),
        }
    }

    /// The test framework's facet name: `mgs`, `mds1`, `ost1` (1-based).
    pub fn facet(&self) -> String {
        match self.kind {
            Kind::Mgt => "mgs".to_string(),
            Kind::Mdt => format!("mds{}", u32::from(self.index) + 1),
            Kind::Ost => format!("ost{}", u32::from(self.index) + 1),
        }
    }

    /// Disk serial, at most 20 characters (virtio-blk's limit); the disk shows up in the guest as
    /// `/dev/disk/by-id/virtio-<serial>`.
    pub fn serial(&self) -> String {
        format!("{}-{}", self.fsname, self.short())
    }

    /// Stable device path inside the guest.
    pub fn device(&self) -> String {
        format!("/dev/disk/by-id/virtio-{}", self.serial())
    }

    /// ZFS pool holding the target (one pool per target, so failover moves exactly one target).
    pub fn zpool(&self) -> String {
        format!("{}-{}", self.fsname, self.short())
    }

    /// ZFS dataset of the target inside its pool.
    pub fn zfs_dataset(&self) -> String {
        format!("{}/{}", self.zpool(), self.short())
    }

    /// Where the target is mounted on its server.
    pub fn mount_point(&self) -> String {
        format!("/lustre/{}/{}", self.fsname, self.short())
    }

    /// `mkfs.lustre --index` value; Lustre accepts decimal.
    pub fn index(&self) -> u16 {
        self.index
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_use_hex_indexes() {
        assert_eq!(TargetName::new("fs", Kind::Ost, 10).label(), "fs-OST000a");
        assert_eq!(TargetName::new("fs", Kind::Mdt, 0).label(), "fs-MDT0000");
        assert_eq!(TargetName::new("fs", Kind::Mgt, 0).label(), "MGS");
    }

    #[test]
    fn serial_fits_virtio_limit() {
        let t = TargetName::new("abcdefgh", Kind::Ost, 65535);
        assert!(t.serial().len() <= 20, "{}", t.serial());
        assert_eq!(t.device(), "/dev/disk/by-id/virtio-abcdefgh-ost65536");
    }
}
