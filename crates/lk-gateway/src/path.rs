// SPDX-License-Identifier: Apache-2.0
//! Pure parsing of request targets: which account/container/object a URL names, and whether
//! the names are safe to map onto the tree. No I/O here.
//!
//! Every name that reaches [`crate::store`] has passed [`parse_target`]: it is valid UTF-8, has
//! no NUL, no `.` or `..` component, and no component that starts with the reserved `.lk-`
//! ([`crate::layout::RESERVED_PREFIX`]). Empty and overlong components are stored as
//! [`crate::layout`] says. Symlinks are checked later, against the tree.

use percent_encoding::{
    percent_decode_str, percent_encode, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC,
};

use crate::config::{valid_account_name, Limits, RESELLER_PREFIX};
use crate::error::{SwiftError, SwiftResult};

/// What Swift's `quote` (Python's `urllib.parse.quote(s, safe='/')`) leaves unencoded:
/// letters, digits, `_.-~/`.
pub const QUOTE_SAFE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~')
    .remove(b'/');

/// Swift's `quote` of text (UTF-8, percent-encoded except [`QUOTE_SAFE`]).
pub fn quote(s: &str) -> String {
    utf8_percent_encode(s, QUOTE_SAFE).to_string()
}

/// Swift's `quote` of raw bytes (a name that may not be UTF-8).
pub fn quote_bytes(b: &[u8]) -> String {
    percent_encode(b, QUOTE_SAFE).to_string()
}

/// File names starting with this are the gateway's temp files; they are never objects.
pub const TMP_PREFIX: &str = ".lk-tmp-";

/// Longest file name component on Linux filesystems (NAME_MAX).
pub const NAME_MAX: usize = 255;

/// What a request path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `GET /info`.
    Info,
    /// `GET /auth/v1.0` (also `/v1.0`).
    Auth,
    /// `GET /healthcheck`.
    Healthcheck,
    /// `/v1/AUTH_account`.
    Account(String),
    /// `/v1/AUTH_account/container`.
    Container(String, String),
    /// `/v1/AUTH_account/container/object`.
    Object(String, String, String),
}

impl Target {
    /// The account the target belongs to, if any.
    pub fn account(&self) -> Option<&str> {
        match self {
            Target::Account(a) | Target::Container(a, _) | Target::Object(a, _, _) => Some(a),
            _ => None,
        }
    }
}

/// Swift's 412 text for a path that is not UTF-8 or holds a NUL.
const INVALID_UTF8: &str = "Invalid UTF8 or contains NULL";

/// Percent-decodes `raw` into UTF-8; invalid UTF-8 and NUL are refused (412, as Swift).
pub fn decode(raw: &str) -> SwiftResult<String> {
    let s = percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| SwiftError::BadPath(INVALID_UTF8))?
        .into_owned();
    if s.contains('\0') {
        return Err(SwiftError::BadPath(INVALID_UTF8));
    }
    Ok(s)
}

/// Parses the (still percent-encoded) path of a request.
pub fn parse_target(raw_path: &str, limits: &Limits) -> SwiftResult<Target> {
    match raw_path {
        "/info" => return Ok(Target::Info),
        "/auth/v1.0" | "/v1.0" | "/auth/v1.0/" => return Ok(Target::Auth),
        "/healthcheck" => return Ok(Target::Healthcheck),
        "/v1" | "/v1/" => return Err(SwiftError::BadPath("Bad URL")),
        _ => {}
    }
    let rest = raw_path.strip_prefix("/v1/").ok_or(SwiftError::NotFound)?;
    let mut parts = rest.splitn(3, '/');
    let account_raw = parts.next().unwrap_or_default();
    let account = decode(account_raw)?;
    if account.len() > limits.max_account_name_length {
        return Err(SwiftError::bad("account name too long"));
    }
    let account = account
        .strip_prefix(RESELLER_PREFIX)
        .filter(|a| valid_account_name(a))
        .ok_or_else(|| SwiftError::bad("invalid account name"))?
        .to_string();
    let container = match parts.next() {
        None | Some("") => {
            return if parts.next().is_some() {
                Err(SwiftError::bad("empty container name"))
            } else {
                Ok(Target::Account(account))
            };
        }
        Some(c) => decode(c)?,
    };
    check_container_name(&container, limits)?;
    match parts.next() {
        None | Some("") => Ok(Target::Container(account, container)),
        Some(o) => {
            let object = decode(o)?;
            check_object_name(&object, limits)?;
            Ok(Target::Object(account, container, object))
        }
    }
}

