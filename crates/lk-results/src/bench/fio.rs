//! fio's JSON output (`fio --output-format=json`, fio 3.33 as in Debian 12): per job, read
//! and write bandwidth (KiB/s), IOPS, and completion/total latency (ns) with percentiles.
//!
//! Only the fields used here are read, and each must be there with its type; the many
//! others fio writes (and adds between versions) are not looked at. The input must be the
//! JSON alone: use `--output=FILE`, since fio can print warnings before the JSON on stdout.
//! Each job of the output is one entry (with `numjobs=N` and no `group_reporting`, fio writes
//! N jobs of the same name; they are told apart as `name#1`, `name#2`, ...).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::run::Metric;

/// Why fio output was refused.
#[derive(Debug, Error)]
pub enum FioError {
    #[error("fio JSON: at {path}")]
    Json {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("fio JSON: job {job:?} {direction}.{latency}: percentile {key:?} is not a number")]
    BadPercentile {
        job: String,
        direction: &'static str,
        latency: &'static str,
        key: String,
    },
    #[error("fio JSON: no jobs")]
    NoJobs,
    #[error(
        "not fio JSON: the first line is {first_line:?}; fio may print warnings before the \
         JSON on stdout, so give it --output=FILE"
    )]
    NotJson { first_line: String },
}

#[derive(Deserialize)]
struct RawOutput {
    #[serde(rename = "fio version")]
    version: String,
    timestamp: u64,
    jobs: Vec<RawJob>,
}

#[derive(Deserialize)]
struct RawJob {
    jobname: String,
    error: i64,
    #[serde(rename = "job options", default)]
    options: BTreeMap<String, String>,
    read: RawDirection,
    write: RawDirection,
    trim: RawDirection,
}

#[derive(Deserialize)]
struct RawDirection {
    io_bytes: u64,
    bw: u64,
    iops: f64,
    runtime: u64,
    total_ios: u64,
    clat_ns: RawLatency,
    lat_ns: RawLatency,
}

#[derive(Deserialize)]
struct RawLatency {
    min: u64,
    max: u64,
    mean: f64,
    stddev: f64,
    #[serde(rename = "N")]
    n: u64,
    #[serde(default)]
    percentile: BTreeMap<String, u64>,
}

