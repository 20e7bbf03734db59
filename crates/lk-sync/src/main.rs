// SPDX-License-Identifier: Apache-2.0
//! Stand-alone `lk-sync` binary (the same as `lustrekit sync`).

use clap::Parser;

/// Applies POSIX and Lustre-changelog namespace changes to the Swift gateway's listing index.
#[derive(Debug, Parser)]
#[command(name = "lk-sync", version)]
struct Cli {
    #[command(flatten)]
    sync: lk_sync::SyncArgs,
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = lk_sync::run(cli.sync) {
        eprintln!("lk-sync: {}", lk_sync::error::chain(&e));
        std::process::exit(1);
    }
}
