// SPDX-License-Identifier: Apache-2.0
//! lustrekit's Swift gateway: the OpenStack Swift API v1 over a POSIX (Lustre) tree whose
//! objects are plain files, `ROOT/ACCOUNT/CONTAINER/OBJECT`.
//!
//! Layout of the crate (request path: [`server`] -> [`handlers`] -> [`gateway`] -> [`store`]):
//! - [`config`]: `GatewayArgs` (clap derives with the `cli` feature), the TOML config file,
//!   resolved `Settings`, Swift limits.
//! - [`hdr`]: header values as UTF-8 text (Swift accepts non-ASCII values).
//! - [`path`], [`range`], [`cond`], [`listing`], [`time`]: pure request parsing and response
//!   formatting, no I/O.
//! - [`auth`]: tempauth v1.0 tokens and container ACLs; [`acl`]: referrer ACLs (`.r:`),
//!   Swift's ACL cleaning.
//! - [`dlo`]: DLOs as files (their file holds their segments' bytes) and the refresher.
//! - [`expiry`]: `X-Delete-At` / `X-Delete-After` and the expirer.
//! - [`quota`]: container quotas (`X-Container-Meta-Quota-Bytes` / `-Count`), pure rules.
//! - [`tempurl`]: temporary URL signatures (pure rules; applied by `handlers::tempurl`).
//! - [`store`]: the tree (safe path resolution, atomic temp+fsync+rename writes).
//! - [`meta`]: metadata in `user.swift.metadata*` xattrs, side store when they run out.
//! - [`index`]: the SQLite listing index.
//! - [`sync_api`]: everything the sync daemon (`lk-sync`) may use, re-exported in one place.
//! - [`reconcile`]: start-up index/tree reconciliation.
//! - [`gateway`]: shared state and the object model (load, refresh).
//! - [`put`]: streamed atomic PUTs (temp file, batches written off the async threads,
//!   idle timeout).
//! - [`uploads`]: bounds on uploads in progress, overall and per client.
//! - [`handlers`]: account/container/object verbs, large objects, bulk delete and upload,
//!   info, CORS.
//! - [`archive`]: tar archives (plain, gzip, bzip2) read as they arrive, for bulk upload.
//! - [`body`]: streamed response bodies (files, ranges, multipart, segments).
//! - [`server`]: the axum router, served over HTTP/1.1 with limits and graceful shutdown;
//!   [`conn`] and [`framing`] check each request's framing below hyper.
//!
//! [`run`] is what `lustrekit gateway` and the `lk-gateway` binary call once they have parsed
//! their flags ([`GatewayArgs`], only with the `cli` feature) into [`Settings`] and installed
//! a log subscriber; the library itself installs none.

pub mod account_acl;
pub mod acl;
pub mod archive;
pub mod auth;
pub mod body;
pub mod cond;
pub mod config;
pub mod conn;
pub mod dlo;
pub mod error;
pub mod expiry;
pub mod framing;
pub mod gateway;
pub mod handlers;
pub mod hdr;
pub mod index;
pub mod layout;
pub mod listing;
pub mod meta;
pub mod path;
pub mod policy;
pub mod put;
pub mod quota;
pub mod range;
pub mod reconcile;
pub mod selfdir;
pub mod server;
pub mod staticweb;
pub mod store;
pub mod symlink;
pub mod sync_api;
pub mod tempurl;
pub mod time;
pub mod uploads;
pub mod versioning;

use std::sync::Arc;

pub use config::{GatewayArgs, ServerLimits, Settings};
pub use error::StartError;
pub use gateway::Gateway;

fn create_dir(what: &'static str, path: &std::path::Path) -> Result<(), StartError> {
    std::fs::create_dir_all(path).map_err(|source| StartError::CreateDir {
        what,
        path: path.to_path_buf(),
        source,
    })
}

impl Gateway {
    /// Opens the tree and the index for `settings` (creating the root and state directory)
    /// and, unless disabled, reconciles them.
    pub fn open(settings: Settings) -> Result<Gateway, StartError> {
        let store = store::Store::open(&settings.root).map_err(|source| StartError::Root {
            path: settings.root.clone(),
            source,
        })?;
        create_dir("state directory", &settings.state_dir)?;
        let index = Arc::new(index::Index::open(
            &settings.state_dir.join("index.sqlite3"),
        )?);
        let server = &settings.server;
        let gw = Gateway {
            uploads: uploads::Uploads::new(server.max_uploads, server.max_uploads_per_client),
            meta: meta::MetaStore::new(index.clone(), settings.xattr_overflow),
            auth: auth::Auth::new(settings.users.clone(), settings.token_ttl),
            commit_locks: gateway::CommitLocks::default(),
            version_states: Default::default(),
            store,
            index,
            settings,
        };
        if gw.settings.reconcile {
            let started = std::time::Instant::now();
            let report =
                reconcile::reconcile(&gw, &gw.auth.accounts()).map_err(StartError::Reconcile)?;
            tracing::info!(?report, elapsed = ?started.elapsed(), "index reconciled with the tree");
        }
        for a in gw.auth.accounts() {
            create_dir("account directory", &gw.store.account_dir(&a))?;
        }
        Ok(gw)
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        // Without signal handlers we can only run until killed.
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down");
}

fn io_err(action: impl Into<String>) -> impl FnOnce(std::io::Error) -> StartError {
    let action = action.into();
    move |source| StartError::Io { action, source }
}

/// Runs the gateway until SIGINT/SIGTERM: builds a Tokio runtime, opens and reconciles the
/// tree and index, listens, and prints `lk-gateway listening on http://ADDR` on stdout once
/// it accepts connections. Logging is the caller's: install a subscriber (with
/// `settings.log` as the filter) before calling this.
pub fn run(settings: Settings) -> Result<(), StartError> {
    uploads::raise_fd_limit(settings.server.max_uploads);
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    rt.enable_all()
        .max_blocking_threads(settings.server.blocking_threads);
    if let Some(n) = settings.workers {
        rt.worker_threads(n.max(1));
    }
    let rt = rt.build().map_err(io_err("start the Tokio runtime"))?;
    rt.block_on(async move {
        let listen = settings.listen;
        let gw = tokio::task::spawn_blocking(move || Gateway::open(settings))
            .await
            .map_err(|e| StartError::Task(e.to_string()))??;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(io_err(format!("listen on {listen}")))?;
        let addr = listener
            .local_addr()
            .map_err(io_err("read the bound address"))?;
        {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            writeln!(out, "lk-gateway listening on http://{addr}")
                .and_then(|()| out.flush())
                .map_err(io_err("write the listening line"))?;
        }
        tracing::info!(%addr, root = %gw.store.root().display(), "serving Swift API v1");
        let gw = Arc::new(gw);
        tokio::spawn(expiry::run_expirer(gw.clone()));
        tokio::spawn(dlo::run_refresher(gw.clone()));
        server::serve(gw, listener, shutdown_signal()).await;
        Ok(())
    })
}
