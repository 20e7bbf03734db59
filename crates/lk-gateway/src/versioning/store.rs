// SPDX-License-Identifier: Apache-2.0
//! Keeping versions in the tree and the index (blocking; see [`super`] for the layout).
//!
//! Invariant: a name's versions are its kept versions (files under `.lk-versions`, delete
//! markers in the index) plus, when its current object has a version id, that object. So
//! anything that replaces or removes a current object that has a version id first keeps it
//! ([`keep_current`]; the hooks in `put.rs` and `gateway.rs` call it under the object's
//! commit lock), and with versioning enabled a null current object is kept too
//! ([`keep_null`]).

use std::path::{Path, PathBuf};

use super::{
    object_versions_dir, version_key, State, VersionId, DELETE_MARKER_CONTENT_TYPE, EMPTY_MD5,
};
use crate::error::{SwiftError, SwiftResult};
use crate::gateway::{container_key, object_key, Gateway, ObjectInfo};
use crate::index::VersionRecord;
use crate::meta::{keys, Meta};
use crate::store::fsync_dir;
use crate::time::Timestamp;

/// A container's versioning state (a missing container is [`State::Never`]).
pub fn state(gw: &Gateway, a: &str, c: &str) -> SwiftResult<State> {
    Ok(facts(gw, a, c)?.state)
}

/// A container's versioning facts, from the cache or its metadata.
pub fn facts(gw: &Gateway, a: &str, c: &str) -> SwiftResult<Facts> {
    if let Some(f) = cached(gw, a, c) {
        return Ok(f);
    }
    let generation = gw.version_states.generation();
    let dir = gw.store.checked_container_dir(a, c)?;
    if !dir.is_dir() {
        return Ok(Facts::default());
    }
    let meta = gw
        .meta
        .read(&dir, &container_key(a, c))?
        .unwrap_or_default();
    Ok(remember(gw, a, c, generation, &meta))
}

/// A container's facts when they are cached: no filesystem access, so callable on the async
/// threads (a hop to the blocking pool costs more than the whole lookup).
pub fn cached(gw: &Gateway, a: &str, c: &str) -> Option<Facts> {
    gw.version_states.get(&(a.to_string(), c.to_string()))
}

/// A container's state when it is cached (see [`cached`]).
pub fn cached_state(gw: &Gateway, a: &str, c: &str) -> Option<State> {
    cached(gw, a, c).map(|f| f.state)
}

/// Caches the facts of `meta`, container metadata read after the cache was at `generation`
/// (nothing is cached if the metadata of any container changed since: the read may predate
/// the change). Returns them.
pub fn remember(gw: &Gateway, a: &str, c: &str, generation: u64, meta: &Meta) -> Facts {
    let f = Facts::of(meta);
    gw.version_states
        .insert_if(generation, (a.to_string(), c.to_string()), f);
    f
}

/// What object requests need to know of a container: its versioning, both kinds, and
/// whether it has a quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// Object versioning (`X-Versions-Enabled`).
    pub state: State,
    /// Whether legacy versioned writes (`X-Versions-Location` / `X-History-Location`) are on.
    pub legacy: bool,
    /// Whether a container quota is set ([`crate::quota`]).
    pub quota: bool,
}

impl Default for Facts {
    fn default() -> Self {
        Facts {
            state: State::Never,
            legacy: false,
            quota: false,
        }
    }
}

impl Facts {
    /// From a container's metadata.
    pub fn of(meta: &Meta) -> Self {
        let location = crate::handlers::versioned_writes::SYSMETA_LOCATION;
        Facts {
            state: State::of(meta),
            legacy: meta.get(location).is_some_and(|l| !l.is_empty()),
            quota: crate::quota::Quota::present(meta),
        }
    }
}

type Key = (String, String);

/// Each container's versioning facts as last read, so that object requests do not read the
/// container's metadata again each time (a HEAD costs little more than that read). Only a
/// container PUT, POST or DELETE through this gateway changes them: each forgets the
/// container's entry and moves the generation on, before and after its write, and a
/// metadata read is cached only if no generation passed during it. The map is emptied when
/// it grows past [`StateCache::MAX`].
#[derive(Default)]
pub struct StateCache {
    map: std::sync::Mutex<std::collections::HashMap<Key, Facts>>,
    generation: std::sync::atomic::AtomicU64,
}

