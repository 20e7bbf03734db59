// SPDX-License-Identifier: Apache-2.0
//! Swift symlinks over the tree (see [`crate::symlink`] for how a link is stored): the PUT
//! that creates one (a static link's target checked with the caller's rights), following
//! links on GET/HEAD/COPY with the caller's rights at every hop (up to
//! [`SYMLOOP_MAX`]), and the 307 a POST to a link answers.

use std::sync::Arc;

use bytes::Bytes;
use http::{Response, StatusCode};

use super::copy::account_of;
use super::object::{created, if_none_match_any, load};
use super::{authorize, finish, hv, resp, Access, Req};
use crate::body::{self, Body};
use crate::config::RESELLER_PREFIX;
use crate::error::{SwiftError, SwiftResult};
use crate::gateway::{Gateway, ObjectInfo, PutSpec};
use crate::meta::{keys, Meta};
use crate::put::write_stream;
use crate::symlink::{normalize_etag, Link, LinkRequest, SYMLOOP_MAX};

/// Which links a walk follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Follow {
    /// Every link (GET, HEAD, COPY).
    All,
    /// Static links only: checking a static link's target at its PUT, where a dynamic link
    /// is itself the object pointed at (Swift's `follow_softlinks=False`).
    StaticOnly,
}

/// Where a walk along links ended.
#[derive(Debug, Clone)]
pub struct Followed {
    /// The account of the object reached.
    pub account: String,
    /// The object reached.
    pub info: ObjectInfo,
    /// Its path (`Content-Location`), when at least one link was followed.
    pub location: Option<String>,
    /// The (account, container) of every target read on the way, in order.
    pub visited: Vec<(String, String)>,
    /// The (account, container, object) reached, when at least one link was followed.
    pub target: Option<(String, String, String)>,
}

/// A walk in progress.
struct Walk {
    account: String,
    info: ObjectInfo,
    target_etag: Option<String>,
    location: Option<String>,
    hops: usize,
    visited: Vec<(String, String)>,
    last_object: String,
}

fn url_account(a: &str) -> String {
    format!("{RESELLER_PREFIX}{a}")
}

fn conflict(text: String) -> SwiftError {
    SwiftError::Plain {
        status: StatusCode::CONFLICT,
        text,
    }
}

fn located(e: SwiftError, location: &Option<String>) -> SwiftError {
    match location {
        Some(l) => SwiftError::Located {
            inner: Box::new(e),
            location: l.clone(),
        },
        None => e,
    }
}

/// Follows `info` (object of account `a`) while it is a link, reading every target with the
/// caller's rights (a refusal is the 401/403 a direct read would get). Errors met past the
/// first link carry the target's path (`Content-Location`), as Swift's do.
pub async fn follow(
    gw: &Arc<Gateway>,
    req: &Req,
    a: &str,
    info: ObjectInfo,
) -> SwiftResult<Followed> {
    let walk = Walk {
        account: a.to_string(),
        info,
        target_etag: None,
        location: None,
        hops: 0,
        visited: Vec::new(),
        last_object: String::new(),
    };
    walk_links(gw, req, walk, Follow::All).await
}

async fn walk_links(
    gw: &Arc<Gateway>,
    req: &Req,
    mut w: Walk,
    mode: Follow,
) -> SwiftResult<Followed> {
    loop {
        let link = match w.info.link() {
            Some(l) if mode == Follow::All || l.etag.is_some() => l,
            _ => break,
        };
        let found = link
            .etag
            .clone()
            .unwrap_or_else(|| w.info.etag().to_string());
        if w.target_etag.as_ref().is_some_and(|t| *t != found) {
            let e = conflict("X-Symlink-Target-Etag headers do not match".into());
            return Err(located(e, &w.location));
        }
        if w.hops >= SYMLOOP_MAX {
            return Err(conflict(format!(
                "Too many levels of symbolic links, maximum allowed is {SYMLOOP_MAX}"
            )));
        }
        w.location = Some(link.location(&url_account(&w.account)));
        w.hops += 1;
        w.target_etag = link.etag.clone();
        let account = target_account(req, link.account.as_deref(), &w.account)
            .map_err(|e| located(e, &w.location))?;
        w.visited.push((account.clone(), link.container.clone()));
        w.last_object = link.object.clone();
        w.info = read_target(gw, req, &account, &link.container, &link.object)
            .await
            .map_err(|e| located(e, &w.location))?;
        w.account = account;
    }
    if let Some(t) = &w.target_etag {
        if w.info.etag() != t {
            let text = format!(
                "Object Etag '{}' does not match X-Symlink-Target-Etag header '{t}'",
                w.info.etag()
            );
            return Err(located(conflict(text), &w.location));
        }
    }
    Ok(Followed {
        account: w.account,
        info: w.info,
        location: w.location,
        target: w
            .visited
            .last()
            .map(|(a, c)| (a.clone(), c.clone(), w.last_object.clone())),
        visited: w.visited,
    })
}

/// The account a link leads to (the link's own unless it names one). A name that is not
/// an account of this gateway (`AUTH_name`) is refused as tempauth refuses such a path.
fn target_account(req: &Req, named: Option<&str>, own: &str) -> SwiftResult<String> {
    match named {
        None => Ok(own.to_string()),
        Some(v) => account_of(v).map_err(|_| match req.session {
            Some(_) => SwiftError::Forbidden("a symlink names no account of this gateway".into()),
            None => SwiftError::Unauthorized,
        }),
    }
}

/// Reads a link's target as the caller: its container's read ACL first, then the object.
async fn read_target(
    gw: &Arc<Gateway>,
    req: &Req,
    a: &str,
    c: &str,
    o: &str,
) -> SwiftResult<ObjectInfo> {
    authorize(gw, req, a, Access::Read(c)).await?;
    load(gw, a, c, o).await
}

