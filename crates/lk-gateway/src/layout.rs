// SPDX-License-Identifier: Apache-2.0
//! How names that have no plain POSIX path are stored in the tree, and how tree paths are read
//! back as names. Pure: no filesystem access; long components are looked up through a
//! caller's function (the `long_names` table of the listing index).
//!
//! An object name's `/`-separated components are file names, except:
//!
//! - an empty component (leading `/`, `//`, trailing `/`) is the file name [`EMPTY`];
//! - a component over [`NAME_MAX`] bytes is `.lk-long-<sha256 hex>` ([`LONG_PREFIX`]), the
//!   real component kept in the index;
//! - an object whose path is a directory (because objects below it exist) is the file
//!   [`SELF_FILE`] inside that directory.
//!
//! Every other file name starting with [`RESERVED_PREFIX`] is the gateway's (temp files) and
//! never an object; client names with such a component are refused. Container names follow
//! the same rules for their one component (never empty).

use std::borrow::Cow;

use sha2::{Digest, Sha256};

pub use crate::path::NAME_MAX;

/// Components starting with this are reserved for the gateway.
pub const RESERVED_PREFIX: &str = ".lk-";
/// The stored form of an empty component.
pub const EMPTY: &str = ".lk-empty";
/// The file holding the object whose name is its directory's.
pub const SELF_FILE: &str = ".lk-self";
/// The stored form of a component over [`NAME_MAX`] bytes: this, then its SHA-256 in hex.
pub const LONG_PREFIX: &str = ".lk-long-";

/// A component too long for a file name, and the name it is stored under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LongName {
    /// SHA-256 of the component, lowercase hex.
    pub hash: String,
    /// The component.
    pub component: String,
}

/// Whether a component (of a client's name or a file name) is reserved for the gateway.
pub fn is_reserved(component: &str) -> bool {
    component.starts_with(RESERVED_PREFIX)
}

/// SHA-256 of a component, lowercase hex.
pub fn long_hash(component: &str) -> String {
    hex::encode(Sha256::digest(component.as_bytes()))
}

/// The file name a (checked) component is stored under.
pub fn encode_component(component: &str) -> Cow<'_, str> {
    if component.is_empty() {
        Cow::Borrowed(EMPTY)
    } else if component.len() > NAME_MAX {
        Cow::Owned(format!("{LONG_PREFIX}{}", long_hash(component)))
    } else {
        Cow::Borrowed(component)
    }
}

/// The file names an object name's components are stored under, in order (the object's plain
/// path; [`SELF_FILE`] is added when that path is a directory).
pub fn encode_name(name: &str) -> Vec<Cow<'_, str>> {
    name.split('/').map(encode_component).collect()
}

/// The components of `name` that are stored as [`LONG_PREFIX`] names (to record in the index
/// before the file is written).
pub fn long_components(name: &str) -> Vec<LongName> {
    name.split('/')
        .filter(|c| c.len() > NAME_MAX)
        .map(|c| LongName {
            hash: long_hash(c),
            component: c.to_string(),
        })
        .collect()
}

/// Why a tree path is not an object (or container) name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// A gateway file (temp file, temp directory) or a reserved name in the wrong place.
    Reserved,
    /// A `.lk-long-` name the index does not know (the hash).
    UnknownLong(String),
}

/// What a directory entry's file name means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// An object name (a file) or a directory prefix without its `/` (a directory).
    Name(String),
    /// [`SELF_FILE`]: the object named like its directory (this name).
    SelfOf(String),
    /// Not a name.
    Skip(Skip),
}

/// Decodes the entry `file_name` of a directory whose names start with `prefix` (empty for
/// the container directory, else ending in `/`). `lookup` maps a long component's hash to the
/// component. A [`SELF_FILE`] in the container directory itself is not a name.
pub fn decode_entry<E>(
    prefix: &str,
    file_name: &str,
    lookup: &mut impl FnMut(&str) -> Result<Option<String>, E>,
) -> Result<Decoded, E> {
    if !is_reserved(file_name) {
        return Ok(Decoded::Name(format!("{prefix}{file_name}")));
    }
    if file_name == EMPTY {
        return Ok(Decoded::Name(prefix.to_string()));
    }
    if file_name == SELF_FILE {
        return Ok(match prefix.strip_suffix('/') {
            Some(dir) => Decoded::SelfOf(dir.to_string()),
            None => Decoded::Skip(Skip::Reserved),
        });
    }
    match file_name.strip_prefix(LONG_PREFIX) {
        Some(hash) => Ok(match lookup_long(hash, lookup)? {
            Some(c) => Decoded::Name(format!("{prefix}{c}")),
            None => Decoded::Skip(Skip::UnknownLong(hash.to_string())),
        }),
        None => Ok(Decoded::Skip(Skip::Reserved)),
    }
}

/// The component stored as `.lk-long-<hash>`, if the index knows it and it matches its hash.
fn lookup_long<E>(
    hash: &str,
    lookup: &mut impl FnMut(&str) -> Result<Option<String>, E>,
) -> Result<Option<String>, E> {
    Ok(lookup(hash)?.filter(|c| c.len() > NAME_MAX && long_hash(c) == hash))
}

/// Decodes a path below the container directory (file names, in order) into the object name
/// it stores: intermediate components are directories, a final [`SELF_FILE`] is the object
/// named like its directory. For a directory path the result is its prefix without the `/`.
pub fn decode_object<E>(
    components: &[&str],
    mut lookup: impl FnMut(&str) -> Result<Option<String>, E>,
) -> Result<Decoded, E> {
    let Some((last, dirs)) = components.split_last() else {
        return Ok(Decoded::Skip(Skip::Reserved));
    };
    let mut prefix = String::new();
    for d in dirs {
        match decode_entry(&prefix, d, &mut lookup)? {
            Decoded::Name(n) => prefix = format!("{n}/"),
            Decoded::SelfOf(_) => return Ok(Decoded::Skip(Skip::Reserved)),
            skip @ Decoded::Skip(_) => return Ok(skip),
        }
    }
    decode_entry(&prefix, last, &mut lookup)
}

