// SPDX-License-Identifier: Apache-2.0
//! Static web: index pages, HTML listings, redirects adding the `/`, custom error pages and
//! directory markers, for callers without a token (through the container's read ACL) and
//! with one in `X-Web-Mode`; and that it never reads what the caller could not read
//! directly.

use std::ops::Deref;

use crate::common::{Cluster, Resp};

/// The shared cluster plus this module's site and its anonymous and web-mode requests.
struct Site(Cluster);

impl Deref for Site {
    type Target = Cluster;
    fn deref(&self) -> &Cluster {
        &self.0
    }
}

impl Site {
    /// Container `web` holding `index.html`, `style.css`, `404err.html`, `dir/a b.txt`,
    /// `dir/sub/x`, `dir2/index.html`, and container `priv` holding `secret` and
    /// `404err.html`.
    fn new() -> Site {
        let s = Site(Cluster::start());
        for (path, body) in [
            ("/v1/AUTH_test/web", &b""[..]),
            ("/v1/AUTH_test/web/index.html", b"INDEX PAGE"),
            ("/v1/AUTH_test/web/style.css", b"h1 {}"),
            ("/v1/AUTH_test/web/404err.html", b"CUSTOM 404"),
            ("/v1/AUTH_test/web/dir/a%20b.txt", b"hello"),
            ("/v1/AUTH_test/web/dir/sub/x", b"x"),
            ("/v1/AUTH_test/web/dir2/index.html", b"DIR2 INDEX"),
            ("/v1/AUTH_test/priv", b""),
            ("/v1/AUTH_test/priv/secret", b"SECRET"),
            ("/v1/AUTH_test/priv/index.html", b"PRIVATE INDEX"),
            ("/v1/AUTH_test/priv/404err.html", b"PRIVATE 404"),
        ] {
            assert_eq!(s.req("PUT", path, &[], body).status, 201, "{path}");
        }
        s.post("priv", &[("X-Container-Meta-Web-Listings", "true")]);
        s
    }

    fn post(&self, container: &str, h: &[(&str, &str)]) {
        let p = format!("/v1/AUTH_test/{container}");
        let r = self.req("POST", &p, h, b"");
        assert_eq!(r.status, 204, "{h:?}: {}", r.text());
    }

    fn anon(&self, m: &str, p: &str) -> Resp {
        self.gw.req(m, p, &[], b"")
    }

    fn web_mode(&self, token: &str, p: &str) -> Resp {
        self.as_(token, "GET", p, &[("X-Web-Mode", "true")], b"")
    }
}

fn public_listings(s: &Site) {
    s.post("web", &[("X-Container-Read", ".r:*,.rlistings")]);
    s.post("web", &[("X-Container-Meta-Web-Listings", "true")]);
}

#[test]
fn info_advertises_staticweb() {
    let s = Site::new();
    let r = s.anon("GET", "/info");
    let v: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
    assert!(v.get("staticweb").is_some(), "{v}");
}

#[test]
fn listings_and_redirects_for_anonymous_callers() {
    let s = Site::new();
    public_listings(&s);
    let host = s.gw.addr.clone();
    let r = s.anon("GET", "/v1/AUTH_test/web");
    assert_eq!(r.status, 301);
    let want = format!("http://{host}/v1/AUTH_test/web/");
    assert_eq!(r.header("location"), Some(want.as_str()));

    let top = s.anon("GET", "/v1/AUTH_test/web/");
    assert_eq!(top.status, 200, "{}", top.text());
    assert_eq!(top.header("content-type"), Some("text/html; charset=UTF-8"));
    let t = top.text();
    assert!(
        t.contains("<title>Listing of /v1/AUTH_test/web/</title>"),
        "{t}"
    );
    assert!(t.contains("<a href=\"dir/\">dir/</a>"), "{t}");
    assert!(t.contains("<a href=\"index.html\">index.html</a>"), "{t}");
    assert!(
        !t.contains("a%20b.txt") && !t.contains("id=\"parent\""),
        "{t}"
    );

    let sub = s.anon("GET", "/v1/AUTH_test/web/dir/");
    assert_eq!(sub.status, 200, "{}", sub.text());
    let t = sub.text();
    assert!(t.contains("<a href=\"../\">../</a>"), "{t}");
    assert!(t.contains("<a href=\"a%20b.txt\">a b.txt</a>"), "{t}");
    assert!(t.contains("<a href=\"sub/\">sub/</a>"), "{t}");
    assert!(t.contains("<td class=\"colsize\">5</td>"), "{t}");

    let r = s.anon("GET", "/v1/AUTH_test/web/dir/sub");
    assert_eq!(r.status, 301);
    let want = format!("http://{host}/v1/AUTH_test/web/dir/sub/");
    assert_eq!(r.header("location"), Some(want.as_str()));
    // Objects are still served as themselves.
    assert_eq!(
        s.anon("GET", "/v1/AUTH_test/web/dir/a%20b.txt").body,
        b"hello"
    );
    assert_eq!(s.anon("GET", "/v1/AUTH_test/web/nodir/").status, 404);
    assert_eq!(s.anon("GET", "/v1/AUTH_test/web/nodir").status, 404);
    let head = s.anon("HEAD", "/v1/AUTH_test/web/dir/");
    assert_eq!((head.status, head.body.len()), (200, 0));
}

