//! The operator's own probes: `/healthz` (the process serves) and `/readyz` (the API server
//! answers with this operator's credentials).

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use http::StatusCode;
use kube::Client;
use tokio::net::TcpListener;

async fn healthz() -> (StatusCode, &'static str) {
    (StatusCode::OK, "ok\n")
}

async fn readyz(State(client): State<Client>) -> (StatusCode, String) {
    match client.apiserver_version().await {
        Ok(_) => (StatusCode::OK, "ok\n".to_string()),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")),
    }
}

async fn not_found() -> (StatusCode, &'static str) {
    (StatusCode::NOT_FOUND, "not found\n")
}

/// The probe routes. Any method is answered, as before the move to axum (kubelet sends GET).
pub fn router(client: Client) -> Router {
    Router::new()
        .route("/healthz", get(healthz).fallback(healthz))
        .route("/readyz", get(readyz).fallback(readyz))
        .fallback(not_found)
        .with_state(client)
}

/// Serves the probes until the process ends.
pub async fn serve(listener: TcpListener, client: Client) {
    if let Err(e) = axum::serve(listener, router(client)).await {
        tracing::error!(error = %e, "health endpoint stopped");
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    /// One raw HTTP/1.0 request on a fresh connection; returns the whole answer.
    fn get(addr: std::net::SocketAddr, path: &str) -> String {
        let mut s = std::net::TcpStream::connect(addr).expect("connect");
        write!(s, "GET {path} HTTP/1.0\r\n\r\n").expect("write");
        let mut out = String::new();
        s.read_to_string(&mut out).expect("read");
        out
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn healthz_answers_and_unknown_paths_are_404() {
        // /readyz would call the API server; the mock is never answered, so it is not asked.
        let (service, _handle) = tower_test::mock::pair::<
            http::Request<kube::client::Body>,
            http::Response<kube::client::Body>,
        >();
        let client = Client::new(service, "default");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(serve(listener, client));
        let (ok, missing) =
            tokio::task::spawn_blocking(move || (get(addr, "/healthz"), get(addr, "/nope")))
                .await
                .expect("client task");
        task.abort();
        assert!(ok.starts_with("HTTP/1.0 200"), "{ok}");
        assert!(ok.ends_with("ok\n"), "{ok}");
        assert!(missing.starts_with("HTTP/1.0 404"), "{missing}");
        assert!(missing.ends_with("not found\n"), "{missing}");
    }
}
