// SPDX-License-Identifier: Apache-2.0
//! Account: HEAD/GET (totals and container listing from the index), POST (metadata; a
//! `?bulk-delete` never reaches here, see [`super::bulk`]). Accounts are created on first
//! use (`account_autocreate`); PUT and DELETE are 405 (`allow_account_management = false`).

use std::sync::Arc;

use crate::index::PolicyStats;
use http::{Method, Response, StatusCode};

use super::{add_meta, authorize, finish, is_owner, owner_only, resp, Access, Req};
use crate::account_acl;
use crate::body::{self, Body};
use crate::error::{SwiftError, SwiftResult};
use crate::gateway::{account_key, blocking, Gateway};
use crate::listing::{parse_params, render_containers, Format};
use crate::meta::{check_limits, headers_to_meta, keys, Meta};
use crate::time::Timestamp;

/// Reads (creating the account directory if needed) the account's metadata.
fn ensure_account(gw: &Gateway, a: &str) -> SwiftResult<Meta> {
    let dir = gw.store.account_dir(a);
    let key = account_key(a);
    if !dir.is_dir() {
        std::fs::create_dir_all(&dir).map_err(|e| SwiftError::io("create", &dir, e))?;
    }
    match gw.meta.read(&dir, &key)? {
        Some(m) if m.contains_key(keys::TIMESTAMP) => Ok(m),
        other => {
            let mut m = other.unwrap_or_default();
            m.insert(keys::TIMESTAMP.into(), Timestamp::now().to_x_timestamp());
            gw.meta.write_path(&dir, &key, &m)?;
            Ok(m)
        }
    }
}

/// Entry point.
pub async fn handle(gw: &Arc<Gateway>, req: &Req, a: &str) -> SwiftResult<Response<Body>> {
    match req.method {
        Method::GET | Method::HEAD => {
            authorize(gw, req, a, Access::Admin).await?;
            get(gw, req, a).await
        }
        Method::POST => {
            authorize(gw, req, a, Access::Admin).await?;
            post(gw, req, a).await
        }
        // As Swift's proxy: the caller is judged before the method (another account's
        // token is a 403, not a 405).
        _ => {
            authorize(gw, req, a, Access::Admin).await?;
            Err(SwiftError::MethodNotAllowed)
        }
    }
}

async fn get(gw: &Arc<Gateway>, req: &Req, a: &str) -> SwiftResult<Response<Body>> {
    let head = req.method == Method::HEAD;
    let format = Format::choose(&req.query, req.header("accept"))?;
    let params = if head {
        None
    } else {
        Some(parse_params(
            &req.query,
            gw.settings.limits.account_listing_limit,
        )?)
    };
    let (g, acct) = (gw.clone(), a.to_string());
    let (meta, stats, per_policy, entries) = blocking(move || {
        let meta = ensure_account(&g, &acct)?;
        let stats = g.index.account_stats(&acct)?;
        let default = &g.settings.policies.default_policy().name;
        let mut per_policy = g.index.policy_stats(&acct, default)?;
        if per_policy.is_empty() {
            per_policy.push(PolicyStats {
                policy: default.clone(),
                container_count: 0,
                object_count: 0,
                bytes_used: 0,
            });
        }
        let entries = match params {
            Some(p) => Some(g.index.list_containers(&acct, &p)?),
            None => None,
        };
        Ok((meta, stats, per_policy, entries))
    })
    .await?;
    let mut meta = meta;
    let owner = is_owner(gw, req, a).await?;
    let acl = meta
        .remove(account_acl::STORE_KEY)
        .filter(|_| owner)
        .and_then(|v| account_acl::display(&v));
    if !owner {
        meta.retain(|k, _| !owner_only(k));
    }
    let ts = meta.get(keys::TIMESTAMP).cloned().unwrap_or_default();
    let mut b = resp(StatusCode::NO_CONTENT)
        .header("X-Account-Container-Count", stats.container_count)
        .header("X-Account-Object-Count", stats.object_count)
        .header("X-Account-Bytes-Used", stats.bytes_used)
        .header("X-Timestamp", super::hv(&ts))
        .header("X-Put-Timestamp", super::hv(&ts))
        .header("Content-Type", format.content_type())
        .header("Accept-Ranges", "bytes");
    for p in &per_policy {
        let h = |what: &str| format!("X-Account-Storage-Policy-{}-{what}", p.policy);
        b = b
            .header(h("Container-Count"), p.container_count)
            .header(h("Object-Count"), p.object_count)
            .header(h("Bytes-Used"), p.bytes_used);
    }
    b = add_meta(b, &meta, &["X-Account-Meta-"]);
    if let Some(acl) = acl {
        b = b.header(account_acl::HEADER, super::hv(&acl));
    }
    let Some(entries) = entries else {
        return finish(b.status(StatusCode::NO_CONTENT), body::empty());
    };
    match render_containers(
        &entries,
        format,
        &format!("{}{a}", crate::config::RESELLER_PREFIX),
    ) {
        None => finish(b.status(StatusCode::NO_CONTENT), body::empty()),
        Some(bytes) => finish(b.status(StatusCode::OK), body::full(bytes)),
    }
}

async fn post(gw: &Arc<Gateway>, req: &Req, a: &str) -> SwiftResult<Response<Body>> {
    let (mut set, mut rm) = headers_to_meta(&req.headers, "account")?;
    // Only owners reach an account POST (`authorize`); the ACL was validated there.
    if let Some(v) = req.header(account_acl::HEADER) {
        match account_acl::validate(v).map_err(SwiftError::BadRequest)? {
            Some(v) => {
                set.insert(account_acl::STORE_KEY.into(), v);
            }
            None => rm.push(account_acl::STORE_KEY.into()),
        }
    }
    let (g, acct, limits) = (gw.clone(), a.to_string(), gw.settings.limits.clone());
    blocking(move || {
        let mut meta = ensure_account(&g, &acct)?;
        for k in rm {
            meta.remove(&k);
        }
        meta.extend(set);
        check_limits(&meta, "account", &limits)?;
        g.meta
            .write_path(&g.store.account_dir(&acct), &account_key(&acct), &meta)
    })
    .await?;
    finish(resp(StatusCode::NO_CONTENT), body::empty())
}
