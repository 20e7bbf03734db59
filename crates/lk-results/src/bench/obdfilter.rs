//! lustre-iokit's `obdfilter-survey` output (its stdout, or its `.summary` file), as the
//! 2.17.0 script prints it:
//!
//! ```text
//! Tue Dec  2 00:00:00 UTC 2026 Obdfilter-survey for case=disk from oss1
//! ost  2 sz  2097152K rsz 1024K obj    2 thr    4 write  812.34 [ 380.00,  436.00] read ...
//! done!
//! ```
//!
//! The header line (`$(date) Obdfilter-survey for case=CASE from HOST`) opens the results;
//! lines before it (`using LCTL=...`, module loading) are not results and are skipped. Each
//! result line is `printf 'ost %2d sz %8dK rsz %4dK obj %4d thr %4d '` and, per test, the test
//! name, the aggregate bandwidth (`%7.2f`: KiB moved / 1024 / elapsed s, so MiB/s, which the
//! script's README calls MB/s) and either `[%7.2f, %7.2f]` (slowest and fastest OST instance)
//! or `ERROR` (an lctl test_brw failed) or `SHORT` (aggregate measured, no per-OST samples: the test ended before lctl's first status line). `created object #s on X not
//! contiguous` ends a line (and the survey) when object creation failed; `done!`, `program
//! exited with error` or `Terminated` (the cleanup) ends the output, possibly in the middle of
//! a result line when the survey was stopped. Anything else is an error.

use serde::Serialize;
use thiserror::Error;

use super::lst::number;
use super::run::Metric;

/// Why obdfilter-survey output was refused. Lines are 1-based.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SurveyError {
    #[error("no 'Obdfilter-survey for case=CASE from HOST' line: not obdfilter-survey output")]
    NoHeader,
    #[error("line {line}: not an obdfilter-survey result line: {text:?}")]
    UnknownLine { line: usize, text: String },
    #[error("line {line}: {problem} in {text:?}")]
    BadResult {
        line: usize,
        problem: String,
        text: String,
    },
    #[error("line {line}: output after the survey ended ({end:?})")]
    AfterEnd { line: usize, end: String },
}

/// How one test of one configuration went.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "lowercase")]
pub enum Outcome {
    /// Per-OST-instance bandwidth range, MiB/s.
    Ok { min_mib_s: f64, max_mib_s: f64 },
    /// An `lctl test_brw` of the test failed (`ERROR`).
    Error,
    /// The aggregate rate was measured, but no per-OST samples came back (`SHORT`): the
    /// survey's `get_stats` counts lctl's once-a-second status lines, and a test that ends
    /// within a second or so prints none. The aggregate stands; there is no min/max.
    Short,
    /// The survey ended before the test's result was printed.
    Interrupted,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestResult {
    /// `write`, `rewrite`, `read`, ...
    pub name: String,
    /// Aggregate bandwidth over all OSTs, MiB/s; `None` when not printed.
    pub mib_s: Option<f64>,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// One result line: a configuration and its tests.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub line: usize,
    /// OST instances (`ost`).
    pub osts: u32,
    /// Total data per test over all OSTs (`sz`), KiB.
    pub size_kib: u64,
    /// Record size (`rsz`), KiB.
    pub rsz_kib: u32,
    /// Objects over all OSTs (`obj`).
    pub objects: u32,
    /// Threads over all OSTs (`thr`).
    pub threads: u32,
    pub tests: Vec<TestResult>,
    /// Why the configuration stopped before its tests (object creation failed).
    pub failure: Option<String>,
}

/// A whole survey.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Survey {
    /// The `case=` of the header (`disk`, `network`, `netdisk`).
    pub case: String,
    /// The `from HOST` of the header.
    pub host: String,
    /// The header's date text, as written.
    pub date: String,
    pub rows: Vec<Row>,
    /// The cleanup's last word (`done!`, `program exited with error`, `Terminated`); `None`
    /// when the output ends without it.
    pub end: Option<String>,
}

const ENDS: [&str; 3] = ["done!", "program exited with error", "Terminated"];
const CREATE_FAILED: &str = "created object #s on ";

