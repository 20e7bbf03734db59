// SPDX-License-Identifier: Apache-2.0
//! Static web (Swift's staticweb middleware): GET and HEAD of a container or object without
//! a token, or with one and `X-Web-Mode: true`, are served as a web site when the container
//! sets `X-Container-Meta-Web-Index` or `-Web-Listings` (pages in [`crate::staticweb`]).
//!
//! Every object or listing read here goes through the ordinary handlers' checks with the
//! caller's rights: the index page, error pages and listings are reads the caller could
//! make directly (a referrer ACL `.r:*` for objects, with `.rlistings` for listings).

use std::sync::Arc;

use http::{HeaderMap, Method, Response, StatusCode};

use super::{authorize, container, container_meta, finish, hv, object, resp, Access, Req};
use crate::body::{self, Body};
use crate::config::Limits;
use crate::error::{SwiftError, SwiftResult};
use crate::gateway::{blocking, Gateway};
use crate::index::{Entry, ListParams, ObjectRecord};
use crate::path::quote;
use crate::path::{check_object_name, decode, parse_target, Target};
use crate::staticweb::{config_true, disabled_page, listing_page, Listings, WebConfig};

/// Whether static web looks at a request: GET or HEAD, and no token or `X-Web-Mode: true`.
pub fn applies(method: &Method, headers: &HeaderMap, authenticated: bool) -> bool {
    let web_mode = crate::hdr::get(headers, "x-web-mode").is_some_and(config_true);
    (*method == Method::GET || *method == Method::HEAD) && (!authenticated || web_mode)
}

/// The target of a path naming a pseudo-directory (`/v1/AUTH_a/c/dir/`), whose object name
/// with its trailing `/` is not a name of the tree: the object without it, for
/// [`handle`] to add the `/` back.
pub fn directory_target(raw_path: &str, limits: &Limits) -> Option<Target> {
    let stripped = raw_path.strip_suffix('/')?;
    match parse_target(stripped, limits) {
        Ok(t @ Target::Object(..)) => Some(t),
        _ => None,
    }
}

/// One static web request.
struct Ctx<'a> {
    gw: &'a Arc<Gateway>,
    req: &'a Req,
    a: &'a str,
    c: &'a str,
    /// The decoded request path (Swift's `PATH_INFO`).
    path: String,
}

/// Serves a GET or HEAD for which [`applies`] holds. `raw_path` is the request's path as
/// sent (percent-encoded).
pub async fn handle(gw: &Arc<Gateway>, req: &Req, raw_path: &str) -> SwiftResult<Response<Body>> {
    let path = decode(raw_path)?;
    match &req.target {
        Target::Container(a, c) => {
            let ctx = Ctx {
                gw,
                req,
                a,
                c,
                path,
            };
            serve_container(&ctx).await
        }
        Target::Object(a, c, o) => {
            let name = if path.ends_with('/') && !o.ends_with('/') {
                format!("{o}/")
            } else {
                o.clone()
            };
            let ctx = Ctx {
                gw,
                req,
                a,
                c,
                path,
            };
            serve_object(&ctx, &name).await
        }
        _ => Err(SwiftError::Internal(
            "static web for a non-container path".into(),
        )),
    }
}

fn status_of(r: &SwiftResult<Response<Body>>) -> StatusCode {
    match r {
        Ok(r) => r.status(),
        Err(e) => e.status(),
    }
}

fn found(s: StatusCode) -> bool {
    s.is_success() || s.is_redirection()
}

