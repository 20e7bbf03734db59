//! ior's JSON summary (`ior ... -O summaryFormat=JSON -O summaryFile=FILE`, ior 4.x): per
//! operation (write, read) the bandwidth (MiB/s) and operation rate (transfers/s) across the
//! repetitions, max, min and mean, plus each repetition's own numbers.
//!
//! Only the fields used here are read, and each must be there with its type; ior's many
//! others are not looked at. The input must be the JSON alone: with `summaryFile` ior writes
//! it to that file and says only where on stdout, so warnings never land inside it.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::run::Metric;

/// Why ior output was refused.
#[derive(Debug, Error)]
pub enum IorError {
    #[error("ior JSON: at {path}")]
    Json {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("ior JSON: the summary is empty (no operation finished)")]
    NoSummary,
    #[error(
        "ior JSON: summary entry {index}: unknown operation {operation:?} (not write or read)"
    )]
    UnknownOperation { index: usize, operation: String },
    #[error("ior JSON: {what} is negative ({value})")]
    Negative { what: String, value: f64 },
    #[error(
        "not ior JSON: the first line is {first_line:?}; run ior with -O summaryFormat=JSON \
         -O summaryFile=FILE and read the file"
    )]
    NotJson { first_line: String },
}

#[derive(Deserialize)]
struct RawOutput {
    #[serde(rename = "Version")]
    version: String,
    #[serde(rename = "Began")]
    began: String,
    #[serde(rename = "Command line")]
    command: String,
    tests: Vec<RawTest>,
    summary: Vec<RawSummary>,
}

#[derive(Deserialize)]
struct RawTest {
    #[serde(rename = "TestID")]
    id: i64,
    #[serde(rename = "Results")]
    results: Vec<RawResult>,
}

#[derive(Deserialize)]
struct RawResult {
    access: String,
    #[serde(rename = "bwMiB")]
    bw_mib: f64,
    iops: f64,
    #[serde(rename = "totalTime")]
    total_time: f64,
}

#[derive(Deserialize)]
struct RawSummary {
    operation: String,
    #[serde(rename = "TestID")]
    test_id: i64,
    #[serde(rename = "blockSize")]
    block_size: u64,
    #[serde(rename = "transferSize")]
    transfer_size: u64,
    #[serde(rename = "numTasks")]
    tasks: u64,
    repetitions: u64,
    #[serde(rename = "filePerProc")]
    file_per_proc: u8,
    #[serde(rename = "bwMaxMIB")]
    bw_max: f64,
    #[serde(rename = "bwMinMIB")]
    bw_min: f64,
    #[serde(rename = "bwMeanMIB")]
    bw_mean: f64,
    #[serde(rename = "OPsMax")]
    ops_max: f64,
    #[serde(rename = "OPsMin")]
    ops_min: f64,
    #[serde(rename = "OPsMean")]
    ops_mean: f64,
}

/// What ior measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IorOperation {
    Write,
    Read,
}

impl IorOperation {
    fn parse(s: &str) -> Option<IorOperation> {
        match s {
            "write" => Some(IorOperation::Write),
            "read" => Some(IorOperation::Read),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            IorOperation::Write => "write",
            IorOperation::Read => "read",
        }
    }
}

