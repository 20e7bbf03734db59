// SPDX-License-Identifier: Apache-2.0
//! `POST /v1/AUTH_a?bulk-delete`: a body of newline-separated, URL-encoded
//! `/container/object` (or `/container`) names. The answer is always 200; the outcome is in
//! the body (JSON with `Accept: application/json`, else plain), as Swift's bulk middleware.

use std::sync::Arc;

use crate::server::RequestBody;
use http::{Response, StatusCode};
use serde_json::json;

use super::container::delete_container_blocking;
use super::{authorize, finish, read_body, resp, versioned_writes, Access, Req};
use crate::body::{self, Body};
use crate::error::{SwiftError, SwiftResult};
use crate::gateway::{blocking, Gateway};
use crate::path::{decode, split_container_object};

/// Outcome of a bulk operation.
#[derive(Debug, Default)]
pub struct BulkResult {
    /// Deleted.
    pub deleted: u64,
    /// Already gone.
    pub not_found: u64,
    /// (name, status) of failures.
    pub errors: Vec<(String, String)>,
}

/// Renders a [`BulkResult`] (also used by SLO `multipart-manifest=delete`).
pub fn render_result(req: &Req, r: &BulkResult) -> SwiftResult<Response<Body>> {
    let status = if r.errors.is_empty() {
        "200 OK"
    } else {
        "400 Bad Request"
    };
    let json = req
        .header("accept")
        .is_some_and(|a| a.contains("application/json"));
    let (ct, text) = if json {
        let v = json!({
            "Number Deleted": r.deleted,
            "Number Not Found": r.not_found,
            "Response Status": status,
            "Response Body": "",
            "Errors": r.errors.iter().map(|(n, s)| json!([n, s])).collect::<Vec<_>>(),
        });
        ("application/json; charset=utf-8", v.to_string())
    } else {
        let mut t = format!(
            "Number Deleted: {}\nNumber Not Found: {}\nResponse Body: \nResponse Status: {status}\nErrors:\n",
            r.deleted, r.not_found
        );
        for (n, s) in &r.errors {
            t.push_str(&format!("{n}, {s}\n"));
        }
        ("text/plain; charset=utf-8", t)
    };
    finish(
        resp(StatusCode::OK).header("Content-Type", ct),
        body::full(text),
    )
}

/// The handler.
pub async fn bulk_delete(
    gw: &Arc<Gateway>,
    req: &Req,
    a: &str,
    body: RequestBody,
) -> SwiftResult<Response<Body>> {
    let l = &gw.settings.limits;
    let max_body = l.max_deletes_per_request
        * (l.max_object_name_length + l.max_container_name_length + 8)
        * 3;
    let raw = read_body(body, max_body, gw.settings.server.client_timeout).await?;
    let text = String::from_utf8(raw.to_vec()).map_err(|_| SwiftError::bad("body is not UTF-8"))?;
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if lines.len() > l.max_deletes_per_request {
        return Err(SwiftError::TooLarge(format!(
            "more than {} names",
            l.max_deletes_per_request
        )));
    }
    let mut r = BulkResult::default();
    // Objects first, then containers, so "/c/o" and "/c" in one request both succeed.
    let mut containers = Vec::new();
    for line in lines {
        let parsed = decode(line).and_then(|d| split_container_object(&d, l, false));
        let (c, o) = match parsed {
            Ok(v) => v,
            Err(e) => {
                r.errors.push((line.to_string(), e.status().to_string()));
                continue;
            }
        };
        let Some(o) = o else {
            containers.push((line.to_string(), c));
            continue;
        };
        if let Err(e) = authorize(gw, req, a, Access::Write(&c)).await {
            r.errors.push((line.to_string(), e.status().to_string()));
            continue;
        }
        match delete_one(gw, req, a, &c, &o).await {
            Ok(true) => r.deleted += 1,
            Ok(false) => r.not_found += 1,
            Err(e) => r.errors.push((line.to_string(), e.status().to_string())),
        }
    }
    for (line, c) in containers {
        if let Err(e) = authorize(gw, req, a, Access::Admin).await {
            r.errors.push((line, e.status().to_string()));
            continue;
        }
        let (g, a2) = (gw.clone(), a.to_string());
        match blocking(move || delete_container_blocking(&g, &a2, &c)).await {
            Ok(()) => r.deleted += 1,
            Err(SwiftError::NotFound) => r.not_found += 1,
            Err(e) => r.errors.push((line, e.status().to_string())),
        }
    }
    render_result(req, &r)
}

/// Deletes one object of the list, through its container's versioning when it has one
/// (Swift's bulk deletes are subrequests that pass the versioned-writes middleware).
/// Returns false when there was nothing to delete.
async fn delete_one(gw: &Arc<Gateway>, req: &Req, a: &str, c: &str, o: &str) -> SwiftResult<bool> {
    if let Some(v) = versioned_writes::of_container(gw, a, c).await? {
        return versioned_writes::delete_subrequest(gw, req, (a, c, o), &v).await;
    }
    let (g, a, c, o) = (gw.clone(), a.to_string(), c.to_string(), o.to_string());
    blocking(move || g.delete_object(&a, &c, &o)).await
}