/// PUT with `X-Symlink-Target`: a zero-byte object holding the link (the caller may write
/// the container; the handler checked that).
pub async fn put(
    gw: &Arc<Gateway>,
    req: &Req,
    (a, c, o): (&str, &str, &str),
    target: &str,
    body: crate::server::RequestBody,
) -> SwiftResult<Response<Body>> {
    let zero = SwiftError::Plain {
        status: StatusCode::BAD_REQUEST,
        text: "Symlink requests require a zero byte body".into(),
    };
    let idle = gw.settings.server.client_timeout;
    crate::uploads::refuse_body(&req.headers, body, idle, zero).await?;
    let lreq = LinkRequest::parse(
        target,
        req.header("x-symlink-target-account"),
        req.header("x-symlink-target-etag"),
        (&url_account(a), c, o),
    )?;
    let meta = super::object::put_meta(req, o, &gw.settings.limits)?;
    let given_type = req.header("content-type").is_some_and(|t| !t.is_empty());
    let info = create(gw, req, (a, c, o), &lreq, meta, given_type).await?;
    finish(created(&info), body::empty())
}

/// Stores a link at `a/c/o` with `meta` (user metadata, kept headers, Content-Type when
/// `given_type`). A static link's target is checked first, as the caller; then, in a
/// legacy-versioned container, the object the link replaces is archived.
pub async fn create(
    gw: &Arc<Gateway>,
    req: &Req,
    (a, c, o): (&str, &str, &str),
    lreq: &LinkRequest,
    mut meta: Meta,
    given_type: bool,
) -> SwiftResult<ObjectInfo> {
    let (bytes, slo_etag) = match &lreq.etag {
        Some(etag) => {
            let t = check_static(gw, req, a, lreq, etag).await?;
            if !given_type {
                meta.insert(keys::CONTENT_TYPE.into(), t.info.content_type().to_string());
            }
            let size = t.info.record("", 0).size;
            let slo = t
                .info
                .is_slo()
                .then(|| t.info.meta.get(keys::SLO_ETAG).cloned());
            (Some(size), slo.flatten())
        }
        None => {
            if !given_type {
                meta.insert(keys::CONTENT_TYPE.into(), "application/symlink".into());
            }
            (None, None)
        }
    };
    lreq.store(&mut meta, bytes, slo_etag.as_deref());
    let spec = PutSpec {
        account: a.into(),
        container: c.into(),
        object: o.into(),
        meta,
        expected_etag: req.header("etag").map(normalize_etag),
        expected_len: Some(0),
        if_none_match_any: if_none_match_any(req)?,
        stored_etag: None,
        keep_version: None,
    };
    // A link overwrites like any object: in a legacy-versioned container the current
    // object (a link is archived as a link) is copied to the versions container first.
    super::versioned_writes::before_overwrite(gw, a, c, o).await?;
    let empty = futures_util::stream::empty::<SwiftResult<Bytes>>();
    write_stream(gw, spec, empty, None).await
}

/// A static link's target, read as the caller and followed through static links: it must
/// exist (else 409) and have the ETag asked for (else 409).
async fn check_static(
    gw: &Arc<Gateway>,
    req: &Req,
    a: &str,
    lreq: &LinkRequest,
    etag: &str,
) -> SwiftResult<Followed> {
    let account = target_account(req, lreq.account.as_deref(), a)?;
    let location = Some(format!(
        "/v1/{}/{}",
        crate::path::quote(lreq.account.as_deref().unwrap_or(&url_account(a))),
        lreq.quoted()
    ));
    let missing = || {
        located(
            conflict("X-Symlink-Target does not exist".into()),
            &location,
        )
    };
    let info = match read_target(gw, req, &account, &lreq.container, &lreq.object).await {
        Ok(i) => i,
        Err(SwiftError::NotFound) => return Err(missing()),
        Err(e) => return Err(e),
    };
    let walk = Walk {
        visited: vec![(account.clone(), lreq.container.clone())],
        last_object: lreq.object.clone(),
        account,
        info,
        target_etag: Some(etag.to_string()),
        location: location.clone(),
        hops: 0,
    };
    match walk_links(gw, req, walk, Follow::StaticOnly).await {
        Err(SwiftError::Located { inner, .. }) if matches!(*inner, SwiftError::NotFound) => {
            Err(missing())
        }
        other => other,
    }
}

/// The 307 answering a POST that was applied to a link (Swift never forwards it).
pub fn post_redirect(a: &str, link: &Link) -> SwiftResult<Response<Body>> {
    let mut b = resp(StatusCode::TEMPORARY_REDIRECT)
        .header("Location", hv(&link.location(&url_account(a))))
        .header("Content-Type", "text/html; charset=UTF-8");
    if let Some(e) = &link.etag {
        b = b.header("X-Symlink-Target-Etag", hv(e));
    }
    let text = "The requested POST was applied to a symlink. POST directly to the target to \
                apply requested metadata.";
    finish(b, body::full(text))
}

/// The link a copy with `?symlink=get` writes: the source link's target, in the account the
/// request names (`X-Symlink-Target-Account`) or the source link's own.
pub fn copied_link(req: &Req, link: &Link, dest: (&str, &str, &str)) -> SwiftResult<LinkRequest> {
    let account = req
        .header("x-symlink-target-account")
        .map(str::to_string)
        .or_else(|| link.account.as_ref().map(|a| crate::path::quote(a)));
    LinkRequest::parse(
        &link.quoted,
        account.as_deref(),
        link.etag.as_deref(),
        (&url_account(dest.0), dest.1, dest.2),
    )
}
