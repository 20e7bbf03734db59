// SPDX-License-Identifier: Apache-2.0
//! Where a path under the gateway root sits in the Swift layout
//! `ROOT/ACCOUNT/CONTAINER/OBJECT`. Pure: names only, no filesystem access.
//!
//! Paths are relative to the root, `/`-separated, valid UTF-8 (a name that is not can never
//! be an account, container or object, so the backends drop it before it gets here).

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
/// object names, gateway temp files (`.lk-tmp-*`), names with empty, `.` or `..` components.
pub fn classify(rel: &str, limits: &Limits) -> Option<Place> {
    if rel.is_empty() {
        return Some(Place::Root);
    }
    let mut parts = rel.splitn(3, '/');
    let account = parts.next()?;
    if !valid_account_name(account) {
        return None;
    }
    let Some(container) = parts.next() else {
        return Some(Place::Account(account.to_string()));
    };
    if check_container_name(container, limits).is_err() || container.starts_with(TMP_PREFIX) {
        return None;
    }
    let Some(name) = parts.next() else {
        return Some(Place::Container {
            account: account.to_string(),
            container: container.to_string(),
        });
    };
    check_object_name(name, limits).ok()?;
    Some(Place::Object {
        account: account.to_string(),
        container: container.to_string(),
        name: name.to_string(),
    })
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
        classify(rel, &Limits::default())
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
            "test/c/a//b",
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
