// SPDX-License-Identifier: Apache-2.0
//! Large objects.
//!
//! - DLO: an object with `X-Object-Manifest: CONTAINER/PREFIX`; its content is every object
//!   of CONTAINER whose name starts with PREFIX, in listing order (read from the index). ETag:
//!   `"MD5(concatenated segment ETags)"`.
//! - SLO: `PUT ?multipart-manifest=put` with a JSON list of `{path, etag, size_bytes, range}`;
//!   every segment is checked (exists, ETag and size match), then the object's file is
//!   written with the concatenated bytes of its segments, so a POSIX reader of the tree sees
//!   the whole object, and the manifest is kept in its metadata ([`keys::SLO_MANIFEST`]) in
//!   Swift's internal form (`[{name, hash, bytes, content_type, last_modified, range?}]`, what
//!   `?multipart-manifest=get` returns) with `X-Static-Large-Object: True`. Segments live in
//!   the same account. A segment may itself be an SLO (`sub_slo`, at most [`MAX_SLO_DEPTH`]
//!   deep) or inline bytes (`data`, base64 in the manifest), as in Swift. A segment may be a
//!   Swift symlink: it is followed with the caller's rights and stands for its target
//!   ([`follow_segment`]; links into another account are refused). The PUT side is in
//!   `slo_put`.
//!
//!   The file's bytes are those of the segments when the manifest was written: overwriting
//!   or deleting a segment afterwards does not change the file. The API is Swift's: a GET
//!   of an SLO whose segment is gone or changed is a 409 ([`super::slo_intact`]), a HEAD
//!   answers from the manifest. A GET still needs read access to every container the
//!   bytes came from ([`keys::SLO_CONTAINERS`], link targets' included), as Swift reads
//!   each segment with the caller's rights. An SLO written before this layout (its file is
//!   the manifest, no [`keys::SLO_MANIFEST`]) is expanded from its segments when read, as
//!   before.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::future::{BoxFuture, FutureExt};
use http::Response;
use md5::{Digest, Md5};
use serde::Deserialize;

use super::bulk::{render_result, BulkResult};
use super::{authorize, Access, Req};
use crate::body::{slice_segments, Body, Segment, Source};
use crate::error::{SwiftError, SwiftResult};
use crate::gateway::{blocking, Gateway, ObjectInfo};
use crate::index::{Entry, ListParams};
use crate::meta::keys;
use crate::path::{decode, split_container_object};

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
                source: Source::File(info.path.clone()),
                offset: 0,
                len: info.file_size,
            }],
            total: info.file_size,
            etag: info.etag().to_string(),
            large: false,
        }
    }
}

/// What `?multipart-manifest=get` reads of a large object: an SLO's stored manifest (from
/// its metadata, or the file of an older SLO), a DLO's own bytes (none when its file holds
/// its segments', see [`crate::dlo`]).
pub fn manifest_itself(info: &ObjectInfo) -> Resolved {
    if info.dlo_file_etag().is_some() {
        return Resolved {
            segments: Vec::new(),
            total: 0,
            etag: info.etag().to_string(),
            large: false,
        };
    }
    match info.slo_manifest() {
        Some(m) => Resolved {
            segments: vec![Segment {
                source: Source::Data(Bytes::from(m.to_string())),
                offset: 0,
                len: m.len() as u64,
            }],
            total: m.len() as u64,
            // The stored ETag of an SLO is its manifest's MD5.
            etag: info.etag().to_string(),
            large: false,
        },
        None => Resolved::single(info),
    }
}

/// What expanding an SLO met: the containers its bytes come from (each authorized once)
/// and how deep its manifests nest.
#[derive(Debug, Default)]
pub struct Walked {
    /// Every container read, in the SLO's account.
    pub containers: BTreeSet<String>,
    /// The deepest manifest level reached (1: the SLO itself).
    pub deepest: usize,
}

/// How deep SLOs may nest (Swift's `max_slo_recursion_depth`).
pub const MAX_SLO_DEPTH: usize = 10;

