//! The health report: what `GET /v1/health` returns and the operator reads. Pure.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::parse::dl::Device;
use crate::parse::health::Health;
use crate::parse::recovery::{Recovery, Status};
use crate::AgentError;

/// One node's view of its Lustre targets and of the scripts it ran.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthReport {
    pub node: String,
    /// `lctl` answered (Lustre's modules are loaded).
    pub lustre_loaded: bool,
    /// `health_check`; absent when Lustre is not loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
    /// Targets this node serves (`mgs`, `mdt`, `obdfilter` devices), with recovery.
    #[serde(default)]
    pub targets: Vec<TargetHealth>,
    /// Every device of `lctl dl`.
    #[serde(default)]
    pub devices: Vec<Device>,
    /// Scripts the operator asked this agent to run, by phase name.
    #[serde(default)]
    pub phases: BTreeMap<String, PhaseRecord>,
    /// Problems collecting the report (a command failed, output did not parse).
    #[serde(default)]
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetHealth {
    /// `MGS`, `fs-MDT0000`, `fs-OST0001`.
    pub label: String,
    /// The device's `lctl dl` status (`UP`, ...).
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery: Option<Status>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_time_remaining: Option<u64>,
}

impl TargetHealth {
    pub fn is_up(&self) -> bool {
        self.status == "UP"
    }

    /// Up and not recovering (the MGS has no recovery).
    pub fn is_serving(&self) -> bool {
        self.is_up() && self.recovery.is_none_or(Status::is_settled)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PhaseState {
    Running,
    Succeeded,
    Failed,
}

/// The last run of one phase script on this node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhaseRecord {
    /// SHA-256 of the script that ran (the operator re-runs a phase whose script changed).
    pub digest: String,
    pub state: PhaseState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// The end of the script's output, for conditions and events.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub output_tail: String,
    pub started_unix: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_unix: Option<u64>,
}

/// Raw results of the three probes; each failed independently or not.
pub struct Probed {
    pub devices: Result<Vec<Device>, AgentError>,
    pub health: Result<Health, AgentError>,
    pub recovery: Result<Vec<Recovery>, AgentError>,
}

impl HealthReport {
    /// Builds a report from probe results. Lustre counts as loaded when `lctl dl` answered.
    pub fn assemble(node: &str, probed: Probed, phases: BTreeMap<String, PhaseRecord>) -> Self {
        let mut errors = Vec::new();
        let (lustre_loaded, devices) = match probed.devices {
            Ok(d) => (true, d),
            Err(e) => {
                errors.push(e.chain());
                (false, Vec::new())
            }
        };
        let health = match probed.health {
            Ok(h) => Some(h),
            Err(e) => {
                if lustre_loaded {
                    errors.push(e.chain());
                }
                None
            }
        };
        let recovery = probed.recovery.unwrap_or_else(|e| {
            if lustre_loaded {
                errors.push(e.chain());
            }
            Vec::new()
        });
        let targets = devices
            .iter()
            .filter_map(|d| {
                let label = d.served_target()?;
                let rec = recovery.iter().find(|r| r.target == label);
                Some(TargetHealth {
                    label: label.to_string(),
                    status: d.status.clone(),
                    recovery: rec.map(|r| r.status),
                    recovery_time_remaining: rec.and_then(|r| r.time_remaining),
                })
            })
            .collect();
        HealthReport {
            node: node.to_string(),
            lustre_loaded,
            health,
            targets,
            devices,
            phases,
            errors,
        }
    }

    /// `health_check` says healthy and every served target is up.
    pub fn is_healthy(&self) -> bool {
        self.health.as_ref().is_some_and(|h| h.healthy)
            && self.targets.iter().all(TargetHealth::is_up)
    }

    pub fn target(&self, label: &str) -> Option<&TargetHealth> {
        self.targets.iter().find(|t| t.label == label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;

    #[test]
    fn assembles_targets_with_recovery() {
        let probed = Probed {
            // A constructed scenario (one OST recovering), not a recording.
            devices: Ok(parse::dl::parse(include_bytes!(
                "fixtures/scenario/lctl_dl_oss_two_osts.txt"
            ))
            .unwrap()),
            health: Ok(parse::health::parse(b"health_check=healthy").unwrap()),
            recovery: Ok(parse::recovery::parse(include_bytes!(
                "fixtures/scenario/recovery_status_oss_one_recovering.txt"
            ))
            .unwrap()),
        };
        let r = HealthReport::assemble("oss1", probed, BTreeMap::new());
        assert!(r.lustre_loaded && r.is_healthy());
        assert_eq!(r.targets.len(), 2);
        assert!(r.target("lustre-OST0000").unwrap().is_serving());
        let t1 = r.target("lustre-OST0001").unwrap();
        assert!(t1.is_up() && !t1.is_serving());
        assert_eq!(t1.recovery_time_remaining, Some(117));
    }

    #[test]
    fn without_lustre_only_one_error() {
        let probed = Probed {
            devices: Err(AgentError::Command {
                command: "lctl dl".into(),
                status: "exit status: 127".into(),
                stderr: "lctl: not found".into(),
            }),
            health: Err(AgentError::PhaseName("x".into())),
            recovery: Err(AgentError::PhaseName("y".into())),
        };
        let r = HealthReport::assemble("c1", probed, BTreeMap::new());
        assert!(!r.lustre_loaded && !r.is_healthy());
        assert_eq!(
            r.errors,
            ["`lctl dl` exited with exit status: 127: lctl: not found"]
        );
    }
}
