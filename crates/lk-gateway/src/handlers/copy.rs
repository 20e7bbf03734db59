// SPDX-License-Identifier: Apache-2.0
//! Server-side copies: COPY and PUT with `X-Copy-From`, within an account or across accounts
//! (`Destination-Account`, `X-Copy-From-Account`), ranges, `?multipart-manifest=get` (the
//! manifest itself rather than its content).

use std::sync::Arc;

use futures_util::StreamExt;
use http::Response;

use super::large::{self, Resolved};
use super::object::{created, load, requested_expiry, wants_manifest_itself, KEPT_HEADERS};
use super::slo_put::{copy_manifest, segment_errors, SloOutcome};
use super::{authorize, finish, hv, symlink, Access, Req};
use crate::body::{self, piece_stream, slice_segments, Body, Piece};
use crate::error::{SwiftError, SwiftResult};
use crate::expiry;
use crate::gateway::{blocking, Gateway, ObjectInfo, PutSpec};
use crate::meta::{check_limits, headers_to_meta, keys, Meta};
use crate::put::write_stream;
use crate::range::{evaluate, RangeOutcome};

/// The source bytes a copy takes: all, or the one range of a `Range` header (Swift's copy
/// reads the source with the request's Range).
fn copied_part(req: &Req, src: &Resolved) -> SwiftResult<Vec<crate::body::Segment>> {
    match evaluate(req.header("range"), src.total) {
        RangeOutcome::Ranges(r) if r.len() == 1 => {
            Ok(slice_segments(&src.segments, r[0].0, r[0].1))
        }
        RangeOutcome::Unsatisfiable => Err(SwiftError::RangeNotSatisfiable { size: src.total }),
        RangeOutcome::Full | RangeOutcome::Ranges(_) => Ok(src.segments.clone()),
    }
}

/// The account an `X-Copy-From-Account` / `Destination-Account` value names (`AUTH_name`).
pub(super) fn account_of(value: &str) -> SwiftResult<String> {
    value
        .strip_prefix(crate::config::RESELLER_PREFIX)
        .filter(|a| !a.is_empty() && !a.contains('/'))
        .map(str::to_string)
        .ok_or(SwiftError::BadPath("Bad account name"))
}

/// Server-side copy (COPY, or PUT with X-Copy-From): the source's content (a large object's
/// concatenated segments, unless `?multipart-manifest=get` copies an SLO manifest itself)
/// streamed into a new object, within an account or (when both container ACLs allow the
/// caller) across accounts. Write access to the destination is checked here after the source
/// is loaded when `authorize_dest`, else the caller has checked it.
pub(super) async fn copy(
    gw: &Arc<Gateway>,
    req: &Req,
    (sa, sc, so): (&str, &str, &str),
    (da, dc, d_o): (&str, &str, &str),
    authorize_dest: bool,
) -> SwiftResult<Response<Body>> {
    authorize(gw, req, sa, Access::Read(sc)).await?;
    let src = load(gw, sa, sc, so).await?;
    copy_loaded(gw, req, src, (sa, sc, so), (da, dc, d_o), authorize_dest).await
}