/// One entry of a stored SLO manifest: an object segment (`name`...) or inline `data`.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
pub struct StoredSegment {
    /// `/container/object`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// ETag of the segment (of its content, for a sub-SLO).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hash: String,
    /// Bytes used from it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub bytes: u64,
    /// Content type of the segment.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub content_type: String,
    /// Last modified of the segment.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub last_modified: String,
    /// `first-last` when only part of the segment is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<String>,
    /// The segment is itself an SLO.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sub_slo: bool,
    /// Inline bytes, base64 (a data segment has nothing else).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One entry of a stored manifest, resolved to what it reads.
#[derive(Debug, Clone)]
pub enum ManifestItem {
    /// An object segment in container `.1`, object `.2`.
    Object(StoredSegment, String, String),
    /// Inline bytes.
    Data(Bytes),
}

/// Resolves what to stream for `info` (DLO and SLO are expanded), checking that the caller
/// may read every container a segment comes from: a manifest must not lend its reader
/// access to segments a direct GET would refuse (Swift fetches segments with the caller's
/// own rights). An SLO is checked whole, sub-SLOs included, before any byte is sent, so a
/// forbidden segment is Swift's 409 (a segment it could not read) rather than a body
/// truncated part-way; a HEAD reads no segment, so it answers from the manifest, as Swift.
pub async fn resolve(
    gw: &Arc<Gateway>,
    req: &Req,
    a: &str,
    info: &ObjectInfo,
) -> SwiftResult<Resolved> {
    if info.is_slo() {
        let mut checked = Walked::default();
        let segments = match expand_slo(gw, req, a, info.clone(), 1, &mut checked).await {
            Err(SwiftError::Forbidden(_) | SwiftError::Unauthorized) => {
                return Err(SwiftError::Conflict(
                    "a segment of this large object may not be read with this request's rights"
                        .into(),
                ))
            }
            other => other?,
        };
        // Its file holds the bytes, but Swift would fail to read so deep a nesting (with
        // its default 409 page).
        if checked.deepest > MAX_SLO_DEPTH && req.method != http::Method::HEAD {
            return Err(super::slo_intact::conflict());
        }
        // A GET reads the segments in Swift: one gone or changed since is its 409.
        if req.method != http::Method::HEAD {
            let (g, a2, i) = (gw.clone(), a.to_string(), info.clone());
            let broken = blocking(move || super::slo_intact::broken_segment(&g, &a2, &i, 1));
            if let Some(why) = broken.await? {
                tracing::info!(object = %info.path.display(), %why, "SLO GET refused: a segment changed");
                return Err(super::slo_intact::conflict());
            }
        }
        return Ok(Resolved {
            total: segments.iter().map(|s| s.len).sum(),
            segments,
            etag: info.meta.get(keys::SLO_ETAG).cloned().unwrap_or_default(),
            large: true,
        });
    }
    if let Some(m) = info.dlo() {
        let (c, prefix) = parse_dlo_manifest(m, &gw.settings.limits)?;
        // Swift's DLO lists the segment container with the caller's rights.
        authorize(gw, req, a, Access::List(&c)).await?;
        let (g, a) = (gw.clone(), a.to_string());
        let now = blocking(move || resolve_dlo(&g, &a, &c, &prefix)).await?;
        // The file holds exactly these segments' bytes (crate::dlo): one file to stream.
        if info.dlo_file_etag() == Some(now.etag.as_str()) && info.file_size == now.total {
            return Ok(Resolved {
                segments: Resolved::single(info).segments,
                ..now
            });
        }
        return Ok(now);
    }
    Ok(Resolved::single(info))
}

/// Every container whose objects a materialized SLO's bytes came from.
fn slo_containers(info: &ObjectInfo) -> SwiftResult<Vec<String>> {
    let raw = info
        .meta
        .get(keys::SLO_CONTAINERS)
        .map_or("[]", String::as_str);
    serde_json::from_str(raw).map_err(|e| SwiftError::CorruptManifest {
        path: info.path.clone(),
        reason: format!("bad list of segment containers: {e}"),
    })
}

/// The byte ranges the SLO `info` reads: its own file when it holds its bytes (its segment
/// containers authorized), else its segments, sub-SLOs expanded. Each segment container is
/// authorized the first time seen and recorded in `checked`.
fn expand_slo<'a>(
    gw: &'a Arc<Gateway>,
    req: &'a Req,
    a: &'a str,
    info: ObjectInfo,
    depth: usize,
    checked: &'a mut Walked,
) -> BoxFuture<'a, SwiftResult<Vec<Segment>>> {
    async move {
        if depth > MAX_SLO_DEPTH {
            return Err(SwiftError::Conflict(format!(
                "SLOs nested more than {MAX_SLO_DEPTH} deep"
            )));
        }
        if info.slo_manifest().is_some() {
            let levels = info
                .meta
                .get(keys::SLO_DEPTH)
                .and_then(|d| d.parse::<usize>().ok())
                .unwrap_or(1);
            checked.deepest = checked.deepest.max(depth + levels - 1);
            // Its file holds the bytes: a HEAD sends none of them, so it needs no segment.
            let reads = req.method != http::Method::HEAD;
            for c in slo_containers(&info)?.into_iter().filter(|_| reads) {
                if checked.containers.insert(c.clone()) {
                    authorize(gw, req, a, Access::Read(&c)).await?;
                }
            }
            return Ok(Resolved::single(&info).segments);
        }
        let g = gw.clone();
        let items = blocking(move || read_manifest(&g, &info)).await?;
        expand_items(gw, req, a, items, depth, checked).await
    }
    .boxed()
}

