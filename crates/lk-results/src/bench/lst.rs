//! `lst stat GROUP...` output (LNet selftest), as `lnet/utils/lst.c` prints it
//! (`lst_print_stat`, `lst_print_lnet_stat`) in Lustre 2.17.0:
//!
//! ```text
//! [LNet Rates of servers]
//! [R] Avg: 3466     RPC/s Min: 3466     RPC/s Max: 3466     RPC/s
//! [W] Avg: 3466     RPC/s Min: 3466     RPC/s Max: 3466     RPC/s
//! [LNet Bandwidth of servers]
//! [R] Avg: 1733.12  MiB/s Min: 1733.12  MiB/s Max: 1733.12  MiB/s
//! [W] Avg: 0.32     MiB/s Min: 0.32     MiB/s Max: 0.32     MiB/s
//! ```
//!
//! One such block per group per interval (`--delay`, 5 s), after a first interval that prints
//! nothing; `--bw`/`--rate`, `--read`/`--write` and `--avg`/`--min`/`--max` leave parts out;
//! `--mbs` prints `MB/s` instead of `MiB/s`. `[R]` is what the group's nodes received, `[W]`
//! what they sent. Avg/Min/Max are over the group's nodes in that interval. A line
//! `Failed to stat on N nodes` precedes a block whose interval lost nodes (and replaces it when
//! every node was lost). Every other line is an error.

use serde::Serialize;
use thiserror::Error;

use super::run::Metric;

/// Why `lst stat` output was refused. Lines are 1-based.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LstError {
    #[error("line {line}: not lst stat output: {text:?}")]
    UnknownLine { line: usize, text: String },
    #[error("line {line}: a [R]/[W] line before any '[LNet ... of GROUP]' header")]
    NoHeader { line: usize },
    #[error("line {line}: {problem} in {text:?}")]
    BadStatLine {
        line: usize,
        problem: String,
        text: String,
    },
    #[error("line {line}: the block of group {group:?} has no [R]/[W] lines")]
    EmptyBlock { line: usize, group: String },
    #[error("no '[LNet Rates/Bandwidth of GROUP]' block: lst stat printed no result")]
    NoResults,
}

/// Rates (RPC/s) or bandwidth (MiB/s or MB/s).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Quantity {
    Rates,
    Bandwidth,
}

/// Avg/Min/Max over a group's nodes; each may be left out by lst's flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Stats {
    pub avg: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// One block: `[R]` (received) and `[W]` (sent).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Directions {
    pub read: Option<Stats>,
    pub write: Option<Stats>,
}

/// One interval of one group.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Sample {
    /// RPC/s.
    pub rates: Option<Directions>,
    pub bandwidth: Option<Directions>,
}

/// Every interval of one group, in order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    pub name: String,
    pub samples: Vec<Sample>,
}

/// A whole `lst stat` output.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LstStat {
    pub groups: Vec<Group>,
    /// `MiB/s`, or `MB/s` under `--mbs`.
    pub bandwidth_unit: &'static str,
    /// Node counts of each `Failed to stat on N nodes` line.
    pub failed_nodes: Vec<u32>,
}

/// Parses `lst stat` output. Strict: a line that is not a block header, an `[R]`/`[W]` line,
/// a `Failed to stat` line or blank is an error naming its line.
pub fn parse_lst_stat(text: &str) -> Result<LstStat, LstError> {
    let mut out = LstStat {
        groups: Vec::new(),
        bandwidth_unit: "MiB/s",
        failed_nodes: Vec::new(),
    };
    // The block being read: (group index, quantity, header line, lines read).
    let mut block: Option<(usize, Quantity, usize, usize)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if let Some((quantity, group)) = header(raw) {
            close_block(&out, block)?;
            let g = match out.groups.iter().position(|g| g.name == group) {
                Some(g) => g,
                None => {
                    out.groups.push(Group {
                        name: group.to_string(),
                        samples: Vec::new(),
                    });
                    out.groups.len() - 1
                }
            };
            let samples = &mut out.groups[g].samples;
            // A quantity seen again for the group starts its next interval.
            let full = samples.last().is_none_or(|s| match quantity {
                Quantity::Rates => s.rates.is_some(),
                Quantity::Bandwidth => s.bandwidth.is_some(),
            });
            if full {
                samples.push(Sample::default());
            }
            block = Some((g, quantity, line, 0));
        } else if let Some(rest) = raw.strip_prefix("[R] ").or(raw.strip_prefix("[W] ")) {
            let Some((g, quantity, _, count)) = block.as_mut() else {
                return Err(LstError::NoHeader { line });
            };
            *count += 1;
            let stats = stat_line(rest, *quantity, line, raw, &mut out.bandwidth_unit)?;
            let sample = out.groups[*g]
                .samples
                .last_mut()
                .ok_or(LstError::NoHeader { line })?;
            let dirs = match quantity {
                Quantity::Rates => sample.rates.get_or_insert_with(Directions::default),
                Quantity::Bandwidth => sample.bandwidth.get_or_insert_with(Directions::default),
            };
            let slot = if raw.starts_with("[R]") {
                &mut dirs.read
            } else {
                &mut dirs.write
            };
            if slot.is_some() {
                return Err(bad(line, raw, "a second line for the same direction"));
            }
            *slot = Some(stats);
        } else if let Some(n) = failed_line(raw) {
            close_block(&out, block.take())?;
            out.failed_nodes.push(n);
        } else if raw.trim().is_empty() {
            continue;
        } else {
            return Err(LstError::UnknownLine {
                line,
                text: raw.to_string(),
            });
        }
    }
    close_block(&out, block)?;
    if out.groups.is_empty() {
        return Err(LstError::NoResults);
    }
    Ok(out)
}

