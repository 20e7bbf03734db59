//! `lustrekit failover CLUSTER TARGET` and `lustrekit failback CLUSTER TARGET`.

use std::io::Write as _;
use std::time::Duration;

use lk_engine::StageOptions;

use crate::cmd::cluster::{ClusterRef, Conn};
use crate::progress::Progress;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Topology file, or the name of a cluster brought up before.
    pub cluster: String,
    /// Target label (`fs-OST0001`), facet (`ost2`, `mds1`) or `mgs`.
    pub target: String,
    /// Node to move it to (default: the other node of its pair).
    #[arg(long)]
    pub to: Option<String>,
    /// The current node is dead or hung: power its VM off (fencing), then force-import; the
    /// other targets that node serves move with it.
    #[arg(long)]
    pub hard: bool,
    #[command(flatten)]
    pub conn: Conn,
    /// Seconds each step may take on a node (recovery included).
    #[arg(long, default_value_t = 900)]
    pub timeout: u64,
    /// Print JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct BackArgs {
    /// Topology file, or the name of a cluster brought up before.
    pub cluster: String,
    /// Target label, facet or `mgs`.
    pub target: String,
    #[command(flatten)]
    pub conn: Conn,
    #[arg(long, default_value_t = 900)]
    pub timeout: u64,
    #[arg(long)]
    pub json: bool,
}

fn print(m: &lk_engine::failover::Move, json: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, m)?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "{}: moved from {} to {}{}{} in {:.1}s; clients verified: {}",
            m.target,
            m.from,
            m.to,
            if m.fenced { " (old node fenced)" } else { "" },
            if m.with.is_empty() {
                String::new()
            } else {
                format!(", with {}", m.with.join(", "))
            },
            m.seconds,
            m.verified.keys().cloned().collect::<Vec<_>>().join(", ")
        )?;
    }
    Ok(())
}

fn options(timeout: u64) -> anyhow::Result<StageOptions> {
    Ok(StageOptions {
        phase_timeout: Duration::from_secs(timeout),
        cancel: crate::signals::install()?,
        ..StageOptions::default()
    })
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let c = ClusterRef::resolve(&args.cluster, &args.conn)?;
    let plan = c.require_plan()?;
    let lv = args.conn.connect()?;
    let m = lk_engine::failover::failover(
        &lv,
        plan,
        &args.target,
        args.to.as_deref(),
        args.hard,
        &options(args.timeout)?,
        &Progress::lines(),
    )?;
    print(&m, args.json)
}

pub fn back(args: &BackArgs) -> anyhow::Result<()> {
    let c = ClusterRef::resolve(&args.cluster, &args.conn)?;
    let plan = c.require_plan()?;
    let lv = args.conn.connect()?;
    let m = lk_engine::failover::failback(
        &lv,
        plan,
        &args.target,
        &options(args.timeout)?,
        &Progress::lines(),
    )?;
    print(&m, args.json)
}
