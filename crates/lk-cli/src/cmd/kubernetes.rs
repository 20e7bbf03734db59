//! `lustrekit crd`, `lustrekit operator` and `lustrekit agent`: flags and glue only; the work is
//! in lk-operator and lk-agent.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;

#[derive(Debug, clap::Args)]
pub struct OperatorArgs {
    /// Watch only this namespace (default: all namespaces).
    #[arg(long)]
    pub namespace: Option<String>,
    /// TCP port of the in-guest agents.
    #[arg(long, default_value_t = lk_agent::DEFAULT_PORT)]
    pub agent_port: u16,
    /// Seconds between checks while a cluster is changing.
    #[arg(long, default_value_t = 5)]
    pub busy_requeue_seconds: u64,
    /// Seconds between health polls of a settled cluster.
    #[arg(long, default_value_t = 30)]
    pub idle_requeue_seconds: u64,
    /// Serve /healthz and /readyz here (for the Deployment's probes).
    #[arg(long)]
    pub health_listen: Option<SocketAddr>,
}

#[derive(Debug, clap::Args)]
pub struct AgentArgs {
    /// Address to serve the health API and metrics on.
    #[arg(long, default_value = "0.0.0.0:9690")]
    pub listen: SocketAddr,
    /// Node name to report (default: the host name).
    #[arg(long)]
    pub node: Option<String>,
    /// Where scripts, their logs and phases.json are kept.
    #[arg(long, default_value = "/var/lib/lustrekit/agent")]
    pub state_dir: PathBuf,
    /// File holding the bearer token that allows running scripts (none: running is refused).
    #[arg(long)]
    pub token_file: Option<PathBuf>,
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
}

pub fn crd() -> anyhow::Result<()> {
    write!(std::io::stdout(), "{}", lk_operator::crd_yaml()?)?;
    Ok(())
}

pub fn operator(args: &OperatorArgs) -> anyhow::Result<()> {
    init_logging();
    let settings = lk_operator::Settings {
        agent_port: args.agent_port,
        namespace: args.namespace.clone(),
        busy_requeue: Duration::from_secs(args.busy_requeue_seconds),
        idle_requeue: Duration::from_secs(args.idle_requeue_seconds),
        health_listen: args.health_listen,
        ..Default::default()
    };
    lk_operator::controller::run_blocking(settings)?;
    Ok(())
}

pub fn agent(args: &AgentArgs) -> anyhow::Result<()> {
    init_logging();
    let token = match &args.token_file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("failed to read the token file {}", path.display()))?
                .trim()
                .to_string(),
        ),
        None => None,
    };
    let node = match &args.node {
        Some(n) => n.clone(),
        None => std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "unknown".into()),
    };
    lk_agent::server::run(lk_agent::server::AgentConfig {
        listen: args.listen,
        node,
        state_dir: args.state_dir.clone(),
        token,
    })?;
    Ok(())
}
