//! Hot-plugged volume disks: the `<disk>` element for a volume (an NBD export on a cluster's
//! client node, or an image file on a Lustre mount of the hypervisor host), the disks a domain
//! has, and live attach/detach through libvirt.

use quick_xml::events::Event;
use quick_xml::Reader;

use crate::client::Libvirt;
use crate::error::{Error, Kind};
use crate::xml::esc;
use virt::sys;

/// Where a volume's blocks come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiskSource {
    /// `qemu-nbd` on a client node: the format is decoded there, so the guest sees raw blocks.
    Nbd {
        host: String,
        port: u16,
        export: String,
    },
    /// The image file itself, on a Lustre mount of the hypervisor host.
    File { path: String, format: String },
}

/// The virtio serial a volume's disk carries (at most 20 characters), so the guest finds it
/// as `/dev/disk/by-id/virtio-SERIAL` whatever its device name.
pub fn serial(volume: &str) -> String {
    let s = format!("lk-{volume}");
    s.chars().take(20).collect()
}

/// The `<disk>` element for `volume` at `target` (`vdb`...).
pub fn disk_xml(volume: &str, source: &DiskSource, target: &str) -> String {
    let (kind, driver, src) = match source {
        DiskSource::Nbd { host, port, export } => (
            "network",
            "raw",
            format!(
                "<source protocol='nbd' name='{}'><host name='{}' port='{port}'/></source>",
                esc(export),
                esc(host)
            ),
        ),
        DiskSource::File { path, format } => (
            "file",
            format.as_str(),
            format!("<source file='{}'/>", esc(path)),
        ),
    };
    format!(
        "<disk type='{kind}' device='disk'>\
         <driver name='qemu' type='{}' cache='none'/>{src}\
         <target dev='{}' bus='virtio'/><serial>{}</serial></disk>",
        esc(driver),
        esc(target),
        esc(&serial(volume))
    )
}

/// A disk a domain has, as far as attach and detach care.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DomainDisk {
    pub target: String,
    pub serial: Option<String>,
}

/// The disks of a domain's XML (`<devices><disk>`): their targets and serials.
pub fn domain_disks(xml: &str) -> Result<Vec<DomainDisk>, quick_xml::Error> {
    let mut r = Reader::from_str(xml);
    let mut disks = Vec::new();
    let mut current: Option<DomainDisk> = None;
    let mut in_serial = false;
    loop {
        match r.read_event()? {
            Event::Start(e) if e.local_name().as_ref() == b"disk" => {
                current = Some(DomainDisk::default())
            }
            Event::Start(e) if e.local_name().as_ref() == b"serial" => in_serial = true,
            Event::Empty(e) | Event::Start(e) if e.local_name().as_ref() == b"target" => {
                if let (Some(d), Some(a)) = (current.as_mut(), e.try_get_attribute("dev")?) {
                    d.target = a.unescape_value()?.into_owned();
                }
            }
            Event::Text(t) if in_serial => {
                if let Some(d) = current.as_mut() {
                    d.serial = Some(t.unescape()?.trim().to_string());
                }
            }
            Event::End(e) if e.local_name().as_ref() == b"serial" => in_serial = false,
            Event::End(e) if e.local_name().as_ref() == b"disk" => {
                disks.extend(current.take());
            }
            Event::Eof => return Ok(disks),
            _ => {}
        }
    }
}

/// The first virtio target (`vdb`..`vdz`) no disk uses.
pub fn free_target(disks: &[DomainDisk]) -> Option<String> {
    (b'b'..=b'z')
        .map(|c| format!("vd{}", c as char))
        .find(|t| disks.iter().all(|d| &d.target != t))
}

impl Libvirt {
    /// The live XML of a domain.
    pub fn domain_xml_of(&self, name: &str) -> Result<String, Error> {
        self.domain(name)?
            .xml_desc(0)
            .map_err(Error::call(Kind::Domain, name, "xml_desc"))
    }

    /// Hot-plugs a device into a running domain (not into its persistent definition: a
    /// volume attachment lives as long as the export it rests on).
    pub fn attach_live(&self, name: &str, xml: &str) -> Result<(), Error> {
        self.domain(name)?
            .attach_device_flags(xml, sys::VIR_DOMAIN_AFFECT_LIVE)
            .map(drop)
            .map_err(Error::call(Kind::Domain, name, "attach_device"))
    }

    /// Asks a running domain to release a device; the guest acknowledges it later, so the
    /// caller waits for it to leave the domain's XML.
    pub fn detach_live(&self, name: &str, xml: &str) -> Result<(), Error> {
        self.domain(name)?
            .detach_device_flags(xml, sys::VIR_DOMAIN_AFFECT_LIVE)
            .map(drop)
            .map_err(Error::call(Kind::Domain, name, "detach_device"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nbd_and_file_disks() {
        let nbd = DiskSource::Nbd {
            host: "10.233.0.10".into(),
            port: 10809,
            export: "data".into(),
        };
        insta::assert_snapshot!("disk_nbd", disk_xml("data", &nbd, "vdb"));
        let file = DiskSource::File {
            path: "/mnt/lustre/volumes/data/layer-1.qcow2".into(),
            format: "qcow2".into(),
        };
        insta::assert_snapshot!("disk_file", disk_xml("data", &file, "vdc"));
        assert_eq!(serial("a-very-long-volume-name"), "lk-a-very-long-volum");
    }

    #[test]
    fn disks_and_the_next_free_target() {
        let xml = "<domain><devices>\
            <disk type='file' device='disk'><source file='/x'/><target dev='vda' bus='virtio'/></disk>\
            <disk type='network' device='disk'><target dev='vdb' bus='virtio'/><serial>lk-data</serial></disk>\
            <interface type='network'><target dev='vnet3'/></interface>\
            </devices></domain>";
        let disks = domain_disks(xml).expect("parses");
        assert_eq!(
            disks,
            vec![
                DomainDisk {
                    target: "vda".into(),
                    serial: None
                },
                DomainDisk {
                    target: "vdb".into(),
                    serial: Some("lk-data".into())
                },
            ]
        );
        assert_eq!(free_target(&disks).as_deref(), Some("vdc"));
        let full: Vec<_> = (b'a'..=b'z')
            .map(|c| DomainDisk {
                target: format!("vd{}", c as char),
                serial: None,
            })
            .collect();
        assert_eq!(free_target(&full), None);
    }
}
