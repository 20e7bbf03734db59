// SPDX-License-Identifier: Apache-2.0
//! lustrekit's namespace sync: changes made to the gateway's tree outside the gateway (an HPC
//! job writing through POSIX, `mv`, `rm -r`) are applied to the gateway's listing index, so
//! Swift listings show them without a full rescan.
//!
//! Layout of the crate (events -> ops -> index changes):
//! - [`layout`]: where a path sits in `ROOT/ACCOUNT/CONTAINER/OBJECT` (pure);
//! - [`ops`]: the state-based operations both backends produce (pure);
//! - [`inotify`]: the generic backend; [`inotify::tracker`] turns events into ops (pure), the
//!   module itself owns the kernel watches and reader threads;
//! - [`changelog`]: the Lustre backend, one `lfs changelog` stream per MDT;
//!   [`changelog::plan`] turns coalesced records into ops (pure); parsing and coalescing live
//!   in `lk_lustre::changelog`;
//! - [`apply`]: reads the tree and commits index changes (the only writer);
//! - [`hasher`]: computes ETags in the background.
//!
//! [`run`] is what `lustrekit sync` calls. See docs/sync.md.

pub mod apply;
pub mod changelog;
pub mod error;
pub mod hasher;
pub mod inotify;
pub mod layout;
pub mod ops;

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use lk_gateway::sync_api::Gateway;
use lk_gateway::sync_api::{Limits, Settings, XattrOverflow, DEFAULT_STATE_DIR};

pub use error::{SyncError, SyncResult};

/// Which events feed the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum BackendKind {
    /// Linux inotify on the tree (any local filesystem).
    #[default]
    Inotify,
    /// The Lustre MDT changelog (`lfs changelog`), one stream per `--mdt`.
    Changelog,
}

/// Arguments of `lustrekit sync` (and of the stand-alone `lk-sync` binary).
#[derive(Debug, Clone)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct SyncArgs {
    /// The gateway's root (as given to `lustrekit gateway --root`).
    #[cfg_attr(feature = "cli", arg(long, value_name = "DIR"))]
    pub root: PathBuf,
    /// Where the gateway keeps its index (default ROOT/.lustrekit-gateway).
    #[cfg_attr(feature = "cli", arg(long, value_name = "DIR"))]
    pub state_dir: Option<PathBuf>,
    /// Event source.
    #[cfg_attr(feature = "cli", arg(long, value_enum, default_value_t = BackendKind::Inotify))]
    pub backend: BackendKind,
    /// As the gateway's option: where metadata goes when xattrs are full (for ETags computed
    /// here).
    #[cfg_attr(feature = "cli", arg(long, value_enum))]
    pub xattr_overflow: Option<XattrOverflow>,
    /// changelog: the Lustre mount point that contains ROOT (given to `lfs fid2path`).
    #[cfg_attr(feature = "cli", arg(long, value_name = "DIR"))]
    pub mount: Option<PathBuf>,
    /// changelog: an MDT to follow, e.g. lustre-MDT0000 (repeatable: one stream each). As
    /// MDT=USER, with its own changelog user, e.g. lustre-MDT0001=cl2-lk-swift (a user
    /// registered by name gets a different id on each MDT); a plain MDT uses --changelog-user.
    #[cfg_attr(feature = "cli", arg(long = "mdt", value_name = "MDT[=USER]"))]
    pub mdts: Vec<String>,
    /// changelog: the registered changelog user whose records are cleared, e.g. cl1, for each
    /// --mdt given without its own =USER.
    #[cfg_attr(feature = "cli", arg(long, value_name = "ID"))]
    pub changelog_user: Option<String>,
    /// changelog: the `lfs` program (tests give a script replaying a recorded changelog).
    #[cfg_attr(
        feature = "cli",
        arg(long, value_name = "PROGRAM", default_value = "lfs")
    )]
    pub lfs: PathBuf,
    /// changelog: run plain `lfs changelog` every SECS instead of `lfs changelog --follow`.
    #[cfg_attr(feature = "cli", arg(long, value_name = "SECS"))]
    pub poll: Option<f64>,
    /// Apply what is pending and exit: inotify does one full rescan, changelog reads each
    /// MDT's records up to the current last one.
    #[cfg_attr(feature = "cli", arg(long))]
    pub once: bool,
    /// Do not compute ETags of files changed outside the gateway (it then computes each one
    /// when the object is first read; listings show an empty hash until then).
    #[cfg_attr(feature = "cli", arg(long))]
    pub no_etag: bool,
    /// Hash a file only once it has been left unmodified this long, in milliseconds.
    #[cfg_attr(feature = "cli", arg(long, value_name = "MS", default_value_t = 1000))]
    pub hash_settle_ms: u64,
    /// Log filter, e.g. `info`, `lk_sync=debug`.
    #[cfg_attr(
        feature = "cli",
        arg(long, value_name = "FILTER", default_value = "info")
    )]
    pub log: String,
}

