//! Pure libvirt XML builders from [`lk_plan::resources`] types, and the ownership tag parser.
//! No I/O: every input is explicit, so the output is snapshot-tested.

use std::fmt::Write as _;

use lk_plan::resources::{
    DomainResource, NetworkResource, PoolResource, SharedFolder, VolumeFormat, VolumeResource,
};

use crate::accel::Accel;

/// XML namespace of lustrekit's domain `<metadata>`.
pub const LK_NS: &str = "https://lustrekit.dev/xmlns/1";
/// Prefix used for that namespace.
pub const LK_PREFIX: &str = "lk";

pub use lk_engine::provider::Owner;

/// Host paths a domain needs besides its [`DomainResource`].
#[derive(Debug, Clone)]
pub struct DomainContext<'a> {
    pub owner: &'a Owner,
    pub accel: Accel,
    /// Directory of the cluster's storage pool; disk files are `<pool>/<volume>`.
    pub pool_path: &'a str,
    /// All volumes of the plan (to look up each disk's format).
    pub volumes: &'a [VolumeResource],
    pub shared: &'a SharedFolder,
}

/// Escapes text for XML element content and single- or double-quoted attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// A NAT network with dnsmasq DHCP: a small dynamic range plus one fixed reservation per node.
pub fn network_xml(n: &NetworkResource) -> String {
    let mut x = String::new();
    let _ = writeln!(x, "<network>");
    let _ = writeln!(x, "  <name>{}</name>", esc(&n.name));
    let _ = writeln!(x, "  <forward mode='nat'/>");
    let _ = writeln!(
        x,
        "  <bridge name='{}' stp='off' delay='0'/>",
        esc(&n.bridge)
    );
    let _ = writeln!(
        x,
        "  <ip address='{}' netmask='{}'>",
        n.host_address, n.netmask
    );
    let _ = writeln!(x, "    <dhcp>");
    let _ = writeln!(
        x,
        "      <range start='{}' end='{}'/>",
        n.dhcp_start, n.dhcp_end
    );
    for h in &n.hosts {
        let _ = writeln!(
            x,
            "      <host mac='{}' name='{}' ip='{}'/>",
            esc(&h.mac),
            esc(&h.node),
            h.address
        );
    }
    let _ = writeln!(x, "    </dhcp>");
    let _ = writeln!(x, "  </ip>");
    let _ = writeln!(x, "</network>");
    x
}

/// A `dir` storage pool.
pub fn pool_xml(p: &PoolResource) -> String {
    format!(
        "<pool type='dir'>\n  <name>{}</name>\n  <target>\n    <path>{}</path>\n    \
         <permissions>\n      <mode>0755</mode>\n    </permissions>\n  </target>\n</pool>\n",
        esc(&p.name),
        esc(&p.path)
    )
}

/// A volume: qcow2 (with the base image as backing store, for root disks) or sparse raw.
pub fn volume_xml(v: &VolumeResource) -> String {
    let fmt = match v.format {
        VolumeFormat::Qcow2 => "qcow2",
        VolumeFormat::Raw => "raw",
    };
    let mut x = String::new();
    let _ = writeln!(x, "<volume>");
    let _ = writeln!(x, "  <name>{}</name>", esc(&v.name));
    let _ = writeln!(
        x,
        "  <capacity unit='bytes'>{}</capacity>",
        v.capacity_bytes
    );
    // Sparse: nothing allocated up front.
    let _ = writeln!(x, "  <allocation unit='bytes'>0</allocation>");
    let _ = writeln!(x, "  <target>");
    let _ = writeln!(x, "    <format type='{fmt}'/>");
    let _ = writeln!(
        x,
        "    <permissions>\n      <mode>0644</mode>\n    </permissions>"
    );
    let _ = writeln!(x, "  </target>");
    if let Some(b) = &v.backing {
        let _ = writeln!(x, "  <backingStore>");
        let _ = writeln!(x, "    <path>{}</path>", esc(b));
        let _ = writeln!(x, "    <format type='qcow2'/>");
        let _ = writeln!(x, "  </backingStore>");
    }
    let _ = writeln!(x, "</volume>");
    x
}

