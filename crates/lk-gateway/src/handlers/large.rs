// SPDX-License-Identifier: Apache-2.0
//! Large objects.
//!
//! - DLO: an object with `X-Object-Manifest: CONTAINER/PREFIX`; its content is every object
//!   of CONTAINER whose name starts with PREFIX, in listing order (read from the index). ETag:
//!   `"MD5(concatenated segment ETags)"`.
//! - SLO: `PUT ?multipart-manifest=put` with a JSON list of `{path, etag, size_bytes, range}`;
//!   every segment is checked (exists, ETag and size match), then the manifest is stored as
//!   the object's file in Swift's internal form (`[{name, hash, bytes, content_type,
//!   last_modified, range?}]`, what `?multipart-manifest=get` returns) with
//!   `X-Static-Large-Object: True`. Segments live in the same account. Nested SLOs (an SLO as
//!   a segment) are refused.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use crate::server::RequestBody;
use bytes::Bytes;
use http::{Response, StatusCode};
use md5::{Digest, Md5};
use serde::Deserialize;

use super::bulk::{render_result, BulkResult};
use super::{authorize, finish, hv, read_body, resp, Access, Req};
use crate::body::{self, Body, Segment};
use crate::error::{SwiftError, SwiftResult};
use crate::gateway::{blocking, Gateway, ObjectInfo, PutSpec};
use crate::index::{Entry, ListParams};
use crate::meta::{check_limits, headers_to_meta, keys};
use crate::path::{decode, split_container_object};
use crate::put::write_stream;

/// What a GET streams for an object.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// File ranges, in order.
    pub segments: Vec<Segment>,
    /// Total bytes.
    pub total: u64,
    /// ETag (unquoted).
    pub etag: String,
    /// A large object (its ETag header is quoted, as in Swift).
    pub large: bool,
}

impl Resolved {
    /// A plain object: its own file.
    pub fn single(info: &ObjectInfo) -> Self {
        Resolved {
            segments: vec![Segment {
                path: info.path.clone(),
                offset: 0,
                len: info.file_size,
            }],
            total: info.file_size,
            etag: info.etag().to_string(),
            large: false,
        }
    }
}

/// One entry of a stored SLO manifest.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct StoredSegment {
    /// `/container/object`.
    pub name: String,
    /// ETag of the segment.
    pub hash: String,
    /// Bytes used from it.
    pub bytes: u64,
    /// Content type of the segment.
    #[serde(default)]
    pub content_type: String,
    /// Last modified of the segment.
    #[serde(default)]
    pub last_modified: String,
    /// `first-last` when only part of the segment is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<String>,
}

/// One entry of a manifest PUT body.
#[derive(Debug, Deserialize)]
struct PutSegment {
    path: String,
    #[serde(default)]
    etag: Option<String>,
    #[serde(default)]
    size_bytes: Option<u64>,
    #[serde(default)]
    range: Option<String>,
}

fn parse_seg_range(r: &str, size: u64) -> Option<(u64, u64)> {
    match crate::range::evaluate(Some(&format!("bytes={r}")), size) {
        crate::range::RangeOutcome::Ranges(v) if v.len() == 1 => Some(v[0]),
        _ => None,
    }
}

/// Resolves what to stream for `info` (DLO and SLO are expanded), checking that the caller
/// may read every container a segment comes from: a manifest must not lend its reader
/// access to segments a direct GET would refuse (Swift fetches segments with the caller's
/// own rights). An SLO is checked whole before any byte is sent, so a forbidden segment is
/// a 403 rather than a body truncated part-way.
pub async fn resolve(
    gw: &Arc<Gateway>,
    req: &Req,
    a: &str,
    info: &ObjectInfo,
) -> SwiftResult<Resolved> {
    if info.is_slo() {
        let (g, path) = (gw.clone(), info.path.clone());
        let segs = blocking(move || read_manifest(&g, &path)).await?;
        let containers: BTreeSet<&str> = segs.iter().map(|(_, c, _)| c.as_str()).collect();
        for c in containers {
            authorize(gw, req, a, Access::Read(c)).await?;
        }
        let (g, a, info) = (gw.clone(), a.to_string(), info.clone());
        return blocking(move || resolve_slo(&g, &a, &info, &segs)).await;
    }
    if let Some(m) = info.dlo() {
        let (c, prefix) = parse_dlo_manifest(m, &gw.settings.limits)?;
        authorize(gw, req, a, Access::Read(&c)).await?;
        let (g, a) = (gw.clone(), a.to_string());
        return blocking(move || resolve_dlo(&g, &a, &c, &prefix)).await;
    }
    Ok(Resolved::single(info))
}

