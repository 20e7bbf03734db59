// SPDX-License-Identifier: Apache-2.0
//! Metadata in xattrs on a filesystem with little xattr room (ext4: one 4 KB block per
//! inode) and on one with plenty (tmpfs): side store (default) or 507; values that are not
//! UTF-8.

use std::path::Path;

use crate::common::Gw;

/// 16 x 250 bytes of user metadata: within Swift's 4096-byte limit, beyond ext4's xattr room
/// once system metadata is added.
fn big_meta() -> Vec<(String, String)> {
    (0..16)
        .map(|i| (format!("X-Object-Meta-K{i:02}"), "v".repeat(250)))
        .collect()
}

fn roomy(dir: &Path) -> bool {
    let f = dir.join("probe");
    std::fs::write(&f, b"").expect("probe");
    let ok = xattr::set(&f, "user.probe", &vec![b'p'; 6000]).is_ok();
    std::fs::remove_file(&f).expect("rm probe");
    ok
}

/// A temp dir on the build's filesystem (ext4 on these machines), not /tmp (tmpfs elsewhere).
fn small_room_dir() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir")
}

fn put_and_check(gw: &Gw, expect: u16) {
    let t = gw.token("test:tester", "testing");
    let auth = ("X-Auth-Token", t.as_str());
    assert_eq!(gw.req("PUT", "/v1/AUTH_test/c", &[auth], b"").status, 201);
    let meta = big_meta();
    let mut h: Vec<(&str, &str)> = meta.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    h.push(auth);
    let r = gw.req("PUT", "/v1/AUTH_test/c/o", &h, b"data");
    assert_eq!(r.status, expect, "{}", r.text());
    let r = gw.req("HEAD", "/v1/AUTH_test/c/o", &[auth], b"");
    if expect == 201 {
        for (k, v) in &meta {
            assert_eq!(r.header(&k.to_ascii_lowercase()), Some(v.as_str()), "{k}");
        }
        // A POST with the same metadata works the same way.
        let mut h: Vec<(&str, &str)> = meta.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        h.push(auth);
        h.push(("X-Object-Meta-Extra", "e"));
        assert_eq!(gw.req("POST", "/v1/AUTH_test/c/o", &h, b"").status, 202);
        let r = gw.req("HEAD", "/v1/AUTH_test/c/o", &[auth], b"");
        assert_eq!(r.header("x-object-meta-extra"), Some("e"));
    } else {
        assert_eq!(r.status, 404, "nothing left behind after a 507");
    }
}

#[test]
fn small_xattr_room_uses_the_side_store() {
    let dir = small_room_dir();
    assert!(
        !roomy(dir.path()),
        "expected a filesystem with ~4 KB of xattr room (ext4) for temp dirs"
    );
    let gw = Gw::start(dir.path(), &[]);
    put_and_check(&gw, 201);
    let f = dir.path().join("test/c/o");
    assert!(
        xattr::get(&f, "user.swift.metadata")
            .expect("getxattr")
            .is_none(),
        "metadata is in the side store"
    );
    assert_eq!(std::fs::read(&f).expect("plain file"), b"data");
}

#[test]
fn small_xattr_room_can_refuse_with_507() {
    let dir = small_room_dir();
    assert!(!roomy(dir.path()));
    let gw = Gw::start(dir.path(), &["--xattr-overflow", "reject"]);
    put_and_check(&gw, 507);
    assert!(!dir.path().join("test/c/o").exists());
}

#[test]
fn roomy_xattrs_keep_everything_in_xattrs() {
    let dir = tempfile::tempdir_in("/dev/shm").expect("tmpfs tempdir");
    assert!(
        roomy(dir.path()),
        "tmpfs with user xattrs expected at /dev/shm"
    );
    let gw = Gw::start(dir.path(), &["--xattr-overflow", "reject"]);
    put_and_check(&gw, 201);
    let raw = xattr::get(dir.path().join("test/c/o"), "user.swift.metadata")
        .expect("get")
        .expect("xattr");
    let meta: serde_json::Value = serde_json::from_slice(&raw).expect("json");
    assert_eq!(meta["ETag"], "8d777f385d3dfec8815d20f7496026dc");
    assert_eq!(meta["X-Object-Meta-Extra"], "e");
}

/// One request with raw header bytes; the raw response head (each line ending in CRLF).
fn raw_head(addr: &str, head: &[u8]) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.write_all(head).expect("write");
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len());
    raw.truncate(end);
    raw
}

/// An object's metadata value that is not UTF-8 (a UTF-8 value cut mid-character, as Swift's
/// suite sends) comes back with the same bytes, through PUT and POST; a container's is
/// refused with Swift's 400.
#[test]
fn object_metadata_bytes_that_are_not_utf8_round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = Gw::start(dir.path(), &[]);
    let t = gw.token("test:tester", "testing");
    let auth = ("X-Auth-Token", t.as_str());
    assert_eq!(gw.req("PUT", "/v1/AUTH_test/c", &[auth], b"").status, 201);
    let send = |method: &str, path: &str, header: &[u8]| {
        let mut h = format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Auth-Token: {t}\r\n\
             Content-Length: 0\r\n"
        )
        .into_bytes();
        h.extend_from_slice(header);
        h.extend_from_slice(b"\r\n\r\n");
        raw_head(&gw.addr, &h)
    };
    let status = |head: &[u8]| String::from_utf8_lossy(&head[9..12]).into_owned();
    let put = send("PUT", "/v1/AUTH_test/c/o", b"X-Object-Meta-Cut: caf\xc3");
    assert_eq!(status(&put), "201");
    let head = send("HEAD", "/v1/AUTH_test/c/o", b"X-Object-Meta-Other: x");
    assert!(
        head.windows(8).any(|w| w == b": caf\xc3\r\n"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    let post = send("POST", "/v1/AUTH_test/c/o", b"X-Object-Meta-Two: \xff\xfe");
    assert_eq!(status(&post), "202");
    let head = send("HEAD", "/v1/AUTH_test/c/o", b"X-Object-Meta-Other: x");
    assert!(head.windows(6).any(|w| w == b": \xff\xfe\r\n"));
    assert!(
        !head.windows(4).any(|w| w == b"caf\xc3"),
        "POST replaced it"
    );
    let c = send("POST", "/v1/AUTH_test/c", b"X-Container-Meta-Cut: caf\xc3");
    assert_eq!(status(&c), "400");
}
