//! `up`'s guest half: the plan's phases, stage by stage (install → lnet → format → mount →
//! verify), each phase one script per node run through the guest agent, nodes of a phase in
//! parallel. Progress is kept in `<cluster>/stages.json`, so a re-run resumes at the first
//! stage not done; `--from` re-runs from an earlier one but never skips ahead. A failed phase
//! keeps the infrastructure (`down` removes it), gathers every node's logs into the run
//! folder and names the node, the script and the log.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::provider::{Provider, ProviderError, Watch};
use lk_plan::{Phase, PhaseName, Plan, Stage};
use serde::{Deserialize, Serialize};

use crate::error::{Error, NodeFailure};
pub use crate::guests::{gather_logs, teardown_guests};
use crate::observe::{Event, Observer};
use crate::{cluster_dir, Cancel, STAGES_FILE};

/// The guest stages of `up`, in order. `services` has phases only when the topology has
/// services; without them it is neither run nor recorded.
pub const STAGES: [Stage; 6] = [
    Stage::Install,
    Stage::Lnet,
    Stage::Format,
    Stage::Mount,
    Stage::Verify,
    Stage::Services,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StageStatus {
    Running,
    Done,
    Failed,
    Interrupted,
}

/// What happened to one stage, as kept in `stages.json` and shown by `status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageRecord {
    pub status: StageStatus,
    pub seconds: f64,
    /// Nodes that failed (empty unless failed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<NodeFailure>,
    /// Last line of each node's last phase output (verify results, for instance).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub results: BTreeMap<String, String>,
}

/// Stage progress of a cluster, keyed by stage (its name in `stages.json`; an unknown name
/// there is an error naming it and the valid ones).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StageState {
    pub stages: BTreeMap<Stage, StageRecord>,
}

impl StageState {
    /// The cluster's stage progress. No file means nothing ran yet; a damaged one is an
    /// error, never "nothing done" (that would re-format targets that hold data).
    pub fn load(cluster_dir: &Path) -> Result<StageState, Error> {
        let path = cluster_dir.join(STAGES_FILE);
        match std::fs::read(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(StageState::default()),
            Err(e) => Err(Error::io("read", &path)(e)),
            Ok(b) => {
                serde_json::from_slice(&b).map_err(|source| Error::Damaged { file: path, source })
            }
        }
    }

    fn save(&self, cluster_dir: &Path) -> Result<(), Error> {
        let path = cluster_dir.join(STAGES_FILE);
        let json = serde_json::to_vec_pretty(self).map_err(|source| Error::Json {
            action: "serialise",
            path: path.clone(),
            source,
        })?;
        crate::write_atomic(&path, &json)
    }

    pub fn status(&self, s: Stage) -> Option<StageStatus> {
        self.stages.get(&s).map(|r| r.status)
    }

    pub fn is_done(&self, s: Stage) -> bool {
        self.status(s) == Some(StageStatus::Done)
    }

    /// Whether anything may be mounted or formatted, so `down` unmounts first.
    pub fn touched_targets(&self) -> bool {
        [Stage::Format, Stage::Mount, Stage::Verify]
            .into_iter()
            .any(|s| self.status(s).is_some())
    }
}

/// Which stages to run: from `from` (or the first not done) through `until`. Never skips
/// ahead: every stage before the first one run must be done.
pub fn stages_to_run(
    state: &StageState,
    from: Option<Stage>,
    until: Stage,
) -> Result<Vec<Stage>, Error> {
    let start = match from {
        Some(f) => {
            if let Some(missing) = STAGES
                .into_iter()
                .take_while(|s| *s < f)
                .find(|s| !state.is_done(*s))
            {
                return Err(Error::StageOrder { from: f, missing });
            }
            f
        }
        None => match STAGES.into_iter().find(|s| !state.is_done(*s)) {
            Some(s) => s,
            None => return Ok(Vec::new()),
        },
    };
    Ok(STAGES
        .into_iter()
        .filter(|s| *s >= start && *s <= until)
        .collect())
}

#[derive(Debug, Clone)]
pub struct StageOptions {
    /// Last stage to run.
    pub until: Stage,
    /// Re-run from this stage (earlier stages must be done).
    pub from: Option<Stage>,
    /// Per phase and node; the build phase gets `build_timeout`.
    pub phase_timeout: Duration,
    pub build_timeout: Duration,
    pub parallel: usize,
    pub cancel: Cancel,
}

