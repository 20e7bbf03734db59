// SPDX-License-Identifier: Apache-2.0
//! The HTTP side of object versioning (Swift's `object_versioning`; the model is in
//! [`crate::versioning`]): `?version-id` on object requests, delete markers, the
//! `X-Object-Version-Id` / `Content-Location` headers, and (in [`listing`]) `?versions`.
//!
//! Access is Swift's: reading, deleting or copying a specific version needs the account's
//! owner (Swift keeps versions in a reserved container only owners reach); the current
//! object, `version-id=null` and restoring a version with `PUT ?version-id` need the
//! container's usual read or write access.

pub mod listing;

use std::sync::Arc;

use http::{HeaderValue, Method, Response, StatusCode};

use super::object;
use super::{authorize, finish, hv, resp, Access, Req};
use crate::body::{self, Body};
use crate::error::{SwiftError, SwiftResult};
use crate::gateway::{blocking, Gateway};
use crate::path::{decode, split_container_object};
use crate::server::RequestBody;
use crate::versioning::store::{self as vstore, Found};
use crate::versioning::{State, VersionId, DELETE_MARKER_CONTENT_TYPE, NULL_VERSION};

/// What [`intercept`] did with a request.
pub enum Outcome {
    /// Answered it.
    Done(Response<Body>),
    /// Not a versioning request: the usual handler goes on with the body; the container's
    /// state, read once, is handed on to [`decorate`].
    Pass(RequestBody, State),
}

/// A container's versioning state, off the async threads.
pub async fn state(gw: &Arc<Gateway>, a: &str, c: &str) -> SwiftResult<State> {
    if let Some(st) = vstore::cached_state(gw, a, c) {
        return Ok(st);
    }
    let (g, a, c) = (gw.clone(), a.to_string(), c.to_string());
    blocking(move || vstore::state(&g, &a, &c)).await
}

/// Which version a `?version-id` names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Asked {
    /// `null`: the current object written without versioning.
    Null,
    /// A version id (normalized).
    Id(String),
}

/// Swift's checks of `?version-id` (POST refused, a versioned container needed, a valid id).
fn asked_version(req: &Req, st: State) -> SwiftResult<Option<Asked>> {
    let Some(v) = req.q("version-id").filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if req.method == Method::POST {
        return Err(SwiftError::bad("POST to a specific version is not allowed"));
    }
    if v == NULL_VERSION {
        return Ok(Some(Asked::Null));
    }
    if !st.versioned() {
        return Err(SwiftError::bad(
            "version-aware operations require that the container is versioned",
        ));
    }
    let id = VersionId::parse(v).ok_or_else(|| SwiftError::bad("Invalid version parameter"))?;
    Ok(Some(Asked::Id(id.as_string())))
}

/// Handles what versioning changes in an object request; everything else passes.
pub async fn intercept(
    gw: &Arc<Gateway>,
    req: &Req,
    (a, c, o): (&str, &str, &str),
    body: RequestBody,
) -> SwiftResult<Outcome> {
    let st = state(gw, a, c).await?;
    let done = |r: Response<Body>| Ok(Outcome::Done(r));
    match asked_version(req, st)? {
        Some(asked) => done(versioned_request(gw, req, (a, c, o), asked, body).await?),
        None if st == State::Enabled
            && req.method == Method::DELETE
            && req.q("multipart-manifest").is_none() =>
        {
            authorize(gw, req, a, Access::Write(c)).await?;
            done(delete_with_marker(gw, a, c, o).await?)
        }
        None => Ok(Outcome::Pass(body, st)),
    }
}

