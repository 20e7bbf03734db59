// SPDX-License-Identifier: Apache-2.0
//! `/info`, tempauth's `/auth/v1.0`, and CORS (preflight and response headers).
//!
//! CORS follows Swift's container-level model: a container allows origins with
//! `X-Container-Meta-Access-Control-Allow-Origin` (space-separated, or `*`), optionally
//! `...-Max-Age` and `...-Expose-Headers`. `/info` is open to every origin.

use std::sync::Arc;

use http::{Response, StatusCode};
use serde_json::json;

use super::{container_meta, finish, hv, resp, Req};
use crate::body::{self, Body};
use crate::config::RESELLER_PREFIX;
use crate::error::{SwiftError, SwiftResult};
use crate::gateway::Gateway;
use crate::path::Target;

/// Methods the API answers.
pub const ALLOWED_METHODS: &str = "HEAD, GET, PUT, POST, COPY, OPTIONS, DELETE";

/// Headers exposed to browsers on CORS responses (Swift's default list).
const EXPOSE: &str = "cache-control, content-language, content-type, expires, last-modified, \
    pragma, etag, x-timestamp, x-trans-id, x-openstack-request-id";

/// The `/info` document: exactly what this gateway implements.
pub fn info_json(gw: &Gateway) -> serde_json::Value {
    let l = &gw.settings.limits;
    json!({
        "swift": {
            "version": format!("lustrekit-{}", env!("CARGO_PKG_VERSION")),
            "max_file_size": l.max_file_size,
            "max_meta_name_length": l.max_meta_name_length,
            "max_meta_value_length": l.max_meta_value_length,
            "max_meta_count": l.max_meta_count,
            "max_meta_overall_size": l.max_meta_overall_size,
            "max_header_size": l.max_header_size,
            "max_object_name_length": l.max_object_name_length,
            "container_listing_limit": l.container_listing_limit,
            "account_listing_limit": l.account_listing_limit,
            "max_account_name_length": l.max_account_name_length,
            "max_container_name_length": l.max_container_name_length,
            "extra_header_count": 0,
            "valid_api_versions": ["v1", "v1.0"],
            "policies": gw.settings.policies.info(),
            "allow_account_management": false,
            "account_autocreate": true,
            "strict_cors_mode": true,
        },
        "tempauth": {"account_acls": true},
        "staticweb": {},
        "slo": {
            "max_manifest_segments": l.max_manifest_segments,
            "max_manifest_size": l.max_manifest_size,
            "min_segment_size": 1,
            "yield_frequency": super::slo_heartbeat::YIELD_FREQUENCY.as_secs(),
            "allow_async_delete": false,
        },
        "dlo": {"max_segments": l.max_dlo_segments},
        "tempurl": crate::tempurl::info(),
        "versioned_writes": {"allowed_flags": super::versioned_writes::ALLOWED_FLAGS},
        "symlink": {"symloop_max": crate::symlink::SYMLOOP_MAX, "static_links": true},
        "object_versioning": {},
        "container_quotas": {},
        "bulk_upload": {
            "max_containers_per_extraction": super::bulk_upload::MAX_CONTAINERS_PER_EXTRACTION,
            "max_failed_extractions": super::bulk_upload::MAX_FAILED_EXTRACTIONS,
        },
        "bulk_delete": {
            "max_deletes_per_request": l.max_deletes_per_request,
            "max_failed_deletes": l.max_deletes_per_request,
        },
    })
}

/// `GET /info`.
pub fn info(gw: &Arc<Gateway>, req: &Req) -> SwiftResult<Response<Body>> {
    if req.method != http::Method::GET && req.method != http::Method::HEAD {
        return Err(SwiftError::MethodNotAllowed);
    }
    let body = info_json(gw).to_string().into_bytes();
    let b = resp(StatusCode::OK).header("Content-Type", "application/json; charset=UTF-8");
    if req.method == http::Method::HEAD {
        return finish(b.header("Content-Length", body.len()), body::empty());
    }
    finish(b, body::full(body))
}

