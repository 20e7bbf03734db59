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

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use lk_gateway::gateway::{container_key, guess_content_type, object_key, ObjectInfo};
use lk_gateway::index::ObjectRecord;
use lk_gateway::meta::keys;
use lk_gateway::path::check_object_name;
use lk_gateway::time::Timestamp;
use lk_gateway::Gateway;

use crate::error::{index_err, SyncResult};
use crate::hasher::Hasher;
use crate::layout::{classify, is_temp, Place};
use crate::ops::{dedup, Op};

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

#[derive(Debug)]
enum Mutation {
    Upsert {
        account: String,
        container: String,
        rec: ObjectRecord,
    },
    Remove {
        account: String,
        container: String,
        name: String,
    },
    RemovePrefix {
        account: String,
        container: String,
        prefix: String,
    },
    EnsureContainer {
        account: String,
        container: String,
        ts: String,
    },
    RemoveContainer {
        account: String,
        container: String,
    },
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

    /// The canonical root.
    pub fn root(&self) -> &Path {
        self.gw.store.root()
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

    fn commit(
        &self,
        muts: &mut Vec<Mutation>,
        cursor: Option<(&str, &str)>,
        stats: &mut Stats,
    ) -> SyncResult<()> {
        if muts.is_empty() && cursor.is_none() {
            return Ok(());
        }
        let (up, rm) = self
            .gw
            .index
            .batch(|b| {
                let (mut up, mut rm) = (0u64, 0u64);
                for m in muts.iter() {
                    match m {
                        Mutation::Upsert {
                            account,
                            container,
                            rec,
                        } => {
                            b.upsert_object(account, container, rec)?;
                            up += 1;
                        }
                        Mutation::Remove {
                            account,
                            container,
                            name,
                        } => {
                            rm += u64::from(b.remove_object(account, container, name)?);
                        }
                        Mutation::RemovePrefix {
                            account,
                            container,
                            prefix,
                        } => {
                            rm += b.remove_prefix(account, container, prefix)? as u64;
                        }
                        Mutation::EnsureContainer {
                            account,
                            container,
                            ts,
                        } => b.ensure_container(account, container, ts)?,
                        Mutation::RemoveContainer { account, container } => {
                            b.remove_container(account, container)?
                        }
                    }
                }
                if let Some((name, value)) = cursor {
                    b.set_cursor(name, value)?;
                }
                Ok((up, rm))
            })
            .map_err(index_err("committing changes"))?;
        stats.upserted += up;
        stats.removed += rm;
        muts.clear();
        Ok(())
    }

    fn push(&self, out: &mut Vec<Mutation>, m: Mutation, stats: &mut Stats) -> SyncResult<()> {
        out.push(m);
        if out.len() >= CHUNK {
            self.commit(out, None, stats)?;
        }
        Ok(())
    }

    /// The change that makes the entry at `rel` match the tree (`None`: not an object path,
    /// or unreadable).
    fn refresh(&self, rel: &str) -> Option<Mutation> {
        let Some(Place::Object {
            account,
            container,
            name,
        }) = classify(rel, &self.gw.settings.limits)
        else {
            return None;
        };
        let path = self.abs(rel);
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

    fn structural(&self, op: &Op, watch: &mut dyn DirWatch, stats: &mut Stats) -> SyncResult<()> {
        let mut out = Vec::new();
        match op {
            Op::Refresh(rel) => {
                if let Some(m) = self.refresh(rel) {
                    out.push(m);
                }
            }
            Op::Scan(rel) => self.scan(rel, watch, &mut out, stats)?,
            Op::Gone(rel) => self.gone(rel, watch, &mut out, stats)?,
            Op::Moved { from, to } => {
                let limits = &self.gw.settings.limits;
                match (classify(from, limits), classify(to, limits)) {
                    (
                        Some(Place::Object {
                            account,
                            container,
                            name: f,
                        }),
                        Some(Place::Object {
                            account: a2,
                            container: c2,
                            name: t,
                        }),
                    ) if account == a2 && container == c2 && !is_real_dir(&self.abs(from)) => {
                        let (old, new) = (format!("{f}/"), format!("{t}/"));
                        let n = self
                            .gw
                            .index
                            .batch(|b| b.rename_prefix(&account, &container, &old, &new))
                            .map_err(index_err("renaming a directory"))?;
                        stats.moved += n as u64;
                        // Entries refreshed at their old paths before this rename was seen
                        // were dropped there; the rescan finds them here, and checks the rest.
                        self.scan(to, watch, &mut out, stats)?;
                    }
                    _ => {
                        self.gone(from, watch, &mut out, stats)?;
                        self.commit(&mut out, None, stats)?;
                        self.scan(to, watch, &mut out, stats)?;
                    }
                }
            }
        }
        self.commit(&mut out, None, stats)
    }

    /// Makes the index match the subtree at `rel`.
    fn scan(
        &self,
        rel: &str,
        watch: &mut dyn DirWatch,
        out: &mut Vec<Mutation>,
        stats: &mut Stats,
    ) -> SyncResult<()> {
        match classify(rel, &self.gw.settings.limits) {
            None => Ok(()),
            Some(Place::Root) => self.scan_root(watch, out, stats),
            Some(Place::Account(a)) => self.scan_account(&a, watch, out, stats),
            Some(Place::Container { account, container }) => {
                self.scan_container(&account, &container, watch, out, stats)
            }
            Some(Place::Object {
                account,
                container,
                name,
            }) => {
                let path = self.abs(rel);
                match lstat(&path) {
                    Some(md) if md.is_dir() => {
                        self.push(
                            out,
                            Mutation::Remove {
                                account: account.clone(),
                                container: container.clone(),
                                name: name.clone(),
                            },
                            stats,
                        )?;
                        self.scan_objects(
                            &account,
                            &container,
                            &format!("{name}/"),
                            watch,
                            out,
                            stats,
                        )
                    }
                    _ => {
                        self.push(
                            out,
                            Mutation::RemovePrefix {
                                account,
                                container,
                                prefix: format!("{name}/"),
                            },
                            stats,
                        )?;
                        match self.refresh(rel) {
                            Some(m) => self.push(out, m, stats),
                            None => Ok(()),
                        }
                    }
                }
            }
        }
    }

    /// Drops the subtree at `rel` from the index, unless it exists (then rescans it).
    fn gone(
        &self,
        rel: &str,
        watch: &mut dyn DirWatch,
        out: &mut Vec<Mutation>,
        stats: &mut Stats,
    ) -> SyncResult<()> {
        match classify(rel, &self.gw.settings.limits) {
            None => Ok(()),
            Some(Place::Root) => self.scan_root(watch, out, stats),
            Some(Place::Account(a)) => {
                if self.abs(rel).is_dir() {
                    return self.scan_account(&a, watch, out, stats);
                }
                self.drop_account(&a, out, stats)
            }
            Some(Place::Container { account, container }) => {
                self.scan_container(&account, &container, watch, out, stats)
            }
            Some(Place::Object {
                account,
                container,
                name,
            }) => {
                if is_real_dir(&self.abs(rel)) {
                    return self.scan_objects(
                        &account,
                        &container,
                        &format!("{name}/"),
                        watch,
                        out,
                        stats,
                    );
                }
                self.push(
                    out,
                    Mutation::RemovePrefix {
                        account,
                        container,
                        prefix: format!("{name}/"),
                    },
                    stats,
                )
            }
        }
    }

    fn drop_account(&self, a: &str, out: &mut Vec<Mutation>, stats: &mut Stats) -> SyncResult<()> {
        let names = self
            .gw
            .index
            .container_names(a)
            .map_err(index_err("listing containers"))?;
        for c in names {
            self.push(
                out,
                Mutation::RemoveContainer {
                    account: a.to_string(),
                    container: c,
                },
                stats,
            )?;
        }
        Ok(())
    }

    fn scan_root(
        &self,
        watch: &mut dyn DirWatch,
        out: &mut Vec<Mutation>,
        stats: &mut Stats,
    ) -> SyncResult<()> {
        let root = self.root().to_path_buf();
        watch.dir("", &root);
        let mut accounts: std::collections::BTreeSet<String> = self
            .gw
            .index
            .account_names()
            .map_err(index_err("listing accounts"))?
            .into_iter()
            .collect();
        if let Ok(rd) = std::fs::read_dir(&root) {
            for e in rd.flatten() {
                if let Some(n) = e.file_name().to_str() {
                    if matches!(
                        classify(n, &self.gw.settings.limits),
                        Some(Place::Account(_))
                    ) {
                        accounts.insert(n.to_string());
                    }
                }
            }
        }
        for a in accounts {
            if root.join(&a).is_dir() {
                self.scan_account(&a, watch, out, stats)?;
            } else {
                self.drop_account(&a, out, stats)?;
            }
        }
        Ok(())
    }

    fn scan_account(
        &self,
        a: &str,
        watch: &mut dyn DirWatch,
        out: &mut Vec<Mutation>,
        stats: &mut Stats,
    ) -> SyncResult<()> {
        let adir = self.root().join(a);
        if !adir.is_dir() {
            return self.drop_account(a, out, stats);
        }
        watch.dir(a, &adir);
        let mut containers: std::collections::BTreeSet<String> = self
            .gw
            .index
            .container_names(a)
            .map_err(index_err("listing containers"))?
            .into_iter()
            .collect();
        if let Ok(rd) = std::fs::read_dir(&adir) {
            for e in rd.flatten() {
                if let Some(n) = e.file_name().to_str() {
                    let rel = format!("{a}/{n}");
                    if matches!(
                        classify(&rel, &self.gw.settings.limits),
                        Some(Place::Container { .. })
                    ) {
                        containers.insert(n.to_string());
                    }
                }
            }
        }
        for c in containers {
            self.scan_container(a, &c, watch, out, stats)?;
        }
        Ok(())
    }

    fn scan_container(
        &self,
        a: &str,
        c: &str,
        watch: &mut dyn DirWatch,
        out: &mut Vec<Mutation>,
        stats: &mut Stats,
    ) -> SyncResult<()> {
        let cdir = self.root().join(a).join(c);
        if !is_real_dir(&cdir) {
            return self.push(
                out,
                Mutation::RemoveContainer {
                    account: a.to_string(),
                    container: c.to_string(),
                },
                stats,
            );
        }
        let ts = match self.gw.meta.read(&cdir, &container_key(a, c)) {
            Ok(Some(m)) if m.contains_key(keys::TIMESTAMP) => m[keys::TIMESTAMP].clone(),
            _ => lstat(&cdir)
                .map(|m| Timestamp::from_nanos(m.mtime() * 1_000_000_000).to_x_timestamp())
                .unwrap_or_else(|| Timestamp::now().to_x_timestamp()),
        };
        self.push(
            out,
            Mutation::EnsureContainer {
                account: a.to_string(),
                container: c.to_string(),
                ts,
            },
            stats,
        )?;
        self.scan_objects(a, c, "", watch, out, stats)
    }

    /// Walks `ROOT/a/c/prefix` (prefix empty or ending in `/`) and makes the index entries
    /// under `prefix` match it: one `stat` for an unchanged file.
    fn scan_objects(
        &self,
        a: &str,
        c: &str,
        prefix: &str,
        watch: &mut dyn DirWatch,
        out: &mut Vec<Mutation>,
        stats: &mut Stats,
    ) -> SyncResult<()> {
        let limits = &self.gw.settings.limits;
        let cdir = self.root().join(a).join(c);
        // Commit what is pending so the states read below include it.
        self.commit(out, None, stats)?;
        let mut states = self
            .gw
            .index
            .object_states_under(a, c, prefix)
            .map_err(index_err("reading object states"))?;
        let start_rel = format!("{a}/{c}/{prefix}");
        let mut stack = vec![(
            start_rel.trim_end_matches('/').to_string(),
            prefix.to_string(),
        )];
        while let Some((rel_dir, pre)) = stack.pop() {
            let dir = self.abs(&rel_dir);
            watch.dir(&rel_dir, &dir);
            let rd = match std::fs::read_dir(&dir) {
                Ok(rd) => rd,
                Err(e) if is_gone(&e) => continue,
                Err(e) => {
                    tracing::warn!(dir = %dir.display(), error = %e, "cannot read directory");
                    continue;
                }
            };
            for e in rd.flatten() {
                let Some(n) = e.file_name().to_str().map(str::to_string) else {
                    continue;
                };
                if is_temp(&n) {
                    continue;
                }
                let name = format!("{pre}{n}");
                if check_object_name(&name, limits).is_err() {
                    continue;
                }
                let Some(md) = lstat(&e.path()) else { continue };
                if md.is_dir() {
                    stack.push((format!("{rel_dir}/{n}"), format!("{name}/")));
                    continue;
                }
                if !md.is_file() {
                    continue;
                }
                stats.scanned += 1;
                let mt = mtime_ns(&md);
                if let Some(st) = states.remove(&name) {
                    if st.mtime_ns == mt && st.size == md.len() {
                        stats.unchanged += 1;
                        if !st.etag_known {
                            self.hash_later(a, c, &name);
                        }
                        continue;
                    }
                }
                let rec = self.record(a, c, &name, &e.path(), &md);
                self.push(
                    out,
                    Mutation::Upsert {
                        account: a.to_string(),
                        container: c.to_string(),
                        rec,
                    },
                    stats,
                )?;
            }
        }
        // Listed but not found: gone, unless created since the walk passed its directory.
        for name in states.into_keys() {
            let path = cdir.join(&name);
            let m = match lstat(&path) {
                Some(md) if md.is_file() => Mutation::Upsert {
                    account: a.to_string(),
                    container: c.to_string(),
                    rec: self.record(a, c, &name, &path, &md),
                },
                _ => Mutation::Remove {
                    account: a.to_string(),
                    container: c.to_string(),
                    name,
                },
            };
            self.push(out, m, stats)?;
        }
        Ok(())
    }
}
