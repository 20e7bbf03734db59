//! The guest agent: commands, exec with polling, and readiness (agent, DHCP lease, 9p).

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use base64::Engine as _;
use lk_plan::resources::DomainResource;

use crate::client::Libvirt;
use crate::error::Error;
use lk_engine::provider::{DomainState, ExecOutput, Ready, Watch};

impl Libvirt {
    /// Sends one guest-agent command (JSON) and returns the `return` member.
    pub fn agent(
        &self,
        domain: &str,
        command: &serde_json::Value,
        timeout_secs: i32,
    ) -> Result<serde_json::Value, Error> {
        let d = self.domain(domain)?;
        let reply = d
            .qemu_agent_command(&command.to_string(), timeout_secs, 0)
            .map_err(|e| Error::Agent {
                domain: domain.into(),
                call: agent_call_name(command),
                message: e.message().to_string(),
            })?;
        let v: serde_json::Value = serde_json::from_str(&reply).map_err(|e| Error::Agent {
            domain: domain.into(),
            call: agent_call_name(command),
            message: format!("unparsable reply {reply:?}: {e}"),
        })?;
        Ok(v.get("return").cloned().unwrap_or(serde_json::Value::Null))
    }

    /// Whether the guest agent answers `guest-ping` now.
    pub fn agent_ping(&self, domain: &str) -> bool {
        self.agent(domain, &serde_json::json!({"execute": "guest-ping"}), 5)
            .is_ok()
    }

    /// Runs `argv` in the guest through the agent (no network needed) and waits for it.
    pub fn exec(
        &self,
        domain: &str,
        argv: &[&str],
        timeout: Duration,
    ) -> Result<ExecOutput, Error> {
        self.exec_watched(domain, argv, timeout, Watch::none())
    }

    /// [`Libvirt::exec`] that stops waiting when `watch` says so (the command keeps running
    /// in the guest; scripts are idempotent, so a re-run picks up from there).
    pub fn exec_watched(
        &self,
        domain: &str,
        argv: &[&str],
        timeout: Duration,
        watch: Watch<'_>,
    ) -> Result<ExecOutput, Error> {
        let Some((path, args)) = argv.split_first() else {
            return Err(Error::Agent {
                domain: domain.into(),
                call: "guest-exec",
                message: "empty command".into(),
            });
        };
        let req = serde_json::json!({
            "execute": "guest-exec",
            "arguments": {"path": path, "arg": args, "capture-output": true}
        });
        let pid = self.agent(domain, &req, 30)?["pid"]
            .as_i64()
            .ok_or_else(|| Error::Agent {
                domain: domain.into(),
                call: "guest-exec",
                message: "reply has no pid".into(),
            })?;
        let started = Instant::now();
        let mut pause = Duration::from_millis(50);
        loop {
            let st = serde_json::json!({"execute": "guest-exec-status", "arguments": {"pid": pid}});
            let r = self.agent(domain, &st, 30)?;
            if r["exited"].as_bool() == Some(true) {
                // Output the agent sent but that does not decode is an error, not "no output".
                let text = |k: &str| -> Result<String, Error> {
                    let b = base64::engine::general_purpose::STANDARD
                        .decode(r[k].as_str().unwrap_or(""))
                        .map_err(|e| Error::Agent {
                            domain: domain.into(),
                            call: "guest-exec-status",
                            message: format!("{k} is not base64: {e}"),
                        })?;
                    Ok(String::from_utf8_lossy(&b).into_owned())
                };
                // A command killed by a signal has no exitcode.
                let exit_code = r["exitcode"]
                    .as_i64()
                    .unwrap_or_else(|| 128 + r["signal"].as_i64().unwrap_or(0));
                return Ok(ExecOutput {
                    exit_code,
                    stdout: text("out-data")?,
                    stderr: text("err-data")?,
                });
            }
            if (watch.cancelled)() {
                return Err(Error::Cancelled {
                    domain: domain.into(),
                    waiting_for: format!("guest command {:?}", argv.join(" ")),
                });
            }
            if started.elapsed() > timeout {
                return Err(Error::ExecTimeout {
                    domain: domain.into(),
                    command: argv.join(" "),
                    timeout,
                });
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(500));
        }
    }

