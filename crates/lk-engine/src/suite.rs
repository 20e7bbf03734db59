//! `lustrekit test`: runs one of Lustre's own test suites (auster) on a cluster that is up.
//! Every node is prepared first (lk-plan's `prep.sh`), then the suite runs on the first
//! client; its log and `results.yml` land in a run folder of the shared folder, which the
//! host reads directly. What the results mean is the caller's business (lk-results).

use std::io::{BufRead as _, Seek as _};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use lk_lustre::shell::quote;
use lk_plan::testenv::{self, SuiteRequest, TestEnv, TEST_DIR};
use lk_plan::{Plan, Stage};

use crate::provider::{Provider, ProviderError, Watch};
use crate::stages::{domain_of, StageState};
use crate::Cancel;

#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    #[error(transparent)]
    Env(#[from] testenv::TestEnvError),
    #[error("cluster {cluster} is not up: stage {stage} has not completed (run `lustrekit up` first; `lustrekit status {cluster}` shows the stages)")]
    NotUp {
        cluster: String,
        stage: &'static str,
    },
    #[error("reading the cluster's stages")]
    Stages(#[source] Box<crate::Error>),
    #[error("{action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("ssh-keygen on the host failed ({detail}); it makes the cluster's test key (Debian: openssh-client)")]
    Keygen { detail: String },
    #[error("node {node}: {step} failed (exit {exit_code}): {detail}; log: {}", log.display())]
    Node {
        node: String,
        step: &'static str,
        exit_code: i64,
        detail: String,
        log: PathBuf,
    },
    #[error("node {node}: {step}")]
    Provider {
        node: String,
        step: &'static str,
        #[source]
        source: Box<ProviderError>,
    },
    #[error("interrupted while {during}")]
    Interrupted { during: String },
}

/// How a suite run went, as far as the engine knows: the framework's exit code and where
/// everything is. `results` may be missing when auster died before writing it.
#[derive(Debug, Clone)]
pub struct SuiteOutcome {
    pub runner: String,
    /// Host path of the run folder (auster's log directory).
    pub dir: PathBuf,
    pub results: PathBuf,
    pub log: PathBuf,
    pub exit_code: i64,
    pub seconds: f64,
    /// Why the suite did not finish (timeout, lost guest agent); it was stopped on the
    /// runner, and whatever results.yml holds is still the run's result.
    pub unfinished: Option<String>,
}

pub struct SuiteOptions<'a> {
    pub timeout: Duration,
    pub cancel: Cancel,
    /// Run folder name under `logs/tests/` (the caller names it by suite and time).
    pub run_name: String,
    /// Progress lines: preparation steps and the framework's per-subtest lines.
    pub progress: &'a (dyn Fn(&str) + Sync),
}

/// Checks, prepares every node, runs the suite. Refuses before anything runs when the
/// cluster is not up or the suite cannot run on it.
pub fn run_suite(
    lv: &dyn Provider,
    plan: &Plan,
    cluster_dir: &Path,
    req: &SuiteRequest,
    opts: &SuiteOptions<'_>,
) -> Result<SuiteOutcome, SuiteError> {
    let env = testenv::environment(plan, req.suite)?;
    check_up(plan, cluster_dir)?;
    let shared = PathBuf::from(&plan.resources.shared.host_path);
    write_files(plan, &env, req, &shared)?;
    prepare_nodes(lv, plan, &env, &shared, opts)?;
    check_ssh(lv, plan, &env, &shared, opts)?;
    run(lv, plan, &env, &shared, opts)
}