/// `X-Object-Manifest: CONTAINER/PREFIX` as (container, prefix).
fn parse_dlo_manifest(
    manifest: &str,
    limits: &crate::config::Limits,
) -> SwiftResult<(String, String)> {
    let v = decode(manifest)?;
    let (c, prefix) = v
        .split_once('/')
        .ok_or_else(|| SwiftError::bad("bad X-Object-Manifest"))?;
    crate::path::check_container_name(c, limits)?;
    Ok((c.to_string(), prefix.to_string()))
}

/// The segments of the stored SLO manifest at `path`, each as (container, object). A manifest
/// that does not parse, or names a segment that is not `container/object`, is an error.
fn read_manifest(gw: &Gateway, path: &Path) -> SwiftResult<Vec<(StoredSegment, String, String)>> {
    let raw = std::fs::read(path).map_err(|e| SwiftError::io("read manifest", path, e))?;
    parse_manifest(gw, path, &raw)
}

fn parse_manifest(
    gw: &Gateway,
    path: &Path,
    raw: &[u8],
) -> SwiftResult<Vec<(StoredSegment, String, String)>> {
    let corrupt = |reason: String| SwiftError::CorruptManifest {
        path: path.to_path_buf(),
        reason,
    };
    let segs: Vec<StoredSegment> =
        serde_json::from_slice(raw).map_err(|e| corrupt(e.to_string()))?;
    segs.into_iter()
        .map(
            |s| match split_container_object(&s.name, &gw.settings.limits, true) {
                Ok((c, Some(o))) => Ok((s, c, o)),
                Ok((_, None)) | Err(_) => Err(corrupt(format!("bad segment name {:?}", s.name))),
            },
        )
        .collect()
}

fn resolve_slo(
    gw: &Gateway,
    a: &str,
    info: &ObjectInfo,
    segs: &[(StoredSegment, String, String)],
) -> SwiftResult<Resolved> {
    let mut out = Vec::with_capacity(segs.len());
    let mut total = 0;
    for (s, c, o) in segs {
        let path = gw.store.object_path(a, c, o)?;
        let (offset, len) = match s.range.as_deref().and_then(|r| {
            let (x, y) = r.split_once('-')?;
            Some((x.parse::<u64>().ok()?, y.parse::<u64>().ok()?))
        }) {
            Some((x, y)) => (x, y - x + 1),
            None => (0, s.bytes),
        };
        total += len;
        out.push(Segment { path, offset, len });
    }
    let etag = info.meta.get(keys::SLO_ETAG).cloned().unwrap_or_default();
    Ok(Resolved {
        segments: out,
        total,
        etag,
        large: true,
    })
}

fn resolve_dlo(gw: &Gateway, a: &str, c: &str, prefix: &str) -> SwiftResult<Resolved> {
    let p = ListParams {
        limit: gw.settings.limits.max_dlo_segments,
        prefix: Some(prefix.to_string()).filter(|p| !p.is_empty()),
        ..Default::default()
    };
    let mut h = Md5::new();
    let mut segs = Vec::new();
    let mut total = 0;
    for e in gw.index.list_objects(a, c, &p)? {
        let Entry::Item(r) = e else { continue };
        h.update(r.etag.as_bytes());
        total += r.size;
        segs.push(Segment {
            path: gw.store.object_path(a, c, &r.name)?,
            offset: 0,
            len: r.size,
        });
    }
    Ok(Resolved {
        segments: segs,
        total,
        etag: hex::encode(h.finalize()),
        large: true,
    })
}

/// A manifest PUT's segments in stored form with the SLO ETag and total size, and the
/// per-segment problems Swift lists in its 400 answer (the PUT stores nothing if any).
struct Checked {
    stored: Vec<StoredSegment>,
    errors: Vec<(String, String)>,
    slo_etag: String,
    total: u64,
}

