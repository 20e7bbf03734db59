// SPDX-License-Identifier: Apache-2.0
//! Object: GET/HEAD (ranges, conditions, large objects), PUT (streamed, atomic; X-Copy-From;
//! SLO manifests), POST (replace user metadata), DELETE (SLO `?multipart-manifest=delete`),
//! COPY.

use std::sync::Arc;

use crate::server::RequestBody;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use http::{Method, Response, StatusCode};
use http_body_util::BodyStream;

use super::copy::{account_of, copy};
use super::large::{self, Resolved};
use super::{add_meta, authorize, finish, hv, resp, set_header, versioned_writes, Access, Req};
use crate::body::{self, multipart_pieces, pieces_len, slice_segments, Body, Piece};
use crate::cond::{Conditions, Verdict};
use crate::error::{SwiftError, SwiftResult};
use crate::expiry;
use crate::gateway::{blocking, guess_content_type, Gateway, ObjectInfo, PutSpec};
use crate::meta::{check_limits, headers_to_meta, keys, Meta};
use crate::path::{decode, split_container_object};
use crate::put::write_stream;
use crate::range::{evaluate, RangeOutcome};
use crate::time::Timestamp;

/// Headers a PUT or POST stores besides user metadata.
pub(super) const KEPT_HEADERS: [&str; 3] = [
    "Content-Encoding",
    "Content-Disposition",
    "Content-Language",
];

/// Entry point.
pub async fn handle(
    gw: &Arc<Gateway>,
    req: &Req,
    a: &str,
    c: &str,
    o: &str,
    body: RequestBody,
) -> SwiftResult<Response<Body>> {
    // The container's versioning state is read once per request (intercept, then decorate).
    let (body, st) = match super::versioning::intercept(gw, req, (a, c, o), body).await? {
        super::versioning::Outcome::Done(r) => return Ok(r),
        super::versioning::Outcome::Pass(body, st) => (body, st),
    };
    let r = handle_current(gw, req, a, c, o, body).await?;
    let touches_current = req.method == Method::GET
        || req.method == Method::HEAD
        || (req.method == Method::PUT && r.status() == StatusCode::CREATED);
    if touches_current {
        if let Some(LinkTarget((ta, tc, to))) = r.extensions().get::<LinkTarget>().cloned() {
            // The link's Content-Location (the target's path) stays.
            let loc = r.headers().get("Content-Location").cloned();
            let mut r = super::versioning::decorate(gw, req, (&ta, &tc, &to), None, r).await?;
            if let Some(l) = loc {
                r.headers_mut().insert("Content-Location", l);
            }
            return Ok(r);
        }
        return super::versioning::decorate(gw, req, (a, c, o), Some(st), r).await;
    }
    Ok(r)
}

