// SPDX-License-Identifier: Apache-2.0
//! The listing index: listings come from it (not the tree), and on start it is reconciled
//! with the tree (files added, changed or removed while the gateway was down).

use md5::{Digest, Md5};
use serde_json::Value;

use crate::common::Gw;

fn list(gw: &Gw, t: &str, path: &str) -> Vec<Value> {
    let r = gw.req("GET", path, &[("X-Auth-Token", t)], b"");
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    serde_json::from_slice::<Vec<Value>>(&r.body).expect("json listing")
}

fn names(v: &[Value]) -> Vec<String> {
    v.iter()
        .map(|o| {
            o.get("name")
                .or(o.get("subdir"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        })
        .collect()
}

fn md5hex(b: &[u8]) -> String {
    hex::encode(Md5::digest(b))
}

#[test]
fn restart_reconciles_files_changed_while_down_and_hides_temp_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut gw = Gw::start(dir.path(), &[]);
    let t = gw.token("test:tester", "testing");
    let auth = [("X-Auth-Token", t.as_str())];
    assert_eq!(gw.req("PUT", "/v1/AUTH_test/c", &auth, b"").status, 201);
    for n in ["keep", "change", "gone"] {
        assert_eq!(
            gw.req("PUT", &format!("/v1/AUTH_test/c/{n}"), &auth, n.as_bytes())
                .status,
            201
        );
    }
    // While running, a file written behind the gateway's back is not listed: listings come
    // from the index, not from walking the tree.
    let c = dir.path().join("test/c");
    std::fs::write(c.join("sneaky"), b"s").expect("write");
    assert_eq!(
        names(&list(&gw, &t, "/v1/AUTH_test/c?format=json")),
        ["change", "gone", "keep"]
    );
    gw.kill9();

    std::fs::create_dir_all(c.join("hpc/run1")).expect("mkdir");
    std::fs::write(c.join("hpc/run1/out.dat"), b"job output").expect("write");
    std::fs::write(c.join("change"), b"changed by a job").expect("write");
    std::fs::remove_file(c.join("gone")).expect("rm");
    std::fs::write(c.join(".lk-tmp-00000000deadbeef"), b"partial").expect("temp");
    std::fs::create_dir_all(dir.path().join("test/posix")).expect("mkdir");
    std::fs::write(dir.path().join("test/posix/f"), b"f").expect("write");
    gw.restart();
    let t = gw.token("test:tester", "testing");
    let objs = list(&gw, &t, "/v1/AUTH_test/c?format=json");
    assert_eq!(
        names(&objs),
        ["change", "hpc/run1/out.dat", "keep", "sneaky"]
    );
    let change = &objs[0];
    assert_eq!(change["hash"], md5hex(b"changed by a job"));
    assert_eq!(change["bytes"], 16);
    assert_eq!(objs[1]["hash"], md5hex(b"job output"));
    let r = gw.req(
        "GET",
        "/v1/AUTH_test/c/hpc/run1/out.dat",
        &[("X-Auth-Token", &t)],
        b"",
    );
    assert_eq!(
        (r.status, r.body.as_slice()),
        (200, b"job output".as_slice())
    );
    assert_eq!(r.header("etag"), Some(md5hex(b"job output").as_str()));
    let r = gw.req("HEAD", "/v1/AUTH_test/c", &[("X-Auth-Token", &t)], b"");
    assert_eq!(r.header("x-container-object-count"), Some("4"));
    assert_eq!(
        r.header("x-container-bytes-used"),
        Some((16 + 10 + 4 + 1).to_string().as_str())
    );
    assert_eq!(
        names(&list(&gw, &t, "/v1/AUTH_test?format=json")),
        ["c", "posix"]
    );
    assert!(
        c.join(".lk-tmp-00000000deadbeef").exists(),
        "a recent temp file is left alone"
    );
}

#[test]
fn large_container_pages_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let c = dir.path().join("test/big");
    for d in 0..20 {
        std::fs::create_dir_all(c.join(format!("d{d:02}"))).expect("mkdir");
        for f in 0..100 {
            std::fs::write(c.join(format!("d{d:02}/f{f:03}")), b"").expect("write");
        }
    }
    let gw = Gw::start(dir.path(), &[]);
    let t = gw.token("test:tester", "testing");
    let mut all = Vec::new();
    let mut marker = String::new();
    loop {
        let page = list(
            &gw,
            &t,
            &format!("/v1/AUTH_test/big?format=json&limit=700&marker={marker}"),
        );
        if page.is_empty() {
            break;
        }
        all.extend(names(&page));
        marker = all.last().cloned().unwrap_or_default();
    }
    assert_eq!(all.len(), 2000);
    assert!(all.windows(2).all(|w| w[0] < w[1]), "sorted, no duplicates");
    let dirs = names(&list(&gw, &t, "/v1/AUTH_test/big?format=json&delimiter=/"));
    assert_eq!(dirs.len(), 20);
    assert_eq!(dirs[0], "d00/");
    let rev = names(&list(
        &gw,
        &t,
        "/v1/AUTH_test/big?format=json&reverse=true&limit=2&prefix=d05/",
    ));
    assert_eq!(rev, ["d05/f099", "d05/f098"]);
    let em = names(&list(
        &gw,
        &t,
        "/v1/AUTH_test/big?format=json&marker=d01/f098&end_marker=d02/f001",
    ));
    assert_eq!(em, ["d01/f099", "d02/f000"]);
}

