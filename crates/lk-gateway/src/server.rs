// SPDX-License-Identifier: Apache-2.0
//! The HTTP/1.1 server: an axum [`Router`] whose single fallback handler answers every Swift
//! path (Swift's paths are free-form, so routing is done by [`handlers::dispatch`]), served
//! with per-connection limits (header buffer, header count, header read timeout),
//! per-request headers (X-Trans-Id), error pages and graceful shutdown. Requests with a body
//! hold an upload slot ([`crate::uploads`]) while handled.
//!
//! `axum::serve` cannot set hyper's header limits, so the accept loop below hands the router
//! to hyper-util's HTTP/1 connection builder itself (axum's "serve with hyper" pattern). The
//! socket hyper reads is wrapped in [`Guarded`], which refuses badly framed requests below
//! hyper ([`crate::framing`]); the router gets each connection's [`ConnInfo`] (peer address,
//! refusals) as a request extension.

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::Router;
use http::{Method, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use crate::body::Body;
use crate::conn::{ConnInfo, Guarded};
use crate::error::{SwiftError, SwiftResult};
use crate::framing::Refusal;
use crate::gateway::Gateway;
use crate::handlers::{self, error_response, hv};
use crate::uploads::has_body;

/// Largest request head (request line + headers) read into memory.
pub const MAX_HEAD_BYTES: usize = 128 * 1024;
/// Most headers in one request: room for Swift's 90 metadata items (`max_meta_count`) and
/// then some, so that too many metadata items get Swift's 400 naming the limit, not a 431
/// (Swift's own suite sends 190). MAX_HEAD_BYTES still bounds the memory.
pub const MAX_HEADERS: usize = 256;
/// Time allowed to send the request head.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(30);

fn trans_id() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    format!(
        "tx{:021x}-{now:010x}",
        rand::random::<u128>() & ((1u128 << 84) - 1)
    )
}

/// The body of a request as the handlers receive it.
pub type RequestBody = axum::body::Body;

/// The gateway's routes: every method and path goes to [`handle`].
pub fn router(gw: Arc<Gateway>) -> Router {
    Router::new().fallback(handle).with_state(gw)
}

/// Answers one request; never fails (errors become Swift error pages).
pub async fn handle(State(gw): State<Arc<Gateway>>, req: Request) -> Response<Body> {
    let tx = trans_id();
    let conn = req.extensions().get::<Arc<ConnInfo>>().cloned();
    // Called for every request, in order, so the connection can tell which one was refused.
    let refused = conn.as_ref().and_then(|c| c.next_request());
    let mut resp = match refused {
        Some(why) => refuse_framing(&tx, conn.as_deref(), why),
        None => answer(&gw, &tx, conn.as_deref(), req).await,
    };
    let h = resp.headers_mut();
    h.insert("X-Trans-Id", hv(&tx));
    h.insert("X-Openstack-Request-Id", hv(&tx));
    resp
}

/// The answer to a request whose head [`crate::framing`] refused; the connection closes.
fn refuse_framing(tx: &str, conn: Option<&ConnInfo>, why: Refusal) -> Response<Body> {
    let e = match why {
        Refusal::LengthAndCoding => {
            SwiftError::bad("Content-Length and Transfer-Encoding together are refused")
        }
        Refusal::UnsupportedCoding => {
            SwiftError::NotImplemented("only the chunked transfer coding is supported".into())
        }
    };
    let peer = conn.map(|c| c.peer.to_string()).unwrap_or_default();
    tracing::info!(trans_id = %tx, %peer, error = %e, "request framing refused");
    let mut resp = error_response(&e, false, &[]);
    resp.headers_mut()
        .insert(http::header::CONNECTION, hv("close"));
    resp
}

