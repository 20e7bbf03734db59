//! `lustrekit test CLUSTER SUITE [--only LIST] [--except LIST]`: one of Lustre's own suites on
//! a cluster that is up. Bad input (an unknown suite, a malformed subtest list, a cluster that
//! is not up or lacks what the suite needs) is refused before anything runs.

use std::time::Duration;

use lk_plan::testenv::{Suite, SuiteRequest};

use crate::cmd::cluster::{ClusterRef, Conn};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Topology file, or the name of a cluster brought up before.
    pub cluster: String,
    /// The suite: sanity, sanityn, sanity-lnet, sanity-quota, sanity-pfl, recovery-small,
    /// replay-single, lnet-selftest.
    pub suite: String,
    /// Only these subtests (comma-separated, e.g. 0a,0b,17g).
    #[arg(long, default_value = "")]
    pub only: String,
    /// Skip these subtests.
    #[arg(long, default_value = "")]
    pub except: String,
    /// Seconds the whole suite may take.
    #[arg(long, default_value_t = 3600)]
    pub timeout: u64,
    #[command(flatten)]
    pub conn: Conn,
}

/// Ok(exit code): 0 when every subtest passed or was skipped, 1 otherwise.
pub fn run(args: &Args) -> anyhow::Result<u8> {
    let suite: Suite = args.suite.parse()?;
    let req = SuiteRequest::new(suite, &args.only, &args.except)?;
    let c = ClusterRef::resolve(&args.cluster, &args.conn)?;
    let plan = c.require_plan()?;
    // The checks that need no VM come first: a cluster the suite cannot run on is refused
    // before libvirt is even asked.
    lk_plan::testenv::environment(plan, suite)?;
    lk_engine::suite::check_up(plan, &c.dir())?;
    let lv = args.conn.connect()?;
    let started = crate::cmd::results::timestamp();
    let run_name = format!("{}-{}", suite, started.replace(':', ""));
    eprintln!("test: {suite} on {}: {}", plan.cluster, suite.effect());
    let progress = |l: &str| eprintln!("  {l}");
    let opts = lk_engine::suite::SuiteOptions {
        timeout: Duration::from_secs(args.timeout),
        cancel: crate::signals::install()?,
        run_name,
        progress: &progress,
    };
    let outcome = lk_engine::suite::run_suite(&lv, plan, &c.dir(), &req, &opts)?;
    crate::cmd::results::suite_report(&lv, plan, &req, &outcome, &started)
}
