// SPDX-License-Identifier: Apache-2.0
//! Swift symlinks, the pure part: what a symlink PUT asks for (validated as Swift's symlink
//! middleware validates it), how a link is kept in its object's metadata, and the parameters
//! its listing entry carries. A symlink is a zero-byte regular file whose metadata names its
//! target; it is never a POSIX symlink (targets may be in other accounts, and the tree's own
//! symlinks may not leave an account). Following links is [`crate::handlers::symlink`].

use crate::error::{SwiftError, SwiftResult};
use crate::meta::Meta;
use crate::path::decode;
use crate::path::quote;

/// Metadata keys of a link (the names Swift's object servers store).
pub mod keys {
    /// `container/object`, URL-quoted.
    pub const TARGET: &str = "X-Object-Sysmeta-Symlink-Target";
    /// The target's account (`AUTH_name`), only when the PUT named one.
    pub const ACCOUNT: &str = "X-Object-Sysmeta-Symlink-Target-Account";
    /// A static link's target ETag.
    pub const ETAG: &str = "X-Object-Sysmeta-Symlink-Target-Etag";
    /// A static link's target size.
    pub const BYTES: &str = "X-Object-Sysmeta-Symlink-Target-Bytes";
    /// A static link to an SLO: the SLO's etag, listed as `slo_etag` (the gateway's own key).
    pub const SLO_ETAG: &str = "X-Lk-Symlink-Slo-Etag";
    /// Every key above.
    pub const ALL: [&str; 5] = [TARGET, ACCOUNT, ETAG, BYTES, SLO_ETAG];
}

/// Swift's default (and advertised) `symloop_max`.
pub const SYMLOOP_MAX: usize = 2;

/// The MD5 of nothing: the ETag of every link object.
pub const MD5_OF_EMPTY: &str = "d41d8cd98f00b204e9800998ecf8427e";

const TARGET_FORM: &str =
    "X-Symlink-Target header must be of the form <container name>/<object name>";

/// A link as stored in an object's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The target's account as sent (`AUTH_name`), when the PUT named one.
    pub account: Option<String>,
    /// The target's container.
    pub container: String,
    /// The target's object name.
    pub object: String,
    /// `container/object` URL-quoted, as Swift stores and returns it.
    pub quoted: String,
    /// A static link's ETag.
    pub etag: Option<String>,
    /// A static link's target size.
    pub bytes: Option<u64>,
}

impl Link {
    /// The link `meta` holds, if any (an unreadable target is no link).
    pub fn of(meta: &Meta) -> Option<Link> {
        let quoted = meta.get(keys::TARGET)?;
        let (container, object) = decode(quoted).ok()?.split_once('/').map(owned)?;
        Some(Link {
            account: meta.get(keys::ACCOUNT).cloned(),
            container,
            object,
            quoted: quoted.clone(),
            etag: meta.get(keys::ETAG).cloned(),
            bytes: meta.get(keys::BYTES).and_then(|b| b.parse().ok()),
        })
    }

    /// The target's path as Swift's `Content-Location` and `Location` give it; `own` is the
    /// link's own account in URL form (`AUTH_name`).
    pub fn location(&self, own: &str) -> String {
        let account = self.account.as_deref().map_or_else(|| quote(own), quote);
        format!("/v1/{account}/{}", self.quoted)
    }

    /// The response headers of the link object itself (`?symlink=get`).
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut h = vec![("X-Symlink-Target", self.quoted.clone())];
        if let Some(a) = &self.account {
            h.push(("X-Symlink-Target-Account", quote(a)));
        }
        if let Some(e) = &self.etag {
            h.push(("X-Symlink-Target-Etag", e.clone()));
        }
        if let Some(b) = self.bytes {
            h.push(("X-Symlink-Target-Bytes", b.to_string()));
        }
        h
    }

    /// The parameters its listing entry's `hash` carries, as Swift's container records do
    /// (`; symlink_target=...`).
    pub fn listing_params(&self) -> String {
        let mut s = format!("; symlink_target={}", self.quoted);
        if let Some(a) = &self.account {
            s.push_str(&format!("; symlink_target_account={}", quote(a)));
        }
        if let (Some(e), Some(b)) = (&self.etag, self.bytes) {
            s.push_str(&format!(
                "; symlink_target_etag={e}; symlink_target_bytes={b}"
            ));
        }
        s
    }
}

fn owned((a, b): (&str, &str)) -> (String, String) {
    (a.to_string(), b.to_string())
}

/// A symlink PUT's request, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRequest {
    /// The account the link names (`AUTH_name` as sent), if any.
    pub account: Option<String>,
    /// Target container.
    pub container: String,
    /// Target object.
    pub object: String,
    /// `X-Symlink-Target-Etag`, unquoted.
    pub etag: Option<String>,
}

