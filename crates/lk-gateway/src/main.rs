// SPDX-License-Identifier: Apache-2.0
//! Stand-alone `lk-gateway` binary (the same as `lustrekit gateway`): parses the flags,
//! installs the log subscriber the library leaves to its caller, and runs the gateway.

use clap::Parser;

/// Swift-compatible object gateway over a POSIX / Lustre tree.
#[derive(Debug, Parser)]
#[command(name = "lk-gateway", version)]
struct Cli {
    #[command(flatten)]
    gateway: lk_gateway::GatewayArgs,
}

fn init_logging(filter: &str) -> Result<(), tracing_subscriber::filter::ParseError> {
    // A filter that does not parse is the user's mistake: say so rather than log at `info`.
    let f = tracing_subscriber::EnvFilter::try_new(filter)?;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(f)
        .with_writer(std::io::stderr)
        .try_init();
    Ok(())
}

/// The error and its causes, once each.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

fn main() {
    let cli = Cli::parse();
    let result = cli.gateway.resolve().map_err(lk_gateway::StartError::from);
    let result = result.and_then(|settings| {
        if let Err(e) = init_logging(&settings.log) {
            eprintln!("lk-gateway: invalid --log filter {:?}: {e}", settings.log);
            std::process::exit(2);
        }
        lk_gateway::run(settings)
    });
    if let Err(e) = result {
        eprintln!("lk-gateway: {}", chain(&e));
        std::process::exit(1);
    }
}
