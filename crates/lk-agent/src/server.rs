//! The agent's HTTP API:
//! - `GET /healthz`: the agent itself is alive (liveness);
//! - `GET /v1/health`: the [`HealthReport`] as JSON;
//! - `GET /metrics`: the same as Prometheus text;
//! - `POST /v1/phases/<name>[?force=1]`: run the script in the body (needs the bearer token);
//!   answers `202` with the phase record.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::probe::{self, Probe};
use crate::runner::Runner;
use crate::{metrics, AgentError, HealthReport};

/// Largest script accepted.
const MAX_SCRIPT_BYTES: usize = 1 << 20;

pub struct AgentState {
    pub node: String,
    /// Bearer token required to run scripts; `None` refuses every run.
    pub token: Option<String>,
    pub probe: Arc<dyn Probe>,
    pub runner: Arc<Runner>,
}

impl AgentState {
    pub async fn report(self: &Arc<Self>) -> HealthReport {
        let this = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            probe::collect(this.probe.as_ref(), &this.node, this.runner.records())
        })
        .await
        .unwrap_or_default()
    }
}

pub async fn bind(address: SocketAddr) -> Result<TcpListener, AgentError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| AgentError::Bind {
            address: address.to_string(),
            source,
        })
}

/// Serves until the future is dropped, which also closes every open connection.
pub async fn serve(listener: TcpListener, state: Arc<AgentState>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        while connections.try_join_next().is_some() {}
        let state = Arc::clone(&state);
        connections.spawn(async move {
            let svc = service_fn(move |req| handle(Arc::clone(&state), req));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

fn reply(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    if let Ok(v) = content_type.parse() {
        r.headers_mut().insert(http::header::CONTENT_TYPE, v);
    }
    r
}

fn json<T: serde::Serialize>(status: StatusCode, v: &T) -> Response<Full<Bytes>> {
    reply(
        status,
        "application/json",
        serde_json::to_vec(v).unwrap_or_default(),
    )
}

fn error(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    json(status, &serde_json::json!({ "error": message }))
}

async fn handle(
    state: Arc<AgentState>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_string();
    let force = req
        .uri()
        .query()
        .is_some_and(|q| q.split('&').any(|kv| kv == "force=1"));
    Ok(match (req.method(), path.as_str()) {
        (&Method::GET, "/healthz") => reply(StatusCode::OK, "text/plain", "ok\n"),
        (&Method::GET, "/v1/health") => json(StatusCode::OK, &state.report().await),
        (&Method::GET, "/metrics") => reply(
            StatusCode::OK,
            "text/plain; version=0.0.4",
            metrics::render(&state.report().await),
        ),
        (&Method::POST, p) if p.starts_with("/v1/phases/") => {
            let name = p.trim_start_matches("/v1/phases/").to_string();
            let authorized = match (&state.token, req.headers().get(http::header::AUTHORIZATION)) {
                (Some(token), Some(h)) => h.to_str().ok() == Some(&format!("Bearer {token}")),
                _ => false,
            };
            if !authorized {
                return Ok(error(
                    StatusCode::UNAUTHORIZED,
                    "a valid bearer token is required",
                ));
            }
            let body = match Limited::new(req.into_body(), MAX_SCRIPT_BYTES)
                .collect()
                .await
            {
                Ok(b) => b.to_bytes(),
                Err(_) => return Ok(error(StatusCode::PAYLOAD_TOO_LARGE, "script too large")),
            };
            let Ok(script) = String::from_utf8(body.to_vec()) else {
                return Ok(error(StatusCode::BAD_REQUEST, "the script is not UTF-8"));
            };
            match state.runner.start(&name, &script, force) {
                Ok(record) => json(StatusCode::ACCEPTED, &record),
                Err(e @ AgentError::PhaseName(_)) => error(StatusCode::BAD_REQUEST, &e.to_string()),
                Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
            }
        }
        (_, "/healthz" | "/v1/health" | "/metrics") => {
            error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
        }
        _ => error(StatusCode::NOT_FOUND, "no such endpoint"),
    })
}

/// Settings of `lustrekit agent`.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub listen: SocketAddr,
    /// Node name reported (the host name by default).
    pub node: String,
    /// Where scripts, logs and phases.json live.
    pub state_dir: std::path::PathBuf,
    /// The bearer token for running scripts.
    pub token: Option<String>,
}

/// Runs the agent with the real `lctl` and bash until interrupted.
pub fn run(config: AgentConfig) -> Result<(), AgentError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|source| AgentError::Io {
            path: "tokio runtime".into(),
            source,
        })?;
    rt.block_on(async move {
        let runner = Runner::open(&config.state_dir, Arc::new(crate::runner::Bash))?;
        let listener = bind(config.listen).await?;
        tracing::info!(address = %config.listen, node = %config.node, "agent listening");
        let state = Arc::new(AgentState {
            node: config.node,
            token: config.token,
            probe: Arc::new(probe::Lctl),
            runner,
        });
        tokio::select! {
            () = serve(listener, state) => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        Ok(())
    })
}
