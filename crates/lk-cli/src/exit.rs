//! Error rendering and exit codes.

use std::io::Write as _;
use std::process::ExitCode;

use anstyle::{AnsiColor, Style};

use crate::topology_file::InvalidTopology;

pub const FAILED: u8 = 1;
/// As clap reports a usage error: an argument that is not one of the accepted values.
pub const USAGE: u8 = 2;
pub const INVALID_TOPOLOGY: u8 = 3;
/// 128 + SIGINT, as shells report an interrupted command.
pub const INTERRUPTED: u8 = 130;

const ERROR: Style = AnsiColor::Red.on_default().bold();

/// Prints the error chain once and picks the exit code. Colour only reaches a terminal and is
/// off under NO_COLOR (anstream strips it).
pub fn report(err: &anyhow::Error) -> ExitCode {
    let mut stderr = anstream::stderr();
    if let Some(invalid) = err.downcast_ref::<InvalidTopology>() {
        let _ = writeln!(stderr, "{ERROR}lustrekit:{ERROR:#} {invalid}");
        for line in invalid.lines() {
            let _ = writeln!(stderr, "  {line}");
        }
        return ExitCode::from(INVALID_TOPOLOGY);
    }
    let chain: Vec<String> = err.chain().map(ToString::to_string).collect();
    let _ = writeln!(stderr, "{ERROR}lustrekit:{ERROR:#} {}", chain.join(": "));
    let usage = err.chain().any(|e| {
        e.downcast_ref::<lk_plan::testenv::TestEnvError>()
            .is_some_and(lk_plan::testenv::TestEnvError::is_usage)
            || e.downcast_ref::<lk_plan::benchenv::BenchEnvError>()
                .is_some_and(lk_plan::benchenv::BenchEnvError::is_usage)
    });
    if usage {
        return ExitCode::from(USAGE);
    }
    let interrupted = err.chain().any(|e| {
        e.downcast_ref::<lk_engine::Error>()
            .is_some_and(lk_engine::Error::is_interrupted)
            || e.downcast_ref::<lk_engine::suite::SuiteError>()
                .is_some_and(|s| matches!(s, lk_engine::suite::SuiteError::Interrupted { .. }))
    });
    if interrupted {
        return ExitCode::from(INTERRUPTED);
    }
    ExitCode::from(FAILED)
}
