//! Lustre test-suite results: the `results.yml` that `auster` (through `test-framework.sh` and
//! `yaml.sh`) appends to while it runs, parsed strictly into [`SuiteResults`].
//!
//! What the framework writes, and so what this module accepts (Lustre 2.17.0):
//! - a header, once per file: `TestGroup:` with `test_group`, `testhost`, `submission`,
//!   `user_name`; then `project:`; then whatever `$CODE_REVIEW_YAML` expands to (kept as raw
//!   lines); then `Tests:`;
//! - per suite (`yml_log_test`): `-`, `name`, `description`, `submission`, `report_version: 2`,
//!   `SubTests:`; then its subtests; then (`yml_log_test_status`) `duration` and `status`;
//! - per subtest (`yml_log_sub_test_begin`/`_end`): `-`, `name`, then `status`, `duration`,
//!   `return_code` and `error`, whose value is bash `printf %q` output inside double quotes
//!   (decoded by [`printf_q`]);
//! - `yml_log_sub_test_log` (`-`, `name`, `type`, `location` at the subtest level), which 2.17.0
//!   defines but never calls; such an entry is kept as a [`LogRef`] of the subtest before it.
//!
//! The only status words the framework writes are `PASS`, `FAIL` and `SKIP`, for suites
//! (`run_suite`) and subtests (`run_one_logged`, `skip_logged`, `check_and_setup_lustre`,
//! `check_and_cleanup_lustre`); an `error_ignore`d subtest keeps the previous subtest's word.
//!
//! A run that died (VM crash, auster killed) leaves the file cut at a record boundary: a suite
//! without its closing `duration`/`status`, and possibly its last subtest without its end.
//! Those are kept as unfinished (`status: None`) and count as failures; a cut anywhere else is
//! an error.

mod parse;
pub mod printf_q;

use serde::Serialize;

pub use parse::{parse_results_yml, ParseError};

/// The outcome word of a suite or subtest, as the framework writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Pass,
    Fail,
    Skip,
}

impl Status {
    /// The word as written in results.yml.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
        }
    }

    /// Parses the exact word (`PASS`, `FAIL`, `SKIP`); anything else is `None`.
    pub fn from_word(word: &str) -> Option<Status> {
        match word {
            "PASS" => Some(Status::Pass),
            "FAIL" => Some(Status::Fail),
            "SKIP" => Some(Status::Skip),
            _ => None,
        }
    }
}

/// The `TestGroup:` header (`yml_test_group`) and `project:`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestGroup {
    pub test_group: String,
    pub testhost: String,
    /// `$(date)` when the file was started, as written.
    pub submission: String,
    pub user_name: String,
    pub project: String,
}

/// A whole results.yml.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SuiteResults {
    pub test_group: TestGroup,
    /// The lines `echo -e $CODE_REVIEW_YAML` wrote between `project:` and `Tests:`, blank lines
    /// dropped. The framework gives them no format, so they are not interpreted.
    pub code_review: Vec<String>,
    pub suites: Vec<Suite>,
}

/// One suite run (`sanity`, `sanityn`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suite {
    pub name: String,
    pub description: String,
    /// `$(date)` when the suite started, as written.
    pub submission: String,
    /// `None` when the file ends before the suite's closing status (the run died).
    pub status: Option<Status>,
    /// Seconds; `None` with `status`.
    pub duration_s: Option<u64>,
    pub subtests: Vec<SubTest>,
}

/// One subtest (`test_1a`, `test_setup`, ...). A subtest run repeatedly (`ONLY_REPEAT`) appears
/// once per run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubTest {
    pub name: String,
    /// `None` when the file ends after the subtest began (the run died inside it).
    pub status: Option<Status>,
    pub duration_s: Option<u64>,
    pub return_code: Option<i32>,
    /// The decoded `error:` value: the failure message, or a skip's reason. `None` when empty.
    pub error: Option<String>,
    pub logs: Vec<LogRef>,
}

/// A `yml_log_sub_test_log` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogRef {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub location: String,
}

/// Numbers of subtests by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub pass: usize,
    pub fail: usize,
    pub skip: usize,
    /// Begun but never ended (the run died inside them).
    pub unfinished: usize,
}

impl Counts {
    pub fn total(&self) -> usize {
        self.pass + self.fail + self.skip + self.unfinished
    }

    fn add(&mut self, status: Option<Status>) {
        match status {
            Some(Status::Pass) => self.pass += 1,
            Some(Status::Fail) => self.fail += 1,
            Some(Status::Skip) => self.skip += 1,
            None => self.unfinished += 1,
        }
    }
}

impl SubTest {
    pub fn is_finished(&self) -> bool {
        self.status.is_some()
    }
}

impl Suite {
    /// Subtest counts of this suite.
    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for subtest in &self.subtests {
            counts.add(subtest.status);
        }
        counts
    }

    /// True when the suite or any subtest failed, or the suite did not finish.
    pub fn any_failed(&self) -> bool {
        matches!(self.status, None | Some(Status::Fail))
            || self
                .subtests
                .iter()
                .any(|s| matches!(s.status, None | Some(Status::Fail)))
    }
}

impl SuiteResults {
    /// Subtest counts over all suites.
    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for suite in &self.suites {
            for subtest in &suite.subtests {
                counts.add(subtest.status);
            }
        }
        counts
    }

    /// True when any suite or subtest failed or did not finish. A file without suites has
    /// nothing failed; the caller decides whether an empty run is acceptable.
    pub fn any_failed(&self) -> bool {
        self.suites.iter().any(Suite::any_failed)
    }

    /// Total of the suites' durations in seconds (unfinished suites count their subtests').
    pub fn duration_s(&self) -> u64 {
        self.suites
            .iter()
            .map(|s| {
                s.duration_s
                    .unwrap_or_else(|| s.subtests.iter().filter_map(|t| t.duration_s).sum())
            })
            .sum()
    }
}
