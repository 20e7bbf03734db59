// SPDX-License-Identifier: Apache-2.0
//! Referrer ACLs (`.r:*`, `.r:HOST`, `.r:-HOST`, `.rlistings` in `X-Container-Read`): reads
//! of objects without a token (listings only with `.rlistings`), never writes, never another
//! container; a token that is not valid is still a 401.

use std::ops::Deref;

use crate::common::{Cluster, Resp};

/// The shared cluster plus containers `pub` and `priv` and this module's helpers.
struct Setup(Cluster);

impl Deref for Setup {
    type Target = Cluster;
    fn deref(&self) -> &Cluster {
        &self.0
    }
}

impl Setup {
    fn new() -> Setup {
        let s = Setup(Cluster::start());
        for (path, body) in [
            ("/v1/AUTH_test/pub", &b""[..]),
            ("/v1/AUTH_test/pub/o", b"public bytes"),
            ("/v1/AUTH_test/priv", b""),
            ("/v1/AUTH_test/priv/secret", b"SECRET"),
        ] {
            assert_eq!(s.req("PUT", path, &[], body).status, 201, "{path}");
        }
        s
    }

    fn set_read_acl(&self, container: &str, acl: &str) {
        let p = format!("/v1/AUTH_test/{container}");
        let r = self.req("POST", &p, &[("X-Container-Read", acl)], b"");
        assert_eq!(r.status, 204, "{acl}: {}", r.text());
    }

    fn anon(&self, m: &str, p: &str, h: &[(&str, &str)]) -> Resp {
        self.gw.req(m, p, h, b"x")
    }
}

/// Everything a caller without a token is refused, whatever the read ACL says; nothing of
/// the private container or of the files shows in the answers.
fn assert_anonymous_writes_refused(s: &Setup) {
    for (m, p, h) in [
        ("PUT", "/v1/AUTH_test/pub/o", vec![]),
        ("PUT", "/v1/AUTH_test/pub/new", vec![]),
        (
            "POST",
            "/v1/AUTH_test/pub/o",
            vec![("X-Object-Meta-A", "b")],
        ),
        ("DELETE", "/v1/AUTH_test/pub/o", vec![]),
        (
            "COPY",
            "/v1/AUTH_test/pub/o",
            vec![("Destination", "pub/c")],
        ),
        ("PUT", "/v1/AUTH_test/pub2", vec![]),
        ("POST", "/v1/AUTH_test/pub", vec![("X-Container-Read", "*")]),
        ("DELETE", "/v1/AUTH_test/pub", vec![]),
        ("GET", "/v1/AUTH_test", vec![]),
        ("HEAD", "/v1/AUTH_test", vec![]),
        ("POST", "/v1/AUTH_test?bulk-delete", vec![]),
        ("GET", "/v1/AUTH_test/priv/secret", vec![]),
        ("HEAD", "/v1/AUTH_test/priv", vec![]),
        ("GET", "/v1/AUTH_other/c/x", vec![]),
    ] {
        let r = s.anon(m, p, &h);
        assert_eq!(r.status, 401, "{m} {p} without a token: {}", r.text());
        assert!(!r.text().contains("SECRET"), "{m} {p}");
    }
    let o = s.req("GET", "/v1/AUTH_test/pub/o", &[], b"");
    assert_eq!(o.body, b"public bytes");
    assert_eq!(o.header("x-object-meta-a"), None);
    let list = s.req("GET", "/v1/AUTH_test/pub", &[], b"");
    assert_eq!(list.text(), "o\n", "nothing was created");
}

/// The status of a GET of the public object with a token whose bytes are not UTF-8.
fn token_bytes_not_utf8(addr: &str) -> String {
    use std::io::{Read, Write};
    let mut c = std::net::TcpStream::connect(addr).expect("connect");
    let head = b"GET /v1/AUTH_test/pub/o HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
                 X-Auth-Token: AUTH_tk\xff\r\n\r\n";
    c.write_all(head).expect("write");
    let mut raw = Vec::new();
    let _ = c.read_to_end(&mut raw);
    String::from_utf8_lossy(raw.get(9..12).unwrap_or_default()).into_owned()
}

