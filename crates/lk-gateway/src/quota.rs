// SPDX-License-Identifier: Apache-2.0
//! Container quotas, as Swift's `container_quotas` middleware: a container's
//! `X-Container-Meta-Quota-Bytes` and `X-Container-Meta-Quota-Count` (ordinary container
//! metadata, set by whoever may POST the container) bound what object PUTs may add. A PUT
//! whose `Content-Length` would take the container's bytes (kept versions included, as
//! Swift adds its versions container's) past the byte quota, or whose object would take
//! its count past the count quota, is a 413 `Upload exceeds quota.`. As in Swift, a PUT
//! without a length counts as 0 bytes, and an overwrite still counts as one more object.

use crate::error::{SwiftError, SwiftResult};
use crate::meta::Meta;

/// The byte quota's metadata key.
pub const BYTES: &str = "X-Container-Meta-Quota-Bytes";
/// The object-count quota's metadata key.
pub const COUNT: &str = "X-Container-Meta-Quota-Count";

/// Checks the quota values a container PUT or POST sets (`header` reads the request):
/// each must be digits (an empty one removes it), else Swift's 400.
pub fn validate<'a>(header: impl Fn(&str) -> Option<&'a str>) -> SwiftResult<()> {
    for (key, text) in [
        (BYTES, "Invalid bytes quota."),
        (COUNT, "Invalid count quota."),
    ] {
        if header(key).is_some_and(|v| !v.is_empty() && !is_digits(v)) {
            return Err(SwiftError::BadRequest(text.into()));
        }
    }
    Ok(())
}

fn is_digits(v: &str) -> bool {
    !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit())
}

/// A container's quotas (a stored value that is not digits is ignored, as Swift does).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Quota {
    /// Most bytes.
    pub bytes: Option<u128>,
    /// Most objects.
    pub count: Option<u128>,
}

impl Quota {
    /// From a container's metadata.
    pub fn of(meta: &Meta) -> Self {
        let limit = |key: &str| {
            meta.get(key)
                .filter(|v| is_digits(v))
                // Only digits: too many of them is a limit nothing reaches.
                .map(|v| v.parse::<u128>().unwrap_or(u128::MAX))
        };
        Quota {
            bytes: limit(BYTES),
            count: limit(COUNT),
        }
    }

    /// Whether the metadata holds a quota key at all (then PUTs must read it).
    pub fn present(meta: &Meta) -> bool {
        meta.contains_key(BYTES) || meta.contains_key(COUNT)
    }

    /// Checks a PUT of `content_length` bytes into a container now holding `bytes_used`
    /// bytes and `object_count` objects.
    pub fn check(self, bytes_used: u64, object_count: u64, content_length: u64) -> SwiftResult<()> {
        let over_bytes = self
            .bytes
            .is_some_and(|q| q < u128::from(bytes_used) + u128::from(content_length));
        let over_count = self.count.is_some_and(|q| q < u128::from(object_count) + 1);
        if over_bytes || over_count {
            return Err(SwiftError::Plain {
                status: http::StatusCode::PAYLOAD_TOO_LARGE,
                text: "Upload exceeds quota.".into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(pairs: &[(&str, &str)]) -> Meta {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn values_must_be_digits() {
        let ok = meta(&[(BYTES, "10"), (COUNT, "")]);
        assert!(validate(|k| ok.get(k).map(String::as_str)).is_ok());
        for (key, text) in [
            (BYTES, "Invalid bytes quota."),
            (COUNT, "Invalid count quota."),
        ] {
            for bad in ["-1", "1.5", "ten", " 1"] {
                let m = meta(&[(key, bad)]);
                let e = validate(|k| m.get(k).map(String::as_str)).expect_err(bad);
                assert!(
                    matches!(&e, SwiftError::BadRequest(t) if t == text),
                    "{e:?}"
                );
            }
        }
    }

    #[test]
    fn bytes_and_count_bound_a_put() {
        let q = Quota::of(&meta(&[(BYTES, "10"), (COUNT, "2")]));
        assert!(q.check(0, 0, 10).is_ok());
        assert!(q.check(0, 0, 11).is_err());
        assert!(q.check(5, 1, 5).is_ok());
        assert!(q.check(5, 2, 0).is_err(), "a third object");
        let e = q.check(10, 0, 1).expect_err("over");
        assert_eq!(e.status(), http::StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[test]
    fn stored_values_that_are_not_digits_and_huge_ones() {
        let q = Quota::of(&meta(&[(BYTES, "lots"), (COUNT, &"9".repeat(60))]));
        assert_eq!(q.bytes, None);
        assert!(q.check(u64::MAX, u64::MAX, u64::MAX).is_ok());
        assert!(Quota::present(&meta(&[(COUNT, "1")])));
        assert!(!Quota::present(&meta(&[("X-Container-Meta-Other", "1")])));
    }
}
