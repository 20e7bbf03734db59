// SPDX-License-Identifier: Apache-2.0
//! DLOs as files: the file of a DLO manifest holds the bytes of its segments, so a job
//! reading `ROOT/ACCOUNT/CONTAINER/OBJECT` through POSIX reads the whole object, as it does
//! for an SLO.
//!
//! - Which: a DLO whose manifest's own bytes are empty (what clients send). A manifest with a
//!   body keeps it as its file: those bytes are the object's too (`?multipart-manifest=get`).
//! - When: indexing such a manifest records a *view* (its segment container and prefix) in
//!   the index; triggers there mark the view dirty whenever an object of that container under
//!   that prefix is added, changed, renamed or removed, by the gateway or through POSIX (the
//!   sync daemon). The refresher ([`run_refresher`]) rewrites the file of every dirty view
//!   every [`REFRESH_INTERVAL`]: the segments' bytes, in listing order, as a PUT writes a body
//!   (temp file, fsync, rename), committed only if the manifest was not written meanwhile.
//! - What a client sees is unchanged, as in Swift: a GET lists the segments with the caller's
//!   rights and serves them; when they are what the file holds (same DLO ETag and size) it
//!   streams the file instead. `?multipart-manifest=get` answers the manifest's own (empty)
//!   bytes, listings its empty size and MD5, as Swift lists a DLO.
//! - So the file follows the segments with the refresher's delay: written in the pass after
//!   the manifest, and again after any segment change (overwritten, added, deleted).
//! - A POST that ends the DLO empties its file (the object is then its own empty bytes); a
//!   file rewritten through POSIX is a plain object with those bytes.

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use crate::body::Source;
use crate::error::{SwiftError, SwiftResult};
use crate::gateway::{blocking, Gateway, ObjectInfo, PutSpec};
use crate::index::DloView;
use crate::meta::keys;

/// How often dirty views are refreshed.
pub const REFRESH_INTERVAL: Duration = Duration::from_millis(500);

/// Views refreshed per pass (the rest wait for the next one).
const PASS: usize = 100;

/// `CONTAINER/PREFIX` of an `X-Object-Manifest` value, percent-decoded; `None` when it is
/// not of that form.
pub fn parse_manifest_value(m: &str) -> Option<(String, String)> {
    let v = crate::path::decode(m).ok()?;
    let (c, prefix) = v.split_once('/')?;
    (!c.is_empty()).then(|| (c.to_string(), prefix.to_string()))
}

/// The view an object's index entry carries: (segment container, prefix) of a DLO whose file
/// holds, or is to hold, its segments' bytes.
pub fn view_of(info: &ObjectInfo) -> Option<(String, String)> {
    let manifest = info.dlo()?;
    if info.dlo_file_etag().is_none() && info.file_size != 0 {
        return None; // a manifest with its own bytes keeps them
    }
    parse_manifest_value(manifest)
}

/// Refreshes dirty views forever (spawned by the server).
pub async fn run_refresher(gw: Arc<Gateway>) {
    let mut tick = tokio::time::interval(REFRESH_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let g = gw.clone();
        match blocking(move || refresh_dirty(&g)).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(rewritten = n, "DLO files refreshed"),
            Err(e) => tracing::warn!(
                error = %crate::server::DisplayChain(&e),
                "DLO refresh pass failed"
            ),
        }
    }
}

/// One refresher pass (blocking): returns how many files were rewritten. A view whose
/// refresh failed (a segment changed while it was read, the manifest written meanwhile) is
/// marked dirty again for the next pass.
pub fn refresh_dirty(gw: &Gateway) -> SwiftResult<usize> {
    let mut rewritten = 0;
    for v in gw.index.take_dirty_dlo_views(PASS)? {
        match refresh(gw, &v) {
            Ok(true) => rewritten += 1,
            Ok(false) => {}
            Err(e) => {
                tracing::debug!(
                    account = %v.account, container = %v.container, object = %v.name,
                    error = %crate::server::DisplayChain(&e), "DLO file not refreshed yet"
                );
                gw.index
                    .mark_dlo_view_dirty(&v.account, &v.container, &v.name)?;
            }
        }
    }
    Ok(rewritten)
}