#[test]
fn listing_css_and_label() {
    let s = Site::new();
    public_listings(&s);
    s.post(
        "web",
        &[
            ("X-Container-Meta-Web-Listings-CSS", "style.css"),
            ("X-Container-Meta-Web-Listings-Label", "My Site"),
        ],
    );
    let t = s.anon("GET", "/v1/AUTH_test/web/dir/sub/").text();
    assert!(t.contains("href=\"../../style.css\" />"), "{t}");
    assert!(t.contains("Listing of My Site/dir/sub/"), "{t}");
}

#[test]
fn index_pages_and_disabled_listings() {
    let s = Site::new();
    s.post("web", &[("X-Container-Read", ".r:*,.rlistings")]);
    s.post("web", &[("X-Container-Meta-Web-Index", "index.html")]);
    assert_eq!(s.anon("GET", "/v1/AUTH_test/web").status, 301);
    assert_eq!(s.anon("GET", "/v1/AUTH_test/web/").body, b"INDEX PAGE");
    assert_eq!(s.anon("GET", "/v1/AUTH_test/web/dir2/").body, b"DIR2 INDEX");
    assert_eq!(s.anon("GET", "/v1/AUTH_test/web/dir2").status, 301);
    // No index in dir/ and listings not enabled: Swift's "disabled" page, 404.
    let r = s.anon("GET", "/v1/AUTH_test/web/dir/");
    assert_eq!(r.status, 404);
    assert!(r.text().contains("Web Listing Disabled"), "{}", r.text());
    assert!(r.text().contains("X-Container-Meta-Web-Index: index.html"));
}

#[test]
fn custom_error_pages() {
    let s = Site::new();
    public_listings(&s);
    s.post("web", &[("X-Container-Meta-Web-Error", "err.html")]);
    let r = s.anon("GET", "/v1/AUTH_test/web/missing");
    assert_eq!((r.status, r.body.as_slice()), (404, &b"CUSTOM 404"[..]));
    let r = s.anon("GET", "/v1/AUTH_test/web/missing/");
    assert_eq!((r.status, r.body.as_slice()), (404, &b"CUSTOM 404"[..]));
    // A status without its page keeps the ordinary one.
    s.post("web", &[("X-Container-Read", ".r:*")]);
    let r = s.anon("GET", "/v1/AUTH_test/web/");
    assert_eq!(r.status, 401);
    assert!(!r.text().contains("CUSTOM"));
}

#[test]
fn directory_markers_are_not_served_as_pages() {
    let s = Site::new();
    public_listings(&s);
    let ct = [("Content-Type", "application/directory")];
    let r = s.req("PUT", "/v1/AUTH_test/web/marker", &ct, b"");
    assert_eq!(r.status, 201);
    assert_eq!(s.anon("GET", "/v1/AUTH_test/web/marker").status, 404);
    // With another directory type, that one marks directories instead.
    s.post(
        "web",
        &[("X-Container-Meta-Web-Directory-Type", "text/dir")],
    );
    assert_eq!(s.anon("GET", "/v1/AUTH_test/web/marker").status, 200);
    // Without a web site the marker is an object like any other.
    s.post(
        "web",
        &[
            ("X-Remove-Container-Meta-Web-Listings", "x"),
            ("X-Remove-Container-Meta-Web-Directory-Type", "x"),
        ],
    );
    assert_eq!(s.anon("GET", "/v1/AUTH_test/web/marker").status, 200);
}