#[test]
fn referrer_acls_open_object_reads_only() {
    let s = Setup::new();
    assert_eq!(s.anon("GET", "/v1/AUTH_test/pub/o", &[]).status, 401);
    s.set_read_acl("pub", ".r:*");
    let got = s.anon("GET", "/v1/AUTH_test/pub/o", &[]);
    assert_eq!(
        (got.status, got.body.as_slice()),
        (200, &b"public bytes"[..])
    );
    assert_eq!(s.anon("HEAD", "/v1/AUTH_test/pub/o", &[]).status, 200);
    assert_eq!(s.anon("GET", "/v1/AUTH_test/pub/nope", &[]).status, 404);
    // No listing without `.rlistings`.
    for m in ["GET", "HEAD"] {
        assert_eq!(s.anon(m, "/v1/AUTH_test/pub", &[]).status, 401, "{m}");
    }
    assert_anonymous_writes_refused(&s);
    // A token that is not valid is refused, not taken as no token.
    for bad in ["AUTH_tknotatoken", "", "garbage"] {
        for h in ["X-Auth-Token", "X-Storage-Token"] {
            let r = s.anon("GET", "/v1/AUTH_test/pub/o", &[(h, bad)]);
            assert_eq!(r.status, 401, "{h}: {bad:?}");
        }
    }
    assert_eq!(token_bytes_not_utf8(&s.gw.addr), "401");
    // Tokens of users with no other right read the objects too, and write nothing.
    let (reader, other) = (s.reader.clone(), s.other.clone());
    for t in [&reader, &other] {
        let auth = ("X-Auth-Token", t.as_str());
        let got = s.gw.req("GET", "/v1/AUTH_test/pub/o", &[auth], b"");
        assert_eq!(got.status, 200);
        for (m, p) in [
            ("PUT", "/v1/AUTH_test/pub/o"),
            ("DELETE", "/v1/AUTH_test/pub/o"),
            ("GET", "/v1/AUTH_test/pub"),
            ("GET", "/v1/AUTH_test/priv/secret"),
        ] {
            let r = s.gw.req(m, p, &[auth], b"x");
            assert_eq!(r.status, 403, "{m} {p}: {}", r.text());
        }
    }
    // `.rlistings` opens the listing, without the ACL headers.
    s.set_read_acl("pub", ".r:*,.rlistings");
    let list = s.anon("GET", "/v1/AUTH_test/pub", &[]);
    assert_eq!((list.status, list.text().as_str()), (200, "o\n"));
    assert_eq!(list.header("x-container-read"), None);
    assert_anonymous_writes_refused(&s);
    // Removing the ACL closes it again.
    s.set_read_acl("pub", "");
    assert_eq!(s.anon("GET", "/v1/AUTH_test/pub/o", &[]).status, 401);
    assert_eq!(s.anon("GET", "/v1/AUTH_test/pub", &[]).status, 401);
}

#[test]
fn referrer_hosts_are_matched_in_order_and_never_grant_writes() {
    let s = Setup::new();
    for acl in [".r:*", ".ref:example.com", "a,.r:*"] {
        let r = s.req(
            "POST",
            "/v1/AUTH_test/pub",
            &[("X-Container-Write", acl)],
            b"",
        );
        assert_eq!(r.status, 400, "{acl}");
        assert!(r.text().contains("Referrers not allowed in write ACL"));
    }
    for acl in [".r:", ".r:-", ".x:y"] {
        let r = s.req(
            "POST",
            "/v1/AUTH_test/pub",
            &[("X-Container-Read", acl)],
            b"",
        );
        assert_eq!(r.status, 400, "{acl}");
    }
    let head = s.req("HEAD", "/v1/AUTH_test/pub", &[], b"");
    assert_eq!(head.header("x-container-write"), None, "nothing stored");
    assert_eq!(head.header("x-container-read"), None, "nothing stored");
    s.set_read_acl("pub", " .ref:*.example.com , .referrer:-thief.example.com");
    let head = s.req("HEAD", "/v1/AUTH_test/pub", &[], b"");
    assert_eq!(
        head.header("x-container-read"),
        Some(".r:.example.com,.r:-thief.example.com")
    );
    for (referer, status) in [
        (Some("http://www.example.com/page"), 200),
        (Some("https://cdn.example.com:8443/"), 200),
        (Some("http://thief.example.com/"), 401),
        (Some("http://example.org/"), 401),
        (Some("http://badexample.com/"), 401),
        (None, 401),
    ] {
        let h: Vec<(&str, &str)> = referer.iter().map(|r| ("Referer", *r)).collect();
        let r = s.anon("GET", "/v1/AUTH_test/pub/o", &h);
        assert_eq!(r.status, status, "{referer:?}");
        let r = s.anon("PUT", "/v1/AUTH_test/pub/o", &h);
        assert_eq!(r.status, 401, "{referer:?} PUT");
    }
}

/// A DLO read without a token needs its segment container's listing (`.rlistings`), as
/// Swift's DLO lists it with the caller's rights; an SLO needs its segments readable.
#[test]
fn large_objects_need_referrer_access_to_their_segments() {
    let s = Setup::new();
    s.set_read_acl("pub", ".r:*");
    for (p, h) in [
        ("/v1/AUTH_test/priv/seg1", vec![]),
        ("/v1/AUTH_test/priv/seg2", vec![]),
        (
            "/v1/AUTH_test/pub/dlo",
            vec![("X-Object-Manifest", "priv/seg")],
        ),
    ] {
        let body = p.rsplit('/').next().unwrap_or("").as_bytes();
        assert_eq!(s.req("PUT", p, &h, body).status, 201, "{p}");
    }
    let r = s.anon("GET", "/v1/AUTH_test/pub/dlo", &[]);
    assert_eq!(r.status, 401, "{}", r.text());
    assert!(!r.text().contains("seg1"));
    s.set_read_acl("priv", ".r:*");
    assert_eq!(s.anon("GET", "/v1/AUTH_test/pub/dlo", &[]).status, 401);
    s.set_read_acl("priv", ".r:*,.rlistings");
    let r = s.anon("GET", "/v1/AUTH_test/pub/dlo", &[]);
    assert_eq!((r.status, r.text().as_str()), (200, "seg1seg2"));
}
