// SPDX-License-Identifier: Apache-2.0
//! `PUT ?multipart-manifest=put`: an SLO manifest is checked segment by segment against the
//! objects it names (exists, readable, ETag, size, range), then the object is written with
//! the segments' bytes and the manifest in Swift's internal form in its metadata (see
//! [`super::large`]). A segment may be an SLO itself (stored with `sub_slo`, its
//! ETag and size those of its content) or inline `data` (base64), as in Swift.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use futures_util::StreamExt;
use http::{Response, StatusCode};
use md5::{Digest, Md5};
use serde::Deserialize;

use super::large::StoredSegment;
use super::{authorize, finish, hv, read_body, resp, Access, Req};
use crate::body::{self, piece_stream, Body, Piece};
use crate::error::{SwiftError, SwiftResult};
use crate::gateway::{Gateway, ObjectInfo, PutSpec};
use crate::meta::{check_limits, headers_to_meta, keys, Meta};
use crate::path::split_container_object;
use crate::put::write_stream;
use crate::server::RequestBody;
use crate::time::Timestamp;

/// One entry of a manifest PUT body: a `path` segment or inline `data`. Unknown keys (a
/// typo such as `teag`) are a 400, as in Swift, rather than a check silently skipped.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PutSegment {
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    etag: Option<String>,
    #[serde(default)]
    size_bytes: Option<u64>,
    #[serde(default)]
    range: Option<String>,
    #[serde(default)]
    data: Option<String>,
}

fn parse_seg_range(r: &str, size: u64) -> Option<(u64, u64)> {
    match crate::range::evaluate(Some(&format!("bytes={r}")), size) {
        crate::range::RangeOutcome::Ranges(v) if v.len() == 1 => Some(v[0]),
        _ => None,
    }
}

/// A manifest PUT's segments in stored form with the SLO ETag and total size, and the
/// per-segment problems Swift lists in its 400 answer (the PUT stores nothing if any).
#[derive(Default)]
struct Checked {
    stored: Vec<StoredSegment>,
    errors: Vec<(String, String)>,
    etag: Md5,
    total: u64,
}

impl Checked {
    fn problem(&mut self, path: &str, what: &str) {
        self.errors.push((path.to_string(), what.to_string()));
    }
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
    (a, c, o): (&str, &str, &str),
    parsed: &[PutSegment],
) -> SwiftResult<Checked> {
    let mut out = Checked::default();
    // Swift HEADs each segment with the caller's rights and lists a refusal among the
    // problems of the 400; one check per container.
    let mut readable: HashMap<String, bool> = HashMap::new();
    for (i, seg) in parsed.iter().enumerate() {
        let Some(seg_path) = seg.path.as_deref() else {
            add_data(&mut out, seg)?;
            continue;
        };
        let bad_path = || SwiftError::bad(format!("bad segment path {seg_path}"));
        if seg.data.is_some() {
            return Err(bad_path());
        }
        // The path is the object's name as is, not URL-encoded (Swift quotes it itself).
        let (sc, so) = match split_container_object(seg_path, &gw.settings.limits, true) {
            Ok((sc, Some(so))) => (sc, so),
            Ok((_, None)) | Err(_) => return Err(bad_path()),
        };
        if (sc.as_str(), so.as_str()) == (c, o) {
            // Storing it would replace the segment with the manifest that reads it.
            return Err(SwiftError::bad(format!(
                "Index {i}: manifest must not include itself as a segment"
            )));
        }
        if !may_read(gw, req, a, &sc, &mut readable).await? {
            out.problem(seg_path, "403 Forbidden");
            continue;
        }
        let info = match super::object::load(gw, a, &sc, &so).await {
            Ok(i) => i,
            Err(SwiftError::NotFound) => {
                out.problem(seg_path, "404 Not Found");
                continue;
            }
            Err(e) => return Err(e),
        };
        // A link stands for its target (Swift HEADs the segment through the symlink
        // middleware): its ETag, size and type are checked and stored.
        let info = match super::large::follow_segment(gw, req, a, seg_path, info).await {
            Ok((target, _)) => target,
            Err(SwiftError::BadRequest(m)) => return Err(SwiftError::BadRequest(m)),
            Err(e) if e.status().is_client_error() => {
                out.problem(seg_path, &e.status().to_string());
                continue;
            }
            Err(e) => return Err(e),
        };
        add_object(&mut out, seg, seg_path, &format!("/{sc}/{so}"), &info);
    }
    Ok(out)
}

