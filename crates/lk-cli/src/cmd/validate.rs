use std::io::Write as _;
use std::path::PathBuf;

use crate::topology_file;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Topology file (YAML); `-` reads standard input.
    pub file: PathBuf,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let t = topology_file::load(&args.file)?;
    let targets = 1 + t.mdts.len() + t.osts.len();
    writeln!(
        anstream::stdout(),
        "{}: valid: cluster {}, filesystem {}, {} nodes, {} networks, {targets} targets ({} MDT, {} OST), {} clients",
        args.file.display(),
        t.name,
        t.fsname,
        t.nodes.len(),
        t.networks.len(),
        t.mdts.len(),
        t.osts.len(),
        t.clients.len()
    )?;
    Ok(())
}
