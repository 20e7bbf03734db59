use std::io::Write as _;
use std::path::PathBuf;

use crate::topology_file;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Topology file (YAML); `-` reads standard input.
    pub file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Where per-cluster pools and shared folders live on the host.
    #[arg(long, default_value = "/var/lib/lustrekit")]
    pub state_dir: String,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let t = topology_file::load(&args.file)?;
    let plan = lk_plan::plan(
        &t,
        &lk_plan::PlanOptions {
            state_dir: args.state_dir.clone(),
        },
    );
    let out = match args.format {
        Format::Text => lk_plan::render::text(&plan),
        Format::Json => lk_plan::render::json(&plan),
    };
    std::io::stdout().write_all(out.as_bytes())?;
    Ok(())
}
