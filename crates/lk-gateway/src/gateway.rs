// SPDX-License-Identifier: Apache-2.0
//! The shared gateway state and the object model over the tree: reading an object's
//! metadata (recomputing it when the file was changed outside the gateway). Writing an
//! object is [`crate::put`].

use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use md5::{Digest, Md5};

use crate::auth::Auth;
use crate::config::Settings;
use crate::error::{SwiftError, SwiftResult};
use crate::index::{Entry, Index, ListParams, ObjectRecord};
use crate::meta::{keys, Meta, MetaStore};
use crate::store::Store;
use crate::time::Timestamp;

/// Everything a request handler needs.
pub struct Gateway {
    /// Resolved settings.
    pub settings: Settings,
    /// The tree.
    pub store: Store,
    /// The listing index.
    pub index: Arc<Index>,
    /// Metadata (xattrs + side store).
    pub meta: MetaStore,
    /// tempauth.
    pub auth: Auth,
    /// Upload slots (see [`crate::uploads`]).
    pub uploads: Arc<crate::uploads::Uploads>,
    /// Striped locks serializing "rename/unlink + index update" per object name, so the index
    /// always ends with the entry of the file that won.
    pub commit_locks: CommitLocks,
    /// Containers' versioning facts (see [`crate::versioning::store::StateCache`]).
    pub version_states: crate::versioning::store::StateCache,
}

/// A fixed set of mutexes picked by hashing the object's full name.
pub struct CommitLocks(Vec<std::sync::Mutex<()>>);

impl Default for CommitLocks {
    fn default() -> Self {
        CommitLocks((0..256).map(|_| std::sync::Mutex::new(())).collect())
    }
}

impl CommitLocks {
    /// Locks the stripe of `a/c/o`.
    pub fn lock(&self, a: &str, c: &str, o: &str) -> std::sync::MutexGuard<'_, ()> {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (a, c, o).hash(&mut h);
        let m = &self.0[(h.finish() % self.0.len() as u64) as usize];
        m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Side-store / log key of an object.
pub fn object_key(a: &str, c: &str, o: &str) -> String {
    format!("o/{a}/{c}/{o}")
}

/// Side-store key of a container.
pub fn container_key(a: &str, c: &str) -> String {
    format!("c/{a}/{c}")
}

/// Side-store key of an account.
pub fn account_key(a: &str) -> String {
    format!("a/{a}")
}

/// An object as found in the tree.
#[derive(Debug, Clone)]
pub struct ObjectInfo {
    /// The file.
    pub path: PathBuf,
    /// Its size on disk.
    pub file_size: u64,
    /// Its metadata (system + user).
    pub meta: Meta,
}

impl ObjectInfo {
    /// MD5 of the file (unquoted).
    pub fn etag(&self) -> &str {
        self.meta.get(keys::ETAG).map(String::as_str).unwrap_or("")
    }
    /// X-Timestamp.
    pub fn timestamp(&self) -> Timestamp {
        self.meta
            .get(keys::TIMESTAMP)
            .and_then(|t| Timestamp::parse(t))
            .unwrap_or(Timestamp(0))
    }
    /// Content-Type.
    pub fn content_type(&self) -> &str {
        self.meta
            .get(keys::CONTENT_TYPE)
            .map(String::as_str)
            .unwrap_or("application/octet-stream")
    }
    /// Whether it is an SLO manifest.
    pub fn is_slo(&self) -> bool {
        self.meta
            .get(keys::SLO)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
    /// The stored manifest of an SLO whose file holds its bytes (none for an older SLO,
    /// whose file is the manifest).
    pub fn slo_manifest(&self) -> Option<&str> {
        self.meta.get(keys::SLO_MANIFEST).map(String::as_str)
    }
    /// DLO manifest value, if any.
    pub fn dlo(&self) -> Option<&str> {
        self.meta.get(keys::MANIFEST).map(String::as_str)
    }
    /// For a DLO whose file holds its segments' bytes: the DLO ETag of those bytes.
    pub fn dlo_file_etag(&self) -> Option<&str> {
        self.dlo()
            .and(self.meta.get(keys::DLO_ETAG))
            .map(String::as_str)
    }
    /// The symlink it is, if it is one.
    pub fn link(&self) -> Option<crate::symlink::Link> {
        crate::symlink::Link::of(&self.meta)
    }
    /// The record the index lists for it.
    pub fn record(&self, name: &str, mtime_ns: i64) -> ObjectRecord {
        let (size, etag) = if self.is_slo() {
            (
                self.meta
                    .get(keys::SLO_SIZE)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0),
                format!(
                    "{}{}{}",
                    self.etag(),
                    crate::index::SLO_ETAG_PARAM,
                    self.meta.get(keys::SLO_ETAG).map_or("", String::as_str)
                ),
            )
        } else if self.dlo_file_etag().is_some() {
            // Listed as Swift lists a DLO: its manifest's own (empty) bytes.
            (0, self.etag().to_string())
        } else {
            (self.file_size, self.etag().to_string())
        };
        let etag = match self.link() {
            Some(l) => {
                let slo = self.meta.get(crate::symlink::keys::SLO_ETAG);
                let slo = slo.map_or(String::new(), |s| {
                    format!("{}{s}", crate::index::SLO_ETAG_PARAM)
                });
                format!("{etag}{slo}{}", l.listing_params())
            }
            None => etag,
        };
        ObjectRecord {
            name: name.to_string(),
            size,
            etag,
            content_type: self.content_type().to_string(),
            timestamp: self.timestamp().to_x_timestamp(),
            mtime_ns,
        }
    }
}

/// A file's mtime in nanoseconds.
pub(crate) fn mtime_ns(md: &std::fs::Metadata) -> i64 {
    md.mtime() * 1_000_000_000 + md.mtime_nsec()
}

/// MD5 hex of a file, streamed.
pub fn md5_file(path: &Path) -> SwiftResult<(String, u64)> {
    let mut f = crate::store::open_read(path).map_err(|e| SwiftError::io("open", path, e))?;
    let mut h = Md5::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let got = f
            .read(&mut buf)
            .map_err(|e| SwiftError::io("read", path, e))?;
        if got == 0 {
            break;
        }
        h.update(&buf[..got]);
        n += got as u64;
    }
    Ok((hex::encode(h.finalize()), n))
}

