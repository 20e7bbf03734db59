// SPDX-License-Identifier: Apache-2.0
//! Pure checks of CSI requests: volume IDs, the volume context naming what to mount,
//! StorageClass parameters, capacity ranges and capabilities. Nothing here touches the
//! system; every refusal is a [`RequestError`] naming the field.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use thiserror::Error;

use crate::proto::volume_capability::access_mode::Mode;
use crate::proto::volume_capability::AccessType;
use crate::proto::{CapacityRange, VolumeCapability};

/// Volume context keys (PersistentVolume `volumeAttributes`, CreateVolume's answer).
pub mod keys {
    /// `NIDS:/FSNAME[/SUBDIR]`, as `mount -t lustre` takes it.
    pub const SOURCE: &str = "source";
    /// A LustreCluster the node knows (`--cluster NAME=NIDS:/FSNAME`); as a StorageClass
    /// parameter, the cluster the controller makes the share on (`--share-root NAME=DIR`).
    pub const CLUSTER: &str = "cluster";
    pub const MGS_NIDS: &str = "mgsNids";
    pub const FSNAME: &str = "fsname";
    pub const SUBDIR: &str = "subdir";
    /// StorageClass parameter: `delete` (default) or `retain`.
    pub const ON_DELETE: &str = "onDelete";
    /// StorageClass parameter: the share's inode limit.
    pub const INODES: &str = "inodes";
}

/// Why a request was refused before anything ran.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RequestError {
    #[error("{0} is required")]
    Missing(&'static str),
    #[error("volume ID {0:?} is not one this driver made (expected share:delete|retain:NAME or share:delete|retain:CLUSTER/NAME)")]
    ForeignVolumeId(String),
    #[error("volume context: {0}")]
    Source(#[from] SourceError),
    #[error("parameter {key}={value:?}: {reason}")]
    BadParameter {
        key: String,
        value: String,
        reason: &'static str,
    },
    #[error("unknown parameter {0:?} (known: cluster, onDelete, inodes)")]
    UnknownParameter(String),
    #[error("capacity range: limit_bytes {limit} is below required_bytes {required}")]
    CapacityRange { required: i64, limit: i64 },
    #[error("capacity range: negative bytes ({0})")]
    NegativeCapacity(i64),
    #[error("volume capability: {0}")]
    Capability(String),
    #[error("{0} is not supported by this driver")]
    Unsupported(&'static str),
}

/// Why a volume context does not name something mountable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SourceError {
    #[error("none of source, cluster, or mgsNids+fsname is set")]
    Nothing,
    #[error("source {0:?} is not NIDS:/FSNAME[/SUBDIR]")]
    Malformed(String),
    #[error("fsname {0:?} must be 1-8 of [A-Za-z0-9_-]")]
    FsName(String),
    #[error("MGS NIDs {0:?} are empty or contain whitespace")]
    Nids(String),
    #[error("subdirectory {0:?} must be a relative path without '..' or empty components")]
    Subdir(String),
    #[error("cluster {name:?} is not known to this node (known: {known})")]
    UnknownCluster { name: String, known: String },
}

/// What to delete on DeleteVolume, chosen by the StorageClass parameter `onDelete` and kept
/// in the volume ID (DeleteVolume gets nothing else).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDelete {
    Delete,
    Retain,
}

impl OnDelete {
    fn as_str(self) -> &'static str {
        match self {
            Self::Delete => "delete",
            Self::Retain => "retain",
        }
    }
}

/// The ID of a volume the controller made: a share of that name, on the default filesystem
/// (`share:MODE:NAME`, the only form before clusters could be named) or on a named cluster
/// (`share:MODE:CLUSTER/NAME`). Neither a cluster name nor a share name contains `/`, so the
/// first `/` separates them and old IDs keep their meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareVolumeId {
    pub share: String,
    pub on_delete: OnDelete,
    /// `None`: the default filesystem (`--root`/`--fs`).
    pub cluster: Option<String>,
}