fn close_block(
    out: &LstStat,
    block: Option<(usize, Quantity, usize, usize)>,
) -> Result<(), LstError> {
    match block {
        Some((g, _, line, 0)) => Err(LstError::EmptyBlock {
            line,
            group: out.groups[g].name.clone(),
        }),
        _ => Ok(()),
    }
}

fn header(raw: &str) -> Option<(Quantity, &str)> {
    let inner = raw.trim_end().strip_prefix("[LNet ")?.strip_suffix(']')?;
    let (quantity, group) = if let Some(g) = inner.strip_prefix("Rates of ") {
        (Quantity::Rates, g)
    } else {
        (Quantity::Bandwidth, inner.strip_prefix("Bandwidth of ")?)
    };
    (!group.is_empty()).then_some((quantity, group))
}

fn failed_line(raw: &str) -> Option<u32> {
    let n = raw
        .trim_end()
        .strip_prefix("Failed to stat on ")?
        .strip_suffix(" nodes")?;
    n.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| n.parse().ok())?
}

fn bad(line: usize, raw: &str, problem: impl Into<String>) -> LstError {
    LstError::BadStatLine {
        line,
        problem: problem.into(),
        text: raw.to_string(),
    }
}

/// `Avg: N UNIT Min: N UNIT Max: N UNIT`, any in-order subset of the three.
fn stat_line(
    rest: &str,
    quantity: Quantity,
    line: usize,
    raw: &str,
    bandwidth_unit: &mut &'static str,
) -> Result<Stats, LstError> {
    let tokens: Vec<&str> = rest.split_whitespace().collect();
    if tokens.is_empty() || !tokens.len().is_multiple_of(3) {
        return Err(bad(
            line,
            raw,
            "expected 'Avg:/Min:/Max: NUMBER UNIT' fields",
        ));
    }
    let mut stats = Stats::default();
    let mut last = 0;
    for field in tokens.chunks(3) {
        let (order, slot) = match field[0] {
            "Avg:" => (1, &mut stats.avg),
            "Min:" => (2, &mut stats.min),
            "Max:" => (3, &mut stats.max),
            other => {
                return Err(bad(
                    line,
                    raw,
                    format!("{other:?} is not Avg:, Min: or Max:"),
                ))
            }
        };
        if order <= last {
            return Err(bad(line, raw, "Avg, Min and Max out of order or repeated"));
        }
        last = order;
        *slot = Some(number(field[1]).ok_or_else(|| {
            bad(
                line,
                raw,
                format!("{:?} is not a finite decimal number", field[1]),
            )
        })?);
        let unit_ok = match (quantity, field[2]) {
            (Quantity::Rates, "RPC/s") => true,
            (Quantity::Bandwidth, u @ ("MiB/s" | "MB/s")) => {
                *bandwidth_unit = if u == "MB/s" { "MB/s" } else { "MiB/s" };
                true
            }
            _ => false,
        };
        if !unit_ok {
            let expected = match quantity {
                Quantity::Rates => "RPC/s",
                Quantity::Bandwidth => "MiB/s or MB/s",
            };
            return Err(bad(
                line,
                raw,
                format!("unit {:?} where {expected} belongs", field[2]),
            ));
        }
    }
    Ok(stats)
}

/// `%f` output: `-?digits(.digits)?`; `nan`/`inf` (a zero interval) are refused.
pub(crate) fn number(s: &str) -> Option<f64> {
    let unsigned = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, "0"));
    let ok = !int.is_empty()
        && !frac.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| s.parse().ok()).flatten()
}

impl LstStat {
    /// Metrics `{group} {rates|bandwidth} {read|write} {avg|min|max}` (value: the mean over
    /// intervals; samples: every interval), and `stat failures` (nodes) when lst lost nodes.
    pub fn metrics(&self) -> Vec<Metric> {
        let mut metrics = Vec::new();
        for group in &self.groups {
            for (quantity, unit) in [("rates", "RPC/s"), ("bandwidth", self.bandwidth_unit)] {
                for dir in ["read", "write"] {
                    for stat in ["avg", "min", "max"] {
                        let samples: Vec<f64> = group
                            .samples
                            .iter()
                            .filter_map(|s| pick(s, quantity, dir, stat))
                            .collect();
                        let name = format!("{} {quantity} {dir} {stat}", group.name);
                        metrics.extend(Metric::from_samples(name, unit, samples));
                    }
                }
            }
        }
        if !self.failed_nodes.is_empty() {
            let total: u32 = self.failed_nodes.iter().sum();
            metrics.push(Metric::new("stat failures", "nodes", f64::from(total)));
        }
        metrics
    }
}

fn pick(sample: &Sample, quantity: &str, dir: &str, stat: &str) -> Option<f64> {
    let dirs = match quantity {
        "rates" => sample.rates.as_ref()?,
        _ => sample.bandwidth.as_ref()?,
    };
    let stats = match dir {
        "read" => dirs.read?,
        _ => dirs.write?,
    };
    match stat {
        "avg" => stats.avg,
        "min" => stats.min,
        _ => stats.max,
    }
}