impl StateCache {
    /// Entries kept at most.
    pub const MAX: usize = 65_536;

    fn map(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<Key, Facts>> {
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The current generation (take it before reading a container's metadata).
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn get(&self, key: &Key) -> Option<Facts> {
        self.map().get(key).copied()
    }

    fn insert_if(&self, generation: u64, key: Key, f: Facts) {
        let mut m = self.map();
        // Checked under the lock: `forget` moves the generation on under it too.
        if self.generation() != generation {
            return;
        }
        if m.len() >= Self::MAX {
            m.clear();
        }
        m.insert(key, f);
    }

    /// Forgets a container's facts (its metadata is being changed).
    pub fn forget(&self, a: &str, c: &str) {
        let mut m = self.map();
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        m.remove(&(a.to_string(), c.to_string()));
    }
}

/// The file of a kept version.
pub fn version_path(gw: &Gateway, a: &str, c: &str, o: &str, id: &str) -> PathBuf {
    object_versions_dir(&gw.store.account_dir(a), c, o).join(id)
}

/// Whether `path` is a regular file (not a symlink, not a directory).
fn is_plain_file(path: &Path) -> bool {
    path.symlink_metadata().is_ok_and(|m| m.is_file())
}

/// Keeps the current object of `o` as a version if it has a version id (call under the
/// object's commit lock, before replacing or removing its file).
pub fn keep_current(gw: &Gateway, a: &str, c: &str, o: &str, path: &Path) -> SwiftResult<()> {
    if let Some(id) = gw.index.current_version(a, c, o)? {
        if is_plain_file(path) {
            archive(gw, a, c, o, path, &id)?;
        }
        gw.index.set_current_version(a, c, o, None)?;
    }
    Ok(())
}

/// With versioning enabled, keeps a current object without a version id (the null version)
/// under the id of its timestamp, as Swift copies it into the versions container.
pub fn keep_null(gw: &Gateway, a: &str, c: &str, o: &str, path: &Path) -> SwiftResult<()> {
    if gw.index.current_version(a, c, o)?.is_some() || !is_plain_file(path) {
        return Ok(());
    }
    let info = gw.load_object_at(a, c, o, path.to_path_buf())?;
    let id = VersionId::of(info.timestamp()).as_string();
    archive(gw, a, c, o, path, &id)
}

/// Hard-links the current file into the versions directory as version `id`, with its
/// metadata (without its expiry: a version does not expire, as in Swift) and a record.
fn archive(gw: &Gateway, a: &str, c: &str, o: &str, path: &Path, id: &str) -> SwiftResult<()> {
    let info = gw.load_object_at(a, c, o, path.to_path_buf())?;
    let dir = object_versions_dir(&gw.store.account_dir(a), c, o);
    std::fs::create_dir_all(&dir).map_err(|e| SwiftError::io("create", &dir, e))?;
    let vpath = dir.join(id);
    match std::fs::remove_file(&vpath) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(SwiftError::io("replace version", &vpath, e)),
    }
    std::fs::hard_link(path, &vpath).map_err(|e| SwiftError::io("keep version", &vpath, e))?;
    let mut meta = info.meta.clone();
    meta.remove(keys::DELETE_AT);
    gw.meta
        .write_path(&vpath, &version_key(a, c, o, id), &meta)?;
    fsync_dir(&dir)?;
    let rec = info.record(o, 0);
    gw.index.put_version(
        a,
        c,
        &VersionRecord {
            name: o.to_string(),
            version_id: id.to_string(),
            size: rec.size,
            etag: rec.etag,
            content_type: rec.content_type,
            timestamp: rec.timestamp,
            marker: false,
        },
    )?;
    Ok(())
}

/// After a write of `o` committed (under its commit lock): with versioning enabled it is
/// the version of its timestamp, else the null version. Returns its version id.
pub fn after_write(
    gw: &Gateway,
    a: &str,
    c: &str,
    o: &str,
    info: &ObjectInfo,
    state: State,
) -> SwiftResult<Option<String>> {
    let id = (state == State::Enabled).then(|| VersionId::of(info.timestamp()).as_string());
    gw.index.set_current_version(a, c, o, id.as_deref())?;
    Ok(id)
}

/// Records a delete marker for `o` now; returns its id.
pub fn write_marker(gw: &Gateway, a: &str, c: &str, o: &str) -> SwiftResult<String> {
    let ts = Timestamp::now();
    let id = VersionId::of(ts).as_string();
    gw.index.put_version(
        a,
        c,
        &VersionRecord {
            name: o.to_string(),
            version_id: id.clone(),
            size: 0,
            etag: EMPTY_MD5.to_string(),
            content_type: DELETE_MARKER_CONTENT_TYPE.to_string(),
            timestamp: ts.to_x_timestamp(),
            marker: true,
        },
    )?;
    Ok(id)
}

/// A version asked for by id.
#[derive(Debug)]
pub enum Found {
    /// The current object has this id.
    Current(ObjectInfo),
    /// A kept version.
    Kept(ObjectInfo),
    /// A delete marker.
    Marker,
    /// No such version.
    Missing,
}

/// Finds version `id` of `o`.
pub fn find(gw: &Gateway, a: &str, c: &str, o: &str, id: &str) -> SwiftResult<Found> {
    if gw.index.current_version(a, c, o)?.as_deref() == Some(id) {
        return match gw.load_object(a, c, o) {
            Ok(info) => Ok(Found::Current(info)),
            Err(SwiftError::NotFound) => Ok(Found::Missing),
            Err(e) => Err(e),
        };
    }
    let Some(rec) = gw.index.get_version(a, c, o, id)? else {
        return Ok(Found::Missing);
    };
    if rec.marker {
        return Ok(Found::Marker);
    }
    let path = version_path(gw, a, c, o, id);
    gw.store.check_inside(a, &path)?;
    let md = match path.symlink_metadata() {
        Ok(md) if md.is_file() => md,
        _ => return Ok(Found::Missing),
    };
    let mut meta = gw
        .meta
        .read(&path, &version_key(a, c, o, id))?
        .unwrap_or_default();
    meta.remove(keys::DELETE_AT);
    Ok(Found::Kept(ObjectInfo {
        path,
        file_size: md.len(),
        meta,
    }))
}

/// Removes version `id` of `o` (its file and record, or the current object when it is that
/// version). Returns whether it existed and the current object's version id afterwards
/// (`None`: none, or the null version).
pub fn delete_version(
    gw: &Gateway,
    a: &str,
    c: &str,
    o: &str,
    id: &str,
) -> SwiftResult<(bool, Option<String>)> {
    let current = gw.index.current_version(a, c, o)?;
    if current.as_deref() == Some(id) {
        // Not kept: the version itself goes.
        gw.index.set_current_version(a, c, o, None)?;
        let existed = gw.delete_object(a, c, o)?;
        return Ok((existed, None));
    }
    let _guard = gw.commit_locks.lock(a, c, o);
    let existed = gw.index.get_version(a, c, o, id)?.is_some();
    let path = version_path(gw, a, c, o, id);
    remove_version_file(gw, a, c, &path)?;
    gw.meta.forget(&version_key(a, c, o, id))?;
    gw.index.remove_version(a, c, o, id)?;
    Ok((existed, current))
}

/// Removes a kept version's file and the directories it leaves empty.
fn remove_version_file(gw: &Gateway, a: &str, c: &str, path: &Path) -> SwiftResult<()> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(SwiftError::io("remove version", path, e)),
    }
    let top = super::container_versions_dir(&gw.store.account_dir(a), c);
    let mut dir = path.parent().map(Path::to_path_buf);
    while let Some(d) = dir {
        if !d.starts_with(&top) || std::fs::remove_dir(&d).is_err() {
            break;
        }
        dir = d.parent().map(Path::to_path_buf);
    }
    Ok(())
}