    /// Waits until the node is ready: the agent answers, the first NIC's address is leased,
    /// and the shared folder is mounted. On timeout the error names the node, what it was
    /// still waiting for, and the last console lines.
    pub fn wait_ready(
        &self,
        d: &DomainResource,
        shared_guest_path: &str,
        console_log: &str,
        timeout: Duration,
        watch: Watch<'_>,
    ) -> Result<Ready, Error> {
        let w = Wait {
            d,
            console_log,
            timeout,
            watch,
            t0: Instant::now(),
        };
        (watch.progress)("waiting for the guest agent");
        while !self.agent_ping(&d.name) {
            w.check("the guest agent", || {
                "the QEMU guest agent to answer".into()
            })?;
            if self.domain_state(&d.name)? != Some(DomainState::Running) {
                return Err(w.not_ready("the domain, which stopped running".into()));
            }
            std::thread::sleep(POLL);
        }
        let agent_after = w.t0.elapsed();
        let address = self.wait_lease(&w)?;
        let lease_after = w.t0.elapsed();
        (watch.progress)("waiting for the shared folder");
        loop {
            let out = self.exec(
                &d.name,
                &["/bin/findmnt", "-n", "-o", "FSTYPE", shared_guest_path],
                Duration::from_secs(30),
            )?;
            if out.exit_code == 0 && out.stdout.trim() == "9p" {
                break;
            }
            w.check("the shared folder", || {
                format!("the 9p shared folder at {shared_guest_path}")
            })?;
            std::thread::sleep(POLL);
        }
        Ok(Ready {
            node: d.node.clone(),
            address,
            agent_after,
            lease_after,
            shared_after: w.t0.elapsed(),
        })
    }

    /// The first NIC's DHCP lease (unspecified when the domain has no NIC).
    fn wait_lease(&self, w: &Wait<'_>) -> Result<Ipv4Addr, Error> {
        let Some(nic) = w.d.nics.first() else {
            return Ok(Ipv4Addr::UNSPECIFIED);
        };
        (w.watch.progress)("waiting for a DHCP lease");
        loop {
            if let Some(a) = self.leased_address(&w.d.name, &nic.mac)? {
                return Ok(a);
            }
            w.check("a DHCP lease", || {
                format!("a DHCP lease for {} on network {}", nic.mac, nic.network)
            })?;
            std::thread::sleep(POLL);
        }
    }
}

const POLL: Duration = Duration::from_millis(500);

/// One readiness wait: its node, deadline and hooks.
struct Wait<'a> {
    d: &'a DomainResource,
    console_log: &'a str,
    timeout: Duration,
    watch: Watch<'a>,
    t0: Instant,
}

impl Wait<'_> {
    /// Gives up when cancelled, or past the deadline (naming what it waited for).
    fn check(&self, what: &str, waiting_for: impl FnOnce() -> String) -> Result<(), Error> {
        if (self.watch.cancelled)() {
            return Err(Error::Cancelled {
                domain: self.d.name.clone(),
                waiting_for: what.into(),
            });
        }
        if self.t0.elapsed() > self.timeout {
            return Err(self.not_ready(waiting_for()));
        }
        Ok(())
    }

    fn not_ready(&self, waiting_for: String) -> Error {
        Error::NotReady(Box::new(crate::error::NotReady {
            node: self.d.node.clone(),
            domain: self.d.name.clone(),
            waiting_for,
            waited: self.t0.elapsed(),
            console: self.console_log.to_string(),
            tail: console_tail(self.console_log, 15),
        }))
    }
}

fn agent_call_name(cmd: &serde_json::Value) -> &'static str {
    match cmd["execute"].as_str() {
        Some("guest-ping") => "guest-ping",
        Some("guest-exec") => "guest-exec",
        Some("guest-exec-status") => "guest-exec-status",
        _ => "command",
    }
}

/// Last `n` lines of a console log, or a note when it cannot be read.
pub fn console_tail(path: &str, n: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(n)..].join("\n")
        }
        Err(e) => format!("(console log unreadable: {e})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_tail_of_missing_file_says_so() {
        assert!(console_tail("/nonexistent/console.log", 5).contains("unreadable"));
    }
}