/// Opens the gateway's tree and index (no reconciliation: the backends rescan themselves).
pub fn open_gateway(args: &SyncArgs) -> SyncResult<Arc<Gateway>> {
    let settings = Settings {
        root: args.root.clone(),
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        state_dir: args
            .state_dir
            .clone()
            .unwrap_or_else(|| args.root.join(DEFAULT_STATE_DIR)),
        token_ttl: 0,
        xattr_overflow: args.xattr_overflow.unwrap_or_default(),
        policies: Default::default(),
        public_url: None,
        workers: None,
        log: args.log.clone(),
        users: Vec::new(),
        limits: Limits::default(),
        reconcile: false,
        server: Default::default(),
    };
    Gateway::open(settings)
        .map(Arc::new)
        .map_err(|source| SyncError::Open {
            root: args.root.clone(),
            source,
        })
}

fn ready() {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "lk-sync ready");
    let _ = out.flush();
}

/// Runs the sync until SIGTERM or SIGINT (or, with `--once`, until caught up). Prints
/// `lk-sync ready` on stdout once events are being followed (inotify: after the initial
/// rescan). On the first SIGTERM or SIGINT the backend stops taking events, commits what it
/// has in hand and returns `Ok` (see [`run_until`]); a second one exits at once, with
/// 128 + the signal's number, as a kill would. Killing it at any point loses nothing: see
/// docs/sync.md.
///
/// Logging is the caller's: install a subscriber (with `args.log` as the filter) first.
pub fn run(args: SyncArgs) -> SyncResult<()> {
    let stop = Arc::new(AtomicBool::new(false));
    let ids = install_signals(&stop)?;
    let r = run_until(args, &stop);
    // Leave the process's signal handling as it was (`run` is a library call).
    for id in ids {
        signal_hook::low_level::unregister(id);
    }
    r
}

/// SIGTERM and SIGINT set `stop`; once it is set, either one exits at once.
fn install_signals(stop: &Arc<AtomicBool>) -> SyncResult<Vec<signal_hook::SigId>> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut ids = Vec::new();
    for sig in [SIGTERM, SIGINT] {
        let err = |source| SyncError::Signal {
            signal: sig,
            source,
        };
        // Registered first, so the exit sees the flag before this signal sets it: the first
        // signal only asks, a second one (say a stop that takes too long) is obeyed.
        ids.push(
            signal_hook::flag::register_conditional_shutdown(sig, 128 + sig, stop.clone())
                .map_err(err)?,
        );
        ids.push(signal_hook::flag::register(sig, stop.clone()).map_err(err)?);
    }
    Ok(ids)
}

/// Runs the sync until `stop` is set (or, with `--once`, until caught up), then returns
/// once the batch in hand is committed: inotify applies the events already queued, each
/// changelog stream commits and clears the batch it is applying and reads no further; the
/// ETag thread finishes the file it is hashing. Installs no signal handler.
pub fn run_until(args: SyncArgs, stop: &AtomicBool) -> SyncResult<()> {
    let gw = open_gateway(&args)?;
    let settle = Duration::from_millis(args.hash_settle_ms);
    let r = match args.backend {
        BackendKind::Inotify => run_inotify(&args, gw, settle, stop),
        BackendKind::Changelog => run_changelog(&args, gw, settle, stop),
    };
    if r.is_ok() && stop.load(std::sync::atomic::Ordering::Relaxed) {
        tracing::info!("lk-sync stopped");
    }
    r
}