/// Whether the caller may read container `c`, remembered in `cache`.
async fn may_read(
    gw: &Arc<Gateway>,
    req: &Req,
    a: &str,
    c: &str,
    cache: &mut HashMap<String, bool>,
) -> SwiftResult<bool> {
    if let Some(r) = cache.get(c) {
        return Ok(*r);
    }
    let r = match authorize(gw, req, a, Access::Read(c)).await {
        Ok(()) => true,
        Err(SwiftError::Forbidden(_)) => false,
        Err(e) => return Err(e),
    };
    cache.insert(c.to_string(), r);
    Ok(r)
}

/// Checks each segment of a manifest PUT against the object it names.
async fn check_segments(
    gw: &Arc<Gateway>,
    req: &Req,
    a: &str,
    parsed: &[PutSegment],
) -> SwiftResult<Checked> {
    let mut stored = Vec::with_capacity(parsed.len());
    let mut errors = Vec::new();
    let mut h = Md5::new();
    let mut total = 0u64;
    // Swift HEADs each segment with the caller's rights and lists a refusal among the
    // problems of the 400; one check per container.
    let mut readable: HashMap<String, bool> = HashMap::new();
    for seg in parsed {
        let bad_path = || SwiftError::bad(format!("bad segment path {}", seg.path));
        let decoded = decode(&seg.path).map_err(|_| bad_path())?;
        let (sc, so) = match split_container_object(&decoded, &gw.settings.limits, true) {
            Ok((sc, Some(so))) => (sc, so),
            Ok((_, None)) | Err(_) => return Err(bad_path()),
        };
        if !may_read(gw, req, a, &sc, &mut readable).await? {
            errors.push((seg.path.clone(), "403 Forbidden".to_string()));
            continue;
        }
        let info = match super::object::load(gw, a, &sc, &so).await {
            Ok(i) => i,
            Err(SwiftError::NotFound) => {
                errors.push((seg.path.clone(), "404 Not Found".to_string()));
                continue;
            }
            Err(e) => return Err(e),
        };
        if info.is_slo() {
            errors.push((
                seg.path.clone(),
                "nested SLO segments are not supported".into(),
            ));
            continue;
        }
        if let Some(e) = seg.etag.as_deref().map(|e| e.trim_matches('"')) {
            if !e.eq_ignore_ascii_case(info.etag()) {
                errors.push((seg.path.clone(), "Etag Mismatch".into()));
            }
        }
        if seg.size_bytes.is_some_and(|s| s != info.file_size) {
            errors.push((seg.path.clone(), "Size Mismatch".into()));
        }
        let (bytes, range) = match &seg.range {
            Some(r) => match parse_seg_range(r, info.file_size) {
                Some((x, y)) => (y - x + 1, Some(format!("{x}-{y}"))),
                None => {
                    errors.push((seg.path.clone(), "Unsatisfiable Range".into()));
                    continue;
                }
            },
            None => (info.file_size, None),
        };
        match &range {
            Some(r) => h.update(format!("{}:{r};", info.etag()).as_bytes()),
            None => h.update(info.etag().as_bytes()),
        }
        total += bytes;
        stored.push(StoredSegment {
            name: format!("/{sc}/{so}"),
            hash: info.etag().to_string(),
            bytes,
            content_type: info.content_type().to_string(),
            last_modified: info.timestamp().iso(),
            range,
        });
    }
    Ok(Checked {
        stored,
        errors,
        slo_etag: hex::encode(h.finalize()),
        total,
    })
}

/// Swift's 400 to a manifest PUT: one line per problem segment.
fn segment_errors(errors: &[(String, String)]) -> SwiftResult<Response<Body>> {
    let mut text = String::from("Errors:\n");
    for (p, e) in errors {
        text.push_str(&format!("{p}, {e}\n"));
    }
    finish(
        resp(StatusCode::BAD_REQUEST).header("Content-Type", "text/plain"),
        body::full(text),
    )
}

