// SPDX-License-Identifier: Apache-2.0
//! Container quotas (`X-Container-Meta-Quota-Bytes` / `-Count`): Swift's 400 for values
//! that are not digits, 413 for a PUT past a quota, kept versions counted, and a quota set,
//! changed or removed taking effect at once (the gateway caches that a container has none).

use crate::common::Cluster;

#[test]
fn quotas_bound_puts_and_take_effect_at_once() {
    let cl = Cluster::start();
    let c = "/v1/AUTH_test/q";
    assert_eq!(cl.req("PUT", c, &[], b"").status, 201);
    // Without a quota (and once this is cached), anything goes.
    assert_eq!(
        cl.req("PUT", &format!("{c}/a"), &[], b"0123456789ab")
            .status,
        201
    );
    assert_eq!(cl.req("DELETE", &format!("{c}/a"), &[], b"").status, 204);

    for (h, text) in [
        ("X-Container-Meta-Quota-Bytes", "Invalid bytes quota."),
        ("X-Container-Meta-Quota-Count", "Invalid count quota."),
    ] {
        let r = cl.req("POST", c, &[(h, "ten")], b"");
        assert_eq!((r.status, r.text().as_str()), (400, text));
        let r = cl.req("PUT", "/v1/AUTH_test/q2", &[(h, "-1")], b"");
        assert_eq!(r.status, 400);
    }
    assert_eq!(cl.req("HEAD", "/v1/AUTH_test/q2", &[], b"").status, 404);
    // A PUT into a container that does not exist is still its 404.
    assert_eq!(cl.req("PUT", "/v1/AUTH_test/q2/o", &[], b"x").status, 404);

    let quota = ("X-Container-Meta-Quota-Bytes", "10");
    assert_eq!(cl.req("POST", c, &[quota], b"").status, 204);
    let head = cl.req("HEAD", c, &[], b"");
    assert_eq!(head.header("x-container-meta-quota-bytes"), Some("10"));
    let r = cl.req("PUT", &format!("{c}/o"), &[], b"01234567890");
    assert_eq!(
        (r.status, r.text().as_str()),
        (413, "Upload exceeds quota.")
    );
    assert_eq!(
        cl.req("PUT", &format!("{c}/o"), &[], b"0123456789").status,
        201
    );
    assert_eq!(cl.req("PUT", &format!("{c}/p"), &[], b"x").status, 413);

    // A count quota; then both removed.
    let count = ("X-Container-Meta-Quota-Count", "1");
    let unbytes = ("X-Container-Meta-Quota-Bytes", "");
    assert_eq!(cl.req("POST", c, &[count, unbytes], b"").status, 204);
    assert_eq!(cl.req("PUT", &format!("{c}/p"), &[], b"x").status, 413);
    let uncount = ("X-Remove-Container-Meta-Quota-Count", "x");
    assert_eq!(cl.req("POST", c, &[uncount], b"").status, 204);
    assert_eq!(cl.req("PUT", &format!("{c}/p"), &[], b"x").status, 201);
}

#[test]
fn kept_versions_count_against_the_byte_quota() {
    let cl = Cluster::start();
    let c = "/v1/AUTH_test/v";
    assert_eq!(
        cl.req("PUT", c, &[("X-Versions-Enabled", "true")], b"")
            .status,
        201
    );
    for body in [b"aaaaa", b"bbbbb"] {
        assert_eq!(cl.req("PUT", &format!("{c}/o"), &[], body).status, 201);
    }
    let quota = ("X-Container-Meta-Quota-Bytes", "10");
    assert_eq!(cl.req("POST", c, &[quota], b"").status, 204);
    // 5 current + 5 kept: another 5 is over.
    assert_eq!(cl.req("PUT", &format!("{c}/o"), &[], b"ccccc").status, 413);
}
