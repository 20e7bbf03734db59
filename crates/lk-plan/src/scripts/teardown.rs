//! Teardown phases and the failover scripts: unmount clients and targets (exporting ZFS
//! pools), unload Lustre; `release-<facet>` and `takeover-<facet>` move one target.

use lk_lustre::shell::quote;
use lk_model::topology::{Backend, Node, Target, TargetKind};

use super::script::{s, Script, HELPER_WAIT_FOR};
use super::Ctx;

/// Seconds a target may take to finish recovery after it moved.
const RECOVERY_TIMEOUT_SECS: u32 = 600;

impl Ctx<'_> {
    pub(super) fn umount_client(&self, node: &Node, sc: &mut Script) {
        for c in self.t.clients.iter().filter(|c| c.node == node.name) {
            let mp = quote(&c.mount_point);
            sc.commands.push(format!("umount {mp}"));
            sc.line(format!("if mountpoint -q {mp}; then umount {mp}; fi"));
        }
    }

    pub(super) fn umount_targets(&self, node: &Node, kind: TargetKind, sc: &mut Script) {
        for target in self.served_targets(&node.name, kind) {
            self.release(target, sc);
        }
    }

    /// Unmounts one target and, on ZFS, exports its pool (teardown and failover).
    pub(super) fn release(&self, target: &Target, sc: &mut Script) {
        let name = self.target(target);
        let mp = name.mount_point();
        sc.commands.push(format!("umount {mp}"));
        sc.line(format!("if mountpoint -q {mp}; then umount {mp}; fi"));
        if self.t.backend == Backend::Zfs {
            let pool = name.zpool();
            sc.commands.push(format!("zpool export {pool}"));
            sc.line(format!(
                "if zpool list -H -o name {pool} >/dev/null 2>&1; then zpool export {pool}; fi"
            ));
        }
    }

    /// `$1` = `--force` after the old owner was fenced (powered off): ZFS multihost then
    /// needs `zpool import -f`, which waits for its activity check.
    pub(super) fn takeover(&self, target: &Target, sc: &mut Script) {
        let name = self.target(target);
        sc.line("force=${1:-}");
        sc.line("# After a reboot (a fenced node booted again) nothing of Lustre is loaded yet.");
        sc.line("modprobe lustre");
        if self.t.backend == Backend::Zfs {
            let pool = name.zpool();
            let dev = name.device();
            sc.line(
                "# A standby that booted before the pool was created has a stale partition table.",
            );
            sc.line(format!("blockdev --rereadpt {dev} || true"));
            sc.line("udevadm settle");
            sc.commands.push(format!("zpool import [-f] {pool}"));
            sc.line(format!(
                "if ! zpool list -H -o name {pool} >/dev/null 2>&1; then"
            ));
            sc.line("    if [ \"$force\" = --force ]; then");
            sc.line(format!("        zpool import -f {pool}"));
            sc.line("    else");
            sc.line(format!("        zpool import {pool}"));
            sc.line("    fi");
            sc.line("fi");
        }
        self.mount_one(target, sc);
        let param = match target.kind {
            TargetKind::Mgt => None,
            TargetKind::Mdt => Some(format!("mdt.{}.recovery_status", name.label())),
            TargetKind::Ost => Some(format!("obdfilter.{}.recovery_status", name.label())),
        };
        if let Some(param) = param {
            sc.helper(HELPER_WAIT_FOR);
            sc.line("recovered() {");
            sc.line("    grep -qE '^status: (COMPLETE|INACTIVE)' <<<\"$(lctl get_param -n \"$1\" 2>/dev/null)\"");
            sc.line("}");
            sc.commands.push(format!("wait for {param}: COMPLETE"));
            sc.line(format!(
                "wait_for {RECOVERY_TIMEOUT_SECS} {} recovered {param}",
                quote(&format!("recovery of {}", name.label()))
            ));
        }
    }

    pub(super) fn unload(&self, sc: &mut Script) {
        sc.line("if ! command -v lustre_rmmod >/dev/null; then");
        sc.line("    log 'no Lustre installed; nothing to unload'");
        sc.line("    exit 0");
        sc.line("fi");
        sc.line("if grep -q '^lnet ' /proc/modules; then lnetctl lnet unconfigure || true; fi");
        sc.cmd(&s(&["lustre_rmmod"]));
    }
}