/// Sets a path's modification time an hour back (older than the reconciler's stale limit).
fn age(path: &std::path::Path) {
    let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::File::open(path)
        .expect("open")
        .set_modified(hour_ago)
        .expect("set mtime");
}

#[test]
fn restart_removes_stale_temps_but_keeps_a_temp_dir_holding_an_only_copy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut gw = Gw::start(dir.path(), &[]);
    let t = gw.token("test:tester", "testing");
    let auth = [("X-Auth-Token", t.as_str())];
    assert_eq!(gw.req("PUT", "/v1/AUTH_test/c", &auth, b"").status, 201);
    assert_eq!(
        gw.req("PUT", "/v1/AUTH_test/c/obj", &auth, b"data").status,
        201
    );
    gw.kill9();

    // As a crash leaves them: a temp file, a conversion's temp directory holding a second
    // link of `obj`, and one whose `.lk-self` is the only link left of some object.
    let c = dir.path().join("test/c");
    let (file, spare, only) = (
        c.join(".lk-tmp-00000000000000f1"),
        c.join(".lk-tmp-00000000000000d1"),
        c.join(".lk-tmp-00000000000000d2"),
    );
    std::fs::write(&file, b"partial").expect("temp file");
    std::fs::create_dir(&spare).expect("mkdir");
    std::fs::hard_link(c.join("obj"), spare.join(".lk-self")).expect("link");
    std::fs::create_dir(&only).expect("mkdir");
    std::fs::write(only.join(".lk-self"), b"the only copy").expect("write");
    for p in [&file, &spare, &only] {
        age(p);
    }
    gw.restart();
    let t = gw.token("test:tester", "testing");
    assert!(!file.exists(), "a stale temp file goes");
    assert!(
        !spare.exists(),
        "a temp directory holding a second link goes"
    );
    assert_eq!(
        std::fs::read(only.join(".lk-self")).expect("kept"),
        b"the only copy"
    );
    let r = gw.req("GET", "/v1/AUTH_test/c/obj", &[("X-Auth-Token", &t)], b"");
    assert_eq!((r.status, r.body.as_slice()), (200, b"data".as_slice()));
    assert_eq!(
        names(&list(&gw, &t, "/v1/AUTH_test/c?format=json")),
        ["obj"]
    );
}