/// The ownership element stored in a domain's `<metadata>`.
pub fn owner_element(o: &Owner, node: &str) -> String {
    format!(
        "<{p}:owner xmlns:{p}='{LK_NS}'><{p}:cluster>{}</{p}:cluster><{p}:run>{}</{p}:run>\
         <{p}:node>{}</{p}:node></{p}:owner>",
        esc(&o.cluster),
        esc(&o.run),
        esc(node),
        p = LK_PREFIX
    )
}

/// Absolute host path of a domain's console log.
pub fn console_path(d: &DomainResource, shared: &SharedFolder) -> String {
    lk_engine::provider::console_path(d, shared)
}

/// A domain: vCPUs and memory, direct kernel boot when given, virtio disks with serials
/// (shareable raw disks without host cache), NICs with fixed MACs, the 9p shared folder, a
/// serial console to a file, the guest agent channel, and lustrekit's ownership metadata.
pub fn domain_xml(d: &DomainResource, ctx: &DomainContext<'_>) -> String {
    let mut x = String::new();
    let _ = writeln!(
        x,
        "<domain type='{}'>",
        crate::accel::domain_type(ctx.accel)
    );
    let _ = writeln!(x, "  <name>{}</name>", esc(&d.name));
    let _ = writeln!(
        x,
        "  <title>lustrekit {}/{}</title>",
        esc(&ctx.owner.cluster),
        esc(&d.node)
    );
    let _ = writeln!(x, "  <metadata>");
    let _ = writeln!(x, "    {}", owner_element(ctx.owner, &d.node));
    let _ = writeln!(x, "  </metadata>");
    let _ = writeln!(x, "  <memory unit='MiB'>{}</memory>", d.memory_mib);
    let _ = writeln!(x, "  <vcpu>{}</vcpu>", d.vcpus);
    let _ = writeln!(x, "  <os>");
    let _ = writeln!(x, "    <type arch='x86_64' machine='pc'>hvm</type>");
    match &d.kernel {
        Some(k) => {
            let _ = writeln!(x, "    <kernel>{}</kernel>", esc(&k.kernel));
            if let Some(i) = &k.initrd {
                let _ = writeln!(x, "    <initrd>{}</initrd>", esc(i));
            }
            let _ = writeln!(x, "    <cmdline>{}</cmdline>", esc(&k.cmdline));
        }
        None => {
            let _ = writeln!(x, "    <boot dev='hd'/>");
        }
    }
    let _ = writeln!(x, "  </os>");
    let _ = writeln!(x, "  <features>\n    <acpi/>\n    <apic/>\n  </features>");
    if ctx.accel == Accel::Kvm {
        let _ = writeln!(x, "  <cpu mode='host-passthrough'/>");
    }
    let _ = writeln!(x, "  <clock offset='utc'/>");
    let _ = writeln!(x, "  <on_poweroff>destroy</on_poweroff>");
    let _ = writeln!(x, "  <on_reboot>restart</on_reboot>");
    let _ = writeln!(x, "  <on_crash>destroy</on_crash>");
    let _ = writeln!(x, "  <devices>");
    disks_xml(&mut x, d, ctx);
    for nic in &d.nics {
        let _ = writeln!(x, "    <interface type='network'>");
        let _ = writeln!(x, "      <source network='{}'/>", esc(&nic.network));
        let _ = writeln!(x, "      <mac address='{}'/>", esc(&nic.mac));
        let _ = writeln!(x, "      <model type='virtio'/>");
        let _ = writeln!(x, "    </interface>");
    }
    fixed_devices_xml(&mut x, d, ctx);
    let _ = writeln!(x, "  </devices>");
    let _ = writeln!(x, "</domain>");
    x
}