/// Guesses a Content-Type from the object name (Swift does the same when none is given).
pub fn guess_content_type(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "txt" | "log" | "md" | "c" | "h" | "rs" | "py" | "sh" => "text/plain",
        "html" | "htm" => "text/html",
        "css" => "text/css",
        "csv" => "text/csv",
        "json" => "application/json",
        "xml" => "application/xml",
        "js" => "application/javascript",
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "gz" | "tgz" => "application/gzip",
        "tar" => "application/x-tar",
        "zip" => "application/zip",
        "wav" => "audio/x-wav",
        "bz2" => "application/x-bzip2",
        "xz" => "application/x-xz",
        "h5" | "hdf5" => "application/x-hdf5",
        "nc" => "application/x-netcdf",
        _ => "application/octet-stream",
    }
}

/// What a streamed PUT should check and store.
#[derive(Debug, Clone)]
pub struct PutSpec {
    /// Account.
    pub account: String,
    /// Container.
    pub container: String,
    /// Object name.
    pub object: String,
    /// Metadata to store (user meta, Content-Type, manifest markers...); ETag, length and
    /// timestamps are added here.
    pub meta: Meta,
    /// Client's ETag (unquoted), checked against the MD5 of the body.
    pub expected_etag: Option<String>,
    /// Client's Content-Length, checked against the body.
    pub expected_len: Option<u64>,
    /// `If-None-Match: *`: fail with 412 if the object exists.
    pub if_none_match_any: bool,
    /// The ETag to record instead of the body's MD5: an SLO's file holds its content, yet
    /// its ETag (the `hash` of its listing entry) is the MD5 of its manifest, as in Swift.
    pub stored_etag: Option<String>,
    /// Rewrite this version of the object only: commit while its `X-Timestamp` is still
    /// this one (else 409, the temp file gone) and keep it (the DLO refresher).
    pub keep_version: Option<String>,
}

impl Gateway {
    /// Loads an object's metadata. A file without metadata, or whose size or mtime differ
    /// from its metadata (changed through POSIX), gets its ETag recomputed and its metadata
    /// and index entry rewritten. Directories and missing files are 404.
    pub fn load_object(&self, a: &str, c: &str, o: &str) -> SwiftResult<ObjectInfo> {
        let path = self.store.object_path(a, c, o)?;
        self.load_object_at(a, c, o, path)
    }

    /// A page of a container listing with every ETag filled in. The sync lists a file written
    /// through POSIX at once and hashes it afterwards; a row still without its ETag gets the
    /// MD5 now, recorded as a read records it, so no listing shows an empty ETag. A row whose
    /// file went away meanwhile is left out.
    pub fn list_objects_hashed(
        &self,
        a: &str,
        c: &str,
        p: &ListParams,
    ) -> SwiftResult<Vec<Entry<ObjectRecord>>> {
        self.hash_entries(a, c, self.index.list_objects(a, c, p)?)
    }