/// The verbs on the current object (no versioning request).
async fn handle_current(
    gw: &Arc<Gateway>,
    req: &Req,
    a: &str,
    c: &str,
    o: &str,
    body: RequestBody,
) -> SwiftResult<Response<Body>> {
    match req.method {
        Method::GET | Method::HEAD => {
            authorize(gw, req, a, Access::Read(c)).await?;
            get(gw, req, a, c, o).await
        }
        Method::PUT => {
            authorize(gw, req, a, Access::Write(c)).await?;
            super::quota::enforce(gw, req, a, c).await?;
            if let Some(src) = req.header("x-copy-from") {
                let (sc, so) = split_container_object(&decode(src)?, &gw.settings.limits, true)?;
                let so = so.unwrap_or_default();
                let sa = match req.header("x-copy-from-account") {
                    Some(v) => account_of(v)?,
                    None => a.to_string(),
                };
                return copy(gw, req, (&sa, &sc, &so), (a, c, o), false).await;
            }
            if req.q("multipart-manifest") == Some("put") {
                return super::slo_put::put_slo(gw, req, a, c, o, body).await;
            }
            if let Some(target) = req.header("x-symlink-target") {
                return super::symlink::put(gw, req, (a, c, o), target, body).await;
            }
            put(gw, req, a, c, o, body).await
        }
        Method::POST => {
            authorize(gw, req, a, Access::Write(c)).await?;
            if req.header("x-symlink-target").is_some() {
                return Err(SwiftError::Plain {
                    status: StatusCode::BAD_REQUEST,
                    text: "A PUT request is required to set a symlink target".into(),
                });
            }
            post(gw, req, a, c, o).await
        }
        Method::DELETE => {
            authorize(gw, req, a, Access::Write(c)).await?;
            if req.q("multipart-manifest") == Some("delete") {
                return large::delete_slo(gw, req, a, c, o).await;
            }
            if let Some(v) = versioned_writes::of_container(gw, a, c).await? {
                return versioned_writes::delete(gw, req, (a, c, o), &v).await;
            }
            delete(gw, req, a, c, o).await
        }
        _ if req.method.as_str() == "COPY" => {
            authorize(gw, req, a, Access::Read(c)).await?;
            // Swift's copy middleware: a missing or malformed Destination is a 412.
            let dest = req
                .header("destination")
                .ok_or(SwiftError::BadPath("You must provide a Destination header"))?;
            let malformed = SwiftError::BadPath(
                "Destination header must be of the form <container name>/<object name>",
            );
            let (dc, d_o) = split_container_object(&decode(dest)?, &gw.settings.limits, true)
                .map_err(|_| malformed)?;
            let da = match req.header("destination-account") {
                Some(v) => account_of(v)?,
                None => a.to_string(),
            };
            // The destination is authorized once the source is found: a missing source is
            // Swift's 404 even where the caller may not write (its copy middleware GETs the
            // source first).
            let dest = (da.as_str(), dc.as_str(), d_o.as_deref().unwrap_or_default());
            copy(gw, req, (a, c, o), dest, true).await
        }
        _ => Err(SwiftError::MethodNotAllowed),
    }
}

/// Loads an object off the async threads; an expired one is not found.
pub async fn load(gw: &Arc<Gateway>, a: &str, c: &str, o: &str) -> SwiftResult<ObjectInfo> {
    let (g, a, c, o) = (gw.clone(), a.to_string(), c.to_string(), o.to_string());
    let info = blocking(move || g.load_object(&a, &c, &o)).await?;
    if expiry::expired(&info.meta, expiry::now_secs()) {
        return Err(SwiftError::NotFound);
    }
    Ok(info)
}

/// The expiry time a PUT, POST or COPY asks for (`X-Delete-At` / `X-Delete-After`).
pub fn requested_expiry(req: &Req) -> SwiftResult<Option<i64>> {
    let (at, after) = (req.header("x-delete-at"), req.header("x-delete-after"));
    expiry::requested(at, after, expiry::now_secs())
}

fn conditions(req: &Req) -> Conditions<'_> {
    Conditions {
        if_match: req.header("if-match"),
        if_none_match: req.header("if-none-match"),
        if_modified_since: req.header("if-modified-since"),
        if_unmodified_since: req.header("if-unmodified-since"),
    }
}

/// Headers every object response carries.
fn object_headers(info: &ObjectInfo, etag_header: &str) -> http::response::Builder {
    let ts = info.timestamp();
    let mut b = resp(StatusCode::OK)
        .header("Content-Type", hv(info.content_type()))
        .header("Etag", hv(etag_header))
        .header("Last-Modified", hv(&ts.http_date()))
        .header("X-Timestamp", hv(&ts.to_x_timestamp()))
        .header("Accept-Ranges", "bytes");
    b = add_meta(b, &info.meta, &["X-Object-Meta-"]);
    b = add_meta(b, &info.meta, &KEPT_HEADERS);
    b = add_meta(b, &info.meta, &[keys::DELETE_AT]);
    if let Some(m) = info.dlo() {
        b = b.header("X-Object-Manifest", hv(m));
    }
    if info.is_slo() {
        b = b.header("X-Static-Large-Object", "True");
    }
    if let Some(l) = info.link() {
        for (k, v) in l.headers() {
            b = b.header(k, hv(&v));
        }
    }
    b
}