/// The inotify backend, its ETag thread's refreshes going through the main loop.
fn run_inotify(
    args: &SyncArgs,
    gw: Arc<Gateway>,
    settle: Duration,
    stop: &AtomicBool,
) -> SyncResult<()> {
    let (tx, rx) = inotify::channel();
    let hasher = (!args.no_etag).then(|| {
        let tx = tx.clone();
        hasher::Hasher::start(
            gw.clone(),
            settle,
            Box::new(move |rel| {
                let _ = tx.send(inotify::Msg::Refresh(rel));
            }),
        )
    });
    let applier = apply::Applier::new(gw, hasher.clone());
    let r = inotify::run(&applier, tx, rx, args.once, stop, &mut ready);
    // Already ended after a stop; after `--once` or an error, the file in hand is finished
    // (the channel is gone: its refresh is dropped, the gateway's own update stands).
    if let Some(h) = hasher {
        h.stop();
    }
    r
}

/// The changelog streams of `--mdt MDT[=USER]` values, in order: an `MDT=USER` is cleared
/// for its own USER, a plain `MDT` for `default_user` (`--changelog-user`). Refused, naming
/// the value: a plain `MDT` without a default user, an empty MDT or USER (or default user),
/// a USER with another `=`, the same MDT twice. No values give no streams (the backend then
/// asks for an `--mdt`).
pub fn mdt_streams(
    values: &[String],
    default_user: Option<&str>,
) -> SyncResult<Vec<changelog::MdtStream>> {
    let bad = |v: &str, why: String| {
        SyncError::Config(format!(
            "--mdt {v:?}: {why} (expected MDT=USER, or MDT with --changelog-user)"
        ))
    };
    if default_user == Some("") {
        return Err(SyncError::Config(
            "--changelog-user \"\": empty user id".into(),
        ));
    }
    let mut streams: Vec<changelog::MdtStream> = Vec::with_capacity(values.len());
    for v in values {
        let (mdt, user) = match v.split_once('=') {
            Some((m, u)) => (m, u),
            None => {
                let u = default_user.ok_or_else(|| {
                    bad(
                        v,
                        "no changelog user: give this MDT's own (registered with `lctl \
                         --device MDT changelog_register`), or --changelog-user"
                            .into(),
                    )
                })?;
                (v.as_str(), u)
            }
        };
        if mdt.is_empty() {
            return Err(bad(v, "empty MDT".into()));
        }
        if user.is_empty() {
            return Err(bad(v, "empty USER".into()));
        }
        if user.contains('=') {
            return Err(bad(v, "more than one `=`".into()));
        }
        if streams.iter().any(|s| s.mdt == mdt) {
            return Err(bad(v, format!("MDT {mdt} is given twice")));
        }
        streams.push(changelog::MdtStream {
            mdt: mdt.to_string(),
            user: user.to_string(),
        });
    }
    Ok(streams)
}

