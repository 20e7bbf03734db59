//! Side-by-side comparison of runs of one kind: each metric in every run, with the change
//! against the first run (delta % and ratio), and the runs' parameters.

use std::collections::BTreeMap;

use serde::Serialize;
use thiserror::Error;

use super::{fmt_value, md_cell};
use crate::bench::{BenchKind, BenchRun, RunError};

/// Why runs cannot be compared.
#[derive(Debug, Error)]
pub enum CompareError {
    #[error("no runs to compare")]
    NoRuns,
    #[error(
        "run #{index} ({stem}) is {kind}, but run #1 is {first}: only runs of one kind are \
         compared"
    )]
    MixedKinds {
        index: usize,
        stem: String,
        kind: BenchKind,
        first: BenchKind,
    },
    #[error(
        "metric {metric:?} is in {first_unit} in an earlier run but in {unit} in run #{index}"
    )]
    UnitMismatch {
        metric: String,
        first_unit: String,
        index: usize,
        unit: String,
    },
    #[error("run #{index} is invalid")]
    InvalidRun {
        index: usize,
        #[source]
        source: RunError,
    },
}

/// One metric in one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "lowercase", tag = "state", content = "detail")]
pub enum Cell {
    Value(f64),
    Failed(String),
    /// The run has no such metric.
    Missing,
}

impl Cell {
    pub fn value(&self) -> Option<f64> {
        match self {
            Cell::Value(v) => Some(*v),
            _ => None,
        }
    }

    /// The cell in a report's table: the value, `FAILED` (the reason is listed below the
    /// table) or `—`. Plain text, for the caller to escape.
    pub(crate) fn text(&self) -> String {
        match self {
            Cell::Value(v) => fmt_value(*v),
            Cell::Failed(_) => "FAILED".to_string(),
            Cell::Missing => "—".to_string(),
        }
    }
}

/// Who a run is, for legends.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunLabel {
    /// `#1`, `#2`, ...
    pub label: String,
    pub cluster: String,
    pub lustre_version: String,
    pub started_at: String,
    pub file_stem: String,
}

/// One metric across the runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComparedMetric {
    pub name: String,
    pub unit: String,
    /// One per run, in the runs' order.
    pub cells: Vec<Cell>,
}

impl ComparedMetric {
    /// Run `i`'s value relative to run #1: `v / v1`, when both have values and `v1 != 0`.
    pub fn ratio(&self, i: usize) -> Option<f64> {
        let base = self.cells.first()?.value()?;
        let v = self.cells.get(i)?.value()?;
        (base != 0.0).then(|| v / base)
    }

    /// `(v - v1) / v1 * 100`, under the same conditions as [`ComparedMetric::ratio`].
    pub fn delta_pct(&self, i: usize) -> Option<f64> {
        self.ratio(i).map(|r| (r - 1.0) * 100.0)
    }

    /// [`ComparedMetric::delta_pct`] as a report shows it: `+1.0%`, or `—`.
    pub(crate) fn delta_text(&self, i: usize) -> String {
        self.delta_pct(i)
            .map_or("—".into(), |d| format!("{d:+.1}%"))
    }

    /// [`ComparedMetric::ratio`] as a report shows it: `1.010`, or `—`.
    pub(crate) fn ratio_text(&self, i: usize) -> String {
        self.ratio(i).map_or("—".into(), |r| format!("{r:.3}"))
    }
}

/// The comparison of runs of one kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub kind: BenchKind,
    pub runs: Vec<RunLabel>,
    /// In the first run's order; metrics only later runs have follow, in order of appearance.
    pub metrics: Vec<ComparedMetric>,
    /// Every parameter name with its value in each run.
    pub parameters: BTreeMap<String, Vec<Option<String>>>,
}

/// Compares runs against the first. Refuses an empty list, runs of different kinds, invalid
/// runs, and a metric whose unit changes between runs.
pub fn compare(runs: &[BenchRun]) -> Result<Comparison, CompareError> {
    let first = runs.first().ok_or(CompareError::NoRuns)?;
    for (i, run) in runs.iter().enumerate() {
        run.validate().map_err(|source| CompareError::InvalidRun {
            index: i + 1,
            source,
        })?;
        if run.kind != first.kind {
            return Err(CompareError::MixedKinds {
                index: i + 1,
                stem: run.file_stem(),
                kind: run.kind,
                first: first.kind,
            });
        }
    }
    // Metric names in order of first appearance, and their unit there.
    let mut order: Vec<&str> = Vec::new();
    let mut units: BTreeMap<&str, &str> = BTreeMap::new();
    for (i, run) in runs.iter().enumerate() {
        for m in &run.metrics {
            match units.get(m.name.as_str()) {
                None => {
                    units.insert(&m.name, &m.unit);
                    order.push(&m.name);
                }
                Some(unit) if *unit != m.unit => {
                    return Err(CompareError::UnitMismatch {
                        metric: m.name.clone(),
                        first_unit: unit.to_string(),
                        index: i + 1,
                        unit: m.unit.clone(),
                    });
                }
                Some(_) => {}
            }
        }
    }
    let metrics = order
        .into_iter()
        .map(|name| ComparedMetric {
            name: name.to_string(),
            unit: units.get(name).copied().unwrap_or_default().to_string(),
            cells: runs.iter().map(|run| cell(run, name)).collect(),
        })
        .collect();
    let mut parameters: BTreeMap<String, Vec<Option<String>>> = BTreeMap::new();
    for (i, run) in runs.iter().enumerate() {
        for (key, value) in &run.parameters {
            let row = parameters
                .entry(key.clone())
                .or_insert_with(|| vec![None; runs.len()]);
            row[i] = Some(value.clone());
        }
    }
    let labels = runs
        .iter()
        .enumerate()
        .map(|(i, run)| RunLabel {
            label: format!("#{}", i + 1),
            cluster: run.cluster.clone(),
            lustre_version: run.lustre_version.clone(),
            started_at: run.started_at.clone(),
            file_stem: run.file_stem(),
        })
        .collect();
    Ok(Comparison {
        kind: first.kind,
        runs: labels,
        metrics,
        parameters,
    })
}