/// A 304, 412 or 416 about an existing object. Swift keeps the object's headers on these
/// (Etag, Last-Modified, Accept-Ranges, metadata; clients revalidate caches with them), so
/// they are laid under the error page's own (status, Content-Type of a page, Content-Range).
/// None of these errors names a path, so no path can leak through the page.
fn refusal(e: &SwiftError, head: bool, object: http::response::Builder) -> Response<Body> {
    // Only a 416 has a page (Swift's 304 and 412 have no body).
    let has_page = e.status() == StatusCode::RANGE_NOT_SATISFIABLE;
    let mut r = super::error_response(e, head || !has_page, &[]);
    let Some(hs) = object.headers_ref() else {
        return r;
    };
    for (k, v) in hs {
        let object_type = k == http::header::CONTENT_TYPE && !has_page;
        if object_type || !r.headers().contains_key(k) {
            r.headers_mut().insert(k.clone(), v.clone());
        }
    }
    r
}

/// `?multipart-manifest=get` on a large object: the manifest itself (an SLO's JSON, a DLO's
/// own bytes), not the content it assembles.
pub(super) fn wants_manifest_itself(req: &Req, info: &ObjectInfo) -> bool {
    req.q("multipart-manifest") == Some("get") && (info.is_slo() || info.dlo().is_some())
}

/// `?multipart-manifest=get&format=raw`: the SLO manifest as a PUT takes it, with the
/// object's own Content-Type and the MD5 of that body as ETag (Swift).
async fn manifest_for_put(
    req: &Req,
    info: &ObjectInfo,
    location: Option<&str>,
) -> SwiftResult<Response<Body>> {
    let src = info.clone();
    let body = blocking(move || large::manifest_as_put(&src)).await?;
    let etag = hex::encode(<md5::Md5 as md5::Digest>::digest(&body));
    let mut b = object_headers(info, &etag).header("Content-Length", body.len());
    if let Some(l) = location {
        b = b.header("Content-Location", hv(l));
    }
    if req.method == Method::HEAD {
        return finish(b, body::empty());
    }
    finish(b, body::full(body))
}

pub(super) async fn get(
    gw: &Arc<Gateway>,
    req: &Req,
    a: &str,
    c: &str,
    o: &str,
) -> SwiftResult<Response<Body>> {
    let info = match load(gw, a, c, o).await {
        Err(SwiftError::NotFound)
            if conditions(req).evaluate_missing() == Verdict::PreconditionFailed =>
        {
            return Err(SwiftError::PreconditionFailed)
        }
        other => other?,
    };
    serve(gw, req, a, info).await
}

/// GET/HEAD of a loaded object (the current one, or a kept version).
pub(super) async fn serve(
    gw: &Arc<Gateway>,
    req: &Req,
    a: &str,
    info: ObjectInfo,
) -> SwiftResult<Response<Body>> {
    let (a, info, location, target) = match info.link() {
        Some(_) if req.q("symlink") != Some("get") => {
            let f = super::symlink::follow(gw, req, a, info).await?;
            (f.account, f.info, f.location, f.target)
        }
        _ => (a.to_string(), info, None, None),
    };
    let mut r = serve_reached(gw, req, &a, info, location).await?;
    if let Some(t) = target {
        r.extensions_mut().insert(LinkTarget(t));
    }
    Ok(r)
}

/// The (account, container, object) a GET/HEAD reached by following a link, kept on its
/// answer so the version headers are the target's, as in Swift (whose symlink middleware
/// reads the target through the versioning one).
#[derive(Debug, Clone)]
pub struct LinkTarget(pub (String, String, String));

