// SPDX-License-Identifier: Apache-2.0
//! Storage policies (`--policy`): listed in `/info`, chosen at container PUT, kept for the
//! container's life (a PUT naming another is a 409, a POST cannot change it), counted per
//! policy on the account, and a container whose layout cannot be set is not created.

use crate::common::Gw;

fn admin(gw: &Gw) -> String {
    gw.token("test:tester", "testing")
}

#[test]
fn containers_keep_their_policy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = Gw::start(
        dir.path(),
        &["--policy", "gold", "--policy", "silver:default"],
    );
    let t = admin(&gw);
    let auth = [("X-Auth-Token", t.as_str())];
    let with = |h: (&'static str, &'static str)| [auth[0], h];

    let info = gw.req("GET", "/info", &[], b"").text();
    let info: serde_json::Value = serde_json::from_str(&info).expect("json");
    assert_eq!(
        info["swift"]["policies"],
        serde_json::json!([
            {"name": "gold", "aliases": "gold"},
            {"name": "silver", "aliases": "silver", "default": true}
        ])
    );

    // The default, then a named one (without case), then an unknown one.
    assert_eq!(gw.req("PUT", "/v1/AUTH_test/plain", &auth, b"").status, 201);
    let put = gw.req(
        "PUT",
        "/v1/AUTH_test/g",
        &with(("X-Storage-Policy", "GOLD")),
        b"",
    );
    assert_eq!(put.status, 201);
    let bad = gw.req(
        "PUT",
        "/v1/AUTH_test/x",
        &with(("X-Storage-Policy", "tin")),
        b"",
    );
    assert_eq!(bad.status, 400);
    assert!(
        bad.text().contains("Invalid X-Storage-Policy 'tin'"),
        "{}",
        bad.text()
    );
    assert_eq!(gw.req("HEAD", "/v1/AUTH_test/x", &auth, b"").status, 404);
    let policy_of = |c: &str| {
        let r = gw.req("HEAD", &format!("/v1/AUTH_test/{c}"), &auth, b"");
        r.header("x-storage-policy").map(str::to_string)
    };
    assert_eq!(policy_of("plain").as_deref(), Some("silver"));
    assert_eq!(policy_of("g").as_deref(), Some("gold"));

    // Kept: a PUT naming another policy is a 409, without one or with the same it is a 202,
    // a POST naming another is ignored.
    let other = gw.req(
        "PUT",
        "/v1/AUTH_test/g",
        &with(("X-Storage-Policy", "silver")),
        b"",
    );
    assert_eq!(other.status, 409);
    assert_eq!(gw.req("PUT", "/v1/AUTH_test/g", &auth, b"").status, 202);
    let same = gw.req(
        "PUT",
        "/v1/AUTH_test/g",
        &with(("X-Storage-Policy", "gold")),
        b"",
    );
    assert_eq!(same.status, 202);
    let post = gw.req(
        "POST",
        "/v1/AUTH_test/g",
        &with(("X-Storage-Policy", "silver")),
        b"",
    );
    assert_eq!(post.status, 204);
    assert_eq!(policy_of("g").as_deref(), Some("gold"));

    // Per-policy totals on the account.
    assert_eq!(
        gw.req("PUT", "/v1/AUTH_test/g/o", &auth, b"12345").status,
        201
    );
    let acct = gw.req("HEAD", "/v1/AUTH_test", &auth, b"");
    let h = |n: &str| acct.header(n).map(str::to_string);
    assert_eq!(
        h("x-account-storage-policy-gold-container-count").as_deref(),
        Some("1")
    );
    assert_eq!(
        h("x-account-storage-policy-gold-object-count").as_deref(),
        Some("1")
    );
    assert_eq!(
        h("x-account-storage-policy-gold-bytes-used").as_deref(),
        Some("5")
    );
    assert_eq!(
        h("x-account-storage-policy-silver-container-count").as_deref(),
        Some("1")
    );
    assert_eq!(
        h("x-account-storage-policy-silver-bytes-used").as_deref(),
        Some("0")
    );
    assert_eq!(h("x-account-container-count").as_deref(), Some("2"));

    // A deleted container leaves its policy's totals.
    assert_eq!(
        gw.req("DELETE", "/v1/AUTH_test/g/o", &auth, b"").status,
        204
    );
    assert_eq!(gw.req("DELETE", "/v1/AUTH_test/g", &auth, b"").status, 204);
    let acct = gw.req("HEAD", "/v1/AUTH_test", &auth, b"");
    assert_eq!(
        acct.header("x-account-storage-policy-gold-container-count"),
        None
    );
}

/// A policy with a Lustre layout on a root where `lfs setstripe` cannot run: the PUT fails
/// and leaves no container behind (this machine has no `lfs`; with a root on Lustre the
/// directory gets the pool and striping).
#[test]
fn a_layout_that_cannot_be_set_creates_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = Gw::start(
        dir.path(),
        &[
            "--policy",
            "plain",
            "--policy",
            "flash:pool=flash,stripe-count=2",
        ],
    );
    let t = admin(&gw);
    let h = [("X-Auth-Token", t.as_str()), ("X-Storage-Policy", "flash")];
    let put = gw.req("PUT", "/v1/AUTH_test/fast", &h, b"");
    assert!(put.status >= 500, "status {}", put.status);
    assert!(!dir.path().join("test/fast").exists());
    let auth = [("X-Auth-Token", t.as_str())];
    assert_eq!(gw.req("HEAD", "/v1/AUTH_test/fast", &auth, b"").status, 404);
    assert_eq!(gw.req("PUT", "/v1/AUTH_test/slow", &auth, b"").status, 201);
}

#[test]
fn bad_policy_flags_are_refused_at_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (flags, says) in [
        (&["--policy", "a", "--policy", "A"][..], "given twice"),
        (
            &["--policy", "a:default", "--policy", "b:default"][..],
            "both marked default",
        ),
        (&["--policy", "a:stripe-count=0"][..], "stripe-count"),
        (&["--policy", "a b"][..], "invalid storage policy name"),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_lk-gateway"))
            .arg("--root")
            .arg(dir.path())
            .args([
                "--user",
                "test:tester:testing:admin",
                "--listen",
                "127.0.0.1:0",
            ])
            .args(flags)
            .output()
            .expect("run lk-gateway");
        assert!(!out.status.success(), "{flags:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{flags:?}: {err}");
    }
}
