//! `gateway` and `sync` (in `lustrekit` and `lustrekit-storage`): the flags are the libraries' `GatewayArgs` /
//! `SyncArgs` (their `cli` feature); the log subscriber is installed here, as the libraries
//! leave it to their caller.

use anyhow::Context;

/// Installs the stderr log subscriber with `filter`.
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

pub fn gateway(args: &lk_gateway::GatewayArgs) -> anyhow::Result<()> {
    let settings = args.resolve().context("invalid gateway settings")?;
    init_logging(&settings.log)
        .with_context(|| format!("invalid --log filter {:?}", settings.log))?;
    lk_gateway::run(settings)?;
    Ok(())
}

pub fn sync(args: lk_sync::SyncArgs) -> anyhow::Result<()> {
    init_logging(&args.log).with_context(|| format!("invalid --log filter {:?}", args.log))?;
    lk_sync::run(args)?;
    Ok(())
}
