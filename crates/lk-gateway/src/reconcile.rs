// SPDX-License-Identifier: Apache-2.0
//! Start-up reconciliation of index and tree (blocking).
//!
//! The tree wins: files added while the gateway was down are indexed (their ETag computed and
//! metadata written), files changed are re-read, entries whose file is gone are dropped,
//! containers are added and removed likewise. A file whose size and mtime match its index
//! entry costs one `stat`, so a restart over a large unchanged tree is a directory walk.
//! Gateway temp files and directories are never indexed; those older than [`STALE_TEMP`]
//! (left by a crash) are removed, unless a temp directory holds an object's only copy. Symlinks and names that are not valid object names are skipped.

use std::collections::{HashMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::error::{SwiftError, SwiftResult};
use crate::gateway::{container_key, Gateway};
use crate::layout::{decode_container, decode_entry, Decoded, Skip};
use crate::meta::keys;
use crate::path::{check_container_name, check_object_name, TMP_PREFIX};
use crate::time::Timestamp;

/// Temp files older than this are leftovers of a crash.
pub const STALE_TEMP: Duration = Duration::from_secs(600);

/// What a reconciliation changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Containers found in the tree only.
    pub containers_added: usize,
    /// Containers found in the index only.
    pub containers_removed: usize,
    /// Objects found in the tree only.
    pub objects_added: usize,
    /// Objects whose file changed.
    pub objects_updated: usize,
    /// Objects found in the index only.
    pub objects_removed: usize,
    /// Stale temp files removed.
    pub temps_removed: usize,
    /// Objects left as they were.
    pub objects_unchanged: usize,
}

fn valid_utf8(name: &std::ffi::OsStr) -> Option<&str> {
    name.to_str()
}

/// Reconciles every account: configured ones, ones in the index, and directories under the
/// root that are valid account names.
pub fn reconcile(gw: &Gateway, configured: &[String]) -> SwiftResult<Report> {
    let mut accounts: HashSet<String> = configured.iter().cloned().collect();
    accounts.extend(gw.index.account_names()?);
    if let Ok(rd) = std::fs::read_dir(gw.store.root()) {
        for e in rd.flatten() {
            if let Some(n) = valid_utf8(&e.file_name()) {
                if crate::config::valid_account_name(n) && e.path().is_dir() {
                    accounts.insert(n.to_string());
                }
            }
        }
    }
    let mut report = Report::default();
    for a in accounts {
        reconcile_account(gw, &a, &mut report)?;
    }
    Ok(report)
}

fn reconcile_account(gw: &Gateway, a: &str, report: &mut Report) -> SwiftResult<()> {
    let adir = gw.store.account_dir(a);
    let indexed: HashSet<String> = gw.index.container_names(a)?.into_iter().collect();
    // Container name -> its directory's file name.
    let mut on_disk = HashMap::new();
    if let Ok(rd) = std::fs::read_dir(&adir) {
        for e in rd.flatten() {
            let Ok(ft) = e.file_type() else { continue };
            let Some(n) = valid_utf8(&e.file_name()).map(str::to_string) else {
                continue;
            };
            if !ft.is_dir() {
                continue;
            }
            let Some(c) = named(decode_container(&n, |h| gw.index.long_name(h))?, &adir, &n) else {
                continue;
            };
            if check_container_name(&c, &gw.settings.limits).is_ok() {
                on_disk.insert(c, n);
            }
        }
    }
    for c in indexed.iter().filter(|c| !on_disk.contains_key(*c)) {
        gw.index.remove_container(a, c)?;
        report.containers_removed += 1;
    }
    for (c, n) in &on_disk {
        let dir = adir.join(n);
        if !indexed.contains(c) {
            let ts = match gw.meta.read(&dir, &container_key(a, c))? {
                Some(m) if m.contains_key(keys::TIMESTAMP) => m[keys::TIMESTAMP].clone(),
                _ => std::fs::metadata(&dir)
                    .map(|m| Timestamp::from_nanos(m.mtime() * 1_000_000_000).to_x_timestamp())
                    .unwrap_or_else(|_| Timestamp::now().to_x_timestamp()),
            };
            gw.index.ensure_container(a, c, &ts)?;
            report.containers_added += 1;
        }
        reconcile_container(gw, a, c, &dir, report)?;
    }
    Ok(())
}

