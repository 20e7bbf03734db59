// SPDX-License-Identifier: Apache-2.0
//! Static large objects: the object's file holds its bytes (readable through POSIX) and
//! stays as written when segments change, while a GET then fails as Swift's does (409); a
//! corrupt stored manifest is a 500, and a manifest delete then removes nothing (reading it
//! as "no segments" would leak every segment).

use crate::common::Gw;

/// A gateway with containers `seg` (segments `s1` = "aaaa", `s2` = "bbbb") and `c`, the SLO
/// `c/big` of both, and an admin token.
fn with_slo() -> (tempfile::TempDir, Gw, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = Gw::start(dir.path(), &[]);
    let t = gw.token("test:tester", "testing");
    let auth = [("X-Auth-Token", t.as_str())];
    for path in ["/v1/AUTH_test/seg", "/v1/AUTH_test/c"] {
        assert_eq!(gw.req("PUT", path, &auth, b"").status, 201, "{path}");
    }
    for (name, data) in [("s1", b"aaaa"), ("s2", b"bbbb")] {
        let path = format!("/v1/AUTH_test/seg/{name}");
        assert_eq!(gw.req("PUT", &path, &auth, data).status, 201, "{path}");
    }
    let manifest = br#"[{"path": "/seg/s1"}, {"path": "/seg/s2"}]"#;
    let put = gw.req(
        "PUT",
        "/v1/AUTH_test/c/big?multipart-manifest=put",
        &auth,
        manifest,
    );
    assert_eq!(put.status, 201, "{}", put.text());
    (dir, gw, t)
}

#[test]
fn an_slo_keeps_its_bytes_in_the_tree_and_its_get_fails_as_swift_once_a_segment_changes() {
    let (dir, gw, t) = with_slo();
    let auth = [("X-Auth-Token", t.as_str())];
    let file = dir.path().join("test/c/big");
    assert_eq!(std::fs::read(&file).expect("the SLO's file"), b"aaaabbbb");

    // Nested: an SLO of a data segment, a range of the SLO above, and a plain segment.
    let nested = br#"[{"data": "eHg="}, {"path": "/c/big", "range": "2-5"}, {"path": "/seg/s1"}]"#;
    let put = gw.req(
        "PUT",
        "/v1/AUTH_test/c/nested?multipart-manifest=put",
        &auth,
        nested,
    );
    assert_eq!(put.status, 201, "{}", put.text());
    let nested_file = dir.path().join("test/c/nested");
    assert_eq!(std::fs::read(&nested_file).expect("file"), b"xxaabbaaaa");

    // A segment overwritten afterwards: the files keep the bytes they were written with,
    // but the API is Swift's, which reads the segments at every GET: a 409 before any byte
    // (Swift's GET fails on the changed ETag), while a HEAD answers from the manifest.
    assert_eq!(
        gw.req("PUT", "/v1/AUTH_test/seg/s1", &auth, b"zzzz").status,
        201
    );
    assert_eq!(std::fs::read(&file).expect("file"), b"aaaabbbb");
    assert_eq!(std::fs::read(&nested_file).expect("file"), b"xxaabbaaaa");
    for path in ["/v1/AUTH_test/c/big", "/v1/AUTH_test/c/nested"] {
        let got = gw.req("GET", path, &auth, b"");
        assert_eq!(got.status, 409, "{path}: {}", got.text());
        assert!(
            got.text().contains("There was a conflict"),
            "{}",
            got.text()
        );
        let head = gw.req("HEAD", path, &auth, b"");
        assert_eq!(head.status, 200, "{path}");
        assert_eq!(head.header("x-static-large-object"), Some("True"));
    }
    let ranged = gw.req(
        "GET",
        "/v1/AUTH_test/c/big",
        &[auth[0], ("Range", "bytes=3-4")],
        b"",
    );
    assert_eq!(ranged.status, 409);
    // The same bytes written back: the segment is what the manifest names again.
    assert_eq!(
        gw.req("PUT", "/v1/AUTH_test/seg/s1", &auth, b"aaaa").status,
        201
    );
    let got = gw.req("GET", "/v1/AUTH_test/c/big", &auth, b"");
    assert_eq!((got.status, got.text().as_str()), (200, "aaaabbbb"));
    let ranged = gw.req(
        "GET",
        "/v1/AUTH_test/c/big",
        &[auth[0], ("Range", "bytes=3-4")],
        b"",
    );
    assert_eq!((ranged.status, ranged.text().as_str()), (206, "ab"));

    // A segment deleted: the same (the sub-SLO's segment is gone too, for `nested`).
    assert_eq!(
        gw.req("DELETE", "/v1/AUTH_test/seg/s2", &auth, b"").status,
        204
    );
    assert_eq!(std::fs::read(&file).expect("file"), b"aaaabbbb");
    for path in ["/v1/AUTH_test/c/big", "/v1/AUTH_test/c/nested"] {
        assert_eq!(gw.req("GET", path, &auth, b"").status, 409, "{path}");
        assert_eq!(gw.req("HEAD", path, &auth, b"").status, 200, "{path}");
    }

    // The manifest is still what ?multipart-manifest=get returns, in Swift's stored form.
    let m = gw.req(
        "GET",
        "/v1/AUTH_test/c/big?multipart-manifest=get",
        &auth,
        b"",
    );
    assert_eq!(m.status, 200, "{}", m.text());
    let v: serde_json::Value = serde_json::from_str(&m.text()).expect("manifest json");
    let names: Vec<_> = v
        .as_array()
        .expect("list")
        .iter()
        .map(|s| s["name"].clone())
        .collect();
    assert_eq!(names, ["/seg/s1", "/seg/s2"], "{v}");

    // Replaced through POSIX, the file is a plain object.
    std::fs::write(&file, b"posix").expect("write through POSIX");
    let got = gw.req("GET", "/v1/AUTH_test/c/big", &auth, b"");
    assert_eq!((got.status, got.text().as_str()), (200, "posix"));
    assert_eq!(got.header("x-static-large-object"), None);
}

