//! Lustre test-suite and benchmark results. Pure: parsers take text, writers return strings;
//! the one exception writes an SVG plot to a path the caller gives.
//!
//! Layout:
//! - [`suite`]: auster's `results.yml` -> [`suite::SuiteResults`] (strict, line-numbered
//!   errors; `printf %q` error values decoded in [`suite::printf_q`]);
//! - [`junit`]: JUnit XML of a [`suite::SuiteResults`];
//! - [`summary`]: a plain-text table of a suite run;
//! - [`bench`](mod@bench): strict parsers of `lst stat`, `obdfilter-survey`, fio JSON, ior JSON and
//!   mdtest's summary, and the
//!   [`bench::BenchRun`] record (JSON) of named metrics they produce;
//! - [`report`]: Markdown of a run, [`report::compare()`] of runs of one kind (Markdown with
//!   delta % and ratio), SVG plots of either (the only I/O: to the caller's path), and
//!   self-contained HTML of either with the plot inline.
//!
//! Fixtures live in `fixtures/` (see its README): captures by Lustre, fio or ior version, each
//! snapshotted by a globbing test, and a malformed corpus per parser.

pub mod bench;
pub mod junit;
pub mod report;
pub mod suite;
pub mod summary;
