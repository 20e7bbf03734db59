// SPDX-License-Identifier: Apache-2.0
//! Account ACLs (`X-Account-Access-Control`, tempauth's `account_acls`): tempauth's 400s,
//! only the account's owners set and see them, and what `read-only`, `read-write` and
//! `admin` each open, to a user of the account and to another account's user.

use std::ops::Deref;

use crate::common::{Cluster, Resp};

/// The shared cluster plus this module's container and requests relative to the account.
struct Acct(Cluster);

impl Deref for Acct {
    type Target = Cluster;
    fn deref(&self) -> &Cluster {
        &self.0
    }
}

const ACL: &str = "X-Account-Access-Control";

impl Acct {
    /// Account `test` with the private container `c` holding `o`, and a temp-URL key.
    fn new() -> Acct {
        let s = Acct(Cluster::start());
        let key = ("X-Account-Meta-Temp-Url-Key", "sekrit");
        assert_eq!(s.by(&s.admin, "POST", "", &[key]).status, 204);
        let acl = ("X-Container-Read", "jdoe");
        assert_eq!(s.by(&s.admin, "PUT", "/c", &[acl]).status, 201);
        assert_eq!(s.by(&s.admin, "PUT", "/c/o", &[]).status, 201);
        s
    }

    /// A request by `token` on `/v1/AUTH_test{path}`.
    fn by(&self, token: &str, m: &str, path: &str, h: &[(&str, &str)]) -> Resp {
        self.as_(token, m, &format!("/v1/AUTH_test{path}"), h, b"data")
    }

    fn set_acl(&self, acl: &str) {
        let r = self.by(&self.admin, "POST", "", &[(ACL, acl)]);
        assert_eq!(r.status, 204, "{acl}: {}", r.text());
    }
}

#[test]
fn info_advertises_account_acls() {
    let s = Acct::new();
    let r = s.gw.req("GET", "/info", &[], b"");
    let v: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
    assert_eq!(v["tempauth"]["account_acls"], true);
}

