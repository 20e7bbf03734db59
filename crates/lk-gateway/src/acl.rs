// SPDX-License-Identifier: Apache-2.0
//! Swift's v1 container ACL syntax beyond user and account names: referrer designations.
//!
//! `X-Container-Read` may hold `.r:*` (any referrer), `.r:HOST`, `.r:.DOMAIN` (`.r:*.DOMAIN`
//! is the same) and `.r:-HOST` / `.r:-.DOMAIN` (denials), applied in order against the
//! host of the request's `Referer` (`unknown` without one), as Swift's `referrer_allowed`.
//! A matching referrer lets *anyone*, without a token, GET and HEAD the container's objects;
//! the listing too only when the ACL also holds `.rlistings`. Referrers never grant writes:
//! [`clean`] refuses them in `X-Container-Write`, and only reads consult them.

/// The cleaned form of an ACL header value, as Swift's `clean_acl` stores it: items trimmed,
/// empty ones dropped, `.ref`/`.referer`/`.referrer` shortened to `.r`; `Err` (Swift's 400
/// text) for a referrer in a write ACL, a referrer without a host, or an unknown `.x:`
/// designator.
pub fn clean(name: &str, value: &str) -> Result<String, String> {
    let write = name.to_ascii_lowercase().contains("write");
    let mut items = Vec::new();
    for raw in value.split(',').map(str::trim).filter(|v| !v.is_empty()) {
        let Some((first, second)) = raw.split_once(':') else {
            items.push(raw.to_string());
            continue;
        };
        let (first, second) = (first.trim(), second.trim());
        if first.is_empty() || !first.starts_with('.') {
            items.push(raw.to_string());
        } else if matches!(first, ".r" | ".ref" | ".referer" | ".referrer") {
            if write {
                return Err(format!("Referrers not allowed in write ACL: '{raw}'"));
            }
            let (negate, host) = match second.strip_prefix('-') {
                Some(h) => (true, h.trim()),
                None => (false, second),
            };
            let host = match host.strip_prefix('*') {
                Some(h) if !h.is_empty() => h.trim(),
                _ => host,
            };
            if host.is_empty() || host == "." {
                return Err(format!(
                    "No host/domain value after referrer designation in ACL: '{raw}'"
                ));
            }
            items.push(format!(".r:{}{host}", if negate { "-" } else { "" }));
        } else {
            return Err(format!("Unknown designator '{first}' in ACL: '{raw}'"));
        }
    }
    Ok(items.join(","))
}

/// Whether a read ACL lets a request with this `Referer` read: objects (`object`) when a
/// referrer item allows it, the container's listing only when `.rlistings` is there too.
pub fn referrer_grants(acl: Option<&str>, referer: Option<&str>, object: bool) -> bool {
    let Some(acl) = acl else { return false };
    let items: Vec<&str> = acl.split(',').map(str::trim).collect();
    let referrers: Vec<&str> = items.iter().filter_map(|i| i.strip_prefix(".r:")).collect();
    if !referrer_allowed(referer, &referrers) {
        return false;
    }
    object || items.contains(&".rlistings")
}

/// Swift's `referrer_allowed`: the last matching item decides, nothing matching denies.
fn referrer_allowed(referer: Option<&str>, referrers: &[&str]) -> bool {
    if referrers.is_empty() {
        return false;
    }
    let rhost = referer
        .and_then(host_of)
        .unwrap_or_else(|| "unknown".into());
    let matches = |m: &str| m == rhost || (m.starts_with('.') && rhost.ends_with(m));
    let mut allow = false;
    for m in referrers {
        match m.strip_prefix('-') {
            Some(denied) if matches(denied) => allow = false,
            Some(_) => {}
            None if *m == "*" || matches(m) => allow = true,
            None => {}
        }
    }
    allow
}

/// The host of a URL as Python's `urlparse(url).hostname` gives it: after an optional
/// scheme and `//`, without user info or port, lowercased; `None` when there is none.
fn host_of(url: &str) -> Option<String> {
    let rest = match url.split_once(':') {
        Some((scheme, rest))
            if scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
        {
            rest
        }
        _ => url,
    };
    let netloc = rest.strip_prefix("//")?;
    let netloc = netloc.split(['/', '?', '#']).next().unwrap_or("");
    let hostport = netloc.rsplit_once('@').map_or(netloc, |(_, h)| h);
    let host = if let Some(v6) = hostport.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        hostport.split(':').next().unwrap_or("")
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleaning_as_swift() {
        for (raw, cleaned) in [
            ("bob, sue", "bob,sue"),
            ("bob,,,sue", "bob,sue"),
            (".referrer : *", ".r:*"),
            (".ref:*.example.com", ".r:.example.com"),
            (".r:*, .rlistings", ".r:*,.rlistings"),
            (".r:-thief.com", ".r:-thief.com"),
            ("a:b", "a:b"),
            ("", ""),
        ] {
            assert_eq!(clean("X-Container-Read", raw).as_deref(), Ok(cleaned));
        }
        for bad in [".r:", ".r:-", ".r:.", ".x:y"] {
            assert!(clean("X-Container-Read", bad).is_err(), "{bad}");
        }
        for write in [".r:*", "a:b,.ref:example.com"] {
            let e = clean("X-Container-Write", write).expect_err(write);
            assert!(e.starts_with("Referrers not allowed in write ACL"), "{e}");
        }
        assert_eq!(clean("X-Container-Write", "a:b, c").as_deref(), Ok("a:b,c"));
    }

    #[test]
    fn referrers_in_order() {
        let ex = Some("http://www.example.com/index.html");
        let thief = Some("https://user@thief.example.com:8080/x");
        assert!(referrer_grants(Some(".r:*"), None, true));
        assert!(!referrer_grants(Some(".r:*"), None, false), "no .rlistings");
        assert!(referrer_grants(Some(".r:*,.rlistings"), None, false));
        assert!(!referrer_grants(Some(".rlistings"), None, false));
        assert!(!referrer_grants(Some("a:b,*"), ex, true), "groups only");
        assert!(!referrer_grants(None, ex, true));
        assert!(referrer_grants(Some(".r:www.example.com"), ex, true));
        assert!(!referrer_grants(Some(".r:www.example.com"), None, true));
        assert!(!referrer_grants(Some(".r:www.example.com"), thief, true));
        let acl = Some(".r:.example.com,.r:-thief.example.com");
        assert!(referrer_grants(acl, ex, true));
        assert!(!referrer_grants(acl, thief, true));
        assert!(!referrer_grants(acl, Some("http://example.org/"), true));
        assert!(!referrer_grants(Some(".r:*,.r:-unknown"), None, true));
        // A host only matches as a whole name or as a dotted suffix.
        assert!(!referrer_grants(
            Some(".r:example.com"),
            Some("http://badexample.com/"),
            true
        ));
        assert!(!referrer_grants(
            Some(".r:www.example.com"),
            Some("www.example.com"),
            true
        ));
    }

    #[test]
    fn hosts_as_urlparse() {
        assert_eq!(
            host_of("http://A.Example.COM:80/p").as_deref(),
            Some("a.example.com")
        );
        assert_eq!(host_of("//h/x").as_deref(), Some("h"));
        assert_eq!(host_of("http://[::1]:8080/").as_deref(), Some("::1"));
        assert_eq!(host_of("http://u:p@h?q").as_deref(), Some("h"));
        assert_eq!(host_of("h/x"), None);
        assert_eq!(host_of("http:///x"), None);
    }
}
