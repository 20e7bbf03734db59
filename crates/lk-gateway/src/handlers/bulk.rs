// SPDX-License-Identifier: Apache-2.0
//! Swift's bulk middleware: `?bulk-delete` (POST or DELETE on any path of an account) and
//! `?extract-archive` (PUT, see [`super::bulk_upload`]).
//!
//! A bulk delete's body is newline-separated, URL-encoded `/container/object` (or
//! `/container`) names; the path past the account is ignored, as in Swift. The answer is
//! always 200; the outcome is in the body, as text, JSON or XML by `Accept`
//! ([`out_format`]).

use std::sync::Arc;

use crate::server::RequestBody;
use http::{Method, Response, StatusCode};
use serde_json::{json, Value};

use super::container::delete_container_blocking;
use super::{authorize, finish, read_body, resp, versioned_writes, Access, Req};
use crate::body::{self, Body};
use crate::error::{SwiftError, SwiftResult};
use crate::gateway::{blocking, Gateway};
use crate::path::{decode, split_container_object, Target};

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

/// Swift's `ACCEPTABLE_FORMATS`, in its order of preference.
const ACCEPTABLE: [&str; 4] = [
    "text/plain",
    "application/json",
    "application/xml",
    "text/xml",
];

/// Whether the request is one for the bulk middleware, which Swift runs before everything
/// else on an account's paths.
pub fn applies(req: &Req) -> bool {
    let on_account = req.target.account().is_some();
    let delete = req.q("bulk-delete").is_some()
        && (req.method == Method::POST || req.method == Method::DELETE);
    let extract = req.q("extract-archive").is_some() && req.method == Method::PUT;
    on_account && (delete || extract)
}

/// Entry point for requests [`applies`] accepts.
pub async fn handle(
    gw: &Arc<Gateway>,
    req: &Req,
    body: RequestBody,
) -> SwiftResult<Response<Body>> {
    let Some(a) = req.target.account().map(str::to_string) else {
        return Err(SwiftError::NotFound);
    };
    if req.method == Method::PUT {
        return super::bulk_upload::extract(gw, req, &a, body).await;
    }
    // The bulk delete acts on the account whatever the path names below it, and is its
    // admin's, as on the account's own path (the caller's rights are judged as there).
    let on_account = Req {
        target: Target::Account(a.clone()),
        ..req.clone()
    };
    authorize(gw, &on_account, &a, Access::Admin).await?;
    bulk_delete(gw, &on_account, &a, body).await
}

/// The format of a bulk answer: Swift's `req.accept.best_match(ACCEPTABLE_FORMATS)`. `None`
/// (an `Accept` that matches none of them, or does not parse) is Swift's 406, reported in
/// the body.
pub fn out_format(req: &Req) -> Option<&'static str> {
    best_match(req.header("accept"))
}

/// swob's `Accept.best_match` over [`ACCEPTABLE`].
fn best_match(accept: Option<&str>) -> Option<&'static str> {
    let patterns = match accept.map(accept_patterns) {
        None => return Some(ACCEPTABLE[0]),
        Some(None) => return None,
        Some(Some(p)) if p.is_empty() => return Some(ACCEPTABLE[0]),
        Some(Some(p)) => p,
    };
    for (t, s) in &patterns {
        for option in ACCEPTABLE {
            let (ot, os) = option.split_once('/').unwrap_or((option, ""));
            if (t == "*" || t == ot) && (s == "*" || s == os) {
                return Some(option);
            }
        }
    }
    None
}