fn reconcile_container(
    gw: &Gateway,
    a: &str,
    c: &str,
    dir: &Path,
    report: &mut Report,
) -> SwiftResult<()> {
    let mut states: HashMap<String, (u64, i64)> = gw.index.object_states(a, c)?;
    let now = SystemTime::now();
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((d, prefix)) = stack.pop() {
        let rd = match std::fs::read_dir(&d) {
            Ok(rd) => rd,
            Err(e) => return Err(SwiftError::io("read directory", &d, e)),
        };
        for e in rd.flatten() {
            let Some(n) = valid_utf8(&e.file_name()).map(str::to_string) else {
                continue;
            };
            let Ok(md) = e.path().symlink_metadata() else {
                continue;
            };
            let ft = md.file_type();
            if n.starts_with(TMP_PREFIX) {
                let old = md.modified().ok().and_then(|m| now.duration_since(m).ok());
                if old.is_some_and(|age| age > STALE_TEMP) && remove_stale_temp(&e.path(), ft) {
                    report.temps_removed += 1;
                }
                continue;
            }
            let decoded = decode_entry(&prefix, &n, &mut |h| gw.index.long_name(h))?;
            let name = match (decoded, ft.is_dir()) {
                (Decoded::Name(name), true) => {
                    stack.push((e.path(), format!("{name}/")));
                    continue;
                }
                (Decoded::Name(name) | Decoded::SelfOf(name), false) => name,
                (other, _) => {
                    named(other, &d, &n);
                    continue;
                }
            };
            if !ft.is_file() || check_object_name(&name, &gw.settings.limits).is_err() {
                continue;
            }
            let mt = md.mtime() * 1_000_000_000 + md.mtime_nsec();
            match states.remove(&name) {
                Some((size, m))
                    if m == mt && (size == md.len() || size_may_differ(gw, a, c, &name)) =>
                {
                    report.objects_unchanged += 1;
                    continue;
                }
                Some(_) => report.objects_updated += 1,
                None => report.objects_added += 1,
            }
            let info = match gw.load_object_at(a, c, &name, e.path()) {
                Ok(i) => i,
                Err(SwiftError::NotFound) => continue, // deleted meanwhile
                Err(err) => {
                    tracing::warn!(object = %name, error = %err, "cannot index object");
                    continue;
                }
            };
            gw.index.upsert_object(a, c, &info.record(&name, mt))?;
        }
    }
    for name in states.keys() {
        gw.index.remove_object(a, c, name)?;
        report.objects_removed += 1;
    }
    Ok(())
}

/// Removes a crash's leftover temp: a temp file (an upload that never committed), or a
/// temp directory of [`crate::selfdir`] holding nothing but a second link of an object
/// (`.lk-self` whose inode has another link: the object is still in place). A directory
/// whose `.lk-self` is the only link (a crash in the middle of the non-atomic fallback) is
/// the object's only copy: it is kept and named in the log. Whether it was removed.
fn remove_stale_temp(path: &Path, ft: std::fs::FileType) -> bool {
    if ft.is_file() {
        return std::fs::remove_file(path).is_ok();
    }
    if !ft.is_dir() {
        return false;
    }
    let Ok(rd) = std::fs::read_dir(path) else {
        return false;
    };
    let entries: Vec<_> = rd.flatten().collect();
    let only_spare_links = entries.iter().all(|e| {
        e.file_name() == crate::layout::SELF_FILE
            && e.path()
                .symlink_metadata()
                .is_ok_and(|m| m.is_file() && m.nlink() > 1)
    });
    if !only_spare_links {
        tracing::warn!(dir = %path.display(), "a leftover temp directory holds an object's only copy; kept");
        return false;
    }
    entries
        .iter()
        .all(|e| std::fs::remove_file(e.path()).is_ok())
        && std::fs::remove_dir(path).is_ok()
}

/// The name a decoded entry holds; a `.lk-long-` name the index does not know is logged.
fn named(d: Decoded, dir: &Path, file_name: &str) -> Option<String> {
    match d {
        Decoded::Name(n) | Decoded::SelfOf(n) => Some(n),
        Decoded::Skip(Skip::UnknownLong(_)) => {
            tracing::warn!(dir = %dir.display(), file = file_name, "unknown long name skipped");
            None
        }
        Decoded::Skip(Skip::Reserved) => None,
    }
}

/// An SLO manifest is listed with its logical size, and a DLO whose file holds its segments
/// with its manifest's (0), not their file size.
fn size_may_differ(gw: &Gateway, a: &str, c: &str, name: &str) -> bool {
    gw.load_object(a, c, name)
        .is_ok_and(|i| i.is_slo() || i.dlo_file_etag().is_some())
}