/// GET/HEAD of the object `info` of account `a`, reached through links to `location` if any.
async fn serve_reached(
    gw: &Arc<Gateway>,
    req: &Req,
    a: &str,
    info: ObjectInfo,
    location: Option<String>,
) -> SwiftResult<Response<Body>> {
    let head = req.method == Method::HEAD;
    let headers = |etag: &str| {
        let b = object_headers(&info, etag);
        match &location {
            Some(l) => b.header("Content-Location", hv(l)),
            None => b,
        }
    };
    let raw_manifest = wants_manifest_itself(req, &info);
    if raw_manifest && info.is_slo() && req.q("format") == Some("raw") {
        return manifest_for_put(req, &info, location.as_deref()).await;
    }
    let resolved = if raw_manifest {
        large::manifest_itself(&info)
    } else {
        large::resolve(gw, req, a, &info).await?
    };
    let etag_header = if resolved.large {
        format!("\"{}\"", resolved.etag)
    } else {
        resolved.etag.clone()
    };
    let ts = info.timestamp();
    let refused = match conditions(req).evaluate(&resolved.etag, ts.ceil_secs(), true) {
        Verdict::Proceed => None,
        Verdict::NotModified => Some(SwiftError::NotModified {
            etag: etag_header.clone(),
            last_modified: ts.http_date(),
        }),
        Verdict::PreconditionFailed => Some(SwiftError::PreconditionFailed),
    };
    if let Some(e) = refused {
        return Ok(refusal(&e, head, headers(&etag_header)));
    }
    let mut b = headers(&etag_header);
    if !raw_manifest && info.is_slo() {
        // Swift's SLO gives the manifest's own ETag alongside the large object's.
        b = set_header(b, "X-Manifest-Etag", hv(info.etag()));
    }
    if raw_manifest && info.is_slo() {
        b = set_header(b, "Content-Type", hv("application/json; charset=utf-8"));
    }
    // Swift serves a DLO whole (200) when asked for several ranges.
    let whole_if_multi = !raw_manifest && info.dlo().is_some();
    send_ranges(req, &info, &resolved, b, whole_if_multi)
}

/// The 200, 206 (one range, or several as `multipart/byteranges`) or 416 answer streaming
/// `resolved` under the object headers `b`.
fn send_ranges(
    req: &Req,
    info: &ObjectInfo,
    resolved: &Resolved,
    mut b: http::response::Builder,
    whole_if_multi: bool,
) -> SwiftResult<Response<Body>> {
    let head = req.method == Method::HEAD;
    let total = resolved.total;
    let outcome = match evaluate(req.header("range"), total) {
        RangeOutcome::Ranges(r) if r.len() > 1 && whole_if_multi => RangeOutcome::Full,
        o => o,
    };
    let (status, pieces, len) = match outcome {
        RangeOutcome::Full => {
            let p: Vec<Piece> = resolved.segments.iter().cloned().map(Piece::Part).collect();
            (StatusCode::OK, p, total)
        }
        RangeOutcome::Unsatisfiable => {
            let e = SwiftError::RangeNotSatisfiable { size: total };
            return Ok(refusal(&e, head, b));
        }
        RangeOutcome::Ranges(r) if r.len() == 1 => {
            let (x, y) = r[0];
            b = b.header("Content-Range", format!("bytes {x}-{y}/{total}"));
            let p = slice_segments(&resolved.segments, x, y)
                .into_iter()
                .map(Piece::Part)
                .collect();
            (StatusCode::PARTIAL_CONTENT, p, y - x + 1)
        }
        RangeOutcome::Ranges(r) => {
            let boundary = format!("{:032x}", rand::random::<u128>());
            let ct = info.content_type().to_string();
            let p = multipart_pieces(&resolved.segments, &r, total, &ct, &boundary);
            b = set_header(
                b,
                "Content-Type",
                hv(&format!("multipart/byteranges;boundary={boundary}")),
            );
            let len = pieces_len(&p);
            (StatusCode::PARTIAL_CONTENT, p, len)
        }
    };
    b = b.status(status).header("Content-Length", len);
    if head {
        return finish(b, body::empty());
    }
    finish(b, body::stream_body(pieces))
}

