//! The health report as Prometheus text exposition (version 0.0.4). Pure.

use std::fmt::Write as _;

use crate::parse::recovery::Status;
use crate::report::{HealthReport, PhaseState};

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

pub fn render(r: &HealthReport) -> String {
    let mut out = String::new();
    let node = escape(&r.node);
    let mut metric = |name: &str, help: &str, rows: Vec<(String, f64)>| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for (labels, value) in rows {
            let _ = writeln!(out, "{name}{{node=\"{node}\"{labels}}} {value}");
        }
    };
    let b = |x: bool| if x { 1.0 } else { 0.0 };
    metric(
        "lustrekit_lustre_loaded",
        "1 when lctl answers on this node.",
        vec![(String::new(), b(r.lustre_loaded))],
    );
    if let Some(h) = &r.health {
        metric(
            "lustrekit_health_check_healthy",
            "1 when lctl get_param health_check says healthy.",
            vec![(String::new(), b(h.healthy))],
        );
        metric(
            "lustrekit_lbug",
            "1 after a Lustre assertion (LBUG) on this node.",
            vec![(String::new(), b(h.lbug))],
        );
    }
    metric(
        "lustrekit_target_up",
        "1 when the target's device is UP in lctl dl.",
        r.targets
            .iter()
            .map(|t| (format!(",target=\"{}\"", escape(&t.label)), b(t.is_up())))
            .collect(),
    );
    metric(
        "lustrekit_target_recovery_complete",
        "1 when the target's recovery_status is COMPLETE or INACTIVE, 0 while recovering.",
        r.targets
            .iter()
            .filter_map(|t| {
                t.recovery.map(|s| {
                    (
                        format!(",target=\"{}\"", escape(&t.label)),
                        b(Status::is_settled(s)),
                    )
                })
            })
            .collect(),
    );
    metric(
        "lustrekit_phase_succeeded",
        "1 when the last run of the phase script succeeded, 0 when it failed or runs.",
        r.phases
            .iter()
            .map(|(p, rec)| {
                (
                    format!(",phase=\"{}\"", escape(p)),
                    b(rec.state == PhaseState::Succeeded),
                )
            })
            .collect(),
    );
    metric(
        "lustrekit_report_errors",
        "Problems collecting this report.",
        vec![(String::new(), r.errors.len() as f64)],
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::TargetHealth;

    #[test]
    fn renders_gauges() {
        let r = HealthReport {
            node: "oss1".into(),
            lustre_loaded: true,
            health: Some(crate::parse::health::Health {
                healthy: true,
                ..Default::default()
            }),
            targets: vec![TargetHealth {
                label: "fs-OST0000".into(),
                status: "UP".into(),
                recovery: Some(Status::Recovering),
                recovery_time_remaining: Some(10),
            }],
            ..Default::default()
        };
        let text = render(&r);
        assert!(text.contains("lustrekit_target_up{node=\"oss1\",target=\"fs-OST0000\"} 1\n"));
        assert!(text.contains(
            "lustrekit_target_recovery_complete{node=\"oss1\",target=\"fs-OST0000\"} 0\n"
        ));
        assert!(text.contains("# TYPE lustrekit_health_check_healthy gauge"));
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (_, value) = line.rsplit_once(' ').unwrap();
            value.parse::<f64>().unwrap();
        }
    }
}
