//! `format` and the mount phases: mkfs.lustre each target, mount the targets in order, wait
//! for MDT-OST connections, then mount the clients.

use lk_lustre::cmd::{self, Failover, MkfsLustre};
use lk_lustre::shell::quote;
use lk_model::topology::{Backend, FailoverMode, Node, Target, TargetKind};

use super::script::{Script, HELPER_ENSURE_POOL, HELPER_WAIT_FOR};
use super::Ctx;

/// Seconds `wait-ost` waits for each MDT-OST connection.
const OSP_TIMEOUT_SECS: u32 = 300;

impl Ctx<'_> {
    pub(super) fn format(&self, node: &Node, sc: &mut Script) {
        let targets: Vec<&Target> = self.t.targets().filter(|x| x.node == node.name).collect();
        for target in targets {
            let name = self.target(target);
            let backing = self.backing(target);
            let failover = match (&target.failover, target.failover_mode) {
                (None, _) => Failover::None,
                (Some(_), FailoverMode::Servicenode) => Failover::Servicenode(
                    target
                        .service_nodes()
                        .map(|n| self.a.joined_nids(self.t, n))
                        .collect(),
                ),
                (Some(f), FailoverMode::Failnode) => {
                    Failover::Failnode(vec![self.a.joined_nids(self.t, f)])
                }
            };
            let mkfs = MkfsLustre {
                target: &name,
                mgs_nodes: if target.kind == TargetKind::Mgt {
                    vec![]
                } else {
                    self.mgs_nodes.clone()
                },
                failover,
                backing: backing.clone(),
            };
            sc.line(format!(
                "# {} ({} on {})",
                name.label(),
                target.kind.as_str().to_uppercase(),
                name.device()
            ));
            sc.line(format!(
                "[ -e {dev} ] || {{ udevadm settle; [ -e {dev} ]; }} || fail {}",
                quote(&format!(
                    "disk {} for {} is missing",
                    name.device(),
                    name.label()
                )),
                dev = name.device()
            ));
            let guard = match self.t.backend {
                Backend::Zfs => {
                    format!(
                        "{{ zpool list -H -o name {pool} >/dev/null 2>&1 || zpool import {pool} >/dev/null 2>&1; }} && [ \"$(zfs get -H -o value lustre:svname {ds} 2>/dev/null)\" = {label} ]",
                        pool = name.zpool(),
                        ds = name.zfs_dataset(),
                        label = quote(&name.label())
                    )
                }
                Backend::Ldiskfs => format!(
                    "grep -qE '^Target: +{}$' <<<\"$(tunefs.lustre --dryrun {} 2>/dev/null)\"",
                    name.label(),
                    name.device()
                ),
            };
            match self.t.backend {
                Backend::Zfs => sc.mkfs_zpool_unless(&guard, &mkfs.argv(), &name.zpool()),
                Backend::Ldiskfs => sc.cmd_unless(&guard, &mkfs.argv()),
            }
        }
    }

    pub(super) fn mount_targets(&self, node: &Node, kind: TargetKind, sc: &mut Script) {
        for target in self.primary_targets(&node.name, kind) {
            let name = self.target(target);
            if self.t.backend == Backend::Zfs {
                sc.helper(HELPER_ENSURE_POOL);
                sc.line(format!("ensure_pool {}", name.zpool()));
            }
            self.mount_one(target, sc);
        }
    }

    /// Mounts one target whose pool (ZFS) is imported, unless it is mounted already.
    pub(super) fn mount_one(&self, target: &Target, sc: &mut Script) {
        let mp = self.target(target).mount_point();
        sc.line(format!("mkdir -p {mp}"));
        sc.cmd_unless(
            &format!("mountpoint -q {mp}"),
            &cmd::mount_target(&self.backing(target), &mp),
        );
    }

    pub(super) fn wait_ost(&self, node: &Node, sc: &mut Script) {
        sc.helper(HELPER_WAIT_FOR);
        sc.line("# Mounting a client before the MDTs reach every OST stalls it for ~25 s.");
        sc.line("osp_ready() {");
        sc.line(
            "    grep -q 'current_state: FULL' <<<\"$(lctl get_param -n \"osp.$1.state\" 2>/dev/null)\" &&",
        );
        sc.line("        [ \"$(lctl get_param -n \"osp.$1.prealloc_status\" 2>/dev/null)\" = 0 ]");
        sc.line("}");
        for mdt in self.primary_targets(&node.name, TargetKind::Mdt) {
            let mdt_name = self.target(mdt);
            for ost in &self.t.osts {
                let dev = cmd::osp_device(&self.target(ost), &mdt_name);
                sc.commands.push(format!(
                    "wait for osp.{dev}.state FULL and prealloc_status 0"
                ));
                sc.line(format!(
                    "wait_for {OSP_TIMEOUT_SECS} {} osp_ready {dev}",
                    quote(&format!("{dev} to connect"))
                ));
            }
        }
    }

    pub(super) fn mount_client(&self, node: &Node, sc: &mut Script) {
        for c in self.t.clients.iter().filter(|c| c.node == node.name) {
            sc.line(format!("mkdir -p {}", quote(&c.mount_point)));
            sc.cmd_unless(
                &format!("mountpoint -q {}", quote(&c.mount_point)),
                &cmd::mount_client(&self.mgs_nodes, &self.t.fsname, &c.mount_point),
            );
        }
    }
}