/// The byte ranges the manifest entries `items` read, sub-SLOs expanded (a ranged sub-SLO
/// is a slice of its expansion). Each segment container is authorized the first time seen
/// and recorded in `checked`.
pub fn expand_items<'a>(
    gw: &'a Arc<Gateway>,
    req: &'a Req,
    a: &'a str,
    items: Vec<ManifestItem>,
    depth: usize,
    checked: &'a mut Walked,
) -> BoxFuture<'a, SwiftResult<Vec<Segment>>> {
    async move {
        checked.deepest = checked.deepest.max(depth);
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let (s, c, o) = match item {
                ManifestItem::Data(b) => {
                    let len = b.len() as u64;
                    out.push(Segment {
                        source: Source::Data(b),
                        offset: 0,
                        len,
                    });
                    continue;
                }
                ManifestItem::Object(s, c, o) => (s, c, o),
            };
            if checked.containers.insert(c.clone()) {
                authorize(gw, req, a, Access::Read(&c)).await?;
            }
            let range = stored_range(&s);
            let (g, a2, c2, o2) = (gw.clone(), a.to_string(), c.clone(), o.clone());
            let loaded = blocking(move || g.load_object(&a2, &c2, &o2)).await;
            // A segment that is a link reads its target (its containers recorded too).
            let seg_info = match loaded {
                Ok(i) if i.link().is_some() => {
                    let (target, via) = follow_segment(gw, req, a, &s.name, i).await?;
                    checked.containers.extend(via);
                    Some(target)
                }
                Ok(i) => Some(i),
                Err(SwiftError::NotFound) if !s.sub_slo => None,
                Err(e) => return Err(e),
            };
            if s.sub_slo {
                let Some(sub_info) = seg_info else {
                    return Err(SwiftError::NotFound);
                };
                let sub = expand_slo(gw, req, a, sub_info, depth + 1, checked).await?;
                match range {
                    Some((x, y)) => out.extend(slice_segments(&sub, x, y)),
                    None => out.extend(sub),
                }
                continue;
            }
            let path = match seg_info {
                Some(i) => i.path,
                None => gw.store.object_path(a, &c, &o)?,
            };
            let (offset, len) = match range {
                Some((x, y)) => (x, y - x + 1),
                None => (0, s.bytes),
            };
            out.push(Segment {
                source: Source::File(path),
                offset,
                len,
            });
        }
        Ok(out)
    }
    .boxed()
}

/// What an SLO segment that may be a symlink reads: the object reached by following it
/// (with the caller's rights, as Swift's SLO fetches segments through the symlink
/// middleware) and every container read on the way (each must stay readable for the SLO's
/// bytes to be). A link whose walk leaves the account `a` is refused (400): the SLO's record
/// of the containers its bytes came from ([`keys::SLO_CONTAINERS`]) names containers of
/// its own account only, and it must not lend access to another account's objects.
pub async fn follow_segment(
    gw: &Arc<Gateway>,
    req: &Req,
    a: &str,
    name: &str,
    info: ObjectInfo,
) -> SwiftResult<(ObjectInfo, Vec<String>)> {
    if info.link().is_none() {
        return Ok((info, Vec::new()));
    }
    let f = super::symlink::follow(gw, req, a, info).await?;
    if f.account != a || f.visited.iter().any(|(acct, _)| acct != a) {
        return Err(SwiftError::bad(format!(
            "SLO segment {name} is a symlink that leads to another account, which an SLO \
             segment may not do"
        )));
    }
    Ok((f.info, f.visited.into_iter().map(|(_, c)| c).collect()))
}

