// SPDX-License-Identifier: Apache-2.0
//! Request handlers: route -> authorize -> operation. One module per resource kind.
//!
//! - [`misc`]: `/info`, `/auth/v1.0`, `/healthcheck`, CORS preflight.
//! - [`account`], [`container`], [`object`]: the Swift verbs on each resource.
//! - [`copy`]: COPY and PUT with `X-Copy-From`, across accounts too.
//! - [`large`]: DLO and SLO (manifests, segment resolution).
//! - [`slo_put`]: SLO manifest PUTs (segment checks, stored form).
//! - [`bulk`]: bulk delete (`?bulk-delete` on the account).
//! - [`versioning`]: object versioning (`X-Versions-Enabled`, `?version-id`, `?versions`).

pub mod account;
pub mod bulk;
pub mod container;
pub mod copy;
pub mod large;
pub mod misc;
pub mod object;
pub mod slo_heartbeat;
pub mod slo_put;
pub mod versioning;

use std::sync::Arc;
use std::time::Duration;

use crate::server::RequestBody;
use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode};
use http_body_util::BodyExt;

use crate::acl::referrer_grants;
use crate::auth::{acl_allows, acl_allows_foreign, Session};
use crate::body::{self, Body};
use crate::error::{SwiftError, SwiftResult};
use crate::gateway::{blocking, container_key, Gateway};
use crate::meta::Meta;
use crate::path::{parse_query, parse_target, query_get, Target};

/// A parsed request (the body travels separately).
#[derive(Clone)]
pub struct Req {
    /// Method.
    pub method: Method,
    /// What the path names.
    pub target: Target,
    /// Decoded query.
    pub query: Vec<(String, String)>,
    /// Headers.
    pub headers: HeaderMap,
    /// The caller, when a valid token was given.
    pub session: Option<Session>,
}

impl Req {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        crate::hdr::get(&self.headers, name)
    }
    /// A query parameter.
    pub fn q(&self, key: &str) -> Option<&str> {
        query_get(&self.query, key)
    }
    /// Whether the caller is its account's admin.
    /// Whether the caller is an admin of `account` (an admin of another account, reaching
    /// a container through its ACL, is not).
    pub fn is_admin_of(&self, account: &str) -> bool {
        self.session
            .as_ref()
            .is_some_and(|s| s.admin && s.account == account)
    }
}

/// A response builder with the given status.
pub fn resp(status: StatusCode) -> http::response::Builder {
    Response::builder().status(status)
}

/// Finishes a builder (header values are checked where they are made).
pub fn finish(b: http::response::Builder, body: Body) -> SwiftResult<Response<Body>> {
    b.body(body)
        .map_err(|e| SwiftError::Internal(format!("building a response: {e}")))
}

