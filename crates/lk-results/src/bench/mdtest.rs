//! mdtest's stdout (the mdtest of ior 4.x): the `SUMMARY rate` table (operations per second
//! of each phase across the iterations: max, min, mean, standard deviation) and, with `-P`,
//! the `SUMMARY time` table (ms per operation).
//!
//! Strict: every line must be one mdtest prints (the header lines, `WARNING:` lines, the
//! tables, the start and finish stamps); anything else is refused with its line number. A run
//! without the finish stamp did not end and is refused too.

use serde::Serialize;
use thiserror::Error;

use super::run::Metric;

/// Why mdtest output was refused (`line` counts from 1).
#[derive(Debug, Error, PartialEq)]
pub enum MdtestError {
    #[error("mdtest output: line {line}: {problem}: {text:?}")]
    Line {
        line: usize,
        problem: &'static str,
        text: String,
    },
    #[error("mdtest output: no `mdtest-VERSION was launched with N total task(s)` line")]
    NoLaunchLine,
    #[error("mdtest output: no SUMMARY rate table (mdtest did not get to its summary)")]
    NoRateTable,
    #[error("mdtest output: no `-- finished at` line (mdtest did not end)")]
    NotFinished,
}

/// Which summary table a row is from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MdtestTable {
    /// Operations per second.
    Rate,
    /// Milliseconds per operation (`-P`).
    Time,
}

/// The phases mdtest names in its tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MdtestOp {
    DirectoryCreation,
    DirectoryStat,
    DirectoryRead,
    DirectoryRename,
    DirectoryRemoval,
    FileCreation,
    FileStat,
    FileRead,
    FileRemoval,
    TreeCreation,
    TreeRemoval,
}

impl MdtestOp {
    const ALL: [MdtestOp; 11] = [
        MdtestOp::DirectoryCreation,
        MdtestOp::DirectoryStat,
        MdtestOp::DirectoryRead,
        MdtestOp::DirectoryRename,
        MdtestOp::DirectoryRemoval,
        MdtestOp::FileCreation,
        MdtestOp::FileStat,
        MdtestOp::FileRead,
        MdtestOp::FileRemoval,
        MdtestOp::TreeCreation,
        MdtestOp::TreeRemoval,
    ];

    /// mdtest's own words (`Directory creation`).
    pub fn as_str(self) -> &'static str {
        match self {
            MdtestOp::DirectoryCreation => "Directory creation",
            MdtestOp::DirectoryStat => "Directory stat",
            MdtestOp::DirectoryRead => "Directory read",
            MdtestOp::DirectoryRename => "Directory rename",
            MdtestOp::DirectoryRemoval => "Directory removal",
            MdtestOp::FileCreation => "File creation",
            MdtestOp::FileStat => "File stat",
            MdtestOp::FileRead => "File read",
            MdtestOp::FileRemoval => "File removal",
            MdtestOp::TreeCreation => "Tree creation",
            MdtestOp::TreeRemoval => "Tree removal",
        }
    }
}

/// An mdtest run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MdtestRun {
    /// `4.1.0+dev`.
    pub version: String,
    pub tasks: u64,
    pub nodes: u64,
    pub command: Option<String>,
    pub warnings: Vec<String>,
    pub iterations: u64,
    pub rows: Vec<MdtestRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MdtestRow {
    pub table: MdtestTable,
    pub op: MdtestOp,
    pub max: f64,
    pub min: f64,
    pub mean: f64,
    pub stddev: f64,
}

/// Where the parser is in the output.
#[derive(Clone, Copy, PartialEq)]
enum State {
    Header,
    /// After `SUMMARY ...`: the column names next, then the dashes.
    Columns(MdtestTable),
    Dashes(MdtestTable),
    Rows(MdtestTable),
    Finished,
}

