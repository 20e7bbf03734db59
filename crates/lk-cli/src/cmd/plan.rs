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
    #[arg(long, default_value = crate::cmd::cluster::DEFAULT_STATE_DIR)]
    pub state_dir: String,
    /// Where to compile Lustre for `spec.lustre.source: build` (`auto` probes KVM).
    #[arg(long, value_enum, default_value_t = crate::cmd::build::BuildOnArg::Auto)]
    pub build_on: crate::cmd::build::BuildOnArg,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let t = topology_file::load(&args.file)?;
    crate::cmd::build::check_build_on(&t, args.build_on)?;
    // Only a build's placement depends on KVM; probe it only then (it boots a tiny guest).
    let probe_needed = matches!(t.lustre, lk_model::topology::LustreSource::Build { .. })
        && args.build_on == crate::cmd::build::BuildOnArg::Auto;
    let kvm = if probe_needed {
        match lk_libvirt::accel::probe_kvm() {
            lk_libvirt::accel::KvmProbe::Works => lk_plan::Kvm::Works,
            other => lk_plan::Kvm::Unavailable(other.describe()),
        }
    } else {
        lk_plan::Kvm::default()
    };
    let plan = lk_plan::plan(
        &t,
        &lk_plan::PlanOptions {
            state_dir: args.state_dir.clone(),
            build_on: args.build_on.into(),
            kvm,
        },
    );
    let out = match args.format {
        Format::Text => lk_plan::render::text(&plan),
        Format::Json => lk_plan::render::json(&plan)?,
    };
    std::io::stdout().write_all(out.as_bytes())?;
    Ok(())
}
