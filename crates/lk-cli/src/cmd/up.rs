//! `lustrekit up`: infrastructure and readiness (unwound on failure or Ctrl-C), then the
//! guest stages up to `--until` (a failed stage keeps the infrastructure), then the table.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use lk_engine::{StageOptions, StageState, UpOptions};

use crate::cmd::build::{BuildOnArg, BuildOpts};
use crate::cmd::cluster::Conn;
use crate::cmd::status::{rows, Summary};
use crate::progress::Progress;
use crate::topology_file;

/// `--accel`: the flag's values (lk-libvirt's `AccelChoice` has no CLI concerns).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum AccelArg {
    #[default]
    Auto,
    Kvm,
    Tcg,
}

impl AccelArg {
    fn choice(self) -> lk_libvirt::AccelChoice {
        match self {
            AccelArg::Auto => lk_libvirt::AccelChoice::Auto,
            AccelArg::Kvm => lk_libvirt::AccelChoice::Kvm,
            AccelArg::Tcg => lk_libvirt::AccelChoice::Tcg,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Until {
    /// Networks, pool, volumes, VMs defined and started; readiness not awaited.
    Boot,
    /// Networks, pool, volumes, VMs booted and ready (guest agent, lease, shared folder).
    Infra,
    Install,
    Lnet,
    Format,
    Mount,
    Verify,
    /// Everything: the topology's services too (the same as `verify` without services).
    Services,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum From {
    Install,
    Lnet,
    Format,
    Mount,
    Verify,
    Services,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Topology file (YAML).
    pub file: PathBuf,
    #[command(flatten)]
    pub conn: Conn,
    /// Accelerator: KVM only when a KVM guest really runs here, else TCG.
    #[arg(long, value_enum, default_value_t = AccelArg::Auto)]
    pub accel: AccelArg,
    /// Last stage to run.
    #[arg(long, value_enum, default_value_t = Until::Services)]
    pub until: Until,
    /// Re-run the guest stages from this one (earlier stages must be done). Without it, `up`
    /// resumes at the first stage not done.
    #[arg(long, value_enum)]
    pub from: Option<From>,
    /// Most VMs created and booted at once (1 = sequential).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallel: u16,
    /// Seconds each node may take to become ready.
    #[arg(long, default_value_t = 600)]
    pub ready_timeout: u64,
    /// Seconds each guest phase may take on a node (the Lustre build gets 4 hours).
    #[arg(long, default_value_t = 1800)]
    pub phase_timeout: u64,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Where to compile Lustre for `spec.lustre.source: build`.
    #[arg(long, value_enum, default_value_t = BuildOnArg::Auto)]
    pub build_on: BuildOnArg,
    #[command(flatten)]
    pub build: BuildOpts,
}

fn stage(u: Until) -> Option<lk_plan::Stage> {
    use lk_plan::Stage as S;
    match u {
        Until::Boot | Until::Infra => None,
        Until::Install => Some(S::Install),
        Until::Lnet => Some(S::Lnet),
        Until::Format => Some(S::Format),
        Until::Mount => Some(S::Mount),
        Until::Verify => Some(S::Verify),
        Until::Services => Some(S::Services),
    }
}

fn from_stage(f: From) -> lk_plan::Stage {
    use lk_plan::Stage as S;
    match f {
        From::Install => S::Install,
        From::Lnet => S::Lnet,
        From::Format => S::Format,
        From::Mount => S::Mount,
        From::Verify => S::Verify,
        From::Services => S::Services,
    }
}

/// Fault-injection hooks for the crash tests (`LUSTREKIT_FAIL_AT`, `LUSTREKIT_HOLD_AT`).
fn env_step(var: &str) -> anyhow::Result<Option<usize>> {
    match std::env::var(var) {
        Ok(v) => {
            Ok(Some(v.parse().with_context(|| {
                format!("{var}={v:?}: expected a step number")
            })?))
        }
        Err(_) => Ok(None),
    }
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let t = topology_file::load(&args.file)?;
    crate::cmd::build::check_build_on(&t, args.build_on)?;
    let lv = args.conn.connect()?;
    let accel = lk_libvirt::accel::resolve(args.accel.choice(), lv.uri())?;
    let kvm = match accel.accel {
        lk_libvirt::Accel::Kvm => lk_plan::Kvm::Works,
        lk_libvirt::Accel::Tcg => lk_plan::Kvm::Unavailable(accel.reason.clone()),
    };
    let mut plan = lk_plan::plan(
        &t,
        &lk_plan::PlanOptions {
            build_on: args.build_on.into(),
            kvm,
            ..args.conn.plan_options()
        },
    );
    // A host build runs before any VM exists: a failed build leaves nothing to unwind.
    let host_build = plan
        .build
        .as_ref()
        .is_some_and(|b| b.place == lk_plan::BuildPlace::Host);
    if host_build && stage(args.until).is_some() {
        let out = crate::cmd::build::build_for(&t, &args.build)?;
        plan.resources
            .shared
            .imports
            .push(lk_plan::resources::Import {
                from: out.repo.to_string_lossy().into_owned(),
                to: "packages".into(),
                kind: lk_plan::resources::ImportKind::Repository,
            });
    }
    let cancel = crate::signals::install()?;
    let nodes: Vec<String> = plan.nodes.iter().map(|n| n.node.clone()).collect();
    let progress = Progress::new(&nodes, lk_engine::steps(&plan).len());
    progress.println(&format!(
        "up {}: {} node(s), accelerator {} ({})",
        plan.cluster,
        nodes.len(),
        lk_libvirt::accel::domain_type(accel.accel),
        accel.reason
    ));
    let opts = UpOptions {
        accel: accel.accel,
        wait_ready: args.until != Until::Boot,
        ready_timeout: Duration::from_secs(args.ready_timeout),
        parallel: usize::from(args.parallel),
        fail_at: env_step("LUSTREKIT_FAIL_AT")?,
        hold_at: env_step("LUSTREKIT_HOLD_AT")?,
        cancel: cancel.clone(),
        ..UpOptions::default()
    };
    let report = match lk_engine::up(&lv, &plan, &opts, &progress) {
        Ok(r) => r,
        Err(e) => {
            progress.finish();
            return Err(e.into());
        }
    };
    lk_engine::save_report(&plan, &report)?;
    if !plan.services.is_empty() {
        // The services run lustrekit-storage from the shared folder (guests lack libvirt).
        crate::cmd::in_cluster::place_binary(std::path::Path::new(
            &plan.resources.shared.host_path,
        ))?;
    }
    let stages_result = match stage(args.until) {
        None => Ok(Vec::new()),
        Some(until) => lk_engine::run_stages(
            &lv,
            &plan,
            &StageOptions {
                until,
                from: args.from.map(from_stage),
                phase_timeout: Duration::from_secs(args.phase_timeout),
                parallel: usize::from(args.parallel).max(8),
                cancel,
                ..StageOptions::default()
            },
            &progress,
        ),
    };
    progress.finish();
    let stages = StageState::load(&lk_engine::cluster_dir(&plan))?;
    let summary = Summary {
        cluster: plan.cluster.clone(),
        run: Some(report.run.clone()),
        seconds: Some(report.seconds),
        nodes: rows(&lv, &plan, Some(&report))?,
        stages,
        steps: report.steps.clone(),
        served: crate::cmd::status::served(&plan, &lk_engine::cluster_dir(&plan))?,
        services: crate::cmd::status::services(&plan),
    };
    summary.print(args.json)?;
    stages_result?;
    Ok(())
}
