// SPDX-License-Identifier: Apache-2.0
//! Temporary URLs (Swift's `tempurl` middleware): a request with `temp_url_sig` and
//! `temp_url_expires` is checked against the keys in its account's
//! (`X-Account-Meta-Temp-URL-Key`, `-Key-2`) and its container's
//! (`X-Container-Meta-Temp-URL-Key`, `-Key-2`) metadata. A valid one runs without the
//! caller's token, with a [`Grant`]: an account key's signature reaches that account only, a
//! container key's that container only (segments of large objects and copy sources
//! included), and the signature itself names the one object (or name prefix) and method.
//! Anything wrong is the same 401 (`Temp URL invalid`). The pure rules are in
//! [`crate::tempurl`].

use std::net::IpAddr;
use std::sync::Arc;
use std::time::SystemTime;

use http::{HeaderMap, HeaderValue, Method, Response};

use super::{container_meta, Access, Req};
use crate::body::Body;
use crate::error::{SwiftError, SwiftResult};
use crate::gateway::{account_key, blocking, Gateway};
use crate::meta::Meta;
use crate::path::Target;
use crate::server::RequestBody;
use crate::tempurl::{
    self as rules, ip_in_range, parse_expires, parse_sig, signed_path, Params, ACCOUNT_KEYS,
    CONTAINER_KEYS,
};

/// Whose key made a signature, hence how far its request reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// An account key: any container of that account.
    Account,
    /// A container key: that container only.
    Container,
}

/// What a valid temporary URL lets its request do.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The account of the signed path (without the reseller prefix).
    pub account: String,
    /// The container of the signed path.
    pub container: String,
    /// The object the request names.
    pub object: String,
    /// Whose key signed.
    pub scope: Scope,
    /// `temp_url_expires`, as Unix seconds.
    pub expires: i64,
    /// `filename` (for `Content-Disposition`).
    pub filename: Option<String>,
    /// `inline` given.
    pub inline: bool,
}

impl Grant {
    /// Swift's `authorize_same_account` / `authorize_same_container`: container and object
    /// access inside the grant's account (or container) only; never account-level
    /// operations nor container changes. Refusals are 401, as Swift's.
    pub fn authorize(&self, account: &str, access: Access<'_>) -> SwiftResult<()> {
        let container = match access {
            Access::Admin => return Err(SwiftError::Unauthorized),
            Access::Read(c) | Access::List(c) | Access::Write(c) => c,
        };
        let inside = account == self.account
            && (self.scope == Scope::Account || container == self.container);
        if inside {
            Ok(())
        } else {
            Err(SwiftError::Unauthorized)
        }
    }
}

/// The keys of the account and of the container, each with its scope (non-empty values
/// only; a container or account that does not exist has none).
async fn keys(gw: &Arc<Gateway>, a: &str, c: &str) -> SwiftResult<Vec<(String, Scope)>> {
    let (g, acct) = (gw.clone(), a.to_string());
    let account_meta = blocking(move || {
        let dir = g.store.account_dir(&acct);
        if !dir.is_dir() {
            return Ok(Meta::new());
        }
        Ok(g.meta.read(&dir, &account_key(&acct))?.unwrap_or_default())
    })
    .await?;
    let container_meta = container_meta(gw, a, c).await?.unwrap_or_default();
    let pick = |meta: &Meta, names: [&str; 2], scope: Scope| -> Vec<(String, Scope)> {
        names
            .iter()
            .filter_map(|n| meta.get(*n).filter(|v| !v.is_empty()))
            .map(|v| (v.clone(), scope))
            .collect()
    };
    let mut all = pick(&account_meta, ACCOUNT_KEYS, Scope::Account);
    all.extend(pick(&container_meta, CONTAINER_KEYS, Scope::Container));
    Ok(all)
}