/// Parses obdfilter-survey output (see the module doc).
pub fn parse_obdfilter_survey(text: &str) -> Result<Survey, SurveyError> {
    let lines: Vec<&str> = text.lines().collect();
    let (start, mut survey) = lines
        .iter()
        .enumerate()
        .find_map(|(i, l)| header(l).map(|s| (i, s)))
        .ok_or(SurveyError::NoHeader)?;
    for (i, raw) in lines.iter().enumerate().skip(start + 1) {
        let line = i + 1;
        if let Some(end) = &survey.end {
            if raw.trim().is_empty() {
                continue;
            }
            return Err(SurveyError::AfterEnd {
                line,
                end: end.clone(),
            });
        }
        let trimmed = raw.trim();
        if let Some(end) = ENDS.iter().find(|e| **e == trimmed) {
            survey.end = Some(end.to_string());
        } else if raw.starts_with("ost ") {
            let (row, end) = row(raw, line)?;
            survey.rows.push(row);
            survey.end = end;
        } else if !trimmed.is_empty() {
            return Err(SurveyError::UnknownLine {
                line,
                text: raw.to_string(),
            });
        }
    }
    Ok(survey)
}

fn header(raw: &str) -> Option<Survey> {
    let (date, rest) = raw.split_once(" Obdfilter-survey for case=")?;
    let (case, host) = rest.trim_end().split_once(" from ")?;
    if case.is_empty() || host.is_empty() || case.contains(' ') || host.contains(' ') {
        return None;
    }
    Some(Survey {
        case: case.to_string(),
        host: host.to_string(),
        date: date.trim().to_string(),
        rows: Vec::new(),
        end: None,
    })
}

/// A cursor over the words of a result line.
struct Words<'a> {
    raw: &'a str,
    rest: &'a str,
    line: usize,
}

impl<'a> Words<'a> {
    fn peek(&self) -> Option<&'a str> {
        self.rest.split_whitespace().next()
    }

    fn next(&mut self) -> Option<&'a str> {
        let word = self.peek()?;
        let at = self.rest.find(word).unwrap_or(0) + word.len();
        self.rest = &self.rest[at..];
        Some(word)
    }

    fn bad(&self, problem: impl Into<String>) -> SurveyError {
        SurveyError::BadResult {
            line: self.line,
            problem: problem.into(),
            text: self.raw.to_string(),
        }
    }

    /// The word `label` then a number (with `K` after it when `kib`).
    fn field<T: std::str::FromStr>(&mut self, label: &str, kib: bool) -> Result<T, SurveyError> {
        if self.next() != Some(label) {
            return Err(self.bad(format!("expected {label:?}")));
        }
        let word = self.next().unwrap_or("");
        let digits = if kib {
            word.strip_suffix('K')
        } else {
            Some(word)
        };
        digits
            .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|d| d.parse().ok())
            .ok_or_else(|| {
                let unit = if kib { " followed by K" } else { "" };
                self.bad(format!("{label} {word:?} is not a whole number{unit}"))
            })
    }

    /// The rest of the line if it is one of the cleanup's last words.
    fn end(&self) -> Option<&'static str> {
        let rest = self.rest.trim();
        ENDS.into_iter().find(|e| *e == rest)
    }
}

/// One `ost ...` line; also returns the cleanup word if the line ends with one.
fn row(raw: &str, line: usize) -> Result<(Row, Option<String>), SurveyError> {
    let mut w = Words {
        raw,
        rest: raw,
        line,
    };
    let mut row = Row {
        line,
        osts: w.field("ost", false)?,
        size_kib: w.field("sz", true)?,
        rsz_kib: w.field("rsz", true)?,
        objects: w.field("obj", false)?,
        threads: w.field("thr", false)?,
        tests: Vec::new(),
        failure: None,
    };
    loop {
        if let Some(end) = w.end() {
            return Ok((row, Some(end.to_string())));
        }
        let rest = w.rest.trim();
        if rest.is_empty() {
            return Ok((row, None));
        }
        if rest.starts_with(CREATE_FAILED) && rest.ends_with(" not contiguous") {
            row.failure = Some(rest.to_string());
            return Ok((row, None));
        }
        let test = test(&mut w)?;
        let interrupted = test.outcome == Outcome::Interrupted;
        row.tests.push(test);
        if interrupted {
            let end = w.end().map(str::to_string);
            return Ok((row, end));
        }
    }
}

