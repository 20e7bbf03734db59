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

/// Why an agent call gave no answer. The text is what events and conditions show, so each
/// variant prints its cause inline (and therefore does not also chain it as a source).
#[derive(Debug, thiserror::Error)]
pub enum AgentCallError {
    #[error("{0}")]
    Request(http::Error),
    #[error("{0}")]
    Connect(hyper_util::client::legacy::Error),
    #[error("{0}")]
    Body(hyper::Error),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("HTTP {status}: {body}")]
    Status {
        status: http::StatusCode,
        body: String,
    },
    #[error("bad answer: {0}")]
    Decode(serde_json::Error),
}

pub trait Agents: Send + Sync + 'static {
    /// `GET /v1/health` of the agent at `address` (`ip:port`).
    fn report(&self, address: String) -> BoxFuture<'_, Result<HealthReport, AgentCallError>>;
    /// `POST /v1/phases/<phase>` with the script as body.
    fn run_phase(
        &self,
        address: String,
        phase: String,
        script: String,
        token: String,
        force: bool,
    ) -> BoxFuture<'_, Result<PhaseRecord, AgentCallError>>;
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
    ) -> Result<(http::StatusCode, Bytes), AgentCallError> {
        let fut = async {
            let resp = self
                .client
                .request(req)
                .await
                .map_err(AgentCallError::Connect)?;
            let status = resp.status();
            let body = resp
                .into_body()
                .collect()
                .await
                .map_err(AgentCallError::Body)?
                .to_bytes();
            Ok::<_, AgentCallError>((status, body))
        };
        tokio::time::timeout(self.timeout, fut)
            .await
            .map_err(|_| AgentCallError::Timeout(self.timeout))?
    }
}

fn decode<T: serde::de::DeserializeOwned>(
    (status, body): (http::StatusCode, Bytes),
) -> Result<T, AgentCallError> {
    if !status.is_success() {
        return Err(AgentCallError::Status {
            status,
            body: String::from_utf8_lossy(&body).trim().to_string(),
        });
    }
    serde_json::from_slice(&body).map_err(AgentCallError::Decode)
}

impl Agents for HttpAgents {
    fn report(&self, address: String) -> BoxFuture<'_, Result<HealthReport, AgentCallError>> {
        Box::pin(async move {
            let req = http::Request::get(format!("http://{address}/v1/health"))
                .body(Full::new(Bytes::new()))
                .map_err(AgentCallError::Request)?;
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
    ) -> BoxFuture<'_, Result<PhaseRecord, AgentCallError>> {
        Box::pin(async move {
            let q = if force { "?force=1" } else { "" };
            let req = http::Request::post(format!("http://{address}/v1/phases/{phase}{q}"))
                .header(http::header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Full::new(Bytes::from(script)))
                .map_err(AgentCallError::Request)?;
            decode(self.call(req).await?)
        })
    }
}
