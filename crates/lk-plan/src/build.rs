//! Resources of a topology: networks, pool, shared folder, volumes and domains.

use lk_model::topology::{LustreSource, PackageOrigin, SourceOrigin};
use lk_model::Topology;

use lk_model::defaults::fnv1a;

use crate::addressing::Addressing;
use crate::resources::*;
use crate::PlanOptions;

/// Mount point of the shared folder in every guest, and its 9p tag.
pub const GUEST_SHARED: &str = "/mnt/lustrekit";
pub const SHARED_TAG: &str = "lustrekit";
/// Host addresses below the first node address: .1 is the host, .2-.9 the dynamic range.
const DHCP_FIRST: u32 = 2;
const DHCP_LAST: u32 = 9;

/// Host bridge of a libvirt network: `lk` + 8 hex digits of its name's FNV-1a hash (at most
/// 15 characters, as Linux requires). Stable: `gc` recognises lustrekit networks by it.
pub fn bridge_name(network: &str) -> String {
    format!("lk{:08x}", fnv1a(network.as_bytes()))
}

pub fn resources(
    t: &Topology,
    options: &PlanOptions,
    a: &Addressing,
    host_build: bool,
) -> Resources {
    let cluster_dir = format!(
        "{}/clusters/{}",
        options.state_dir.trim_end_matches('/'),
        t.name
    );
    let networks = t
        .networks
        .iter()
        .map(|net| {
            let name = format!("{}-{}", t.name, net.name);
            NetworkResource {
                bridge: bridge_name(&name),
                name,
                lnet: net.name.clone(),
                cidr: net.cidr.to_string(),
                host_address: net.cidr.host(1).unwrap_or(net.cidr.network),
                netmask: net.cidr.netmask(),
                prefix: net.cidr.prefix,
                dhcp_start: net.cidr.host(DHCP_FIRST).unwrap_or(net.cidr.network),
                dhcp_end: net.cidr.host(DHCP_LAST).unwrap_or(net.cidr.network),
                hosts: t
                    .nodes
                    .iter()
                    .filter_map(|n| {
                        a.address(&n.name, &net.name).map(|address| DhcpHost {
                            node: n.name.clone(),
                            mac: a.mac(&n.name, &net.name),
                            address,
                        })
                    })
                    .collect(),
            }
        })
        .collect();

    let mut volumes: Vec<VolumeResource> = t
        .nodes
        .iter()
        .map(|n| VolumeResource {
            name: format!("{}-{}-root.qcow2", t.name, n.name),
            purpose: VolumePurpose::Root {
                node: n.name.clone(),
            },
            format: VolumeFormat::Qcow2,
            capacity_bytes: t.image.root_disk_bytes,
            backing: Some(t.image.path.clone()),
            serial: "root".into(),
            attached_to: vec![n.name.clone()],
        })
        .collect();
    for target in t.targets() {
        let name = t.target_name(target);
        volumes.push(VolumeResource {
            name: format!("{}-{}.img", t.name, name.serial()),
            purpose: VolumePurpose::Target {
                target: name.label(),
            },
            format: VolumeFormat::Raw,
            capacity_bytes: target.size_bytes,
            backing: None,
            serial: name.serial(),
            attached_to: target.service_nodes().map(str::to_string).collect(),
        });
    }

    let domains = t
        .nodes
        .iter()
        .map(|n| {
            let disks = volumes
                .iter()
                .filter(|v| v.attached_to.contains(&n.name))
                .enumerate()
                .map(|(i, v)| DiskAttachment {
                    volume: v.name.clone(),
                    device: disk_device(i),
                    serial: v.serial.clone(),
                    shareable: v.shareable(),
                })
                .collect();
            DomainResource {
                name: format!("{}-{}", t.name, n.name),
                node: n.name.clone(),
                vcpus: n.vcpus,
                memory_mib: n.memory_bytes >> 20,
                nics: n
                    .networks
                    .iter()
                    .enumerate()
                    .map(|(i, net)| Nic {
                        network: format!("{}-{}", t.name, net),
                        lnet: net.clone(),
                        mac: a.mac(&n.name, net),
                        address: a
                            .address(&n.name, net)
                            .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED),
                        guest_interface: format!("eth{i}"),
                    })
                    .collect(),
                disks,
                kernel: t.image.kernel.as_ref().map(|k| KernelBoot {
                    kernel: k.clone(),
                    initrd: t.image.initrd.clone(),
                    cmdline: t.image.cmdline.clone(),
                }),
                console_log: format!("logs/{}/console.log", n.name),
            }
        })
        .collect();

    Resources {
        networks,
        pool: PoolResource {
            name: t.name.clone(),
            path: format!("{cluster_dir}/pool"),
        },
        shared: SharedFolder {
            host_path: format!("{cluster_dir}/shared"),
            tag: SHARED_TAG.into(),
            guest_path: GUEST_SHARED.into(),
            subdirs: vec![
                "scripts".into(),
                "logs".into(),
                "packages".into(),
                "cfg".into(),
            ],
            imports: if host_build {
                // The CLI adds the built repository once the host build has made it.
                Vec::new()
            } else {
                imports(&t.lustre)
            },
        },
        volumes,
        domains,
    }
}

/// What `up` copies from the host so the guests can install Lustre.
fn imports(source: &LustreSource) -> Vec<Import> {
    let import = |from: &str, to: &str, kind| Import {
        from: from.into(),
        to: to.into(),
        kind,
    };
    match source {
        LustreSource::Packages {
            origin: PackageOrigin::Folder(dir),
        } => vec![import(dir, "packages", ImportKind::Packages)],
        LustreSource::Tarball { path } => vec![import(
            path,
            "packages/lustre-install.tar.gz",
            ImportKind::File,
        )],
        LustreSource::Build {
            origin: SourceOrigin::Path(p),
            ..
        } => vec![import(p, "source", ImportKind::Tree)],
        _ => Vec::new(),
    }
}

/// `vda`, `vdb`, ..., `vdz`, `vdaa`, ...
fn disk_device(i: usize) -> String {
    let letters = |n: usize| (b'a' + n as u8) as char;
    if i < 26 {
        format!("vd{}", letters(i))
    } else {
        format!("vd{}{}", letters(i / 26 - 1), letters(i % 26))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn disk_devices() {
        assert_eq!(super::disk_device(0), "vda");
        assert_eq!(super::disk_device(25), "vdz");
        assert_eq!(super::disk_device(26), "vdaa");
    }
}
