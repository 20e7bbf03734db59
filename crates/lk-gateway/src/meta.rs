// SPDX-License-Identifier: Apache-2.0
//! Metadata of objects, containers and accounts, kept in xattrs as SwiftOnFile does:
//! one JSON object (header name -> value) in `user.swift.metadata`, continued in
//! `user.swift.metadata1`, `user.swift.metadata2`, ... when longer than [`CHUNK`].
//!
//! When the filesystem has no room for it (ext4 keeps about one 4 KB block of xattrs per
//! inode, less than Swift's 4096 bytes of user metadata plus system metadata; some
//! filesystems have no user xattrs at all), the policy ([`XattrOverflow`]) decides:
//! - `side-store` (default): the JSON goes to the `side_meta` table of the index database,
//!   keyed by the resource ("o/ACCOUNT/CONTAINER/OBJECT"), and any xattr chunks are removed.
//!   A read finds no xattr and falls back to the side store. The recorded size and mtime
//!   make a stale side entry (the file was replaced through POSIX) harmless.
//! - `reject`: the request fails with 507 Insufficient Storage and nothing is changed.
//!
//! An object whose file is a symlink (to a file inside the account, see [`crate::store`])
//! keeps its metadata in the side store whatever the policy: Linux refuses user xattrs on a
//! symlink itself (EPERM), and following the link would write this object's metadata onto
//! another object's file.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::Arc;

use xattr::FileExt;

use crate::config::XattrOverflow;
use crate::error::{SwiftError, SwiftResult};
use crate::index::Index;

/// Header name -> value.
pub type Meta = BTreeMap<String, String>;

/// First xattr name; chunk N > 0 is this name followed by N.
pub const XATTR_NAME: &str = "user.swift.metadata";

/// Largest xattr value written in one chunk (below Linux's 64 KiB XATTR_SIZE_MAX).
pub const CHUNK: usize = 60_000;

/// Internal keys kept alongside the headers (never sent to clients).
pub mod keys {
    /// MD5 hex of the file's bytes.
    pub const ETAG: &str = "ETag";
    /// Size of the file in bytes.
    pub const LENGTH: &str = "Content-Length";
    /// Content-Type.
    pub const CONTENT_TYPE: &str = "Content-Type";
    /// X-Timestamp of the last PUT/POST.
    pub const TIMESTAMP: &str = "X-Timestamp";
    /// The file's mtime (ns) when the metadata was written: a mismatch means the file was
    /// changed outside the gateway and ETag/size must be recomputed.
    pub const MTIME: &str = "X-Lk-Mtime-Ns";
    /// DLO manifest (`container/prefix`).
    pub const MANIFEST: &str = "X-Object-Manifest";
    /// SLO marker ("True").
    pub const SLO: &str = "X-Static-Large-Object";
    /// SLO etag (MD5 of the concatenated segment etags).
    pub const SLO_ETAG: &str = "X-Object-Sysmeta-Slo-Etag";
    /// SLO total size.
    pub const SLO_SIZE: &str = "X-Object-Sysmeta-Slo-Size";
    /// An SLO's stored manifest (JSON), when its file holds the object's bytes (see
    /// [`crate::handlers::large`]); an SLO without it is an older one whose file is the
    /// manifest.
    pub const SLO_MANIFEST: &str = "X-Lk-Slo-Manifest";
    /// Every container an SLO's bytes came from, sub-SLOs' included (JSON list): a reader
    /// must be allowed to read each, as a Swift GET reads each segment with its rights.
    pub const SLO_CONTAINERS: &str = "X-Lk-Slo-Containers";
    /// How deep an SLO's manifests nest (1: its segments are plain objects), sub-SLOs
    /// reached through links included: a GET of one deeper than Swift's
    /// `max_slo_recursion_depth` is refused, as Swift refuses it, though its file holds the
    /// bytes.
    pub const SLO_DEPTH: &str = "X-Lk-Slo-Depth";
    /// When a container's metadata last changed (PUT or POST; object writes do not count),
    /// its `Last-Modified` as in Swift.
    pub const CHANGED: &str = "X-Lk-Changed";
    /// Unix time (seconds) the object expires at (see [`crate::expiry`]).
    pub const DELETE_AT: &str = "X-Delete-At";
    /// A DLO whose file holds its segments' bytes (see [`crate::dlo`]): the DLO ETag (MD5 of
    /// the segments' ETags) of what the file holds. Its manifest's own bytes are empty.
    pub const DLO_ETAG: &str = "X-Lk-Dlo-Etag";
}

