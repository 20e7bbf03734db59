// SPDX-License-Identifier: Apache-2.0
//! The applier: turns [`Op`]s into listing-index changes by reading the tree as it is now.
//!
//! Reading happens outside index transactions (a `stat` and one `getxattr` per file, a
//! directory walk for a rescan); the resulting changes are then committed in short
//! transactions, so the gateway's own writers are never blocked for long. Single-entry changes
//! of one call to [`Applier::apply`] commit together, with the caller's cursor if it has one
//! (the changelog's last record index); a structural op (rescan, removed or moved directory)
//! first commits what is pending, then commits its own changes in chunks. Every op is
//! state-based (see [`crate::ops`]), so a crash between two of these commits is repaired by
//! applying the same ops again.
//!
//! ETags are not computed here: a file whose gateway metadata (xattrs or side store) still
//! matches its size and mtime is listed with the stored ETag; any other file is listed at once
//! with its size and mtime and an empty ETag, and handed to the [`Hasher`], which computes the
//! MD5 in the background and stores it as the gateway does.
//!
//! Layout: this file holds the [`Applier`] and single-entry refreshes; [`commit`] the
//! index mutations and their transactions; [`scan`] the structural ops (rescans, removed and
//! moved directories).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use lk_gateway::sync_api::{guess_content_type, object_key, Gateway, ObjectInfo, ObjectRecord};
use lk_gateway::sync_api::{keys, resolve_self, Timestamp};

use crate::error::{index_err, SyncResult};
use crate::hasher::Hasher;
use crate::layout::{classify, Place};
use crate::ops::{dedup, Op};

mod commit;
mod scan;

use commit::Mutation;

/// Changes committed per transaction during a rescan.
const CHUNK: usize = 5_000;

/// Told about every directory a rescan is about to read, before it reads it (the inotify
/// backend adds its watch there, so nothing created during the walk is missed).
pub trait DirWatch {
    /// `rel` is relative to the root (`""` for the root), `abs` the directory itself.
    fn dir(&mut self, rel: &str, abs: &Path);
}

/// A [`DirWatch`] that watches nothing (the changelog backend).
pub struct NoWatch;

impl DirWatch for NoWatch {
    fn dir(&mut self, _rel: &str, _abs: &Path) {}
}

/// What one [`Applier::apply`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Objects written to the index (new or changed).
    pub upserted: u64,
    /// Objects removed from the index.
    pub removed: u64,
    /// Objects moved by directory renames.
    pub moved: u64,
    /// Files looked at by rescans.
    pub scanned: u64,
    /// Of those, files whose entry was already right.
    pub unchanged: u64,
}

/// Applies ops to the index of one gateway tree.
pub struct Applier {
    gw: Arc<Gateway>,
    hasher: Option<Hasher>,
    /// Serializes [`Applier::apply`]: each entry's state is read and committed by one writer
    /// at a time, so a slower reader never commits an older state over a newer one.
    serial: Mutex<()>,
}

fn mtime_ns(md: &std::fs::Metadata) -> i64 {
    md.mtime() * 1_000_000_000 + md.mtime_nsec()
}

/// ENOENT or ENOTDIR: the entry (or one of its parents) is not there.
fn is_gone(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ENOTDIR)
}

/// lstat, with "not there" as `None` and other errors logged as `None` too (the entry cannot
/// be indexed; its next event retries).
fn lstat(path: &Path) -> Option<std::fs::Metadata> {
    match path.symlink_metadata() {
        Ok(md) => Some(md),
        Err(e) if is_gone(&e) => None,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot stat");
            None
        }
    }
}

fn is_real_dir(path: &Path) -> bool {
    lstat(path).is_some_and(|m| m.is_dir())
}

impl Applier {
    /// An applier over `gw`'s tree and index; `hasher` computes missing ETags (none: the
    /// gateway computes them when an object is first read).
    pub fn new(gw: Arc<Gateway>, hasher: Option<Hasher>) -> Applier {
        Applier {
            gw,
            hasher,
            serial: Mutex::new(()),
        }
    }

    /// The gateway (tree, metadata and index).
    pub fn gateway(&self) -> &Gateway {
        &self.gw
    }

    /// The ETag thread, if ETags are computed here.
    pub fn hasher(&self) -> Option<&Hasher> {
        self.hasher.as_ref()
    }

