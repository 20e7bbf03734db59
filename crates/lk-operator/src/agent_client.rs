//! Talking to the in-guest agents over HTTP (plain HTTP on the pod network; running a script
//! needs the cluster's bearer token). A trait, so reconcile tests can stand in for agents.

use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use lk_agent::report::PhaseRecord;
use lk_agent::HealthReport;

pub trait Agents: Send + Sync + 'static {
    /// `GET /v1/health` of the agent at `address` (`ip:port`).
    fn report(&self, address: String) -> BoxFuture<'_, Result<HealthReport, String>>;
    /// `POST /v1/phases/<phase>` with the script as body.
    fn run_phase(
        &self,
        address: String,
        phase: String,
        script: String,
        token: String,
        force: bool,
    ) -> BoxFuture<'_, Result<PhaseRecord, String>>;
}

pub struct HttpAgents {
    client: Client<HttpConnector, Full<Bytes>>,
    timeout: Duration,
}

impl HttpAgents {
    pub fn new(timeout: Duration) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(timeout));
        HttpAgents {
            client: Client::builder(TokioExecutor::new()).build(connector),
            timeout,
        }
    }

    async fn call(
        &self,
        req: http::Request<Full<Bytes>>,
    ) -> Result<(http::StatusCode, Bytes), String> {
        let fut = async {
            let resp = self.client.request(req).await.map_err(|e| e.to_string())?;
            let status = resp.status();
            let body = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            Ok::<_, String>((status, body))
        };
        tokio::time::timeout(self.timeout, fut)
            .await
            .map_err(|_| format!("no answer within {:?}", self.timeout))?
    }
}

fn decode<T: serde::de::DeserializeOwned>(
    (status, body): (http::StatusCode, Bytes),
) -> Result<T, String> {
    if !status.is_success() {
        return Err(format!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(&body).trim()
        ));
    }
    serde_json::from_slice(&body).map_err(|e| format!("bad answer: {e}"))
}

impl Agents for HttpAgents {
    fn report(&self, address: String) -> BoxFuture<'_, Result<HealthReport, String>> {
        Box::pin(async move {
            let req = http::Request::get(format!("http://{address}/v1/health"))
                .body(Full::new(Bytes::new()))
                .map_err(|e| e.to_string())?;
            decode(self.call(req).await?)
        })
    }

    fn run_phase(
        &self,
        address: String,
        phase: String,
        script: String,
        token: String,
        force: bool,
    ) -> BoxFuture<'_, Result<PhaseRecord, String>> {
        Box::pin(async move {
            let q = if force { "?force=1" } else { "" };
            let req = http::Request::post(format!("http://{address}/v1/phases/{phase}{q}"))
                .header(http::header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Full::new(Bytes::from(script)))
                .map_err(|e| e.to_string())?;
            decode(self.call(req).await?)
        })
    }
}