#[test]
fn invalid_acls_are_tempauths_400s_and_keep_the_old_one() {
    let s = Acct::new();
    s.set_acl(r#"{"admin":["bob"]}"#);
    for (bad, why) in [
        ("yuck", "Syntax error in input ('yuck')"),
        (
            r#"{"admin":["x"],"bogus":[]}"#,
            r#"Key "bogus" not recognized"#,
        ),
        (
            r#"{"admin":"x"}"#,
            r#"Value for key "admin" must be a list"#,
        ),
        (
            r#"{"read-only":[1]}"#,
            r#"Elements of "read-only" list must be strings"#,
        ),
    ] {
        let r = s.by(&s.admin, "POST", "", &[(ACL, bad)]);
        assert_eq!(r.status, 400, "{bad}");
        let want = format!("X-Account-Access-Control invalid: {why}\n\nInput: {bad}\n");
        assert_eq!(r.text(), want);
        // Any request carrying a bad one is refused, whatever it asks.
        assert_eq!(s.by(&s.admin, "GET", "/c/o", &[(ACL, bad)]).status, 400);
    }
    let r = s.by(&s.admin, "GET", "", &[]);
    assert_eq!(
        r.header("x-account-access-control"),
        Some(r#"{"admin":["bob"]}"#)
    );
    s.set_acl("{}");
    let r = s.by(&s.admin, "HEAD", "", &[]);
    assert_eq!(r.header("x-account-access-control"), None);
}

#[test]
fn read_only_reads_everything_and_writes_nothing() {
    let s = Acct::new();
    for t in [&s.reader, &s.other] {
        assert_eq!(s.by(t, "GET", "", &[]).status, 403);
        assert_eq!(s.by(t, "GET", "/c/o", &[]).status, 403);
    }
    s.set_acl(r#"{"read-only":["test:reader","other"]}"#);
    for t in [&s.reader, &s.other] {
        let acct = s.by(t, "GET", "", &[]);
        assert_eq!(acct.status, 200, "{}", acct.text());
        assert_eq!(acct.text(), "c\n");
        assert_eq!(acct.header("x-account-access-control"), None);
        assert_eq!(acct.header("x-account-meta-temp-url-key"), None);
        let cont = s.by(t, "HEAD", "/c", &[]);
        assert_eq!(cont.status, 204);
        assert_eq!(cont.header("x-container-read"), None);
        assert_eq!(s.by(t, "GET", "/c/o", &[]).body, b"data");
        for (m, p) in [
            ("PUT", "/c/o"),
            ("POST", "/c/o"),
            ("DELETE", "/c/o"),
            ("PUT", "/c2"),
            ("POST", "/c"),
            ("DELETE", "/c"),
            ("POST", ""),
        ] {
            assert_eq!(s.by(t, m, p, &[]).status, 403, "{m} {p}");
        }
        // Setting the ACL is the owners' only.
        let r = s.by(t, "POST", "", &[(ACL, r#"{"admin":["other"]}"#)]);
        assert_eq!(r.status, 403);
    }
    let r = s.by(&s.admin, "GET", "", &[]);
    let shown = r.header("x-account-access-control");
    assert_eq!(shown, Some(r#"{"read-only":["test:reader","other"]}"#));
    assert_eq!(r.header("x-account-meta-temp-url-key"), Some("sekrit"));
}

#[test]
fn read_write_writes_containers_but_not_owner_headers() {
    let s = Acct::new();
    s.set_acl(r#"{"read-write":["other:admin"]}"#);
    let t = &s.other;
    assert_eq!(s.by(t, "PUT", "/new", &[]).status, 201);
    assert_eq!(s.by(t, "PUT", "/new/x", &[]).status, 201);
    assert_eq!(s.by(t, "DELETE", "/new/x", &[]).status, 204);
    assert_eq!(s.by(t, "DELETE", "/new", &[]).status, 204);
    assert_eq!(s.by(t, "PUT", "/c/o", &[]).status, 201);
    // Container ACLs and temp-URL keys are dropped from its requests, the rest applies.
    let h = [
        ("X-Container-Read", ".r:*"),
        ("X-Container-Write", ".r:*"), // a 400 for an owner; dropped unread here
        ("X-Container-Meta-Temp-Url-Key", "mine"),
        ("X-Container-Meta-Test", "v"),
    ];
    assert_eq!(s.by(t, "POST", "/c", &h).status, 204);
    let mine = s.by(t, "HEAD", "/c", &[]);
    assert_eq!(mine.header("x-container-meta-test"), Some("v"));
    let owner = s.by(&s.admin, "HEAD", "/c", &[]);
    assert_eq!(owner.header("x-container-read"), Some("jdoe"));
    assert_eq!(owner.header("x-container-meta-temp-url-key"), None);
    // Account: read only.
    assert_eq!(s.by(t, "HEAD", "", &[]).status, 204);
    let r = s.by(t, "POST", "", &[("X-Account-Meta-X", "y")]);
    assert_eq!(r.status, 403);
    // Another user of the grantee's account is not named.
    assert_eq!(s.by(&s.reader, "GET", "/c/o", &[]).status, 403);
}

#[test]
fn admin_is_an_owner_until_revoked() {
    let s = Acct::new();
    // Callers are judged before the method: 403, then (as an owner) Swift's 405.
    assert_eq!(s.by(&s.other, "PUT", "", &[]).status, 403);
    s.set_acl(r#"{"admin":["AUTH_other"]}"#);
    let t = &s.other;
    assert_eq!(s.by(t, "PUT", "", &[]).status, 405);
    let r = s.by(t, "GET", "", &[]);
    assert_eq!(
        r.header("x-account-access-control"),
        Some(r#"{"admin":["AUTH_other"]}"#)
    );
    assert_eq!(r.header("x-account-meta-temp-url-key"), Some("sekrit"));
    assert_eq!(
        s.by(t, "HEAD", "/c", &[]).header("x-container-read"),
        Some("jdoe")
    );
    assert_eq!(
        s.by(t, "POST", "/c", &[("X-Container-Read", "frank")])
            .status,
        204
    );
    let owner = s.by(&s.admin, "HEAD", "/c", &[]);
    assert_eq!(owner.header("x-container-read"), Some("frank"));
    // It may hand the account on, and revoke itself.
    let r = s.by(t, "POST", "", &[(ACL, r#"{"read-only":["test:reader"]}"#)]);
    assert_eq!(r.status, 204);
    assert_eq!(s.by(t, "GET", "", &[]).status, 403);
    assert_eq!(s.by(t, "GET", "/c/o", &[]).status, 403);
    assert_eq!(s.by(&s.reader, "GET", "/c/o", &[]).status, 200);
    // The own account's admin keeps everything meanwhile.
    s.set_acl("{}");
    assert_eq!(s.by(&s.reader, "GET", "/c/o", &[]).status, 403);
    assert_eq!(s.by(&s.admin, "GET", "/c/o", &[]).status, 200);
}

/// Container sync's key is kept but is the owners' only: a read-write user's container POST
/// applies its metadata and drops the key; an `admin` user sets and sees it.
#[test]
fn container_sync_key_is_for_owners_only() {
    let s = Acct::new();
    let key = "x-container-sync-key";
    let post = |t: &str, h: &[(&str, &str)]| s.by(t, "POST", "/c", h).status;
    assert_eq!(post(&s.admin, &[(key, "secret")]), 204);
    assert_eq!(
        s.by(&s.admin, "HEAD", "/c", &[]).header(key),
        Some("secret")
    );
    s.set_acl(r#"{"read-write":["test:reader"]}"#);
    let head = s.by(&s.reader, "HEAD", "/c", &[]);
    assert_eq!((head.status, head.header(key)), (204, None));
    assert_eq!(
        post(&s.reader, &[(key, "mine"), ("X-Container-Meta-T", "v")]),
        204
    );
    let owner_view = s.by(&s.admin, "HEAD", "/c", &[]);
    assert_eq!(owner_view.header(key), Some("secret"));
    assert_eq!(owner_view.header("x-container-meta-t"), Some("v"));
    s.set_acl(r#"{"admin":["test:reader"]}"#);
    assert_eq!(post(&s.reader, &[(key, "rotated")]), 204);
    assert_eq!(
        s.by(&s.reader, "HEAD", "/c", &[]).header(key),
        Some("rotated")
    );
    assert_eq!(post(&s.admin, &[(key, "")]), 204);
    assert_eq!(s.by(&s.admin, "HEAD", "/c", &[]).header(key), None);
}