/// Reads and writes metadata with the overflow policy.
pub struct MetaStore {
    index: Arc<Index>,
    overflow: XattrOverflow,
}

fn is_room_error(e: &io::Error) -> bool {
    // ENOSPC (ext4 block full), E2BIG (value too large), ERANGE, ENOTSUP/EOPNOTSUPP.
    matches!(e.raw_os_error(), Some(28) | Some(7) | Some(34) | Some(95))
}

fn chunk_name(i: usize) -> String {
    if i == 0 {
        XATTR_NAME.to_string()
    } else {
        format!("{XATTR_NAME}{i}")
    }
}

/// Where xattrs are read from / written to: an open file or a path.
enum Target<'a> {
    File(&'a File),
    Path(&'a Path),
}

impl Target<'_> {
    fn get(&self, name: &str) -> io::Result<Option<Vec<u8>>> {
        match self {
            Target::File(f) => f.get_xattr(name),
            Target::Path(p) => xattr::get(p, name),
        }
    }
    fn set(&self, name: &str, v: &[u8]) -> io::Result<()> {
        match self {
            Target::File(f) => f.set_xattr(name, v),
            Target::Path(p) => xattr::set(p, name, v),
        }
    }
    fn remove(&self, name: &str) -> io::Result<()> {
        let r = match self {
            Target::File(f) => f.remove_xattr(name),
            Target::Path(p) => xattr::remove(p, name),
        };
        match r {
            Err(e) if e.raw_os_error() == Some(61) => Ok(()), // ENODATA
            other => other,
        }
    }
}

impl MetaStore {
    /// A store writing overflow to `index`.
    pub fn new(index: Arc<Index>, overflow: XattrOverflow) -> Self {
        MetaStore { index, overflow }
    }

    /// Reads the metadata of `path` (xattrs first, then the side store under `key`).
    pub fn read(&self, path: &Path, key: &str) -> SwiftResult<Option<Meta>> {
        if is_symlink(path) {
            return self.read_side(key);
        }
        let t = Target::Path(path);
        match read_chunks(&t) {
            Ok(Some(m)) => return Ok(Some(m)),
            Ok(None) => {}
            Err(e) if is_room_error(&e) => {}
            Err(e) => return Err(SwiftError::io("read xattrs of", path, e)),
        }
        self.read_side(key)
    }

    fn read_side(&self, key: &str) -> SwiftResult<Option<Meta>> {
        match self.index.side_meta_get(key)? {
            Some(j) => Ok(serde_json::from_str(&j).ok()),
            None => Ok(None),
        }
    }

    /// Writes `meta` on an open file (a temp file before its rename).
    pub fn write_file(&self, f: &File, path: &Path, key: &str, meta: &Meta) -> SwiftResult<()> {
        self.write(&Target::File(f), path, key, meta)
    }

    /// Writes `meta` on `path` (POST on an existing object, containers, accounts); for a
    /// symlink, in the side store.
    pub fn write_path(&self, path: &Path, key: &str, meta: &Meta) -> SwiftResult<()> {
        if is_symlink(path) {
            let json = to_json(meta)?;
            return Ok(self.index.side_meta_set(key, Some(&json))?);
        }
        self.write(&Target::Path(path), path, key, meta)
    }

    /// Forgets any side-store entry for `key` (after a DELETE).
    pub fn forget(&self, key: &str) -> SwiftResult<()> {
        Ok(self.index.side_meta_set(key, None)?)
    }

    fn write(&self, t: &Target<'_>, path: &Path, key: &str, meta: &Meta) -> SwiftResult<()> {
        let json = to_json(meta)?;
        match write_chunks(t, json.as_bytes()) {
            Ok(()) => {
                // A previous overflow entry is now stale.
                self.index.side_meta_set(key, None)?;
                Ok(())
            }
            Err(e) if is_room_error(&e) => {
                let _ = remove_chunks(t, 0);
                match self.overflow {
                    XattrOverflow::SideStore => Ok(self.index.side_meta_set(key, Some(&json))?),
                    XattrOverflow::Reject => Err(SwiftError::XattrRoom {
                        bytes: json.len(),
                        path: path.to_path_buf(),
                    }),
                }
            }
            Err(e) => Err(SwiftError::io("write xattrs of", path, e)),
        }
    }
}

