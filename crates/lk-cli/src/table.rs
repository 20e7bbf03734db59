//! The cluster table printed after `up` and by `status`: one row per node, then one line of
//! stage progress. Pure, so its layout is tested without VMs.

use lk_engine::{NodeStatus, StageState, StageStatus, STAGES};
use serde::Serialize;

/// One node's row.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    #[serde(flatten)]
    pub status: NodeStatus,
    /// Seconds from the start of the readiness wait until the node was ready (this run).
    pub ready_after: Option<f64>,
    /// Seconds its domain step took (this run).
    pub boot_step: Option<f64>,
}

pub use lk_storage_cli::table::columns;

/// A failover target and the node serving it now.
#[derive(Debug, Clone, Serialize)]
pub struct Served {
    pub target: String,
    pub node: String,
    pub primary: String,
    pub partner: String,
}

/// `Failover targets` lines: where each is served, marked when it is not on its primary.
pub fn render_served(served: &[Served]) -> String {
    if served.is_empty() {
        return String::new();
    }
    let mut rows = vec![vec![
        "TARGET".to_string(),
        "SERVED BY".into(),
        "PRIMARY".into(),
        "PARTNER".into(),
    ]];
    for s in served {
        let node = if s.node == s.primary {
            s.node.clone()
        } else {
            format!("{} (failed over)", s.node)
        };
        rows.push(vec![
            s.target.clone(),
            node,
            s.primary.clone(),
            s.partner.clone(),
        ]);
    }
    columns(&rows)
}

fn secs(s: Option<f64>) -> String {
    s.map(|s| format!("{s:.1}s")).unwrap_or_else(|| "-".into())
}

pub fn render(cluster: &str, rows: &[Row], stages: &StageState) -> String {
    let mut table = vec![vec![
        "NODE".to_string(),
        "ROLES".into(),
        "STATE".into(),
        "ADDRESS".into(),
        "NIDS".into(),
        "DOMAIN STEP".into(),
        "READY AFTER".into(),
    ]];
    for r in rows {
        let s = &r.status;
        table.push(vec![
            s.node.clone(),
            s.roles.join(","),
            s.state.map_or("absent", |st| st.as_str()).to_string(),
            s.address
                .map(|a| a.to_string())
                .unwrap_or_else(|| "-".into()),
            s.nids.join(","),
            secs(r.boot_step),
            secs(r.ready_after),
        ]);
    }
    let mut out = format!("Cluster {cluster}\n");
    out.push_str(&columns(&table));
    out.push_str(&format!("Stages: {}\n", stage_line(stages)));
    if let Some(v) = stages.stages.get(&lk_plan::Stage::Verify) {
        for (node, line) in &v.results {
            // A verify result is history: a node that is not running now is not "healthy".
            let running = rows.iter().any(|r| {
                &r.status.node == node
                    && r.status.state == Some(lk_engine::provider::DomainState::Running)
            });
            if running {
                out.push_str(&format!("Verify {node}: {line}\n"));
            } else {
                out.push_str(&format!(
                    "Verify {node}: node is not running (last verify: {line})\n"
                ));
            }
        }
    }
    out
}

/// `install done 2.1s · lnet FAILED (c1) · format - ...`
pub fn stage_line(stages: &StageState) -> String {
    STAGES
        .iter()
        // A cluster without services never runs that stage: say nothing of it.
        .filter(|s| **s != lk_plan::Stage::Services || stages.stages.contains_key(*s))
        .map(|s| {
            let name = s.as_str();
            match stages.stages.get(s) {
                None => format!("{name} -"),
                Some(r) => match r.status {
                    StageStatus::Done => format!("{name} done {:.1}s", r.seconds),
                    StageStatus::Running => format!("{name} running"),
                    StageStatus::Interrupted => format!("{name} interrupted"),
                    StageStatus::Failed => {
                        let nodes: Vec<&str> = r.failures.iter().map(|f| f.node.as_str()).collect();
                        format!("{name} FAILED ({})", nodes.join(","))
                    }
                },
            }
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns_and_lists_stages() {
        use lk_engine::provider::DomainState;
        let row = |node: &str, state: Option<DomainState>, addr: Option<&str>| Row {
            status: NodeStatus {
                node: node.into(),
                domain: format!("c-{node}"),
                roles: vec!["mgs".into(), "mds".into()],
                state,
                address: addr.and_then(|a| a.parse().ok()),
                nids: vec![format!("{}@tcp0", addr.unwrap_or("?"))],
            },
            ready_after: addr.map(|_| 23.46),
            boot_step: Some(0.31),
        };
        let mut stages = StageState::default();
        stages.stages.insert(
            lk_plan::Stage::Install,
            lk_engine::stages::StageRecord {
                status: StageStatus::Failed,
                seconds: 1.0,
                failures: vec![lk_engine::NodeFailure {
                    node: "mds1".into(),
                    script: "scripts/mds1/install.sh".into(),
                    exit_code: 3,
                    detail: "missing".into(),
                    log: "/x".into(),
                }],
                results: Default::default(),
            },
        );
        let out = render(
            "c",
            &[
                row("mds1", Some(DomainState::Running), Some("10.0.0.10")),
                row("client-long-name", None, None),
            ],
            &stages,
        );
        insta::assert_snapshot!(out);
    }
}
