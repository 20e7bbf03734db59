// SPDX-License-Identifier: Apache-2.0
//! Stand-alone `lk-sync` binary (the same as `lustrekit sync`): parses the flags, installs the
//! log subscriber the library leaves to its caller, and runs the sync.

use clap::Parser;

/// Applies POSIX and Lustre-changelog namespace changes to the Swift gateway's listing index.
#[derive(Debug, Parser)]
#[command(name = "lk-sync", version)]
struct Cli {
    #[command(flatten)]
    sync: lk_sync::SyncArgs,
}

fn init_logging(filter: &str) -> Result<(), tracing_subscriber::filter::ParseError> {
    // A filter that does not parse is the user's mistake: say so rather than log at `info`.
    let f = tracing_subscriber::EnvFilter::try_new(filter)?;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(f)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
    Ok(())
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = init_logging(&cli.sync.log) {
        eprintln!("lk-sync: invalid --log filter {:?}: {e}", cli.sync.log);
        std::process::exit(2);
    }
    if let Err(e) = lk_sync::run(cli.sync) {
        eprintln!("lk-sync: {}", lk_sync::error::chain(&e));
        std::process::exit(1);
    }
}