/// The domain's disks: virtio, with serials; shareable ones raw and without host cache.
fn disks_xml(x: &mut String, d: &DomainResource, ctx: &DomainContext<'_>) {
    for disk in &d.disks {
        let vol = ctx.volumes.iter().find(|v| v.name == disk.volume);
        let fmt = match vol.map(|v| v.format) {
            Some(VolumeFormat::Qcow2) => "qcow2",
            _ => "raw",
        };
        let path = format!("{}/{}", ctx.pool_path.trim_end_matches('/'), disk.volume);
        let _ = writeln!(x, "    <disk type='file' device='disk'>");
        if disk.shareable {
            // Two VMs write the same disk: no host cache, or one sees stale blocks.
            let _ = writeln!(
                x,
                "      <driver name='qemu' type='{fmt}' cache='none' io='native'/>"
            );
        } else {
            let _ = writeln!(
                x,
                "      <driver name='qemu' type='{fmt}' discard='unmap'/>"
            );
        }
        let _ = writeln!(x, "      <source file='{}'/>", esc(&path));
        let _ = writeln!(
            x,
            "      <target dev='{}' bus='virtio'/>",
            esc(&disk.device)
        );
        let _ = writeln!(x, "      <serial>{}</serial>", esc(&disk.serial));
        if disk.shareable {
            let _ = writeln!(x, "      <shareable/>");
        }
        let _ = writeln!(x, "    </disk>");
    }
}

/// The shared folder, the serial console to a file, the guest agent channel, entropy.
fn fixed_devices_xml(x: &mut String, d: &DomainResource, ctx: &DomainContext<'_>) {
    // 'mapped': qemu runs unprivileged and keeps guest ownership in xattrs.
    let _ = writeln!(x, "    <filesystem type='mount' accessmode='mapped'>");
    let _ = writeln!(x, "      <source dir='{}'/>", esc(&ctx.shared.host_path));
    let _ = writeln!(x, "      <target dir='{}'/>", esc(&ctx.shared.tag));
    let _ = writeln!(x, "    </filesystem>");
    let console = esc(&console_path(d, ctx.shared));
    let _ = writeln!(x, "    <serial type='file'>");
    let _ = writeln!(x, "      <source path='{console}' append='on'/>");
    let _ = writeln!(x, "      <target port='0'/>");
    let _ = writeln!(x, "    </serial>");
    let _ = writeln!(x, "    <console type='file'>");
    let _ = writeln!(x, "      <source path='{console}' append='on'/>");
    let _ = writeln!(x, "      <target type='serial' port='0'/>");
    let _ = writeln!(x, "    </console>");
    let _ = writeln!(x, "    <channel type='unix'>");
    let _ = writeln!(
        x,
        "      <target type='virtio' name='org.qemu.guest_agent.0'/>"
    );
    let _ = writeln!(x, "    </channel>");
    // Entropy for early boot: without it TCG guests wait seconds for the crng.
    let _ = writeln!(x, "    <rng model='virtio'>");
    let _ = writeln!(x, "      <backend model='random'>/dev/urandom</backend>");
    let _ = writeln!(x, "    </rng>");
    let _ = writeln!(x, "    <memballoon model='none'/>");
}

/// The owner tag parser lives with the other ownership marks.
pub use crate::ownership::parse_owner;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(esc("a<b>&'\""), "a&lt;b&gt;&amp;&apos;&quot;");
    }

    #[test]
    fn owner_round_trip() {
        let o = Owner {
            cluster: "l<a>b".into(),
            run: "20261122-a1b2".into(),
        };
        let xml = format!(
            "<domain><metadata>{}</metadata></domain>",
            owner_element(&o, "mds1")
        );
        assert_eq!(parse_owner(&xml).ok(), Some(Some(o)));
    }
}
