// SPDX-License-Identifier: Apache-2.0
//! Object versioning (`X-Versions-Enabled`): versions kept on overwrite and delete, read and
//! removed by `?version-id`, listed by `?versions`, restored; the container cannot go while
//! versions remain; the layout in the tree; and who may do what.

use std::ops::Deref;

use crate::common::{chunked, Cluster};

/// The shared cluster plus the versioned container [`C`] and this module's helpers.
struct Setup(Cluster);

impl Deref for Setup {
    type Target = Cluster;
    fn deref(&self) -> &Cluster {
        &self.0
    }
}

const C: &str = "/v1/AUTH_test/vers";

impl Setup {
    fn new() -> Setup {
        let s = Setup(Cluster::start());
        let r = s.req("PUT", C, &[("X-Versions-Enabled", "true")], b"");
        assert_eq!(r.status, 201, "{}", r.text());
        s
    }

    fn put(&self, name: &str, body: &[u8]) -> String {
        let r = self.req("PUT", &format!("{C}/{name}"), &[], body);
        assert_eq!(r.status, 201, "{}", r.text());
        r.header("x-object-version-id")
            .expect("version id")
            .to_string()
    }

    fn versions(&self) -> Vec<serde_json::Value> {
        let r = self.req("GET", &format!("{C}?versions&format=json"), &[], b"");
        assert_eq!(r.status, 200, "{}", r.text());
        serde_json::from_slice(&r.body).expect("json")
    }
}

