// SPDX-License-Identifier: Apache-2.0
//! Stand-alone `lk-gateway` binary (the same as `lustrekit gateway`).

use clap::Parser;

/// Swift-compatible object gateway over a POSIX / Lustre tree.
#[derive(Debug, Parser)]
#[command(name = "lk-gateway", version)]
struct Cli {
    #[command(flatten)]
    gateway: lk_gateway::GatewayArgs,
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = lk_gateway::run(cli.gateway) {
        eprintln!("lk-gateway: {e:#}");
        std::process::exit(1);
    }
}
