// SPDX-License-Identifier: Apache-2.0
//! Whether an SLO's segments are still what its manifest names.
//!
//! An SLO's file keeps the bytes it was written with: a POSIX reader of the tree always
//! reads the whole object, whatever happens to its segments later. Swift, though, reads the
//! segments at every GET and fails one that is gone or no longer has the ETag the manifest
//! recorded (a 409 when the first segment fails, a body cut short otherwise). The API keeps
//! Swift's contract: a GET of such an SLO is a 409, decided before any byte is sent. A HEAD
//! reads no segment, in Swift as here, so it still answers from the manifest.

use super::large::{read_manifest, ManifestItem, MAX_SLO_DEPTH};
use crate::error::{SwiftError, SwiftResult};
use crate::expiry;
use crate::gateway::{Gateway, ObjectInfo};
use crate::meta::keys;

/// Swift's page for a large object whose segments cannot be read.
pub const CONFLICT_PAGE: &str = "<html><h1>Conflict</h1><p>There was a conflict when trying to \
                                 complete your request.</p></html>";

/// The 409 a GET of a broken SLO answers.
pub fn conflict() -> SwiftError {
    SwiftError::Plain {
        status: http::StatusCode::CONFLICT,
        text: CONFLICT_PAGE.into(),
    }
}

/// The first segment of the SLO `info` (account `a`) that is gone or changed since its
/// manifest was written, as `"/container/object"` with the reason; `None` when every one
/// is as the manifest names it. Sub-SLOs are checked through (down to [`MAX_SLO_DEPTH`]);
/// a segment that is a symlink is checked for being there, not for its target's ETag.
pub fn broken_segment(
    gw: &Gateway,
    a: &str,
    info: &ObjectInfo,
    depth: usize,
) -> SwiftResult<Option<String>> {
    if depth > MAX_SLO_DEPTH {
        return Ok(None);
    }
    let now = expiry::now_secs();
    for item in read_manifest(gw, info)? {
        let ManifestItem::Object(s, c, o) = item else {
            continue;
        };
        let seg = match gw.load_object(a, &c, &o) {
            Ok(seg) if !expiry::expired(&seg.meta, now) => seg,
            Ok(_) | Err(SwiftError::NotFound) => return Ok(Some(format!("{} is gone", s.name))),
            Err(e) => return Err(e),
        };
        if seg.link().is_some() {
            continue;
        }
        if s.sub_slo && !seg.is_slo() {
            return Ok(Some(format!("{} is no longer an SLO", s.name)));
        }
        let etag = match s.sub_slo {
            true => seg.meta.get(keys::SLO_ETAG).map_or("", String::as_str),
            false => seg.etag(),
        };
        if !s.hash.is_empty() && !s.hash.trim_matches('"').eq_ignore_ascii_case(etag) {
            return Ok(Some(format!("{} has changed", s.name)));
        }
        if s.sub_slo {
            if let Some(why) = broken_segment(gw, a, &seg, depth + 1)? {
                return Ok(Some(why));
            }
        }
    }
    Ok(None)
}