/// `NAME [BANDWIDTH] ([MIN, MAX] | ERROR | SHORT)`, or the start of it before the end.
fn test(w: &mut Words<'_>) -> Result<TestResult, SurveyError> {
    let name = w.next().unwrap_or("");
    let name_ok = name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !name_ok {
        return Err(w.bad(format!("expected a test name, found {name:?}")));
    }
    let mut result = TestResult {
        name: name.to_string(),
        mib_s: None,
        outcome: Outcome::Interrupted,
    };
    if w.end().is_some() || w.rest.trim().is_empty() {
        return Ok(result);
    }
    if let Some(v) = w.peek().and_then(number) {
        w.next();
        result.mib_s = Some(v);
        if w.end().is_some() || w.rest.trim().is_empty() {
            return Ok(result);
        }
    }
    result.outcome = match w.peek() {
        Some("ERROR") => Outcome::Error,
        Some("SHORT") => Outcome::Short,
        Some(word) if word.starts_with('[') => return range(w, result),
        other => {
            let found = other.unwrap_or("");
            return Err(w.bad(format!(
                "after test {name:?}: expected a bandwidth, '[MIN, MAX]', ERROR or SHORT, \
                 found {found:?}"
            )));
        }
    };
    w.next();
    Ok(result)
}

/// `[MIN, MAX]`, written `[%7.2f, %7.2f]` (so `[` may stand apart from the number).
fn range(w: &mut Words<'_>, mut result: TestResult) -> Result<TestResult, SurveyError> {
    let rest = w.rest.trim_start();
    let close = rest
        .find(']')
        .ok_or_else(|| w.bad(format!("test {:?}: '[' without ']'", result.name)))?;
    let inner = &rest[1..close];
    let parsed = inner
        .split_once(',')
        .and_then(|(a, b)| Some((number(a.trim())?, number(b.trim())?)));
    let Some((min, max)) = parsed else {
        return Err(w.bad(format!(
            "test {:?}: [{inner}] is not '[MIN, MAX]'",
            result.name
        )));
    };
    w.rest = &rest[close + 1..];
    result.outcome = Outcome::Ok {
        min_mib_s: min,
        max_mib_s: max,
    };
    Ok(result)
}

impl Survey {
    /// Per row and test: `{test} rsz={k}K obj/ost={n} thr/ost={n}` (aggregate MiB/s over every OST the
    /// survey ran on: the OST count is [`Row::osts`], the same for every row of a run) and the
    /// same with ` min`/` max` (slowest/fastest OST instance). A failed or interrupted test,
    /// or a row whose objects could not be created, gives failed metrics, never zeros.
    pub fn metrics(&self) -> Vec<Metric> {
        let mut metrics = Vec::new();
        for row in &self.rows {
            // The survey prints objects and threads summed over its OSTs; per OST they name
            // the same load whatever the OST count, so layouts compare row by row.
            let per = row.osts.max(1);
            let config = format!(
                "rsz={}K obj/ost={} thr/ost={}",
                row.rsz_kib,
                row.objects / per,
                row.threads / per
            );
            if let Some(failure) = &row.failure {
                metrics.push(Metric::failed(config.clone(), "MiB/s", failure.clone()));
            }
            for t in &row.tests {
                let name = format!("{} {config}", t.name);
                let why = match &t.outcome {
                    Outcome::Ok { .. } | Outcome::Short => None,
                    Outcome::Error => Some("ERROR: an lctl test_brw failed"),
                    Outcome::Interrupted => Some("interrupted: the survey ended during the test"),
                };
                match (t.mib_s, why) {
                    (Some(v), None) => metrics.push(Metric::new(&name, "MiB/s", v)),
                    (None, None) => metrics.push(Metric::failed(
                        &name,
                        "MiB/s",
                        "no aggregate bandwidth printed",
                    )),
                    (_, Some(why)) => metrics.push(Metric::failed(&name, "MiB/s", why)),
                }
                if let Outcome::Ok {
                    min_mib_s,
                    max_mib_s,
                } = t.outcome
                {
                    metrics.push(Metric::new(format!("{name} min"), "MiB/s", min_mib_s));
                    metrics.push(Metric::new(format!("{name} max"), "MiB/s", max_mib_s));
                }
            }
        }
        metrics
    }
}
