//! `lustrekit bench`: runs one benchmark's scripts (lk-plan's `benchenv`) on the nodes it
//! needs of a cluster that is up, and hands back each node's raw tool output for the strict
//! parsers of lk-results. Nothing here interprets numbers.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lk_lustre::shell::quote;
use lk_plan::benchenv::{self, BenchKind, BenchParams, ToolBin};
use lk_plan::Plan;

use crate::suite::{give_to_guest, guest, SuiteError, SuiteOptions};

/// One node's output of one measurement (`label`: the node, or the node and the lst batch).
#[derive(Debug, Clone)]
pub struct BenchOutput {
    pub node: String,
    pub label: String,
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct BenchOutcome {
    /// Host path of the run folder, where the scripts and raw outputs stay.
    pub dir: PathBuf,
    pub outputs: Vec<BenchOutput>,
    /// `lctl get_param -n version` on the first node the benchmark ran on.
    pub lustre_version: String,
    pub seconds: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Env(#[from] benchenv::BenchEnvError),
    #[error(transparent)]
    Step(#[from] SuiteError),
    #[error("reading the cluster's stages")]
    Stages(#[source] Box<crate::Error>),
    #[error(
        "cluster {cluster} is not up: stage {stage} has not completed (run `lustrekit up` first)"
    )]
    NotUp {
        cluster: String,
        stage: &'static str,
    },
    #[error("cluster {cluster}'s plan names no client mount point (no MOUNT= in cfg/local.sh): bring it up again with this lustrekit")]
    NoMount { cluster: String },
    #[error("{action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> BenchError {
    let path = path.to_path_buf();
    move |source| BenchError::Io {
        action,
        path,
        source,
    }
}

/// Runs `kind` on the cluster. `tool_bin`: for ior and mdtest, a host binary to copy into the
/// run folder and run from there (otherwise the client's PATH has it).
pub fn run_bench(
    lv: &dyn crate::Provider,
    plan: &Plan,
    cluster_dir: &Path,
    kind: BenchKind,
    params: &BenchParams,
    tool_bin: Option<&Path>,
    opts: &SuiteOptions<'_>,
) -> Result<BenchOutcome, BenchError> {
    benchenv::check_params(kind, params)?;
    let nodes = benchenv::nodes(plan, kind)?;
    crate::suite::check_up(plan, cluster_dir)?;
    let shared = PathBuf::from(&plan.resources.shared.host_path);
    let rel = format!("logs/bench/{}", opts.run_name);
    let dir = shared.join(&rel);
    std::fs::create_dir_all(&dir).map_err(io("create", &dir))?;
    for p in [shared.join("logs/bench"), dir.clone()] {
        give_to_guest(&shared, &p)?;
    }
    let r = Runner {
        lv,
        plan,
        guest_dir: format!("{}/{rel}", plan.resources.shared.guest_path),
        shared,
        dir,
        opts,
    };
    let t0 = Instant::now();
    let first = nodes.run_on[0].clone();
    let version = r.run(
        &first,
        "bench-version",
        "lctl get_param -n version",
        Duration::from_secs(60),
    )?;
    let outputs = match kind {
        BenchKind::LnetSelftest => lnet_selftest(&r, &nodes, params)?,
        BenchKind::ObdfilterSurvey => {
            let s = r.script("obdfilter-survey", benchenv::survey_script(params), "")?;
            let mut outputs = Vec::new();
            for node in &nodes.run_on {
                (opts.progress)(&format!(
                    "{node}: obdfilter-survey ({} MiB per OST)",
                    params.survey_size_mib
                ));
                let text = r.run(node, "bench-survey", &s, opts.timeout)?;
                outputs.push(BenchOutput {
                    node: node.clone(),
                    label: node.clone(),
                    text,
                });
            }
            outputs
        }
        BenchKind::Fio => vec![fio(&r, &first, params)?],
        BenchKind::Ior | BenchKind::Mdtest => vec![mpi(&r, &first, kind, params, tool_bin)?],
    };
    for o in &outputs {
        let p = r.dir.join(format!("{}-{}.out", kind, o.label));
        std::fs::write(&p, &o.text).map_err(io("write", &p))?;
    }
    Ok(BenchOutcome {
        dir: r.dir,
        outputs,
        lustre_version: version.trim().to_string(),
        seconds: t0.elapsed().as_secs_f64(),
    })
}

fn lnet_selftest(
    r: &Runner<'_>,
    nodes: &benchenv::BenchNodes,
    params: &BenchParams,
) -> Result<Vec<BenchOutput>, BenchError> {
    let first = &nodes.run_on[0];
    for node in &nodes.selftest {
        (r.opts.progress)(&format!("{node}: loading lnet_selftest"));
        r.run(
            node,
            "bench-modprobe",
            "modprobe lnet_selftest",
            Duration::from_secs(120),
        )?;
    }
    let mut outputs = Vec::new();
    for op in ["write", "read"] {
        let s = r.script(
            &format!("lst-{op}"),
            benchenv::lst_script(nodes, params, op),
            "",
        )?;
        (r.opts.progress)(&format!(
            "{first}: lst bulk {op}, {} samples of {} s",
            params.lst_count, params.lst_delay
        ));
        let text = r.run(first, "bench-lst", &s, r.opts.timeout)?;
        outputs.push(BenchOutput {
            node: first.clone(),
            label: op.into(),
            text,
        });
    }
    Ok(outputs)
}

/// fio on the first client's mount; its JSON goes to a file of the run folder.
fn fio(r: &Runner<'_>, first: &str, params: &BenchParams) -> Result<BenchOutput, BenchError> {
    let mount = client_mount(r.plan)?;
    let json = format!("fio-{first}.json");
    let out = quote(&format!("{}/{json}", r.guest_dir));
    let s = r.script("fio", benchenv::fio_script(r.plan, &mount, params), &out)?;
    (r.opts.progress)(&format!(
        "{first}: fio on {mount} (streaming 1 MiB, random 4 KiB)"
    ));
    r.run(first, "bench-fio", &s, r.opts.timeout)?;
    let host = r.dir.join(&json);
    let text = std::fs::read_to_string(&host).map_err(io("read", &host))?;
    Ok(BenchOutput {
        node: first.to_string(),
        label: first.to_string(),
        text,
    })
}

/// ior or mdtest under mpirun on the first client; the binary from the client's PATH or
/// copied from the host into the run folder.
fn mpi(
    r: &Runner<'_>,
    node: &str,
    kind: BenchKind,
    params: &BenchParams,
    tool_bin: Option<&Path>,
) -> Result<BenchOutput, BenchError> {
    let mount = client_mount(r.plan)?;
    let name = kind.as_str();
    let tool = match tool_bin {
        None => ToolBin::OnPath,
        Some(host) => {
            let dest = r.dir.join(name);
            std::fs::copy(host, &dest).map_err(io("copy the --tool-bin binary", host))?;
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::Permissions::from_mode(0o755);
            std::fs::set_permissions(&dest, mode).map_err(io("chmod", &dest))?;
            give_to_guest(&r.shared, &dest)?;
            ToolBin::Shared {
                guest_path: format!("{}/{name}", r.guest_dir),
            }
        }
    };
    let text = if kind == BenchKind::Ior {
        let json = format!("ior-{node}.json");
        let out = quote(&format!("{}/{json}", r.guest_dir));
        let text = benchenv::ior_script(r.plan, node, &mount, params, &tool);
        let s = r.script("ior", text, &out)?;
        (r.opts.progress)(&format!(
            "{node}: ior on {mount} ({} rank(s), {} each in {} transfers)",
            params.mpi_ranks, params.ior_block_size, params.ior_transfer_size
        ));
        r.run(node, "bench-ior", &s, r.opts.timeout)?;
        let host = r.dir.join(&json);
        std::fs::read_to_string(&host).map_err(io("read", &host))?
    } else {
        let text = benchenv::mdtest_script(r.plan, node, &mount, params, &tool);
        let s = r.script("mdtest", text, "")?;
        (r.opts.progress)(&format!(
            "{node}: mdtest on {mount} ({} rank(s), {} items each)",
            params.mpi_ranks, params.mdtest_items
        ));
        r.run(node, "bench-mdtest", &s, r.opts.timeout)?
    };
    Ok(BenchOutput {
        node: node.to_string(),
        label: node.to_string(),
        text,
    })
}

/// The run folder and how to run a script of it on a node.
struct Runner<'a> {
    lv: &'a dyn crate::Provider,
    plan: &'a Plan,
    shared: PathBuf,
    dir: PathBuf,
    guest_dir: String,
    opts: &'a SuiteOptions<'a>,
}

impl Runner<'_> {
    /// Writes `NAME.sh` into the run folder; returns the guest command that runs it, with its
    /// progress (stderr) kept in `NAME.err` so stdout is the tool's output alone.
    fn script(&self, name: &str, text: String, args: &str) -> Result<String, BenchError> {
        let p = self.dir.join(format!("{name}.sh"));
        std::fs::write(&p, text).map_err(io("write", &p))?;
        let g = &self.guest_dir;
        Ok(format!("/bin/bash {g}/{name}.sh {args} 2>{g}/{name}.err || {{ rc=$?; cat {g}/{name}.err; exit $rc; }}; true"))
    }

    fn run(
        &self,
        node: &str,
        step: &'static str,
        cmd: &str,
        timeout: Duration,
    ) -> Result<String, BenchError> {
        Ok(guest(
            self.lv,
            self.plan,
            node,
            step,
            cmd,
            &self.shared,
            timeout,
            self.opts,
        )?)
    }
}

/// The first client's mount point, as the plan's `cfg/local.sh` names it (the plan keeps
/// files and commands, not the model).
fn client_mount(plan: &Plan) -> Result<String, BenchError> {
    plan.files
        .get("cfg/local.sh")
        .and_then(|l| {
            l.lines()
                .find_map(|x| x.strip_prefix("MOUNT="))
                .map(|v| v.trim_matches('\'').to_string())
        })
        .ok_or_else(|| BenchError::NoMount {
            cluster: plan.cluster.clone(),
        })
}