/// An inline `data` segment: Swift hashes the MD5 of its bytes into the SLO ETag.
fn add_data(out: &mut Checked, seg: &PutSegment) -> SwiftResult<()> {
    let bad = || SwiftError::bad("each segment needs a path or data");
    let d = seg.data.as_deref().ok_or_else(bad)?;
    if seg.etag.is_some() || seg.size_bytes.is_some() || seg.range.is_some() {
        return Err(SwiftError::bad(
            "a data segment takes no etag, size_bytes or range",
        ));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(d)
        .map_err(|_| SwiftError::bad("data segment is not valid base64"))?;
    out.etag.update(hex::encode(Md5::digest(&bytes)).as_bytes());
    out.total += bytes.len() as u64;
    out.stored.push(StoredSegment {
        data: Some(d.to_string()),
        ..Default::default()
    });
    Ok(())
}

/// An object segment (plain or SLO) checked against the client's etag/size/range.
fn add_object(out: &mut Checked, seg: &PutSegment, seg_path: &str, name: &str, info: &ObjectInfo) {
    let sub_slo = info.is_slo();
    // A sub-SLO stands for its content: the ETag and size a GET of it returns.
    let (etag, size) = if sub_slo {
        let size = info.meta.get(keys::SLO_SIZE).and_then(|s| s.parse().ok());
        (
            info.meta.get(keys::SLO_ETAG).cloned().unwrap_or_default(),
            size.unwrap_or(0),
        )
    } else {
        (info.etag().to_string(), info.file_size)
    };
    if let Some(e) = seg.etag.as_deref().map(|e| e.trim_matches('"')) {
        if !e.eq_ignore_ascii_case(&etag) {
            out.problem(seg_path, "Etag Mismatch");
        }
    }
    if seg.size_bytes.is_some_and(|s| s != size) {
        out.problem(seg_path, "Size Mismatch");
    }
    let (bytes, range) = match &seg.range {
        Some(r) => match parse_seg_range(r, size) {
            Some((x, y)) => (y - x + 1, Some(format!("{x}-{y}"))),
            None => {
                out.problem(seg_path, "Unsatisfiable Range");
                return;
            }
        },
        None => (size, None),
    };
    match &range {
        Some(r) => out.etag.update(format!("{etag}:{r};").as_bytes()),
        None => out.etag.update(etag.as_bytes()),
    }
    out.total += bytes;
    out.stored.push(StoredSegment {
        name: name.to_string(),
        hash: etag,
        bytes,
        content_type: info.content_type().to_string(),
        last_modified: info.timestamp().iso(),
        range,
        sub_slo,
        data: None,
    });
}

/// Swift's 400 to a manifest PUT: one line per problem segment.
pub(super) fn segment_errors(errors: &[(String, String)]) -> SwiftResult<Response<Body>> {
    let mut text = String::from("Errors:\n");
    for (p, e) in errors {
        text.push_str(&format!("{p}, {e}\n"));
    }
    finish(
        resp(StatusCode::BAD_REQUEST).header("Content-Type", "text/plain"),
        body::full(text),
    )
}

/// What a manifest PUT ends with after its segments were checked.
pub(super) enum SloOutcome {
    Created {
        etag: String,
        timestamp: Timestamp,
    },
    /// Segments that are missing, unreadable or do not match (Swift's 400 with a list).
    BadSegments(Vec<(String, String)>),
    Failed(SwiftError),
}

/// `PUT ?multipart-manifest=put`. With `?heartbeat=on` the answer is a 202 at once, kept
/// alive with whitespace while the segments are checked, and the outcome follows in the
/// body (handlers/slo_heartbeat.rs), as Swift does for manifests of many segments.
pub async fn put_slo(
    gw: &Arc<Gateway>,
    req: &Req,
    a: &str,
    c: &str,
    o: &str,
    body: RequestBody,
) -> SwiftResult<Response<Body>> {
    let if_none_match_any = super::object::if_none_match_any(req)?;
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
    if super::slo_heartbeat::requested(req) {
        let accept = req_accept(req);
        let (gw, req) = (gw.clone(), req.clone());
        let (a, c, o) = (a.to_string(), c.to_string(), o.to_string());
        let work = async move {
            store_manifest(&gw, &req, (&a, &c, &o), &parsed, if_none_match_any, None).await
        };
        return super::slo_heartbeat::respond(accept, work);
    }
    match store_manifest(gw, req, (a, c, o), &parsed, if_none_match_any, None).await {
        SloOutcome::Created { etag, timestamp } => finish(
            resp(StatusCode::CREATED)
                .header("Etag", hv(&format!("\"{etag}\"")))
                .header("Last-Modified", hv(&timestamp.http_date()))
                .header("X-Timestamp", hv(&timestamp.to_x_timestamp()))
                .header("Content-Type", "text/html; charset=UTF-8"),
            body::empty(),
        ),
        SloOutcome::BadSegments(errors) => segment_errors(&errors),
        SloOutcome::Failed(e) => Err(e),
    }
}

fn req_accept(req: &Req) -> Option<String> {
    req.header("accept").map(str::to_string)
}

/// A copy of an SLO manifest into another account (`?multipart-manifest=get` with
/// `Destination-Account` or `X-Copy-From-Account`), as Swift makes it: a manifest PUT there of
/// `put_body` (the source in PUT form), its segments checked in the destination account with
/// the caller's rights, so a manifest lends no access to that account's objects; `meta` is
/// the copy's metadata (the SLO keys are added here).
pub(super) async fn copy_manifest(
    gw: &Arc<Gateway>,
    req: &Req,
    dest: (&str, &str, &str),
    put_body: &[u8],
    meta: Meta,
) -> SloOutcome {
    match serde_json::from_slice::<Vec<PutSegment>>(put_body) {
        Ok(parsed) => store_manifest(gw, req, dest, &parsed, false, Some(meta)).await,
        Err(e) => SloOutcome::Failed(SwiftError::Internal(format!(
            "a stored manifest in PUT form does not parse: {e}"
        ))),
    }
}

/// Checks the segments and writes the manifest, with `meta` or (`None`) the metadata of the
/// manifest PUT `req`.
async fn store_manifest(
    gw: &Arc<Gateway>,
    req: &Req,
    (a, c, o): (&str, &str, &str),
    parsed: &[PutSegment],
    if_none_match_any: bool,
    meta: Option<Meta>,
) -> SloOutcome {
    let checked = match check_segments(gw, req, (a, c, o), parsed).await {
        Ok(checked) => checked,
        Err(e) => return SloOutcome::Failed(e),
    };
    let Checked {
        stored,
        errors,
        etag,
        total,
    } = checked;
    let slo_etag = hex::encode(etag.finalize());
    if !errors.is_empty() {
        return SloOutcome::BadSegments(errors);
    }
    let meta = match meta {
        Some(m) => Ok(m),
        None => put_meta(gw, req, o, &slo_etag),
    };
    let written = match meta {
        Ok(meta) => {
            let spec = PutSpec {
                account: a.into(),
                container: c.into(),
                object: o.into(),
                meta,
                expected_etag: None,
                expected_len: None,
                if_none_match_any,
                stored_etag: None,
                keep_version: None,
            };
            write_manifest(gw, req, spec, stored, &slo_etag, total).await
        }
        Err(e) => Err(e),
    };
    match written {
        Ok(timestamp) => SloOutcome::Created {
            etag: slo_etag,
            timestamp,
        },
        Err(e) => SloOutcome::Failed(e),
    }
}

/// The metadata of a manifest PUT: its own, its Content-Type (or the one guessed from the
/// name), its expiry; its `Etag` header, if any, must be the SLO's.
fn put_meta(gw: &Gateway, req: &Req, o: &str, slo_etag: &str) -> SwiftResult<Meta> {
    if let Some(want) = req.header("etag").map(|e| e.trim_matches('"')) {
        if !want.eq_ignore_ascii_case(slo_etag) {
            return Err(SwiftError::Unprocessable(
                "manifest ETag does not match its segments".into(),
            ));
        }
    }
    let (mut meta, _) = headers_to_meta(&req.headers, "object")?;
    check_limits(&meta, "object", &gw.settings.limits)?;
    let ct = req
        .header("content-type")
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| crate::gateway::guess_content_type(o).to_string());
    meta.insert(keys::CONTENT_TYPE.into(), ct);
    crate::expiry::store(&mut meta, super::object::requested_expiry(req)?);
    Ok(meta)
}

