//! Accelerator choice: KVM only when it really runs a guest, TCG otherwise.
//!
//! `/dev/kvm` can exist, open, and create a VM while vCPUs never make progress (it does on
//! these machines). The probe therefore runs QEMU's firmware under KVM with no disk and waits
//! for SeaBIOS to reach its boot menu on the debug console: seconds under TCG, well under one
//! second with a working KVM, never with a broken one.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::Error;

/// What the user asked for (`--accel auto|kvm|tcg`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AccelChoice {
    #[default]
    Auto,
    Kvm,
    Tcg,
}

/// What domains run with (part of the engine's typed domain description).
pub use lk_engine::provider::Accel;

/// The domain XML `type` attribute for an accelerator.
pub fn domain_type(accel: Accel) -> &'static str {
    match accel {
        Accel::Kvm => "kvm",
        Accel::Tcg => "qemu",
    }
}

/// Why `auto` chose what it chose, for the status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccelDecision {
    pub accel: Accel,
    pub reason: String,
}

/// Resolves the choice. `auto` probes KVM on this host for local URIs (`qemu:///system`,
/// `qemu:///session`) and uses TCG for remote ones (the probe cannot run there). An explicit
/// `kvm` that does not work is an error rather than a silent fallback.
pub fn resolve(choice: AccelChoice, uri: &str) -> Result<AccelDecision, Error> {
    let local = uri.starts_with("qemu:///");
    match choice {
        AccelChoice::Tcg => Ok(AccelDecision {
            accel: Accel::Tcg,
            reason: "requested".into(),
        }),
        AccelChoice::Kvm => {
            if !local {
                return Ok(AccelDecision {
                    accel: Accel::Kvm,
                    reason: "requested (remote host, not probed)".into(),
                });
            }
            match probe_kvm() {
                KvmProbe::Works => Ok(AccelDecision {
                    accel: Accel::Kvm,
                    reason: "requested, probe ok".into(),
                }),
                other => Err(Error::Accel {
                    message: format!("--accel kvm: {}", other.describe()),
                }),
            }
        }
        AccelChoice::Auto => {
            if !local {
                return Ok(AccelDecision {
                    accel: Accel::Tcg,
                    reason: "remote URI: KVM not probed, use --accel kvm to force".into(),
                });
            }
            let p = probe_kvm();
            let accel = if p == KvmProbe::Works {
                Accel::Kvm
            } else {
                Accel::Tcg
            };
            Ok(AccelDecision {
                accel,
                reason: p.describe(),
            })
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvmProbe {
    Works,
    NoDevice,
    NoQemu,
    /// QEMU refused to start with KVM (message).
    Refused(String),
    /// The guest made no progress in the time given.
    Stuck,
}

impl KvmProbe {
    pub fn describe(&self) -> String {
        match self {
            KvmProbe::Works => "KVM runs a guest".into(),
            KvmProbe::NoDevice => "no /dev/kvm".into(),
            KvmProbe::NoQemu => "qemu-system-x86_64 not found".into(),
            KvmProbe::Refused(m) => format!("QEMU refused KVM: {m}"),
            KvmProbe::Stuck => "/dev/kvm exists but a KVM guest makes no progress".into(),
        }
    }
}

const QEMU: &str = "qemu-system-x86_64";

/// Boots SeaBIOS under KVM with the host CPU (no disks) for at most 5 s and checks that it reaches the boot
/// attempt on its debug console.
pub fn probe_kvm() -> KvmProbe {
    if !Path::new("/dev/kvm").exists() {
        return KvmProbe::NoDevice;
    }
    let dir = std::env::temp_dir().join(format!("lustrekit-kvm-probe-{}", std::process::id()));
    if std::fs::create_dir_all(&dir).is_err() {
        return KvmProbe::Refused(format!("cannot create {}", dir.display()));
    }
    let log = dir.join("debugcon.log");
    let result = run_probe(&log);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn run_probe(log: &Path) -> KvmProbe {
    let child = Command::new(QEMU)
        .args([
            "-accel",
            "kvm",
            // The same CPU mode as the domains (host-passthrough): some hosts run a
            // default-CPU KVM guest but abort on the host CPU's MSRs.
            "-cpu",
            "host",
            "-machine",
            "pc",
            "-m",
            "64",
            "-nodefaults",
            "-display",
            "none",
        ])
        .args(["-no-reboot", "-chardev"])
        .arg(format!("file,id=dbg,path={}", log.display()))
        .args(["-device", "isa-debugcon,iobase=0x402,chardev=dbg"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return KvmProbe::NoQemu,
        Err(e) => return KvmProbe::Refused(e.to_string()),
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.contains("Booting from") || text.contains("No bootable device") {
            let _ = child.kill();
            let _ = child.wait();
            return KvmProbe::Works;
        }
        if let Ok(Some(_)) = child.try_wait() {
            let mut err = String::new();
            if let Some(mut s) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut s, &mut err);
            }
            let line = err
                .lines()
                .rfind(|l| !l.trim().is_empty())
                .unwrap_or("exited");
            return KvmProbe::Refused(line.trim().to_string());
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return KvmProbe::Stuck;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_tcg_needs_no_probe() {
        let d = resolve(AccelChoice::Tcg, "qemu:///system")
            .ok()
            .map(|d| d.accel);
        assert_eq!(d, Some(Accel::Tcg));
    }

    #[test]
    fn remote_auto_is_tcg() {
        let d = resolve(AccelChoice::Auto, "qemu+ssh://host/system")
            .ok()
            .map(|d| d.accel);
        assert_eq!(d, Some(Accel::Tcg));
    }

    #[test]
    fn domain_types() {
        assert_eq!(domain_type(Accel::Tcg), "qemu");
        assert_eq!(domain_type(Accel::Kvm), "kvm");
    }
}