/// A fio run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FioRun {
    /// `fio-3.33`.
    pub version: String,
    /// Unix time fio wrote.
    pub timestamp: u64,
    pub jobs: Vec<FioJob>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FioJob {
    /// The job's name, with `#N` when several jobs share it.
    pub name: String,
    /// fio's error number for the job; 0 when it ran.
    pub error: i64,
    /// The job's own options (`rw`, `bs`, ...), as fio wrote them.
    pub options: BTreeMap<String, String>,
    /// Directions that did any I/O.
    pub read: Option<Direction>,
    pub write: Option<Direction>,
    pub trim: Option<Direction>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Direction {
    pub io_bytes: u64,
    /// Bandwidth, KiB/s (fio's `bw`).
    pub bw_kib_s: u64,
    pub iops: f64,
    pub runtime_ms: u64,
    pub total_ios: u64,
    /// Completion latency.
    pub clat_ns: Latency,
    /// Total latency (submission + completion); percentiles only with `lat_percentiles=1`.
    pub lat_ns: Latency,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Latency {
    pub min: u64,
    pub max: u64,
    pub mean: f64,
    pub stddev: f64,
    pub samples: u64,
    /// (percentile, ns), ascending.
    pub percentiles: Vec<(f64, u64)>,
}

/// Parses `fio --output-format=json` output.
pub fn parse_fio_json(json: &str) -> Result<FioRun, FioError> {
    if !json.trim_start().starts_with('{') {
        let first_line = json.trim_start().lines().next().unwrap_or("").to_string();
        return Err(FioError::NotJson { first_line });
    }
    let de = &mut serde_json::Deserializer::from_str(json);
    let raw: RawOutput = serde_path_to_error::deserialize(de).map_err(|e| FioError::Json {
        path: e.path().to_string(),
        source: e.into_inner(),
    })?;
    if raw.jobs.is_empty() {
        return Err(FioError::NoJobs);
    }
    let mut jobs = Vec::with_capacity(raw.jobs.len());
    for (i, job) in raw.jobs.iter().enumerate() {
        let same: Vec<usize> = (0..raw.jobs.len())
            .filter(|&j| raw.jobs[j].jobname == job.jobname)
            .collect();
        let name = match same.iter().position(|&j| j == i) {
            Some(k) if same.len() > 1 => format!("{}#{}", job.jobname, k + 1),
            _ => job.jobname.clone(),
        };
        jobs.push(FioJob {
            error: job.error,
            options: job.options.clone(),
            read: direction(&name, "read", &job.read)?,
            write: direction(&name, "write", &job.write)?,
            trim: direction(&name, "trim", &job.trim)?,
            name,
        });
    }
    Ok(FioRun {
        version: raw.version,
        timestamp: raw.timestamp,
        jobs,
    })
}

fn direction(
    job: &str,
    name: &'static str,
    raw: &RawDirection,
) -> Result<Option<Direction>, FioError> {
    if raw.total_ios == 0 && raw.io_bytes == 0 {
        return Ok(None);
    }
    Ok(Some(Direction {
        io_bytes: raw.io_bytes,
        bw_kib_s: raw.bw,
        iops: raw.iops,
        runtime_ms: raw.runtime,
        total_ios: raw.total_ios,
        clat_ns: latency(job, name, "clat_ns", &raw.clat_ns)?,
        lat_ns: latency(job, name, "lat_ns", &raw.lat_ns)?,
    }))
}

fn latency(
    job: &str,
    direction: &'static str,
    latency: &'static str,
    raw: &RawLatency,
) -> Result<Latency, FioError> {
    let mut percentiles = Vec::with_capacity(raw.percentile.len());
    for (key, &ns) in &raw.percentile {
        let p = key
            .parse::<f64>()
            .ok()
            .filter(|p| (0.0..=100.0).contains(p))
            .ok_or_else(|| FioError::BadPercentile {
                job: job.to_string(),
                direction,
                latency,
                key: key.clone(),
            })?;
        percentiles.push((p, ns));
    }
    percentiles.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(Latency {
        min: raw.min,
        max: raw.max,
        mean: raw.mean,
        stddev: raw.stddev,
        samples: raw.n,
        percentiles,
    })
}

/// The percentiles reported as metrics, when fio computed them.
pub const PERCENTILES: [f64; 4] = [50.0, 95.0, 99.0, 99.9];

impl Latency {
    /// The value at percentile `p`, if fio reported exactly that percentile.
    pub fn percentile(&self, p: f64) -> Option<u64> {
        self.percentiles
            .iter()
            .find(|(q, _)| (q - p).abs() < 1e-9)
            .map(|&(_, ns)| ns)
    }
}

impl FioRun {
    /// Per job and direction with I/O: `{job} {dir} bw` (KiB/s), `iops` (IO/s), `clat mean`
    /// and `clat p50/p95/p99/p99.9` (ns), `lat mean` and the `lat` percentiles when present.
    /// A job with an error gives one failed metric `{job}` instead.
    pub fn metrics(&self) -> Vec<Metric> {
        let mut metrics = Vec::new();
        for job in &self.jobs {
            if job.error != 0 {
                let reason = format!("fio reported error {} for the job", job.error);
                metrics.push(Metric::failed(&job.name, "", reason));
                continue;
            }
            for (dir, d) in [
                ("read", &job.read),
                ("write", &job.write),
                ("trim", &job.trim),
            ] {
                let Some(d) = d else { continue };
                let prefix = format!("{} {dir}", job.name);
                metrics.push(Metric::new(
                    format!("{prefix} bw"),
                    "KiB/s",
                    d.bw_kib_s as f64,
                ));
                metrics.push(Metric::new(format!("{prefix} iops"), "IO/s", d.iops));
                for (label, lat) in [("clat", &d.clat_ns), ("lat", &d.lat_ns)] {
                    metrics.push(Metric::new(
                        format!("{prefix} {label} mean"),
                        "ns",
                        lat.mean,
                    ));
                    for p in PERCENTILES {
                        if let Some(ns) = lat.percentile(p) {
                            let name = format!("{prefix} {label} p{p}");
                            metrics.push(Metric::new(name, "ns", ns as f64));
                        }
                    }
                }
            }
        }
        metrics
    }
}
