//! `lctl dl`: the local Lustre devices, one per line:
//! `  3 UP obdfilter fs-OST0000 fs-OST0000_UUID 6` (index, status, type, name, UUID, refcount).

use serde::{Deserialize, Serialize};

use crate::AgentError;

pub const COMMAND: &str = "lctl dl";

/// One device of `lctl dl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    pub index: u32,
    /// `UP`, `ST` (stopping), `AT` (attached, not set up) or `IN` (inactive).
    pub status: String,
    /// Device type: `mgs`, `mdt`, `obdfilter`, `osd-zfs`, `osp`, `osc`, `mgc`, `lov`, ...
    pub kind: String,
    pub name: String,
    pub uuid: String,
    pub refcount: u32,
}

impl Device {
    pub fn is_up(&self) -> bool {
        self.status == "UP"
    }

    /// The Lustre target this device serves, if it is a server target: `MGS`, `fs-MDT0000`,
    /// `fs-OST0001`.
    pub fn served_target(&self) -> Option<&str> {
        match self.kind.as_str() {
            "mgs" => Some("MGS"),
            "mdt" | "obdfilter" => Some(&self.name),
            _ => None,
        }
    }
}

const STATUSES: [&str; 4] = ["UP", "ST", "AT", "IN"];

/// Parses the whole output. Empty output (no Lustre device) is an empty list.
pub fn parse(bytes: &[u8]) -> Result<Vec<Device>, AgentError> {
    let text = super::text(COMMAND, bytes)?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let err = |reason| AgentError::parse(COMMAND, i + 1, line, reason);
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [index, status, kind, name, uuid, refcount] = fields[..] else {
            return Err(err(
                "expected 6 fields: index status type name uuid refcount",
            ));
        };
        let index = index.parse().map_err(|_| err("index is not a number"))?;
        if !STATUSES.contains(&status) {
            return Err(err("unknown device status"));
        }
        let refcount = refcount
            .parse()
            .map_err(|_| err("refcount is not a number"))?;
        if out.iter().any(|d: &Device| d.index == index) {
            return Err(err("duplicate device index"));
        }
        out.push(Device {
            index,
            status: status.into(),
            kind: kind.into(),
            name: name.into(),
            uuid: uuid.into(),
            refcount,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OSS: &[u8] = include_bytes!("../fixtures/valid/2.17.0/lctl_dl_oss.txt");
    const MDS: &[u8] = include_bytes!("../fixtures/valid/2.17.0/lctl_dl_mgs_mds.txt");

    #[test]
    fn parses_an_oss() {
        let devs = parse(OSS).unwrap();
        assert_eq!(devs.len(), 6);
        let served: Vec<&str> = devs.iter().filter_map(Device::served_target).collect();
        assert_eq!(served, ["rlha-OST0000"]);
        assert!(devs.iter().all(Device::is_up));
        assert_eq!(devs[1].kind, "mgc");
    }

    #[test]
    fn parses_an_mgs_mds() {
        let devs = parse(MDS).unwrap();
        let served: Vec<&str> = devs.iter().filter_map(Device::served_target).collect();
        assert_eq!(served, ["MGS", "rlha-MDT0000"]);
        let osp: Vec<_> = devs.iter().filter(|d| d.kind == "osp").collect();
        assert_eq!(osp.len(), 3);
    }

    #[test]
    fn empty_output_is_no_devices() {
        assert_eq!(parse(b"").unwrap(), vec![]);
    }

    #[test]
    fn rejects_malformed_lines() {
        for bad in [
            "  0 UP osd-zfs lustre-OST0000-osd lustre-OST0000-osd_UUID",
            "  x UP osd-zfs a b 4",
            "  0 UPP osd-zfs a b 4",
            "  0 UP osd-zfs a b four",
            "  0 UP a b c 4\n  0 UP d e f 4",
            "lctl: error: no such device",
        ] {
            let e = parse(bad.as_bytes()).unwrap_err();
            assert!(e.to_string().contains("lctl dl"), "{e}");
        }
    }
}
