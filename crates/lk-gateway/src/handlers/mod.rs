// SPDX-License-Identifier: Apache-2.0
//! Request handlers: route -> authorize -> operation. One module per resource kind.
//!
//! - [`misc`]: `/info`, `/auth/v1.0`, `/healthcheck`, CORS preflight.
//! - [`account`], [`container`], [`object`]: the Swift verbs on each resource.
//! - [`copy`]: COPY and PUT with `X-Copy-From`, across accounts too.
//! - [`quota`]: container quotas on object PUTs.
//! - [`large`]: DLO and SLO (manifests, segment resolution).
//! - [`slo_put`]: SLO manifest PUTs (segment checks, stored form).
//! - [`slo_intact`]: whether an SLO's segments are still those its manifest names.
//! - [`bulk`]: Swift's bulk middleware: bulk delete (`?bulk-delete` on any path of an
//!   account), report formats; [`bulk_upload`]: `?extract-archive` (tar uploads).
//! - [`staticweb`]: containers served as web sites (GET/HEAD without a token or in web mode).
//! - [`tempurl`]: temporary URLs (signature check, grant, answer headers).
//! - [`versioned_writes`]: legacy versioning (`X-Versions-Location`, `X-History-Location`).
//! - [`versioning`]: object versioning (`X-Versions-Enabled`, `?version-id`, `?versions`).

pub mod account;
pub mod bulk;
pub mod bulk_upload;
pub mod container;
pub mod copy;
pub mod large;
pub mod misc;
pub mod object;
pub mod quota;
pub mod slo_heartbeat;
pub mod slo_intact;
pub mod slo_put;
pub mod staticweb;
pub mod symlink;
pub mod tempurl;
pub mod versioned_writes;
pub mod versioning;

use std::sync::Arc;
use std::time::Duration;

use crate::server::RequestBody;
use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode};
use http_body_util::BodyExt;

use crate::account_acl;
use crate::acl::referrer_grants;
use crate::auth::{acl_allows, acl_allows_foreign, Session};
use crate::body::{self, Body};
use crate::error::{SwiftError, SwiftResult};
use crate::gateway::{account_key, blocking, container_key, Gateway};
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
    /// The caller, when a valid token was given (never together with `tempurl`).
    pub session: Option<Session>,
    /// What a valid temporary URL grants (the request then runs without a session).
    pub tempurl: Option<tempurl::Grant>,
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

/// Metadata only an account's owners see and set (Swift's `swift_owner_headers` that the
/// gateway keeps): the temp-URL keys.
pub const OWNER_META: [&str; 4] = [
    "X-Account-Meta-Temp-Url-Key",
    "X-Account-Meta-Temp-Url-Key-2",
    "X-Container-Meta-Temp-Url-Key",
    "X-Container-Meta-Temp-Url-Key-2",
];

