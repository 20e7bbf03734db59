//! LNet network identifiers (NIDs): `ADDRESS@NETWORK`, e.g. `10.0.0.5@tcp0`.

use std::fmt;
use std::net::Ipv4Addr;

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Nid {
    pub address: Ipv4Addr,
    /// LNet network name, e.g. `tcp0`.
    pub net: String,
}

impl Nid {
    pub fn new(address: Ipv4Addr, net: impl Into<String>) -> Self {
        Nid {
            address,
            net: net.into(),
        }
    }
}

impl fmt::Display for Nid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.address, self.net)
    }
}

impl Serialize for Nid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The NIDs of one node, joined with `,` (Lustre's syntax for "same node, several NIDs").
pub fn node_nids(nids: &[Nid]) -> String {
    nids.iter()
        .map(Nid::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Several nodes (failover partners), each given as its joined NIDs, joined with `:`.
pub fn failover_nids<S: AsRef<str>>(nodes: &[S]) -> String {
    nodes
        .iter()
        .map(|n| n.as_ref())
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_like_lustre() {
        let a = Nid::new(Ipv4Addr::new(10, 0, 0, 1), "tcp0");
        let b = Nid::new(Ipv4Addr::new(10, 1, 0, 1), "tcp1");
        let c = Nid::new(Ipv4Addr::new(10, 0, 0, 2), "tcp0");
        let n1 = node_nids(&[a, b]);
        assert_eq!(n1, "10.0.0.1@tcp0,10.1.0.1@tcp1");
        assert_eq!(
            failover_nids(&[n1, node_nids(&[c])]),
            "10.0.0.1@tcp0,10.1.0.1@tcp1:10.0.0.2@tcp0"
        );
    }
}