    /// As [`Gateway::list_objects_hashed`] with the expired objects not removed yet
    /// ([`crate::index::Index::list_objects_with_expired`]).
    pub fn list_objects_hashed_with_expired(
        &self,
        a: &str,
        c: &str,
        p: &ListParams,
    ) -> SwiftResult<Vec<Entry<ObjectRecord>>> {
        self.hash_entries(a, c, self.index.list_objects_with_expired(a, c, p)?)
    }

    /// Listed entries with their ETags filled in (read from the objects lacking one).
    fn hash_entries(
        &self,
        a: &str,
        c: &str,
        entries: Vec<Entry<ObjectRecord>>,
    ) -> SwiftResult<Vec<Entry<ObjectRecord>>> {
        let mut out = Vec::with_capacity(entries.len());
        for e in entries {
            match e {
                Entry::Item(mut r) if r.etag.is_empty() => match self.load_object(a, c, &r.name) {
                    Ok(info) => {
                        r.etag = info.etag().to_string();
                        out.push(Entry::Item(r));
                    }
                    Err(SwiftError::NotFound) => {}
                    Err(err) => return Err(err),
                },
                other => out.push(other),
            }
        }
        Ok(out)
    }

    /// As [`Gateway::load_object`] for an already checked path.
    pub fn load_object_at(
        &self,
        a: &str,
        c: &str,
        o: &str,
        path: PathBuf,
    ) -> SwiftResult<ObjectInfo> {
        let md = match std::fs::metadata(&path) {
            Ok(md) if md.is_file() => md,
            Ok(_) => return Err(SwiftError::NotFound),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound || e.raw_os_error() == Some(20) => {
                return Err(SwiftError::NotFound)
            }
            Err(e) => return Err(SwiftError::io("stat", path, e)),
        };
        let key = object_key(a, c, o);
        let meta = self.meta.read(&path, &key)?;
        let mt = mtime_ns(&md);
        let fresh = meta.as_ref().is_some_and(|m| {
            m.get(keys::LENGTH).and_then(|l| l.parse::<u64>().ok()) == Some(md.len())
                && m.get(keys::MTIME).and_then(|t| t.parse::<i64>().ok()) == Some(mt)
                && m.contains_key(keys::ETAG)
        });
        if fresh {
            return Ok(ObjectInfo {
                path,
                file_size: md.len(),
                meta: meta.unwrap_or_default(),
            });
        }
        // Changed or created outside the gateway: recompute and record.
        let (etag, size) = md5_file(&path)?;
        let mut m = meta.unwrap_or_default();
        // A replaced file is no longer a manifest.
        m.remove(keys::SLO);
        m.remove(keys::SLO_ETAG);
        m.remove(keys::SLO_SIZE);
        m.remove(keys::SLO_MANIFEST);
        m.remove(keys::SLO_CONTAINERS);
        m.remove(keys::SLO_DEPTH);
        // Nor a symlink.
        for k in crate::symlink::keys::ALL {
            m.remove(k);
        }
        // A DLO's file that held its segments now holds what was written: a plain object.
        if m.remove(keys::DLO_ETAG).is_some() {
            m.remove(keys::MANIFEST);
        }
        m.entry(keys::CONTENT_TYPE.to_string())
            .or_insert_with(|| guess_content_type(o).to_string());
        m.insert(keys::ETAG.into(), etag);
        m.insert(keys::LENGTH.into(), size.to_string());
        m.insert(
            keys::TIMESTAMP.into(),
            Timestamp::from_nanos(mt).to_x_timestamp(),
        );
        m.insert(keys::MTIME.into(), mt.to_string());
        self.meta.write_path(&path, &key, &m)?;
        let linked = self.store.through_link(a, &path);
        let info = ObjectInfo {
            path,
            file_size: size,
            meta: m,
        };
        // Listings leave out objects reached through a symlink, as reconciliation and the
        // sync daemon do: indexing one here would list it only until their next pass.
        if !linked {
            self.index_object(a, c, o, &info, mt)?;
        }
        Ok(info)
    }

    /// Whether a container directory exists.
    pub fn container_exists(&self, a: &str, c: &str) -> SwiftResult<bool> {
        let d = self.store.checked_container_dir(a, c)?;
        Ok(d.is_dir())
    }

