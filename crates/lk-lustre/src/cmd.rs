//! Argument builders for the Lustre tools, as argument vectors (see [`crate::shell::join`]).
//! Flags and their order follow the Lustre Operations Manual and Lustre's own test framework.

use crate::target::{Kind, TargetName};

/// Backing filesystem of a target and where it lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backing {
    /// A block device formatted directly.
    Ldiskfs { device: String },
    /// A ZFS dataset `pool/dataset` in a pool that mkfs.lustre creates on `vdev`.
    Zfs { dataset: String, vdev: String },
}

/// How failover partners are written into a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failover {
    None,
    /// Every node that may serve the target (primary included), each as its joined NIDs.
    Servicenode(Vec<String>),
    /// The partners other than the formatting node.
    Failnode(Vec<String>),
}

/// `mkfs.lustre` for one target.
#[derive(Debug, Clone)]
pub struct MkfsLustre<'a> {
    pub target: &'a TargetName,
    /// MGS nodes, each as its joined NIDs; joined with `:` into one `--mgsnode` (not for the MGT).
    pub mgs_nodes: Vec<String>,
    pub failover: Failover,
    pub backing: Backing,
}

impl MkfsLustre<'_> {
    pub fn argv(&self) -> Vec<String> {
        let t = self.target;
        let mut a = vec!["mkfs.lustre".to_string()];
        match t.kind {
            Kind::Mgt => a.push("--mgs".into()),
            Kind::Mdt => a.extend([
                "--mdt".into(),
                format!("--fsname={}", t.fsname),
                format!("--index={}", t.index()),
            ]),
            Kind::Ost => a.extend([
                "--ost".into(),
                format!("--fsname={}", t.fsname),
                format!("--index={}", t.index()),
            ]),
        }
        if t.kind != Kind::Mgt && !self.mgs_nodes.is_empty() {
            a.push(format!("--mgsnode={}", self.mgs_nodes.join(":")));
        }
        match &self.failover {
            Failover::None => {}
            Failover::Servicenode(nodes) => {
                a.extend(nodes.iter().map(|n| format!("--servicenode={n}")))
            }
            Failover::Failnode(nodes) => a.extend(nodes.iter().map(|n| format!("--failnode={n}"))),
        }
        match &self.backing {
            Backing::Ldiskfs { device } => {
                a.extend(["--backfstype=ldiskfs".into(), device.clone()])
            }
            Backing::Zfs { dataset, vdev } => {
                a.extend(["--backfstype=zfs".into(), dataset.clone(), vdev.clone()])
            }
        }
        a
    }
}

/// What `mount` takes as the source of a target: the device or the ZFS dataset.
pub fn target_source(backing: &Backing) -> &str {
    match backing {
        Backing::Ldiskfs { device } => device,
        Backing::Zfs { dataset, .. } => dataset,
    }
}

/// Mounts a server target. Lustre 2.17 names the target filesystem type `lustre_tgt`.
pub fn mount_target(backing: &Backing, mount_point: &str) -> Vec<String> {
    vec![
        "mount".into(),
        "-t".into(),
        "lustre_tgt".into(),
        target_source(backing).into(),
        mount_point.into(),
    ]
}

/// The client mount source: MGS nodes (each as joined NIDs) joined with `:`, then `:/fsname`.
pub fn client_source(mgs_nodes: &[String], fsname: &str) -> String {
    format!("{}:/{fsname}", mgs_nodes.join(":"))
}

pub fn mount_client(mgs_nodes: &[String], fsname: &str, mount_point: &str) -> Vec<String> {
    vec![
        "mount".into(),
        "-t".into(),
        "lustre".into(),
        client_source(mgs_nodes, fsname),
        mount_point.into(),
    ]
}

pub fn lnet_configure() -> Vec<String> {
    argv(&["lnetctl", "lnet", "configure"])
}

pub fn lnet_net_add(net: &str, interface: &str) -> Vec<String> {
    argv(&["lnetctl", "net", "add", "--net", net, "--if", interface])
}

