//! Progress events: the engine says what it is doing; the CLI draws bars or prints lines.

use crate::provider::Ready;
use lk_plan::Stage;

use crate::ledger::Step;

/// One thing that happened. Borrowed data: observers copy what they keep.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// Infrastructure step `index` (0-based) of `total` starts; `node` for per-node objects.
    Step {
        index: usize,
        total: usize,
        step: &'a Step,
        node: Option<&'a str>,
    },
    /// It finished; `created` is false when an existing object was adopted.
    StepDone {
        index: usize,
        step: &'a Step,
        node: Option<&'a str>,
        seconds: f64,
        created: bool,
    },
    /// What a node is waiting for now (readiness, a guest phase).
    Node {
        node: &'a str,
        message: &'a str,
    },
    NodeReady {
        ready: &'a Ready,
    },
    /// An undo during unwinding or `down`; `error` when it failed.
    Undo {
        step: &'a Step,
        error: Option<&'a str>,
    },
    /// A guest phase starts on a node.
    PhaseStart {
        stage: Stage,
        phase: &'a str,
        node: &'a str,
    },
    PhaseDone {
        stage: Stage,
        phase: &'a str,
        node: &'a str,
        seconds: f64,
        exit_code: i64,
    },
    StageDone {
        stage: Stage,
        seconds: f64,
    },
}

/// Receives [`Event`]s, possibly from several threads at once.
pub trait Observer: Sync {
    fn event(&self, event: Event<'_>);
}

/// Ignores everything.
impl Observer for () {
    fn event(&self, _: Event<'_>) {}
}
