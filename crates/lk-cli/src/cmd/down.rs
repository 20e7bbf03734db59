//! `lustrekit down` (from the ledger: unmounts first when Lustre may be mounted, unless told
//! not to) and `lustrekit gc` (from ownership marks, for when the ledger is lost). Both check
//! libvirt afterwards and say what, if anything, is left.

use std::io::Write as _;
use std::time::Duration;

use lk_libvirt::{Libvirt, Owned};
use serde::Serialize;

use crate::cmd::cluster::{ClusterRef, Conn};
use crate::progress::Progress;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Topology file, or the name of a cluster brought up before.
    pub cluster: String,
    #[command(flatten)]
    pub conn: Conn,
    /// Seconds each unmount step may take on a node before `down` goes on without it.
    #[arg(long, default_value_t = 300)]
    pub unmount_timeout: u64,
    /// Power the VMs off at once, without unmounting Lustre and unloading its modules first:
    /// their disks are deleted with them, so nothing needs flushing.
    #[arg(long)]
    pub no_unmount: bool,
    /// Print JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct GcArgs {
    /// Cluster name (or its topology file).
    pub cluster: String,
    #[command(flatten)]
    pub conn: Conn,
    /// Print JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct Outcome {
    cluster: String,
    removed: Vec<String>,
    /// Guest unmount steps that failed (down went on).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<String>,
    left: Owned,
}

fn leftovers(lv: &Libvirt, c: &ClusterRef) -> anyhow::Result<Owned> {
    let pool_dir = c.dir().join("pool");
    Ok(lv.owned(c.name(), &pool_dir.to_string_lossy())?)
}

fn print(o: &Outcome, json: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, o)?;
        writeln!(out)?;
        return Ok(());
    }
    for w in &o.warnings {
        writeln!(out, "warning: {w}")?;
    }
    if o.removed.is_empty() {
        writeln!(out, "{}: nothing to remove", o.cluster)?;
    } else {
        writeln!(out, "{}: removed {} object(s)", o.cluster, o.removed.len())?;
    }
    Ok(())
}

fn check_left(o: &Outcome) -> anyhow::Result<()> {
    if o.left.is_empty() {
        return Ok(());
    }
    anyhow::bail!(
        "{}: still in libvirt after removal: {:?}; run `lustrekit gc {}`",
        o.cluster,
        o.left,
        o.cluster
    )
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let c = ClusterRef::resolve(&args.cluster, &args.conn)?;
    let lv = args.conn.connect()?;
    let progress = Progress::lines();
    let mut warnings = Vec::new();
    if let Some(plan) = c.plan().filter(|_| !args.no_unmount) {
        warnings = lk_engine::stages::teardown_guests(
            &lv,
            plan,
            Duration::from_secs(args.unmount_timeout),
            &progress,
        );
    }
    let removed = lk_engine::down(&lv, &c.dir(), &progress)?;
    let o = Outcome {
        cluster: c.name().to_string(),
        removed: removed.iter().map(ToString::to_string).collect(),
        warnings,
        left: leftovers(&lv, &c)?,
    };
    print(&o, args.json)?;
    check_left(&o)
}

pub fn gc(args: &GcArgs) -> anyhow::Result<()> {
    let c = ClusterRef::resolve(&args.cluster, &args.conn)?;
    let lv = args.conn.connect()?;
    let found = lk_engine::gc(&lv, c.name(), &c.dir(), &Progress::lines())?;
    let mut removed: Vec<String> = found
        .domains
        .iter()
        .map(|(d, _)| format!("domain {d}"))
        .collect();
    removed.extend(found.volumes.iter().map(|(p, v)| format!("volume {p}/{v}")));
    removed.extend(found.pools.iter().map(|p| format!("pool {p}")));
    removed.extend(found.networks.iter().map(|n| format!("network {n}")));
    let o = Outcome {
        cluster: c.name().to_string(),
        removed,
        warnings: Vec::new(),
        left: leftovers(&lv, &c)?,
    };
    print(&o, args.json)?;
    check_left(&o)
}