/// Metadata a PUT asks to store (user meta, kept headers, Content-Type, DLO manifest).
pub(super) fn put_meta(req: &Req, o: &str, limits: &crate::config::Limits) -> SwiftResult<Meta> {
    let (mut meta, _) = headers_to_meta(&req.headers, "object")?;
    check_limits(&meta, "object", limits)?;
    for h in KEPT_HEADERS {
        if let Some(v) = req.header(h) {
            meta.insert(h.to_string(), v.to_string());
        }
    }
    let ct = match req.header("content-type") {
        Some(ct) if !ct.is_empty() && req.header("x-detect-content-type") != Some("true") => {
            ct.to_string()
        }
        _ => guess_content_type(o).to_string(),
    };
    meta.insert(keys::CONTENT_TYPE.into(), ct);
    expiry::store(&mut meta, requested_expiry(req)?);
    if let Some(m) = req.header("x-object-manifest") {
        let v = decode(m)?;
        if !v.contains('/') || v.starts_with('/') {
            return Err(SwiftError::bad(
                "X-Object-Manifest must be container/prefix",
            ));
        }
        meta.insert(keys::MANIFEST.into(), m.to_string());
    }
    Ok(meta)
}

fn expected_etag(req: &Req) -> Option<String> {
    req.header("etag")
        .map(|e| e.trim_matches('"').to_ascii_lowercase())
}

/// The data frames of a request body as a chunk stream.
pub fn request_chunks(body: RequestBody) -> impl Stream<Item = SwiftResult<Bytes>> + Unpin {
    BodyStream::new(body)
        .filter_map(|f| async move {
            match f {
                Ok(frame) => frame.into_data().ok().map(Ok),
                Err(_) => Some(Err(SwiftError::ClientBody {
                    context: "reading an object body".into(),
                })),
            }
        })
        .boxed()
}

pub(super) fn created(info: &ObjectInfo) -> http::response::Builder {
    let ts = info.timestamp();
    resp(StatusCode::CREATED)
        .header("Etag", hv(info.etag()))
        .header("Last-Modified", hv(&ts.http_date()))
        .header("X-Timestamp", hv(&ts.to_x_timestamp()))
        .header("Content-Type", "text/html; charset=UTF-8")
}

async fn put(
    gw: &Arc<Gateway>,
    req: &Req,
    a: &str,
    c: &str,
    o: &str,
    body: RequestBody,
) -> SwiftResult<Response<Body>> {
    let expected_len = match req.header("content-length") {
        Some(l) => Some(
            l.parse::<u64>()
                .map_err(|_| SwiftError::bad("bad Content-Length"))?,
        ),
        None if req
            .header("transfer-encoding")
            .is_some_and(|t| t.contains("chunked")) =>
        {
            None
        }
        None => return Err(SwiftError::LengthRequired),
    };
    if expected_len.is_some_and(|l| l > gw.settings.limits.max_file_size) {
        return Err(SwiftError::TooLarge(
            "Content-Length over max_file_size".into(),
        ));
    }
    let inm = if_none_match_any(req)?;
    let spec = PutSpec {
        account: a.into(),
        container: c.into(),
        object: o.into(),
        meta: put_meta(req, o, &gw.settings.limits)?,
        expected_etag: expected_etag(req),
        expected_len,
        if_none_match_any: inm,
        stored_etag: None,
        keep_version: None,
    };
    versioned_writes::before_overwrite(gw, a, c, o).await?;
    let idle = Some(gw.settings.server.client_timeout);
    let info = write_stream(gw, spec, request_chunks(body), idle).await?;
    finish(created(&info), body::empty())
}