impl Default for StageOptions {
    fn default() -> Self {
        StageOptions {
            until: Stage::Services,
            from: None,
            phase_timeout: Duration::from_secs(1800),
            build_timeout: Duration::from_secs(4 * 3600),
            parallel: 8,
            cancel: Cancel::default(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StageTiming {
    pub stage: Stage,
    pub seconds: f64,
}

/// Runs the guest stages `opts` selects. The infrastructure must be up and ready.
pub fn run_stages(
    lv: &dyn Provider,
    plan: &Plan,
    opts: &StageOptions,
    obs: &dyn Observer,
) -> Result<Vec<StageTiming>, Error> {
    let dir = cluster_dir(plan);
    let mut state = StageState::load(&dir)?;
    let todo = stages_to_run(&state, opts.from, opts.until)?;
    // Re-running a stage invalidates it and everything after it.
    if let Some(first) = todo.first() {
        state.stages.retain(|k, _| k < first);
    }
    let mut timings = Vec::new();
    for stage in todo {
        if !plan.phases.iter().any(|p| p.stage == stage) {
            continue;
        }
        let t0 = Instant::now();
        let mut record = StageRecord {
            status: StageStatus::Running,
            seconds: 0.0,
            failures: Vec::new(),
            results: BTreeMap::new(),
        };
        state.stages.insert(stage, record.clone());
        state.save(&dir)?;
        let mut outcome = Ok(());
        for phase in plan.phases.iter().filter(|p| p.stage == stage) {
            match run_phase(lv, plan, phase, opts, obs) {
                Ok(results) => record.results.extend(results),
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            }
        }
        record.seconds = t0.elapsed().as_secs_f64();
        match outcome {
            Ok(()) => {
                record.status = StageStatus::Done;
                state.stages.insert(stage, record);
                state.save(&dir)?;
                obs.event(Event::StageDone {
                    stage,
                    seconds: t0.elapsed().as_secs_f64(),
                });
                timings.push(StageTiming {
                    stage,
                    seconds: t0.elapsed().as_secs_f64(),
                });
            }
            Err(e) => {
                record.status = match &e {
                    Error::Interrupted { .. } => StageStatus::Interrupted,
                    _ => StageStatus::Failed,
                };
                if let Error::Stage { failures, .. } = &e {
                    record.failures = failures.clone();
                }
                state.stages.insert(stage, record);
                state.save(&dir)?;
                if matches!(e, Error::Stage { .. }) {
                    gather_logs(lv, plan);
                }
                return Err(e);
            }
        }
    }
    Ok(timings)
}

pub(crate) fn domain_of<'p>(plan: &'p Plan, node: &str) -> Option<&'p str> {
    plan.nodes
        .iter()
        .find(|n| n.node == node)
        .map(|n| n.domain.as_str())
}

/// Runs one phase on its nodes in parallel. Returns each node's last output line; on
/// failure, every node that failed.
pub(crate) fn run_phase(
    lv: &dyn Provider,
    plan: &Plan,
    phase: &Phase,
    opts: &StageOptions,
    obs: &dyn Observer,
) -> Result<BTreeMap<String, String>, Error> {
    let timeout = if phase.name == PhaseName::Build {
        opts.build_timeout
    } else {
        opts.phase_timeout
    };
    let queue: Mutex<VecDeque<&String>> = Mutex::new(phase.nodes.iter().collect());
    let outcomes: Mutex<Vec<(String, Result<String, NodeFailure>)>> = Mutex::new(Vec::new());
    let interrupted = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..opts.parallel.clamp(1, phase.nodes.len().max(1)) {
            scope.spawn(|| {
                while let Some(node) = queue.lock().ok().and_then(|mut q| q.pop_front()) {
                    match run_script(lv, plan, phase, node, &[], timeout, opts, obs) {
                        Ok(r) => {
                            if let Ok(mut o) = outcomes.lock() {
                                o.push((node.clone(), r));
                            }
                        }
                        Err(e) => {
                            if let Ok(mut i) = interrupted.lock() {
                                i.get_or_insert(e);
                            }
                        }
                    }
                }
            });
        }
    });
    // Poisoned locks still hold what was pushed: losing it would turn failures into success.
    if let Some(e) = interrupted
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
    {
        return Err(e);
    }
    let mut results = BTreeMap::new();
    let mut failures = Vec::new();
    for (node, r) in outcomes
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
    {
        match r {
            Ok(line) => {
                results.insert(node, line);
            }
            Err(f) => failures.push(f),
        }
    }
    if failures.is_empty() {
        return Ok(results);
    }
    failures.sort_by(|a, b| a.node.cmp(&b.node));
    Err(Error::Stage {
        stage: phase.stage,
        phase: phase.name.to_string(),
        failures,
        logs: crate::shared::logs_dir(plan),
    })
}

