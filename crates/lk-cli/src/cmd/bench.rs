//! `lustrekit bench CLUSTER KIND` (lnet-selftest, obdfilter-survey, fio, ior, mdtest) and
//! `lustrekit bench compare RUN.json...`: each run is parsed strictly (lk-results), written as
//! JSON with a Markdown report, an SVG plot and a self-contained HTML report (the plot inline),
//! named by cluster, kind, Lustre version, topology hash and time.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use lk_plan::benchenv::{BenchKind, BenchParams};
use lk_results::bench::{self, BenchRun, Metric};
use sha2::{Digest as _, Sha256};

use crate::cmd::cluster::{ClusterRef, Conn};

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    pub compare: Option<Compare>,
    /// Topology file, or the name of a cluster brought up before.
    pub cluster: Option<String>,
    /// lnet-selftest, obdfilter-survey, fio, ior or mdtest.
    pub kind: Option<String>,
    #[command(flatten)]
    pub params: Params,
    /// ior, mdtest: a host binary of the tool (built against openmpi, as on Debian 12) that
    /// lustrekit copies into the cluster's shared folder and runs; without it the client's
    /// PATH must have the tool. Either way the image needs openmpi-bin.
    #[arg(long, value_name = "HOST_PATH")]
    pub tool_bin: Option<PathBuf>,
    /// Seconds each measurement may take.
    #[arg(long, default_value_t = 1800)]
    pub timeout: u64,
    #[command(flatten)]
    pub conn: Conn,
}