/// An ior run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IorRun {
    /// `4.1.0+dev`.
    pub version: String,
    /// When ior began, as it wrote it (`Wed Dec  2 11:16:24 2026`).
    pub began: String,
    pub command: String,
    /// One per operation of each test, in ior's order.
    pub summary: Vec<IorSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IorSummary {
    pub operation: IorOperation,
    pub test_id: i64,
    pub block_size: u64,
    pub transfer_size: u64,
    pub tasks: u64,
    pub repetitions: u64,
    pub file_per_process: bool,
    /// Bandwidth across the repetitions, MiB/s.
    pub bw_max_mib_s: f64,
    pub bw_min_mib_s: f64,
    pub bw_mean_mib_s: f64,
    /// Transfers per second across the repetitions.
    pub ops_max: f64,
    pub ops_min: f64,
    pub ops_mean: f64,
    /// Each repetition's bandwidth (MiB/s), IOPS and seconds, from the test's results.
    pub reps: Vec<IorRep>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IorRep {
    pub bw_mib_s: f64,
    pub iops: f64,
    pub seconds: f64,
}

/// Parses ior's JSON summary file.
pub fn parse_ior_json(json: &str) -> Result<IorRun, IorError> {
    if !json.trim_start().starts_with('{') {
        let first_line = json.trim_start().lines().next().unwrap_or("").to_string();
        return Err(IorError::NotJson { first_line });
    }
    let de = &mut serde_json::Deserializer::from_str(json);
    let raw: RawOutput = serde_path_to_error::deserialize(de).map_err(|e| IorError::Json {
        path: e.path().to_string(),
        source: e.into_inner(),
    })?;
    if raw.summary.is_empty() {
        return Err(IorError::NoSummary);
    }
    let mut summary = Vec::with_capacity(raw.summary.len());
    for (index, s) in raw.summary.iter().enumerate() {
        let operation =
            IorOperation::parse(&s.operation).ok_or_else(|| IorError::UnknownOperation {
                index,
                operation: s.operation.clone(),
            })?;
        let reps: Vec<IorRep> = raw
            .tests
            .iter()
            .filter(|t| t.id == s.test_id)
            .flat_map(|t| &t.results)
            .filter(|r| r.access == s.operation)
            .map(|r| IorRep {
                bw_mib_s: r.bw_mib,
                iops: r.iops,
                seconds: r.total_time,
            })
            .collect();
        let numbers = [
            ("bwMaxMIB", s.bw_max),
            ("bwMinMIB", s.bw_min),
            ("bwMeanMIB", s.bw_mean),
            ("OPsMax", s.ops_max),
            ("OPsMin", s.ops_min),
            ("OPsMean", s.ops_mean),
        ];
        let reps_numbers = reps.iter().flat_map(|r| {
            [
                ("bwMiB", r.bw_mib_s),
                ("iops", r.iops),
                ("totalTime", r.seconds),
            ]
        });
        for (what, value) in numbers.into_iter().chain(reps_numbers) {
            if value < 0.0 {
                let what = format!("{} {what}", s.operation);
                return Err(IorError::Negative { what, value });
            }
        }
        summary.push(IorSummary {
            operation,
            test_id: s.test_id,
            block_size: s.block_size,
            transfer_size: s.transfer_size,
            tasks: s.tasks,
            repetitions: s.repetitions,
            file_per_process: s.file_per_proc != 0,
            bw_max_mib_s: s.bw_max,
            bw_min_mib_s: s.bw_min,
            bw_mean_mib_s: s.bw_mean,
            ops_max: s.ops_max,
            ops_min: s.ops_min,
            ops_mean: s.ops_mean,
            reps,
        });
    }
    Ok(IorRun {
        version: raw.version,
        began: raw.began,
        command: raw.command,
        summary,
    })
}

impl IorRun {
    /// Per operation: `{op} bw max/min/mean` (MiB/s; the mean carries each repetition as a
    /// sample) and `{op} iops max/mean` (IO/s). With several tests in one run, the names start
    /// with `test{id} `. A rate of 0 is a failed metric (ior moved no data), never a zero.
    pub fn metrics(&self) -> Vec<Metric> {
        let first = self.summary.first().map(|s| s.test_id);
        let several_tests = self.summary.iter().any(|s| Some(s.test_id) != first);
        let mut metrics = Vec::new();
        for s in &self.summary {
            let prefix = match several_tests {
                true => format!("test{} {}", s.test_id, s.operation.as_str()),
                false => s.operation.as_str().to_string(),
            };
            let samples: Vec<f64> = s.reps.iter().map(|r| r.bw_mib_s).collect();
            let values = [
                ("bw max", "MiB/s", s.bw_max_mib_s),
                ("bw min", "MiB/s", s.bw_min_mib_s),
                ("bw mean", "MiB/s", s.bw_mean_mib_s),
                ("iops max", "IO/s", s.ops_max),
                ("iops mean", "IO/s", s.ops_mean),
            ];
            for (name, unit, value) in values {
                let name = format!("{prefix} {name}");
                let m = if value > 0.0 {
                    let mut m = Metric::new(name, unit, value);
                    if unit == "MiB/s" && m.name.ends_with("mean") && !samples.is_empty() {
                        m.samples = Some(samples.clone());
                    }
                    m
                } else {
                    Metric::failed(name, unit, format!("ior reported {value} {unit}"))
                };
                metrics.push(m);
            }
        }
        metrics
    }
}