/// A stored segment's `first-last` range.
fn stored_range(s: &StoredSegment) -> Option<(u64, u64)> {
    let (x, y) = s.range.as_deref()?.split_once('-')?;
    let (x, y) = (x.parse::<u64>().ok()?, y.parse::<u64>().ok()?);
    (x <= y).then_some((x, y))
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

/// The stored manifest of the SLO `info`: from its metadata, or (an older SLO) its file.
pub fn manifest_bytes(info: &ObjectInfo) -> SwiftResult<Vec<u8>> {
    match info.slo_manifest() {
        Some(m) => Ok(m.as_bytes().to_vec()),
        None => {
            std::fs::read(&info.path).map_err(|e| SwiftError::io("read manifest", &info.path, e))
        }
    }
}

/// The entries of the stored manifest of the SLO `info`. A manifest that does not parse, or
/// names a segment that is not `container/object`, or holds data that is not base64, is an
/// error.
pub fn read_manifest(gw: &Gateway, info: &ObjectInfo) -> SwiftResult<Vec<ManifestItem>> {
    parse_manifest(gw, &info.path, &manifest_bytes(info)?)
}

/// The entries of a manifest in stored form, `raw`, of the object at `path`.
pub fn parse_manifest(gw: &Gateway, path: &Path, raw: &[u8]) -> SwiftResult<Vec<ManifestItem>> {
    use base64::Engine as _;
    let corrupt = |reason: String| SwiftError::CorruptManifest {
        path: path.to_path_buf(),
        reason,
    };
    let segs: Vec<StoredSegment> =
        serde_json::from_slice(raw).map_err(|e| corrupt(e.to_string()))?;
    segs.into_iter()
        .map(|s| {
            if let Some(d) = &s.data {
                return base64::engine::general_purpose::STANDARD
                    .decode(d)
                    .map(|b| ManifestItem::Data(Bytes::from(b)))
                    .map_err(|e| corrupt(format!("bad data segment: {e}")));
            }
            match split_container_object(&s.name, &gw.settings.limits, true) {
                Ok((c, Some(o))) => Ok(ManifestItem::Object(s, c, o)),
                Ok((_, None)) | Err(_) => Err(corrupt(format!("bad segment name {:?}", s.name))),
            }
        })
        .collect()
}

/// The stored manifest at `path` in the form a manifest PUT takes (`path`, `etag`,
/// `size_bytes`, `range`; `data` kept), what `?multipart-manifest=get&format=raw` returns so
/// it can be PUT again.
pub fn manifest_as_put(info: &ObjectInfo) -> SwiftResult<Vec<u8>> {
    let raw = manifest_bytes(info)?;
    let segs: Vec<StoredSegment> =
        serde_json::from_slice(&raw).map_err(|e| SwiftError::CorruptManifest {
            path: info.path.clone(),
            reason: e.to_string(),
        })?;
    let out: Vec<serde_json::Value> = segs
        .into_iter()
        .map(|s| match s.data {
            Some(d) => serde_json::json!({ "data": d }),
            None => {
                // A ranged entry stores the bytes it uses, not the segment's size, so it is
                // given without size_bytes (a PUT then checks the ETag only).
                match s.range {
                    Some(r) => serde_json::json!({ "path": s.name, "etag": s.hash, "range": r }),
                    None => serde_json::json!({
                        "path": s.name, "etag": s.hash, "size_bytes": s.bytes,
                    }),
                }
            }
        })
        .collect();
    serde_json::to_vec(&out)
        .map_err(|e| SwiftError::Internal(format!("failed to serialise a manifest: {e}")))
}

/// Every object a manifest delete removes, sub-SLOs' segments first, then the sub-SLO.
fn delete_targets(
    gw: &Gateway,
    a: &str,
    info: &ObjectInfo,
    depth: usize,
    out: &mut Vec<(String, String)>,
) -> SwiftResult<()> {
    if depth > MAX_SLO_DEPTH {
        return Err(SwiftError::Conflict(format!(
            "SLOs nested more than {MAX_SLO_DEPTH} deep"
        )));
    }
    for item in read_manifest(gw, info)? {
        let ManifestItem::Object(s, c, o) = item else {
            continue;
        };
        if s.sub_slo {
            // A sub-SLO already gone leaves its segments to whoever deleted it.
            match gw.load_object(a, &c, &o) {
                Ok(sub) if sub.is_slo() => delete_targets(gw, a, &sub, depth + 1, out)?,
                Ok(_) | Err(SwiftError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        out.push((c, o));
    }
    Ok(())
}

/// A DLO's segments now: every object of `c` under `prefix` in listing order (at most
/// `max_dlo_segments`), their total size and the DLO ETag.
pub(crate) fn resolve_dlo(gw: &Gateway, a: &str, c: &str, prefix: &str) -> SwiftResult<Resolved> {
    let p = ListParams {
        limit: gw.settings.limits.max_dlo_segments,
        prefix: Some(prefix.to_string()).filter(|p| !p.is_empty()),
        ..Default::default()
    };
    let mut h = Md5::new();
    let mut segs = Vec::new();
    let mut total = 0;
    for e in gw.list_objects_hashed(a, c, &p)? {
        let Entry::Item(r) = e else { continue };
        h.update(r.hash().as_bytes());
        total += r.size;
        segs.push(Segment {
            source: Source::File(gw.store.object_path(a, c, &r.name)?),
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

/// `DELETE ?multipart-manifest=delete`: the segments, then the manifest.
pub async fn delete_slo(
    gw: &Arc<Gateway>,
    req: &Req,
    a: &str,
    c: &str,
    o: &str,
) -> SwiftResult<Response<Body>> {
    let info = super::object::load(gw, a, c, o).await?;
    let (g, a2, c2, o2) = (gw.clone(), a.to_string(), c.to_string(), o.to_string());
    delete_with_segments(gw, req, a, (c, o, &info), move || {
        g.delete_object(&a2, &c2, &o2)
    })
    .await
}

/// `?multipart-manifest=delete` of `info`, object `o` of container `c` (the current one or
/// a kept version): an SLO's segments first, each with the caller's right to write its
/// container, then the object itself through `remove` (whether it existed). Answers Swift's
/// bulk report.
pub async fn delete_with_segments<F>(
    gw: &Arc<Gateway>,
    req: &Req,
    a: &str,
    (c, o, info): (&str, &str, &ObjectInfo),
    remove: F,
) -> SwiftResult<Response<Body>>
where
    F: FnOnce() -> SwiftResult<bool> + Send + 'static,
{
    let mut result = BulkResult::default();
    let mut targets: Vec<(String, String)> = Vec::new();
    if info.is_slo() {
        // A corrupt manifest fails the whole delete (500) and deletes nothing, so the
        // segments it names are not leaked by removing the only list of them.
        let (g, a2, info) = (gw.clone(), a.to_string(), info.clone());
        targets = blocking(move || {
            let mut t = Vec::new();
            delete_targets(&g, &a2, &info, 1, &mut t).map(|()| t)
        })
        .await?;
    }
    for (sc, so) in targets {
        if let Err(e) = authorize(gw, req, a, Access::Write(&sc)).await {
            result
                .errors
                .push((format!("/{sc}/{so}"), e.status().to_string()));
            continue;
        }
        let (g, a2) = (gw.clone(), a.to_string());
        tally(
            &mut result,
            blocking(move || g.delete_object(&a2, &sc, &so)).await,
        );
    }
    match authorize(gw, req, a, Access::Write(c)).await {
        Ok(()) => tally(&mut result, blocking(remove).await),
        Err(e) => result
            .errors
            .push((format!("/{c}/{o}"), e.status().to_string())),
    }
    render_result(req, &result)
}

fn tally(result: &mut BulkResult, deleted: SwiftResult<bool>) {
    match deleted {
        Ok(true) => result.deleted += 1,
        Ok(false) => result.not_found += 1,
        Err(e) => result.errors.push((String::new(), e.status().to_string())),
    }
}