/// Whether `key` is one of [`OWNER_META`].
pub fn owner_only(key: &str) -> bool {
    OWNER_META.iter().any(|k| k.eq_ignore_ascii_case(key))
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
/// without one, as tempauth's `denied_response`. A request carrying
/// `X-Account-Access-Control` that tempauth would refuse is its 400, whatever else it asks.
pub async fn authorize(
    gw: &Arc<Gateway>,
    req: &Req,
    account: &str,
    access: Access<'_>,
) -> SwiftResult<()> {
    if let Some(grant) = &req.tempurl {
        return grant.authorize(account, access);
    }
    if let Some(v) = req.header(account_acl::HEADER) {
        account_acl::validate(v).map_err(SwiftError::BadRequest)?;
    }
    let session = req.session.as_ref();
    let own = session.is_some_and(|s| s.account == account);
    if own && session.is_some_and(|s| s.admin) {
        return Ok(());
    }
    let denied = |why: &str| match session {
        Some(_) => SwiftError::Forbidden(why.into()),
        None => SwiftError::Unauthorized,
    };
    if container_acl_grants(gw, req, account, access).await? {
        return Ok(());
    }
    if let Some(s) = session {
        let grant = account_grant(gw, account, s).await?;
        if grant_allows(grant, access, req) {
            return Ok(());
        }
    }
    Err(denied(match access {
        Access::Admin if own => "account admin required",
        Access::Admin => "token is for another account",
        Access::Read(_) | Access::List(_) => "X-Container-Read does not grant access",
        Access::Write(_) => "X-Container-Write does not grant access",
    }))
}

/// Whether the container's `X-Container-Read` / `-Write` ACL grants `access` (never
/// [`Access::Admin`]).
async fn container_acl_grants(
    gw: &Arc<Gateway>,
    req: &Req,
    account: &str,
    access: Access<'_>,
) -> SwiftResult<bool> {
    let (container, header) = match access {
        Access::Admin => return Ok(false),
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
    let own = req.session.as_ref().is_some_and(|s| s.account == account);
    Ok(referred
        || match req.session.as_ref() {
            Some(s) if own => acl_allows(acl, s),
            Some(s) => acl_allows_foreign(acl, s),
            None => false,
        })
}

/// What `account`'s `X-Account-Access-Control` grants `s`.
pub async fn account_grant(
    gw: &Arc<Gateway>,
    account: &str,
    s: &Session,
) -> SwiftResult<account_acl::Grant> {
    let (g, a) = (gw.clone(), account.to_string());
    let stored = blocking(move || {
        let dir = g.store.account_dir(&a);
        if !dir.is_dir() {
            return Ok(None);
        }
        let meta = g.meta.read(&dir, &account_key(&a))?.unwrap_or_default();
        Ok(meta.get(account_acl::STORE_KEY).cloned())
    })
    .await?;
    Ok(account_acl::grant(
        stored.as_deref(),
        &account_acl::groups(s),
    ))
}

/// tempauth's rules for account ACLs: admin allows everything; read-write everything on
/// containers and objects and reads of the account; read-only reads.
fn grant_allows(grant: account_acl::Grant, access: Access<'_>, req: &Req) -> bool {
    use account_acl::Grant;
    let read_method = req.method == Method::GET || req.method == Method::HEAD;
    let on_container = matches!(req.target, Target::Container(..) | Target::Object(..));
    match access {
        Access::Read(_) | Access::List(_) => grant >= Grant::ReadOnly,
        Access::Write(_) => grant >= Grant::ReadWrite,
        Access::Admin if read_method => grant >= Grant::ReadOnly,
        Access::Admin if on_container => grant >= Grant::ReadWrite,
        Access::Admin => grant == Grant::Admin,
    }
}

/// Whether the caller is a "swift owner" of `account`: its admin, or named in the
/// account ACL's `admin` list. Only owners see and set ACLs and temp-URL keys.
pub async fn is_owner(gw: &Arc<Gateway>, req: &Req, account: &str) -> SwiftResult<bool> {
    match req.session.as_ref() {
        None => Ok(false),
        Some(s) if s.admin && s.account == account => Ok(true),
        Some(s) => Ok(account_grant(gw, account, s).await? == account_acl::Grant::Admin),
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
        SwiftError::Located { inner, location } => {
            let mut r = error_response(inner, head, hidden);
            r.headers_mut().insert("Content-Location", hv(location));
            return r;
        }
        SwiftError::Plain { text, .. } if !names_any(text, hidden) => {
            let b = set_header(b, "Content-Type", HeaderValue::from_static("text/plain"));
            return bare_text(status, b, head, text);
        }
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
        SwiftError::TempUrlInvalid => {
            return bare_text(status, b, head, crate::tempurl::INVALID_TEXT)
        }
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
    client: std::net::IpAddr,
    method: Method,
    raw_path: &str,
    raw_query: Option<&str>,
    mut headers: HeaderMap,
    body: RequestBody,
) -> SwiftResult<Response<Body>> {
    // A temporary URL is judged before any token (Swift's tempurl runs before tempauth): a
    // valid one runs with its grant and no session, anything else that claims to be one
    // is a 401.
    let temp = match method {
        Method::OPTIONS => None,
        _ => temp_url(gw, client, &method, raw_path, raw_query, &mut headers).await?,
    };
    let token = headers
        .get("x-auth-token")
        .or_else(|| headers.get("x-storage-token"))
        .and_then(crate::hdr::text);
    let session = token.and_then(|t| gw.auth.validate(t));
    if let Some((grant, target, query)) = temp {
        let req = Req {
            method,
            target,
            query,
            headers,
            session: None,
            tempurl: Some(grant),
        };
        return tempurl::serve(gw, &req, body).await;
    }
    // As tempauth: a /v1/ request with a token that is not valid (not even text) is a 401
    // whatever its path holds. Without a token, only CORS preflights and reads of containers
    // and objects go on, for a referrer ACL to decide (`authorize`); anything else is a 401.
    let token_sent =
        headers.contains_key("x-auth-token") || headers.contains_key("x-storage-token");
    let anonymous = session.is_none() && method != Method::OPTIONS && raw_path.starts_with("/v1/");
    if anonymous && (token_sent || !(method == Method::GET || method == Method::HEAD)) {
        return Err(SwiftError::Unauthorized);
    }
    // Static web may serve a pseudo-directory path (`c/dir/`), which names no object.
    let web = staticweb::applies(&method, &headers, session.is_some());
    let parsed =
        parse_target(raw_path, &gw.settings.limits).or_else(|e| match staticweb::directory_target(
            raw_path,
            &gw.settings.limits,
        ) {
            Some(t) if web => Ok(t),
            _ => Err(e),
        });
    // A path or query that does not parse is a 401 too without a token: it is never judged.
    let parsed = parsed.and_then(|t| Ok((t, parse_query(raw_query)?)));
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
        tempurl: None,
    };
    if req.method == Method::OPTIONS {
        return misc::options(gw, &req).await;
    }
    // Swift's bulk middleware comes before the rest of its pipeline: a bulk request on any
    // path of an account is its, whatever the path names (each item is authorized there).
    if bulk::applies(&req) {
        return bulk::handle(gw, &req, body).await;
    }
    match req.target.clone() {
        Target::Info => misc::info(gw, &req),
        Target::Auth => misc::auth(gw, &req),
        Target::Healthcheck => finish(resp(StatusCode::OK), body::full("OK")),
        Target::Account(a) => {
            // Another account's token may hold an account ACL here: `authorize` decides.
            if req.session.is_none() {
                return Err(SwiftError::Unauthorized);
            }
            account::handle(gw, &req, &a).await
        }
        Target::Container(..) | Target::Object(..) if web => {
            staticweb::handle(gw, &req, raw_path).await
        }
        // A container or object of another account, or a request without a token: its
        // container ACL decides (authorize).
        Target::Container(a, c) => container::handle(gw, &req, &a, &c).await,
        Target::Object(a, c, o) => object::handle(gw, &req, &a, &c, &o, body).await,
    }
}

/// A request's temporary URL: `None` when it has no `temp_url_sig` nor
/// `temp_url_expires`; else its grant with the target and the query it goes on with, or
/// the 401 (a path or query that does not parse is one too). The request's headers are
/// cleaned as Swift's tempurl does (a disallowed one is a 400).
async fn temp_url(
    gw: &Arc<Gateway>,
    client: std::net::IpAddr,
    method: &Method,
    raw_path: &str,
    raw_query: Option<&str>,
    headers: &mut HeaderMap,
) -> SwiftResult<Option<(tempurl::Grant, Target, Vec<(String, String)>)>> {
    let Ok(query) = parse_query(raw_query) else {
        let claims =
            raw_query.is_some_and(|q| q.contains("temp_url_sig") || q.contains("temp_url_expires"));
        return if claims {
            Err(SwiftError::TempUrlInvalid)
        } else {
            Ok(None)
        };
    };
    let params = crate::tempurl::Params::from_query(&query);
    if !params.present() {
        return Ok(None);
    }
    let target =
        parse_target(raw_path, &gw.settings.limits).map_err(|_| SwiftError::TempUrlInvalid)?;
    let grant = tempurl::check(gw, method, &target, &params, client).await?;
    tempurl::clean_request(method, headers)?;
    Ok(Some((grant, target, params.reduced_query())))
}