fn cell(run: &BenchRun, name: &str) -> Cell {
    match run.metric(name) {
        Some(m) => match (m.value, &m.failure) {
            (Some(v), _) => Cell::Value(v),
            (None, failure) => Cell::Failed(failure.clone().unwrap_or_default()),
        },
        None => Cell::Missing,
    }
}

/// Whether a parameter's values are not the same in every run.
pub(crate) fn differs(values: &[Option<String>]) -> bool {
    values.iter().any(|v| *v != values[0])
}

impl Comparison {
    /// Every failed cell: (metric name, run number from 1, reason), metric by metric.
    pub(crate) fn failures(&self) -> Vec<(&str, usize, &str)> {
        self.metrics
            .iter()
            .flat_map(|m| {
                m.cells
                    .iter()
                    .enumerate()
                    .filter_map(move |(i, c)| match c {
                        Cell::Failed(why) => Some((m.name.as_str(), i + 1, why.as_str())),
                        _ => None,
                    })
            })
            .collect()
    }

    /// The Markdown report: the runs, the parameters (differing ones marked), and the metric
    /// table (`#1`, then per later run its value, delta % and ratio against #1).
    pub fn to_markdown(&self, plot: Option<&str>) -> String {
        let mut out = format!("# {} comparison of {} runs\n\n", self.kind, self.runs.len());
        out.push_str("| run | cluster | Lustre | started | file stem |\n|---|---|---|---|---|\n");
        for r in &self.runs {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                r.label,
                md_cell(&r.cluster),
                md_cell(&r.lustre_version),
                md_cell(&r.started_at),
                md_cell(&r.file_stem)
            ));
        }
        if !self.parameters.is_empty() {
            out.push_str(&self.parameters_markdown());
        }
        out.push_str("\n## Metrics\n\nDelta and ratio are against run #1.\n\n");
        out.push_str(&self.metrics_markdown());
        if let Some(plot) = plot {
            out.push_str(&format!("\n![comparison]({plot})\n"));
        }
        out
    }

    fn parameters_markdown(&self) -> String {
        let mut out = String::from("\n## Parameters\n\n| parameter |");
        let mut rule = String::from("|---|");
        for r in &self.runs {
            out.push_str(&format!(" {} |", r.label));
            rule.push_str("---|");
        }
        out.push_str(&format!("\n{rule}\n"));
        let mut differ = false;
        for (key, values) in &self.parameters {
            let same = !differs(values);
            differ |= !same;
            let mark = if same { "" } else { " (differs)" };
            out.push_str(&format!("| {}{mark} |", md_cell(key)));
            for v in values {
                out.push_str(&format!(" {} |", v.as_deref().map_or("—".into(), md_cell)));
            }
            out.push('\n');
        }
        if differ {
            out.push_str("\nSome parameters differ: the runs did not measure the same thing.\n");
        }
        out
    }

    fn metrics_markdown(&self) -> String {
        let mut out = String::from("| metric | unit | #1 |");
        let mut rule = String::from("|---|---|---:|");
        for r in self.runs.iter().skip(1) {
            out.push_str(&format!(" {0} | Δ% {0} | ratio {0} |", r.label));
            rule.push_str("---:|---:|---:|");
        }
        out.push_str(&format!("\n{rule}\n"));
        for m in &self.metrics {
            out.push_str(&format!("| {} | {} |", md_cell(&m.name), md_cell(&m.unit)));
            for (i, c) in m.cells.iter().enumerate() {
                out.push_str(&format!(" {} |", c.text()));
                if i > 0 {
                    out.push_str(&format!(" {} | {} |", m.delta_text(i), m.ratio_text(i)));
                }
            }
            out.push('\n');
        }
        let failures = self.failures();
        if !failures.is_empty() {
            out.push_str("\nFailed:\n\n");
            for (name, run, why) in failures {
                out.push_str(&format!(
                    "- {} in run #{run}: {}\n",
                    md_cell(name),
                    md_cell(why)
                ));
            }
        }
        out
    }
}
