//! [`BenchRun`]: one benchmark run as lustrekit stores it (JSON), whatever tool made it.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Which benchmark a run is. Runs of different kinds are never compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum BenchKind {
    /// `lst stat` of an LNet selftest session.
    LnetSelftest,
    /// lustre-iokit's `obdfilter-survey`.
    ObdfilterSurvey,
    /// `fio --output-format=json`.
    Fio,
    /// ior's JSON summary.
    Ior,
    /// mdtest's summary tables.
    Mdtest,
}

impl BenchKind {
    /// The kebab-case word used in JSON, file names and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            BenchKind::LnetSelftest => "lnet-selftest",
            BenchKind::ObdfilterSurvey => "obdfilter-survey",
            BenchKind::Fio => "fio",
            BenchKind::Ior => "ior",
            BenchKind::Mdtest => "mdtest",
        }
    }
}

impl std::fmt::Display for BenchKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One measured quantity. Exactly one of `value` and `failure` is set: a measurement that
/// failed is reported as failed, never as zero.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metric {
    /// Unique within the run; the key by which runs are compared.
    pub name: String,
    /// `MiB/s`, `RPC/s`, `KiB/s`, `IO/s`, `ns`, ...
    pub unit: String,
    /// The value (the mean of `samples` when there are samples).
    pub value: Option<f64>,
    /// Every sample, in order, when the tool reported several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples: Option<Vec<f64>>,
    /// Why there is no value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

impl Metric {
    pub fn new(name: impl Into<String>, unit: impl Into<String>, value: f64) -> Metric {
        Metric {
            name: name.into(),
            unit: unit.into(),
            value: Some(value),
            samples: None,
            failure: None,
        }
    }

    /// A metric whose value is the mean of `samples` (which must not be empty: `None` if so).
    pub fn from_samples(
        name: impl Into<String>,
        unit: impl Into<String>,
        samples: Vec<f64>,
    ) -> Option<Metric> {
        let value = mean(&samples)?;
        Some(Metric {
            name: name.into(),
            unit: unit.into(),
            value: Some(value),
            samples: Some(samples),
            failure: None,
        })
    }

    pub fn failed(
        name: impl Into<String>,
        unit: impl Into<String>,
        reason: impl Into<String>,
    ) -> Metric {
        Metric {
            name: name.into(),
            unit: unit.into(),
            value: None,
            samples: None,
            failure: Some(reason.into()),
        }
    }
}

/// The arithmetic mean; `None` for no values.
pub fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// A benchmark run: what ran where, and what it measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenchRun {
    pub kind: BenchKind,
    /// The cluster's name (letters, digits, `.`, `_`, `-`).
    pub cluster: String,
    /// Hex hash of the cluster's topology (at least 8 digits), so runs on different layouts are
    /// told apart.
    pub topology_hash: String,
    /// Lustre version, e.g. `2.17.0`.
    pub lustre_version: String,
    /// When the run started, RFC 3339 (`2026-12-02T00:12:50Z`), supplied by the caller.
    pub started_at: String,
    /// The tool's parameters (sizes, thread counts, groups, ...).
    pub parameters: BTreeMap<String, String>,
    pub metrics: Vec<Metric>,
}