async fn versioned_request(
    gw: &Arc<Gateway>,
    req: &Req,
    (a, c, o): (&str, &str, &str),
    asked: Asked,
    body: RequestBody,
) -> SwiftResult<Response<Body>> {
    let copy_from = req.method == Method::PUT && req.header("x-copy-from").is_some();
    match (&req.method, asked) {
        (m, Asked::Null) if m == Method::GET || m == Method::HEAD => {
            get_null(gw, req, a, c, o).await
        }
        (m, Asked::Null) if m == Method::DELETE => {
            authorize(gw, req, a, Access::Write(c)).await?;
            // Swift's legacy versioned writes sit before object versioning and see every
            // DELETE: in a container with X-Versions-Location / X-History-Location the
            // null version's DELETE pops or archives as a plain DELETE does.
            if let Some(v) = super::versioned_writes::of_container(gw, a, c).await? {
                return super::versioned_writes::delete(gw, req, (a, c, o), &v).await;
            }
            object::delete(gw, req, a, c, o).await
        }
        (_, Asked::Null) => Err(SwiftError::bad("Invalid version parameter")),
        (m, Asked::Id(id)) if m == Method::GET || m == Method::HEAD => {
            authorize(gw, req, a, Access::Admin).await?;
            get_version(gw, req, (a, c, o), &id).await
        }
        (m, Asked::Id(id)) if m == Method::DELETE => {
            authorize(gw, req, a, Access::Admin).await?;
            if req.q("multipart-manifest") == Some("delete") {
                return delete_version_with_segments(gw, req, (a, c, o), &id).await;
            }
            delete_version(gw, a, c, o, &id).await
        }
        (_, Asked::Id(id)) if copy_from => copy_version_from(gw, req, (a, c, o), &id).await,
        (m, Asked::Id(id)) if m == Method::PUT => {
            authorize(gw, req, a, Access::Write(c)).await?;
            restore(gw, req, (a, c, o), &id, body).await
        }
        (m, Asked::Id(id)) if m.as_str() == "COPY" => copy_version(gw, req, (a, c, o), &id).await,
        _ => Err(SwiftError::MethodNotAllowed),
    }
}

/// `GET ?version-id=null`: the current object only when it has no version id.
async fn get_null(
    gw: &Arc<Gateway>,
    req: &Req,
    a: &str,
    c: &str,
    o: &str,
) -> SwiftResult<Response<Body>> {
    authorize(gw, req, a, Access::Read(c)).await?;
    if current_id(gw, a, c, o).await?.is_some() {
        return Err(SwiftError::NotFound);
    }
    let mut r = object::get(gw, req, a, c, o).await?;
    r.headers_mut().insert(
        "X-Object-Version-Id",
        HeaderValue::from_static(NULL_VERSION),
    );
    Ok(r)
}

async fn current_id(gw: &Arc<Gateway>, a: &str, c: &str, o: &str) -> SwiftResult<Option<String>> {
    let (g, a, c, o) = (gw.clone(), a.to_string(), c.to_string(), o.to_string());
    blocking(move || Ok(g.index.current_version(&a, &c, &o)?)).await
}

async fn find(gw: &Arc<Gateway>, names: (&str, &str, &str), id: &str) -> SwiftResult<Found> {
    on_version(gw, names, id, vstore::find).await
}

/// A version of object `names` (its `id`) as the owned arguments of a blocking store step.
type VersionArgs = (Arc<Gateway>, String, String, String, String);

fn version_args(gw: &Arc<Gateway>, (a, c, o): (&str, &str, &str), id: &str) -> VersionArgs {
    (gw.clone(), a.into(), c.into(), o.into(), id.into())
}

/// Runs the store step `f` on version `id` of object `names`, off the async threads.
async fn on_version<T: Send + 'static>(
    gw: &Arc<Gateway>,
    names: (&str, &str, &str),
    id: &str,
    f: fn(&Gateway, &str, &str, &str, &str) -> SwiftResult<T>,
) -> SwiftResult<T> {
    let (g, a, c, o, id) = version_args(gw, names, id);
    blocking(move || f(&g, &a, &c, &o, &id)).await
}