/// A header value from arbitrary text (metadata values may hold anything a client sent).
pub fn hv(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Sets (replaces) a header on a builder.
pub fn set_header(
    mut b: http::response::Builder,
    name: &'static str,
    value: HeaderValue,
) -> http::response::Builder {
    if let Some(h) = b.headers_mut() {
        h.insert(name, value);
    }
    b
}

/// Adds every `X-<Kind>-Meta-*` (and ACL/other kept headers) of `meta` to `b`, each with
/// the bytes it was sent with (see [`crate::meta::value_bytes`]).
pub fn add_meta(
    mut b: http::response::Builder,
    meta: &Meta,
    prefixes: &[&str],
) -> http::response::Builder {
    for (k, v) in meta {
        if prefixes.iter().any(|p| k.starts_with(p)) {
            let value = HeaderValue::from_bytes(&crate::meta::value_bytes(v))
                .unwrap_or_else(|_| HeaderValue::from_static(""));
            b = b.header(k.as_str(), value);
        }
    }
    b
}

/// Reads a whole (small) request body, refusing more than `max` bytes with 413 and a body
/// idle for `idle` with 408.
pub async fn read_body(mut body: RequestBody, max: usize, idle: Duration) -> SwiftResult<Bytes> {
    let mut buf = BytesMut::new();
    loop {
        let frame = tokio::time::timeout(idle, body.frame())
            .await
            .map_err(|_| SwiftError::RequestTimeout)?;
        match frame {
            None => return Ok(buf.freeze()),
            Some(Ok(f)) => {
                let Ok(data) = f.into_data() else { continue };
                if buf.len() + data.len() > max {
                    return Err(SwiftError::TooLarge(format!("body over {max} bytes")));
                }
                buf.extend_from_slice(&data);
            }
            Some(Err(_)) => {
                return Err(SwiftError::ClientBody {
                    context: "reading a request body".into(),
                })
            }
        }
    }
}

/// What an operation needs from the caller.
#[derive(Debug, Clone, Copy)]
pub enum Access<'a> {
    /// Account-level operations and container changes: the account's admin only.
    Admin,
    /// Reading a container's objects: admin, `X-Container-Read` naming the caller, or a
    /// referrer item of it matching the request's `Referer` (also without a token).
    Read(&'a str),
    /// Listing a container (GET/HEAD): as [`Access::Read`], but a referrer item only counts
    /// when the ACL also holds `.rlistings`.
    List(&'a str),
    /// Writing objects in a container: admin or `X-Container-Write` (never a referrer).
    Write(&'a str),
}

/// Checks the caller against `access` on `account`. Refusals are 403 with a token and 401
/// without one, as tempauth's `denied_response`.
pub async fn authorize(
    gw: &Arc<Gateway>,
    req: &Req,
    account: &str,
    access: Access<'_>,
) -> SwiftResult<()> {
    let session = req.session.as_ref();
    let own = session.is_some_and(|s| s.account == account);
    if own && session.is_some_and(|s| s.admin) {
        return Ok(());
    }
    let denied = |why: &str| match session {
        Some(_) => SwiftError::Forbidden(why.into()),
        None => SwiftError::Unauthorized,
    };
    let (container, header) = match access {
        Access::Admin if own => return Err(denied("account admin required")),
        Access::Admin => return Err(denied("token is for another account")),
        Access::Read(c) | Access::List(c) => (c, "X-Container-Read"),
        Access::Write(c) => (c, "X-Container-Write"),
    };
    let meta = container_meta(gw, account, container)
        .await?
        .unwrap_or_default();
    let acl = meta.get(header).map(String::as_str);
    let referred = match access {
        Access::Read(_) => referrer_grants(acl, req.header("referer"), true),
        Access::List(_) => referrer_grants(acl, req.header("referer"), false),
        Access::Admin | Access::Write(_) => false,
    };
    let granted = referred
        || match session {
            Some(s) if own => acl_allows(acl, s),
            Some(s) => acl_allows_foreign(acl, s),
            None => false,
        };
    if granted {
        Ok(())
    } else {
        Err(denied(&format!("{header} does not grant access")))
    }
}

/// A container's metadata, `None` when the container does not exist.
pub async fn container_meta(gw: &Arc<Gateway>, a: &str, c: &str) -> SwiftResult<Option<Meta>> {
    let (gw, a, c) = (gw.clone(), a.to_string(), c.to_string());
    blocking(move || {
        let dir = gw.store.checked_container_dir(&a, &c)?;
        if !dir.is_dir() {
            return Ok(None);
        }
        Ok(Some(
            gw.meta
                .read(&dir, &container_key(&a, &c))?
                .unwrap_or_default(),
        ))
    })
    .await
}

/// The error page Swift-like servers send. Its text is [`SwiftError::public_message`];
/// should that ever contain one of the `hidden` paths (the served root, the state
/// directory), a generic sentence replaces it: server paths are for the log only.
pub fn error_response(e: &SwiftError, head: bool, hidden: &[&std::path::Path]) -> Response<Body> {
    let status = e.status();
    let mut b = resp(status).header("Content-Type", "text/html; charset=UTF-8");
    match e {
        SwiftError::NotModified {
            etag,
            last_modified,
        } => {
            b = b
                .header("Etag", hv(etag))
                .header("Last-Modified", hv(last_modified));
            return bare_on_error(status, b.body(body::empty()));
        }
        SwiftError::RangeNotSatisfiable { size } => {
            b = b.header("Content-Range", format!("bytes */{size}"));
        }
        SwiftError::Busy(_) => b = b.header("Retry-After", "1"),
        // Swift sends these as bare text, and clients (Swift's tests among them) compare it.
        SwiftError::BadPath(text) => return bare_text(status, b, head, text),
        SwiftError::BadRequest(text) if !names_any(text, hidden) => {
            return bare_text(status, b, head, text)
        }
        _ => {}
    }
    let reason = status.canonical_reason().unwrap_or("Error");
    let mut detail = e.public_message();
    if names_any(&detail, hidden) {
        tracing::error!(error = %e, "an error message named a server path; answered without it");
        detail = "An error occurred".to_string();
    }
    let text = format!(
        "<html><h1>{reason}</h1><p>{}</p></html>",
        html_escape(&detail)
    );
    if head || status == StatusCode::NOT_MODIFIED {
        return bare_on_error(status, b.body(body::empty()));
    }
    bare_on_error(status, b.body(body::full(text)))
}

/// The built error page, or (should a header not build) the same status with no headers or
/// body: never a default `200 OK`.
/// Whether `text` contains one of the `hidden` paths.
fn names_any(text: &str, hidden: &[&std::path::Path]) -> bool {
    hidden
        .iter()
        .filter_map(|p| p.to_str())
        .any(|p| !p.is_empty() && text.contains(p))
}

/// An error answered with its text alone, as Swift's explicit-body errors are (still
/// labelled `text/html`, as Swift's are).
fn bare_text(
    status: StatusCode,
    b: http::response::Builder,
    head: bool,
    text: &str,
) -> Response<Body> {
    let body = if head {
        body::empty()
    } else {
        body::full(text.to_string())
    };
    bare_on_error(status, b.body(body))
}

fn bare_on_error(status: StatusCode, built: http::Result<Response<Body>>) -> Response<Body> {
    built.unwrap_or_else(|_| {
        let mut r = Response::new(body::empty());
        *r.status_mut() = status;
        r
    })
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Routes one request.
pub async fn dispatch(
    gw: &Arc<Gateway>,
    method: Method,
    raw_path: &str,
    raw_query: Option<&str>,
    headers: HeaderMap,
    body: RequestBody,
) -> SwiftResult<Response<Body>> {
    let token = headers
        .get("x-auth-token")
        .or_else(|| headers.get("x-storage-token"))
        .and_then(crate::hdr::text);
    let session = token.and_then(|t| gw.auth.validate(t));
    // As tempauth: a /v1/ request with a token that is not valid (not even text) is a 401
    // whatever its path holds. Without a token, only CORS preflights and reads of containers
    // and objects go on, for a referrer ACL to decide (`authorize`); anything else is a 401.
    let token_sent =
        headers.contains_key("x-auth-token") || headers.contains_key("x-storage-token");
    let anonymous = session.is_none() && method != Method::OPTIONS && raw_path.starts_with("/v1/");
    if anonymous && (token_sent || !(method == Method::GET || method == Method::HEAD)) {
        return Err(SwiftError::Unauthorized);
    }
    // A path or query that does not parse is a 401 too without a token: it is never judged.
    let parsed =
        parse_target(raw_path, &gw.settings.limits).and_then(|t| Ok((t, parse_query(raw_query)?)));
    let (target, query) = match parsed {
        Err(_) if anonymous => return Err(SwiftError::Unauthorized),
        p => p?,
    };
    let req = Req {
        method,
        target,
        query,
        headers,
        session,
    };
    if req.method == Method::OPTIONS {
        return misc::options(gw, &req).await;
    }
    match req.target.clone() {
        Target::Info => misc::info(gw, &req),
        Target::Auth => misc::auth(gw, &req),
        Target::Healthcheck => finish(resp(StatusCode::OK), body::full("OK")),
        Target::Account(a) => {
            check_session(&req, &a)?;
            account::handle(gw, &req, &a, body).await
        }
        // A container or object of another account, or a request without a token: its
        // container ACL decides (authorize).
        Target::Container(a, c) => container::handle(gw, &req, &a, &c).await,
        Target::Object(a, c, o) => object::handle(gw, &req, &a, &c, &o, body).await,
    }
}

/// 401 without a valid token, 403 for another account's token.
fn check_session(req: &Req, account: &str) -> SwiftResult<()> {
    match &req.session {
        None => Err(SwiftError::Unauthorized),
        Some(s) if s.account != account => {
            Err(SwiftError::Forbidden("token is for another account".into()))
        }
        Some(_) => Ok(()),
    }
}
