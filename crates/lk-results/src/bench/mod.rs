//! Benchmark results: strict parsers of what the benchmark tools print, and the
//! [`BenchRun`] record lustrekit stores for every run.
//!
//! - [`lst`]: `lst stat` (LNet selftest rates and bandwidth per group, every interval);
//! - [`obdfilter`]: lustre-iokit's `obdfilter-survey` result lines;
//! - [`fio`]: `fio --output-format=json`;
//! - [`ior`]: ior's JSON summary file (`-O summaryFormat=JSON -O summaryFile=FILE`);
//! - [`mdtest`]: mdtest's stdout (its `SUMMARY rate` table);
//! - [`run`]: [`BenchRun`] and [`Metric`]. Each parsed result has a `metrics()` that the
//!   caller puts into a [`BenchRun`] with the run's identity and parameters.

pub mod fio;
pub mod ior;
pub mod lst;
pub mod mdtest;
pub mod obdfilter;
pub mod run;

pub use fio::{parse_fio_json, FioError, FioRun};
pub use ior::{parse_ior_json, IorError, IorRun};
pub use lst::{parse_lst_stat, LstError, LstStat};
pub use mdtest::{parse_mdtest, MdtestError, MdtestRun};
pub use obdfilter::{parse_obdfilter_survey, Survey, SurveyError};
pub use run::{BenchKind, BenchRun, Metric, RunError};
