// SPDX-License-Identifier: Apache-2.0
//! Pure evaluation of conditional request headers (RFC 7232, as Swift applies them):
//! If-Match, then If-Unmodified-Since, then If-None-Match, then If-Modified-Since (ignored
//! when If-None-Match is present; GET/HEAD only). Unlike RFC 7232, If-Unmodified-Since is
//! checked even when If-Match matched: Swift does, and its functional tests expect the 412.

use crate::time::parse_http_date;

/// The request's conditional headers.
#[derive(Debug, Clone, Default)]
pub struct Conditions<'a> {
    /// If-Match.
    pub if_match: Option<&'a str>,
    /// If-None-Match.
    pub if_none_match: Option<&'a str>,
    /// If-Modified-Since.
    pub if_modified_since: Option<&'a str>,
    /// If-Unmodified-Since.
    pub if_unmodified_since: Option<&'a str>,
}

/// Verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Go on.
    Proceed,
    /// 304.
    NotModified,
    /// 412.
    PreconditionFailed,
}

fn matches(list: &str, etag: &str) -> bool {
    list.split(',').map(str::trim).any(|t| {
        let t = t.strip_prefix("W/").unwrap_or(t);
        t == "*" || t.trim_matches('"') == etag
    })
}

impl Conditions<'_> {
    /// Whether any condition is present.
    pub fn any(&self) -> bool {
        self.if_match.is_some()
            || self.if_none_match.is_some()
            || self.if_modified_since.is_some()
            || self.if_unmodified_since.is_some()
    }

    /// Evaluates against an existing resource with `etag` (unquoted) modified at
    /// `last_modified` (whole seconds, as in Last-Modified). `read` is true for GET/HEAD.
    pub fn evaluate(&self, etag: &str, last_modified: i64, read: bool) -> Verdict {
        if let Some(m) = self.if_match {
            if !matches(m, etag) {
                return Verdict::PreconditionFailed;
            }
        }
        if let Some(t) = self.if_unmodified_since.and_then(parse_http_date) {
            if last_modified > t {
                return Verdict::PreconditionFailed;
            }
        }
        if let Some(m) = self.if_none_match {
            if matches(m, etag) {
                return if read {
                    Verdict::NotModified
                } else {
                    Verdict::PreconditionFailed
                };
            }
        } else if read {
            if let Some(t) = self.if_modified_since.and_then(parse_http_date) {
                if last_modified <= t {
                    return Verdict::NotModified;
                }
            }
        }
        Verdict::Proceed
    }

    /// Evaluates against a missing resource (If-Match fails; everything else proceeds).
    pub fn evaluate_missing(&self) -> Verdict {
        match self.if_match {
            Some(_) => Verdict::PreconditionFailed,
            None => Verdict::Proceed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const E: &str = "0cc175b9c0f1b6a831c399e269772661";
    const T: i64 = 1_700_000_001; // Tue, 14 Nov 2023 22:13:21 GMT

    fn c<'a>(
        im: Option<&'a str>,
        inm: Option<&'a str>,
        ims: Option<&'a str>,
        ius: Option<&'a str>,
    ) -> Conditions<'a> {
        Conditions {
            if_match: im,
            if_none_match: inm,
            if_modified_since: ims,
            if_unmodified_since: ius,
        }
    }

    #[test]
    fn etag_conditions() {
        let q = format!("\"{E}\"");
        assert_eq!(
            c(Some(&q), None, None, None).evaluate(E, T, true),
            Verdict::Proceed
        );
        assert_eq!(
            c(Some("\"x\""), None, None, None).evaluate(E, T, true),
            Verdict::PreconditionFailed
        );
        assert_eq!(
            c(Some("*"), None, None, None).evaluate(E, T, true),
            Verdict::Proceed
        );
        assert_eq!(
            c(None, Some(E), None, None).evaluate(E, T, true),
            Verdict::NotModified
        );
        assert_eq!(
            c(None, Some("*"), None, None).evaluate(E, T, false),
            Verdict::PreconditionFailed
        );
        assert_eq!(
            c(None, Some("\"a\", \"b\""), None, None).evaluate(E, T, true),
            Verdict::Proceed
        );
        assert_eq!(
            c(Some("*"), None, None, None).evaluate_missing(),
            Verdict::PreconditionFailed
        );
        assert_eq!(
            c(None, Some("*"), None, None).evaluate_missing(),
            Verdict::Proceed
        );
    }

    #[test]
    fn date_conditions() {
        let same = Some("Tue, 14 Nov 2023 22:13:21 GMT");
        let before = Some("Tue, 14 Nov 2023 22:13:20 GMT");
        assert_eq!(
            c(None, None, same, None).evaluate(E, T, true),
            Verdict::NotModified
        );
        assert_eq!(
            c(None, None, before, None).evaluate(E, T, true),
            Verdict::Proceed
        );
        assert_eq!(
            c(None, None, same, None).evaluate(E, T, false),
            Verdict::Proceed
        );
        assert_eq!(
            c(None, None, None, before).evaluate(E, T, true),
            Verdict::PreconditionFailed
        );
        assert_eq!(
            c(None, None, None, same).evaluate(E, T, true),
            Verdict::Proceed
        );
        // A matching If-Match does not lift If-Unmodified-Since (Swift, not RFC 7232).
        let q = format!("\"{E}\"");
        assert_eq!(
            c(Some(&q), None, None, before).evaluate(E, T, true),
            Verdict::PreconditionFailed
        );
        // If-None-Match wins over If-Modified-Since.
        assert_eq!(
            c(None, Some("\"x\""), same, None).evaluate(E, T, true),
            Verdict::Proceed
        );
        assert_eq!(
            c(None, None, Some("garbage"), None).evaluate(E, T, true),
            Verdict::Proceed
        );
    }
}