/// `PUT ?multipart-manifest=put`.
pub async fn put_slo(
    gw: &Arc<Gateway>,
    req: &Req,
    a: &str,
    c: &str,
    o: &str,
    body: RequestBody,
) -> SwiftResult<Response<Body>> {
    let limits = gw.settings.limits.clone();
    let idle = gw.settings.server.client_timeout;
    let raw = read_body(body, limits.max_manifest_size, idle).await?;
    let parsed: Vec<PutSegment> = serde_json::from_slice(&raw)
        .map_err(|e| SwiftError::bad(format!("manifest must be a JSON list of segments: {e}")))?;
    if parsed.is_empty() {
        return Err(SwiftError::bad("manifest has no segments"));
    }
    if parsed.len() > limits.max_manifest_segments {
        return Err(SwiftError::TooLarge(format!(
            "more than {} segments",
            limits.max_manifest_segments
        )));
    }
    let Checked {
        stored,
        errors,
        slo_etag,
        total,
    } = check_segments(gw, req, a, &parsed).await?;
    if !errors.is_empty() {
        return segment_errors(&errors);
    }
    if let Some(want) = req.header("etag").map(|e| e.trim_matches('"')) {
        if !want.eq_ignore_ascii_case(&slo_etag) {
            return Err(SwiftError::Unprocessable(
                "manifest ETag does not match its segments".into(),
            ));
        }
    }
    let (mut meta, _) = headers_to_meta(&req.headers, "object")?;
    check_limits(&meta, "object", &limits)?;
    let ct = req
        .header("content-type")
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| crate::gateway::guess_content_type(o).to_string());
    meta.insert(keys::CONTENT_TYPE.into(), ct);
    meta.insert(keys::SLO.into(), "True".into());
    meta.insert(keys::SLO_ETAG.into(), slo_etag.clone());
    meta.insert(keys::SLO_SIZE.into(), total.to_string());
    crate::expiry::store(&mut meta, super::object::requested_expiry(req)?);
    let manifest =
        Bytes::from(serde_json::to_vec(&stored).map_err(|e| {
            SwiftError::Internal(format!("failed to serialise an SLO manifest: {e}"))
        })?);
    let spec = PutSpec {
        account: a.into(),
        container: c.into(),
        object: o.into(),
        meta,
        expected_etag: None,
        expected_len: Some(manifest.len() as u64),
        if_none_match_any: false,
    };
    let stream = futures_util::stream::iter([Ok(manifest)]);
    let info = write_stream(gw, spec, stream, None).await?;
    let ts = info.timestamp();
    finish(
        resp(StatusCode::CREATED)
            .header("Etag", hv(&format!("\"{slo_etag}\"")))
            .header("Last-Modified", hv(&ts.http_date()))
            .header("X-Timestamp", hv(&ts.to_x_timestamp()))
            .header("Content-Type", "text/html; charset=UTF-8"),
        body::empty(),
    )
}

/// `DELETE ?multipart-manifest=delete`: the segments, then the manifest.
pub async fn delete_slo(
    gw: &Arc<Gateway>,
    req: &Req,
    a: &str,
    c: &str,
    o: &str,
) -> SwiftResult<Response<Body>> {
    let info = super::object::load(gw, a, c, o).await?;
    let mut result = BulkResult::default();
    let mut targets: Vec<(String, String)> = Vec::new();
    if info.is_slo() {
        // A corrupt manifest fails the whole delete (500) and deletes nothing, so the
        // segments it names are not leaked by removing the only list of them.
        let (g, path) = (gw.clone(), info.path.clone());
        let segs = blocking(move || read_manifest(&g, &path)).await?;
        targets.extend(segs.into_iter().map(|(_, sc, so)| (sc, so)));
    }
    targets.push((c.to_string(), o.to_string()));
    for (sc, so) in targets {
        if let Err(e) = authorize(gw, req, a, Access::Write(&sc)).await {
            result
                .errors
                .push((format!("/{sc}/{so}"), e.status().to_string()));
            continue;
        }
        let (g, a2) = (gw.clone(), a.to_string());
        match blocking(move || g.delete_object(&a2, &sc, &so)).await {
            Ok(true) => result.deleted += 1,
            Ok(false) => result.not_found += 1,
            Err(e) => result.errors.push((String::new(), e.status().to_string())),
        }
    }
    render_result(req, &result)
}