#[test]
fn an_slo_copied_as_a_manifest_and_deleted_with_its_segments() {
    let (dir, gw, t) = with_slo();
    let auth = [("X-Auth-Token", t.as_str())];
    let copy = gw.req(
        "COPY",
        "/v1/AUTH_test/c/big?multipart-manifest=get",
        &[auth[0], ("Destination", "c/copy")],
        b"",
    );
    assert_eq!(copy.status, 201, "{}", copy.text());
    assert_eq!(
        std::fs::read(dir.path().join("test/c/copy")).expect("file"),
        b"aaaabbbb"
    );
    let head = gw.req("HEAD", "/v1/AUTH_test/c/copy", &auth, b"");
    assert_eq!(head.header("x-static-large-object"), Some("True"));
    let del = gw.req(
        "DELETE",
        "/v1/AUTH_test/c/copy?multipart-manifest=delete",
        &auth,
        b"",
    );
    assert_eq!(del.status, 200, "{}", del.text());
    for name in ["seg/s1", "seg/s2", "c/copy"] {
        assert!(
            !dir.path().join("test").join(name).exists(),
            "{name} is left"
        );
    }
    // The original's file keeps its bytes without its segments; its GET is Swift's 409.
    assert_eq!(
        std::fs::read(dir.path().join("test/c/big")).expect("file"),
        b"aaaabbbb"
    );
    let got = gw.req("GET", "/v1/AUTH_test/c/big", &auth, b"");
    assert_eq!(got.status, 409, "{}", got.text());
}

#[test]
fn corrupt_manifest_is_a_500_and_its_delete_leaks_no_segment() {
    let (dir, gw, t) = with_slo();
    let auth = [("X-Auth-Token", t.as_str())];
    // Damage the stored manifest (in the file's metadata) behind the gateway's back; the
    // file's size and mtime are unchanged, so the gateway still trusts the metadata.
    let stored = dir.path().join("test/c/big");
    let raw = xattr::get(&stored, "user.swift.metadata")
        .expect("read xattr")
        .expect("the SLO's metadata is in an xattr");
    let mut meta: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&raw).expect("metadata json");
    assert!(meta.contains_key("X-Lk-Slo-Manifest"), "{meta:?}");
    meta.insert("X-Lk-Slo-Manifest".into(), "#####".into());
    let raw = serde_json::to_vec(&meta).expect("json");
    xattr::set(&stored, "user.swift.metadata", &raw).expect("write xattr");

    // A GET checks the segments the manifest names, so it fails too; a HEAD needs only
    // the recorded size and ETag, and the file keeps its bytes.
    let got = gw.req("GET", "/v1/AUTH_test/c/big", &auth, b"");
    assert_eq!(got.status, 500, "{}", got.text());
    assert!(!got.text().contains(dir.path().to_str().expect("utf-8")));
    assert_eq!(
        gw.req("HEAD", "/v1/AUTH_test/c/big", &auth, b"").status,
        200
    );
    assert_eq!(std::fs::read(&stored).expect("file"), b"aaaabbbb");
    let got = gw.req(
        "GET",
        "/v1/AUTH_test/c/big?multipart-manifest=get&format=raw",
        &auth,
        b"",
    );
    assert_eq!(got.status, 500, "{}", got.text());
    let del = gw.req(
        "DELETE",
        "/v1/AUTH_test/c/big?multipart-manifest=delete",
        &auth,
        b"",
    );
    assert_eq!(del.status, 500, "{}", del.text());
    for name in ["seg/s1", "seg/s2", "c/big"] {
        assert!(
            dir.path().join("test").join(name).exists(),
            "{name} was removed"
        );
    }
}

