//! `lctl get_param obdfilter.*.recovery_status mdt.*.recovery_status mgs.*.recovery_status`:
//! one block per target, `<param>=` then `key: value` lines. `status` is `COMPLETE`,
//! `RECOVERING`, `INACTIVE` or `WAITING`/`WAITING_FOR_CLIENTS` (while clients reconnect).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::AgentError;

pub const COMMAND: &str = "lctl get_param obdfilter.*.recovery_status mdt.*.recovery_status";

/// The parameters the command reads, for callers that build it.
pub const PARAMS: [&str; 2] = ["obdfilter.*.recovery_status", "mdt.*.recovery_status"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Complete,
    Recovering,
    Inactive,
    Waiting,
    WaitingForClients,
}

impl Status {
    fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "COMPLETE" => Status::Complete,
            "RECOVERING" => Status::Recovering,
            "INACTIVE" => Status::Inactive,
            "WAITING" => Status::Waiting,
            "WAITING_FOR_CLIENTS" => Status::WaitingForClients,
            _ => return None,
        })
    }

    /// Recovery is over (or there is none to do).
    pub fn is_settled(self) -> bool {
        matches!(self, Status::Complete | Status::Inactive)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recovery {
    /// Target label, e.g. `lustre-OST0000`.
    pub target: String,
    pub status: Status,
    /// Seconds left while recovering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_remaining: Option<u64>,
    /// `completed_clients` (after recovery) or `connected_clients` (during), as `done/total`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clients: Option<String>,
    /// Every other `key: value` line, verbatim.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub other: BTreeMap<String, String>,
}

pub fn parse(bytes: &[u8]) -> Result<Vec<Recovery>, AgentError> {
    let text = super::text(COMMAND, bytes)?;
    let mut out: Vec<Recovery> = Vec::new();
    let mut current: Option<(usize, String, BTreeMap<String, String>)> = None;
    let finish = |block: Option<(usize, String, BTreeMap<String, String>)>,
                  out: &mut Vec<Recovery>|
     -> Result<(), AgentError> {
        let Some((line, target, mut kv)) = block else {
            return Ok(());
        };
        let status = kv
            .remove("status")
            .ok_or_else(|| AgentError::parse(COMMAND, line, &target, "block has no status"))?;
        let status = Status::parse(&status)
            .ok_or_else(|| AgentError::parse(COMMAND, line, &status, "unknown recovery status"))?;
        let time_remaining = match kv.remove("time_remaining") {
            Some(v) => Some(v.parse().map_err(|_| {
                AgentError::parse(COMMAND, line, &v, "time_remaining is not a number")
            })?),
            None => None,
        };
        let clients = if status == Status::Complete {
            kv.remove("completed_clients")
        } else {
            kv.remove("connected_clients")
                .or_else(|| kv.remove("completed_clients"))
        };
        out.push(Recovery {
            target,
            status,
            time_remaining,
            clients,
            other: kv,
        });
        Ok(())
    };
    for (i, raw) in text.lines().enumerate() {
        let no = i + 1;
        let line = raw.trim_end();
        if line.trim().is_empty() {
            continue;
        }
        // `<param>=` alone, or (real 2.17 output for a target with nothing to recover)
        // `<param>=status: INACTIVE`: the first value on the parameter's own line.
        let header = line
            .split_once('=')
            .filter(|(param, _)| param.ends_with(".recovery_status"));
        if let Some((param, first)) = header {
            finish(current.take(), &mut out)?;
            let target = param
                .split('.')
                .collect::<Vec<_>>()
                .get(1..)
                .and_then(|rest| match rest {
                    [target, "recovery_status"] => Some(target.to_string()),
                    _ => None,
                })
                .ok_or_else(|| {
                    AgentError::parse(
                        COMMAND,
                        no,
                        line,
                        "expected <type>.<target>.recovery_status=",
                    )
                })?;
            let mut kv = BTreeMap::new();
            if !first.trim().is_empty() {
                let (key, value) = first
                    .trim()
                    .split_once(':')
                    .filter(|(k, _)| !k.is_empty() && !k.contains(' '))
                    .ok_or_else(|| AgentError::parse(COMMAND, no, line, "expected `key: value`"))?;
                kv.insert(key.to_string(), value.trim().to_string());
            }
            current = Some((no, target, kv));
            continue;
        }
        let Some((_, _, kv)) = current.as_mut() else {
            return Err(AgentError::parse(
                COMMAND,
                no,
                line,
                "value before any parameter",
            ));
        };
        let (key, value) = line
            .trim()
            .split_once(':')
            .filter(|(k, _)| !k.is_empty() && !k.contains(' '))
            .ok_or_else(|| AgentError::parse(COMMAND, no, line, "expected `key: value`"))?;
        if kv
            .insert(key.to_string(), value.trim().to_string())
            .is_some()
        {
            return Err(AgentError::parse(COMMAND, no, line, "duplicate key"));
        }
    }
    finish(current.take(), &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complete_and_recovering() {
        let r = parse(include_bytes!(
            "../fixtures/scenario/recovery_status_oss_one_recovering.txt"
        ))
        .unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].target, "lustre-OST0000");
        assert_eq!(r[0].status, Status::Complete);
        assert_eq!(r[0].clients.as_deref(), Some("2/2"));
        assert_eq!(r[1].status, Status::Recovering);
        assert_eq!(r[1].time_remaining, Some(117));
        assert_eq!(r[1].clients.as_deref(), Some("1/2"));
        assert!(!r[1].status.is_settled());
    }

    /// Recorded on an MDS serving two MDTs after a failover: one block as usual, and the
    /// other target's status on the parameter's own line (2.17.0 prints it so when there was
    /// nothing to recover).
    #[test]
    fn complete_and_inactive_on_one_line() {
        let r = parse(include_bytes!(
            "../fixtures/valid/2.17.0/recovery_status_mds_after_failover.txt"
        ))
        .unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].target, "rlha-MDT0000");
        assert_eq!(r[0].status, Status::Complete);
        assert_eq!(r[0].clients.as_deref(), Some("2/2"));
        assert_eq!(r[1].target, "rlha-MDT0001");
        assert_eq!(r[1].status, Status::Inactive);
        assert!(r[1].status.is_settled());
    }

    #[test]
    fn empty_is_no_targets() {
        assert!(parse(b"").unwrap().is_empty());
    }

    #[test]
    fn rejects_the_unexpected() {
        for bad in [
            "status: COMPLETE",
            "obdfilter.lustre-OST0000.recovery_status=\nrecovery_start: 1",
            "obdfilter.lustre-OST0000.recovery_status=\nstatus: DONE",
            "obdfilter.lustre-OST0000.recovery_status=\nstatus COMPLETE",
            "obdfilter.lustre-OST0000.recovery_status=\nstatus: COMPLETE\nstatus: COMPLETE",
            "obdfilter.lustre-OST0000.stats=\nstatus: COMPLETE",
            "obdfilter.lustre-OST0000.recovery_status=\nstatus: RECOVERING\ntime_remaining: soon",
        ] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }
}