fn to_json(meta: &Meta) -> SwiftResult<String> {
    serde_json::to_string(meta).map_err(|e| SwiftError::Internal(format!("metadata to JSON: {e}")))
}

/// Whether `path` itself (its last component) is a symlink.
pub fn is_symlink(path: &Path) -> bool {
    path.symlink_metadata()
        .is_ok_and(|m| m.file_type().is_symlink())
}

fn read_chunks(t: &Target<'_>) -> io::Result<Option<Meta>> {
    let mut buf = Vec::new();
    for i in 0.. {
        match t.get(&chunk_name(i))? {
            Some(v) => buf.extend_from_slice(&v),
            None if i == 0 => return Ok(None),
            None => break,
        }
    }
    // Unreadable JSON (written by something else) counts as no metadata.
    Ok(serde_json::from_slice(&buf).ok())
}

fn write_chunks(t: &Target<'_>, data: &[u8]) -> io::Result<()> {
    let n = data.len().div_ceil(CHUNK).max(1);
    for i in 0..n {
        let end = ((i + 1) * CHUNK).min(data.len());
        t.set(&chunk_name(i), &data[i * CHUNK..end])?;
    }
    remove_chunks(t, n)
}

/// Removes chunks `from..` (stops at the first missing one).
fn remove_chunks(t: &Target<'_>, from: usize) -> io::Result<()> {
    for i in from.. {
        match t.get(&chunk_name(i)) {
            Ok(Some(_)) => t.remove(&chunk_name(i))?,
            _ => break,
        }
    }
    Ok(())
}

/// Splits request headers into the metadata a resource keeps. `kind` is "object",
/// "container" or "account"; `X-Remove-<Kind>-Meta-Foo` and an empty value delete `Foo`.
/// Returns (to set, to remove).
pub fn headers_to_meta(headers: &http::HeaderMap, kind: &str) -> SwiftResult<(Meta, Vec<String>)> {
    let set_prefix = format!("x-{kind}-meta-");
    let rm_prefix = format!("x-remove-{kind}-meta-");
    let mut set = Meta::new();
    let mut rm = Vec::new();
    for (name, value) in headers {
        let n = name.as_str();
        if let Some(k) = n.strip_prefix(&set_prefix) {
            // Swift refuses account and container metadata that is not UTF-8 with this
            // message, and keeps an object's bytes as they are.
            let v = match crate::hdr::text(value) {
                Some(v) => v.to_string(),
                None if kind == "object" => value_from_bytes(value.as_bytes()),
                None => return Err(SwiftError::bad("Metadata must be valid UTF-8")),
            };
            if v.is_empty() {
                rm.push(canonical_meta_name(kind, k));
            } else {
                set.insert(canonical_meta_name(kind, k), v);
            }
        } else if let Some(k) = n.strip_prefix(&rm_prefix) {
            rm.push(canonical_meta_name(kind, k));
        }
    }
    Ok((set, rm))
}

/// Starts a stored metadata value whose bytes are not UTF-8 (see [`value_from_bytes`]).
const RAW_MARK: char = '\0';

/// A header value's bytes as a stored metadata value: the text itself when they are UTF-8,
/// else NUL followed by each byte as the character of the same number (Latin-1). No value a
/// client sends is stored that way: header values cannot hold a NUL.
pub fn value_from_bytes(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(t) => t.to_string(),
        Err(_) => std::iter::once(RAW_MARK)
            .chain(b.iter().map(|&x| char::from(x)))
            .collect(),
    }
}

/// The bytes a stored metadata value stands for (the inverse of [`value_from_bytes`]).
pub fn value_bytes(v: &str) -> std::borrow::Cow<'_, [u8]> {
    match v.strip_prefix(RAW_MARK) {
        Some(raw) if raw.chars().all(|c| u32::from(c) <= 0xff) => {
            raw.chars().map(|c| c as u8).collect::<Vec<u8>>().into()
        }
        _ => v.as_bytes().into(),
    }
}