impl LinkRequest {
    /// Validates `X-Symlink-Target` (`target`), `X-Symlink-Target-Account` and
    /// `X-Symlink-Target-Etag` of a PUT of `own` (URL account, container, object), with
    /// Swift's statuses and texts.
    pub fn parse(
        target: &str,
        account: Option<&str>,
        etag: Option<&str>,
        own: (&str, &str, &str),
    ) -> SwiftResult<LinkRequest> {
        let t = decode(target)?;
        if t.starts_with('/') {
            return Err(SwiftError::BadPath(TARGET_FORM));
        }
        let (container, object) = match t.split_once('/') {
            Some((c, o)) if !c.is_empty() && !o.is_empty() => owned((c, o)),
            _ => return Err(SwiftError::BadPath(TARGET_FORM)),
        };
        let account = match account {
            None => None,
            Some(v) => {
                let v = decode(v)?;
                if v.is_empty() {
                    return Err(SwiftError::BadPath("Account name cannot be empty"));
                }
                if v.contains('/') {
                    return Err(SwiftError::BadPath("Account name cannot contain slashes"));
                }
                Some(v)
            }
        };
        let target_account = account.as_deref().unwrap_or(own.0);
        if (target_account, container.as_str(), object.as_str()) == own {
            return Err(SwiftError::bad("Symlink cannot target itself"));
        }
        let etag = etag.map(normalize_etag).filter(|e| !e.is_empty());
        if etag
            .as_deref()
            .is_some_and(|e| e.contains([';', '"', '\\']))
        {
            return Err(SwiftError::bad("Bad X-Symlink-Target-Etag format"));
        }
        Ok(LinkRequest {
            account,
            container,
            object,
            etag,
        })
    }

    /// `container/object` quoted as stored.
    pub fn quoted(&self) -> String {
        quote(&format!("{}/{}", self.container, self.object))
    }

    /// Writes the link keys into `meta` (a static link's size and the SLO etag it carries
    /// come from the checked target).
    pub fn store(&self, meta: &mut Meta, bytes: Option<u64>, slo_etag: Option<&str>) {
        for k in keys::ALL {
            meta.remove(k);
        }
        meta.insert(keys::TARGET.into(), self.quoted());
        if let Some(a) = &self.account {
            meta.insert(keys::ACCOUNT.into(), a.clone());
        }
        if let (Some(e), Some(b)) = (&self.etag, bytes) {
            meta.insert(keys::ETAG.into(), e.clone());
            meta.insert(keys::BYTES.into(), b.to_string());
        }
        if let Some(s) = slo_etag {
            meta.insert(keys::SLO_ETAG.into(), s.to_string());
        }
    }
}

/// Swift's `normalize_etag`: surrounding quotes removed.
pub fn normalize_etag(e: &str) -> String {
    let e = e.trim();
    e.strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(e)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWN: (&str, &str, &str) = ("AUTH_test", "links", "l");

    #[test]
    fn quote_as_swift() {
        assert_eq!(
            quote("c/dealde/l04 011e 4c8df/flash.png"),
            "c/dealde/l04%20011e%204c8df/flash.png"
        );
        assert_eq!(quote("a;b\"c~d"), "a%3Bb%22c~d");
    }

    #[test]
    fn parse_normalizes_encoded_targets() {
        let r =
            LinkRequest::parse("c/dealde%2Fl04 011e%204c8df/flash.png", None, None, OWN).unwrap();
        assert_eq!(r.container, "c");
        assert_eq!(r.object, "dealde/l04 011e 4c8df/flash.png");
        assert_eq!(r.quoted(), "c/dealde/l04%20011e%204c8df/flash.png");
    }

    #[test]
    fn parse_refusals() {
        let status = |t: &str, a: Option<&str>, e: Option<&str>| {
            LinkRequest::parse(t, a, e, OWN)
                .unwrap_err()
                .status()
                .as_u16()
        };
        assert_eq!(status("obj", None, None), 412);
        assert_eq!(status("/c/o", None, None), 412);
        assert_eq!(status("c/", None, None), 412);
        assert_eq!(status("links/l", None, None), 400);
        assert_eq!(status("links/l", Some("AUTH_test"), None), 400);
        assert_eq!(status("c/o", Some(""), None), 412);
        assert_eq!(status("c/o", Some("a/b"), None), 412);
        assert_eq!(status("c/o", None, Some("a;b")), 400);
        assert!(LinkRequest::parse("links/l", Some("AUTH_other"), None, OWN).is_ok());
        let r = LinkRequest::parse("c/o", None, Some("\"abc\""), OWN).unwrap();
        assert_eq!(r.etag.as_deref(), Some("abc"));
    }

    #[test]
    fn stored_and_read_back() {
        let r = LinkRequest::parse("c/o x", Some("AUTH_b"), Some("e1"), OWN).unwrap();
        let mut m = Meta::new();
        r.store(&mut m, Some(11), None);
        let l = Link::of(&m).unwrap();
        assert_eq!((l.container.as_str(), l.object.as_str()), ("c", "o x"));
        assert_eq!(l.location("AUTH_test"), "/v1/AUTH_b/c/o%20x");
        assert_eq!(
            l.listing_params(),
            "; symlink_target=c/o%20x; symlink_target_account=AUTH_b; \
             symlink_target_etag=e1; symlink_target_bytes=11"
        );
        // A dynamic link records no etag even if a size were given.
        let r = LinkRequest::parse("c/o", None, None, OWN).unwrap();
        r.store(&mut m, Some(3), None);
        let l = Link::of(&m).unwrap();
        assert_eq!((&l.etag, l.bytes, &l.account), (&None, None, &None));
        assert_eq!(l.location("AUTH_test"), "/v1/AUTH_test/c/o");
    }
}
