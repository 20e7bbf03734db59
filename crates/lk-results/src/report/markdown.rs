//! Markdown of one benchmark run: its identity, parameters and a table of its metrics.

use super::{fmt_value, md_cell};
use crate::bench::{BenchRun, Metric};

/// The report; `plot` is the plot's file name or URL relative to the report, if there is one.
pub fn run_markdown(run: &BenchRun, plot: Option<&str>) -> String {
    let mut out = format!("# {} on {}\n\n", run.kind, md_cell(&run.cluster));
    out.push_str("| | |\n|---|---|\n");
    for (key, value) in [
        ("kind", run.kind.as_str()),
        ("cluster", &run.cluster),
        ("Lustre", &run.lustre_version),
        ("topology hash", &run.topology_hash),
        ("started", &run.started_at),
        ("file stem", &run.file_stem()),
    ] {
        out.push_str(&format!("| {key} | {} |\n", md_cell(value)));
    }
    if !run.parameters.is_empty() {
        out.push_str("\n## Parameters\n\n| parameter | value |\n|---|---|\n");
        for (key, value) in &run.parameters {
            out.push_str(&format!("| {} | {} |\n", md_cell(key), md_cell(value)));
        }
    }
    out.push_str("\n## Metrics\n\n");
    if run.metrics.is_empty() {
        out.push_str("No metrics.\n");
    } else {
        out.push_str("| metric | value | unit | samples |\n|---|---:|---|---|\n");
        for m in &run.metrics {
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                md_cell(&m.name),
                value_cell(m),
                md_cell(&m.unit),
                samples_cell(m)
            ));
        }
        let failed = run.metrics.iter().filter(|m| m.failure.is_some()).count();
        if failed > 0 {
            out.push_str(&format!(
                "\n{failed} of {} metrics failed.\n",
                run.metrics.len()
            ));
        }
    }
    if let Some(plot) = plot {
        out.push_str(&format!(
            "\n![metrics of {}]({plot})\n",
            md_cell(&run.file_stem())
        ));
    }
    out
}

/// The value, or `FAILED: reason`.
pub(crate) fn value_cell(m: &Metric) -> String {
    match (&m.value, &m.failure) {
        (Some(v), _) => fmt_value(*v),
        (None, Some(why)) => format!("FAILED: {}", md_cell(why)),
        (None, None) => "—".to_string(),
    }
}

/// `mean of N: min A, max B` for a metric with several samples, else empty.
pub(crate) fn samples_cell(m: &Metric) -> String {
    let Some(samples) = m.samples.as_deref().filter(|s| s.len() > 1) else {
        return String::new();
    };
    let min = samples.iter().copied().fold(f64::INFINITY, f64::min);
    let max = samples.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!(
        "mean of {}: min {}, max {}",
        samples.len(),
        fmt_value(min),
        fmt_value(max)
    )
}
