//! A plain-text table of a suite run, for a terminal: one row per subtest, one per suite (test
//! `-`, with its own status and time), aligned columns, and a closing line of counts.
//!
//! The error column shows the error's first line, cut to [`ERROR_WIDTH`] characters, with
//! `(+N lines)` when there are more; the whole text is in the JUnit and JSON outputs.

use crate::suite::{Status, SuiteResults};

/// Most characters of an error shown in the table.
pub const ERROR_WIDTH: usize = 60;

/// The table, ending in a newline.
pub fn render(results: &SuiteResults) -> String {
    let mut rows: Vec<[String; 6]> = vec![[
        "SUITE".into(),
        "TEST".into(),
        "STATUS".into(),
        "TIME".into(),
        "RC".into(),
        "ERROR".into(),
    ]];
    for suite in &results.suites {
        for t in &suite.subtests {
            rows.push([
                suite.name.clone(),
                t.name.clone(),
                status_word(t.status).into(),
                t.duration_s.map_or(String::new(), |d| format!("{d}s")),
                t.return_code.map_or(String::new(), |rc| rc.to_string()),
                t.error.as_deref().map_or(String::new(), short_error),
            ]);
        }
        let c = suite.counts();
        rows.push([
            suite.name.clone(),
            "-".into(),
            status_word(suite.status).into(),
            suite.duration_s.map_or(String::new(), |d| format!("{d}s")),
            String::new(),
            format!("suite: {}", plural(c.total(), "subtest")),
        ]);
    }
    let mut out = table(&rows);
    let c = results.counts();
    out.push_str(&format!(
        "{}, {}: {} passed, {} failed, {} skipped, {} unfinished; {}s; {}\n",
        plural(results.suites.len(), "suite"),
        plural(c.total(), "subtest"),
        c.pass,
        c.fail,
        c.skip,
        c.unfinished,
        results.duration_s(),
        if results.any_failed() { "FAILED" } else { "ok" },
    ));
    out
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn status_word(status: Option<Status>) -> &'static str {
    status.map_or("UNFINISHED", Status::as_str)
}

fn short_error(error: &str) -> String {
    let mut lines = error.lines();
    let first = lines.next().unwrap_or("");
    let more = lines.count();
    let mut shown: String = first.chars().take(ERROR_WIDTH).collect();
    if first.chars().count() > ERROR_WIDTH {
        shown.push('…');
    }
    if more > 0 {
        shown.push_str(&format!(" (+{})", plural(more, "line")));
    }
    // Control characters (colour codes, tabs) would break the alignment.
    shown
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Left-aligned columns two spaces apart, except TIME and RC (right-aligned); no trailing
/// spaces.
fn table(rows: &[[String; 6]]) -> String {
    let mut widths = [0usize; 6];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            let pad = widths[i] - cell.chars().count();
            if i > 0 {
                line.push_str("  ");
            }
            if i == 3 || i == 4 {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