/// Refuses a cluster whose Lustre is not mounted yet (by its recorded stages; no VM is asked).
pub fn check_up(plan: &Plan, cluster_dir: &Path) -> Result<(), SuiteError> {
    let stages = StageState::load(cluster_dir).map_err(|e| SuiteError::Stages(Box::new(e)))?;
    for stage in [Stage::Install, Stage::Lnet, Stage::Format, Stage::Mount] {
        if !stages.is_done(stage) {
            return Err(SuiteError::NotUp {
                cluster: plan.cluster.clone(),
                stage: stage.as_str(),
            });
        }
    }
    Ok(())
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> SuiteError {
    let path = path.to_path_buf();
    move |source| SuiteError::Io {
        action,
        path,
        source,
    }
}

/// The scripts, and the cluster's ssh key (made once per cluster, on the host).
fn write_files(
    plan: &Plan,
    env: &TestEnv,
    req: &SuiteRequest,
    shared: &Path,
) -> Result<(), SuiteError> {
    let dir = shared.join(TEST_DIR);
    let ssh = dir.join("ssh");
    std::fs::create_dir_all(&ssh).map_err(io("create", &ssh))?;
    for (name, text) in [
        ("prep.sh", testenv::prep_script(plan, env)),
        ("run.sh", testenv::run_script(plan, req)),
    ] {
        let p = dir.join(name);
        std::fs::write(&p, text).map_err(io("write", &p))?;
    }
    let key = ssh.join("id_ed25519");
    if !key.is_file() {
        let out = std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C"])
            .arg(format!("lustrekit-test-{}", plan.cluster))
            .arg("-f")
            .arg(&key)
            .output()
            .map_err(|e| SuiteError::Keygen {
                detail: e.to_string(),
            })?;
        if !out.status.success() {
            return Err(SuiteError::Keygen {
                detail: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
    }
    // QEMU serves the shared folder as its own user: the key must be that user's to be
    // readable in the guest (it stays unreadable to anyone else on the host).
    for p in [&dir, &ssh, &key, &ssh.join("id_ed25519.pub")] {
        give_to_guest(shared, p)?;
    }
    Ok(())
}

/// Hands a host-made file or folder of the shared folder to the user QEMU serves it as.
pub(crate) fn give_to_guest(shared: &Path, p: &Path) -> Result<(), SuiteError> {
    let owner = std::fs::metadata(shared).map_err(io("stat", shared))?;
    std::os::unix::fs::chown(p, Some(owner.uid()), Some(owner.gid())).map_err(io("chown", p))
}

/// Runs `prep.sh` on every node, in parallel (each is a separate VM).
fn prepare_nodes(
    lv: &dyn Provider,
    plan: &Plan,
    env: &TestEnv,
    shared: &Path,
    opts: &SuiteOptions<'_>,
) -> Result<(), SuiteError> {
    (opts.progress)(&format!(
        "preparing {} node(s) for the test framework",
        env.hosts.len()
    ));
    let results: Vec<Result<(), SuiteError>> = std::thread::scope(|s| {
        let handles: Vec<_> = env
            .hosts
            .keys()
            .map(|node| {
                s.spawn(move || {
                    let g = &plan.resources.shared.guest_path;
                    let cmd = format!("/bin/bash {g}/{TEST_DIR}/prep.sh {}", quote(node));
                    guest(
                        lv,
                        plan,
                        node,
                        "test-prep",
                        &cmd,
                        shared,
                        Duration::from_secs(900),
                        opts,
                    )
                    .map(|_| ())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| panic_error()))
            .collect()
    });
    results.into_iter().collect()
}

fn panic_error() -> Result<(), SuiteError> {
    Err(SuiteError::Interrupted {
        during: "preparing a node (a worker thread panicked)".into(),
    })
}

/// pdsh over ssh from the runner to every node, as the framework will use it.
fn check_ssh(
    lv: &dyn Provider,
    plan: &Plan,
    env: &TestEnv,
    shared: &Path,
    opts: &SuiteOptions<'_>,
) -> Result<(), SuiteError> {
    let nodes: Vec<&str> = env.hosts.keys().map(String::as_str).collect();
    (opts.progress)(&format!(
        "checking ssh and pdsh from {} to {}",
        env.runner,
        nodes.join(",")
    ));
    let cmd = format!(
        "out=$(pdsh -S -Rssh -w {} hostname 2>&1) || {{ echo \"$out\"; echo 'lustrekit: pdsh over ssh failed'; exit 1; }}; echo \"$out\"",
        quote(&nodes.join(","))
    );
    guest(
        lv,
        plan,
        &env.runner,
        "test-ssh",
        &cmd,
        shared,
        Duration::from_secs(300),
        opts,
    )?;
    Ok(())
}

fn run(
    lv: &dyn Provider,
    plan: &Plan,
    env: &TestEnv,
    shared: &Path,
    opts: &SuiteOptions<'_>,
) -> Result<SuiteOutcome, SuiteError> {
    let rel = format!("logs/tests/{}", opts.run_name);
    let dir = shared.join(&rel);
    std::fs::create_dir_all(&dir).map_err(io("create", &dir))?;
    for p in [shared.join("logs/tests"), dir.clone()] {
        give_to_guest(shared, &p)?;
    }
    let g = &plan.resources.shared.guest_path;
    let log = dir.join("auster.log");
    let cmd = format!("/bin/bash {g}/{TEST_DIR}/run.sh {g}/{rel} >{g}/{rel}/auster.log 2>&1");
    (opts.progress)(&format!("running on {}; log {}", env.runner, log.display()));
    let done = AtomicBool::new(false);
    let t0 = Instant::now();
    let ran = std::thread::scope(|s| {
        s.spawn(|| follow(&log, &done, opts.progress));
        let r = exec(lv, plan, &env.runner, &cmd, opts.timeout, opts);
        done.store(true, Ordering::Relaxed);
        r
    })
    .inspect_err(|_| stop_suite(lv, plan, &env.runner));
    // Interrupted: stop here. Any other failure to wait (a timeout): the partial results
    // are still the run's, reported as unfinished.
    let (exit_code, unfinished) = match ran {
        Ok(code) => (code, None),
        Err(e @ SuiteError::Interrupted { .. }) => return Err(e),
        Err(e) => (-1, Some(crate::chain(e))),
    };
    Ok(SuiteOutcome {
        runner: env.runner.clone(),
        results: dir.join("results.yml"),
        dir,
        log,
        exit_code,
        seconds: t0.elapsed().as_secs_f64(),
        unfinished,
    })
}

/// The guest agent does not stop what it started when we stop waiting (Ctrl-C, timeout): stop
/// auster and the suite script on the runner, best effort, so the cluster is not left running
/// a suite nobody reads.
fn stop_suite(lv: &dyn Provider, plan: &Plan, runner: &str) {
    if let Some(domain) = domain_of(plan, runner) {
        // `[a]uster`: the pattern must not match this very shell's command line (it did, and
        // pkill killed its own shell first: an interrupted sanity-lnet ran on to the end).
        // TERM, then KILL for shells that wait on a foreground command before acting on TERM.
        let cmd = "pat='[a]uster -f lustrekit|/usr/lib/lustre/tests/[a-z-]*\\.sh'; \
                   pkill -TERM -f \"$pat\"; sleep 3; pkill -KILL -f \"$pat\"; true";
        let _ = lv.exec(
            domain,
            &["/bin/bash", "-c", cmd],
            Duration::from_secs(60),
            Watch::none(),
        );
    }
}

/// Shows the framework's headline lines (subtest starts and results) as they are written.
fn follow(path: &Path, done: &AtomicBool, progress: &(dyn Fn(&str) + Sync)) {
    let mut pos = 0u64;
    let mut partial = String::new();
    loop {
        let finished = done.load(Ordering::Relaxed);
        if let Ok(mut f) = std::fs::File::open(path) {
            if f.seek(std::io::SeekFrom::Start(pos)).is_ok() {
                let mut r = std::io::BufReader::new(f);
                let mut line = String::new();
                while let Ok(n) = r.read_line(&mut line) {
                    if n == 0 {
                        break;
                    }
                    pos += n as u64;
                    if line.ends_with('\n') {
                        partial.push_str(&line);
                        let l = partial.trim_end();
                        if is_headline(l) {
                            progress(l);
                        }
                        partial.clear();
                    } else {
                        partial.push_str(&line);
                    }
                    line.clear();
                }
            }
        }
        if finished {
            return;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn is_headline(l: &str) -> bool {
    ["== ", "=== ", "PASS ", "FAIL ", "SKIP ", "lustrekit: "]
        .iter()
        .any(|p| l.starts_with(p))
}

/// Runs `cmd` on `node` (its output goes to `logs/<node>/<step>.log`); a non-zero exit is
/// an error naming the node, the step and the log.
#[allow(clippy::too_many_arguments)]
pub(crate) fn guest(
    lv: &dyn Provider,
    plan: &Plan,
    node: &str,
    step: &'static str,
    cmd: &str,
    shared: &Path,
    timeout: Duration,
    opts: &SuiteOptions<'_>,
) -> Result<String, SuiteError> {
    let g = &plan.resources.shared.guest_path;
    let wrapped = format!(
        "set -o pipefail; mkdir -p {g}/logs/{n}; {{ {cmd}; }} 2>&1 | tee {g}/logs/{n}/{step}.log",
        n = quote(node)
    );
    let log = shared.join("logs").join(node).join(format!("{step}.log"));
    let Some(domain) = domain_of(plan, node) else {
        return Err(SuiteError::Node {
            node: node.into(),
            step,
            exit_code: -1,
            detail: "no domain in the plan".into(),
            log,
        });
    };
    let cancelled = || opts.cancel.is_cancelled();
    let quiet = |_: &str| {};
    let watch = Watch {
        progress: &quiet,
        cancelled: &cancelled,
    };
    let out = lv
        .exec(domain, &["/bin/bash", "-c", &wrapped], timeout, watch)
        .map_err(|e| provider_error(node, step, e))?;
    if out.exit_code != 0 {
        return Err(SuiteError::Node {
            node: node.into(),
            step,
            exit_code: out.exit_code,
            detail: crate::stages::failure_detail(&out.stdout, &out.stderr),
            log,
        });
    }
    Ok(out.stdout)
}

/// Runs the suite itself: its exit code is a result, not an error.
fn exec(
    lv: &dyn Provider,
    plan: &Plan,
    node: &str,
    cmd: &str,
    timeout: Duration,
    opts: &SuiteOptions<'_>,
) -> Result<i64, SuiteError> {
    let Some(domain) = domain_of(plan, node) else {
        return Err(SuiteError::Interrupted {
            during: format!("finding node {node}'s domain"),
        });
    };
    let cancelled = || opts.cancel.is_cancelled();
    let quiet = |_: &str| {};
    let watch = Watch {
        progress: &quiet,
        cancelled: &cancelled,
    };
    lv.exec(domain, &["/bin/bash", "-c", cmd], timeout, watch)
        .map(|o| o.exit_code)
        .map_err(|e| provider_error(node, "suite", e))
}

fn provider_error(node: &str, step: &'static str, e: ProviderError) -> SuiteError {
    match e {
        ProviderError::Cancelled { .. } => SuiteError::Interrupted {
            during: format!("{step} on {node}"),
        },
        e => SuiteError::Provider {
            node: node.into(),
            step,
            source: Box::new(e),
        },
    }
}