/// The changelog backend: one `lfs changelog` stream per MDT, hashed entries refreshed by
/// their own writer thread.
fn run_changelog(
    args: &SyncArgs,
    gw: Arc<Gateway>,
    settle: Duration,
    stop: &AtomicBool,
) -> SyncResult<()> {
    let mount = args.mount.clone().ok_or_else(|| {
        SyncError::Config("the changelog backend needs --mount (the Lustre mount point)".into())
    })?;
    let mount = mount.canonicalize().map_err(|source| SyncError::Io {
        action: "resolve the mount point",
        path: mount.clone(),
        source,
    })?;
    let streams = mdt_streams(&args.mdts, args.changelog_user.as_deref())?;
    let poll = match args.poll {
        Some(s) if s.is_finite() && s > 0.0 => Some(Duration::from_secs_f64(s)),
        Some(s) => {
            return Err(SyncError::Config(format!(
                "--poll {s}: not a positive number of seconds"
            )))
        }
        None => None,
    };
    let opts = changelog::ChangelogOptions {
        lfs: args.lfs.clone(),
        mount,
        streams,
        poll,
        once: args.once,
        batch_max: 20_000,
    };
    // The ETag thread's refreshes go through their own writer thread, which ends when the
    // ETag thread does (the only sender is its `done`).
    let (rtx, rrx) = std::sync::mpsc::channel::<String>();
    let hasher = (!args.no_etag).then(|| {
        hasher::Hasher::start(
            gw.clone(),
            settle,
            Box::new(move |rel| {
                let _ = rtx.send(rel);
            }),
        )
    });
    let applier = Arc::new(apply::Applier::new(gw, hasher.clone()));
    let a2 = applier.clone();
    let refresher = std::thread::spawn(move || {
        while let Ok(rel) = rrx.recv() {
            let ops = std::iter::once(ops::Op::Refresh(rel))
                .chain(rrx.try_iter().map(ops::Op::Refresh))
                .collect();
            if let Err(e) = a2.apply(ops, None, &mut apply::NoWatch) {
                tracing::warn!(error = %error::chain(&e), "cannot refresh hashed entries");
            }
        }
    });
    ready();
    let r = changelog::run(&applier, &opts, stop);
    // The file being hashed is finished and its entry refreshed before returning.
    if let Some(h) = hasher {
        h.stop();
    }
    if refresher.join().is_err() {
        tracing::error!("the refresh thread panicked");
    }
    r
}

#[cfg(test)]
mod tests {
    use super::mdt_streams;
    use crate::changelog::MdtStream;

    fn v(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    fn ms(mdt: &str, user: &str) -> MdtStream {
        MdtStream {
            mdt: mdt.into(),
            user: user.into(),
        }
    }

    #[test]
    fn each_mdt_gets_its_own_user_or_the_default() {
        let two = v(&["fs-MDT0000=cl1-lk-swift", "fs-MDT0001=cl2-lk-swift"]);
        for default in [None, Some("cl9")] {
            assert_eq!(
                mdt_streams(&two, default).expect("ok"),
                [
                    ms("fs-MDT0000", "cl1-lk-swift"),
                    ms("fs-MDT0001", "cl2-lk-swift")
                ]
            );
        }
        let mixed = v(&["fs-MDT0000=cl1-lk-swift", "fs-MDT0001"]);
        assert_eq!(
            mdt_streams(&mixed, Some("cl2")).expect("ok"),
            [ms("fs-MDT0000", "cl1-lk-swift"), ms("fs-MDT0001", "cl2")]
        );
        assert_eq!(mdt_streams(&[], None).expect("ok"), []);
    }

    #[test]
    fn a_missing_user_an_empty_part_or_a_repeat_is_an_error() {
        for (args, default, needle) in [
            (
                v(&["fs-MDT0000"]),
                None,
                r#""fs-MDT0000": no changelog user"#,
            ),
            (
                v(&["fs-MDT0000=cl1", "fs-MDT0001"]),
                None,
                r#""fs-MDT0001": no changelog"#,
            ),
            (v(&["=cl1"]), None, r#""=cl1": empty MDT"#),
            (v(&["="]), Some("cl1"), r#""=": empty MDT"#),
            (
                v(&["fs-MDT0000="]),
                Some("cl1"),
                r#""fs-MDT0000=": empty USER"#,
            ),
            (
                v(&["fs-MDT0000=a=b"]),
                None,
                r#""fs-MDT0000=a=b": more than one `=`"#,
            ),
            (
                v(&["fs-MDT0000"]),
                Some(""),
                r#"--changelog-user "": empty"#,
            ),
            (
                v(&["fs-MDT0000", "fs-MDT0000=cl2"]),
                Some("cl1"),
                r#""fs-MDT0000=cl2": MDT fs-MDT0000 is given twice"#,
            ),
            (
                v(&["fs-MDT0000=cl1", "fs-MDT0000=cl1"]),
                None,
                "is given twice",
            ),
        ] {
            let e = mdt_streams(&args, default)
                .expect_err("refused")
                .to_string();
            assert!(e.contains(needle), "{args:?} {default:?}: {e}");
            assert!(e.starts_with("invalid configuration: "), "{e}");
        }
    }
}
