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

fn init_logging(filter: &str) {
    let f = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(f)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

fn main() {
    let cli = Cli::parse();
    init_logging(&cli.sync.log);
    if let Err(e) = lk_sync::run(cli.sync) {
        eprintln!("lk-sync: {}", lk_sync::error::chain(&e));
        std::process::exit(1);
    }
}
