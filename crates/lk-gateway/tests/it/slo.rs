// SPDX-License-Identifier: Apache-2.0
//! Static large objects whose stored manifest is corrupt: refused with a 500, and a manifest
//! delete removes nothing (reading it as "no segments" would leak every segment).

use crate::common::Gw;

#[test]
fn corrupt_manifest_is_a_500_and_its_delete_leaks_no_segment() {
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
    let got = gw.req("GET", "/v1/AUTH_test/c/big", &auth, b"");
    assert_eq!((got.status, got.text().as_str()), (200, "aaaabbbb"));

    // Damage the stored manifest behind the gateway's back, keeping its size and mtime so the
    // gateway still trusts the stored metadata (an SLO) and only the segment list is bad.
    let stored = dir.path().join("test/c/big");
    let md = std::fs::metadata(&stored).expect("manifest file");
    std::fs::write(&stored, vec![b'#'; md.len() as usize]).expect("corrupt the manifest");
    let f = std::fs::File::options()
        .write(true)
        .open(&stored)
        .expect("reopen the manifest");
    f.set_modified(md.modified().expect("mtime"))
        .expect("restore the mtime");

    let got = gw.req("GET", "/v1/AUTH_test/c/big", &auth, b"");
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