/// `X-Object-Meta-` + the name as sent, title-cased like Swift returns it.
pub fn canonical_meta_name(kind: &str, name: &str) -> String {
    let kind = title(kind);
    format!("X-{kind}-Meta-{}", title(name))
}

/// Title-cases a dash-separated header name (`color-mode` -> `Color-Mode`).
pub fn title(s: &str) -> String {
    s.split('-')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f
                    .to_uppercase()
                    .chain(c.flat_map(|x| x.to_lowercase()))
                    .collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<String>>()
        .join("-")
}

/// Checks Swift's metadata limits on the user metadata of `meta` (keys starting with
/// `X-<Kind>-Meta-`).
pub fn check_limits(meta: &Meta, kind: &str, l: &crate::config::Limits) -> SwiftResult<()> {
    let prefix = format!("X-{}-Meta-", title(kind));
    let mut count = 0;
    let mut size = 0;
    for (k, v) in meta {
        let Some(name) = k.strip_prefix(&prefix) else {
            continue;
        };
        if name.is_empty() {
            return Err(SwiftError::bad("metadata name cannot be empty"));
        }
        if name.len() > l.max_meta_name_length {
            return Err(SwiftError::bad(format!(
                "metadata name too long; max {}",
                l.max_meta_name_length
            )));
        }
        let len = value_bytes(v).len();
        if len > l.max_meta_value_length {
            return Err(SwiftError::bad(format!(
                "metadata value longer than {}",
                l.max_meta_value_length
            )));
        }
        count += 1;
        size += name.len() + len;
    }
    if count > l.max_meta_count {
        return Err(SwiftError::bad(format!(
            "too many metadata items; max {}",
            l.max_meta_count
        )));
    }
    if size > l.max_meta_overall_size {
        return Err(SwiftError::bad(format!(
            "total metadata too large; max {}",
            l.max_meta_overall_size
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Limits;

    fn store(dir: &Path, overflow: XattrOverflow) -> MetaStore {
        let idx = Arc::new(Index::open(&dir.join("i.db")).expect("index"));
        MetaStore::new(idx, overflow)
    }

    fn big_meta() -> Meta {
        let mut m = Meta::new();
        for i in 0..16 {
            m.insert(format!("X-Object-Meta-K{i:02}"), "v".repeat(250));
        }
        m.insert(keys::ETAG.into(), "d41d8cd98f00b204e9800998ecf8427e".into());
        m
    }

    /// On a filesystem with room (tmpfs), even large metadata stays in xattrs; chunks shrink
    /// back when the metadata does.
    #[test]
    fn roundtrip_in_xattrs_on_tmpfs() {
        let Ok(dir) = tempfile::tempdir_in("/dev/shm") else {
            return;
        };
        let s = store(dir.path(), XattrOverflow::Reject);
        let f = dir.path().join("obj");
        std::fs::write(&f, b"x").expect("write");
        let mut m = big_meta();
        m.insert("X-Object-Meta-Huge".into(), "h".repeat(70_000));
        s.write_path(&f, "o/a/c/obj", &m).expect("fits in chunks");
        assert!(xattr::get(&f, "user.swift.metadata1")
            .expect("get")
            .is_some());
        assert_eq!(s.read(&f, "o/a/c/obj").expect("read"), Some(m));
        let small = Meta::from([("ETag".to_string(), "x".to_string())]);
        s.write_path(&f, "o/a/c/obj", &small).expect("write small");
        assert!(xattr::get(&f, "user.swift.metadata1")
            .expect("get")
            .is_none());
        assert_eq!(s.read(&f, "o/a/c/obj").expect("read"), Some(small));
    }

    /// On ext4 (a 4 KB xattr block), 4 KB of user metadata overflows: side store or 507.
    #[test]
    fn overflow_on_small_xattr_room() {
        let dir = tempfile::tempdir_in(env!("CARGO_MANIFEST_DIR")).expect("tempdir");
        let f = dir.path().join("obj");
        std::fs::write(&f, b"x").expect("write");
        let m = big_meta();
        let roomy = xattr::set(&f, "user.probe", &vec![b'p'; 5000]).is_ok();
        let _ = xattr::remove(&f, "user.probe");
        if roomy {
            eprintln!(
                "{} has roomy xattrs; overflow not exercised here",
                dir.path().display()
            );
            return;
        }
        let rej = store(dir.path(), XattrOverflow::Reject);
        let err = rej.write_path(&f, "o/a/c/obj", &m).expect_err("no room");
        assert_eq!(err.status(), http::StatusCode::INSUFFICIENT_STORAGE);
        let side = store(dir.path(), XattrOverflow::SideStore);
        side.write_path(&f, "o/a/c/obj", &m).expect("side store");
        assert!(xattr::get(&f, XATTR_NAME).expect("get").is_none());
        assert_eq!(side.read(&f, "o/a/c/obj").expect("read"), Some(m));
        // Smaller metadata goes back to xattrs and the side entry is dropped.
        let small = Meta::from([("ETag".to_string(), "x".to_string())]);
        side.write_path(&f, "o/a/c/obj", &small).expect("small");
        assert!(xattr::get(&f, XATTR_NAME).expect("get").is_some());
        assert_eq!(side.read(&f, "o/a/c/obj").expect("read"), Some(small));
    }

    #[test]
    fn parses_meta_headers_and_limits() {
        let mut h = http::HeaderMap::new();
        h.insert("x-object-meta-color", "red".parse().expect("hv"));
        h.insert("x-object-meta-gone", "".parse().expect("hv"));
        h.insert("x-remove-object-meta-old", "x".parse().expect("hv"));
        let (set, rm) = headers_to_meta(&h, "object").expect("ok");
        assert_eq!(
            set.get("X-Object-Meta-Color").map(String::as_str),
            Some("red")
        );
        assert_eq!(rm, ["X-Object-Meta-Gone", "X-Object-Meta-Old"]);
        let l = Limits::default();
        assert!(check_limits(&set, "object", &l).is_ok());
        let mut m = Meta::new();
        m.insert(format!("X-Object-Meta-{}", "n".repeat(129)), "v".into());
        assert!(check_limits(&m, "object", &l).is_err());
        let mut m = Meta::new();
        m.insert("X-Object-Meta-N".into(), "v".repeat(257));
        assert!(check_limits(&m, "object", &l).is_err());
        let mut m = Meta::new();
        for i in 0..91 {
            m.insert(format!("X-Object-Meta-N{i}"), "v".into());
        }
        assert!(check_limits(&m, "object", &l).is_err());
        assert_eq!(title("content-TYPE"), "Content-Type");
    }

    /// Swift keeps an object's metadata bytes that are not UTF-8 (its suite cuts UTF-8
    /// values mid-character) and refuses them for accounts and containers.
    #[test]
    fn object_metadata_keeps_bytes_that_are_not_utf8() {
        let cut = &"caf\u{e9}".as_bytes()[..4];
        let mut h = http::HeaderMap::new();
        h.insert(
            "x-object-meta-cut",
            http::HeaderValue::from_bytes(cut).expect("hv"),
        );
        let (set, _) = headers_to_meta(&h, "object").expect("object: kept");
        let stored = &set["X-Object-Meta-Cut"];
        assert_eq!(value_bytes(stored).as_ref(), cut);
        let json = serde_json::to_string(&set).expect("json");
        let back: Meta = serde_json::from_str(&json).expect("back");
        assert_eq!(value_bytes(&back["X-Object-Meta-Cut"]).as_ref(), cut);
        for kind in ["container", "account"] {
            let mut h = http::HeaderMap::new();
            let name = format!("x-{kind}-meta-cut");
            let v = http::HeaderValue::from_bytes(cut).expect("hv");
            h.insert(
                http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                v,
            );
            assert!(headers_to_meta(&h, kind).is_err(), "{kind}");
        }
        // UTF-8 text is stored as it is; limits count the bytes sent.
        assert_eq!(value_from_bytes("caf\u{e9}".as_bytes()), "caf\u{e9}");
        assert_eq!(value_bytes("caf\u{e9}").len(), 5);
        let mut m = Meta::new();
        m.insert("X-Object-Meta-N".into(), value_from_bytes(&[0xff; 256]));
        assert!(check_limits(&m, "object", &Limits::default()).is_ok());
        m.insert("X-Object-Meta-N".into(), value_from_bytes(&[0xff; 257]));
        assert!(check_limits(&m, "object", &Limits::default()).is_err());
    }
}