/// A 404 carrying headers (a delete marker's, or the version id a DELETE wrote).
fn not_found_with(head: bool, headers: &[(&'static str, &str)]) -> Response<Body> {
    let mut r = super::error_response(&SwiftError::NotFound, head, &[]);
    for (k, v) in headers {
        r.headers_mut().insert(*k, hv(v));
    }
    r
}

async fn get_version(
    gw: &Arc<Gateway>,
    req: &Req,
    names: (&str, &str, &str),
    id: &str,
) -> SwiftResult<Response<Body>> {
    let info = match find(gw, names, id).await? {
        Found::Current(info) | Found::Kept(info) => info,
        Found::Marker => {
            let head = req.method == Method::HEAD;
            return Ok(not_found_with(
                head,
                &[
                    ("X-Object-Version-Id", id),
                    ("Content-Type", DELETE_MARKER_CONTENT_TYPE),
                ],
            ));
        }
        Found::Missing => return Err(SwiftError::NotFound),
    };
    let mut r = object::serve(gw, req, names.0, info).await?;
    r.headers_mut().insert("X-Object-Version-Id", hv(id));
    Ok(r)
}

async fn delete_version(
    gw: &Arc<Gateway>,
    a: &str,
    c: &str,
    o: &str,
    id: &str,
) -> SwiftResult<Response<Body>> {
    let (existed, current) = on_version(gw, (a, c, o), id, vstore::delete_version).await?;
    let current = current.unwrap_or_else(|| NULL_VERSION.to_string());
    let headers = [
        ("X-Object-Version-Id", id),
        ("X-Object-Current-Version-Id", current.as_str()),
    ];
    if !existed {
        return Ok(not_found_with(false, &headers));
    }
    let mut b = resp(StatusCode::NO_CONTENT).header("Content-Type", "text/html; charset=UTF-8");
    for (k, v) in headers {
        b = b.header(k, hv(v));
    }
    finish(b, body::empty())
}

/// `DELETE ?multipart-manifest=delete&version-id=ID`: the kept (or current) version `ID`
/// and, when it is an SLO, its segments, answered with Swift's bulk report. A delete
/// marker is removed as by a plain version DELETE.
async fn delete_version_with_segments(
    gw: &Arc<Gateway>,
    req: &Req,
    (a, c, o): (&str, &str, &str),
    id: &str,
) -> SwiftResult<Response<Body>> {
    let info = match find(gw, (a, c, o), id).await? {
        Found::Current(info) | Found::Kept(info) => info,
        Found::Marker => return delete_version(gw, a, c, o, id).await,
        Found::Missing => return Err(SwiftError::NotFound),
    };
    let (g, a2, c2, o2, id2) = version_args(gw, (a, c, o), id);
    let remove =
        move || vstore::delete_version(&g, &a2, &c2, &o2, &id2).map(|(existed, _)| existed);
    super::large::delete_with_segments(gw, req, a, (c, o, &info), remove).await
}

/// DELETE with versioning enabled: the current object is kept as a version, a delete marker
/// is written, then the object goes. 204 (or 404 when there was none) with the marker's id.
async fn delete_with_marker(
    gw: &Arc<Gateway>,
    a: &str,
    c: &str,
    o: &str,
) -> SwiftResult<Response<Body>> {
    let (g, a2, c2, o2) = (gw.clone(), a.to_string(), c.to_string(), o.to_string());
    let (existed, marker) = blocking(move || {
        let path = g.store.object_path(&a2, &c2, &o2)?;
        {
            let _guard = g.commit_locks.lock(&a2, &c2, &o2);
            vstore::keep_null(&g, &a2, &c2, &o2, &path)?;
        }
        let expired = g
            .stored_delete_at(&a2, &c2, &o2)
            .is_ok_and(|at| at.is_some_and(|t| t <= crate::expiry::now_secs()));
        let marker = vstore::write_marker(&g, &a2, &c2, &o2)?;
        Ok((g.delete_object(&a2, &c2, &o2)? && !expired, marker))
    })
    .await?;
    if !existed {
        return Ok(not_found_with(false, &[("X-Object-Version-Id", &marker)]));
    }
    let b = resp(StatusCode::NO_CONTENT)
        .header("Content-Type", "text/html; charset=UTF-8")
        .header("X-Object-Version-Id", hv(&marker));
    finish(b, body::empty())
}

/// `PUT ?version-id=ID` with an empty body: that version becomes the current object.
async fn restore(
    gw: &Arc<Gateway>,
    req: &Req,
    (a, c, o): (&str, &str, &str),
    id: &str,
    body: RequestBody,
) -> SwiftResult<Response<Body>> {
    let zero = SwiftError::bad("PUT version-id requests require a zero byte body");
    let idle = gw.settings.server.client_timeout;
    crate::uploads::refuse_body(&req.headers, body, idle, zero).await?;
    // A missing version is a 404 (Swift: `The specified version does not exist`).
    let info = on_version(gw, (a, c, o), id, vstore::restore).await?;
    let b = object::created(&info).header("X-Object-Version-Id", hv(id));
    finish(b, body::empty())
}

/// COPY of a version (`COPY ?version-id=ID`): the version is the source.
async fn copy_version(
    gw: &Arc<Gateway>,
    req: &Req,
    (a, c, o): (&str, &str, &str),
    id: &str,
) -> SwiftResult<Response<Body>> {
    authorize(gw, req, a, Access::Admin).await?;
    let dest = req
        .header("destination")
        .ok_or(SwiftError::BadPath("You must provide a Destination header"))?;
    let malformed = SwiftError::BadPath(
        "Destination header must be of the form <container name>/<object name>",
    );
    let (dc, d_o) =
        split_container_object(&decode(dest)?, &gw.settings.limits, true).map_err(|_| malformed)?;
    let da = match req.header("destination-account") {
        Some(v) => super::copy::account_of(v)?,
        None => a.to_string(),
    };
    let src = version_source(gw, (a, c, o), id).await?;
    let dest = (da.as_str(), dc.as_str(), d_o.as_deref().unwrap_or_default());
    super::copy::copy_loaded(gw, req, src, (a, c, o), dest, true).await
}

/// `PUT` with `X-Copy-From: C/O` and `?version-id=ID`: that version of the source is copied.
async fn copy_version_from(
    gw: &Arc<Gateway>,
    req: &Req,
    (a, c, o): (&str, &str, &str),
    id: &str,
) -> SwiftResult<Response<Body>> {
    authorize(gw, req, a, Access::Write(c)).await?;
    let src = req.header("x-copy-from").unwrap_or_default();
    let (sc, so) = split_container_object(&decode(src)?, &gw.settings.limits, true)?;
    let so = so.unwrap_or_default();
    let sa = match req.header("x-copy-from-account") {
        Some(v) => super::copy::account_of(v)?,
        None => a.to_string(),
    };
    authorize(gw, req, &sa, Access::Admin).await?;
    let src = version_source(gw, (&sa, &sc, &so), id).await?;
    super::copy::copy_loaded(gw, req, src, (&sa, &sc, &so), (a, c, o), false).await
}

async fn version_source(
    gw: &Arc<Gateway>,
    names: (&str, &str, &str),
    id: &str,
) -> SwiftResult<crate::gateway::ObjectInfo> {
    match find(gw, names, id).await? {
        Found::Current(info) | Found::Kept(info) => Ok(info),
        Found::Marker | Found::Missing => Err(SwiftError::NotFound),
    }
}

/// Adds `X-Object-Version-Id` to a write's answer when the container keeps versions.
pub async fn with_version_header(
    gw: &Arc<Gateway>,
    b: http::response::Builder,
    (a, c, o): (&str, &str, &str),
) -> SwiftResult<http::response::Builder> {
    if state(gw, a, c).await? != State::Enabled {
        return Ok(b);
    }
    Ok(match current_id(gw, a, c, o).await? {
        Some(id) => super::set_header(b, "X-Object-Version-Id", hv(&id)),
        None => b,
    })
}

/// Adds the version headers to a GET/HEAD (or PUT) answer of the current object in a
/// versioned container: its id (`null` without one) and, with one, `Content-Location`.
pub async fn decorate(
    gw: &Arc<Gateway>,
    req: &Req,
    (a, c, o): (&str, &str, &str),
    known: Option<State>,
    mut r: Response<Body>,
) -> SwiftResult<Response<Body>> {
    let st = match known {
        Some(st) => st,
        None => state(gw, a, c).await?,
    };
    let reading = req.method == Method::GET || req.method == Method::HEAD;
    if !st.versioned() || !(reading || st == State::Enabled) {
        return Ok(r);
    }
    let id = current_id(gw, a, c, o).await?;
    let h = r.headers_mut();
    match id {
        Some(id) => {
            h.insert("X-Object-Version-Id", hv(&id));
            if reading {
                let loc = format!("{}?version-id={id}", listing::quote_path(a, c, o));
                h.insert("Content-Location", hv(&loc));
            }
        }
        None if reading => {
            h.insert(
                "X-Object-Version-Id",
                HeaderValue::from_static(NULL_VERSION),
            );
        }
        None => {}
    }
    Ok(r)
}
