//! `lustrekit logs CLUSTER [NODE]`: where a run's logs are and what they hold. `--gather`
//! first collects dmesg and `lctl dk` from the running nodes (as a failed stage does).

use std::io::Write as _;
use std::path::Path;

use crate::cmd::cluster::{ClusterRef, Conn};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Topology file, or the name of a cluster brought up before.
    pub cluster: String,
    /// Only this node; its console log is printed (last `--lines` lines).
    pub node: Option<String>,
    #[command(flatten)]
    pub conn: Conn,
    /// Collect dmesg and lctl dk from every running node first.
    #[arg(long)]
    pub gather: bool,
    /// Lines of the console log to show for one node.
    #[arg(long, default_value_t = 40)]
    pub lines: usize,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let c = ClusterRef::resolve(&args.cluster, &args.conn)?;
    let plan = c.require_plan()?;
    if args.gather {
        let lv = args.conn.connect()?;
        for p in lk_engine::stages::gather_logs(&lv, plan) {
            eprintln!("lustrekit: not gathered: {p}");
        }
    }
    let dir = lk_engine::shared::logs_dir(plan);
    let mut out = std::io::stdout().lock();
    writeln!(out, "Run folder: {}", dir.display())?;
    let nodes: Vec<&str> = match &args.node {
        Some(n) => {
            if !plan.nodes.iter().any(|p| &p.node == n) {
                anyhow::bail!("no node `{n}` in cluster {}", plan.cluster);
            }
            vec![n.as_str()]
        }
        None => plan.nodes.iter().map(|n| n.node.as_str()).collect(),
    };
    for n in &nodes {
        let nd = dir.join(n);
        let mut files: Vec<String> = std::fs::read_dir(&nd)
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        writeln!(
            out,
            "{n}: {}",
            if files.is_empty() {
                "(no logs yet)".into()
            } else {
                files.join(" ")
            }
        )?;
    }
    if let [n] = nodes.as_slice() {
        let console = dir.join(n).join("console.log");
        writeln!(
            out,
            "--- last {} lines of {}",
            args.lines,
            console.display()
        )?;
        writeln!(out, "{}", tail(&console, args.lines))?;
    }
    Ok(())
}

fn tail(p: &Path, n: usize) -> String {
    match std::fs::read(p) {
        Ok(b) => {
            let text = String::from_utf8_lossy(&b);
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(n)..].join("\n")
        }
        Err(e) => format!("(cannot read: {e})"),
    }
}
