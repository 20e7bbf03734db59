// SPDX-License-Identifier: Apache-2.0
//! The HTTP/1.1 server: an axum [`Router`] whose single fallback handler answers every Swift
//! path (Swift's paths are free-form, so routing is done by [`handlers::dispatch`]), served
//! with per-connection limits (header buffer, header count, header read timeout),
//! per-request headers (X-Trans-Id), error pages and graceful shutdown.
//!
//! `axum::serve` cannot set hyper's header limits, so the accept loop below hands the router
//! to hyper-util's HTTP/1 connection builder itself (axum's "serve with hyper" pattern).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::Router;
use http::{Method, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

use crate::body::Body;
use crate::error::SwiftError;
use crate::gateway::Gateway;
use crate::handlers::{self, error_response, hv};

/// Largest request head (request line + headers) read into memory.
pub const MAX_HEAD_BYTES: usize = 128 * 1024;
/// Most headers in one request.
pub const MAX_HEADERS: usize = 128;
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
    let (parts, body) = req.into_parts();
    let head = parts.method == Method::HEAD;
    let path = parts.uri.path().to_string();
    let method = parts.method.clone();
    let origin = parts
        .headers
        .get("origin")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let max_header = gw.settings.limits.max_header_size;
    let too_long = parts
        .headers
        .iter()
        .find(|(n, v)| n.as_str().len() + v.len() > max_header);
    let result = match too_long {
        Some((n, _)) => Err(SwiftError::bad(format!(
            "header {n} longer than {max_header} bytes"
        ))),
        None => {
            handlers::dispatch(
                &gw,
                parts.method,
                &path,
                parts.uri.query(),
                parts.headers,
                body,
            )
            .await
        }
    };
    let mut resp = match result {
        Ok(r) => r,
        Err(e) => {
            if e.status().is_server_error() {
                tracing::error!(trans_id = %tx, %method, %path, error = %DisplayChain(&e), "request failed");
            } else if e.logs_more() {
                // The client was told less than this (no server paths): keep it findable.
                tracing::warn!(trans_id = %tx, %method, %path, error = %DisplayChain(&e), "request refused");
            } else {
                tracing::debug!(trans_id = %tx, %method, %path, error = %e, "request refused");
            }
            let hidden = [
                gw.store.root(),
                gw.settings.root.as_path(),
                gw.settings.state_dir.as_path(),
            ];
            error_response(&e, head, &hidden)
        }
    };
    if let Some(o) = origin {
        if let Ok(target) = crate::path::parse_target(&path, &gw.settings.limits) {
            let _ = handlers::misc::add_cors(&gw, &target, &o, &mut resp).await;
        }
    }
    let h = resp.headers_mut();
    h.insert("X-Trans-Id", hv(&tx));
    h.insert("X-Openstack-Request-Id", hv(&tx));
    tracing::debug!(trans_id = %tx, %method, %path, status = resp.status().as_u16(), "request");
    resp
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

/// Serves `listener` until `shutdown` resolves, then lets open requests finish (up to 10 s).
pub async fn serve(gw: Arc<Gateway>, listener: TcpListener, shutdown: impl Future<Output = ()>) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(MAX_HEAD_BYTES)
        .max_headers(MAX_HEADERS)
        .keep_alive(true);
    let app = router(gw);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let svc = TowerToHyperService::new(app.clone());
                let conn = builder.serve_connection(TokioIo::new(stream), svc);
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