async fn post(
    gw: &Arc<Gateway>,
    req: &Req,
    a: &str,
    c: &str,
    o: &str,
) -> SwiftResult<Response<Body>> {
    let (user, _) = headers_to_meta(&req.headers, "object")?;
    check_limits(&user, "object", &gw.settings.limits)?;
    let delete_at = requested_expiry(req)?;
    let mut info = load(gw, a, c, o).await?;
    let link = info.link();
    // POST replaces all user metadata and kept headers; system keys stay (a link's too).
    info.meta
        .retain(|k, _| !k.starts_with("X-Object-Meta-") && !KEPT_HEADERS.contains(&k.as_str()));
    info.meta.extend(user);
    for h in KEPT_HEADERS {
        if let Some(v) = req.header(h) {
            info.meta.insert(h.to_string(), v.to_string());
        }
    }
    if let Some(ct) = req.header("content-type").filter(|c| !c.is_empty()) {
        info.meta.insert(keys::CONTENT_TYPE.into(), ct.to_string());
    }
    // X-Object-Manifest is replaced like user metadata: a POST without it makes a DLO a
    // plain object again (Swift).
    info.meta.remove(keys::MANIFEST);
    if let Some(m) = req.header("x-object-manifest").filter(|m| !m.is_empty()) {
        info.meta.insert(keys::MANIFEST.into(), m.to_string());
    }
    let ended_dlo_file = info.dlo().is_none() && info.meta.contains_key(keys::DLO_ETAG);
    // As in Swift, a POST without X-Delete-At/-After removes the expiry.
    expiry::store(&mut info.meta, delete_at);
    info.meta
        .insert(keys::TIMESTAMP.into(), Timestamp::now().to_x_timestamp());
    let (g, a2, c2, o2) = (gw.clone(), a.to_string(), c.to_string(), o.to_string());
    blocking(move || {
        if ended_dlo_file {
            crate::dlo::end_file(&mut info)?;
        }
        g.rewrite_object_meta(&a2, &c2, &o2, &info)
    })
    .await?;
    if let Some(l) = link {
        return super::symlink::post_redirect(a, &l);
    }
    finish(
        resp(StatusCode::ACCEPTED).header("Content-Type", "text/html; charset=UTF-8"),
        body::empty(),
    )
}

/// A plain DELETE (also the last step of a versioned container's, see [`versioned_writes`]).
pub(super) async fn delete(
    gw: &Arc<Gateway>,
    req: &Req,
    a: &str,
    c: &str,
    o: &str,
) -> SwiftResult<Response<Body>> {
    // Swift's object server: the condition must be an integer, judged before the object.
    let if_delete_at = match req.header("x-if-delete-at") {
        None => None,
        Some(v) => Some(
            v.trim()
                .parse::<i64>()
                .map_err(|_| SwiftError::bad("Bad X-If-Delete-At header value"))?,
        ),
    };
    let (g, a, c, o) = (gw.clone(), a.to_string(), c.to_string(), o.to_string());
    let existed = blocking(move || {
        // An expired object is gone for the client; remove what is left, answer 404.
        let expired = g
            .stored_delete_at(&a, &c, &o)
            .is_ok_and(|at| at.is_some_and(|t| t <= expiry::now_secs()));
        Ok(g.delete_object_if(&a, &c, &o, if_delete_at)? && !expired)
    })
    .await?;
    if !existed {
        return Err(SwiftError::NotFound);
    }
    finish(
        resp(StatusCode::NO_CONTENT).header("Content-Type", "text/html; charset=UTF-8"),
        body::empty(),
    )
}

/// Whether a PUT carries `If-None-Match: *` (create only); any other value is a 400.
pub fn if_none_match_any(req: &Req) -> SwiftResult<bool> {
    match req.header("if-none-match") {
        None => Ok(false),
        Some(v) if v.trim() == "*" => Ok(true),
        Some(_) => Err(SwiftError::bad("If-None-Match on PUT only supports *")),
    }
}