/// Runs one phase's script on one node with `args`; a failure is an [`Error::Stage`] that
/// names the node, the script and its log.
pub fn run_on(
    lv: &dyn Provider,
    plan: &Plan,
    phase: &Phase,
    node: &str,
    args: &[&str],
    opts: &StageOptions,
    obs: &dyn Observer,
) -> Result<String, Error> {
    match run_script(lv, plan, phase, node, args, opts.phase_timeout, opts, obs)? {
        Ok(line) => Ok(line),
        Err(f) => Err(Error::Stage {
            stage: phase.stage,
            phase: phase.name.to_string(),
            failures: vec![f],
            logs: crate::shared::logs_dir(plan),
        }),
    }
}

/// Runs a node's script for `phase`; its output goes live to `logs/<node>/<phase>.log` in
/// the shared folder. Ok(Ok(last output line)) on exit 0; Ok(Err(failure)) when the script
/// failed or could not be run; Err(error) when interrupted.
#[allow(clippy::too_many_arguments)]
fn run_script(
    lv: &dyn Provider,
    plan: &Plan,
    phase: &Phase,
    node: &str,
    args: &[&str],
    timeout: Duration,
    opts: &StageOptions,
    obs: &dyn Observer,
) -> Result<Result<String, NodeFailure>, Error> {
    let shared = &plan.resources.shared;
    let script = phase.script(node);
    let phase_name = phase.name.to_string();
    let guest_script = format!("{}/{script}", shared.guest_path);
    let guest_log = format!("{}/logs/{node}/{}.log", shared.guest_path, phase.name);
    let host_log = PathBuf::from(&shared.host_path)
        .join("logs")
        .join(node)
        .join(format!("{}.log", phase.name));
    let failure = |exit_code, detail: String| NodeFailure {
        node: node.to_string(),
        script: script.clone(),
        exit_code,
        detail,
        log: host_log.clone(),
    };
    let Some(domain) = domain_of(plan, node) else {
        return Ok(Err(failure(
            -1,
            format!("node {node} has no domain in the plan"),
        )));
    };
    obs.event(Event::PhaseStart {
        stage: phase.stage,
        phase: &phase_name,
        node,
    });
    let t0 = Instant::now();
    let mut argv = vec![guest_script.clone()];
    argv.extend(args.iter().map(|a| a.to_string()));
    let cmd = format!(
        "set -o pipefail; mkdir -p \"$(dirname {log})\"; /bin/bash {script} 2>&1 | tee {log}",
        log = lk_lustre::shell::quote(&guest_log),
        script = lk_lustre::shell::join(&argv),
    );
    let cancelled = || opts.cancel.is_cancelled();
    let progress = |_: &str| {};
    let watch = Watch {
        progress: &progress,
        cancelled: &cancelled,
    };
    let out = lv.exec(domain, &["/bin/bash", "-c", &cmd], timeout, watch);
    let out = match out {
        Ok(o) => o,
        Err(ProviderError::Cancelled { .. }) => {
            return Err(Error::Interrupted {
                during: format!("phase {} on node {node}", phase.name),
            })
        }
        Err(e) => return Ok(Err(failure(-1, crate::chain(e)))),
    };
    obs.event(Event::PhaseDone {
        stage: phase.stage,
        phase: &phase_name,
        node,
        seconds: t0.elapsed().as_secs_f64(),
        exit_code: out.exit_code,
    });
    if out.exit_code == 0 {
        // The script's `result:` line when it has one (verify), else its last line.
        let lines: Vec<&str> = out
            .stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        let last = lines
            .iter()
            .rev()
            .find(|l| l.contains("] result: "))
            .or(lines.last())
            .copied();
        return Ok(Ok(last.unwrap_or("").to_string()));
    }
    Ok(Err(failure(
        out.exit_code,
        failure_detail(&out.stdout, &out.stderr),
    )))
}

