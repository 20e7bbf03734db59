//! The operator's own probes: `/healthz` (the process serves) and `/readyz` (the API server
//! answers with this operator's credentials).

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use kube::Client;
use tokio::net::TcpListener;

async fn answer(
    client: Client,
    req: http::Request<hyper::body::Incoming>,
) -> Result<http::Response<Full<Bytes>>, Infallible> {
    let (status, body) = match req.uri().path() {
        "/healthz" => (http::StatusCode::OK, "ok\n".to_string()),
        "/readyz" => match client.apiserver_version().await {
            Ok(_) => (http::StatusCode::OK, "ok\n".to_string()),
            Err(e) => (http::StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")),
        },
        _ => (http::StatusCode::NOT_FOUND, "not found\n".to_string()),
    };
    let mut resp = http::Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    Ok(resp)
}

pub async fn serve(listener: TcpListener, client: Client) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let client = client.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| answer(client.clone(), req));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}
