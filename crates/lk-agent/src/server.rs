//! The agent's HTTP API:
//! - `GET /healthz`: the agent itself is alive (liveness);
//! - `GET /v1/health`: the [`HealthReport`] as JSON;
//! - `GET /metrics`: the same as Prometheus text;
//! - `POST /v1/phases/<name>[?force=1]`: run the script in the body (needs the bearer token);
//!   answers `202` with the phase record.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use bytes::Bytes;
use http::StatusCode;
use http_body_util::{BodyExt, Limited};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
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
    /// Collects a report off the async threads (the probe runs `lctl`). A probe task that
    /// panicked is an error, not an empty (and so healthy-looking) report.
    pub async fn report(self: &Arc<Self>) -> Result<HealthReport, AgentError> {
        let this = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            probe::collect(this.probe.as_ref(), &this.node, this.runner.records())
        })
        .await
        .map_err(|e| AgentError::ProbeTask(e.to_string()))
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

/// The agent's routes. Known paths answer other methods with a JSON 405, unknown paths with
/// a JSON 404, as the operator's client expects JSON error bodies.
pub fn router(state: Arc<AgentState>) -> Router {
    let fixed = |r: MethodRouter<Arc<AgentState>>| r.fallback(method_not_allowed);
    Router::new()
        .route("/healthz", fixed(get(healthz)))
        .route("/v1/health", fixed(get(health)))
        .route("/metrics", fixed(get(metrics_text)))
        // The name is taken from the raw path by the handler; both routes exist so that an
        // empty or nested name reaches the runner's name check (400) rather than a 404.
        .route("/v1/phases/", post(run_phase).fallback(not_found))
        .route("/v1/phases/{*name}", post(run_phase).fallback(not_found))
        .fallback(not_found)
        .with_state(state)
}

/// Serves until the future is dropped, which also closes every open connection.
///
/// Not `axum::serve`: that spawns connections detached, so a dropped server would keep
/// answering on kept-alive connections, and tests (and the operator) rely on a stopped agent
/// going silent at once. The connections live in a `JoinSet` owned by this future instead.
pub async fn serve(listener: TcpListener, state: Arc<AgentState>) {
    let app = router(state);
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        while connections.try_join_next().is_some() {}
        let svc = TowerToHyperService::new(app.clone());
        connections.spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

fn reply(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Response {
    (
        status,
        [(http::header::CONTENT_TYPE, content_type)],
        body.into(),
    )
        .into_response()
}

fn json<T: serde::Serialize>(status: StatusCode, v: &T) -> Response {
    match serde_json::to_vec(v) {
        Ok(body) => reply(status, "application/json", body),
        Err(e) => reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/plain",
            format!("failed to serialise the answer: {e}\n"),
        ),
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    json(status, &serde_json::json!({ "error": message }))
}

async fn method_not_allowed() -> Response {
    error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "no such endpoint")
}

async fn healthz() -> Response {
    reply(StatusCode::OK, "text/plain", "ok\n")
}

async fn health(State(state): State<Arc<AgentState>>) -> Response {
    match state.report().await {
        Ok(r) => json(StatusCode::OK, &r),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

async fn metrics_text(State(state): State<Arc<AgentState>>) -> Response {
    match state.report().await {
        Ok(r) => reply(
            StatusCode::OK,
            "text/plain; version=0.0.4",
            metrics::render(&r),
        ),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// `POST /v1/phases/<name>[?force=1]`: the body is the script.
async fn run_phase(State(state): State<Arc<AgentState>>, req: Request) -> Response {
    let name = req
        .uri()
        .path()
        .trim_start_matches("/v1/phases/")
        .to_string();
    let force = req
        .uri()
        .query()
        .is_some_and(|q| q.split('&').any(|kv| kv == "force=1"));
    let authorized = match (&state.token, req.headers().get(http::header::AUTHORIZATION)) {
        (Some(token), Some(h)) => h.to_str().ok() == Some(&format!("Bearer {token}")),
        _ => false,
    };
    if !authorized {
        return error(StatusCode::UNAUTHORIZED, "a valid bearer token is required");
    }
    let body = match Limited::new(req.into_body(), MAX_SCRIPT_BYTES)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(_) => return error(StatusCode::PAYLOAD_TOO_LARGE, "script too large"),
    };
    let Ok(script) = String::from_utf8(body.to_vec()) else {
        return error(StatusCode::BAD_REQUEST, "the script is not UTF-8");
    };
    match state.runner.start(&name, &script, force) {
        Ok(record) => json(StatusCode::ACCEPTED, &record),
        Err(e @ AgentError::PhaseName(_)) => error(StatusCode::BAD_REQUEST, &e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
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

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;
    use crate::runner::Bash;

    /// `lctl` is not installed: every probe fails the same way.
    struct NoLustre;

    impl Probe for NoLustre {
        fn lctl(&self, args: &[&str]) -> Result<Vec<u8>, AgentError> {
            Err(AgentError::Command {
                command: format!("lctl {}", args.join(" ")),
                status: "exit status: 127".into(),
                stderr: "lctl: not found".into(),
            })
        }
    }

    /// One HTTP/1.0 exchange; returns (status, body).
    fn call(
        addr: SocketAddr,
        method: &str,
        path: &str,
        headers: &str,
        body: &str,
    ) -> (u16, String) {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        write!(
            s,
            "{method} {path} HTTP/1.0\r\n{headers}Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        let status = out[9..12].parse().unwrap();
        let body = out
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap();
        (status, body)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn routes_auth_and_errors_answer_as_before() {
        let dir = tempfile::tempdir().unwrap();
        let state = Arc::new(AgentState {
            node: "n1".into(),
            token: Some("sekrit".into()),
            probe: Arc::new(NoLustre),
            runner: Runner::open(dir.path(), Arc::new(Bash)).unwrap(),
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(serve(listener, state));
        let got = tokio::task::spawn_blocking(move || {
            let auth = "Authorization: Bearer sekrit\r\n";
            vec![
                call(addr, "GET", "/healthz", "", ""),
                call(addr, "GET", "/v1/health", "", ""),
                call(addr, "GET", "/metrics", "", ""),
                call(addr, "POST", "/healthz", "", ""),
                call(addr, "GET", "/nope", "", ""),
                call(addr, "GET", "/v1/phases/lnet", "", ""),
                call(addr, "POST", "/v1/phases/lnet", "", "true\n"),
                call(addr, "POST", "/v1/phases/Bad/Name", auth, "true\n"),
                call(addr, "POST", "/v1/phases/lnet?force=1", auth, "true\n"),
            ]
        })
        .await
        .unwrap();
        task.abort();
        let statuses: Vec<u16> = got.iter().map(|(s, _)| *s).collect();
        assert_eq!(statuses, [200, 200, 200, 405, 404, 404, 401, 400, 202]);
        assert_eq!(got[0].1, "ok\n");
        let report: serde_json::Value = serde_json::from_str(&got[1].1).unwrap();
        assert_eq!(
            (&report["node"], &report["lustreLoaded"]),
            (&"n1".into(), &false.into())
        );
        assert_eq!(got[3].1, r#"{"error":"method not allowed"}"#);
        assert_eq!(got[4].1, r#"{"error":"no such endpoint"}"#);
        let record: serde_json::Value = serde_json::from_str(&got[8].1).unwrap();
        assert!(record.is_object(), "{}", got[8].1);
    }
}
