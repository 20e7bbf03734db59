// SPDX-License-Identifier: Apache-2.0
//! Swift timestamps: `X-Timestamp` has 10 µs resolution (`1700000000.12345`), `Last-Modified`
//! is the HTTP date of the timestamp rounded *up* to the second, listings use ISO 8601 with
//! microseconds. Pure functions only (plus [`Timestamp::now`]).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A Swift timestamp, in units of 10 µs since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Now, truncated to 10 µs.
    pub fn now() -> Self {
        Self::from_system(SystemTime::now())
    }

    /// From a `SystemTime`, truncated to 10 µs (pre-epoch times become 0).
    pub fn from_system(t: SystemTime) -> Self {
        let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
        Timestamp((d.as_micros() / 10) as i64)
    }

    /// From nanoseconds since the epoch.
    pub fn from_nanos(ns: i64) -> Self {
        Timestamp(ns.max(0) / 10_000)
    }

    /// As a `SystemTime`.
    pub fn to_system(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_micros(self.0.max(0) as u64 * 10)
    }

    /// `X-Timestamp` form: `1700000000.12345`.
    pub fn to_x_timestamp(self) -> String {
        format!("{}.{:05}", self.0 / 100_000, self.0 % 100_000)
    }

    /// Parses the `X-Timestamp` form (also integers and fewer decimals).
    pub fn parse(s: &str) -> Option<Self> {
        let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
        let secs: i64 = secs.parse().ok()?;
        let mut frac5 = frac.chars().take(5).collect::<String>();
        if !frac5.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        while frac5.len() < 5 {
            frac5.push('0');
        }
        Some(Timestamp(secs * 100_000 + frac5.parse::<i64>().ok()?))
    }

    /// Whole seconds, rounded up (Swift's `Last-Modified`).
    pub fn ceil_secs(self) -> i64 {
        (self.0 + 99_999) / 100_000
    }

    /// `Last-Modified` HTTP date.
    pub fn http_date(self) -> String {
        httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(self.ceil_secs().max(0) as u64))
    }

    /// Listing form: `2024-01-02T03:04:05.123450`.
    pub fn iso(self) -> String {
        let micros = self.0 * 10;
        let secs = micros.div_euclid(1_000_000);
        let us = micros.rem_euclid(1_000_000);
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{us:06}",
            rem / 3600,
            (rem % 3600) / 60,
            rem % 60
        )
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (Howard Hinnant's).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Parses an HTTP date (If-Modified-Since etc.) to whole seconds since the epoch.
pub fn parse_http_date(s: &str) -> Option<i64> {
    let t = httpdate::parse_http_date(s).ok()?;
    Some(t.duration_since(UNIX_EPOCH).ok()?.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let t = Timestamp::parse("1700000000.12345").expect("parses");
        assert_eq!(t.to_x_timestamp(), "1700000000.12345");
        assert_eq!(t.iso(), "2023-11-14T22:13:20.123450");
        assert_eq!(t.ceil_secs(), 1_700_000_001);
        assert_eq!(t.http_date(), "Tue, 14 Nov 2023 22:13:21 GMT");
        assert_eq!(
            Timestamp::parse("5").expect("int").to_x_timestamp(),
            "5.00000"
        );
        assert_eq!(
            Timestamp::parse("5.1").expect("short").to_x_timestamp(),
            "5.10000"
        );
        assert!(Timestamp::parse("x").is_none());
        assert_eq!(Timestamp::from_system(t.to_system()), t);
        assert_eq!(
            parse_http_date("Tue, 14 Nov 2023 22:13:21 GMT"),
            Some(1_700_000_001)
        );
    }
}