/// Decodes a container directory's file name (no empty container names, no [`SELF_FILE`]).
pub fn decode_container<E>(
    file_name: &str,
    mut lookup: impl FnMut(&str) -> Result<Option<String>, E>,
) -> Result<Decoded, E> {
    match decode_entry("", file_name, &mut lookup)? {
        Decoded::Name(n) if n.is_empty() => Ok(Decoded::Skip(Skip::Reserved)),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn names(long: &[&str]) -> HashMap<String, String> {
        long.iter().map(|c| (long_hash(c), c.to_string())).collect()
    }

    fn dec(path: &str, known: &HashMap<String, String>) -> Decoded {
        let comps: Vec<&str> = path.split('/').collect();
        decode_object::<()>(&comps, |h| Ok(known.get(h).cloned())).expect("no error")
    }

    fn enc(name: &str) -> String {
        encode_name(name).join("/")
    }

    #[test]
    fn plain_names_are_their_paths() {
        assert_eq!(enc("a/b.txt"), "a/b.txt");
        let none = HashMap::new();
        assert_eq!(dec("a/b.txt", &none), Decoded::Name("a/b.txt".into()));
        assert_eq!(dec("x", &none), Decoded::Name("x".into()));
    }

    #[test]
    fn empty_components() {
        assert_eq!(enc("d/"), "d/.lk-empty");
        assert_eq!(enc("/a"), ".lk-empty/a");
        assert_eq!(enc("a//b"), "a/.lk-empty/b");
        assert_eq!(enc("/"), ".lk-empty/.lk-empty");
        let none = HashMap::new();
        for name in ["d/", "/a", "a//b", "/", "//x//", "/dir1/subdir1/"] {
            assert_eq!(dec(&enc(name), &none), Decoded::Name(name.into()), "{name}");
        }
    }

    #[test]
    fn long_components_round_trip() {
        let long = "a".repeat(300);
        let name = format!("x/{long}/y");
        let stored = enc(&name);
        assert_eq!(stored, format!("x/.lk-long-{}/y", long_hash(&long)));
        assert!(stored.split('/').all(|c| c.len() <= NAME_MAX));
        assert_eq!(
            long_components(&name),
            vec![LongName {
                hash: long_hash(&long),
                component: long.clone()
            }]
        );
        assert!(long_components("a/b").is_empty());
        assert_eq!(enc(&"b".repeat(255)), "b".repeat(255), "255 bytes fit");
        assert_eq!(dec(&stored, &names(&[&long])), Decoded::Name(name.clone()));
        // Unknown, or a table entry that does not match its hash: not a name.
        assert_eq!(
            dec(&stored, &HashMap::new()),
            Decoded::Skip(Skip::UnknownLong(long_hash(&long)))
        );
        let mut forged = HashMap::new();
        forged.insert(long_hash(&long), "z".repeat(300));
        assert!(matches!(dec(&stored, &forged), Decoded::Skip(_)));
    }

    #[test]
    fn self_files() {
        let none = HashMap::new();
        assert_eq!(dec("d/.lk-self", &none), Decoded::SelfOf("d".into()));
        assert_eq!(dec("a/b/.lk-self", &none), Decoded::SelfOf("a/b".into()));
        // `d/` stored beside `d`: d/.lk-empty is `d/`, d/.lk-self is `d`.
        assert_eq!(dec("d/.lk-empty", &none), Decoded::Name("d/".into()));
        assert_eq!(
            dec("a/.lk-empty/.lk-self", &none),
            Decoded::SelfOf("a/".into())
        );
        assert_eq!(dec(".lk-self", &none), Decoded::Skip(Skip::Reserved));
        assert_eq!(dec("d/.lk-self/x", &none), Decoded::Skip(Skip::Reserved));
    }

    #[test]
    fn other_reserved_names_are_not_objects() {
        let none = HashMap::new();
        for p in [
            ".lk-tmp-1234",
            "a/.lk-tmp-1",
            "a/.lk-tmp-dir/.lk-self",
            ".lk-x",
            "a/.lk-",
        ] {
            assert_eq!(dec(p, &none), Decoded::Skip(Skip::Reserved), "{p}");
        }
        assert!(is_reserved(".lk-anything"));
        assert!(!is_reserved("lk-x"));
        assert!(!is_reserved(".lkx"));
    }

    #[test]
    fn containers() {
        let long = "c".repeat(256);
        let known = names(&[&long]);
        let look = |h: &str| Ok::<_, ()>(known.get(h).cloned());
        assert_eq!(decode_container("c", look), Ok(Decoded::Name("c".into())));
        let stored = encode_component(&long).into_owned();
        assert_eq!(decode_container(&stored, look), Ok(Decoded::Name(long)));
        for bad in [EMPTY, SELF_FILE, ".lk-tmp-1"] {
            assert_eq!(
                decode_container(bad, look),
                Ok(Decoded::Skip(Skip::Reserved)),
                "{bad}"
            );
        }
    }

    #[test]
    fn lookup_errors_propagate() {
        let stored = format!("{LONG_PREFIX}{}", long_hash(&"q".repeat(300)));
        assert_eq!(decode_object(&[stored.as_str()], |_| Err("db")), Err("db"));
        assert_eq!(
            decode_object::<&str>(&["plain"], |_| Err("db")),
            Ok(Decoded::Name("plain".into()))
        );
    }
}