/// Why a [`BenchRun`] is invalid, or its JSON unreadable.
#[derive(Debug, Error)]
pub enum RunError {
    #[error("{field} {value:?} is not {expected}")]
    BadField {
        field: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("metric {name:?} appears more than once")]
    DuplicateMetric { name: String },
    #[error("metric {name:?}: {problem}")]
    BadMetric { name: String, problem: &'static str },
    #[error("parameter with an empty name")]
    EmptyParameter,
    #[error("reading a bench run from JSON")]
    Json(#[source] serde_json::Error),
    #[error("writing a bench run as JSON")]
    WriteJson(#[source] serde_json::Error),
}

impl BenchRun {
    /// A run without parameters or metrics yet; checks every field (see [`BenchRun::validate`]).
    pub fn new(
        kind: BenchKind,
        cluster: impl Into<String>,
        topology_hash: impl Into<String>,
        lustre_version: impl Into<String>,
        started_at: impl Into<String>,
    ) -> Result<BenchRun, RunError> {
        let run = BenchRun {
            kind,
            cluster: cluster.into(),
            topology_hash: topology_hash.into(),
            lustre_version: lustre_version.into(),
            started_at: started_at.into(),
            parameters: BTreeMap::new(),
            metrics: Vec::new(),
        };
        run.validate()?;
        Ok(run)
    }

    /// Checks the fields (names safe in a file name, hex hash, RFC 3339 time) and the metrics
    /// (unique names, finite numbers, exactly one of value and failure).
    pub fn validate(&self) -> Result<(), RunError> {
        let bad = |field, value: &str, expected| RunError::BadField {
            field,
            value: value.to_string(),
            expected,
        };
        if !is_name(&self.cluster) {
            return Err(bad("cluster", &self.cluster, NAME_RULE));
        }
        if !is_name(&self.lustre_version) {
            return Err(bad("lustre_version", &self.lustre_version, NAME_RULE));
        }
        let hash = &self.topology_hash;
        if hash.len() < 8 || !hash.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(bad("topology_hash", hash, "at least 8 hex digits"));
        }
        if compact_time(&self.started_at).is_none() {
            return Err(bad("started_at", &self.started_at, RFC3339_RULE));
        }
        if self.parameters.keys().any(|k| k.is_empty()) {
            return Err(RunError::EmptyParameter);
        }
        let mut seen = BTreeSet::new();
        for m in &self.metrics {
            validate_metric(m)?;
            if !seen.insert(m.name.as_str()) {
                return Err(RunError::DuplicateMetric {
                    name: m.name.clone(),
                });
            }
        }
        Ok(())
    }

    /// `{cluster}-{kind}-{lustre_version}-{topohash8}-{time}`, the time in ISO 8601 basic
    /// form (`20261202T001250Z`; an offset kept as `+0100`), safe as a file name.
    pub fn file_stem(&self) -> String {
        let hash8: String = self.topology_hash.chars().take(8).collect();
        let time = compact_time(&self.started_at).unwrap_or_else(|| "invalid-time".to_string());
        format!(
            "{}-{}-{}-{}-{}",
            self.cluster, self.kind, self.lustre_version, hash8, time
        )
    }

    /// The metric named `name`.
    pub fn metric(&self, name: &str) -> Option<&Metric> {
        self.metrics.iter().find(|m| m.name == name)
    }

    /// Pretty JSON, after validating.
    pub fn to_json(&self) -> Result<String, RunError> {
        self.validate()?;
        serde_json::to_string_pretty(self).map_err(RunError::WriteJson)
    }

    /// Reads and validates a run written by [`BenchRun::to_json`].
    pub fn from_json(json: &str) -> Result<BenchRun, RunError> {
        let run: BenchRun = serde_json::from_str(json).map_err(RunError::Json)?;
        run.validate()?;
        Ok(run)
    }
}

const NAME_RULE: &str = "a non-empty name of letters, digits, '.', '_', '+' and '-'";
const RFC3339_RULE: &str = "an RFC 3339 time such as 2026-12-02T00:12:50Z";

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('.')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'))
}

fn validate_metric(m: &Metric) -> Result<(), RunError> {
    let bad = |problem| RunError::BadMetric {
        name: m.name.clone(),
        problem,
    };
    if m.name.trim().is_empty() {
        return Err(bad("empty name"));
    }
    match (&m.value, &m.failure) {
        (Some(v), None) if !v.is_finite() => return Err(bad("value is not a finite number")),
        (Some(_), None) | (None, Some(_)) => {}
        _ => return Err(bad("needs exactly one of value and failure")),
    }
    if let Some(samples) = &m.samples {
        if samples.is_empty() {
            return Err(bad("samples is empty (leave it out instead)"));
        }
        if samples.iter().any(|s| !s.is_finite()) {
            return Err(bad("a sample is not a finite number"));
        }
    }
    Ok(())
}

/// RFC 3339 (`YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`, `T`/`t`/space and `z` accepted) in ISO
/// 8601 basic form, or `None` if it is not RFC 3339.
pub fn compact_time(t: &str) -> Option<String> {
    let b = t.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        b.get(range.clone())
            .filter(|s| s.iter().all(u8::is_ascii_digit))
            .map(|s| s.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0')))
    };
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    let seps = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if seps.iter().any(|&(i, c)| b[i] != c) || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let month_ok = (1..=12).contains(&month) && (1..=days[month as usize - 1]).contains(&day);
    if !month_ok || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &t[19..];
    let mut frac = "";
    if let Some(after) = rest.strip_prefix('.') {
        let n = after.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        frac = &rest[..=n];
        rest = &after[n..];
    }
    let offset = match rest {
        "Z" | "z" => "Z".to_string(),
        _ => {
            let o = rest.as_bytes();
            let sign_ok = o.len() == 6 && matches!(o[0], b'+' | b'-') && o[3] == b':';
            let hh = rest.get(1..3).and_then(|s| s.parse::<u32>().ok());
            let mm = rest.get(4..6).and_then(|s| s.parse::<u32>().ok());
            match (sign_ok, hh, mm) {
                (true, Some(h), Some(m)) if h <= 23 && m <= 59 => {
                    format!("{}{:02}{:02}", o[0] as char, h, m)
                }
                _ => return None,
            }
        }
    };
    Some(format!(
        "{year:04}{month:02}{day:02}T{hour:02}{minute:02}{second:02}{frac}{offset}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times() {
        let ok = [
            ("2026-12-02T00:12:50Z", "20261202T001250Z"),
            ("2026-12-02t00:12:50.25z", "20261202T001250.25Z"),
            ("2024-02-29T23:59:60+01:00", "20240229T235960+0100"),
            ("2026-12-02 00:12:50-05:30", "20261202T001250-0530"),
        ];
        for (t, compact) in ok {
            assert_eq!(compact_time(t).as_deref(), Some(compact), "{t}");
        }
        let bad = [
            "",
            "2026-12-02",
            "2026-12-02T00:12:50",
            "2026-13-02T00:12:50Z",
            "2025-02-29T00:12:50Z",
            "2026-12-02T24:00:00Z",
            "2026-12-02T00:12:50.Z",
            "2026-12-02T00:12:50+1:00",
            "2026-12-02T00:12:50+01:60",
            "2026-12-02T00:12:50Zjunk",
            "２０２６-12-02T00:12:50Z",
        ];
        for t in bad {
            assert_eq!(compact_time(t), None, "{t}");
        }
    }

    #[test]
    fn file_stem_and_validation() {
        let mut run = BenchRun::new(
            BenchKind::Fio,
            "c1",
            "0123456789abcdef",
            "2.17.0",
            "2026-12-02T00:12:50Z",
        )
        .expect("valid");
        assert_eq!(run.file_stem(), "c1-fio-2.17.0-01234567-20261202T001250Z");
        run.metrics.push(Metric::new("a", "MiB/s", 1.0));
        run.metrics.push(Metric::new("a", "MiB/s", 2.0));
        assert!(matches!(
            run.validate(),
            Err(RunError::DuplicateMetric { .. })
        ));
        run.metrics.pop();
        run.metrics.push(Metric::new("b", "MiB/s", f64::NAN));
        assert!(matches!(run.validate(), Err(RunError::BadMetric { .. })));
        for (cluster, hash) in [("a/b", "01234567"), ("c1", "0123"), ("c1", "0123456g")] {
            let r = BenchRun::new(
                BenchKind::Fio,
                cluster,
                hash,
                "2.17.0",
                "2026-12-02T00:12:50Z",
            );
            assert!(
                matches!(r, Err(RunError::BadField { .. })),
                "{cluster} {hash}"
            );
        }
    }
}
