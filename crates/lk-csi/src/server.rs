// SPDX-License-Identifier: Apache-2.0
//! The gRPC server on a unix socket (or TCP): Identity always, Controller and/or Node by mode.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use std::net::SocketAddr;
use thiserror::Error;

use tokio::net::{TcpListener, UnixListener};
use tokio_stream::wrappers::{TcpListenerStream, UnixListenerStream};

use crate::controller::ControllerService;
use crate::identity::IdentityService;
use crate::node::NodeService;
use crate::proto::controller_server::ControllerServer;
use crate::proto::identity_server::IdentityServer;
use crate::proto::node_server::NodeServer;

#[derive(Debug, Error)]
pub enum ServeError {
    #[error("endpoint {0:?} is not unix:///PATH, an absolute path or tcp://ADDRESS:PORT")]
    Endpoint(String),
    #[error("{action} socket {path} failed")]
    Socket {
        action: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the gRPC server failed")]
    Transport(#[source] tonic::transport::Error),
}

/// The services one process serves (Identity is always there).
pub struct Services {
    pub controller: Option<Arc<ControllerService>>,
    pub node: Option<Arc<NodeService>>,
}

/// Where the driver listens. Kubernetes' sidecars speak to a unix socket; TCP is for a driver
/// in a VM driven from its host (CSI has no authentication: a private network only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Unix(PathBuf),
    Tcp(SocketAddr),
}

impl Endpoint {
    /// `unix:///csi/csi.sock`, `unix:/csi/csi.sock`, a plain absolute path, or
    /// `tcp://ADDRESS:PORT` (an IP address, not a name).
    pub fn parse(endpoint: &str) -> Result<Self, ServeError> {
        let bad = || ServeError::Endpoint(endpoint.to_string());
        if let Some(addr) = endpoint.strip_prefix("tcp://") {
            return addr.parse().map(Endpoint::Tcp).map_err(|_| bad());
        }
        let path = endpoint
            .strip_prefix("unix://")
            .or_else(|| endpoint.strip_prefix("unix:"))
            .unwrap_or(endpoint);
        if path.starts_with('/') {
            Ok(Endpoint::Unix(PathBuf::from(path)))
        } else {
            Err(bad())
        }
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Unix(path) => write!(f, "unix://{}", path.display()),
            Endpoint::Tcp(addr) => write!(f, "tcp://{addr}"),
        }
    }
}

/// A bound endpoint.
pub enum Listener {
    Unix(UnixListener),
    Tcp(TcpListener),
}

/// The socket path of a unix endpoint (see [`Endpoint::parse`]).
pub fn socket_path(endpoint: &str) -> Result<PathBuf, ServeError> {
    match Endpoint::parse(endpoint)? {
        Endpoint::Unix(path) => Ok(path),
        Endpoint::Tcp(_) => Err(ServeError::Endpoint(endpoint.to_string())),
    }
}

/// Binds a unix socket (a stale one from an earlier run is removed first).
pub fn bind(path: &Path) -> Result<UnixListener, ServeError> {
    let err = |action| {
        move |source| ServeError::Socket {
            action,
            path: path.display().to_string(),
            source,
        }
    };
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(err("removing")(e)),
        _ => {}
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err("creating the directory of"))?;
    }
    UnixListener::bind(path).map_err(err("binding"))
}

/// Binds either kind of endpoint.
pub async fn bind_endpoint(endpoint: &Endpoint) -> Result<Listener, ServeError> {
    match endpoint {
        Endpoint::Unix(path) => bind(path).map(Listener::Unix),
        Endpoint::Tcp(addr) => TcpListener::bind(addr)
            .await
            .map(Listener::Tcp)
            .map_err(|source| ServeError::Socket {
                action: "binding",
                path: addr.to_string(),
                source,
            }),
    }
}

/// Serves until `shutdown` completes.
pub async fn serve(
    listener: impl Into<Listener>,
    services: Services,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let identity = IdentityService {
        controller: services.controller.is_some(),
    };
    let router = tonic::transport::Server::builder()
        .add_service(IdentityServer::new(identity))
        .add_optional_service(services.controller.map(ControllerServer::from_arc))
        .add_optional_service(services.node.map(NodeServer::from_arc));
    match listener.into() {
        Listener::Unix(l) => {
            router
                .serve_with_incoming_shutdown(UnixListenerStream::new(l), shutdown)
                .await
        }
        Listener::Tcp(l) => {
            router
                .serve_with_incoming_shutdown(TcpListenerStream::new(l), shutdown)
                .await
        }
    }
    .map_err(ServeError::Transport)
}

impl From<UnixListener> for Listener {
    fn from(l: UnixListener) -> Self {
        Listener::Unix(l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        assert_eq!(
            socket_path("unix:///csi/csi.sock").unwrap(),
            PathBuf::from("/csi/csi.sock")
        );
        assert_eq!(
            socket_path("unix:/csi/csi.sock").unwrap(),
            PathBuf::from("/csi/csi.sock")
        );
        assert!(socket_path("tcp://1.2.3.4:5").is_err());
        assert_eq!(
            Endpoint::parse("tcp://10.0.0.1:10000").unwrap(),
            Endpoint::Tcp("10.0.0.1:10000".parse().unwrap())
        );
        assert!(Endpoint::parse("tcp://node1:10000").is_err());
        assert!(Endpoint::parse("tcp://10.0.0.1").is_err());
        assert!(socket_path("csi.sock").is_err());
    }
}