/// Parses mdtest's stdout.
pub fn parse_mdtest(text: &str) -> Result<MdtestRun, MdtestError> {
    let mut run = MdtestRun {
        version: String::new(),
        tasks: 0,
        nodes: 0,
        command: None,
        warnings: Vec::new(),
        iterations: 0,
        rows: Vec::new(),
    };
    let mut state = State::Header;
    let mut started = false;
    for (i, line) in text.lines().enumerate() {
        let bad = |problem| MdtestError::Line {
            line: i + 1,
            problem,
            text: line.to_string(),
        };
        let t = line.trim();
        if let Some(w) = t.strip_prefix("WARNING:") {
            run.warnings.push(w.trim().to_string());
            continue;
        }
        state = match state {
            State::Finished if t.is_empty() => State::Finished,
            State::Finished => return Err(bad("output after `-- finished at`")),
            _ if t.starts_with("-- started at ") && t.ends_with(" --") => {
                if started {
                    return Err(bad("a second start stamp"));
                }
                started = true;
                state
            }
            _ if t.starts_with("-- finished at ") && t.ends_with(" --") => State::Finished,
            _ if !started => return Err(bad("output before `-- started at`")),
            State::Header if !t.starts_with("SUMMARY ") => {
                header_line(&mut run, t).map_err(bad)?;
                State::Header
            }
            _ => table_line(&mut run, state, t).map_err(bad)?,
        };
    }
    if run.version.is_empty() {
        return Err(MdtestError::NoLaunchLine);
    }
    if !run.rows.iter().any(|r| r.table == MdtestTable::Rate) {
        return Err(MdtestError::NoRateTable);
    }
    if state != State::Finished {
        return Err(MdtestError::NotFinished);
    }
    Ok(run)
}

/// A line of (or starting) a summary table; `state` is where the previous line left off.
fn table_line(run: &mut MdtestRun, state: State, t: &str) -> Result<State, &'static str> {
    if t.starts_with("SUMMARY ") {
        let (table, iterations) = summary_title(t).ok_or(SUMMARY_RULE)?;
        if run.rows.iter().any(|r| r.table == table) {
            return Err("a second table of the same kind");
        }
        if run.iterations != 0 && run.iterations != iterations {
            return Err("the tables disagree on the number of iterations");
        }
        run.iterations = iterations;
        return Ok(State::Columns(table));
    }
    match state {
        State::Columns(table) => {
            let cols: Vec<&str> = t.split_whitespace().collect();
            if cols != ["Operation", "Max", "Min", "Mean", "Std", "Dev"] {
                return Err("not mdtest's column names (Operation Max Min Mean Std Dev)");
            }
            Ok(State::Dashes(table))
        }
        State::Dashes(table) => {
            if t.is_empty() || !t.split_whitespace().all(|w| w.chars().all(|c| c == '-')) {
                return Err("expected the dashes under the column names");
            }
            Ok(State::Rows(table))
        }
        State::Rows(table) if t.is_empty() => {
            if !run.rows.iter().any(|r| r.table == table) {
                return Err("a summary table without rows");
            }
            Ok(State::Header)
        }
        State::Rows(table) => {
            let row = summary_row(table, t)?;
            if run.rows.iter().any(|r| r.table == table && r.op == row.op) {
                return Err("an operation twice in one table");
            }
            run.rows.push(row);
            Ok(state)
        }
        State::Header | State::Finished => Err("not a line mdtest prints before its summary"),
    }
}

const SUMMARY_RULE: &str =
    "not `SUMMARY rate (in ops/sec): (of N iterations)` or `SUMMARY time (in ms/op): ...`";

/// `SUMMARY rate (in ops/sec): (of 2 iterations)`.
fn summary_title(t: &str) -> Option<(MdtestTable, u64)> {
    let (table, rest) = if let Some(r) = t.strip_prefix("SUMMARY rate (in ops/sec): (of ") {
        (MdtestTable::Rate, r)
    } else {
        let r = t.strip_prefix("SUMMARY time (in ms/op): (of ")?;
        (MdtestTable::Time, r)
    };
    let n = rest.strip_suffix(" iterations)")?;
    let n: u64 = n.parse().ok().filter(|&n| n > 0)?;
    Some((table, n))
}

