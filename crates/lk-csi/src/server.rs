// SPDX-License-Identifier: Apache-2.0
//! The gRPC server on a unix socket: Identity always, Controller and/or Node by mode.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use thiserror::Error;
use tokio::net::UnixListener;
use tokio_stream::wrappers::UnixListenerStream;

use crate::controller::ControllerService;
use crate::identity::IdentityService;
use crate::node::NodeService;
use crate::proto::controller_server::ControllerServer;
use crate::proto::identity_server::IdentityServer;
use crate::proto::node_server::NodeServer;

#[derive(Debug, Error)]
pub enum ServeError {
    #[error("endpoint {0:?} is not unix:///PATH or an absolute path")]
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

/// The socket path of a CSI endpoint (`unix:///csi/csi.sock`, `unix:/csi/csi.sock` or a
/// plain absolute path).
pub fn socket_path(endpoint: &str) -> Result<PathBuf, ServeError> {
    let path = endpoint
        .strip_prefix("unix://")
        .or_else(|| endpoint.strip_prefix("unix:"))
        .unwrap_or(endpoint);
    if path.starts_with('/') {
        Ok(PathBuf::from(path))
    } else {
        Err(ServeError::Endpoint(endpoint.to_string()))
    }
}

/// Binds the socket (a stale one from an earlier run is removed first).
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

/// Serves until `shutdown` completes.
pub async fn serve(
    listener: UnixListener,
    services: Services,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let identity = IdentityService {
        controller: services.controller.is_some(),
    };
    tonic::transport::Server::builder()
        .add_service(IdentityServer::new(identity))
        .add_optional_service(services.controller.map(ControllerServer::from_arc))
        .add_optional_service(services.node.map(NodeServer::from_arc))
        .serve_with_incoming_shutdown(UnixListenerStream::new(listener), shutdown)
        .await
        .map_err(ServeError::Transport)
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
        assert!(socket_path("csi.sock").is_err());
    }
}
