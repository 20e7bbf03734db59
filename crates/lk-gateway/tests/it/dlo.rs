// SPDX-License-Identifier: Apache-2.0
//! DLOs as files (issue 14): the file of a DLO manifest (empty own bytes) comes to hold its
//! segments' bytes and follows them when they change, while the API answers as Swift does;
//! a manifest with its own bytes keeps them; a POST ending the DLO empties the file; a POSIX
//! rewrite makes a plain object; reading still needs the caller's rights.

use std::ops::Deref;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::{Cluster, Resp};

const EMPTY_MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";

/// Waits (bounded) until `file` holds `want`; panics with what it holds otherwise.
fn wait_for_file(file: &Path, want: &[u8]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = std::fs::read(file).unwrap_or_default();
        if got == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} holds {:?}, not {:?}",
            file.display(),
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(want)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The shared cluster plus the segments and this module's helpers.
struct Setup(Cluster);

impl Deref for Setup {
    type Target = Cluster;
    fn deref(&self) -> &Cluster {
        &self.0
    }
}

impl Setup {
    /// Containers `seg` (segments p1 = "aaa", p2 = "bb") and `c`.
    fn new() -> Setup {
        let s = Setup(Cluster::start());
        for p in ["/v1/AUTH_test/seg", "/v1/AUTH_test/c"] {
            assert_eq!(s.req("PUT", p, &[], b"").status, 201, "{p}");
        }
        s.put("seg/p1", b"aaa");
        s.put("seg/p2", b"bb");
        s
    }

    fn put(&self, name: &str, data: &[u8]) {
        let r = self.req("PUT", &format!("/v1/AUTH_test/{name}"), &[], data);
        assert_eq!(r.status, 201, "PUT {name}: {}", r.text());
    }

    fn get(&self, name: &str) -> Resp {
        self.req("GET", &format!("/v1/AUTH_test/{name}"), &[], b"")
    }

    fn file(&self, name: &str) -> std::path::PathBuf {
        self.gw.root.join("test").join(name)
    }
}

#[test]
fn a_dlo_file_holds_its_segments_and_follows_them() {
    let s = Setup::new();
    let r = s.req(
        "PUT",
        "/v1/AUTH_test/c/big",
        &[("X-Object-Manifest", "seg/p")],
        b"",
    );
    assert_eq!(r.status, 201);
    wait_for_file(&s.file("c/big"), b"aaabb");

    // Through the API it is the DLO Swift serves; the manifest itself is still empty.
    let got = s.get("c/big");
    assert_eq!((got.status, got.text().as_str()), (200, "aaabb"));
    assert_eq!(got.header("x-object-manifest"), Some("seg/p"));
    let dlo_etag = got.header("etag").expect("etag").to_string();
    assert!(
        dlo_etag.starts_with('"'),
        "a DLO's ETag is quoted: {dlo_etag}"
    );
    let ranged = s.req("GET", "/v1/AUTH_test/c/big", &[("Range", "bytes=2-3")], b"");
    assert_eq!((ranged.status, ranged.text().as_str()), (206, "ab"));
    let raw = s.get("c/big?multipart-manifest=get");
    assert_eq!((raw.status, raw.text().as_str()), (200, ""));
    assert_eq!(raw.header("etag"), Some(EMPTY_MD5));
    let listing = s.get("c?format=json").text();
    assert!(
        listing.contains(r#""bytes":0"#) && listing.contains(EMPTY_MD5),
        "listed as Swift lists a DLO (its manifest's size and MD5): {listing}"
    );

    // Segments overwritten, added and removed: the file follows.
    s.put("seg/p1", b"xyz");
    wait_for_file(&s.file("c/big"), b"xyzbb");
    s.put("seg/p3", b"ccc");
    wait_for_file(&s.file("c/big"), b"xyzbbccc");
    assert_eq!(
        s.req("DELETE", "/v1/AUTH_test/seg/p2", &[], b"").status,
        204
    );
    wait_for_file(&s.file("c/big"), b"xyzccc");
    assert_eq!(s.get("c/big").text(), "xyzccc");
    // Outside the prefix: no change.
    s.put("seg/q1", b"qqq");

    // Copied as a manifest: the copy is a DLO of the same segments, its file too.
    let r = s.req(
        "COPY",
        "/v1/AUTH_test/c/big?multipart-manifest=get",
        &[("Destination", "c/big2")],
        b"",
    );
    assert_eq!(r.status, 201, "{}", r.text());
    wait_for_file(&s.file("c/big2"), b"xyzccc");
    assert_eq!(s.get("c/big2").header("x-object-manifest"), Some("seg/p"));

    // A POST without X-Object-Manifest ends the DLO: the object is its own (empty) bytes.
    assert_eq!(s.req("POST", "/v1/AUTH_test/c/big", &[], b"").status, 202);
    let got = s.get("c/big");
    assert_eq!((got.status, got.text().as_str()), (200, ""));
    assert_eq!(got.header("x-object-manifest"), None);
    assert_eq!(std::fs::read(s.file("c/big")).expect("file"), b"");
    // It is no longer refreshed.
    s.put("seg/p4", b"dd");
    wait_for_file(&s.file("c/big2"), b"xyzcccdd");
    assert_eq!(std::fs::read(s.file("c/big")).expect("file"), b"");

    // Rewritten through POSIX: a plain object with those bytes.
    std::fs::write(s.file("c/big2"), b"posix").expect("write");
    let got = s.get("c/big2");
    assert_eq!((got.status, got.text().as_str()), (200, "posix"));
    assert_eq!(got.header("x-object-manifest"), None);
}

#[test]
fn a_manifest_with_its_own_bytes_keeps_them_and_rights_still_apply() {
    let s = Setup::new();
    let r = s.req(
        "PUT",
        "/v1/AUTH_test/c/own",
        &[("X-Object-Manifest", "seg/p")],
        b"own",
    );
    assert_eq!(r.status, 201);
    let r = s.req(
        "PUT",
        "/v1/AUTH_test/c/big",
        &[("X-Object-Manifest", "seg/p")],
        b"",
    );
    assert_eq!(r.status, 201);
    wait_for_file(&s.file("c/big"), b"aaabb");
    // A later segment change refreshes `big` again; `own` still holds its own bytes.
    s.put("seg/p3", b"c");
    wait_for_file(&s.file("c/big"), b"aaabbc");
    assert_eq!(std::fs::read(s.file("c/own")).expect("file"), b"own");
    assert_eq!(s.get("c/own").text(), "aaabbc");
    assert_eq!(s.get("c/own?multipart-manifest=get").text(), "own");

    // A reader of `c` who may not list `seg` is refused the DLO, whose file holds the bytes.
    let acl = [("X-Container-Read", "test:reader")];
    assert_eq!(s.req("POST", "/v1/AUTH_test/c", &acl, b"").status, 204);
    let reader = s.reader.clone();
    let r = s.gw.req(
        "GET",
        "/v1/AUTH_test/c/big",
        &[("X-Auth-Token", &reader)],
        b"",
    );
    assert_eq!(r.status, 403, "{}", r.text());
    let r = s.gw.req(
        "GET",
        "/v1/AUTH_test/c/big?multipart-manifest=get",
        &[("X-Auth-Token", &reader)],
        b"",
    );
    assert_eq!(
        (r.status, r.text().as_str()),
        (200, ""),
        "the manifest only"
    );
}
