//! `lustrekit exec CLUSTER NODE -- CMD...`: runs a command in a guest through the QEMU guest
//! agent (works without any guest network), prints its output, exits with its code.

use std::io::Write as _;
use std::time::Duration;

use crate::cmd::cluster::{ClusterRef, Conn};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Topology file, or the name of a cluster brought up before.
    pub cluster: String,
    /// Node name as in the topology.
    pub node: String,
    /// The command and its arguments (after `--`).
    #[arg(last = true, required = true)]
    pub command: Vec<String>,
    #[command(flatten)]
    pub conn: Conn,
    /// Seconds to wait for the command.
    #[arg(long, default_value_t = 600)]
    pub timeout: u64,
}

/// Ok(exit code of the guest command).
pub fn run(args: &Args) -> anyhow::Result<u8> {
    let c = ClusterRef::resolve(&args.cluster, &args.conn)?;
    let plan = c.require_plan()?;
    let lv = args.conn.connect()?;
    let argv: Vec<&str> = args.command.iter().map(String::as_str).collect();
    let out = lk_engine::exec(
        &lv,
        plan,
        &args.node,
        &argv,
        Duration::from_secs(args.timeout),
    )?;
    std::io::stdout().write_all(out.stdout.as_bytes())?;
    std::io::stderr().write_all(out.stderr.as_bytes())?;
    Ok(u8::try_from(out.exit_code.clamp(0, 255)).unwrap_or(1))
}