impl Ctx<'_> {
    async fn config(&self) -> SwiftResult<WebConfig> {
        Ok(container_meta(self.gw, self.a, self.c)
            .await?
            .map(|m| WebConfig::from_meta(&m))
            .unwrap_or_default())
    }

    /// A read of object `name` in this container with the caller's rights. `whole`: with
    /// all the request's headers and its method (Swift copies the request), else a plain
    /// GET with only the caller's identity and `Referer`, `Host`, `User-Agent`.
    async fn get_object(&self, name: &str, whole: bool) -> SwiftResult<Response<Body>> {
        // A name the tree cannot hold (`dir/`) is no object.
        check_object_name(name, &self.gw.settings.limits).map_err(|_| SwiftError::NotFound)?;
        let mut sub = self.req.clone();
        sub.target = Target::Object(self.a.into(), self.c.into(), name.into());
        if !whole {
            sub.method = Method::GET;
            sub.query.clear();
            sub.headers = HeaderMap::new();
            for h in ["referer", "host", "user-agent"] {
                if let Some(v) = self.req.headers.get(h) {
                    sub.headers.insert(h, v.clone());
                }
            }
        }
        let no_body = axum::body::Body::empty();
        object::handle(self.gw, &sub, self.a, self.c, name, no_body).await
    }

    /// Swift's custom error pages: the object `<status><Web-Error>`, when the caller may
    /// read it, answers in place of `result`'s body, with `result`'s status.
    async fn with_error_page(
        &self,
        cfg: &WebConfig,
        result: SwiftResult<Response<Body>>,
    ) -> SwiftResult<Response<Body>> {
        if cfg.error.is_empty() {
            return result;
        }
        let status = status_of(&result);
        let name = format!("{}{}", status.as_u16(), cfg.error);
        match self.get_object(&name, false).await {
            Ok(mut page) if page.status().is_success() => {
                *page.status_mut() = status;
                Ok(page)
            }
            _ => result,
        }
    }

    /// 301 to the same path with a `/` added, as an absolute URL.
    fn redirect(&self) -> SwiftResult<Response<Body>> {
        let host = self
            .req
            .header("host")
            .map(str::to_string)
            .unwrap_or_else(|| self.gw.settings.listen.to_string());
        let scheme = match &self.gw.settings.public_url {
            Some(u) if u.starts_with("https://") => "https",
            _ => "http",
        };
        let location = format!("{scheme}://{host}{}/", quote(&self.path));
        let text =
            "<html><h1>Moved Permanently</h1><p>The resource has moved permanently.</p></html>";
        self.page(StatusCode::MOVED_PERMANENTLY, text.to_string())
            .map(|mut r| {
                r.headers_mut().insert("Location", hv(&location));
                r
            })
    }

    /// An HTML page (its body left out for HEAD, its length kept).
    fn page(&self, status: StatusCode, text: String) -> SwiftResult<Response<Body>> {
        let b = resp(status)
            .header("Content-Type", "text/html; charset=UTF-8")
            .header("Content-Length", text.len());
        if self.req.method == Method::HEAD {
            return finish(b, body::empty());
        }
        finish(b, body::full(text))
    }

    /// The entries of a `/`-delimited listing under `prefix`, with the caller's rights.
    async fn list(&self, prefix: &str, limit: usize) -> SwiftResult<Vec<Entry<ObjectRecord>>> {
        authorize(self.gw, self.req, self.a, Access::List(self.c)).await?;
        let params = ListParams {
            limit,
            marker: None,
            end_marker: None,
            prefix: Some(prefix.to_string()).filter(|p| !p.is_empty()),
            delimiter: Some("/".into()),
            reverse: false,
            path: false,
        };
        let (g, a, c) = (self.gw.clone(), self.a.to_string(), self.c.to_string());
        blocking(move || {
            if !g.store.checked_container_dir(&a, &c)?.is_dir() {
                return Err(SwiftError::NotFound);
            }
            g.list_objects_hashed(&a, &c, &params)
        })
        .await
    }

    /// The HTML listing of the pseudo-directory `prefix` (`""`: the container).
    async fn listing(&self, cfg: &WebConfig, prefix: &str) -> SwiftResult<Response<Body>> {
        let label = cfg.label(&self.path);
        if cfg.listings != Listings::Enabled {
            let page = self.page(StatusCode::NOT_FOUND, disabled_page(cfg, &label, prefix));
            return self.with_error_page(cfg, page).await;
        }
        let limit = self.gw.settings.limits.container_listing_limit;
        let entries = match self.list(prefix, limit).await {
            Ok(e) if e.is_empty() && !prefix.is_empty() => Err(SwiftError::NotFound),
            other => other,
        };
        match entries {
            Ok(entries) => self.page(StatusCode::OK, listing_page(cfg, &label, prefix, &entries)),
            Err(e) => self.with_error_page(cfg, Err(e)).await,
        }
    }
}

async fn serve_container(ctx: &Ctx<'_>) -> SwiftResult<Response<Body>> {
    let cfg = ctx.config().await?;
    if let Err(e) = authorize(ctx.gw, ctx.req, ctx.a, Access::List(ctx.c)).await {
        return ctx.with_error_page(&cfg, Err(e)).await;
    }
    if !cfg.active() {
        if ctx.req.session.is_some() {
            // Only reached with `X-Web-Mode: true`: no web site here.
            return Err(SwiftError::NotFound);
        }
        return container::handle(ctx.gw, ctx.req, ctx.a, ctx.c).await;
    }
    if !ctx.path.ends_with('/') {
        return ctx.redirect();
    }
    if cfg.index.is_empty() {
        return ctx.listing(&cfg, "").await;
    }
    let index = ctx.get_object(&cfg.index, true).await;
    match status_of(&index) {
        StatusCode::NOT_FOUND => ctx.listing(&cfg, "").await,
        s if found(s) => index,
        _ => ctx.with_error_page(&cfg, index).await,
    }
}

/// Whether a found object is a directory marker (the directory type, at most one byte):
/// static web treats it as not found.
fn is_marker(r: &Response<Body>, cfg: &WebConfig) -> bool {
    let header = |n: &str| r.headers().get(n).and_then(|v| v.to_str().ok());
    let len = header("content-length")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    header("content-type") == Some(cfg.directory_type()) && len <= 1
}

async fn serve_object(ctx: &Ctx<'_>, name: &str) -> SwiftResult<Response<Body>> {
    let first = ctx.get_object(name, true).await;
    let cfg = ctx.config().await?;
    let status = status_of(&first);
    if found(status) && !first.as_ref().is_ok_and(|r| is_marker(r, &cfg)) {
        return first;
    }
    // Other errors keep their own pages (Swift uses the custom ones for 404s only).
    if !found(status) && status != StatusCode::NOT_FOUND {
        return first;
    }
    if !cfg.active() {
        return first;
    }
    if !cfg.index.is_empty() {
        let dir = if name.ends_with('/') {
            name.to_string()
        } else {
            format!("{name}/")
        };
        let index = ctx.get_object(&format!("{dir}{}", cfg.index), true).await;
        let status = status_of(&index);
        if found(status) {
            if !ctx.path.ends_with('/') {
                return ctx.redirect();
            }
            return index;
        }
        if status != StatusCode::NOT_FOUND {
            return index;
        }
    }
    if ctx.path.ends_with('/') {
        return ctx.listing(&cfg, name).await;
    }
    // `dir` without its `/`: a redirect when `dir/` holds anything the caller may list.
    match ctx.list(&format!("{name}/"), 1).await {
        Ok(e) if !e.is_empty() => ctx.redirect(),
        _ => ctx.with_error_page(&cfg, Err(SwiftError::NotFound)).await,
    }
}