/// [`copy`] of an already loaded (and authorized) source: the current object or a kept
/// version of it.
pub(super) async fn copy_loaded(
    gw: &Arc<Gateway>,
    req: &Req,
    src: ObjectInfo,
    (sa, sc, so): (&str, &str, &str),
    (da, dc, d_o): (&str, &str, &str),
    authorize_dest: bool,
) -> SwiftResult<Response<Body>> {
    // A link is copied as a link with `?symlink=get`, else its target's content is copied
    // (read with the caller's rights, as a GET of the link would).
    let (from, src) = match src.link() {
        Some(link) if req.q("symlink") == Some("get") => {
            if authorize_dest {
                authorize(gw, req, da, Access::Write(dc)).await?;
            }
            let lreq = symlink::copied_link(req, &link, (da, dc, d_o))?;
            let meta = copy_meta(gw, req, &src)?;
            let info = symlink::create(gw, req, (da, dc, d_o), &lreq, meta, true).await?;
            return finish(copied(&info, &src, (sa, sc, so), da), body::empty());
        }
        Some(_) => {
            let f = symlink::follow(gw, req, sa, src).await?;
            (f.account, f.info)
        }
        None => (sa.to_string(), src),
    };
    if authorize_dest {
        authorize(gw, req, da, Access::Write(dc)).await?;
    }
    let raw_manifest = wants_manifest_itself(req, &src);
    if raw_manifest && from != da {
        if src.is_slo() {
            return copy_slo_manifest_across(gw, req, &src, (sa, sc, so), (da, dc, d_o)).await;
        }
        // A DLO manifest names its segments by container and prefix: copied as it is into
        // another account it would read that account's objects of the same names.
        return Err(SwiftError::Forbidden(
            "a DLO manifest is not copied to another account as a manifest".into(),
        ));
    }
    let resolved = if raw_manifest && src.dlo().is_some() {
        large::manifest_itself(&src)
    } else if raw_manifest {
        Resolved::single(&src)
    } else {
        large::resolve(gw, req, &from, &src).await?
    };
    let mut meta = copy_meta(gw, req, &src)?;
    // A manifest copied as a manifest: the same keys, and (an SLO holding its bytes) the
    // same file and manifest ETag, so the copy is an SLO of the same segments.
    let mut stored_etag = None;
    if raw_manifest {
        let slo_keys = [
            keys::SLO_ETAG,
            keys::SLO_SIZE,
            keys::SLO_MANIFEST,
            keys::SLO_CONTAINERS,
            keys::SLO_DEPTH,
        ];
        for k in [keys::SLO, keys::MANIFEST].iter().chain(&slo_keys) {
            if let Some(v) = src.meta.get(*k) {
                meta.insert(k.to_string(), v.clone());
            }
        }
        if src.slo_manifest().is_some() {
            stored_etag = Some(src.etag().to_string());
        }
    }
    let part = copied_part(req, &resolved)?;
    let spec = PutSpec {
        account: da.into(),
        container: dc.into(),
        object: d_o.into(),
        meta,
        expected_etag: None,
        expected_len: Some(part.iter().map(|s| s.len).sum()),
        if_none_match_any: false,
        stored_etag,
        keep_version: None,
    };
    super::versioned_writes::before_overwrite(gw, da, dc, d_o).await?;
    let pieces: Vec<Piece> = part.into_iter().map(Piece::Part).collect();
    let stream = piece_stream(pieces)
        .map(|r| r.map_err(|e| SwiftError::io("read copy source", "", e)))
        .boxed();
    let info = write_stream(gw, spec, stream, None).await?;
    let b = copied(&info, &src, (sa, sc, so), da);
    let b = super::versioning::with_version_header(gw, b, (da, dc, d_o)).await?;
    finish(b, body::empty())
}

/// The metadata of a copy of `src`: its user metadata and kept headers (none with
/// `X-Fresh-Metadata: true`) and Content-Type, the request's metadata (and, for COPY, its
/// Content-Type) over them, the request's expiry (never the source's, as Swift).
fn copy_meta(gw: &Gateway, req: &Req, src: &ObjectInfo) -> SwiftResult<Meta> {
    let mut meta = if req
        .header("x-fresh-metadata")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        Meta::new()
    } else {
        src.meta
            .iter()
            .filter(|(k, _)| k.starts_with("X-Object-Meta-") || KEPT_HEADERS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    meta.insert(keys::CONTENT_TYPE.into(), src.content_type().to_string());
    let (user, _) = headers_to_meta(&req.headers, "object")?;
    meta.extend(user);
    if let Some(ct) = req
        .header("content-type")
        .filter(|c| !c.is_empty() && req.method.as_str() == "COPY")
    {
        meta.insert(keys::CONTENT_TYPE.into(), ct.to_string());
    }
    check_limits(&meta, "object", &gw.settings.limits)?;
    expiry::store(&mut meta, requested_expiry(req)?);
    Ok(meta)
}

/// A copy's 201 with the `X-Copied-From*` headers.
fn copied(
    info: &ObjectInfo,
    src: &ObjectInfo,
    (sa, sc, so): (&str, &str, &str),
    da: &str,
) -> http::response::Builder {
    let mut b = created(info)
        .header("X-Copied-From", hv(&format!("{sc}/{so}")))
        .header(
            "X-Copied-From-Last-Modified",
            hv(&src.timestamp().http_date()),
        );
    if sa != da {
        b = b.header(
            "X-Copied-From-Account",
            hv(&format!("{}{sa}", crate::config::RESELLER_PREFIX)),
        );
    }
    b
}

/// An SLO manifest copied as a manifest into another account: as Swift, a manifest PUT
/// there whose segments (the same names) are checked in that account with the caller's
/// rights; a segment the caller may not read or that is missing there is a line of the 400.
async fn copy_slo_manifest_across(
    gw: &Arc<Gateway>,
    req: &Req,
    src: &ObjectInfo,
    from: (&str, &str, &str),
    (da, dc, d_o): (&str, &str, &str),
) -> SwiftResult<Response<Body>> {
    let meta = copy_meta(gw, req, src)?;
    let src2 = src.clone();
    let put_body = blocking(move || large::manifest_as_put(&src2)).await?;
    match copy_manifest(gw, req, (da, dc, d_o), &put_body, meta).await {
        SloOutcome::Created { .. } => {
            let info = load(gw, da, dc, d_o).await?;
            finish(copied(&info, src, from, da), body::empty())
        }
        SloOutcome::BadSegments(errors) => segment_errors(&errors),
        SloOutcome::Failed(e) => Err(e),
    }
}
