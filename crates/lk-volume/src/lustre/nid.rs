// SPDX-License-Identifier: Apache-2.0
//! NID ranges as `lctl nodemap_add_range --range` takes them (lctl-nodemap-add-range(8)):
//! `ADDR_RANGE@NET`, where `ADDR_RANGE` is `*`, an IPv4 or IPv6 CIDR, a single IPv6 address,
//! four dotted `NUM_RANGE`s, or one `NUM_RANGE`; a `NUM_RANGE` is a number or `[a-b]`.
//!
//! Nodemap ranges must be contiguous, so lustrekit accepts only the shapes that are: no
//! comma lists, no `/skip` other than 1, and once an octet is a range every later octet is
//! `[0-255]` (`10.0.0.[2-5]@tcp`, `10.0.[1-2].[0-255]@tcp`, `10.0.0.0/24@tcp`).

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};
use thiserror::Error;

const NET_TYPES: [&str; 7] = ["tcp", "o2ib", "lo", "ptlf", "gni", "gip", "kfi"];

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("NID range {range:?}: {reason} (e.g. 10.0.0.[2-5]@tcp, 192.168.1.0/24@o2ib1)")]
pub struct NidRangeError {
    pub range: String,
    pub reason: String,
}

/// A validated NID range, kept as written.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NidRange(String);

impl NidRange {
    pub fn parse(input: &str) -> Result<Self, NidRangeError> {
        let fail = |reason: &str| NidRangeError {
            range: input.to_string(),
            reason: reason.to_string(),
        };
        let (addr, net) = input.rsplit_once('@').ok_or_else(|| fail("missing @NET"))?;
        check_net(net).map_err(|r| fail(&r))?;
        check_addr(addr).map_err(|r| fail(&r))?;
        Ok(Self(input.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NidRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for NidRange {
    type Error = NidRangeError;
    fn try_from(s: String) -> Result<Self, NidRangeError> {
        Self::parse(&s)
    }
}

impl From<NidRange> for String {
    fn from(r: NidRange) -> String {
        r.0
    }
}

fn check_net(net: &str) -> Result<(), String> {
    let kind = net.trim_end_matches(|c: char| c.is_ascii_digit());
    if !NET_TYPES.contains(&kind) {
        return Err(format!(
            "network {net:?} is not one of {} (optionally numbered, e.g. tcp1)",
            NET_TYPES.join(", ")
        ));
    }
    let num = &net[kind.len()..];
    if !num.is_empty() && num.parse::<u32>().is_err() {
        return Err(format!("network number in {net:?} is too large"));
    }
    Ok(())
}

fn check_addr(addr: &str) -> Result<(), String> {
    if addr == "*" {
        return Ok(());
    }
    if let Some((ip, bits)) = addr.split_once('/').filter(|_| !addr.contains('[')) {
        return check_cidr(ip, bits);
    }
    if addr.contains(':') {
        return addr
            .parse::<Ipv6Addr>()
            .map(drop)
            .map_err(|_| format!("{addr:?} is not an IPv6 address"));
    }
    let parts: Vec<&str> = addr.split('.').collect();
    match parts.len() {
        1 => num_range(parts[0], u32::MAX).map(drop),
        4 => check_octets(&parts),
        _ => Err(format!(
            "{addr:?} is neither four dotted octets nor one number range"
        )),
    }
}

fn check_cidr(ip: &str, bits: &str) -> Result<(), String> {
    let max = if ip.parse::<Ipv4Addr>().is_ok() {
        32
    } else if ip.parse::<Ipv6Addr>().is_ok() {
        128
    } else {
        return Err(format!("{ip:?} is not an IP address"));
    };
    match bits.parse::<u32>() {
        Ok(b) if b <= max => Ok(()),
        _ => Err(format!("prefix length {bits:?} is not 0..={max}")),
    }
}

/// Four octets; contiguous only if every octet after the first ranged one is `[0-255]`.
fn check_octets(parts: &[&str]) -> Result<(), String> {
    let mut ranged = false;
    for part in parts {
        let (lo, hi) = num_range(part, 255)?;
        if ranged && (lo, hi) != (0, 255) {
            return Err("nodemap ranges must be contiguous: after a ranged octet, later octets must be [0-255]".into());
        }
        ranged |= lo != hi;
    }
    Ok(())
}

/// A number or `[lo-hi]` (also `[lo-hi/1]`), each at most `max`; returns the bounds.
fn num_range(s: &str, max: u32) -> Result<(u32, u32), String> {
    let number = |n: &str| -> Result<u32, String> {
        let v = if let Some(hex) = n.strip_prefix("0x") {
            u32::from_str_radix(hex, 16).ok()
        } else if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) {
            n.parse().ok()
        } else {
            None
        };
        match v {
            Some(v) if v <= max => Ok(v),
            Some(_) => Err(format!("{n} is larger than {max}")),
            None => Err(format!("{n:?} is not a number")),
        }
    };
    let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) else {
        let v = number(s)?;
        return Ok((v, v));
    };
    if inner.contains(',') {
        return Err("nodemap ranges must be contiguous: no comma lists".into());
    }
    let inner = match inner.split_once('/') {
        Some((r, "1")) => r,
        Some(_) => return Err("nodemap ranges must be contiguous: no /step other than 1".into()),
        None => inner,
    };
    let (lo, hi) = match inner.split_once('-') {
        Some((lo, hi)) => (number(lo)?, number(hi)?),
        None => {
            let v = number(inner)?;
            (v, v)
        }
    };
    if lo > hi {
        return Err(format!("[{lo}-{hi}] is empty"));
    }
    Ok((lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_documented_shapes() {
        for ok in [
            "10.0.0.[2-5]@tcp",
            "192.168.1.[1-254]@tcp",
            "10.0.[1-2].[0-255]@tcp1",
            "10.0.0.7@o2ib",
            "192.168.0.0/16@tcp",
            "2001:db8::/32@tcp",
            "2001:db8::1@tcp",
            "[1-60000]@kfi",
            "*@tcp",
            "0@lo",
        ] {
            assert!(
                NidRange::parse(ok).is_ok(),
                "{ok}: {:?}",
                NidRange::parse(ok)
            );
        }
    }

    #[test]
    fn refuses_with_reasons() {
        let cases = [
            ("10.0.0.2", "missing @NET"),
            ("10.0.0.2@eth", "network \"eth\""),
            ("10.0.0.[5-2]@tcp", "is empty"),
            ("10.0.0.256@tcp", "larger than 255"),
            ("10.0.[1-2].5@tcp", "contiguous"),
            ("10.0.0.[1,3]@tcp", "no comma lists"),
            ("10.0.0.[1-9/2]@tcp", "no /step"),
            ("10.0.0@tcp", "neither four dotted"),
            ("10.0.0.0/33@tcp", "prefix length"),
            ("10.0.0.x@tcp", "not a number"),
            ("a b@tcp", "not a number"),
        ];
        for (input, reason) in cases {
            let err = NidRange::parse(input).expect_err(input).to_string();
            assert!(err.contains(reason), "{input}: {err}");
        }
    }

    #[test]
    fn serde_round_trip_validates() {
        let r: NidRange = serde_json::from_str("\"10.0.0.[2-5]@tcp\"").expect("valid");
        assert_eq!(
            serde_json::to_string(&r).expect("ser"),
            "\"10.0.0.[2-5]@tcp\""
        );
        assert!(serde_json::from_str::<NidRange>("\"bogus\"").is_err());
    }
}