#[test]
fn nothing_unreadable_is_served() {
    let s = Site::new();
    // A private container with a web site: no index, no listing, no error page.
    s.post(
        "priv",
        &[
            ("X-Container-Meta-Web-Index", "index.html"),
            ("X-Container-Meta-Web-Error", "err.html"),
        ],
    );
    for p in [
        "/v1/AUTH_test/priv",
        "/v1/AUTH_test/priv/",
        "/v1/AUTH_test/priv/secret",
        "/v1/AUTH_test/priv/missing",
        "/v1/AUTH_test/priv/dir/",
    ] {
        let r = s.anon("GET", p);
        assert_eq!(r.status, 401, "{p}: {}", r.text());
        assert!(
            !r.text().contains("PRIVATE") && !r.text().contains("SECRET"),
            "{p}"
        );
    }
    // Objects readable through `.r:*` but no listing without `.rlistings`, even where an
    // index page would answer.
    s.post("web", &[("X-Container-Read", ".r:*")]);
    s.post("web", &[("X-Container-Meta-Web-Listings", "true")]);
    assert_eq!(s.anon("GET", "/v1/AUTH_test/web/").status, 401);
    assert_eq!(s.anon("GET", "/v1/AUTH_test/web/dir/").status, 401);
    assert_eq!(s.anon("GET", "/v1/AUTH_test/web/dir").status, 404);
    s.post("web", &[("X-Container-Meta-Web-Index", "index.html")]);
    assert_eq!(s.anon("GET", "/v1/AUTH_test/web/").status, 401);
    assert_eq!(s.anon("GET", "/v1/AUTH_test/web/dir2/").body, b"DIR2 INDEX");
    // Writes stay refused without a token.
    assert_eq!(
        s.gw.req("PUT", "/v1/AUTH_test/web/x", &[], b"x").status,
        401
    );
}

#[test]
fn tokens_need_web_mode_and_their_own_rights() {
    let s = Site::new();
    public_listings(&s);
    // Without X-Web-Mode, a token's GET is the API's: a plain listing.
    let r = s.req("GET", "/v1/AUTH_test/web", &[], b"");
    assert_eq!(r.status, 200);
    assert!(r.text().starts_with("404err.html\n"), "{}", r.text());
    let r = s.req("GET", "/v1/AUTH_test/web", &[("X-Web-Mode", "false")], b"");
    assert_eq!(r.status, 200);
    // For the API the pseudo-directory path names the object `dir/` (a directory marker),
    // which does not exist: Swift's 404.
    let r = s.req("GET", "/v1/AUTH_test/web/dir/", &[], b"");
    assert_eq!(r.status, 404);
    let r = s.web_mode(&s.admin, "/v1/AUTH_test/web/dir/");
    assert_eq!(r.status, 200);
    assert!(r.text().contains("Listing of /v1/AUTH_test/web/dir/"));
    // Web mode on a container without a web site: 404.
    assert_eq!(s.web_mode(&s.admin, "/v1/AUTH_test/priv").status, 301);
    s.post("priv", &[("X-Remove-Container-Meta-Web-Listings", "x")]);
    assert_eq!(s.web_mode(&s.admin, "/v1/AUTH_test/priv/").status, 404);
    // A user without rights on the private container, and another account's admin: 403.
    let (reader, other) = (s.reader.clone(), s.other.clone());
    s.post("priv", &[("X-Container-Meta-Web-Listings", "true")]);
    for t in [&reader, &other] {
        for p in ["/v1/AUTH_test/priv/", "/v1/AUTH_test/priv/secret"] {
            let r = s.web_mode(t, p);
            assert_eq!(r.status, 403, "{p}: {}", r.text());
            assert!(!r.text().contains("SECRET"));
        }
        // The public site is theirs to read, as it is anyone's.
        assert_eq!(s.web_mode(t, "/v1/AUTH_test/web/").status, 200);
    }
    // Once the read ACL names the reader, the private site opens to them (and only them).
    s.post("priv", &[("X-Container-Read", "test:reader")]);
    assert_eq!(s.web_mode(&reader, "/v1/AUTH_test/priv/").status, 200);
    assert_eq!(s.web_mode(&other, "/v1/AUTH_test/priv/").status, 403);
    assert_eq!(s.anon("GET", "/v1/AUTH_test/priv/").status, 401);
}