    /// The canonical root.
    pub fn root(&self) -> &Path {
        self.gw.store.root()
    }

    /// Where `rel` sits in the Swift layout, long components looked up in the index.
    fn place(&self, rel: &str) -> SyncResult<Option<Place>> {
        classify(rel, &self.gw.settings.limits, |h| {
            self.gw.index.long_name(h)
        })
        .map_err(index_err("reading a long name"))
    }

    fn abs(&self, rel: &str) -> PathBuf {
        if rel.is_empty() {
            self.root().to_path_buf()
        } else {
            self.root().join(rel)
        }
    }

    /// Applies `ops` in order and commits; `cursor` (name, value) commits with the last
    /// changes. `watch` hears of every directory a rescan reads.
    pub fn apply(
        &self,
        ops: Vec<Op>,
        cursor: Option<(&str, &str)>,
        watch: &mut dyn DirWatch,
    ) -> SyncResult<Stats> {
        let _serial = self.serial.lock().unwrap_or_else(|p| p.into_inner());
        let mut stats = Stats::default();
        let mut pending = Vec::new();
        for op in dedup(ops) {
            match op {
                Op::Refresh(rel) => {
                    if let Some(m) = self.refresh(&rel) {
                        pending.push(m);
                    }
                }
                op => {
                    self.commit(&mut pending, None, &mut stats)?;
                    self.structural(&op, watch, &mut stats)?;
                }
            }
        }
        self.commit(&mut pending, cursor, &mut stats)?;
        Ok(stats)
    }

    /// The change that makes the entry at `rel` match the tree (`None`: not an object path,
    /// or unreadable).
    fn refresh(&self, rel: &str) -> Option<Mutation> {
        let place = match self.place(rel) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(path = rel, error = %e, "cannot classify; left for a rescan");
                return None;
            }
        };
        let Some(Place::Object {
            account,
            container,
            name,
        }) = place
        else {
            return None;
        };
        // A directory is the object when it holds its .lk-self (see the gateway's layout).
        let path = resolve_self(&self.abs(rel));
        match path.symlink_metadata() {
            Ok(md) if md.is_file() => {
                let rec = self.record(&account, &container, &name, &path, &md);
                Some(Mutation::Upsert {
                    account,
                    container,
                    rec,
                })
            }
            Ok(_) => Some(Mutation::Remove {
                account,
                container,
                name,
            }),
            Err(e) if is_gone(&e) => Some(Mutation::Remove {
                account,
                container,
                name,
            }),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot stat");
                None
            }
        }
    }

    /// The index record of a regular file: from the gateway's metadata when it still matches
    /// the file, otherwise size and mtime now and the ETag later (see the module doc).
    fn record(
        &self,
        account: &str,
        container: &str,
        name: &str,
        path: &Path,
        md: &std::fs::Metadata,
    ) -> ObjectRecord {
        let mt = mtime_ns(md);
        let meta = match self
            .gw
            .meta
            .read(path, &object_key(account, container, name))
        {
            Ok(m) => m,
            Err(e) => {
                tracing::debug!(path = %path.display(), error = %e, "cannot read metadata");
                None
            }
        };
        let fresh = meta.as_ref().is_some_and(|m| {
            m.get(keys::LENGTH).and_then(|l| l.parse::<u64>().ok()) == Some(md.len())
                && m.get(keys::MTIME).and_then(|t| t.parse::<i64>().ok()) == Some(mt)
                && m.contains_key(keys::ETAG)
        });
        if fresh {
            let info = ObjectInfo {
                path: path.to_path_buf(),
                file_size: md.len(),
                meta: meta.unwrap_or_default(),
            };
            return info.record(name, mt);
        }
        self.hash_later(account, container, name);
        ObjectRecord {
            name: name.to_string(),
            size: md.len(),
            etag: String::new(),
            content_type: meta
                .and_then(|m| m.get(keys::CONTENT_TYPE).cloned())
                .unwrap_or_else(|| guess_content_type(name).to_string()),
            timestamp: Timestamp::from_nanos(mt).to_x_timestamp(),
            mtime_ns: mt,
        }
    }

    fn hash_later(&self, account: &str, container: &str, name: &str) {
        if let Some(h) = &self.hasher {
            h.enqueue(account, container, name);
        }
    }
}