pub fn lnet_route_add(net: &str, gateway: &str, hops: u32) -> Vec<String> {
    let mut a = argv(&[
        "lnetctl",
        "route",
        "add",
        "--net",
        net,
        "--gateway",
        gateway,
    ]);
    // Always explicit: without --hop the kernel warns and assumes an unknown distance.
    a.extend(["--hop".to_string(), hops.max(1).to_string()]);
    a
}

pub fn lnet_enable_routing() -> Vec<String> {
    argv(&["lnetctl", "set", "routing", "1"])
}

pub fn lnet_ping(nid: &str) -> Vec<String> {
    argv(&["lnetctl", "ping", nid])
}

/// `lctl get_param -n PARAM`.
pub fn lctl_get(param: &str) -> Vec<String> {
    argv(&["lctl", "get_param", "-n", param])
}

/// The OSP device through which MDT `mdt` talks to OST `ost`: `fs-OST0000-osc-MDT0000`.
pub fn osp_device(ost: &TargetName, mdt: &TargetName) -> String {
    format!("{}-osc-MDT{:04x}", ost.label(), mdt.index)
}

fn argv(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::join;

    #[test]
    fn mkfs_ost_with_servicenodes_on_zfs() {
        let t = TargetName::new("hafs", Kind::Ost, 1);
        let m = MkfsLustre {
            target: &t,
            mgs_nodes: vec!["10.0.0.10@tcp0".into(), "10.0.0.11@tcp0".into()],
            failover: Failover::Servicenode(vec!["10.0.0.12@tcp0".into(), "10.0.0.13@tcp0".into()]),
            backing: Backing::Zfs {
                dataset: t.zfs_dataset(),
                vdev: t.device(),
            },
        };
        assert_eq!(
            join(&m.argv()),
            "mkfs.lustre --ost --fsname=hafs --index=1 --mgsnode=10.0.0.10@tcp0:10.0.0.11@tcp0 \
             --servicenode=10.0.0.12@tcp0 --servicenode=10.0.0.13@tcp0 --backfstype=zfs \
             hafs-ost2/ost2 /dev/disk/by-id/virtio-hafs-ost2"
        );
    }

    #[test]
    fn mkfs_mgs_ldiskfs_failnode() {
        let t = TargetName::new("fs", Kind::Mgt, 0);
        let m = MkfsLustre {
            target: &t,
            mgs_nodes: vec![],
            failover: Failover::Failnode(vec!["10.0.0.11@tcp0".into()]),
            backing: Backing::Ldiskfs { device: t.device() },
        };
        assert_eq!(
            join(&m.argv()),
            "mkfs.lustre --mgs --failnode=10.0.0.11@tcp0 --backfstype=ldiskfs /dev/disk/by-id/virtio-fs-mgs"
        );
    }

    #[test]
    fn client_and_routes() {
        assert_eq!(
            join(&mount_client(
                &["10.0.0.1@tcp0,10.1.0.1@tcp1".into(), "10.0.0.2@tcp0".into()],
                "fs",
                "/mnt/fs"
            )),
            "mount -t lustre 10.0.0.1@tcp0,10.1.0.1@tcp1:10.0.0.2@tcp0:/fs /mnt/fs"
        );
        assert_eq!(
            join(&lnet_route_add("tcp2", "10.0.0.9@tcp0", 2)),
            "lnetctl route add --net tcp2 --gateway 10.0.0.9@tcp0 --hop 2"
        );
        assert_eq!(
            join(&lnet_route_add("tcp1", "10.0.0.9@tcp0", 1)),
            "lnetctl route add --net tcp1 --gateway 10.0.0.9@tcp0 --hop 1"
        );
        let ost = TargetName::new("fs", Kind::Ost, 3);
        let mdt = TargetName::new("fs", Kind::Mdt, 0);
        assert_eq!(osp_device(&ost, &mdt), "fs-OST0003-osc-MDT0000");
    }
}