/// Makes kept version `id` the current object of `o` again (`PUT ?version-id`): the
/// current one is kept if it has a version id, the version's file moves into place.
pub fn restore(gw: &Gateway, a: &str, c: &str, o: &str, id: &str) -> SwiftResult<ObjectInfo> {
    let target = gw.store.object_path(a, c, o)?;
    if gw.index.current_version(a, c, o)?.as_deref() == Some(id) {
        return gw.load_object(a, c, o);
    }
    let _guard = gw.commit_locks.lock(a, c, o);
    let rec = gw.index.get_version(a, c, o, id)?;
    let vpath = version_path(gw, a, c, o, id);
    if rec.is_none_or(|r| r.marker) || !is_plain_file(&vpath) {
        return Err(SwiftError::NotFound);
    }
    if target.is_dir() {
        return Err(SwiftError::Conflict(format!(
            "{o} is a directory in the tree"
        )));
    }
    let cdir = gw.store.checked_container_dir(a, c)?;
    gw.store.make_parents(&cdir, &target)?;
    keep_current(gw, a, c, o, &target)?;
    let meta = gw
        .meta
        .read(&vpath, &version_key(a, c, o, id))?
        .unwrap_or_default();
    std::fs::rename(&vpath, &target).map_err(|e| SwiftError::io("restore version", &target, e))?;
    gw.meta.write_path(&target, &object_key(a, c, o), &meta)?;
    gw.meta.forget(&version_key(a, c, o, id))?;
    gw.index.remove_version(a, c, o, id)?;
    remove_version_file(gw, a, c, &vpath)?;
    let info = gw.load_object_at(a, c, o, target)?;
    let md = std::fs::metadata(&info.path).map_err(|e| SwiftError::io("stat", &info.path, e))?;
    gw.index_object(a, c, o, &info, crate::gateway::mtime_ns(&md))?;
    gw.index.set_current_version(a, c, o, Some(id))?;
    Ok(info)
}

