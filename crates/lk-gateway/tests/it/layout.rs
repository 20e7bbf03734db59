// SPDX-License-Identifier: Apache-2.0
//! The tree layout of names without a plain POSIX path (docs/gateway.md, Layout): an object
//! `d` beside objects `d/x` (`d/.lk-self`), empty components (`.lk-empty`), components over
//! 255 bytes (`.lk-long-<sha256>`), reserved `.lk-` names, and reconciliation reading them
//! back.

use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::common::Gw;

fn listing(gw: &Gw, t: &str, path: &str) -> Vec<String> {
    let r = gw.req("GET", path, &[("X-Auth-Token", t)], b"");
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    serde_json::from_slice::<Vec<Value>>(&r.body)
        .expect("json listing")
        .iter()
        .map(|o| {
            o.get("name")
                .or(o.get("subdir"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        })
        .collect()
}

fn put(gw: &Gw, t: &str, path: &str, body: &[u8]) {
    let r = gw.req("PUT", path, &[("X-Auth-Token", t)], body);
    assert_eq!(r.status, 201, "PUT {path}: {}", r.text());
}

fn get(gw: &Gw, t: &str, path: &str) -> (u16, Vec<u8>) {
    let r = gw.req("GET", path, &[("X-Auth-Token", t)], b"");
    (r.status, r.body.to_vec())
}

fn long_file(component: &str) -> String {
    format!(
        ".lk-long-{}",
        hex::encode(Sha256::digest(component.as_bytes()))
    )
}

#[test]
fn an_object_beside_objects_below_its_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = Gw::start(dir.path(), &[]);
    let t = gw.token("test:tester", "testing");
    let auth = [("X-Auth-Token", t.as_str())];
    let c = dir.path().join("test/c");
    put(&gw, &t, "/v1/AUTH_test/c", b"");
    put(&gw, &t, "/v1/AUTH_test/c/d", b"object d");
    assert!(c.join("d").is_file());
    // d/x arrives: d becomes a directory holding the object d as .lk-self.
    put(&gw, &t, "/v1/AUTH_test/c/d/x", b"object d/x");
    assert!(c.join("d").is_dir());
    assert_eq!(
        std::fs::read(c.join("d/.lk-self")).expect("read"),
        b"object d"
    );
    assert_eq!(
        get(&gw, &t, "/v1/AUTH_test/c/d"),
        (200, b"object d".to_vec())
    );
    assert_eq!(
        get(&gw, &t, "/v1/AUTH_test/c/d/x"),
        (200, b"object d/x".to_vec())
    );
    // An object e/y first, then e: e is written into the directory.
    put(&gw, &t, "/v1/AUTH_test/c/e/y", b"y");
    put(&gw, &t, "/v1/AUTH_test/c/e", b"object e");
    assert_eq!(
        std::fs::read(c.join("e/.lk-self")).expect("read"),
        b"object e"
    );
    // HEAD, POST, COPY and overwrite find it there.
    let meta = [
        ("X-Auth-Token", t.as_str()),
        ("X-Object-Meta-Color", "blue"),
    ];
    assert_eq!(gw.req("POST", "/v1/AUTH_test/c/d", &meta, b"").status, 202);
    let h = gw.req("HEAD", "/v1/AUTH_test/c/d", &auth, b"");
    assert_eq!(h.header("x-object-meta-color"), Some("blue"));
    let copy = [("X-Auth-Token", t.as_str()), ("Destination", "c/d/copy")];
    assert_eq!(gw.req("COPY", "/v1/AUTH_test/c/d", &copy, b"").status, 201);
    assert_eq!(get(&gw, &t, "/v1/AUTH_test/c/d/copy").1, b"object d");
    put(&gw, &t, "/v1/AUTH_test/c/d", b"d again");
    assert_eq!(get(&gw, &t, "/v1/AUTH_test/c/d").1, b"d again");
    assert_eq!(
        listing(&gw, &t, "/v1/AUTH_test/c?format=json"),
        ["d", "d/copy", "d/x", "e", "e/y"]
    );
    assert_eq!(
        listing(&gw, &t, "/v1/AUTH_test/c?format=json&delimiter=/"),
        ["d", "d/", "e", "e/"]
    );
    // Deleting d/x and d/copy leaves the directory (it holds d); deleting d prunes it.
    for o in ["d/x", "d/copy"] {
        let r = gw.req("DELETE", &format!("/v1/AUTH_test/c/{o}"), &auth, b"");
        assert_eq!(r.status, 204);
    }
    assert!(c.join("d/.lk-self").is_file());
    assert_eq!(get(&gw, &t, "/v1/AUTH_test/c/d").0, 200);
    assert_eq!(
        gw.req("DELETE", "/v1/AUTH_test/c/d", &auth, b"").status,
        204
    );
    assert!(!c.join("d").exists());
    assert_eq!(get(&gw, &t, "/v1/AUTH_test/c/d").0, 404);
    // A directory without .lk-self is no object.
    assert_eq!(get(&gw, &t, "/v1/AUTH_test/c/e/y").0, 200);
    assert_eq!(
        gw.req("DELETE", "/v1/AUTH_test/c/e", &auth, b"").status,
        204
    );
    assert_eq!(
        gw.req("DELETE", "/v1/AUTH_test/c/e", &auth, b"").status,
        404
    );
}

#[test]
fn empty_components_and_reserved_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = Gw::start(dir.path(), &[]);
    let t = gw.token("test:tester", "testing");
    let c = dir.path().join("test/c");
    put(&gw, &t, "/v1/AUTH_test/c", b"");
    for (name, file) in [
        ("dm/", "dm/.lk-empty"),
        ("/lead", ".lk-empty/lead"),
        ("/lead/bar", ".lk-empty/lead/bar"),
        ("a//b", "a/.lk-empty/b"),
        ("dm/x", "dm/x"),
    ] {
        put(&gw, &t, &format!("/v1/AUTH_test/c/{name}"), name.as_bytes());
        assert_eq!(std::fs::read(c.join(file)).expect(file), name.as_bytes());
        assert_eq!(
            get(&gw, &t, &format!("/v1/AUTH_test/c/{name}")),
            (200, name.as_bytes().to_vec())
        );
    }
    assert_eq!(
        listing(&gw, &t, "/v1/AUTH_test/c?format=json&delimiter=/"),
        ["/", "a/", "dm/"]
    );
    assert_eq!(
        listing(&gw, &t, "/v1/AUTH_test/c?format=json&prefix=dm/"),
        ["dm/", "dm/x"]
    );
    for bad in ["x/.lk-self", ".lk-empty", "a/.lk-long-00", ".lk-tmp-1"] {
        let r = gw.req(
            "PUT",
            &format!("/v1/AUTH_test/c/{bad}"),
            &[("X-Auth-Token", &t)],
            b"x",
        );
        assert_eq!(r.status, 400, "{bad}");
    }
}

