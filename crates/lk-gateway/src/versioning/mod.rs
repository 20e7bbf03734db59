// SPDX-License-Identifier: Apache-2.0
//! Object versioning, the new kind (Swift's `object_versioning`: `X-Versions-Enabled`).
//!
//! Layout: the current version of an object stays the plain file at its usual path. Every
//! other version is a file `ROOT/ACCOUNT/.lk-versions/CONTAINER/OBJECT/.lk-v/VERSION-ID`
//! (the account-level `.lk-versions` directory is never a container: names starting `.lk-`
//! are reserved). A superseded current file is hard-linked there before it is replaced or
//! removed, so its bytes and metadata move without a copy and readers never see a gap.
//! Delete markers exist only as index records. The index ([`crate::index::VersionRecord`])
//! lists the kept versions and names the version id of each current object.
//!
//! This module holds the pure parts (ids, states, paths); [`store`] the filesystem and index
//! changes; `handlers::versioning` the HTTP side.

pub mod store;

use std::path::{Path, PathBuf};

use crate::meta::Meta;
use crate::time::Timestamp;

/// The account-level directory holding the kept versions.
pub const VERSIONS_DIR: &str = ".lk-versions";
/// The directory of an object's kept versions, inside its own directory of `VERSIONS_DIR`.
pub const OBJECT_VERSIONS_DIR: &str = ".lk-v";
/// Names starting with this are the gateway's.
pub const RESERVED_PREFIX: &str = ".lk-";
/// Content-Type of a delete marker (Swift's).
pub const DELETE_MARKER_CONTENT_TYPE: &str = "application/x-deleted;swift_versions_deleted=1";
/// The client header that turns versioning on or off on a container.
pub const ENABLED_HEADER: &str = "X-Versions-Enabled";
/// Container metadata key recording that versioning was enabled once (its versions exist
/// or may exist, whatever the flag says now).
pub const EVER_ENABLED_KEY: &str = "X-Lk-Versions-Ever-Enabled";
/// The id of the version written while versioning was off.
pub const NULL_VERSION: &str = "null";
/// MD5 of nothing (a delete marker's hash).
pub const EMPTY_MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";

/// Largest raw timestamp Swift inverts (`999999999999999` units of 10 µs).
const INVERT_BASE: i64 = 999_999_999_999_999;

/// A version id: Swift's inverted timestamp (`~Timestamp(t)`), so that newer versions sort
/// first, in the 10.5 form (`8299999999.12345`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct VersionId(i64);

impl VersionId {
    /// The id of a version written at `ts`.
    pub fn of(ts: Timestamp) -> Self {
        VersionId(INVERT_BASE - ts.0.clamp(0, INVERT_BASE))
    }

    /// Parses a client's id as Swift's `Timestamp()` accepts it (a non-negative decimal no
    /// larger than the largest timestamp); `None` when it is not one.
    pub fn parse(s: &str) -> Option<Self> {
        let t = Timestamp::parse(s.trim())?;
        (0..=INVERT_BASE).contains(&t.0).then_some(VersionId(t.0))
    }

    /// Its text form.
    pub fn as_string(self) -> String {
        format!("{:010}.{:05}", self.0 / 100_000, self.0 % 100_000)
    }
}

/// What a container's versioning is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Never enabled: objects are plain, `?version-id` (but `null`) is a 400.
    Never,
    /// Enabled: writes keep versions.
    Enabled,
    /// Enabled once, now off: writes replace the null version, kept versions stay.
    Suspended,
}

impl State {
    /// From a container's metadata.
    pub fn of(meta: &Meta) -> Self {
        if !meta.contains_key(EVER_ENABLED_KEY) {
            return State::Never;
        }
        match meta.get(ENABLED_HEADER).is_some_and(|v| is_true(v)) {
            true => State::Enabled,
            false => State::Suspended,
        }
    }

    /// Whether versions may exist (the versioning API applies).
    pub fn versioned(self) -> bool {
        self != State::Never
    }
}

/// Swift's `config_true_value`.
pub fn is_true(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "true" | "1" | "yes" | "on" | "t" | "y"
    )
}

/// The directory of an object's kept versions.
pub fn object_versions_dir(account_dir: &Path, container: &str, object: &str) -> PathBuf {
    account_dir
        .join(VERSIONS_DIR)
        .join(container)
        .join(object)
        .join(OBJECT_VERSIONS_DIR)
}

/// The directory of a container's kept versions.
pub fn container_versions_dir(account_dir: &Path, container: &str) -> PathBuf {
    account_dir.join(VERSIONS_DIR).join(container)
}

/// Whether an object name has a component the versions layout reserves.
pub fn has_reserved_component(object: &str) -> bool {
    object.split('/').any(|c| c.starts_with(RESERVED_PREFIX))
}

/// Side-store key of a kept version's metadata.
pub fn version_key(a: &str, c: &str, o: &str, id: &str) -> String {
    format!("v/{a}/{c}/{o}\n{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_invert_timestamps_as_swift() {
        // Swift: (~Timestamp('1600000000.00000')).internal == '8399999999.99999'
        let t = Timestamp::parse("1600000000.00000").unwrap();
        assert_eq!(VersionId::of(t).as_string(), "8399999999.99999");
        let later = Timestamp::parse("1600000000.00001").unwrap();
        assert!(VersionId::of(later).as_string() < VersionId::of(t).as_string());
    }

    #[test]
    fn parses_ids() {
        assert_eq!(
            VersionId::parse("8399999999.99999").map(VersionId::as_string),
            Some("8399999999.99999".into())
        );
        assert_eq!(
            VersionId::parse("12").map(VersionId::as_string),
            Some("0000000012.00000".into())
        );
        assert_eq!(VersionId::parse("abc"), None);
        assert_eq!(VersionId::parse("-1"), None);
        assert_eq!(VersionId::parse("99999999999.0"), None);
    }

    #[test]
    fn states() {
        let mut m = Meta::new();
        assert_eq!(State::of(&m), State::Never);
        m.insert(ENABLED_HEADER.into(), "False".into());
        assert_eq!(State::of(&m), State::Never);
        m.insert(EVER_ENABLED_KEY.into(), "1".into());
        assert_eq!(State::of(&m), State::Suspended);
        m.insert(ENABLED_HEADER.into(), "True".into());
        assert_eq!(State::of(&m), State::Enabled);
        assert!(is_true("yes") && !is_true("no") && !is_true(""));
    }

    #[test]
    fn reserved_components() {
        assert!(has_reserved_component("a/.lk-v/b"));
        assert!(!has_reserved_component("a/lk-v/.b"));
    }
}