#[derive(Debug, clap::Subcommand)]
pub enum Compare {
    /// Put runs of one benchmark side by side: Markdown table with deltas and ratios against
    /// the first run, an SVG plot, and the same as one HTML file.
    Compare {
        /// run.json files written by `lustrekit bench`.
        #[arg(required = true, num_args = 2..)]
        runs: Vec<PathBuf>,
        /// Where compare.md, compare.svg and compare.html go.
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
    /// Read a run folder's raw tool outputs again with this lustrekit's parsers and rewrite its
    /// run.json, report and plot (the run's identity and parameters are kept).
    Reparse {
        /// A run folder written by `lustrekit bench` (run.json and KIND-LABEL.out files).
        dir: PathBuf,
    },
}

#[derive(Debug, clap::Args)]
pub struct Params {
    /// lst: seconds between samples.
    #[arg(long, default_value_t = 5)]
    pub lst_delay: u32,
    /// lst: number of samples.
    #[arg(long, default_value_t = 3)]
    pub lst_count: u32,
    /// lst: RPCs in flight per client.
    #[arg(long, default_value_t = 4)]
    pub lst_concurrency: u32,
    /// obdfilter-survey: MiB written and read per OST.
    #[arg(long, default_value_t = 512)]
    pub survey_size: u32,
    /// obdfilter-survey: most threads per OST.
    #[arg(long, default_value_t = 2)]
    pub survey_threads: u32,
    /// fio: bytes per job (fio's size syntax).
    #[arg(long, default_value = "128M")]
    pub fio_size: String,
    /// fio: seconds of random I/O.
    #[arg(long, default_value_t = 20)]
    pub fio_runtime: u32,
    /// ior, mdtest: MPI ranks (processes) on the client.
    #[arg(long, default_value_t = 2)]
    pub ranks: u32,
    /// ior: bytes each rank writes and reads (ior's -b: digits and k, m or g).
    #[arg(long, default_value = "16m")]
    pub ior_block_size: String,
    /// ior: bytes per transfer (ior's -t); the block size must be a multiple of it.
    #[arg(long, default_value = "1m")]
    pub ior_transfer_size: String,
    /// mdtest: files and directories each rank creates, stats, reads and removes (mdtest's -n).
    #[arg(long, default_value_t = 100)]
    pub mdtest_items: u32,
}

impl Params {
    fn to_plan(&self) -> BenchParams {
        BenchParams {
            lst_delay: self.lst_delay,
            lst_count: self.lst_count,
            lst_concurrency: self.lst_concurrency,
            survey_size_mib: self.survey_size,
            survey_threads: self.survey_threads,
            fio_size: self.fio_size.clone(),
            fio_runtime_s: self.fio_runtime,
            mpi_ranks: self.ranks,
            ior_block_size: self.ior_block_size.clone(),
            ior_transfer_size: self.ior_transfer_size.clone(),
            mdtest_items: self.mdtest_items,
            ..BenchParams::default()
        }
    }
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    match &args.compare {
        Some(Compare::Compare { runs, out }) => return compare(runs, out),
        Some(Compare::Reparse { dir }) => return reparse(dir),
        None => {}
    }
    let (Some(cluster), Some(kind)) = (&args.cluster, &args.kind) else {
        anyhow::bail!(
            "usage: lustrekit bench CLUSTER KIND, or lustrekit bench compare RUN.json..."
        );
    };
    let kind: BenchKind = kind.parse()?;
    let params = args.params.to_plan();
    lk_plan::benchenv::check_params(kind, &params)?;
    let tool = tool_bin(kind, args.tool_bin.as_deref())?;
    let c = ClusterRef::resolve(cluster, &args.conn)?;
    let plan = c.require_plan()?;
    lk_plan::benchenv::nodes(plan, kind)?;
    lk_engine::suite::check_up(plan, &c.dir())?;
    let lv = args.conn.connect()?;
    let started = crate::cmd::results::timestamp();
    let progress = |l: &str| eprintln!("  {l}");
    let opts = lk_engine::suite::SuiteOptions {
        timeout: Duration::from_secs(args.timeout),
        cancel: crate::signals::install()?,
        run_name: format!("{kind}-{}", started.replace(':', "")),
        progress: &progress,
    };
    eprintln!("bench: {kind} on {}", plan.cluster);
    let bin = args.tool_bin.as_deref();
    let outcome = lk_engine::bench::run_bench(&lv, plan, &c.dir(), kind, &params, bin, &opts)?;
    let mut run = BenchRun::new(
        result_kind(kind),
        &plan.cluster,
        topology_hash(plan)?,
        &outcome.lustre_version,
        &started,
    )?;
    run.parameters = parameters(kind, &params);
    if let Some(t) = tool {
        run.parameters.insert("tool".into(), t);
    }
    run.metrics = metrics(kind, &outcome.outputs, &mut run.parameters)?;
    run.validate()?;
    write_run(&run, &outcome.dir)
}

fn result_kind(k: BenchKind) -> bench::BenchKind {
    match k {
        BenchKind::LnetSelftest => bench::BenchKind::LnetSelftest,
        BenchKind::ObdfilterSurvey => bench::BenchKind::ObdfilterSurvey,
        BenchKind::Fio => bench::BenchKind::Fio,
        BenchKind::Ior => bench::BenchKind::Ior,
        BenchKind::Mdtest => bench::BenchKind::Mdtest,
    }
}

/// Checks `--tool-bin` before anything runs: only for ior and mdtest, and a readable ELF
/// executable (what the client can run). Returns how the run gets its tool, for its
/// parameters: the client's PATH, or the binary's name and SHA-256.
fn tool_bin(kind: BenchKind, path: Option<&Path>) -> anyhow::Result<Option<String>> {
    let Some(path) = path else {
        return Ok(kind.is_mpi().then(|| "the client's PATH".to_string()));
    };
    if !kind.is_mpi() {
        return Err(lk_plan::benchenv::BenchEnvError::BadParam {
            flag: "--tool-bin",
            value: path.display().to_string(),
            rule: "only ior and mdtest run a binary from the host",
        }
        .into());
    }
    let cannot = || {
        format!(
            "--tool-bin {}: cannot read the {kind} binary",
            path.display()
        )
    };
    let meta = std::fs::metadata(path).with_context(cannot)?;
    if !meta.is_file() || meta.len() > 1 << 30 {
        anyhow::bail!(
            "--tool-bin {}: not a regular file of at most 1 GiB (give the {kind} binary itself)",
            path.display()
        );
    }
    let bytes = std::fs::read(path).with_context(cannot)?;
    if !bytes.starts_with(b"\x7fELF") {
        anyhow::bail!(
            "--tool-bin {}: not an ELF executable (give the {kind} binary itself, built against \
             openmpi; a libtool wrapper script does not run on the client)",
            path.display()
        );
    }
    let sha: String = Sha256::digest(&bytes)
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    Ok(Some(format!("--tool-bin {name} (sha256 {sha}...)")))
}

/// Hash of the plan's resources and scripts: two runs with the same hash ran on the same layout.
fn topology_hash(plan: &lk_plan::Plan) -> anyhow::Result<String> {
    let mut p = plan.clone();
    // The state folder moves with --state-dir; the layout does not.
    p.resources.shared.host_path.clear();
    let json = serde_json::to_vec(&(&p.resources.domains, &p.resources.volumes, &p.files))?;
    Ok(Sha256::digest(&json)
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect())
}

fn parameters(kind: BenchKind, p: &BenchParams) -> std::collections::BTreeMap<String, String> {
    let kv: Vec<(&str, String)> = match kind {
        BenchKind::LnetSelftest => vec![
            ("delay_s", p.lst_delay.to_string()),
            ("samples", p.lst_count.to_string()),
            ("concurrency", p.lst_concurrency.to_string()),
            ("size", p.lst_size.clone()),
        ],
        BenchKind::ObdfilterSurvey => vec![
            ("size_mib", p.survey_size_mib.to_string()),
            ("objects", p.survey_objects.to_string()),
            ("threads", p.survey_threads.to_string()),
        ],
        BenchKind::Fio => vec![
            ("size", p.fio_size.clone()),
            ("random_runtime_s", p.fio_runtime_s.to_string()),
        ],
        BenchKind::Ior => vec![
            ("ranks", p.mpi_ranks.to_string()),
            ("block_size", p.ior_block_size.clone()),
            ("transfer_size", p.ior_transfer_size.clone()),
            ("access", "file-per-process".to_string()),
        ],
        BenchKind::Mdtest => vec![
            ("ranks", p.mpi_ranks.to_string()),
            ("items_per_rank", p.mdtest_items.to_string()),
        ],
    };
    kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Parses every output strictly; metric names get the output's label (lst batch, or node)
/// in front so runs on several nodes stay apart.
fn metrics(
    kind: BenchKind,
    outputs: &[lk_engine::bench::BenchOutput],
    params: &mut std::collections::BTreeMap<String, String>,
) -> anyhow::Result<Vec<Metric>> {
    let mut all = Vec::new();
    for o in outputs {
        let ms = match kind {
            BenchKind::LnetSelftest => bench::parse_lst_stat(&o.text)
                .with_context(|| format!("lst stat output of {} ({})", o.node, o.label))?
                .metrics(),
            BenchKind::ObdfilterSurvey => {
                let survey = bench::parse_obdfilter_survey(&o.text)
                    .with_context(|| format!("obdfilter-survey output of {}", o.node))?;
                if let Some(row) = survey.rows.first() {
                    params.insert(format!("{} osts", o.node), row.osts.to_string());
                }
                survey.metrics()
            }
            BenchKind::Fio => bench::parse_fio_json(&o.text)
                .with_context(|| format!("fio output of {}", o.node))?
                .metrics(),
            BenchKind::Ior => {
                let ior = bench::parse_ior_json(&o.text)
                    .with_context(|| format!("ior output of {}", o.node))?;
                params.insert("ior_version".into(), ior.version.clone());
                ior.metrics()
            }
            BenchKind::Mdtest => {
                let md = bench::parse_mdtest(&o.text)
                    .with_context(|| format!("mdtest output of {}", o.node))?;
                params.insert("mdtest_version".into(), md.version.clone());
                md.metrics()
            }
        };
        let prefix = match kind {
            BenchKind::Fio | BenchKind::Ior | BenchKind::Mdtest if outputs.len() == 1 => None,
            _ => Some(&o.label),
        };
        for mut m in ms {
            if let Some(p) = prefix {
                m.name = format!("{p} {}", m.name);
            }
            all.push(m);
        }
    }
    Ok(all)
}

fn write_run(run: &BenchRun, dir: &Path) -> anyhow::Result<()> {
    let stem = run.file_stem();
    let json = dir.join("run.json");
    std::fs::write(&json, run.to_json()?).with_context(|| format!("write {}", json.display()))?;
    let failed: Vec<String> = run
        .metrics
        .iter()
        .filter_map(|m| m.failure.as_ref().map(|f| format!("{}: {f}", m.name)))
        .collect();
    // A run whose every metric failed has nothing to plot; its report still says why.
    let svg = if failed.len() < run.metrics.len() {
        let svg = lk_results::report::render_run_svg(run)?;
        write(&dir.join(format!("{stem}.svg")), &svg)?;
        Some(svg)
    } else {
        None
    };
    let plot = svg.as_ref().map(|_| format!("{stem}.svg"));
    let md = dir.join(format!("{stem}.md"));
    let text = lk_results::report::run_markdown(run, plot.as_deref());
    write(&md, &text)?;
    let html = dir.join(format!("{stem}.html"));
    write(&html, &lk_results::report::run_html(run, svg.as_deref()))?;
    println!("{text}");
    eprintln!(
        "bench: {} metric(s); {} (report {}, {})",
        run.metrics.len(),
        json.display(),
        md.display(),
        html.display()
    );
    if !failed.is_empty() {
        anyhow::bail!(
            "{} of {} metric(s) have no value: {}",
            failed.len(),
            run.metrics.len(),
            failed.join("; ")
        );
    }
    Ok(())
}

fn reparse(dir: &Path) -> anyhow::Result<()> {
    let json = dir.join("run.json");
    let text =
        std::fs::read_to_string(&json).with_context(|| format!("read {}", json.display()))?;
    let mut run = BenchRun::from_json(&text).with_context(|| format!("{}", json.display()))?;
    let kind: BenchKind = run.kind.as_str().parse()?;
    let prefix = format!("{kind}-");
    let mut outputs = Vec::new();
    let entries = std::fs::read_dir(dir).with_context(|| format!("read {}", dir.display()))?;
    for e in entries {
        let path = e?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if let Some(label) = name
            .strip_prefix(&prefix)
            .and_then(|n| n.strip_suffix(".out"))
        {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("read {}", path.display()))?;
            outputs.push(lk_engine::bench::BenchOutput {
                node: label.to_string(),
                label: label.to_string(),
                text,
            });
        }
    }
    if outputs.is_empty() {
        anyhow::bail!("{}: no {prefix}*.out raw output to parse", dir.display());
    }
    outputs.sort_by(|a, b| a.label.cmp(&b.label));
    if kind == BenchKind::LnetSelftest {
        // The order lustrekit runs them in: write, then read.
        outputs.reverse();
    }
    run.metrics = metrics(kind, &outputs, &mut run.parameters)?;
    run.validate()?;
    for old in std::fs::read_dir(dir)? {
        let p = old?.path();
        if p.extension()
            .is_some_and(|x| x == "md" || x == "svg" || x == "html")
        {
            std::fs::remove_file(&p).with_context(|| format!("remove {}", p.display()))?;
        }
    }
    write_run(&run, dir)
}

fn compare(runs: &[PathBuf], out: &Path) -> anyhow::Result<()> {
    let mut loaded = Vec::new();
    for p in runs {
        let text = std::fs::read_to_string(p).with_context(|| format!("read {}", p.display()))?;
        loaded.push(BenchRun::from_json(&text).with_context(|| format!("{}", p.display()))?);
    }
    let cmp = lk_results::report::compare(&loaded)?;
    std::fs::create_dir_all(out).with_context(|| format!("create {}", out.display()))?;
    let plot = lk_results::report::render_comparison_svg(&cmp)?;
    let svg = out.join("compare.svg");
    write(&svg, &plot)?;
    let md = out.join("compare.md");
    let text = cmp.to_markdown(Some("compare.svg"));
    write(&md, &text)?;
    let html = out.join("compare.html");
    write(&html, &cmp.to_html(Some(&plot)))?;
    println!("{text}");
    eprintln!(
        "bench compare: {} run(s); {}, {} and {}",
        loaded.len(),
        md.display(),
        svg.display(),
        html.display()
    );
    Ok(())
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("write {}", path.display()))
}