impl ShareVolumeId {
    pub fn parse(id: &str) -> Result<Self, RequestError> {
        if id.is_empty() {
            return Err(RequestError::Missing("volume_id"));
        }
        let foreign = || RequestError::ForeignVolumeId(id.to_string());
        let rest = id.strip_prefix("share:").ok_or_else(foreign)?;
        let (mode, path) = rest.split_once(':').ok_or_else(foreign)?;
        let on_delete = match mode {
            "delete" => OnDelete::Delete,
            "retain" => OnDelete::Retain,
            _ => return Err(foreign()),
        };
        let (cluster, share) = match path.split_once('/') {
            Some((cluster, share)) => {
                check_cluster_name(cluster).map_err(|_| foreign())?;
                (Some(cluster.to_string()), share)
            }
            None => (None, path),
        };
        if share.is_empty() || share.contains('/') {
            return Err(foreign());
        }
        Ok(Self {
            share: share.to_string(),
            on_delete,
            cluster,
        })
    }
}

impl fmt::Display for ShareVolumeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "share:{}:", self.on_delete.as_str())?;
        if let Some(cluster) = &self.cluster {
            write!(f, "{cluster}/")?;
        }
        write!(f, "{}", self.share)
    }
}

/// Why a cluster name cannot be one the controller makes shares on.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("cluster name {0:?} must be 1-253 of [A-Za-z0-9._-] (it is part of volume IDs)")]
pub struct ClusterNameError(pub String);

/// A cluster name the controller makes shares on: non-empty, at most 253 characters (a
/// Kubernetes name), of `[A-Za-z0-9._-]`, so it never contains the `:` and `/` that
/// delimit a volume ID.
pub fn check_cluster_name(name: &str) -> Result<(), ClusterNameError> {
    let ok = (1..=253).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(ClusterNameError(name.to_string()))
    }
}

/// A Lustre filesystem as clients mount it: `NIDS:/FSNAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filesystem {
    pub nids: String,
    pub fsname: String,
}

impl Filesystem {
    pub fn new(nids: &str, fsname: &str) -> Result<Self, SourceError> {
        if nids.is_empty() || nids.chars().any(char::is_whitespace) {
            return Err(SourceError::Nids(nids.to_string()));
        }
        let fs_ok = (1..=8).contains(&fsname.len())
            && fsname
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !fs_ok {
            return Err(SourceError::FsName(fsname.to_string()));
        }
        Ok(Self {
            nids: nids.to_string(),
            fsname: fsname.to_string(),
        })
    }

    /// Parses `NIDS:/FSNAME` (what `--fs` and `--cluster NAME=` take).
    pub fn parse(text: &str) -> Result<Self, SourceError> {
        let source = Source::parse(text)?;
        if source.subdir.is_some() {
            return Err(SourceError::Malformed(text.to_string()));
        }
        Ok(source.fs)
    }
}

impl fmt::Display for Filesystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:/{}", self.nids, self.fsname)
    }
}

/// What a node mounts for a volume: a filesystem and optionally a subdirectory of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub fs: Filesystem,
    pub subdir: Option<String>,
}

impl Source {
    /// Parses `NIDS:/FSNAME[/SUBDIR]`. NIDs may contain ':' (several MGS nodes), so the
    /// split is at the last ":/".
    pub fn parse(text: &str) -> Result<Self, SourceError> {
        let (nids, path) = text
            .rsplit_once(":/")
            .ok_or_else(|| SourceError::Malformed(text.to_string()))?;
        let (fsname, subdir) = match path.split_once('/') {
            Some((fs, sub)) => (fs, Some(sub)),
            None => (path, None),
        };
        Ok(Self {
            fs: Filesystem::new(nids, fsname)?,
            subdir: subdir.map(check_subdir).transpose()?,
        })
    }