fn check_component(c: &str, what: &str) -> SwiftResult<()> {
    if c == "." || c == ".." {
        return Err(SwiftError::bad(format!(
            "{what} has a `.` or `..` component"
        )));
    }
    if crate::layout::is_reserved(c) {
        return Err(SwiftError::bad(format!(
            "{what} uses the reserved prefix {}",
            crate::layout::RESERVED_PREFIX
        )));
    }
    if c.contains('\0') {
        return Err(SwiftError::BadPath(INVALID_UTF8));
    }
    Ok(())
}

/// Checks a decoded container name.
pub fn check_container_name(name: &str, limits: &Limits) -> SwiftResult<()> {
    if name.len() > limits.max_container_name_length {
        return Err(SwiftError::bad("container name too long"));
    }
    if name.contains('/') {
        return Err(SwiftError::bad("container name contains `/`"));
    }
    if name.is_empty() {
        return Err(SwiftError::bad("empty container name"));
    }
    // The account's `.lk-…` directories are the gateway's (kept object versions).
    if name.starts_with(crate::versioning::RESERVED_PREFIX) {
        return Err(SwiftError::bad(format!(
            "container names starting {} are reserved",
            crate::versioning::RESERVED_PREFIX
        )));
    }
    check_component(name, "container name")
}

/// Checks a decoded object name. Empty components (a leading, trailing or doubled `/`) and
/// components over `NAME_MAX` are allowed: [`crate::layout`] gives them a path.
pub fn check_object_name(name: &str, limits: &Limits) -> SwiftResult<()> {
    if name.len() > limits.max_object_name_length {
        return Err(SwiftError::bad(format!(
            "object name longer than {} bytes",
            limits.max_object_name_length
        )));
    }
    for c in name.split('/') {
        check_component(c, "object name")?;
    }
    Ok(())
}

/// Splits `/container/object` (as in X-Copy-From, Destination, X-Object-Manifest, SLO paths
/// and bulk-delete lines) into checked names. A leading `/` is optional.
pub fn split_container_object(
    value: &str,
    limits: &Limits,
    require_object: bool,
) -> SwiftResult<(String, Option<String>)> {
    let v = value.strip_prefix('/').unwrap_or(value);
    let (c, o) = match v.split_once('/') {
        Some((c, o)) => (c, Some(o)),
        None => (v, None),
    };
    check_container_name(c, limits)?;
    let o = match o {
        Some(o) if !o.is_empty() => {
            check_object_name(o, limits)?;
            Some(o.to_string())
        }
        _ if require_object => return Err(SwiftError::bad("expected /container/object")),
        _ => None,
    };
    Ok((c.to_string(), o))
}

/// A query key or value: UTF-8 (else Swift's 412), NUL allowed. Query values are never
/// paths; Swift's listings take `marker=b1%00` (just after `b1`).
fn decode_query(raw: &str) -> SwiftResult<String> {
    percent_decode_str(raw)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| SwiftError::BadPath(INVALID_UTF8))
}

/// Parses a query string into decoded `(key, value)` pairs (`+` is a space, as in forms).
pub fn parse_query(q: Option<&str>) -> SwiftResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    let Some(q) = q else { return Ok(out) };
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        out.push((
            decode_query(&k.replace('+', " "))?,
            decode_query(&v.replace('+', " "))?,
        ));
    }
    Ok(out)
}