/// Before a container is deleted: a 409 while it keeps versions (Swift's text).
pub fn check_deletable(gw: &Gateway, a: &str, c: &str) -> SwiftResult<()> {
    if gw.index.version_count(a, c)? > 0 {
        return Err(SwiftError::Conflict(
            "Delete all versions before deleting container.".into(),
        ));
    }
    Ok(())
}

/// After a container was deleted: its (empty) versions directory and records go.
pub fn forget_container(gw: &Gateway, a: &str, c: &str) -> SwiftResult<()> {
    let dir = super::container_versions_dir(&gw.store.account_dir(a), c);
    if dir.is_dir() {
        std::fs::remove_dir_all(&dir).map_err(|e| SwiftError::io("remove", &dir, e))?;
    }
    gw.index.forget_versions(a, c)?;
    Ok(())
}

#[cfg(test)]
mod state_cache_tests {
    use super::*;

    fn enabled() -> Facts {
        Facts {
            state: State::Enabled,
            ..Facts::default()
        }
    }

    #[test]
    fn remembers_forgets_and_stays_bounded() {
        let cache = StateCache::default();
        let key = |c: &str| ("a".to_string(), c.to_string());
        assert_eq!(cache.get(&key("c")), None);
        cache.insert_if(cache.generation(), key("c"), enabled());
        assert_eq!(cache.get(&key("c")), Some(enabled()));
        cache.forget("a", "c");
        assert_eq!(cache.get(&key("c")), None);
        for i in 0..StateCache::MAX {
            cache.insert_if(cache.generation(), key(&i.to_string()), Facts::default());
        }
        cache.insert_if(cache.generation(), key("last"), enabled());
        assert_eq!(cache.map().len(), 1, "emptied once full");
        assert_eq!(cache.get(&key("last")), Some(enabled()));
    }

    #[test]
    fn a_read_that_a_change_overtook_is_not_cached() {
        let cache = StateCache::default();
        let key = ("a".to_string(), "c".to_string());
        let before = cache.generation();
        // A container POST forgets (twice, around its write) while the read is under way.
        cache.forget("a", "other");
        cache.insert_if(before, key.clone(), enabled());
        assert_eq!(cache.get(&key), None, "the read may hold the old metadata");
        cache.insert_if(cache.generation(), key.clone(), enabled());
        assert_eq!(cache.get(&key), Some(enabled()));
    }

    #[test]
    fn facts_of_metadata() {
        let mut meta = Meta::new();
        assert_eq!(Facts::of(&meta), Facts::default());
        meta.insert(
            crate::handlers::versioned_writes::SYSMETA_LOCATION.into(),
            "v".into(),
        );
        assert!(Facts::of(&meta).legacy);
        meta.insert(
            crate::handlers::versioned_writes::SYSMETA_LOCATION.into(),
            String::new(),
        );
        assert!(!Facts::of(&meta).legacy, "an empty location is off");
    }
}