#[test]
fn long_components_and_reconciliation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut gw = Gw::start(dir.path(), &[]);
    let t = gw.token("test:tester", "testing");
    let auth = [("X-Auth-Token", t.as_str())];
    let cont = "c".repeat(256);
    let long = "o".repeat(300);
    put(&gw, &t, &format!("/v1/AUTH_test/{cont}"), b"");
    let cdir = dir.path().join("test").join(long_file(&cont));
    assert!(cdir.is_dir());
    let name = format!("{long}/x");
    put(&gw, &t, &format!("/v1/AUTH_test/{cont}/{name}"), b"long");
    assert!(cdir.join(long_file(&long)).join("x").is_file());
    assert_eq!(
        get(&gw, &t, &format!("/v1/AUTH_test/{cont}/{name}")).1,
        b"long"
    );
    assert_eq!(
        listing(&gw, &t, "/v1/AUTH_test?format=json"),
        vec![cont.clone()]
    );
    // Names over Swift's limits are still refused.
    let too_long = "a".repeat(1025);
    let r = gw.req(
        "PUT",
        &format!("/v1/AUTH_test/{cont}/{too_long}"),
        &auth,
        b"x",
    );
    assert_eq!(r.status, 400);
    let r = gw.req(
        "PUT",
        &format!("/v1/AUTH_test/{}", "c".repeat(257)),
        &auth,
        b"",
    );
    assert_eq!(r.status, 400);
    gw.kill9();

    // Written through POSIX while down: read back through the same layout.
    let plain = dir.path().join("test/p");
    std::fs::create_dir_all(plain.join("d/.lk-empty")).expect("mkdir");
    std::fs::write(plain.join("d/.lk-self"), b"self").expect("write");
    std::fs::write(plain.join("d/.lk-empty/z"), b"z").expect("write");
    std::fs::write(cdir.join(long_file(&long)).join("y"), b"y").expect("write");
    std::fs::write(plain.join(long_file("unknown")), b"?").expect("write");
    std::fs::write(plain.join(".lk-other"), b"?").expect("write");
    gw.restart();
    let t = gw.token("test:tester", "testing");
    assert_eq!(
        listing(&gw, &t, &format!("/v1/AUTH_test/{cont}?format=json")),
        [name, format!("{long}/y")]
    );
    assert_eq!(
        listing(&gw, &t, "/v1/AUTH_test/p?format=json"),
        ["d", "d//z"]
    );
    assert_eq!(get(&gw, &t, "/v1/AUTH_test/p/d").1, b"self");
    assert!(Path::new(&plain.join("d/.lk-self")).is_file());
}
