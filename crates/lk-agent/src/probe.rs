//! Runs `lctl` and turns its output into a [`HealthReport`]. The only place the agent reads
//! Lustre's state; everything it runs is listed by the parsers' `COMMAND`/`PARAMS`.

use std::collections::BTreeMap;
use std::process::Command;

use crate::parse;
use crate::report::{HealthReport, PhaseRecord, Probed};
use crate::AgentError;

/// Where `lctl` output comes from: the real tool, or canned output in tests.
pub trait Probe: Send + Sync + 'static {
    /// Runs `lctl ARGS` and returns its standard output.
    fn lctl(&self, args: &[&str]) -> Result<Vec<u8>, AgentError>;
}

/// Runs the real `lctl` (from `PATH`).
pub struct Lctl;

impl Probe for Lctl {
    fn lctl(&self, args: &[&str]) -> Result<Vec<u8>, AgentError> {
        let command = format!("lctl {}", args.join(" "));
        let out = Command::new("lctl")
            .args(args)
            .output()
            .map_err(|source| AgentError::Spawn {
                command: command.clone(),
                source,
            })?;
        if !out.status.success() {
            return Err(AgentError::Command {
                command,
                status: out.status.to_string(),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Ok(out.stdout)
    }
}

/// A glob that matches nothing makes `lctl get_param` fail; that only means "no such target".
fn no_match(e: &AgentError) -> bool {
    matches!(e, AgentError::Command { stderr, .. } if stderr.contains("No such file or directory"))
}

/// Collects a report: `lctl dl`, `health_check`, then recovery of every server target.
pub fn collect(
    probe: &dyn Probe,
    node: &str,
    phases: BTreeMap<String, PhaseRecord>,
) -> HealthReport {
    let devices = probe.lctl(&["dl"]).and_then(|b| parse::dl::parse(&b));
    let health = probe
        .lctl(&["get_param", "health_check"])
        .and_then(|b| parse::health::parse(&b));
    let mut recovery = Ok(Vec::new());
    for param in parse::recovery::PARAMS {
        let found = match probe.lctl(&["get_param", param]) {
            Ok(b) => parse::recovery::parse(&b),
            Err(e) if no_match(&e) => Ok(Vec::new()),
            Err(e) => Err(e),
        };
        recovery = match (recovery, found) {
            (Ok(mut all), Ok(more)) => {
                all.extend(more);
                Ok(all)
            }
            (Err(e), _) | (_, Err(e)) => Err(e),
        };
    }
    HealthReport::assemble(
        node,
        Probed {
            devices,
            health,
            recovery,
        },
        phases,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Canned;
    impl Probe for Canned {
        fn lctl(&self, args: &[&str]) -> Result<Vec<u8>, AgentError> {
            match args {
                ["dl"] => Ok(include_bytes!("fixtures/valid/2.17.0/lctl_dl_mgs_mds.txt").to_vec()),
                ["get_param", "health_check"] => Ok(b"health_check=healthy\n".to_vec()),
                ["get_param", "mdt.*.recovery_status"] => {
                    Ok(include_bytes!("fixtures/valid/2.17.0/recovery_status_mds_after_failover.txt").to_vec())
                }
                _ => Err(AgentError::Command {
                    command: args.join(" "),
                    status: "exit status: 2".into(),
                    stderr: "error: get_param: param_path 'obdfilter/*/recovery_status': No such file or directory".into(),
                }),
            }
        }
    }

    #[test]
    fn collects_an_mds() {
        let r = collect(&Canned, "mds1", BTreeMap::new());
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        assert!(r.is_healthy());
        let labels: Vec<&str> = r.targets.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, ["MGS", "rlha-MDT0000"]);
        assert!(r.targets.iter().all(|t| t.is_serving()));
    }
}