/// Looks up a query parameter.
pub fn query_get<'a>(q: &'a [(String, String)], key: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(p: &str) -> SwiftResult<Target> {
        parse_target(p, &Limits::default())
    }

    #[test]
    fn parses_targets() {
        assert_eq!(t("/info").expect("ok"), Target::Info);
        assert_eq!(t("/auth/v1.0").expect("ok"), Target::Auth);
        assert_eq!(t("/v1/AUTH_a").expect("ok"), Target::Account("a".into()));
        assert_eq!(t("/v1/AUTH_a/").expect("ok"), Target::Account("a".into()));
        assert_eq!(
            t("/v1/AUTH_a/c").expect("ok"),
            Target::Container("a".into(), "c".into())
        );
        assert_eq!(
            t("/v1/AUTH_a/c/").expect("ok"),
            Target::Container("a".into(), "c".into())
        );
        assert_eq!(
            t("/v1/AUTH_a/c/d/e%20f.txt").expect("ok"),
            Target::Object("a".into(), "c".into(), "d/e f.txt".into())
        );
    }

    #[test]
    fn refuses_traversal() {
        for p in [
            "/v1/AUTH_a/../etc",
            "/v1/AUTH_a/%2e%2e/x",
            "/v1/AUTH_a/c/..",
            "/v1/AUTH_a/c/x/../../../etc/passwd",
            "/v1/AUTH_a/c/x/%2E%2E/y",
            "/v1/AUTH_a/c/x%2f..%2f..%2fy",
            "/v1/AUTH_a/c/.",
            "/v1/AUTH_a/c/a/./b",
            "/v1/AUTH_..",
            "/v1/AUTH_a%2f..",
            "/v1/AUTH_a/c%2fd",
            "/v1/AUTH_a/c/.lk-tmp-123",
            "/v1/AUTH_a/c/x/.lk-tmp-1/y",
            "/v1/AUTH_a/c/.lk-empty",
            "/v1/AUTH_a/c/d/.lk-self",
            "/v1/AUTH_a/c/.lk-long-00/x",
            "/v1/AUTH_a/.lk-self",
            "/v1/AUTH_a/c/x/.lk-",
            "/v1/AUTH_.lustrekit-gateway/c",
            "/v1/a/c",
        ] {
            assert!(t(p).is_err(), "{p} must be refused");
        }
        assert!(matches!(
            t("/v1/AUTH_a/c/x%00y"),
            Err(SwiftError::BadPath(INVALID_UTF8))
        ));
        assert!(matches!(
            t("/v1/AUTH_a/c/x%ff"),
            Err(SwiftError::BadPath(INVALID_UTF8))
        ));
        assert!(matches!(t("/v1/"), Err(SwiftError::BadPath("Bad URL"))));
        assert!(matches!(t("/etc/passwd"), Err(SwiftError::NotFound)));
    }

    #[test]
    fn accepts_names_the_layout_escapes() {
        for (p, o) in [
            ("/v1/AUTH_a/c//etc/passwd", "/etc/passwd"),
            ("/v1/AUTH_a/c/d/", "d/"),
            ("/v1/AUTH_a/c/a//b", "a//b"),
            ("/v1/AUTH_a/c/d%2F", "d/"),
        ] {
            assert_eq!(
                t(p).expect(p),
                Target::Object("a".into(), "c".into(), o.into())
            );
        }
        let long = "x".repeat(300);
        assert!(t(&format!("/v1/AUTH_a/c/{long}/y")).is_ok());
        assert!(t(&format!("/v1/AUTH_a/{}", "c".repeat(256))).is_ok());
    }

    #[test]
    fn refuses_overlong_names() {
        assert!(t(&format!("/v1/AUTH_a/c/{}", "x".repeat(1025))).is_err());
        assert!(t(&format!("/v1/AUTH_a/{}", "c".repeat(257))).is_err());
        let deep = vec!["d"; 600].join("/");
        assert!(t(&format!("/v1/AUTH_a/c/{deep}")).is_err());
        let ok = vec!["d"; 500].join("/");
        assert!(t(&format!("/v1/AUTH_a/c/{ok}")).is_ok());
    }

    #[test]
    fn splits_copy_paths() {
        let l = Limits::default();
        assert_eq!(
            split_container_object("/c/o/p", &l, true).expect("ok"),
            ("c".into(), Some("o/p".into()))
        );
        assert_eq!(
            split_container_object("c", &l, false).expect("ok"),
            ("c".into(), None)
        );
        assert!(split_container_object("c", &l, true).is_err());
        assert!(split_container_object("/../x", &l, true).is_err());
    }

    #[test]
    fn parses_queries() {
        let q = parse_query(Some("format=json&prefix=a%2Fb&marker=x+y&bulk-delete")).expect("ok");
        assert_eq!(query_get(&q, "prefix"), Some("a/b"));
        assert_eq!(query_get(&q, "marker"), Some("x y"));
        assert_eq!(query_get(&q, "bulk-delete"), Some(""));
        assert_eq!(query_get(&q, "nope"), None);
    }
}