#[test]
fn versions_are_kept_listed_read_and_removed() {
    let s = Setup::new();
    let head = s.req("HEAD", C, &[], b"");
    assert_eq!(head.header("x-versions-enabled"), Some("True"));
    let v1 = s.put("o", b"one");
    let v2 = s.put("o", b"two!");
    assert!(v2 < v1, "newer ids sort first: {v1} {v2}");
    let cur = s.req("GET", &format!("{C}/o"), &[], b"");
    assert_eq!((cur.status, cur.text().as_str()), (200, "two!"));
    assert_eq!(cur.header("x-object-version-id"), Some(v2.as_str()));
    assert_eq!(
        cur.header("content-location"),
        Some(format!("/v1/AUTH_test/vers/o?version-id={v2}").as_str())
    );
    let old = s.req("GET", &format!("{C}/o?version-id={v1}"), &[], b"");
    assert_eq!((old.status, old.text().as_str()), (200, "one"));
    // The current version stays the plain file; the old one lives under .lk-versions.
    assert_eq!(
        std::fs::read(s.gw.root.join("test/vers/o")).unwrap(),
        b"two!"
    );
    let kept =
        s.gw.root
            .join(format!("test/.lk-versions/vers/o/.lk-v/{v1}"));
    assert_eq!(std::fs::read(kept).unwrap(), b"one");
    // Bytes count every version; the object count only current objects.
    let head = s.req("HEAD", C, &[], b"");
    assert_eq!(head.header("x-container-bytes-used"), Some("7"));
    assert_eq!(head.header("x-container-object-count"), Some("1"));

    let del = s.req("DELETE", &format!("{C}/o"), &[], b"");
    assert_eq!(del.status, 204);
    let marker = del.header("x-object-version-id").unwrap().to_string();
    assert_eq!(s.req("GET", &format!("{C}/o"), &[], b"").status, 404);
    let m = s.req("HEAD", &format!("{C}/o?version-id={marker}"), &[], b"");
    assert_eq!(m.status, 404);
    assert_eq!(
        m.header("content-type"),
        Some("application/x-deleted;swift_versions_deleted=1")
    );
    let listed = s.versions();
    let ids: Vec<(&str, bool)> = listed
        .iter()
        .map(|v| {
            (
                v["version_id"].as_str().unwrap(),
                v["is_latest"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ids,
        [
            (marker.as_str(), true),
            (v2.as_str(), false),
            (v1.as_str(), false)
        ]
    );
    // The container cannot go while versions remain.
    assert_eq!(s.req("DELETE", C, &[], b"").status, 409);
    for id in [&marker, &v2, &v1] {
        let r = s.req("DELETE", &format!("{C}/o?version-id={id}"), &[], b"");
        assert_eq!(r.status, 204, "{id}");
    }
    assert!(s.versions().is_empty());
    assert_eq!(s.req("DELETE", C, &[], b"").status, 204);
    assert!(!s.gw.root.join("test/.lk-versions/vers").exists());
}

#[test]
fn restore_suspend_and_null_versions() {
    let s = Setup::new();
    let v1 = s.put("o", b"one");
    let _v2 = s.put("o", b"two");
    let r = s.req("PUT", &format!("{C}/o?version-id={v1}"), &[], b"");
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(s.req("GET", &format!("{C}/o"), &[], b"").text(), "one");
    assert_eq!(s.versions().len(), 2);
    // Suspended: no version id, the null version is replaced, kept versions stay.
    let r = s.req("POST", C, &[("X-Versions-Enabled", "false")], b"");
    assert_eq!(r.status, 204);
    let r = s.req("PUT", &format!("{C}/o"), &[], b"null one");
    assert_eq!(r.status, 201);
    assert_eq!(r.header("x-object-version-id"), None);
    let r = s.req("PUT", &format!("{C}/o"), &[], b"null two");
    assert_eq!(r.status, 201);
    assert_eq!(s.versions().len(), 3);
    let r = s.req("GET", &format!("{C}/o?version-id=null"), &[], b"");
    assert_eq!((r.status, r.text().as_str()), (200, "null two"));
    // Bad requests.
    let bad = s.req("POST", &format!("{C}/o?version-id={v1}"), &[], b"");
    assert_eq!(bad.status, 400);
    let bad = s.req("GET", &format!("{C}/o?version-id=nope"), &[], b"");
    assert_eq!(bad.status, 400);
    let r = s.req("GET", &format!("{C}?versions&format=xml"), &[], b"");
    assert_eq!(r.status, 406);
    s.req("PUT", "/v1/AUTH_test/plain", &[], b"");
    let r = s.req(
        "GET",
        &format!("/v1/AUTH_test/plain/o?version-id={v1}"),
        &[],
        b"",
    );
    assert_eq!(r.status, 400);
}

/// `PUT ?version-id` must carry no body bytes however it is framed (a chunked one is read up
/// to its first byte, as Swift does): a zero length or an empty chunked body restores.
#[test]
fn a_restore_needs_a_zero_byte_body_however_framed() {
    let s = Setup::new();
    let v1 = s.put("o", b"one");
    let v2 = s.put("o", b"two");
    let restore = |v: &str, framing: (&str, &str), body: &[u8]| {
        s.req("PUT", &format!("{C}/o?version-id={v}"), &[framing], body)
    };
    let current = || s.req("GET", &format!("{C}/o"), &[], b"").text();
    let te = ("Transfer-Encoding", "chunked");
    for (framing, body) in [
        (("Content-Length", "5"), b"hello".to_vec()),
        (te, chunked(b"hello")),
    ] {
        let r = restore(&v1, framing, &body);
        assert_eq!(
            (r.status, r.text().as_str()),
            (400, "PUT version-id requests require a zero byte body"),
            "{framing:?}"
        );
        assert_eq!(current(), "two");
    }
    let r = restore(&v1, ("Content-Length", "0"), b"");
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(current(), "one");
    let r = restore(&v2, te, &chunked(b""));
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(current(), "two");
}

#[test]
fn versions_need_the_owner_and_stay_out_of_account_listings() {
    let s = Setup::new();
    let v1 = s.put("o", b"one");
    s.put("o", b"two");
    let r = s.req("POST", C, &[("X-Container-Read", "test:reader,other")], b"");
    assert_eq!(r.status, 204);
    // The current object with the read ACL, but a specific version only for the owner.
    assert_eq!(
        s.as_(&s.reader, "GET", &format!("{C}/o"), &[], b"").status,
        200
    );
    for token in [&s.reader, &s.other] {
        let p = format!("{C}/o?version-id={v1}");
        assert_eq!(s.as_(token, "GET", &p, &[], b"").status, 403);
        assert_eq!(s.as_(token, "DELETE", &p, &[], b"").status, 403);
        let copy = [("Destination", "vers/copied")];
        assert_eq!(s.as_(token, "COPY", &p, &copy, b"").status, 403);
        // Without write access no delete marker and no restore either.
        let cur = format!("{C}/o");
        assert_eq!(s.as_(token, "DELETE", &cur, &[], b"").status, 403);
        assert_eq!(s.as_(token, "PUT", &p, &[], b"").status, 403);
    }
    assert_eq!(s.req("GET", &format!("{C}/o"), &[], b"").text(), "two");
    assert_eq!(s.versions().len(), 2);
    // No token at all: 401.
    let r = s.gw.req("GET", &format!("{C}/o?version-id={v1}"), &[], b"");
    assert_eq!(r.status, 401);
    // The versions directory is never a container, and its name cannot be made one.
    let r = s.req("GET", "/v1/AUTH_test?format=json", &[], b"");
    let names: Vec<serde_json::Value> = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(names.len(), 1, "{names:?}");
    assert_eq!(
        s.req("PUT", "/v1/AUTH_test/.lk-versions", &[], b"").status,
        400
    );
    assert_eq!(
        s.req("PUT", &format!("{C}/a/.lk-v/x"), &[], b"x").status,
        400
    );
    // The owner copies an old version back as a new current one.
    let r = s.req(
        "COPY",
        &format!("{C}/o?version-id={v1}"),
        &[("Destination", "vers/o")],
        b"",
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert!(r.header("x-object-version-id").is_some());
    assert_eq!(s.req("GET", &format!("{C}/o"), &[], b"").text(), "one");
    assert_eq!(s.versions().len(), 3);
}

#[test]
fn an_expired_current_version_stays_listed() {
    let s = Setup::new();
    let r = s.req(
        "PUT",
        &format!("{C}/e"),
        &[("X-Delete-After", "1")],
        b"gone soon",
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.header("x-object-version-id").expect("id").to_string();
    let start = std::time::Instant::now();
    while s.req("HEAD", &format!("{C}/e"), &[], b"").status != 404 {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(5),
            "expired"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // Expired, whether or not the expirer has run yet (it keeps it as a version): the
    // version is listed, and readable by its id.
    let listed = s.versions();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["version_id"], id.as_str());
    let got = s.req("GET", &format!("{C}/e?version-id={id}"), &[], b"");
    assert_eq!((got.status, got.body.as_slice()), (200, &b"gone soon"[..]));
}

#[test]
fn a_kept_slo_version_deleted_with_its_segments() {
    let s = Setup::new();
    assert_eq!(s.req("PUT", "/v1/AUTH_test/segs", &[], b"").status, 201);
    assert_eq!(
        s.req("PUT", "/v1/AUTH_test/segs/a", &[], b"aaaa").status,
        201
    );
    let manifest = br#"[{"path": "/segs/a"}]"#;
    let put = s.req(
        "PUT",
        &format!("{C}/slo?multipart-manifest=put"),
        &[],
        manifest,
    );
    assert_eq!(put.status, 201, "{}", put.text());
    let v1 = put.header("x-object-version-id").expect("id").to_string();
    s.put("slo", b"plain now");

    // A reader may not; the owner deletes version v1 and its one segment.
    let path = format!("{C}/slo?multipart-manifest=delete&version-id={v1}");
    let accept = [("Accept", "application/json")];
    assert_eq!(s.as_(&s.reader, "DELETE", &path, &accept, b"").status, 403);
    let r = s.req("DELETE", &path, &accept, b"");
    assert_eq!(r.status, 200, "{}", r.text());
    let report: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
    assert_eq!(report["Response Status"], "200 OK", "{report}");
    assert_eq!(report["Number Deleted"], 2, "{report}");
    assert_eq!(report["Errors"], serde_json::json!([]), "{report}");
    assert_eq!(s.req("GET", "/v1/AUTH_test/segs/a", &[], b"").status, 404);
    let gone = s.req("GET", &format!("{C}/slo?version-id={v1}"), &[], b"");
    assert_eq!(gone.status, 404);
    // The current object is untouched.
    let cur = s.req("GET", &format!("{C}/slo"), &[], b"");
    assert_eq!((cur.status, cur.text().as_str()), (200, "plain now"));
    assert_eq!(s.versions().len(), 1, "{:?}", s.versions());
}