/// Brings one DLO's file up to date with its segments; `Ok(false)` when it already was (or
/// the object is no longer such a DLO, whose view is then forgotten).
pub fn refresh(gw: &Gateway, v: &DloView) -> SwiftResult<bool> {
    let (a, c, o) = (v.account.as_str(), v.container.as_str(), v.name.as_str());
    let info = match gw.load_object(a, c, o) {
        Ok(info) => info,
        Err(SwiftError::NotFound) => return forget(gw, v).map(|()| false),
        Err(e) => return Err(e),
    };
    let Some((seg_c, prefix)) = view_of(&info) else {
        return forget(gw, v).map(|()| false);
    };
    let segments = crate::handlers::large::resolve_dlo(gw, a, &seg_c, &prefix)?;
    if info.dlo_file_etag() == Some(segments.etag.as_str()) && info.file_size == segments.total {
        return Ok(false);
    }
    let mut meta = info.meta.clone();
    meta.insert(keys::DLO_ETAG.into(), segments.etag.clone());
    let spec = PutSpec {
        account: a.into(),
        container: c.into(),
        object: o.into(),
        meta,
        expected_etag: None,
        expected_len: Some(segments.total),
        if_none_match_any: false,
        // The object's ETag stays its manifest's (the MD5 of its own empty bytes).
        stored_etag: Some(info.etag().to_string()),
        keep_version: info.meta.get(keys::TIMESTAMP).cloned(),
    };
    let mut up = gw.begin_put(&spec)?;
    let mut buf = vec![0u8; 1 << 20];
    for s in &segments.segments {
        let Source::File(path) = &s.source else {
            return Err(SwiftError::Internal(
                "a DLO segment that is not a file".into(),
            ));
        };
        let f = crate::store::open_read(path).map_err(|e| SwiftError::io("open", path, e))?;
        let mut r = f.take(s.len);
        let mut got = 0u64;
        loop {
            let n = r
                .read(&mut buf)
                .map_err(|e| SwiftError::io("read", path, e))?;
            if n == 0 {
                break;
            }
            up.sink.write(&buf[..n])?;
            got += n as u64;
        }
        if got != s.len {
            return Err(SwiftError::Conflict(format!(
                "segment {} changed while it was read",
                path.display()
            )));
        }
    }
    gw.finish_put(&spec, up)?;
    Ok(true)
}

fn forget(gw: &Gateway, v: &DloView) -> SwiftResult<()> {
    gw.index
        .batch(|b| b.set_dlo_view(&v.account, &v.container, &v.name, None))?;
    Ok(())
}

/// A POST ended the DLO `info` whose file held its segments: the object is now its
/// manifest's own bytes, which were empty. Empties the file and updates `info` to match,
/// before its metadata is written.
pub fn end_file(info: &mut ObjectInfo) -> SwiftResult<()> {
    if info.meta.remove(keys::DLO_ETAG).is_none() {
        return Ok(());
    }
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&info.path)
        .map_err(|e| SwiftError::io("open", &info.path, e))?;
    f.set_len(0)
        .map_err(|e| SwiftError::io("truncate", &info.path, e))?;
    f.sync_all()
        .map_err(|e| SwiftError::io("fsync", &info.path, e))?;
    let md = f
        .metadata()
        .map_err(|e| SwiftError::io("stat", &info.path, e))?;
    info.file_size = 0;
    info.meta.insert(keys::LENGTH.into(), "0".into());
    info.meta.insert(
        keys::MTIME.into(),
        crate::gateway::mtime_ns(&md).to_string(),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::Meta;

    fn info(meta: &[(&str, &str)], size: u64) -> ObjectInfo {
        ObjectInfo {
            path: "/nonexistent".into(),
            file_size: size,
            meta: meta
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Meta>(),
        }
    }

    #[test]
    fn manifest_values_are_decoded_container_and_prefix() {
        let v = |s: &str| parse_manifest_value(s);
        assert_eq!(v("seg/part-"), Some(("seg".into(), "part-".into())));
        assert_eq!(v("seg/"), Some(("seg".into(), String::new())));
        assert_eq!(v("s%20g/a%2Fb"), Some(("s g".into(), "a/b".into())));
        assert_eq!(v("seg"), None);
        assert_eq!(v("/x"), None);
        assert_eq!(v("%ff/x"), None);
    }

    #[test]
    fn only_dlos_without_their_own_bytes_get_a_view() {
        let m = keys::MANIFEST;
        assert_eq!(
            view_of(&info(&[(m, "seg/p")], 0)),
            Some(("seg".into(), "p".into()))
        );
        // Its own bytes: they are the file.
        assert_eq!(view_of(&info(&[(m, "seg/p")], 3)), None);
        // Already holding its segments' bytes.
        assert_eq!(
            view_of(&info(&[(m, "seg/p"), (keys::DLO_ETAG, "e")], 8)),
            Some(("seg".into(), "p".into()))
        );
        assert_eq!(view_of(&info(&[], 0)), None);
        // A leftover DLO ETag without a manifest is no DLO.
        assert_eq!(view_of(&info(&[(keys::DLO_ETAG, "e")], 8)), None);
    }
}