    /// Replaces an object's metadata in place (POST). Keeps the system keys.
    pub fn rewrite_object_meta(
        &self,
        a: &str,
        c: &str,
        o: &str,
        info: &ObjectInfo,
    ) -> SwiftResult<()> {
        self.meta
            .write_path(&info.path, &object_key(a, c, o), &info.meta)?;
        if self.store.through_link(a, &info.path) {
            return Ok(()); // not listed (see load_object_at)
        }
        let md =
            std::fs::metadata(&info.path).map_err(|e| SwiftError::io("stat", &info.path, e))?;
        self.index_object(a, c, o, info, mtime_ns(&md))
    }

    /// Lists an object, with its expiry time, in one index transaction.
    pub(crate) fn index_object(
        &self,
        a: &str,
        c: &str,
        o: &str,
        info: &ObjectInfo,
        mtime_ns: i64,
    ) -> SwiftResult<()> {
        let at = crate::expiry::delete_at(&info.meta);
        let view = crate::dlo::view_of(info);
        self.index.batch(|b| {
            b.upsert_object(a, c, &info.record(o, mtime_ns))?;
            b.set_dlo_view(
                a,
                c,
                o,
                view.as_ref().map(|(s, p)| (s.as_str(), p.as_str())),
            )?;
            b.set_expiry(a, c, o, at)
        })?;
        Ok(())
    }

    /// Deletes an object file and its index entry. Returns false when it did not exist.
    pub fn delete_object(&self, a: &str, c: &str, o: &str) -> SwiftResult<bool> {
        self.delete_object_if(a, c, o, None)
    }

    /// [`Self::delete_object`], but with `X-If-Delete-At: T` only when the object's stored
    /// expiry is exactly `T` (else 412), checked under the commit lock so a write in between
    /// cannot slip past the condition.
    pub fn delete_object_if(
        &self,
        a: &str,
        c: &str,
        o: &str,
        if_delete_at: Option<i64>,
    ) -> SwiftResult<bool> {
        let path = self.store.object_path(a, c, o)?;
        let _guard = self.commit_locks.lock(a, c, o);
        if let Some(want) = if_delete_at {
            let stored = match path.symlink_metadata() {
                Ok(_) => self.meta.read(&path, &object_key(a, c, o))?,
                Err(_) => None,
            };
            if stored.as_ref().and_then(crate::expiry::delete_at) != Some(want) {
                return Err(SwiftError::PreconditionFailed);
            }
        }
        self.delete_locked(a, c, o, &path)
    }

    /// Deletes an object if its metadata says it has expired at `now`, checked under its
    /// commit lock so an object written again meanwhile is kept. Returns whether it did.
    pub fn delete_expired(&self, a: &str, c: &str, o: &str, now: i64) -> SwiftResult<bool> {
        let path = self.store.object_path(a, c, o)?;
        let _guard = self.commit_locks.lock(a, c, o);
        let meta = match path.symlink_metadata() {
            Ok(_) => self.meta.read(&path, &object_key(a, c, o))?,
            Err(_) => None,
        };
        if !meta.is_some_and(|m| crate::expiry::expired(&m, now)) {
            return Ok(false);
        }
        self.delete_locked(a, c, o, &path)
    }

    /// The expiry time in an object's stored metadata (no ETag recomputation).
    pub fn stored_delete_at(&self, a: &str, c: &str, o: &str) -> SwiftResult<Option<i64>> {
        let path = self.store.object_path(a, c, o)?;
        if path.symlink_metadata().is_err() {
            return Ok(None);
        }
        let meta = self.meta.read(&path, &object_key(a, c, o))?;
        Ok(meta.as_ref().and_then(crate::expiry::delete_at))
    }

    fn delete_locked(&self, a: &str, c: &str, o: &str, path: &Path) -> SwiftResult<bool> {
        let cdir = self.store.checked_container_dir(a, c)?;
        // A current object with a version id stays as a kept version (only a container
        // that was ever versioned has such objects).
        if crate::versioning::store::state(self, a, c)?.versioned() {
            crate::versioning::store::keep_current(self, a, c, o, path)?;
        }
        let existed = self.store.remove_object_file(&cdir, path)?;
        let listed = self.index.remove_object(a, c, o)?;
        self.meta.forget(&object_key(a, c, o))?;
        Ok(existed || listed)
    }
}

/// Runs blocking work off the async threads.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> SwiftResult<T> + Send + 'static,
) -> SwiftResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| SwiftError::Internal(format!("blocking task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses_types() {
        assert_eq!(guess_content_type("a/b.TXT"), "text/plain");
        assert_eq!(guess_content_type("noext"), "application/octet-stream");
    }
}