/// `   Directory creation    1430.368    1352.556    1391.462     55.021`.
fn summary_row(table: MdtestTable, t: &str) -> Result<MdtestRow, &'static str> {
    let op = MdtestOp::ALL
        .into_iter()
        .find(|op| {
            t.strip_prefix(op.as_str())
                .is_some_and(|rest| rest.starts_with(' '))
        })
        .ok_or("not an mdtest operation")?;
    let fields: Vec<&str> = t[op.as_str().len()..].split_whitespace().collect();
    if fields.len() != 4 {
        return Err("expected four numbers (max, min, mean, std dev)");
    }
    let mut n = [0.0; 4];
    for (slot, f) in n.iter_mut().zip(&fields) {
        // mdtest prints %14.3f: digits, a point, three digits; nothing else is a rate.
        let ok = f.split_once('.').is_some_and(|(a, b)| {
            !a.is_empty()
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.len() == 3
                && b.bytes().all(|c| c.is_ascii_digit())
        });
        *slot = f
            .parse::<f64>()
            .ok()
            .filter(|_| ok)
            .ok_or("a number that is not mdtest's %.3f")?;
    }
    Ok(MdtestRow {
        table,
        op,
        max: n[0],
        min: n[1],
        mean: n[2],
        stddev: n[3],
    })
}

/// The lines before the tables.
fn header_line(run: &mut MdtestRun, t: &str) -> Result<(), &'static str> {
    if t.is_empty() {
        return Ok(());
    }
    if let Some(rest) = t.strip_prefix("mdtest-") {
        if !run.version.is_empty() {
            return Err("a second launch line");
        }
        let (version, rest) = rest
            .split_once(" was launched with ")
            .ok_or("not `mdtest-VERSION was launched with N total task(s) on M node(s)`")?;
        let (tasks, rest) = rest
            .split_once(" total task(s) on ")
            .ok_or("not `... N total task(s) on M node(s)`")?;
        let nodes = rest
            .strip_suffix(" node(s)")
            .ok_or("no `node(s)` at the end")?;
        run.version = version.to_string();
        run.tasks = tasks
            .parse()
            .map_err(|_| "the task count is not a number")?;
        run.nodes = nodes
            .parse()
            .map_err(|_| "the node count is not a number")?;
        return Ok(());
    }
    if let Some(cmd) = t.strip_prefix("Command line used: ") {
        run.command = Some(cmd.to_string());
        return Ok(());
    }
    let known = ["Nodemap: ", "Path ", "FS "];
    if known.iter().any(|k| t.starts_with(k)) {
        return Ok(());
    }
    // `2 tasks, 400 files/directories` (or `files`, `directories`).
    let counts = t.split_once(" tasks, ").is_some_and(|(n, rest)| {
        n.parse::<u64>().is_ok()
            && rest.split_once(' ').is_some_and(|(m, what)| {
                m.parse::<u64>().is_ok()
                    && ["files/directories", "files", "directories"].contains(&what)
            })
    });
    if counts {
        return Ok(());
    }
    Err("not a line mdtest prints before its summary")
}

impl MdtestRun {
    /// From the rate table, per phase: `{phase} max/min/mean` (ops/s), the phase in lower case
    /// (`directory creation mean`). A phase at 0 ops/s did not run and is a failed metric.
    pub fn metrics(&self) -> Vec<Metric> {
        let mut metrics = Vec::new();
        for r in self.rows.iter().filter(|r| r.table == MdtestTable::Rate) {
            let phase = r.op.as_str().to_lowercase();
            for (stat, value) in [("max", r.max), ("min", r.min), ("mean", r.mean)] {
                let name = format!("{phase} {stat}");
                metrics.push(if value > 0.0 {
                    Metric::new(name, "ops/s", value)
                } else {
                    Metric::failed(
                        name,
                        "ops/s",
                        "mdtest reported 0 ops/s: the phase did not run",
                    )
                });
            }
        }
        metrics
    }
}
