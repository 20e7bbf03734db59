// SPDX-License-Identifier: Apache-2.0
//! Container quotas (`X-Container-Meta-Quota-Bytes` / `-Count`): Swift's 400 for values
//! that are not digits, 413 for a PUT past a quota, kept versions counted, and a quota set,
//! changed or removed taking effect at once (the gateway caches that a container has none).

use crate::common::Gw;

#[test]
fn quotas_bound_puts_and_take_effect_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = Gw::start(dir.path(), &[]);
    let t = gw.token("test:tester", "testing");
    let auth = ("X-Auth-Token", t.as_str());
    let c = "/v1/AUTH_test/q";
    assert_eq!(gw.req("PUT", c, &[auth], b"").status, 201);
    // Without a quota (and once this is cached), anything goes.
    assert_eq!(
        gw.req("PUT", &format!("{c}/a"), &[auth], b"0123456789ab")
            .status,
        201
    );
    assert_eq!(
        gw.req("DELETE", &format!("{c}/a"), &[auth], b"").status,
        204
    );

    for (h, text) in [
        ("X-Container-Meta-Quota-Bytes", "Invalid bytes quota."),
        ("X-Container-Meta-Quota-Count", "Invalid count quota."),
    ] {
        let r = gw.req("POST", c, &[auth, (h, "ten")], b"");
        assert_eq!((r.status, r.text().as_str()), (400, text));
        let r = gw.req("PUT", "/v1/AUTH_test/q2", &[auth, (h, "-1")], b"");
        assert_eq!(r.status, 400);
    }
    assert_eq!(gw.req("HEAD", "/v1/AUTH_test/q2", &[auth], b"").status, 404);
    // A PUT into a container that does not exist is still its 404.
    assert_eq!(
        gw.req("PUT", "/v1/AUTH_test/q2/o", &[auth], b"x").status,
        404
    );

    let quota = ("X-Container-Meta-Quota-Bytes", "10");
    assert_eq!(gw.req("POST", c, &[auth, quota], b"").status, 204);
    let head = gw.req("HEAD", c, &[auth], b"");
    assert_eq!(head.header("x-container-meta-quota-bytes"), Some("10"));
    let r = gw.req("PUT", &format!("{c}/o"), &[auth], b"01234567890");
    assert_eq!(
        (r.status, r.text().as_str()),
        (413, "Upload exceeds quota.")
    );
    assert_eq!(
        gw.req("PUT", &format!("{c}/o"), &[auth], b"0123456789")
            .status,
        201
    );
    assert_eq!(gw.req("PUT", &format!("{c}/p"), &[auth], b"x").status, 413);

    // A count quota; then both removed.
    let count = ("X-Container-Meta-Quota-Count", "1");
    let unbytes = ("X-Container-Meta-Quota-Bytes", "");
    assert_eq!(gw.req("POST", c, &[auth, count, unbytes], b"").status, 204);
    assert_eq!(gw.req("PUT", &format!("{c}/p"), &[auth], b"x").status, 413);
    let uncount = ("X-Remove-Container-Meta-Quota-Count", "x");
    assert_eq!(gw.req("POST", c, &[auth, uncount], b"").status, 204);
    assert_eq!(gw.req("PUT", &format!("{c}/p"), &[auth], b"x").status, 201);
}

#[test]
fn kept_versions_count_against_the_byte_quota() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = Gw::start(dir.path(), &[]);
    let t = gw.token("test:tester", "testing");
    let auth = ("X-Auth-Token", t.as_str());
    let c = "/v1/AUTH_test/v";
    assert_eq!(
        gw.req("PUT", c, &[auth, ("X-Versions-Enabled", "true")], b"")
            .status,
        201
    );
    for body in [b"aaaaa", b"bbbbb"] {
        assert_eq!(gw.req("PUT", &format!("{c}/o"), &[auth], body).status, 201);
    }
    let quota = ("X-Container-Meta-Quota-Bytes", "10");
    assert_eq!(gw.req("POST", c, &[auth, quota], b"").status, 204);
    // 5 current + 5 kept: another 5 is over.
    assert_eq!(
        gw.req("PUT", &format!("{c}/o"), &[auth], b"ccccc").status,
        413
    );
}
