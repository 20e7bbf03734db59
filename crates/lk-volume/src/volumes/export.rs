// SPDX-License-Identifier: Apache-2.0
//! Serving a volume over NBD (`qemu-nbd`) from a Lustre client to a hypervisor that cannot
//! mount Lustre itself: the export is what an attachment rests on, so it is recorded in the
//! volume's state with the domain it serves, and the volume counts as attached (extend,
//! snapshot, revert and delete are refused) until it is withdrawn.

use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{VolumeError, Volumes};
use crate::runner::{run_checked, CommandError};

/// Ports tried from the first one asked for: a busy port is skipped, not fatal.
pub const PORTS_TRIED: u16 = 64;
/// The NBD server's pid file in the volume's directory.
const PID_FILE: &str = "nbd.pid";

/// One volume served over NBD.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NbdExport {
    /// The domain the export was made for (what the volume is attached to).
    pub domain: String,
    pub address: IpAddr,
    pub port: u16,
    /// The NBD export name (the volume's name).
    pub name: String,
    /// The image file served (the active layer when the export was made).
    pub image: String,
    pub format: crate::qemu::Format,
    /// The qemu-nbd process.
    pub pid: u32,
}

impl NbdExport {
    /// `nbd://ADDRESS:PORT/NAME`, as `qemu-img info` takes it.
    pub fn uri(&self) -> String {
        match self.address {
            IpAddr::V4(a) => format!("nbd://{a}:{}/{}", self.port, self.name),
            IpAddr::V6(a) => format!("nbd://[{a}]:{}/{}", self.port, self.name),
        }
    }
}

/// The command line of the NBD server for one volume (`--fork`: it returns once serving).
pub fn qemu_nbd_argv(dir: &Path, export: &NbdExport) -> Vec<String> {
    vec![
        "qemu-nbd".into(),
        "--fork".into(),
        "--persistent".into(),
        "--shared=4".into(),
        format!("--format={}", export.format),
        // The guest's page cache is the cache; Lustre sees its writes when they are flushed.
        "--cache=none".into(),
        format!("--bind={}", export.address),
        format!("--port={}", export.port),
        format!("--export-name={}", export.name),
        format!("--pid-file={}", dir.join(PID_FILE).display()),
        dir.join(&export.image).display().to_string(),
    ]
}

impl Volumes {
    /// Serves `name` over NBD on `address`, at the first free port from `first_port`, for
    /// `domain`. The same domain asking again gets the running export; another is refused.
    pub fn export(
        &self,
        name: &str,
        domain: &str,
        address: IpAddr,
        first_port: u16,
    ) -> Result<NbdExport, VolumeError> {
        crate::name::validate("domain", domain)?;
        let locked = self.lock(name)?;
        let mut info = locked.info.clone();
        if let Some(to) = &info.attached_to {
            return match &info.export {
                Some(e) if to == domain && process_is_nbd(e.pid) => Ok(e.clone()),
                _ => Err(VolumeError::Attached {
                    volume: name.into(),
                    to: to.clone(),
                    action: "another attachment",
                }),
            };
        }
        let pid_file = locked.dir.join(PID_FILE);
        let _ = std::fs::remove_file(&pid_file);
        let mut last = None;
        for port in first_port..first_port.saturating_add(PORTS_TRIED) {
            let mut export = NbdExport {
                domain: domain.into(),
                address,
                port,
                name: name.into(),
                image: info.active.clone(),
                format: info.image_format(&info.active),
                pid: 0,
            };
            match run_checked(self.runner().as_ref(), &qemu_nbd_argv(&locked.dir, &export)) {
                Ok(_) => {}
                Err(e) if port_in_use(&e) => {
                    last = Some(e);
                    continue;
                }
                Err(e) => return Err(nbd_err(name, "qemu-nbd failed", e)),
            }
            export.pid = read_pid(&pid_file).map_err(|reason| VolumeError::Export {
                volume: name.into(),
                reason,
            })?;
            info.attached_to = Some(domain.into());
            info.export = Some(export.clone());
            if let Err(e) = self.save(&locked, &info) {
                stop_nbd(export.pid);
                return Err(e);
            }
            return Ok(export);
        }
        Err(VolumeError::Export {
            volume: name.into(),
            reason: format!(
                "no free port in {first_port}..{} ({})",
                first_port.saturating_add(PORTS_TRIED - 1),
                last.map(|e| e.to_string()).unwrap_or_default()
            ),
        })
    }

    /// Stops serving `name` and clears its attachment. Nothing exported is success.
    pub fn unexport(&self, name: &str) -> Result<(), VolumeError> {
        let locked = self.lock(name)?;
        let mut info = locked.info.clone();
        if let Some(export) = &info.export {
            if !stop_nbd(export.pid) {
                return Err(VolumeError::Export {
                    volume: name.into(),
                    reason: format!("qemu-nbd (pid {}) did not stop within 10 s", export.pid),
                });
            }
        }
        let _ = std::fs::remove_file(locked.dir.join(PID_FILE));
        info.export = None;
        info.attached_to = None;
        self.save(&locked, &info)
    }
}

fn nbd_err(volume: &str, action: &'static str, source: CommandError) -> VolumeError {
    VolumeError::Export {
        volume: volume.into(),
        reason: format!("{action}: {source}"),
    }
}

fn port_in_use(e: &CommandError) -> bool {
    e.to_string().contains("Address already in use")
}

fn read_pid(path: &Path) -> Result<u32, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("qemu-nbd wrote no pid file {}: {e}", path.display()))?;
    text.trim()
        .parse()
        .map_err(|_| format!("pid file {} holds {:?}", path.display(), text.trim()))
}

/// Whether `pid` is a running qemu-nbd (a pid can be reused after a reboot).
fn process_is_nbd(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
        c.split(|b| *b == 0)
            .next()
            .is_some_and(|a| a.ends_with(b"qemu-nbd"))
    })
}

/// Sends SIGTERM to the qemu-nbd at `pid` and waits for it to go; true when it is gone (or
/// was never there).
fn stop_nbd(pid: u32) -> bool {
    if !process_is_nbd(pid) {
        return true;
    }
    let Some(p) = rustix::process::Pid::from_raw(pid as i32) else {
        return true;
    };
    let _ = rustix::process::kill_process(p, rustix::process::Signal::TERM);
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if !process_is_nbd(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}
