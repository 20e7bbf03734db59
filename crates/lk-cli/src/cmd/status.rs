//! `lustrekit status`: the table of `up` from live libvirt state and saved stage progress.

use std::io::Write as _;

use lk_engine::{StageState, StepTiming, UpReport};
use lk_libvirt::Libvirt;
use lk_plan::Plan;
use serde::Serialize;

use crate::cmd::cluster::{ClusterRef, Conn};
use crate::table::{self, Row};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Topology file, or the name of a cluster brought up before.
    pub cluster: String,
    #[command(flatten)]
    pub conn: Conn,
    /// Print JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// What `up` and `status` print.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub cluster: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
    pub nodes: Vec<Row>,
    pub stages: StageState,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<StepTiming>,
    /// Failover targets and the node serving each now.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub served: Vec<table::Served>,
    /// The topology's services, each probed at its endpoint now.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServiceStatus>,
}

/// A service and whether its endpoint answers from this host.
#[derive(Debug, Serialize)]
pub struct ServiceStatus {
    #[serde(flatten)]
    pub plan: lk_plan::ServicePlan,
    /// `GET /info` answered 200 within a few seconds.
    pub answers: bool,
    /// Why not, when it does not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// Each service of the plan, probed.
pub fn services(plan: &Plan) -> Vec<ServiceStatus> {
    plan.services
        .iter()
        .map(|s| {
            let problem = probe_info(&s.endpoint).err();
            ServiceStatus {
                plan: s.clone(),
                answers: problem.is_none(),
                problem,
            }
        })
        .collect()
}

/// `GET /info` on `http://ADDR:PORT`: Ok when the status is 200.
fn probe_info(endpoint: &str) -> Result<(), String> {
    use std::io::{BufRead as _, BufReader};
    use std::net::{TcpStream, ToSocketAddrs as _};
    use std::time::Duration;
    let hostport = endpoint.trim_start_matches("http://");
    let addr = hostport
        .to_socket_addrs()
        .map_err(|e| format!("{hostport}: {e}"))?
        .next()
        .ok_or_else(|| format!("{hostport}: no address"))?;
    let timeout = Duration::from_secs(3);
    let mut conn =
        TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("{addr}: {e}"))?;
    conn.set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    conn.write_all(format!("GET /info HTTP/1.0\r\nHost: {hostport}\r\n\r\n").as_bytes())
        .map_err(|e| format!("{addr}: {e}"))?;
    let mut status = String::new();
    BufReader::new(conn)
        .read_line(&mut status)
        .map_err(|e| format!("{addr}: {e}"))?;
    match status.split_whitespace().nth(1) {
        Some("200") => Ok(()),
        _ => Err(format!("GET /info answered `{}`", status.trim())),
    }
}

/// Where each failover target is served (from the cluster's `active.json`).
pub fn served(plan: &Plan, dir: &std::path::Path) -> anyhow::Result<Vec<table::Served>> {
    let active = lk_engine::failover::active(dir)?;
    Ok(plan
        .failover
        .iter()
        .map(|f| table::Served {
            target: f.label.clone(),
            node: active
                .get(&f.label)
                .cloned()
                .unwrap_or_else(|| f.primary.clone()),
            primary: f.primary.clone(),
            partner: f.partner.clone(),
        })
        .collect())
}

impl Summary {
    pub fn print(&self, json: bool) -> anyhow::Result<()> {
        let mut out = std::io::stdout().lock();
        if json {
            serde_json::to_writer_pretty(&mut out, self)?;
            writeln!(out)?;
        } else {
            out.write_all(table::render(&self.cluster, &self.nodes, &self.stages).as_bytes())?;
            out.write_all(table::render_served(&self.served).as_bytes())?;
            for s in &self.services {
                let state = match &s.problem {
                    None => "answers".to_string(),
                    Some(p) => format!("NOT ANSWERING ({p})"),
                };
                writeln!(
                    out,
                    "Service {} ({}) on {}: {} {state}; auth {} (users {}); serves {}; sync {}",
                    s.plan.name,
                    s.plan.kind,
                    s.plan.node,
                    s.plan.endpoint,
                    s.plan.auth_url,
                    s.plan.users.join(", "),
                    s.plan.root,
                    s.plan.sync
                )?;
            }
            if let Some(s) = self.seconds {
                let created = self.steps.iter().filter(|s| s.created).count();
                writeln!(
                    out,
                    "{} step(s): {created} created, {} adopted; {s:.1}s in all",
                    self.steps.len(),
                    self.steps.len() - created
                )?;
            }
        }
        Ok(())
    }
}

/// Rows from live state, with this run's timings when there is a report.
pub fn rows(lv: &Libvirt, plan: &Plan, report: Option<&UpReport>) -> anyhow::Result<Vec<Row>> {
    let live = lk_engine::status(lv, plan)?;
    Ok(live
        .into_iter()
        .map(|s| {
            let ready_after = report
                .and_then(|r| r.ready.iter().find(|x| x.node == s.node))
                .map(|x| x.shared_after.as_secs_f64());
            let boot_step = report
                .and_then(|r| {
                    r.steps
                        .iter()
                        .find(|x| x.step == format!("domain {}", s.domain))
                })
                .map(|x| x.seconds);
            Row {
                status: s,
                ready_after,
                boot_step,
            }
        })
        .collect())
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let c = ClusterRef::resolve(&args.cluster, &args.conn)?;
    let plan = c.require_plan()?;
    let lv = args.conn.connect()?;
    // Timings of the last `up` (kept in the cluster folder), so the columns are not empty.
    let report = lk_engine::load_report(&c.dir())?;
    Summary {
        cluster: plan.cluster.clone(),
        run: report.as_ref().map(|r| r.run.clone()),
        seconds: None,
        nodes: rows(&lv, plan, report.as_ref())?,
        stages: StageState::load(&c.dir())?,
        steps: Vec::new(),
        served: served(plan, &c.dir())?,
        services: services(plan),
    }
    .print(args.json)
}