    /// The source a volume context names: `source`, or `cluster` (looked up in `clusters`),
    /// or `mgsNids` + `fsname`; plus `subdir` with the latter two.
    pub fn from_context(
        ctx: &HashMap<String, String>,
        clusters: &BTreeMap<String, Filesystem>,
    ) -> Result<Self, SourceError> {
        if let Some(text) = ctx.get(keys::SOURCE) {
            return Self::parse(text);
        }
        let fs = if let Some(name) = ctx.get(keys::CLUSTER) {
            clusters
                .get(name)
                .cloned()
                .ok_or_else(|| SourceError::UnknownCluster {
                    name: name.clone(),
                    known: clusters.keys().cloned().collect::<Vec<_>>().join(", "),
                })?
        } else {
            match (ctx.get(keys::MGS_NIDS), ctx.get(keys::FSNAME)) {
                (Some(nids), Some(fsname)) => Filesystem::new(nids, fsname)?,
                _ => return Err(SourceError::Nothing),
            }
        };
        let subdir = ctx.get(keys::SUBDIR).map(|s| check_subdir(s)).transpose()?;
        Ok(Self { fs, subdir })
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.subdir {
            Some(sub) => write!(f, "{}/{sub}", self.fs),
            None => write!(f, "{}", self.fs),
        }
    }
}

/// A subdirectory: relative, no `..`, `.` or empty components (a trailing `/` is dropped).
/// An empty string means the filesystem root.
fn check_subdir(sub: &str) -> Result<String, SourceError> {
    let trimmed = sub.trim_matches('/');
    let bad = trimmed
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == ".." || c.chars().any(char::is_control));
    if sub.starts_with('/') || (!trimmed.is_empty() && bad) {
        return Err(SourceError::Subdir(sub.to_string()));
    }
    Ok(trimmed.to_string())
}

/// StorageClass parameters of CreateVolume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateParams {
    pub on_delete: OnDelete,
    pub inodes: Option<u64>,
    /// The cluster to make the share on; `None` is the default filesystem.
    pub cluster: Option<String>,
}

impl CreateParams {
    /// Keys under `csi.storage.k8s.io/` are the provisioner's own and are ignored.
    pub fn parse(params: &HashMap<String, String>) -> Result<Self, RequestError> {
        let mut out = Self {
            on_delete: OnDelete::Delete,
            inodes: None,
            cluster: None,
        };
        for (key, value) in params {
            let bad = |reason| RequestError::BadParameter {
                key: key.clone(),
                value: value.clone(),
                reason,
            };
            match key.as_str() {
                keys::ON_DELETE => {
                    out.on_delete = match value.as_str() {
                        "delete" => OnDelete::Delete,
                        "retain" => OnDelete::Retain,
                        _ => return Err(bad("must be delete or retain")),
                    }
                }
                keys::INODES => {
                    let n: u64 = value.parse().map_err(|_| bad("must be a whole number"))?;
                    out.inodes = (n > 0).then_some(n);
                }
                // Whether the controller serves it is the controller's question, not a
                // syntax one.
                keys::CLUSTER => out.cluster = Some(value.clone()),
                k if k.starts_with("csi.storage.k8s.io/") => {}
                _ => return Err(RequestError::UnknownParameter(key.clone())),
            }
        }
        Ok(out)
    }
}

/// The size to make for a capacity range: the required bytes, or when only a limit is set
/// the smaller of the limit and `default`, or `default`.
pub fn size_for(range: Option<&CapacityRange>, default: u64) -> Result<u64, RequestError> {
    let Some(r) = range else { return Ok(default) };
    for v in [r.required_bytes, r.limit_bytes] {
        if v < 0 {
            return Err(RequestError::NegativeCapacity(v));
        }
    }
    if r.limit_bytes > 0 && r.limit_bytes < r.required_bytes {
        return Err(RequestError::CapacityRange {
            required: r.required_bytes,
            limit: r.limit_bytes,
        });
    }
    Ok(match (r.required_bytes as u64, r.limit_bytes as u64) {
        (0, 0) => default,
        (0, limit) => limit.min(default),
        (required, _) => required,
    })
}