/// A gateway with container `c` holding the 3-byte object `s`, and an admin token.
fn with_segment() -> (tempfile::TempDir, Gw, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = Gw::start(dir.path(), &[]);
    let t = gw.token("test:tester", "testing");
    let auth = [("X-Auth-Token", t.as_str())];
    assert_eq!(gw.req("PUT", "/v1/AUTH_test/c", &auth, b"").status, 201);
    assert_eq!(
        gw.req("PUT", "/v1/AUTH_test/c/s", &auth, b"abc").status,
        201
    );
    (dir, gw, t)
}

/// `?heartbeat=on`: a 202 at once, whitespace, then `\r\n\r\n` and the outcome, as text or
/// JSON; a bad segment is reported in the body, and nothing is stored for it.
#[test]
fn heartbeat_manifest_put_reports_in_the_body() {
    let (_dir, gw, t) = with_segment();
    let auth = ("X-Auth-Token", t.as_str());
    let path = "/v1/AUTH_test/c/m?multipart-manifest=put&heartbeat=on";
    let ok = gw.req("PUT", path, &[auth], br#"[{"path": "/c/s"}]"#);
    assert_eq!(ok.status, 202, "{}", ok.text());
    let text = ok.text();
    let (beat, outcome) = text.split_once("\r\n\r\n").expect("separator");
    assert!(beat.chars().all(|c| c == ' '), "{beat:?}");
    assert!(
        outcome.contains("Response Status: 201 Created\n"),
        "{outcome}"
    );
    assert!(outcome.contains("Etag: \""), "{outcome}");
    assert_eq!(
        gw.req("GET", "/v1/AUTH_test/c/m", &[auth], b"").text(),
        "abc"
    );

    let json = [auth, ("Accept", "application/json")];
    let bad = gw.req(
        "PUT",
        "/v1/AUTH_test/c/n?multipart-manifest=put&heartbeat=on",
        &json,
        br#"[{"path": "/c/missing"}]"#,
    );
    assert_eq!(bad.status, 202);
    let text = bad.text();
    let (_, outcome) = text.split_once("\r\n\r\n").expect("separator");
    let v: serde_json::Value = serde_json::from_str(outcome).expect("json outcome");
    assert_eq!(v["Response Status"], "400 Bad Request", "{v}");
    assert_eq!(v["Errors"][0][0], "/c/missing", "{v}");
    assert_eq!(
        gw.req("HEAD", "/v1/AUTH_test/c/n", &[auth], b"").status,
        404
    );
}

/// A listed SLO has Swift's two ETags: `hash`, the MD5 of its manifest (what
/// `?multipart-manifest=get` answers), and `slo_etag`, its own (what a GET answers), in JSON
/// and XML; a plain object has no `slo_etag`.
#[test]
fn listings_give_an_slo_both_etags() {
    let (_dir, gw, t) = with_segment();
    let auth = ("X-Auth-Token", t.as_str());
    let put = gw.req(
        "PUT",
        "/v1/AUTH_test/c/m?multipart-manifest=put",
        &[auth],
        br#"[{"path": "/c/s"}]"#,
    );
    assert_eq!(put.status, 201, "{}", put.text());
    let slo_etag = put.header("etag").expect("etag").to_string();
    let manifest = gw.req(
        "GET",
        "/v1/AUTH_test/c/m?multipart-manifest=get",
        &[auth],
        b"",
    );
    let manifest_etag = manifest.header("etag").expect("etag").to_string();
    assert_ne!(manifest_etag.trim_matches('"'), slo_etag.trim_matches('"'));

    let listing = gw.req("GET", "/v1/AUTH_test/c?format=json", &[auth], b"");
    let v: serde_json::Value = serde_json::from_str(&listing.text()).expect("json");
    let m = v
        .as_array()
        .and_then(|a| a.iter().find(|o| o["name"] == "m"))
        .expect("m listed");
    assert_eq!(m["hash"], manifest_etag.trim_matches('"'), "{m}");
    assert_eq!(m["slo_etag"], slo_etag, "{m}");
    assert_eq!(m["bytes"], 3, "{m}");
    let s = v
        .as_array()
        .and_then(|a| a.iter().find(|o| o["name"] == "s"));
    assert!(s.is_some_and(|s| s.get("slo_etag").is_none()), "{v}");

    let xml = gw
        .req("GET", "/v1/AUTH_test/c?format=xml", &[auth], b"")
        .text();
    assert!(
        xml.contains(&format!("<hash>{}</hash>", manifest_etag.trim_matches('"')))
            && xml.contains("<slo_etag>&quot;"),
        "{xml}"
    );
}
