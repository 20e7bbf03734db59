// SPDX-License-Identifier: Apache-2.0
//! lustrekit's Swift gateway: the OpenStack Swift API v1 over a POSIX (Lustre) tree whose
//! objects are plain files, `ROOT/ACCOUNT/CONTAINER/OBJECT`.
//!
//! Layout of the crate (request path: [`server`] -> [`handlers`] -> [`gateway`] -> [`store`]):
//! - [`config`]: `GatewayArgs` (clap), the TOML config file, resolved `Settings`, Swift limits.
//! - [`path`], [`range`], [`cond`], [`listing`], [`time`]: pure request parsing and response
//!   formatting, no I/O.
//! - [`auth`]: tempauth v1.0 tokens and container ACLs.
//! - [`store`]: the tree (safe path resolution, atomic temp+fsync+rename writes).
//! - [`meta`]: metadata in `user.swift.metadata*` xattrs, side store when they run out.
//! - [`index`]: the SQLite listing index (public API for the sync daemon).
//! - [`reconcile`]: start-up index/tree reconciliation.
//! - [`gateway`]: shared state and the object model (load, refresh, streamed atomic PUT).
//! - [`handlers`]: account/container/object verbs, large objects, bulk delete, info, CORS.
//! - [`body`]: streamed response bodies (files, ranges, multipart, segments).
//! - [`server`]: hyper HTTP/1.1 server with limits and graceful shutdown.
//!
//! [`run`] is what `lustrekit gateway` calls.

pub mod auth;
pub mod body;
pub mod cond;
pub mod config;
pub mod error;
pub mod gateway;
pub mod handlers;
pub mod index;
pub mod listing;
pub mod meta;
pub mod path;
pub mod range;
pub mod reconcile;
pub mod server;
pub mod store;
pub mod time;

use std::sync::Arc;

use anyhow::Context;

pub use config::{GatewayArgs, Settings};
pub use gateway::Gateway;

impl Gateway {
    /// Opens the tree and the index for `settings` (creating the root and state directory)
    /// and, unless disabled, reconciles them.
    pub fn open(settings: Settings) -> anyhow::Result<Gateway> {
        let store = store::Store::open(&settings.root)
            .with_context(|| format!("failed to open root {}", settings.root.display()))?;
        std::fs::create_dir_all(&settings.state_dir).with_context(|| {
            format!(
                "failed to create state directory {}",
                settings.state_dir.display()
            )
        })?;
        let index = Arc::new(index::Index::open(
            &settings.state_dir.join("index.sqlite3"),
        )?);
        let gw = Gateway {
            meta: meta::MetaStore::new(index.clone(), settings.xattr_overflow),
            auth: auth::Auth::new(settings.users.clone(), settings.token_ttl),
            commit_locks: gateway::CommitLocks::default(),
            store,
            index,
            settings,
        };
        if gw.settings.reconcile {
            let started = std::time::Instant::now();
            let report = reconcile::reconcile(&gw, &gw.auth.accounts())
                .context("failed to reconcile the index with the tree")?;
            tracing::info!(?report, elapsed = ?started.elapsed(), "index reconciled with the tree");
        }
        for a in gw.auth.accounts() {
            let d = gw.store.account_dir(&a);
            std::fs::create_dir_all(&d)
                .with_context(|| format!("failed to create account directory {}", d.display()))?;
        }
        Ok(gw)
    }
}

fn init_logging(filter: &str) {
    let f = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(f)
        .with_writer(std::io::stderr)
        .try_init();
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

/// Runs the gateway until SIGINT/SIGTERM: resolves the settings, builds a Tokio runtime,
/// opens and reconciles the tree and index, listens, and prints
/// `lk-gateway listening on http://ADDR` on stdout once it accepts connections.
pub fn run(args: GatewayArgs) -> anyhow::Result<()> {
    let settings = args.resolve()?;
    init_logging(&settings.log);
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    rt.enable_all();
    if let Some(n) = settings.workers {
        rt.worker_threads(n.max(1));
    }
    let rt = rt.build().context("failed to start the Tokio runtime")?;
    rt.block_on(async move {
        let listen = settings.listen;
        let gw = tokio::task::spawn_blocking(move || Gateway::open(settings))
            .await
            .context("gateway start-up task failed")??;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("failed to listen on {listen}"))?;
        let addr = listener
            .local_addr()
            .context("failed to read the bound address")?;
        {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            writeln!(out, "lk-gateway listening on http://{addr}")?;
            out.flush()?;
        }
        tracing::info!(%addr, root = %gw.store.root().display(), "serving Swift API v1");
        server::serve(Arc::new(gw), listener, shutdown_signal()).await;
        Ok(())
    })
}