/// What to show of a failed script: its own `lustrekit:` messages when it printed any (they
/// say what is missing and how to provide it), else its last lines.
pub fn failure_detail(stdout: &str, stderr: &str) -> String {
    let all: Vec<&str> = stdout.lines().chain(stderr.lines()).collect();
    let own: Vec<&str> = all
        .iter()
        .copied()
        .filter(|l| l.starts_with("lustrekit: "))
        .collect();
    if !own.is_empty() {
        return own.join("\n");
    }
    let tail: Vec<&str> = all.iter().rev().take(10).rev().copied().collect();
    tail.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(stages: &[Stage]) -> StageState {
        let mut s = StageState::default();
        for st in stages {
            s.stages.insert(
                *st,
                StageRecord {
                    status: StageStatus::Done,
                    seconds: 1.0,
                    failures: Vec::new(),
                    results: BTreeMap::new(),
                },
            );
        }
        s
    }

    #[test]
    fn a_fresh_cluster_runs_every_stage_up_to_until() {
        let s = StageState::default();
        assert_eq!(
            stages_to_run(&s, None, Stage::Services).ok(),
            Some(STAGES.to_vec())
        );
        assert_eq!(
            stages_to_run(&s, None, Stage::Verify).ok(),
            Some(STAGES[..5].to_vec())
        );
        assert_eq!(
            stages_to_run(&s, None, Stage::Lnet).ok(),
            Some(vec![Stage::Install, Stage::Lnet])
        );
    }

    #[test]
    fn a_rerun_resumes_at_the_first_stage_not_done() {
        let s = done(&[Stage::Install, Stage::Lnet]);
        assert_eq!(
            stages_to_run(&s, None, Stage::Verify).ok(),
            Some(vec![Stage::Format, Stage::Mount, Stage::Verify])
        );
        assert!(!s.touched_targets());
        let all = done(&STAGES);
        assert_eq!(stages_to_run(&all, None, Stage::Verify).ok(), Some(vec![]));
    }

    #[test]
    fn from_reruns_done_stages_but_never_skips_ahead() {
        let s = done(&[Stage::Install, Stage::Lnet, Stage::Format]);
        assert_eq!(
            stages_to_run(&s, Some(Stage::Lnet), Stage::Format).ok(),
            Some(vec![Stage::Lnet, Stage::Format])
        );
        match stages_to_run(&s, Some(Stage::Verify), Stage::Verify) {
            Err(Error::StageOrder { from, missing }) => {
                assert_eq!((from, missing), (Stage::Verify, Stage::Mount));
            }
            other => panic!("expected a stage-order error, got {other:?}"),
        }
    }

    #[test]
    fn stages_json_is_typed_and_a_corrupt_one_is_an_error() {
        let dir = std::env::temp_dir().join(format!("lk-stages-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        assert_eq!(StageState::load(&dir).ok(), Some(StageState::default()));
        let s = done(&[Stage::Install, Stage::Lnet]);
        s.save(&dir).expect("saved");
        assert_eq!(StageState::load(&dir).ok(), Some(s));
        std::fs::write(
            dir.join(STAGES_FILE),
            br#"{"stages":{"mount-all":{"status":"done","seconds":1.0}}}"#,
        )
        .expect("written");
        let e = crate::chain(StageState::load(&dir).expect_err("unknown stage"));
        assert!(e.contains("mount-all") && e.contains("verify"), "{e}");
        std::fs::write(dir.join(STAGES_FILE), b"{not json").expect("written");
        assert!(StageState::load(&dir).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_failed_stage_is_not_done_and_is_retried() {
        let mut s = done(&[Stage::Install]);
        s.stages.insert(
            Stage::Lnet,
            StageRecord {
                status: StageStatus::Failed,
                seconds: 2.0,
                failures: Vec::new(),
                results: BTreeMap::new(),
            },
        );
        assert_eq!(
            stages_to_run(&s, None, Stage::Lnet).ok(),
            Some(vec![Stage::Lnet])
        );
    }

    #[test]
    fn failure_detail_prefers_the_scripts_own_messages() {
        let out = "[n1 install] step\nlustrekit: node n1: Lustre is not usable here: missing command lctl\n";
        assert_eq!(
            failure_detail(out, ""),
            "lustrekit: node n1: Lustre is not usable here: missing command lctl"
        );
        let many: String = (1..=20).map(|i| format!("line {i}\n")).collect();
        let d = failure_detail(&many, "");
        assert!(d.starts_with("line 11\n") && d.ends_with("line 20"), "{d}");
    }
}