async fn answer(
    gw: &Arc<Gateway>,
    tx: &str,
    conn: Option<&ConnInfo>,
    req: Request,
) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let head = parts.method == Method::HEAD;
    let had_body = crate::uploads::has_body(&parts.headers);
    let path = parts.uri.path().to_string();
    let method = parts.method.clone();
    let origin = parts
        .headers
        .get("origin")
        .and_then(crate::hdr::text)
        .map(str::to_string);
    // A client that asks for keep-alive by name is answered in kind, as eventlet does
    // (HTTP/1.0-era clients and Swift's tests look for it).
    let echo_keep_alive = parts
        .headers
        .get(http::header::CONNECTION)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"keep-alive"));
    let max_header = gw.settings.limits.max_header_size;
    let too_long = parts
        .headers
        .iter()
        .find(|(n, v)| n.as_str().len() + v.len() > max_header)
        .map(|(n, _)| n.to_string());
    let client = conn.map_or(IpAddr::from([0, 0, 0, 0]), |c| c.peer.ip());
    let result = match too_long {
        Some(n) => Err(SwiftError::bad(format!(
            "header {n} longer than {max_header} bytes"
        ))),
        None => serve_request(gw, client, parts, body).await,
    };
    let mut resp = match result {
        Ok(r) => r,
        Err(e) => {
            log_error(tx, &method, &path, &e);
            let hidden = [
                gw.store.root(),
                gw.settings.root.as_path(),
                gw.settings.state_dir.as_path(),
            ];
            let mut r = error_response(&e, head, &hidden);
            if r.status() == http::StatusCode::UNAUTHORIZED {
                let v = crate::auth::www_authenticate(&path);
                if let Ok(v) = http::HeaderValue::from_str(&v) {
                    r.headers_mut().insert(http::header::WWW_AUTHENTICATE, v);
                }
            }
            r
        }
    };
    // An error may be answered before the request body was read; hyper then closes the
    // connection, and a client that reuses it meanwhile sees it drop without an answer.
    // Saying so lets clients open a new one instead.
    let refused = resp.status().is_client_error() || resp.status().is_server_error();
    if had_body && refused {
        resp.headers_mut().insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
    }
    if echo_keep_alive && !resp.headers().contains_key(http::header::CONNECTION) {
        resp.headers_mut().insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("keep-alive"),
        );
    }
    if let Some(o) = origin {
        if let Ok(target) = crate::path::parse_target(&path, &gw.settings.limits) {
            let _ = handlers::misc::add_cors(gw, &target, &o, &mut resp).await;
        }
    }
    tracing::debug!(trans_id = %tx, %method, %path, status = resp.status().as_u16(), "request");
    resp
}

/// Dispatches a request; one with a body holds an upload slot while it is handled.
async fn serve_request(
    gw: &Arc<Gateway>,
    client: IpAddr,
    parts: http::request::Parts,
    body: RequestBody,
) -> SwiftResult<Response<Body>> {
    let _slot = match has_body(&parts.headers) {
        true => Some(gw.uploads.acquire(client)?),
        false => None,
    };
    let path = parts.uri.path();
    let query = parts.uri.query();
    handlers::dispatch(gw, client, parts.method, path, query, parts.headers, body).await
}

fn log_error(tx: &str, method: &Method, path: &str, e: &SwiftError) {
    if e.status().is_server_error() {
        tracing::error!(trans_id = %tx, %method, %path, error = %DisplayChain(e), "request failed");
    } else if e.logs_more() {
        // The client was told less than this (no server paths): keep it findable.
        tracing::warn!(trans_id = %tx, %method, %path, error = %DisplayChain(e), "request refused");
    } else {
        tracing::debug!(trans_id = %tx, %method, %path, error = %e, "request refused");
    }
}

/// Prints an error with its sources, once each.
pub struct DisplayChain<'a>(pub &'a dyn std::error::Error);

impl std::fmt::Display for DisplayChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut s = self.0.source();
        while let Some(e) = s {
            write!(f, ": {e}")?;
            s = e.source();
        }
        Ok(())
    }
}

/// The service of one connection: the router, with the connection's [`ConnInfo`] as a
/// request extension.
fn connection_service(
    app: &Router,
    info: Arc<ConnInfo>,
) -> impl hyper::service::Service<
    http::Request<hyper::body::Incoming>,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future = impl Future<Output = Result<axum::response::Response, std::convert::Infallible>> + Send,
> + Clone {
    let app = app.clone();
    hyper::service::service_fn(move |mut req: http::Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(info.clone());
        let mut app = app.clone();
        async move { tower_service::Service::call(&mut app, req).await }
    })
}

/// Serves `listener` until `shutdown` resolves, then lets open requests finish (up to 10 s).
pub async fn serve(gw: Arc<Gateway>, listener: TcpListener, shutdown: impl Future<Output = ()>) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(MAX_HEAD_BYTES)
        .max_headers(MAX_HEADERS)
        // Swift (eventlet) sends `Content-Type`, `X-Object-Meta-Color`; clients that compare
        // header names case-sensitively (Swift's own tests do) see the same.
        .title_case_headers(true)
        .keep_alive(true);
    let app = router(gw);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let info = ConnInfo::new(peer);
                let io = TokioIo::new(Guarded::new(stream, info.clone()));
                let conn = builder.serve_connection(io, connection_service(&app, info));
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                });
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(Duration::from_secs(10)) => {
            tracing::warn!("open connections did not finish within 10 s");
        }
    }
}
