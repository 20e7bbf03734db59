//! `lctl get_param health_check`: `healthy`, or the unhealthy devices (and `LBUG` after a
//! kernel assertion) followed by `NOT HEALTHY`. The `health_check=` prefix of `get_param` is
//! accepted, as is the bare value of `get_param -n`.

use serde::{Deserialize, Serialize};

use crate::AgentError;

pub const COMMAND: &str = "lctl get_param health_check";

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Health {
    pub healthy: bool,
    /// A Lustre assertion (LBUG) happened on this node: only a reboot clears it.
    pub lbug: bool,
    /// Devices that reported themselves unhealthy.
    pub unhealthy_devices: Vec<String>,
}

pub fn parse(bytes: &[u8]) -> Result<Health, AgentError> {
    let text = super::text(COMMAND, bytes)?;
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty())
        .collect();
    let Some(((last_no, last), body)) = lines.split_last() else {
        return Err(AgentError::parse(COMMAND, 1, "", "empty output"));
    };
    let first_stripped = |no: usize, l: &str| -> String {
        if no == lines[0].0 {
            l.strip_prefix("health_check=").unwrap_or(l).to_string()
        } else {
            l.to_string()
        }
    };
    let verdict = first_stripped(*last_no, last);
    let mut health = Health::default();
    for (no, line) in body {
        let line = first_stripped(*no, line);
        if line == "LBUG" {
            health.lbug = true;
        } else if let Some(dev) = line
            .strip_prefix("device ")
            .and_then(|r| r.strip_suffix(" reported unhealthy"))
            .filter(|d| !d.is_empty() && !d.contains(' '))
        {
            health.unhealthy_devices.push(dev.to_string());
        } else {
            return Err(AgentError::parse(COMMAND, *no, &line, "unknown line"));
        }
    }
    match verdict.as_str() {
        "healthy" if body.is_empty() => health.healthy = true,
        "healthy" => {
            return Err(AgentError::parse(
                COMMAND,
                *last_no,
                last,
                "`healthy` after unhealthy devices",
            ))
        }
        "NOT HEALTHY" => health.healthy = false,
        _ => {
            return Err(AgentError::parse(
                COMMAND,
                *last_no,
                last,
                "expected `healthy` or `NOT HEALTHY` last",
            ))
        }
    }
    Ok(health)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn healthy() {
        let h = parse(include_bytes!(
            "../fixtures/valid/2.17.0/health_check_healthy.txt"
        ))
        .unwrap();
        assert!(h.healthy && !h.lbug && h.unhealthy_devices.is_empty());
        assert!(parse(b"healthy\n").unwrap().healthy);
    }

    #[test]
    fn unhealthy_devices() {
        let h = parse(include_bytes!(
            "../fixtures/scenario/health_check_unhealthy.txt"
        ))
        .unwrap();
        assert!(!h.healthy);
        assert_eq!(h.unhealthy_devices, ["lustre-OST0001"]);
    }

    #[test]
    fn lbug() {
        let h = parse(b"health_check=LBUG\nNOT HEALTHY\n").unwrap();
        assert!(h.lbug && !h.healthy);
    }

    #[test]
    fn rejects_the_unexpected() {
        for bad in [
            "",
            "health_check=fine",
            "health_check=device x reported unhealthy\nhealthy",
            "health_check=something odd\nNOT HEALTHY",
            "error: get_param: param_path 'health_check': No such file or directory",
        ] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }
}
