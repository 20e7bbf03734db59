//! Human sizes such as `2GiB`, `512MiB`, `10G`, `4096` (bytes).

/// Why a text is not a size. The messages are what `lustrekit validate` shows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    #[error("`{text}` is not a size: expected a whole number with an optional unit, e.g. 2GiB")]
    NotANumber { text: String },
    #[error(
        "`{text}` has an unknown unit `{unit}`: use B, KiB, MiB, GiB, TiB (or KB, MB, GB, TB)"
    )]
    UnknownUnit { text: String, unit: String },
    #[error("`{text}` is too large")]
    Overflow { text: String },
    #[error("`{text}` is too large (at most 1 PiB)")]
    TooLarge { text: String },
}

/// Validation diagnostics carry their message as text.
impl From<SizeError> for String {
    fn from(e: SizeError) -> String {
        e.to_string()
    }
}

/// Parses a size into bytes. Binary (`KiB`, `MiB`, `GiB`, `TiB`) and decimal (`KB`, `MB`, `GB`,
/// `TB`) suffixes are accepted; `K`, `M`, `G`, `T` mean the binary unit, as in QEMU and Lustre.
pub fn parse_size(text: &str) -> Result<u64, SizeError> {
    let s = text.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    if digits.is_empty() {
        return Err(SizeError::NotANumber { text: text.into() });
    }
    let multiplier: u64 = match unit.trim() {
        "" | "B" => 1,
        "K" | "KiB" | "k" => 1 << 10,
        "M" | "MiB" => 1 << 20,
        "G" | "GiB" => 1 << 30,
        "T" | "TiB" => 1 << 40,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "TB" => 1_000_000_000_000,
        other => {
            return Err(SizeError::UnknownUnit {
                text: text.into(),
                unit: other.into(),
            })
        }
    };
    // Only digits: the one way to fail is a number beyond u64.
    let number: u64 = digits
        .parse()
        .map_err(|_| SizeError::Overflow { text: text.into() })?;
    number
        .checked_mul(multiplier)
        .filter(|b| *b <= MAX_SIZE)
        .ok_or_else(|| SizeError::TooLarge { text: text.into() })
}

/// Upper bound on any size, far above what a VM disk or memory can be; keeps arithmetic safe.
pub const MAX_SIZE: u64 = 1 << 50;

/// Renders bytes in the largest binary unit that divides them exactly.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [(&str, u64); 4] = [
        ("TiB", 1 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ];
    for (unit, value) in UNITS {
        if bytes >= value && bytes.is_multiple_of(value) {
            return format!("{}{unit}", bytes / value);
        }
    }
    format!("{bytes}B")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("10G"), Ok(10 << 30));
        assert_eq!(parse_size("1GB"), Ok(1_000_000_000));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size(" 3 MiB "), Ok(3 << 20));
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_size("").is_err());
        assert!(parse_size("GiB").is_err());
        assert!(parse_size("-1GiB").is_err());
        assert!(parse_size("1.5GiB").is_err());
        assert!(parse_size("2 parsecs").is_err());
        assert!(parse_size("99999999999999999999999").is_err());
        assert!(parse_size("9999999999TiB").is_err());
    }

    #[test]
    fn formats_round_trip() {
        for s in ["2GiB", "512MiB", "1TiB", "3KiB", "1000B"] {
            assert_eq!(format_size(parse_size(s).unwrap()), s);
        }
    }
}