/// `GET /auth/v1.0`.
pub fn auth(gw: &Arc<Gateway>, req: &Req) -> SwiftResult<Response<Body>> {
    if req.method != http::Method::GET {
        return Err(SwiftError::MethodNotAllowed);
    }
    let user = req
        .header("x-auth-user")
        .or_else(|| req.header("x-storage-user"));
    let key = req
        .header("x-auth-key")
        .or_else(|| req.header("x-storage-pass"));
    let (Some(user), Some(key)) = (user, key) else {
        return Err(SwiftError::Unauthorized);
    };
    let issued = gw.auth.login(user, key).ok_or(SwiftError::Unauthorized)?;
    let base = match &gw.settings.public_url {
        Some(u) => u.trim_end_matches('/').to_string(),
        None => format!(
            "http://{}",
            req.header("host")
                .map(str::to_string)
                .unwrap_or_else(|| gw.settings.listen.to_string())
        ),
    };
    let url = format!("{base}/v1/{RESELLER_PREFIX}{}", issued.account);
    finish(
        resp(StatusCode::OK)
            .header("X-Storage-Url", hv(&url))
            .header("X-Auth-Token", hv(&issued.token))
            .header("X-Storage-Token", hv(&issued.token))
            .header("X-Auth-Token-Expires", issued.expires_in.to_string())
            .header("Content-Type", "text/html; charset=UTF-8"),
        body::empty(),
    )
}

/// Whether `origin` is in a container's allow list.
fn origin_allowed(meta: &crate::meta::Meta, origin: &str) -> bool {
    meta.get("X-Container-Meta-Access-Control-Allow-Origin")
        .is_some_and(|v| v.split_whitespace().any(|o| o == "*" || o == origin))
}

/// The `Access-Control-Allow-Origin` value: `*` when the container allows any origin
/// (Swift), else the request's origin.
fn allow_origin<'a>(meta: &crate::meta::Meta, origin: &'a str) -> &'a str {
    let any = meta
        .get("X-Container-Meta-Access-Control-Allow-Origin")
        .is_some_and(|v| v.trim() == "*");
    if any {
        "*"
    } else {
        origin
    }
}

/// `OPTIONS`: the Allow list without `Origin`; a CORS preflight with it.
pub async fn options(gw: &Arc<Gateway>, req: &Req) -> SwiftResult<Response<Body>> {
    let Some(origin) = req.header("origin") else {
        return finish(
            resp(StatusCode::OK).header("Allow", ALLOWED_METHODS),
            body::empty(),
        );
    };
    // With an Origin it is a preflight: no (or an unknown) requested method is refused, as
    // Swift's proxy does.
    let method = req.header("access-control-request-method").unwrap_or("");
    let allowed_method = ALLOWED_METHODS.split(", ").any(|m| m == method);
    let meta = match &req.target {
        Target::Info => Some(crate::meta::Meta::from([(
            "X-Container-Meta-Access-Control-Allow-Origin".to_string(),
            "*".to_string(),
        )])),
        Target::Container(a, c) | Target::Object(a, c, _) => container_meta(gw, a, c).await?,
        _ => None,
    };
    let Some(meta) = meta.filter(|m| allowed_method && origin_allowed(m, origin)) else {
        return Err(SwiftError::Unauthorized);
    };
    let mut b = resp(StatusCode::OK)
        .header("Allow", ALLOWED_METHODS)
        .header(
            "Access-Control-Allow-Origin",
            hv(allow_origin(&meta, origin)),
        )
        .header("Access-Control-Allow-Methods", ALLOWED_METHODS)
        .header(
            "Access-Control-Max-Age",
            hv(meta
                .get("X-Container-Meta-Access-Control-Max-Age")
                .map(String::as_str)
                .unwrap_or("600")),
        );
    if let Some(h) = req.header("access-control-request-headers") {
        b = b.header("Access-Control-Allow-Headers", hv(h));
    }
    finish(b, body::empty())
}

/// Adds CORS headers to an actual (non-preflight) response when the container allows the
/// request's origin.
pub async fn add_cors(
    gw: &Arc<Gateway>,
    target: &Target,
    origin: &str,
    resp: &mut Response<Body>,
) -> SwiftResult<()> {
    let meta = match target {
        Target::Container(a, c) | Target::Object(a, c, _) => container_meta(gw, a, c).await?,
        Target::Info => None,
        _ => return Ok(()),
    };
    let ok = match (&meta, target) {
        (_, Target::Info) => true,
        (Some(m), _) => origin_allowed(m, origin),
        (None, _) => false,
    };
    if ok {
        let mut expose = EXPOSE.to_string();
        if let Some(extra) = meta
            .as_ref()
            .and_then(|m| m.get("X-Container-Meta-Access-Control-Expose-Headers"))
        {
            expose.push_str(", ");
            expose.push_str(extra);
        }
        let h = resp.headers_mut();
        let allow = match &meta {
            Some(m) => allow_origin(m, origin),
            None => origin,
        };
        h.insert("Access-Control-Allow-Origin", hv(allow));
        h.insert("Access-Control-Expose-Headers", hv(&expose));
    }
    Ok(())
}