/// Whether a share of `size` bytes satisfies `range` (for an idempotent CreateVolume).
pub fn fits(range: Option<&CapacityRange>, size: u64) -> bool {
    let Some(r) = range else { return true };
    size >= r.required_bytes.max(0) as u64 && (r.limit_bytes <= 0 || size <= r.limit_bytes as u64)
}

/// Why this driver cannot serve a capability, or `None` when it can. Lustre is a shared
/// POSIX filesystem: every access mode works; block volumes do not.
pub fn unsupported(cap: &VolumeCapability) -> Option<String> {
    match &cap.access_type {
        None => return Some("access_type (mount) is required".into()),
        Some(AccessType::Block(_)) => return Some("block volumes are not supported".into()),
        Some(AccessType::Mount(m)) => {
            if !m.fs_type.is_empty() && m.fs_type != "lustre" {
                return Some(format!("fs_type {:?} is not lustre", m.fs_type));
            }
        }
    }
    match cap.access_mode.as_ref().map(|a| a.mode()) {
        None | Some(Mode::Unknown) => Some("an access mode is required".into()),
        Some(_) => None,
    }
}

/// Checks a request's capabilities: at least one, each supported.
pub fn check_capabilities(caps: &[VolumeCapability]) -> Result<(), RequestError> {
    if caps.is_empty() {
        return Err(RequestError::Missing("volume_capabilities"));
    }
    match caps.iter().find_map(unsupported) {
        Some(reason) => Err(RequestError::Capability(reason)),
        None => Ok(()),
    }
}

/// The mount flags of a mount capability (a PersistentVolume's `mountOptions`), each a
/// non-empty word without whitespace or ',' (they are joined into one `-o`).
pub fn mount_flags(cap: &VolumeCapability) -> Result<Vec<String>, RequestError> {
    let Some(AccessType::Mount(m)) = &cap.access_type else {
        return Ok(Vec::new());
    };
    for flag in &m.mount_flags {
        if flag.is_empty() || flag.contains(',') || flag.chars().any(char::is_whitespace) {
            return Err(RequestError::Capability(format!(
                "mount flag {flag:?} must be one word without ','"
            )));
        }
    }
    Ok(m.mount_flags.clone())
}

/// Whether a capability asks for a read-only mount (a reader-only access mode).
pub fn reader_only(cap: &VolumeCapability) -> bool {
    matches!(
        cap.access_mode.as_ref().map(|a| a.mode()),
        Some(Mode::SingleNodeReaderOnly | Mode::MultiNodeReaderOnly)
    )
}

