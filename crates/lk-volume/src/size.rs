// SPDX-License-Identifier: Apache-2.0
//! Sizes as people write them: `10GiB`, `10G`, `512MiB`, `1T`, `4096` (bytes), `10GB` (SI).

use thiserror::Error;

pub const KIB: u64 = 1 << 10;
pub const MIB: u64 = 1 << 20;
pub const GIB: u64 = 1 << 30;
pub const TIB: u64 = 1 << 40;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SizeError {
    #[error("size is empty")]
    Empty,
    #[error("size {input:?} does not start with a whole number (e.g. 10GiB, 512M, 4096)")]
    NoNumber { input: String },
    #[error("size {input:?} has unknown unit {unit:?} (use B, K/KiB, M/MiB, G/GiB, T/TiB, P/PiB, or KB/MB/GB/TB for powers of 1000)")]
    Unit { input: String, unit: String },
    #[error("size {input:?} is not a whole number of a unit (write 1536M rather than 1.5G)")]
    Fraction { input: String },
    #[error("size {input:?} is too large")]
    Overflow { input: String },
}

/// Parses a size in bytes. `K`, `M`, `G`, `T`, `P` and their `iB` forms are powers of 1024
/// (as qemu-img and lfs read them); `KB`, `MB`, `GB`, `TB`, `PB` are powers of 1000. Case
/// does not matter; blanks around the number are allowed.
pub fn parse(input: &str) -> Result<u64, SizeError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(SizeError::Empty);
    }
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return Err(SizeError::NoNumber { input: s.into() });
    }
    let (num, unit) = s.split_at(digits);
    if unit.starts_with(['.', ',']) {
        return Err(SizeError::Fraction { input: s.into() });
    }
    let overflow = || SizeError::Overflow { input: s.into() };
    let number: u64 = num.parse().map_err(|_| overflow())?;
    let factor = unit_factor(unit.trim()).ok_or_else(|| SizeError::Unit {
        input: s.into(),
        unit: unit.trim().into(),
    })?;
    number.checked_mul(factor).ok_or_else(overflow)
}

fn unit_factor(unit: &str) -> Option<u64> {
    let u = unit.to_ascii_lowercase();
    Some(match u.as_str() {
        "" | "b" => 1,
        "k" | "kib" => KIB,
        "m" | "mib" => MIB,
        "g" | "gib" => GIB,
        "t" | "tib" => TIB,
        "p" | "pib" => TIB * KIB,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        "pb" => 1_000_000_000_000_000,
        _ => return None,
    })
}

/// Renders bytes with the largest binary unit that keeps one decimal: `10.0GiB`, `512.0MiB`,
/// `4096B` below 1 KiB... (for people; JSON carries bytes).
pub fn human(bytes: u64) -> String {
    const UNITS: [(u64, &str); 5] = [
        (TIB * KIB, "PiB"),
        (TIB, "TiB"),
        (GIB, "GiB"),
        (MIB, "MiB"),
        (KIB, "KiB"),
    ];
    for (factor, name) in UNITS {
        if bytes >= factor {
            // Precision loss above 2^53 bytes is irrelevant for display.
            #[allow(clippy::cast_precision_loss)]
            let value = bytes as f64 / factor as f64;
            return format!("{value:.1}{name}");
        }
    }
    format!("{bytes}B")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_binary_and_si_units() {
        assert_eq!(parse("10GiB"), Ok(10 * GIB));
        assert_eq!(parse("10G"), Ok(10 * GIB));
        assert_eq!(parse("10g"), Ok(10 * GIB));
        assert_eq!(parse(" 512 MiB "), Ok(512 * MIB));
        assert_eq!(parse("4096"), Ok(4096));
        assert_eq!(parse("1T"), Ok(TIB));
        assert_eq!(parse("10GB"), Ok(10_000_000_000));
        assert_eq!(parse("0"), Ok(0));
    }

    #[test]
    fn refuses_bad_sizes_with_reasons() {
        assert_eq!(parse(""), Err(SizeError::Empty));
        assert!(matches!(parse("GiB"), Err(SizeError::NoNumber { .. })));
        assert!(matches!(parse("-1G"), Err(SizeError::NoNumber { .. })));
        assert!(matches!(parse("1.5G"), Err(SizeError::Fraction { .. })));
        assert!(matches!(parse("10XB"), Err(SizeError::Unit { .. })));
        assert!(matches!(
            parse("99999999999999999999"),
            Err(SizeError::Overflow { .. })
        ));
        assert!(matches!(
            parse("20000000P"),
            Err(SizeError::Overflow { .. })
        ));
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human(10 * GIB), "10.0GiB");
        assert_eq!(human(1536 * MIB), "1.5GiB");
        assert_eq!(human(100), "100B");
    }
}
