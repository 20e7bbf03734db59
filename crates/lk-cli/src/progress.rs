//! Progress for long operations: on a terminal, one bar for the infrastructure steps and one
//! line per node saying what it is doing; elsewhere (CI logs, pipes), one plain line per
//! event on stderr. Output of results (tables, JSON) goes to stdout, never here.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use lk_engine::{Event, Observer};

pub struct Progress {
    start: Instant,
    bars: Option<Bars>,
    /// Per node: the last line shown, so repeated messages are printed once in line mode.
    last: Mutex<BTreeMap<String, String>>,
}

struct Bars {
    multi: MultiProgress,
    overall: ProgressBar,
    nodes: BTreeMap<String, ProgressBar>,
}

impl Progress {
    /// `nodes` in display order; `total` infrastructure steps.
    pub fn new(nodes: &[String], total: usize) -> Progress {
        let bars = std::io::stderr().is_terminal().then(|| {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let overall = multi.add(ProgressBar::new(total as u64));
            overall.set_style(
                ProgressStyle::with_template(
                    "{spinner:.green} infrastructure [{bar:30.cyan/blue}] {pos}/{len} {elapsed:>4} {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            overall.enable_steady_tick(Duration::from_millis(120));
            let width = nodes.iter().map(String::len).max().unwrap_or(4);
            let node_style = ProgressStyle::with_template(&format!(
                "{{spinner:.green}} {{prefix:{width}}} {{elapsed:>4}} {{msg}}"
            ))
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
            let nodes = nodes
                .iter()
                .map(|n| {
                    let b = multi.add(ProgressBar::new_spinner());
                    b.set_style(node_style.clone());
                    b.set_prefix(n.clone());
                    b.set_message("waiting");
                    b.enable_steady_tick(Duration::from_millis(120));
                    (n.clone(), b)
                })
                .collect();
            Bars {
                multi,
                overall,
                nodes,
            }
        });
        Progress {
            start: Instant::now(),
            bars,
            last: Mutex::new(BTreeMap::new()),
        }
    }

    /// Plain lines only (short operations such as `down`).
    pub fn lines() -> Progress {
        Progress {
            start: Instant::now(),
            bars: None,
            last: Mutex::new(BTreeMap::new()),
        }
    }

    /// A line above the bars (or on stderr).
    pub fn println(&self, line: &str) {
        match &self.bars {
            Some(b) => {
                let _ = b.multi.println(line);
            }
            None => eprintln!("[{:>6.1}s] {line}", self.start.elapsed().as_secs_f64()),
        }
    }

    fn node(&self, node: &str, message: String) {
        match &self.bars {
            Some(b) => {
                if let Some(bar) = b.nodes.get(node) {
                    bar.set_message(message);
                }
            }
            None => {
                let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
                if last.get(node) != Some(&message) {
                    self.println(&format!("{node}: {message}"));
                    last.insert(node.to_string(), message);
                }
            }
        }
    }

    /// Removes the bars (before printing the summary).
    pub fn finish(&self) {
        if let Some(b) = &self.bars {
            b.overall.finish_and_clear();
            for bar in b.nodes.values() {
                bar.finish_and_clear();
            }
            let _ = b.multi.clear();
        }
    }
}

impl Observer for Progress {
    fn event(&self, e: Event<'_>) {
        match e {
            Event::Step {
                index,
                total,
                step,
                node,
            } => {
                if let Some(b) = &self.bars {
                    b.overall.set_message(step.to_string());
                } else if node.is_none() {
                    self.println(&format!("step {}/{total}: {step}", index + 1));
                }
                if let Some(n) = node {
                    self.node(n, format!("creating {step}"));
                }
            }
            Event::StepDone {
                step,
                node,
                seconds,
                created,
                ..
            } => {
                if let Some(b) = &self.bars {
                    b.overall.inc(1);
                }
                let verb = if created { "created" } else { "adopted" };
                if let Some(n) = node {
                    self.node(n, format!("{verb} {step} ({seconds:.1}s)"));
                }
            }
            Event::Node { node, message } => self.node(node, message.to_string()),
            Event::NodeReady { ready } => self.node(
                &ready.node,
                format!(
                    "ready at {} (agent {:.1}s, lease {:.1}s, 9p {:.1}s)",
                    ready.address,
                    ready.agent_after.as_secs_f64(),
                    ready.lease_after.as_secs_f64(),
                    ready.shared_after.as_secs_f64()
                ),
            ),
            Event::Undo { step, error } => match error {
                None => self.println(&format!("undone: {step}")),
                Some(e) => self.println(&format!("undo FAILED: {step}: {e}")),
            },
            Event::PhaseStart { stage, phase, node } => {
                self.node(node, format!("{}: running {phase}", stage.as_str()))
            }
            Event::PhaseDone {
                stage,
                phase,
                node,
                seconds,
                exit_code,
            } => {
                let outcome = if exit_code == 0 {
                    "ok".to_string()
                } else {
                    format!("FAILED (exit {exit_code})")
                };
                self.node(
                    node,
                    format!("{}: {phase} {outcome} ({seconds:.1}s)", stage.as_str()),
                )
            }
            Event::StageDone { stage, seconds } => {
                self.println(&format!("stage {} done ({seconds:.1}s)", stage.as_str()))
            }
        }
    }
}
