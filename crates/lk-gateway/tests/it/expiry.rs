// SPDX-License-Identifier: Apache-2.0
//! Object expiry (issue 14: `X-Delete-At` / `X-Delete-After` used to be silently ignored):
//! Swift's header rules, 404 and out of listings once due, removed by the expirer.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::common::Gw;

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

#[test]
fn bad_expiry_headers_are_400_and_store_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = Gw::start(dir.path(), &[]);
    let t = gw.token("test:tester", "testing");
    let auth = ("X-Auth-Token", t.as_str());
    assert_eq!(gw.req("PUT", "/v1/AUTH_test/c", &[auth], b"").status, 201);
    let past = (now() - 10).to_string();
    for (h, v, msg) in [
        ("X-Delete-At", past.as_str(), "X-Delete-At in past"),
        ("X-Delete-At", "tomorrow", "Non-integer X-Delete-At"),
        ("X-Delete-At", "1.5", "Non-integer X-Delete-At"),
        ("X-Delete-After", "0", "X-Delete-After in past"),
        ("X-Delete-After", "-3", "X-Delete-After in past"),
        ("X-Delete-After", "1.5", "Non-integer X-Delete-After"),
    ] {
        let r = gw.req("PUT", "/v1/AUTH_test/c/o", &[auth, (h, v)], b"data");
        assert_eq!(r.status, 400, "{h}: {v}");
        assert!(r.text().contains(msg), "{h}: {v}: {}", r.text());
    }
    assert_eq!(gw.req("GET", "/v1/AUTH_test/c/o", &[auth], b"").status, 404);
    assert_eq!(
        gw.req("PUT", "/v1/AUTH_test/c/o", &[auth], b"data").status,
        201
    );
    let r = gw.req(
        "POST",
        "/v1/AUTH_test/c/o",
        &[auth, ("X-Delete-After", "x")],
        b"",
    );
    assert_eq!(r.status, 400);
}

#[test]
fn expired_objects_are_404_unlisted_and_removed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = Gw::start(dir.path(), &[]);
    let t = gw.token("test:tester", "testing");
    let auth = ("X-Auth-Token", t.as_str());
    let put = |name: &str, h: &[(&str, &str)]| {
        let mut all = vec![auth];
        all.extend_from_slice(h);
        let r = gw.req(
            "PUT",
            &format!("/v1/AUTH_test/c/{name}"),
            &all,
            name.as_bytes(),
        );
        assert_eq!(r.status, 201, "{name}: {}", r.text());
    };
    assert_eq!(gw.req("PUT", "/v1/AUTH_test/c", &[auth], b"").status, 201);
    // Three seconds of margin for the checks before expiry, even on a loaded machine.
    let due = now() + 3;
    let at = due.to_string();
    put("after", &[("X-Delete-After", "3")]);
    put("at", &[("X-Delete-At", &at)]);
    put("later", &[("X-Delete-After", "3600")]);
    put("plain", &[]);
    put("posted", &[]);
    put("cleared", &[("X-Delete-After", "3")]);
    let post = |name: &str, h: &[(&str, &str)]| {
        let mut all = vec![auth];
        all.extend_from_slice(h);
        let r = gw.req("POST", &format!("/v1/AUTH_test/c/{name}"), &all, b"");
        assert_eq!(r.status, 202, "{name}");
    };
    post("posted", &[("X-Delete-At", &at)]);
    post("cleared", &[]); // a POST replaces the metadata: no more expiry
    let copy = gw.req(
        "COPY",
        "/v1/AUTH_test/c/after",
        &[auth, ("Destination", "c/copy")],
        b"",
    );
    assert_eq!(copy.status, 201, "a copy does not inherit the expiry");
    let head = gw.req("HEAD", "/v1/AUTH_test/c/at", &[auth], b"");
    assert_eq!(head.header("x-delete-at"), Some(at.as_str()));
    let listed = gw.req("GET", "/v1/AUTH_test/c", &[auth], b"").text();
    assert_eq!(listed, "after\nat\ncleared\ncopy\nlater\nplain\nposted\n");

    assert!(now() < due, "the checks before expiry took over 3 s");
    while now() < due + 1 {
        std::thread::sleep(Duration::from_millis(100));
    }
    for name in ["after", "at", "posted"] {
        let p = format!("/v1/AUTH_test/c/{name}");
        for m in ["GET", "HEAD", "POST"] {
            assert_eq!(gw.req(m, &p, &[auth], b"").status, 404, "{m} {name}");
        }
        let copy = gw.req("COPY", &p, &[auth, ("Destination", "c/x")], b"");
        assert_eq!(copy.status, 404, "COPY {name}");
    }
    for name in ["cleared", "copy", "later", "plain"] {
        let got = gw.req("GET", &format!("/v1/AUTH_test/c/{name}"), &[auth], b"");
        assert_eq!(got.status, 200, "{name}");
    }
    let listed = gw.req("GET", "/v1/AUTH_test/c", &[auth], b"").text();
    assert_eq!(listed, "cleared\ncopy\nlater\nplain\n");
    assert_eq!(
        gw.req("DELETE", "/v1/AUTH_test/c/at", &[auth], b"").status,
        404
    );

    // The expirer removes the files and the container counts follow.
    let start = Instant::now();
    let cdir = dir.path().join("test/c");
    while ["after", "at", "posted"]
        .iter()
        .any(|n| cdir.join(n).exists())
    {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "expired files removed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let head = gw.req("HEAD", "/v1/AUTH_test/c", &[auth], b"");
    assert_eq!(head.header("x-container-object-count"), Some("4"));
}