/// Checks a temporary URL request (`params.present()`), in Swift's order, and returns its
/// grant; every failure is [`SwiftError::TempUrlInvalid`].
pub async fn check(
    gw: &Arc<Gateway>,
    method: &Method,
    target: &Target,
    params: &Params,
    client: IpAddr,
) -> SwiftResult<Grant> {
    let invalid = || SwiftError::TempUrlInvalid;
    let sig = params.sig.as_deref().filter(|s| !s.is_empty());
    let expires = params
        .expires
        .as_deref()
        .and_then(|e| parse_expires(e, SystemTime::now()));
    let (Some(sig), Some(expires)) = (sig, expires) else {
        return Err(invalid());
    };
    let (digest, sig_hex) = parse_sig(sig).map_err(|_| invalid())?;
    let method = method.as_str();
    let Target::Object(a, c, o) = target else {
        return Err(invalid());
    };
    if !rules::METHODS.contains(&method) {
        return Err(invalid());
    }
    let ip_range = params.ip_range.as_deref().filter(|r| !r.is_empty());
    if ip_range.is_some_and(|r| !ip_in_range(r, client)) {
        return Err(invalid());
    }
    let keys = keys(gw, a, c).await?;
    if keys.is_empty() {
        return Err(invalid());
    }
    let prefix = params.prefix.as_deref();
    if prefix.is_some_and(|p| !o.starts_with(p)) {
        return Err(invalid());
    }
    let path = signed_path(a, c, o, prefix);
    let mut scope = None;
    for m in rules::signing_methods(method) {
        let message = rules::hmac_message(m, expires, &path, ip_range);
        for (key, s) in &keys {
            let Some(expected) = digest.hmac_hex(key.as_bytes(), message.as_bytes()) else {
                continue;
            };
            if scope.is_none() && rules::ct_eq(&sig_hex, &expected) {
                scope = Some(*s);
            }
        }
    }
    let scope = scope.ok_or_else(invalid)?;
    Ok(Grant {
        account: a.clone(),
        container: c.clone(),
        object: o.clone(),
        scope,
        expires,
        filename: params.filename.clone(),
        inline: params.inline,
    })
}

/// Serves a request whose temporary URL was found valid (`req.tempurl` set, no session):
/// the object verb, then the answer's headers as Swift's tempurl leaves them.
pub async fn serve(gw: &Arc<Gateway>, req: &Req, body: RequestBody) -> SwiftResult<Response<Body>> {
    let (Target::Object(a, c, o), Some(grant)) = (&req.target, &req.tempurl) else {
        return Err(SwiftError::TempUrlInvalid);
    };
    let mut resp = super::object::handle(gw, req, a, c, o, body).await?;
    finish_response(&req.method, grant, &mut resp);
    Ok(resp)
}

/// Refuses the headers a writing temporary URL may not carry (400) and removes the ones
/// Swift drops from such requests.
pub fn clean_request(method: &Method, headers: &mut HeaderMap) -> SwiftResult<()> {
    if !(method == Method::GET || method == Method::HEAD) {
        if let Some(h) = rules::DISALLOWED_INCOMING
            .iter()
            .find(|h| headers.contains_key(**h))
        {
            return Err(SwiftError::BadRequest(rules::disallowed_text(h)));
        }
    }
    for h in rules::INCOMING_REMOVE {
        headers.remove(h);
    }
    Ok(())
}

/// Takes the headers Swift hides off a temporary URL's answer and, on a successful GET or
/// HEAD, sets `Content-Disposition` and `Expires`.
pub fn finish_response(method: &Method, grant: &Grant, resp: &mut Response<Body>) {
    let headers = resp.headers_mut();
    let hidden: Vec<_> = headers
        .keys()
        .filter(|n| rules::strip_outgoing(n.as_str()))
        .cloned()
        .collect();
    for n in hidden {
        headers.remove(n);
    }
    let read = method == Method::GET || method == Method::HEAD;
    if !(read && resp.status().is_success()) {
        return;
    }
    let headers = resp.headers_mut();
    // The object's own disposition stays unless the URL asks for another.
    let asked = grant.inline || grant.filename.as_deref().is_some_and(|f| !f.is_empty());
    if asked || !headers.contains_key(http::header::CONTENT_DISPOSITION) {
        let value = rules::response_disposition(
            grant.filename.as_deref(),
            grant.inline,
            None,
            &grant.object,
        );
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(http::header::CONTENT_DISPOSITION, v);
        }
    }
    let expires = u64::try_from(grant.expires).unwrap_or(0);
    let date =
        httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(expires));
    if let Ok(v) = HeaderValue::from_str(&date) {
        headers.insert(http::header::EXPIRES, v);
    }
}
