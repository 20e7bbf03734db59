//! `lustrekit gateway` and `lustrekit sync`: the flags are the libraries' `GatewayArgs` /
//! `SyncArgs` (their `cli` feature); the log subscriber is installed here, as the libraries
//! leave it to their caller.

use anyhow::Context;

/// Installs the stderr log subscriber with `filter` (`info` when it does not parse).
fn init_logging(filter: &str) {
    let f = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(f)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

pub fn gateway(args: &lk_gateway::GatewayArgs) -> anyhow::Result<()> {
    let settings = args.resolve().context("invalid gateway settings")?;
    init_logging(&settings.log);
    lk_gateway::run(settings)?;
    Ok(())
}

pub fn sync(args: lk_sync::SyncArgs) -> anyhow::Result<()> {
    init_logging(&args.log);
    lk_sync::run(args)?;
    Ok(())
}