impl From<RequestError> for tonic::Status {
    fn from(e: RequestError) -> Self {
        match e {
            RequestError::CapacityRange { .. } | RequestError::NegativeCapacity(_) => {
                tonic::Status::out_of_range(e.to_string())
            }
            _ => tonic::Status::invalid_argument(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_ids_round_trip_and_foreign_ids_are_refused() {
        let id = ShareVolumeId {
            share: "pvc-1".into(),
            on_delete: OnDelete::Retain,
            cluster: None,
        };
        assert_eq!(id.to_string(), "share:retain:pvc-1");
        assert_eq!(ShareVolumeId::parse("share:retain:pvc-1"), Ok(id));
        let on = ShareVolumeId {
            share: "pvc-2".into(),
            on_delete: OnDelete::Delete,
            cluster: Some("lab.demo".into()),
        };
        assert_eq!(on.to_string(), "share:delete:lab.demo/pvc-2");
        assert_eq!(ShareVolumeId::parse("share:delete:lab.demo/pvc-2"), Ok(on));
        for bad in [
            "pvc-1",
            "share:keep:x",
            "share:delete:",
            "share:x",
            "share:delete:/pvc",
            "share:delete:lab/",
            "share:delete:lab/a/b",
            "share:delete:la:b/pvc",
            "share:retain:lab b/pvc",
        ] {
            assert!(matches!(
                ShareVolumeId::parse(bad),
                Err(RequestError::ForeignVolumeId(_))
            ));
        }
        assert_eq!(
            ShareVolumeId::parse(""),
            Err(RequestError::Missing("volume_id"))
        );
    }

    #[test]
    fn sources_parse_with_several_nids_and_subdirs() {
        let s = Source::parse("10.0.0.1@tcp:10.0.0.2@tcp:/lustre/a/b/").unwrap();
        assert_eq!(s.fs.nids, "10.0.0.1@tcp:10.0.0.2@tcp");
        assert_eq!(s.fs.fsname, "lustre");
        assert_eq!(s.subdir.as_deref(), Some("a/b"));
        assert_eq!(s.to_string(), "10.0.0.1@tcp:10.0.0.2@tcp:/lustre/a/b");
        for bad in [
            "lustre",
            "nid:/",
            "nid:/toolongname9",
            "nid:/fs/../x",
            "nid:/fs/a//b",
        ] {
            assert!(Source::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn context_names_a_cluster_or_nids_and_fsname() {
        let clusters = BTreeMap::from([(
            "lab".to_string(),
            Filesystem::parse("10.0.0.1@tcp:/lab").unwrap(),
        )]);
        let ctx = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let s =
            Source::from_context(&ctx(&[("cluster", "lab"), ("subdir", "x")]), &clusters).unwrap();
        assert_eq!(s.to_string(), "10.0.0.1@tcp:/lab/x");
        let s = Source::from_context(&ctx(&[("mgsNids", "n@tcp"), ("fsname", "fs")]), &clusters)
            .unwrap();
        assert_eq!(s.to_string(), "n@tcp:/fs");
        assert!(matches!(
            Source::from_context(&ctx(&[("cluster", "other")]), &clusters),
            Err(SourceError::UnknownCluster { .. })
        ));
        assert_eq!(
            Source::from_context(&ctx(&[]), &clusters),
            Err(SourceError::Nothing)
        );
    }

    #[test]
    fn capacity_ranges() {
        let r = |required, limit| CapacityRange {
            required_bytes: required,
            limit_bytes: limit,
        };
        assert_eq!(size_for(None, 5), Ok(5));
        assert_eq!(size_for(Some(&r(0, 0)), 5), Ok(5));
        assert_eq!(size_for(Some(&r(0, 3)), 5), Ok(3));
        assert_eq!(size_for(Some(&r(7, 9)), 5), Ok(7));
        assert!(matches!(
            size_for(Some(&r(9, 7)), 5),
            Err(RequestError::CapacityRange { .. })
        ));
        assert!(fits(Some(&r(7, 9)), 8));
        assert!(!fits(Some(&r(7, 9)), 10));
        assert!(!fits(Some(&r(7, 0)), 6));
    }

    #[test]
    fn parameters_are_checked() {
        let p = |k: &str, v: &str| HashMap::from([(k.to_string(), v.to_string())]);
        assert_eq!(
            CreateParams::parse(&p("onDelete", "retain")).map(|c| c.on_delete),
            Ok(OnDelete::Retain)
        );
        assert!(CreateParams::parse(&p("onDelete", "archive")).is_err());
        assert!(CreateParams::parse(&p("inodes", "lots")).is_err());
        assert!(CreateParams::parse(&p("colour", "blue")).is_err());
        assert!(CreateParams::parse(&p("csi.storage.k8s.io/pvc/name", "x")).is_ok());
        assert_eq!(
            CreateParams::parse(&p("cluster", "ns.demo")).map(|c| c.cluster),
            Ok(Some("ns.demo".to_string()))
        );
    }

    #[test]
    fn cluster_names_fit_in_volume_ids() {
        for good in ["lab", "ns.demo", "a_b-c.9"] {
            assert_eq!(check_cluster_name(good), Ok(()), "{good}");
        }
        let long = "x".repeat(254);
        for bad in ["", "a/b", "a:b", "a b", long.as_str()] {
            assert!(check_cluster_name(bad).is_err(), "{bad}");
        }
    }
}