/// Writes the SLO `spec` says: its file the bytes of its segments (`stored`, read with the
/// rights of `req`), its metadata the SLO keys and the manifest in stored form.
async fn write_manifest(
    gw: &Arc<Gateway>,
    req: &Req,
    mut spec: PutSpec,
    stored: Vec<StoredSegment>,
    slo_etag: &str,
    total: u64,
) -> SwiftResult<Timestamp> {
    let manifest = serde_json::to_string(&stored)
        .map_err(|e| SwiftError::Internal(format!("failed to serialise an SLO manifest: {e}")))?;
    let target = gw
        .store
        .object_path(&spec.account, &spec.container, &spec.object)?;
    let items = super::large::parse_manifest(gw, &target, manifest.as_bytes())?;
    let mut walked = super::large::Walked::default();
    let segments =
        super::large::expand_items(gw, req, &spec.account, items, 1, &mut walked).await?;
    let containers = serde_json::to_string(&walked.containers)
        .map_err(|e| SwiftError::Internal(format!("failed to serialise a list: {e}")))?;
    spec.meta.insert(keys::SLO.into(), "True".into());
    spec.meta
        .insert(keys::SLO_ETAG.into(), slo_etag.to_string());
    spec.meta.insert(keys::SLO_SIZE.into(), total.to_string());
    spec.meta.insert(keys::SLO_CONTAINERS.into(), containers);
    spec.meta
        .insert(keys::SLO_DEPTH.into(), walked.deepest.max(1).to_string());
    spec.stored_etag = Some(hex::encode(Md5::digest(manifest.as_bytes())));
    spec.meta.insert(keys::SLO_MANIFEST.into(), manifest);
    spec.expected_len = Some(total);
    let (a, c, o) = (&spec.account, &spec.container, &spec.object);
    super::versioned_writes::before_overwrite(gw, a, c, o).await?;
    let pieces: Vec<Piece> = segments.into_iter().map(Piece::Part).collect();
    let stream = piece_stream(pieces)
        .map(|r| r.map_err(|e| SwiftError::io("read an SLO segment", "", e)))
        .boxed();
    let info = write_stream(gw, spec, stream, None).await?;
    Ok(info.timestamp())
}
