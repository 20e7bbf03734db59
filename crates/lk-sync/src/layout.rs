// SPDX-License-Identifier: Apache-2.0
//! Where a path under the gateway root sits in the Swift layout
//! `ROOT/ACCOUNT/CONTAINER/OBJECT`. Pure: names only, no filesystem access.
//!
//! Paths are relative to the root, `/`-separated, valid UTF-8 (a name that is not can never
//! be an account, container or object, so the backends drop it before it gets here).

use lk_gateway::sync_api::layout::{decode_container, decode_object, Decoded, Skip};
use lk_gateway::sync_api::{check_container_name, check_object_name, TMP_PREFIX};
use lk_gateway::sync_api::{valid_account_name, Limits};

/// What a path under the root is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Place {
    /// The root itself.
    Root,
    /// `ROOT/ACCOUNT`.
    Account(String),
    /// `ROOT/ACCOUNT/CONTAINER`.
    Container {
        /// Account.
        account: String,
        /// Container.
        container: String,
    },
    /// `ROOT/ACCOUNT/CONTAINER/NAME`: an object when a file, a pseudo-directory (every object
    /// under `NAME/`) when a directory.
    Object {
        /// Account.
        account: String,
        /// Container.
        container: String,
        /// Object name or directory prefix (without the trailing `/`).
        name: String,
    },
}

/// Classifies `rel`; `None` when no Swift name can live there: invalid account, container or
/// object names, gateway files (`.lk-tmp-*` and other reserved `.lk-` names), `.` or `..`
/// components. Paths are read back into names as the gateway stores them
/// ([`lk_gateway::sync_api::layout`]): `.lk-empty` is an empty component, `.lk-long-H` the
/// component the index records for `H` (`lookup`; unknown: `None`, with a warning), a final
/// `.lk-self` the object named like its directory.
pub fn classify<E>(
    rel: &str,
    limits: &Limits,
    mut lookup: impl FnMut(&str) -> Result<Option<String>, E>,
) -> Result<Option<Place>, E> {
    if rel.is_empty() {
        return Ok(Some(Place::Root));
    }
    let mut parts = rel.split('/');
    let account = parts.next().unwrap_or_default();
    if !valid_account_name(account) {
        return Ok(None);
    }
    let Some(container) = parts.next() else {
        return Ok(Some(Place::Account(account.to_string())));
    };
    let Some(container) = named(rel, decode_container(container, &mut lookup)?) else {
        return Ok(None);
    };
    if check_container_name(&container, limits).is_err() {
        return Ok(None);
    }
    let rest: Vec<&str> = parts.collect();
    if rest.is_empty() {
        return Ok(Some(Place::Container {
            account: account.to_string(),
            container,
        }));
    }
    let Some(name) = named(rel, decode_object(&rest, lookup)?) else {
        return Ok(None);
    };
    if check_object_name(&name, limits).is_err() {
        return Ok(None);
    }
    Ok(Some(Place::Object {
        account: account.to_string(),
        container,
        name,
    }))
}

/// The name a decoded path holds (an unknown long component is logged).
fn named(rel: &str, d: Decoded) -> Option<String> {
    match d {
        Decoded::Name(n) | Decoded::SelfOf(n) => Some(n),
        Decoded::Skip(Skip::UnknownLong(_)) => {
            tracing::warn!(path = rel, "unknown long name: not indexed");
            None
        }
        Decoded::Skip(Skip::Reserved) => None,
    }
}

/// Whether a file name is one of the gateway's temp files (never listed).
pub fn is_temp(name: &str) -> bool {
    name.starts_with(TMP_PREFIX)
}

/// `dir/name`, or `name` at the root.
pub fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// Whether `path` is `dir` or lies under it.
pub fn is_within(path: &str, dir: &str) -> bool {
    dir.is_empty()
        || path == dir
        || (path.len() > dir.len() && path.starts_with(dir) && path.as_bytes()[dir.len()] == b'/')
}

/// The account a path belongs to (its first component), `None` for the root.
pub fn account_of(rel: &str) -> Option<&str> {
    rel.split('/').next().filter(|a| !a.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(rel: &str) -> Option<Place> {
        let long = "l".repeat(300);
        let known = lk_gateway::sync_api::layout::long_hash(&long);
        classify::<()>(rel, &Limits::default(), |h| {
            Ok((h == known).then(|| long.clone()))
        })
        .expect("no lookup error")
    }

    fn obj(container: &str, name: &str) -> Option<Place> {
        Some(Place::Object {
            account: "test".into(),
            container: container.into(),
            name: name.into(),
        })
    }

    #[test]
    fn decodes_the_gateway_layout() {
        let long = "l".repeat(300);
        let stored = format!(
            ".lk-long-{}",
            lk_gateway::sync_api::layout::long_hash(&long)
        );
        assert_eq!(c("test/c/d/.lk-self"), obj("c", "d"));
        assert_eq!(c("test/c/d/.lk-empty"), obj("c", "d/"));
        assert_eq!(c("test/c/.lk-empty/a"), obj("c", "/a"));
        assert_eq!(c("test/c/a/.lk-empty/b"), obj("c", "a//b"));
        assert_eq!(
            c(&format!("test/c/{stored}/x")),
            obj("c", &format!("{long}/x"))
        );
        // A 300-byte container name is over Swift's 256-byte limit.
        assert_eq!(c(&format!("test/{stored}")), None);
        // Unknown long names, reserved names and a .lk-self of the container: nothing.
        let unknown = format!(".lk-long-{}", "0".repeat(64));
        for bad in [
            format!("test/c/{unknown}"),
            format!("test/{unknown}/x"),
            "test/c/.lk-self".to_string(),
            "test/c/.lk-other".to_string(),
            "test/c/d/.lk-self/x".to_string(),
            "test/.lk-empty".to_string(),
        ] {
            assert_eq!(c(&bad), None, "{bad}");
        }
    }

    #[test]
    fn classifies_levels() {
        assert_eq!(c(""), Some(Place::Root));
        assert_eq!(c("test"), Some(Place::Account("test".into())));
        assert_eq!(
            c("test/c"),
            Some(Place::Container {
                account: "test".into(),
                container: "c".into()
            })
        );
        assert_eq!(
            c("test/c/a/b.txt"),
            Some(Place::Object {
                account: "test".into(),
                container: "c".into(),
                name: "a/b.txt".into()
            })
        );
    }

    #[test]
    fn refuses_what_cannot_be_listed() {
        for bad in [
            ".lustrekit-gateway",
            ".lustrekit-gateway/index.sqlite3",
            "test/c/.lk-tmp-abc",
            "test/c/d/.lk-tmp-abc",
            "test/.lk-tmp-x",
            "te st/c/x",
            "test/c/a/./b",
        ] {
            assert_eq!(c(bad), None, "{bad}");
        }
        assert!(is_temp(".lk-tmp-1234"));
        assert!(!is_temp("lk-tmp-1234"));
    }

    #[test]
    fn paths_nest() {
        assert!(is_within("a/b/c", "a/b"));
        assert!(is_within("a/b", "a/b"));
        assert!(!is_within("a/bc", "a/b"));
        assert!(is_within("a", ""));
        assert_eq!(join("", "a"), "a");
        assert_eq!(join("a", "b"), "a/b");
        assert_eq!(account_of("a/b"), Some("a"));
        assert_eq!(account_of(""), None);
    }
}
