// SPDX-License-Identifier: Apache-2.0
//! Assembling the driver from its settings and running it until SIGTERM/SIGINT. The CLI
//! (`lustrekit csi`) parses flags into [`Settings`] and calls [`run_blocking`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use lk_volume::runner::LocalRunner;
use lk_volume::shares::ShareConfig;
use thiserror::Error;

use crate::controller::{ControllerConfig, ControllerService};
use crate::mount::{Backend, CommandMounter};
use crate::node::{NodeConfig, NodeService};
use crate::server::{self, ServeError, Services};
use crate::targets::{ShareTarget, ShareTargets};
use crate::volume::{check_cluster_name, ClusterNameError, Filesystem};

/// Which services this process serves (Identity always).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Controller,
    Node,
    /// Both, in one process (tests, csi-sanity, an all-in-one host).
    All,
}

/// The controller's settings.
#[derive(Debug, Clone)]
pub struct ControllerSettings {
    /// The share store's root: a directory on the controller's Lustre mount (or the
    /// stand-in directory); shares go to `ROOT/shares`.
    pub root: PathBuf,
    pub config: ControllerConfig,
    /// Share roots of named clusters (`--share-root NAME=DIR`): a directory on that
    /// cluster's Lustre mount. Each NAME must be in [`Settings::clusters`], which says how
    /// nodes mount it.
    pub share_roots: BTreeMap<String, PathBuf>,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub mode: Mode,
    pub endpoint: String,
    pub node_id: String,
    pub clusters: BTreeMap<String, Filesystem>,
    pub mount: Backend,
    /// Required in controller and all modes.
    pub controller: Option<ControllerSettings>,
}

#[derive(Debug, Error)]
pub enum RunError {
    #[error("mode {0:?} needs the controller settings (--root and --fs)")]
    NoController(Mode),
    #[error("mode {0:?} needs a node ID (--node-id)")]
    NoNodeId(Mode),
    #[error("share root of cluster {0:?} (--share-root) has no --cluster {0}=NIDS:/FSNAME")]
    ShareRootWithoutCluster(String),
    #[error(transparent)]
    ClusterName(#[from] ClusterNameError),
    #[error("opening the share root {path} failed")]
    Root {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("starting the async runtime failed")]
    Runtime(#[source] std::io::Error),
    #[error(transparent)]
    Serve(#[from] ServeError),
}

/// Builds the services a mode asks for.
pub fn services(settings: &Settings) -> Result<Services, RunError> {
    let wants_controller = matches!(settings.mode, Mode::Controller | Mode::All);
    let wants_node = matches!(settings.mode, Mode::Node | Mode::All);
    let controller = if wants_controller {
        let c = settings
            .controller
            .as_ref()
            .ok_or(RunError::NoController(settings.mode))?;
        let default = share_target(&c.root, c.config.fs.clone())?;
        let mut named = BTreeMap::new();
        for (name, root) in &c.share_roots {
            check_cluster_name(name)?;
            let fs = settings
                .clusters
                .get(name)
                .ok_or_else(|| RunError::ShareRootWithoutCluster(name.clone()))?;
            named.insert(name.clone(), share_target(root, fs.clone())?);
        }
        Some(Arc::new(ControllerService::new(
            ShareTargets::new(default, named),
            c.config.clone(),
        )))
    } else {
        None
    };
    let node = if wants_node {
        if settings.node_id.is_empty() {
            return Err(RunError::NoNodeId(settings.mode));
        }
        let mounter = CommandMounter::new(settings.mount.clone(), Arc::new(LocalRunner));
        Some(Arc::new(NodeService::new(
            Arc::new(mounter),
            NodeConfig {
                node_id: settings.node_id.clone(),
                clusters: settings.clusters.clone(),
            },
        )))
    } else {
        None
    };
    Ok(Services { controller, node })
}

/// Opens a share root (`ROOT/shares` is made when missing).
fn share_target(root: &std::path::Path, fs: Filesystem) -> Result<ShareTarget, RunError> {
    let opened = lk_volume::open(root).map_err(|source| RunError::Root {
        path: root.display().to_string(),
        source,
    })?;
    let shares = opened.shares(ShareConfig::default());
    let dir = opened.path.join("shares");
    std::fs::create_dir_all(&dir).map_err(|source| RunError::Root {
        path: dir.display().to_string(),
        source,
    })?;
    Ok(ShareTarget::new(shares, dir, fs))
}

/// Serves until SIGTERM or SIGINT; the socket is removed on the way out.
pub fn run_blocking(settings: Settings) -> Result<(), RunError> {
    let services = services(&settings)?;
    let endpoint = server::Endpoint::parse(&settings.endpoint)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(RunError::Runtime)?;
    let result = runtime.block_on(async {
        let listener = server::bind_endpoint(&endpoint).await?;
        eprintln!("lustrekit csi: serving {:?} on {endpoint}", settings.mode);
        server::serve(listener, services, shutdown_signal()).await
    });
    if let server::Endpoint::Unix(path) = &endpoint {
        let _ = std::fs::remove_file(path);
    }
    Ok(result?)
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        // Without signal handlers, Ctrl-C still ends the process the default way.
        _ => std::future::pending::<()>().await,
    }
}