/// The media ranges of an `Accept` header, best first (quality, then exact before a
/// wildcard; stable otherwise), as swob's `Accept`; `None` when it does not parse.
fn accept_patterns(header: &str) -> Option<Vec<(String, String)>> {
    if header.is_empty() {
        return Some(Vec::new());
    }
    let mut ranked = Vec::new();
    for item in header.split(',') {
        let mut parts = item.split(';');
        let (t, s) = parts.next()?.trim().split_once('/')?;
        let token = |x: &str| !x.is_empty() && !x.contains(|c: char| c.is_whitespace());
        if !token(t) || !token(s) {
            return None;
        }
        let mut quality = 1.0f64;
        let mut seen_q = false;
        for p in parts.map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = p.split_once('=')?;
            if k.trim() == "q" {
                if seen_q {
                    return None;
                }
                seen_q = true;
                quality = v.trim().parse().ok()?;
            }
        }
        let exact = t != "*" && s != "*";
        ranked.push((quality, exact, t.to_string(), s.to_string()));
    }
    // Swift sorts by (quality, exact) descending; a stable sort keeps the header's order.
    ranked.sort_by(|x, y| {
        (y.0, y.1)
            .partial_cmp(&(x.0, x.1))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    Some(ranked.into_iter().map(|(_, _, t, s)| (t, s)).collect())
}

/// A status as Swift writes it in bulk and SLO heartbeat reports (swob's reason phrases).
pub fn status_line(status: StatusCode) -> String {
    let reason = match status.as_u16() {
        413 => "Request Entity Too Large",
        414 => "Request URI Too Long",
        416 => "Requested Range Not Satisfiable",
        499 => "Client Disconnect",
        500 => "Internal Error",
        _ => status.canonical_reason().unwrap_or(""),
    };
    format!("{} {reason}", status.as_u16())
}

/// Swift's `get_response_body`: JSON keeps `fields` in the order given and adds `Errors`;
/// XML (no declaration) and text sort them by name and end with the errors. `root` is the
/// XML document's element (`delete`, `extract`).
pub fn render_body(
    format: Option<&str>,
    root: &str,
    fields: &[(&str, Value)],
    errors: &[(String, String)],
) -> String {
    let text_of = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if format == Some("application/json") {
        let mut map = serde_json::Map::new();
        for (k, v) in fields {
            map.insert((*k).to_string(), v.clone());
        }
        map.insert(
            "Errors".into(),
            json!(errors
                .iter()
                .map(|(n, s)| json!([n, s]))
                .collect::<Vec<_>>()),
        );
        return Value::Object(map).to_string();
    }
    let mut sorted: Vec<&(&str, Value)> = fields.iter().collect();
    sorted.sort_by_key(|(k, _)| *k);
    let mut out = String::new();
    if format.is_some_and(|f| f.ends_with("/xml")) {
        out.push_str(&format!("<{root}>\n"));
        for (k, v) in sorted {
            let tag = k.replace(' ', "_").to_lowercase();
            out.push_str(&format!("<{tag}>{}</{tag}>\n", xml_escape(&text_of(v))));
        }
        out.push_str("<errors>\n");
        for (n, s) in errors {
            out.push_str(&format!(
                "<object><name>{}</name><status>{}</status></object>\n",
                xml_escape(n),
                xml_escape(s)
            ));
        }
        out.push_str(&format!("</errors>\n</{root}>\n"));
        return out;
    }
    for (k, v) in sorted {
        out.push_str(&format!("{k}: {}\n", text_of(v)));
    }
    out.push_str("Errors:\n");
    for (n, s) in errors {
        out.push_str(&format!("{n}, {s}\n"));
    }
    out
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The 200 carrying a bulk report in `format` (Swift sets no type of its own when the
/// format was not acceptable).
pub fn respond(format: Option<&str>, text: String) -> SwiftResult<Response<Body>> {
    let ct = match format {
        Some(f) => format!("{f}; charset=utf-8"),
        None => "text/html; charset=UTF-8".to_string(),
    };
    finish(
        resp(StatusCode::OK).header("Content-Type", super::hv(&ct)),
        body::full(text),
    )
}

/// A delete report (also used by SLO `multipart-manifest=delete`), in the format `Accept`
/// asks for (text when none fits: what was deleted is reported all the same).
pub fn render_result(req: &Req, r: &BulkResult) -> SwiftResult<Response<Body>> {
    let status = if r.errors.is_empty() {
        "200 OK"
    } else {
        "400 Bad Request"
    };
    let format = out_format(req).unwrap_or(ACCEPTABLE[0]);
    respond(Some(format), delete_report(Some(format), status, r))
}

fn delete_report(format: Option<&str>, status: &str, r: &BulkResult) -> String {
    let fields = [
        ("Response Status", json!(status)),
        ("Response Body", json!("")),
        ("Number Deleted", json!(r.deleted)),
        ("Number Not Found", json!(r.not_found)),
    ];
    render_body(format, "delete", &fields, &r.errors)
}

/// The bulk delete of account `a` (its admin was checked by the caller).
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
    let Some(format) = out_format(req) else {
        // Swift refuses before reading any name: nothing is deleted.
        let report = delete_report(None, "406 Not Acceptable", &BulkResult::default());
        return respond(None, report);
    };
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
    let r = delete_lines(gw, req, a, lines).await;
    let status = if r.errors.is_empty() {
        "200 OK"
    } else {
        "400 Bad Request"
    };
    respond(Some(format), delete_report(Some(format), status, &r))
}

/// Deletes what `lines` name: objects first, then containers, so "/c/o" and "/c" in one
/// request both succeed.
async fn delete_lines(gw: &Arc<Gateway>, req: &Req, a: &str, lines: Vec<&str>) -> BulkResult {
    let l = &gw.settings.limits;
    let mut r = BulkResult::default();
    let mut containers = Vec::new();
    for line in lines {
        let parsed = decode(line).and_then(|d| split_container_object(&d, l, false));
        let (c, o) = match parsed {
            Ok(v) => v,
            Err(e) => {
                r.errors.push((line.to_string(), status_line(e.status())));
                continue;
            }
        };
        let Some(o) = o else {
            containers.push((line.to_string(), c));
            continue;
        };
        if let Err(e) = authorize(gw, req, a, Access::Write(&c)).await {
            r.errors.push((line.to_string(), status_line(e.status())));
            continue;
        }
        match delete_one(gw, req, a, &c, &o).await {
            Ok(true) => r.deleted += 1,
            Ok(false) => r.not_found += 1,
            Err(e) => r.errors.push((line.to_string(), status_line(e.status()))),
        }
    }
    for (line, c) in containers {
        if let Err(e) = authorize(gw, req, a, Access::Admin).await {
            r.errors.push((line, status_line(e.status())));
            continue;
        }
        let (g, a2) = (gw.clone(), a.to_string());
        match blocking(move || delete_container_blocking(&g, &a2, &c)).await {
            Ok(()) => r.deleted += 1,
            Err(SwiftError::NotFound) => r.not_found += 1,
            Err(e) => r.errors.push((line, status_line(e.status()))),
        }
    }
    r
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_chosen_as_swob_does() {
        for (accept, want) in [
            (None, Some("text/plain")),
            (Some(""), Some("text/plain")),
            (Some("*/*"), Some("text/plain")),
            (Some("application/json"), Some("application/json")),
            (
                Some("text/*;q=0.5, application/xml"),
                Some("application/xml"),
            ),
            (Some("text/xml, application/json;q=0.9"), Some("text/xml")),
            (Some("application/*, text/plain"), Some("text/plain")),
            (Some("image/png"), None),
            (Some("nonsense"), None),
            (Some("application/json;q=high"), None),
            (Some("application/json;q=1;q=1"), None),
        ] {
            assert_eq!(best_match(accept), want, "{accept:?}");
        }
    }

    #[test]
    fn reports_as_swift_writes_them() {
        let fields = [
            ("Response Status", json!("400 Bad Request")),
            ("Number Files Created", json!(1)),
        ];
        let errors = vec![("a<&>".to_string(), "412 Precondition Failed".to_string())];
        assert_eq!(
            render_body(Some("text/xml"), "extract", &fields, &errors),
            "<extract>\n<number_files_created>1</number_files_created>\n\
             <response_status>400 Bad Request</response_status>\n<errors>\n\
             <object><name>a&lt;&amp;&gt;</name><status>412 Precondition Failed</status></object>\n\
             </errors>\n</extract>\n"
        );
        assert_eq!(
            render_body(None, "extract", &fields, &errors),
            "Number Files Created: 1\nResponse Status: 400 Bad Request\nErrors:\n\
             a<&>, 412 Precondition Failed\n"
        );
        let v: Value = serde_json::from_str(&render_body(
            Some("application/json"),
            "x",
            &fields,
            &errors,
        ))
        .expect("json");
        assert_eq!(v["Errors"], json!([["a<&>", "412 Precondition Failed"]]));
        assert_eq!(
            status_line(StatusCode::PAYLOAD_TOO_LARGE),
            "413 Request Entity Too Large"
        );
    }
}
