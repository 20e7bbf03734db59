//! IPv4 subnets and the fixed address plan inside them.

use std::fmt;
use std::net::Ipv4Addr;

/// Why a text is not an accepted subnet. The messages are what `lustrekit validate` shows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    #[error("`{text}` is not a CIDR: expected ADDRESS/PREFIX, e.g. 10.20.0.0/24")]
    NotACidr { text: String },
    #[error("`{address}` is not an IPv4 address")]
    BadAddress { address: String },
    #[error("prefix `/{prefix}` must be between /{MIN_PREFIX} and /{MAX_PREFIX}")]
    BadPrefix { prefix: String },
    #[error("`{text}` has host bits set: the network address is {network}/{prefix}")]
    HostBits {
        text: String,
        network: Ipv4Addr,
        prefix: u8,
    },
}

/// Validation diagnostics carry their message as text.
impl From<CidrError> for String {
    fn from(e: CidrError) -> String {
        e.to_string()
    }
}

/// An IPv4 subnet such as `10.20.0.0/24`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ipv4Cidr {
    pub network: Ipv4Addr,
    pub prefix: u8,
}

/// Smallest and largest prefixes accepted: a /28 leaves room for a few nodes, a /16 is plenty.
pub const MIN_PREFIX: u8 = 16;
pub const MAX_PREFIX: u8 = 28;
/// Host offset of the first node address (`.10`); below are the host and DHCP spares.
pub const FIRST_NODE_OFFSET: u32 = 10;

impl Ipv4Cidr {
    pub fn parse(text: &str) -> Result<Self, CidrError> {
        let (addr_text, prefix_text) = text
            .split_once('/')
            .ok_or_else(|| CidrError::NotACidr { text: text.into() })?;
        let addr: Ipv4Addr = addr_text.parse().map_err(|_| CidrError::BadAddress {
            address: addr_text.into(),
        })?;
        let prefix: u8 = prefix_text
            .parse()
            .ok()
            .filter(|p| (MIN_PREFIX..=MAX_PREFIX).contains(p))
            .ok_or_else(|| CidrError::BadPrefix {
                prefix: prefix_text.into(),
            })?;
        let cidr = Ipv4Cidr {
            network: addr,
            prefix,
        };
        if u32::from(addr) & !cidr.mask() != 0 {
            return Err(CidrError::HostBits {
                text: text.into(),
                network: Ipv4Addr::from(u32::from(addr) & cidr.mask()),
                prefix,
            });
        }
        Ok(cidr)
    }

    pub fn mask(&self) -> u32 {
        u32::MAX << (32 - u32::from(self.prefix))
    }

    pub fn netmask(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.mask())
    }

    /// Number of usable host addresses (network and broadcast excluded).
    pub fn host_count(&self) -> u32 {
        (1u32 << (32 - u32::from(self.prefix))) - 2
    }

    /// The `n`th host address (1-based); `None` past the end of the subnet.
    pub fn host(&self, n: u32) -> Option<Ipv4Addr> {
        (n >= 1 && n <= self.host_count()).then(|| Ipv4Addr::from(u32::from(self.network) + n))
    }

    pub fn overlaps(&self, other: &Ipv4Cidr) -> bool {
        let mask = self.mask() & other.mask();
        u32::from(self.network) & mask == u32::from(other.network) & mask
    }
}

impl serde::Serialize for Ipv4Cidr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_plans() {
        let c = Ipv4Cidr::parse("10.20.0.0/24").unwrap();
        assert_eq!(c.netmask(), Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(c.host(1), Some(Ipv4Addr::new(10, 20, 0, 1)));
        assert_eq!(c.host(254), Some(Ipv4Addr::new(10, 20, 0, 254)));
        assert_eq!(c.host(255), None);
        assert_eq!(c.to_string(), "10.20.0.0/24");
    }

    #[test]
    fn rejects_bad() {
        for bad in [
            "10.20.0.0",
            "10.20.0.1/24",
            "10.20.0.0/8",
            "10.20.0.0/30",
            "300.1.1.0/24",
            "x/24",
            "10.0.0.0/abc",
        ] {
            assert!(Ipv4Cidr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn overlap() {
        let a = Ipv4Cidr::parse("10.20.0.0/16").unwrap();
        let b = Ipv4Cidr::parse("10.20.5.0/24").unwrap();
        let c = Ipv4Cidr::parse("10.21.0.0/24").unwrap();
        assert!(a.overlaps(&b) && b.overlaps(&a));
        assert!(!a.overlaps(&c));
    }
}
