// SPDX-License-Identifier: Apache-2.0
//! Path traversal, symlinks, cross-account access, token expiry and size bounds.

use crate::common::Gw;

fn setup() -> (tempfile::TempDir, Gw, String, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("root");
    std::fs::create_dir_all(&root).expect("root");
    std::fs::write(dir.path().join("secret"), b"TOP SECRET").expect("secret");
    let gw = Gw::start(&root, &[]);
    let t = gw.token("test:tester", "testing");
    let o = gw.token("other:admin", "otherkey");
    for (acct, tok) in [("test", &t), ("other", &o)] {
        let c = format!("/v1/AUTH_{acct}/c");
        assert_eq!(gw.req("PUT", &c, &[("X-Auth-Token", tok)], b"").status, 201);
        let r = gw.req(
            "PUT",
            &format!("{c}/private"),
            &[("X-Auth-Token", tok)],
            acct.as_bytes(),
        );
        assert_eq!(r.status, 201);
    }
    (dir, gw, t, o)
}

#[test]
fn traversal_is_refused_and_nothing_escapes_the_root() {
    let (dir, gw, t, _) = setup();
    let auth = [("X-Auth-Token", t.as_str())];
    let paths = [
        "/v1/AUTH_test/c/../../../secret",
        "/v1/AUTH_test/c/..%2f..%2f..%2fsecret",
        "/v1/AUTH_test/c/%2e%2e/%2e%2e/%2e%2e/secret",
        "/v1/AUTH_test/c/%2E%2E%2F%2E%2E%2F%2E%2E%2Fsecret",
        "/v1/AUTH_test/%2e%2e/%2e%2e/secret",
        "/v1/AUTH_test/..",
        "/v1/AUTH_test/c/x%00y",
        "/v1/AUTH_test/c/./private",
        "/v1/AUTH_..%2F..%2Fsecret",
        "/v1/AUTH_test%2F..%2Fother/c/private",
        "/v1/AUTH_test/c/.lk-tmp-0000000000000000",
        "/../secret",
        "/v1/../../secret",
    ];
    for p in paths {
        for m in ["GET", "HEAD", "PUT", "DELETE", "POST"] {
            let r = gw.req(m, p, &auth, b"written");
            assert!(
                matches!(r.status, 400 | 403 | 404 | 412),
                "{m} {p} answered {}: {}",
                r.status,
                r.text()
            );
            assert!(
                !r.text().contains("TOP SECRET"),
                "{m} {p} leaked the secret"
            );
        }
    }
    // A leading `/` is an empty component, kept inside the container (docs/gateway.md,
    // Layout), as is a component over NAME_MAX (stored under its hash).
    for p in [
        "/v1/AUTH_test/c//etc/passwd",
        "/v1/AUTH_test/c/%2Fetc%2Fpasswd",
    ] {
        assert_eq!(gw.req("PUT", p, &auth, b"written").status, 201, "{p}");
    }
    assert_eq!(
        std::fs::read(gw.root.join("test/c/.lk-empty/etc/passwd")).expect("inside"),
        b"written"
    );
    let overlong = format!("/v1/AUTH_test/c/{}", "x".repeat(256));
    assert_eq!(gw.req("PUT", &overlong, &auth, b"x").status, 201);
    let overlong = format!("/v1/AUTH_test/c/{}", "x".repeat(1025));
    assert_eq!(gw.req("PUT", &overlong, &auth, b"x").status, 400);
    let toolong = format!("/v1/AUTH_test/c/{}", ["d"; 520].join("/"));
    assert_eq!(gw.req("PUT", &toolong, &auth, b"x").status, 400);
    // Nothing was written outside the root, the secret is untouched.
    let outside: Vec<_> = std::fs::read_dir(dir.path())
        .expect("ls")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(outside.len(), 2, "only root and secret: {outside:?}");
    assert_eq!(
        std::fs::read(dir.path().join("secret")).expect("secret"),
        b"TOP SECRET"
    );
}

#[test]
fn symlinks_leading_out_of_the_account_are_refused() {
    let (dir, gw, t, _) = setup();
    let auth = [("X-Auth-Token", t.as_str())];
    let c = gw.root.join("test/c");
    std::os::unix::fs::symlink(dir.path(), c.join("out")).expect("symlink");
    std::os::unix::fs::symlink(dir.path().join("secret"), c.join("secretlink")).expect("symlink");
    std::os::unix::fs::symlink(gw.root.join("other/c"), c.join("peer")).expect("symlink");
    for p in ["out/secret", "secretlink", "peer/private"] {
        for m in ["GET", "PUT", "DELETE"] {
            let r = gw.req(m, &format!("/v1/AUTH_test/c/{p}"), &auth, b"overwrite");
            assert_eq!(r.status, 403, "{m} {p}: {}", r.text());
        }
    }
    assert_eq!(
        std::fs::read(dir.path().join("secret")).expect("secret"),
        b"TOP SECRET"
    );
    assert_eq!(
        std::fs::read(gw.root.join("other/c/private")).expect("peer"),
        b"other"
    );
    // COPY and X-Copy-From through a link are refused too.
    let r = gw.req(
        "PUT",
        "/v1/AUTH_test/c/stolen",
        &[auth[0], ("X-Copy-From", "/c/secretlink")],
        b"",
    );
    assert_eq!(r.status, 403);
}

#[test]
fn tokens_only_reach_their_own_account() {
    let (_dir, gw, t, o) = setup();
    for (tok, other) in [(&t, "other"), (&o, "test")] {
        let auth = [("X-Auth-Token", tok.as_str())];
        for (m, p) in [
            ("GET", format!("/v1/AUTH_{other}")),
            ("HEAD", format!("/v1/AUTH_{other}")),
            ("POST", format!("/v1/AUTH_{other}")),
            ("GET", format!("/v1/AUTH_{other}/c")),
            ("PUT", format!("/v1/AUTH_{other}/new")),
            ("DELETE", format!("/v1/AUTH_{other}/c")),
            ("GET", format!("/v1/AUTH_{other}/c/private")),
            ("PUT", format!("/v1/AUTH_{other}/c/private")),
            ("POST", format!("/v1/AUTH_{other}/c/private")),
            ("DELETE", format!("/v1/AUTH_{other}/c/private")),
            ("POST", format!("/v1/AUTH_{other}?bulk-delete")),
        ] {
            let r = gw.req(m, &p, &auth, b"/c/private\n");
            assert_eq!(
                r.status,
                403,
                "{m} {p} with another account's token: {}",
                r.text()
            );
        }
        let r = gw.req("GET", &format!("/v1/AUTH_{other}/c/private"), &[], b"");
        assert_eq!(r.status, 401, "no token");
    }
    let auth = [("X-Auth-Token", t.as_str())];
    let r = gw.req(
        "COPY",
        "/v1/AUTH_test/c/private",
        &[
            auth[0],
            ("Destination", "c/x"),
            ("Destination-Account", "AUTH_other"),
        ],
        b"",
    );
    assert_eq!(r.status, 403);
    let r = gw.req(
        "PUT",
        "/v1/AUTH_test/c/x",
        &[
            auth[0],
            ("X-Copy-From", "/c/private"),
            ("X-Copy-From-Account", "AUTH_other"),
        ],
        b"",
    );
    assert_eq!(r.status, 403);
    assert_eq!(
        std::fs::read(gw.root.join("other/c/private")).expect("intact"),
        b"other"
    );
    // A non-admin user of the account sees nothing without ACLs.
    let rt = gw.token("test:reader", "readkey");
    assert_eq!(
        gw.req(
            "GET",
            "/v1/AUTH_test/c/private",
            &[("X-Auth-Token", &rt)],
            b""
        )
        .status,
        403
    );
}

/// Swift's cross-account container ACLs: a container of `other` whose ACL names `test:tester`
/// (or `test`) is readable, then writable, by test's token; wildcards grant nothing across
/// accounts; the account itself and container changes stay with other's admin, and the ACL
/// headers are not shown to the foreign reader.
#[test]
fn container_acls_may_name_another_account_and_only_explicitly() {
    let (_dir, gw, t, o) = setup();
    let mine = [("X-Auth-Token", t.as_str())];
    let theirs = [("X-Auth-Token", o.as_str())];
    let post = |headers: &[(&str, &str)]| {
        let mut h = headers.to_vec();
        h.push(theirs[0]);
        assert_eq!(gw.req("POST", "/v1/AUTH_other/c", &h, b"").status, 204);
    };
    let get = || gw.req("GET", "/v1/AUTH_other/c/private", &mine, b"");
    for wildcard in ["*", "*:*", "*:tester"] {
        post(&[("X-Container-Read", wildcard)]);
        assert_eq!(
            get().status,
            403,
            "{wildcard} grants nothing across accounts"
        );
    }
    post(&[("X-Container-Read", "test:tester")]);
    let r = get();
    assert_eq!((r.status, r.text().as_str()), (200, "other"));
    let listing = gw.req("GET", "/v1/AUTH_other/c", &mine, b"");
    assert_eq!(listing.status, 200);
    assert!(
        listing.header("x-container-read").is_none(),
        "ACLs are the owner's"
    );
    let put = |name: &str| {
        gw.req(
            "PUT",
            &format!("/v1/AUTH_other/c/{name}"),
            &mine,
            b"from test",
        )
        .status
    };
    assert_eq!(put("w1"), 403, "read ACL only");
    post(&[("X-Container-Write", "test")]);
    assert_eq!(put("w2"), 201);
    assert_eq!(
        std::fs::read(gw.root.join("other/c/w2")).expect("written"),
        b"from test"
    );
    for (m, p) in [
        ("GET", "/v1/AUTH_other"),
        ("POST", "/v1/AUTH_other/c"),
        ("DELETE", "/v1/AUTH_other/c"),
        ("PUT", "/v1/AUTH_other/c2"),
    ] {
        assert_eq!(gw.req(m, p, &mine, b"").status, 403, "{m} {p}");
    }
    // Copies across accounts need both ends: read on the source, write on the destination.
    let copy_in = gw.req(
        "COPY",
        "/v1/AUTH_test/c/private",
        &[
            mine[0],
            ("Destination", "c/copied"),
            ("Destination-Account", "AUTH_other"),
        ],
        b"",
    );
    assert_eq!(copy_in.status, 201, "{}", copy_in.text());
    let copy_out = gw.req(
        "PUT",
        "/v1/AUTH_test/c/fetched",
        &[
            mine[0],
            ("X-Copy-From", "c/w2"),
            ("X-Copy-From-Account", "AUTH_other"),
        ],
        b"",
    );
    assert_eq!(copy_out.status, 201, "{}", copy_out.text());
    assert_eq!(copy_out.header("x-copied-from-account"), Some("AUTH_other"));
    assert_eq!(
        std::fs::read(gw.root.join("test/c/fetched")).expect("fetched"),
        b"from test"
    );
    post(&[("X-Container-Read", ""), ("X-Container-Write", "")]);
    assert_eq!(get().status, 403, "ACL removed");
    let again = gw.req(
        "PUT",
        "/v1/AUTH_test/c/again",
        &[
            mine[0],
            ("X-Copy-From", "c/w2"),
            ("X-Copy-From-Account", "AUTH_other"),
        ],
        b"",
    );
    assert_eq!(again.status, 403, "no read ACL, no copy");
    let bad = gw.req(
        "PUT",
        "/v1/AUTH_test/c/bad",
        &[
            mine[0],
            ("X-Copy-From", "c/w2"),
            ("X-Copy-From-Account", "other"),
        ],
        b"",
    );
    assert_eq!(bad.status, 412, "not AUTH_name");
}

/// COPY finds its source before it judges the destination, as Swift's copy middleware does
/// (testCopyAccount404s): a missing source the caller may read is a 404 even towards a
/// container it may not write; an existing one there is still a 403 and nothing is written;
/// a source the caller may not read is a 403 whether it exists or not.
#[test]
fn copy_reports_a_missing_source_before_an_unwritable_destination() {
    let (_dir, gw, t, o) = setup();
    let copy = |tok: &str, src: &str, dest: &str, account: &str| {
        let h = [
            ("X-Auth-Token", tok),
            ("Destination", dest),
            ("Destination-Account", account),
        ];
        gw.req("COPY", src, &h, b"").status
    };
    for src in ["/v1/AUTH_test/c/nope", "/v1/AUTH_test/nosuch/x"] {
        assert_eq!(copy(&t, src, "c/x", "AUTH_other"), 404, "{src}");
        assert_eq!(copy(&t, src, "c/x", "AUTH_test"), 404, "{src}");
    }
    assert_eq!(
        copy(&t, "/v1/AUTH_test/c/private", "c/x", "AUTH_other"),
        403
    );
    assert_eq!(
        copy(&t, "/v1/AUTH_test/c/private", "nosuch/x", "AUTH_test"),
        404
    );
    assert!(gw.root.join("other/c/x").symlink_metadata().is_err());
    for src in ["/v1/AUTH_test/c/nope", "/v1/AUTH_test/c/private"] {
        assert_eq!(copy(&o, src, "c/x", "AUTH_other"), 403, "{src} by other");
    }
}

#[test]
fn bounded_headers_and_bodies_and_expiring_tokens() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = Gw::start(dir.path(), &["--token-ttl", "1"]);
    let t = gw.token("test:tester", "testing");
    let auth = ("X-Auth-Token", t.as_str());
    assert_eq!(gw.req("PUT", "/v1/AUTH_test/c", &[auth], b"").status, 201);
    let long = "v".repeat(9000);
    let r = gw.req(
        "PUT",
        "/v1/AUTH_test/c/o",
        &[auth, ("X-Object-Meta-Big", &long)],
        b"",
    );
    assert_eq!(r.status, 400, "header over 8192 bytes");
    let huge = "h".repeat(200_000);
    let r = gw.req("GET", "/v1/AUTH_test/c", &[auth, ("X-Huge", &huge)], b"");
    assert!(
        r.status == 431 || r.status == 400,
        "request head over the limit: {}",
        r.status
    );
    // More metadata items than Swift's 90: its 400, not a bound on headers; far more headers
    // than any request needs: refused before anything is read into the handler.
    let names: Vec<String> = (0..100).map(|i| format!("X-Object-Meta-M{i}")).collect();
    let mut many: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "v")).collect();
    many.push(auth);
    let r = gw.req("PUT", "/v1/AUTH_test/c/many", &many, b"");
    assert_eq!(r.status, 400, "100 metadata items");
    assert!(r.text().contains("too many metadata items"), "{}", r.text());
    let names: Vec<String> = (0..300).map(|i| format!("X-H{i}")).collect();
    let mut lots: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "v")).collect();
    lots.push(auth);
    assert_eq!(gw.req("GET", "/v1/AUTH_test/c", &lots, b"").status, 431);
    let manifest = vec![b' '; 8 * 1024 * 1024 + 10];
    let r = gw.req(
        "PUT",
        "/v1/AUTH_test/c/slo?multipart-manifest=put",
        &[auth],
        &manifest,
    );
    assert_eq!(r.status, 413, "manifest over max_manifest_size");
    let r = gw.req(
        "PUT",
        "/v1/AUTH_test/c/o",
        &[auth, ("Content-Length", "6000000000")],
        b"",
    );
    assert_eq!(r.status, 413, "object over max_file_size");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert_eq!(
        gw.req("GET", "/v1/AUTH_test/c", &[auth], b"").status,
        401,
        "expired token"
    );
}

/// A symlink inside the account to a file (or a directory) of the same account is served
/// with its target's bytes; its metadata is its own (in the side store: Linux refuses user
/// xattrs on a symlink, which used to answer 500), and it is not listed.
#[test]
fn symlinks_inside_the_account_serve_their_target() {
    let (_dir, gw, t, _) = setup();
    let auth = ("X-Auth-Token", t.as_str());
    assert_eq!(gw.req("PUT", "/v1/AUTH_test/c2", &[auth], b"").status, 201);
    let put = gw.req(
        "PUT",
        "/v1/AUTH_test/c2/data",
        &[auth, ("X-Object-Meta-Color", "blue")],
        b"linked bytes",
    );
    assert_eq!(put.status, 201);
    let c = gw.root.join("test/c");
    std::os::unix::fs::symlink("private", c.join("rel")).expect("symlink");
    std::os::unix::fs::symlink(gw.root.join("test/c2/data"), c.join("abs")).expect("symlink");
    std::os::unix::fs::symlink("../c2", c.join("dir")).expect("symlink");
    for (name, body) in [
        ("rel", &b"test"[..]),
        ("abs", b"linked bytes"),
        ("dir/data", b"linked bytes"),
    ] {
        let p = format!("/v1/AUTH_test/c/{name}");
        let got = gw.req("GET", &p, &[auth], b"");
        assert_eq!(
            (got.status, got.body.as_slice()),
            (200, body),
            "{name}: {}",
            got.text()
        );
        let head = gw.req("HEAD", &p, &[auth], b"");
        assert_eq!(head.status, 200, "{name}");
        assert_eq!(
            head.header("content-length"),
            Some(body.len().to_string().as_str())
        );
    }
    // POST on the link changes the link's metadata only.
    let post = gw.req(
        "POST",
        "/v1/AUTH_test/c/abs",
        &[auth, ("X-Object-Meta-Note", "via link")],
        b"",
    );
    assert_eq!(post.status, 202, "{}", post.text());
    let head = gw.req("HEAD", "/v1/AUTH_test/c/abs", &[auth], b"");
    assert_eq!(head.header("x-object-meta-note"), Some("via link"));
    let target = gw.req("HEAD", "/v1/AUTH_test/c2/data", &[auth], b"");
    assert_eq!(target.header("x-object-meta-color"), Some("blue"));
    assert_eq!(target.header("x-object-meta-note"), None);
    // Not listed (reconciliation and the sync daemon skip links too).
    let list = gw.req("GET", "/v1/AUTH_test/c", &[auth], b"");
    assert_eq!(list.text(), "private\n");
    // DELETE removes the link, PUT replaces it with a file; the targets are untouched.
    assert_eq!(
        gw.req("DELETE", "/v1/AUTH_test/c/rel", &[auth], b"").status,
        204
    );
    assert!(c.join("rel").symlink_metadata().is_err());
    assert_eq!(
        gw.req("PUT", "/v1/AUTH_test/c/abs", &[auth], b"new").status,
        201
    );
    assert!(c.join("abs").symlink_metadata().expect("abs").is_file());
    assert_eq!(std::fs::read(c.join("private")).expect("private"), b"test");
    assert_eq!(
        std::fs::read(gw.root.join("test/c2/data")).expect("data"),
        b"linked bytes"
    );
}

/// No error page names a server path (issue 14: `.../etclink leads outside the account`);
/// the details go to the server's log.
#[test]
fn error_bodies_never_name_server_paths() {
    let (dir, gw, t, _) = setup();
    let auth = ("X-Auth-Token", t.as_str());
    let c = gw.root.join("test/c");
    std::os::unix::fs::symlink("/etc", c.join("etclink")).expect("symlink");
    std::os::unix::fs::symlink(dir.path().join("nothing"), c.join("dangling")).expect("symlink");
    std::fs::create_dir(c.join("adir")).expect("mkdir");
    // A symlink to a file is not turned into a directory for objects below it: 409.
    std::os::unix::fs::symlink("private", c.join("flink")).expect("symlink");
    let failing: [(&str, &str, &[u8]); 8] = [
        ("GET", "/v1/AUTH_test/c/etclink/passwd", b""),
        ("PUT", "/v1/AUTH_test/c/etclink/x", b"x"),
        ("GET", "/v1/AUTH_test/c/dangling", b""),
        ("PUT", "/v1/AUTH_test/c/flink/below", b"x"),
        ("DELETE", "/v1/AUTH_test/c/adir", b""),
        ("GET", "/v1/AUTH_test/nope/o", b""),
        ("PUT", "/v1/AUTH_test/c/o", b"wrong etag"),
        ("COPY", "/v1/AUTH_test/c/etclink/passwd", b""),
    ];
    let roots = [
        gw.root.display().to_string(),
        gw.root.canonicalize().expect("root").display().to_string(),
        dir.path().display().to_string(),
    ];
    for (m, p, body) in failing {
        let mut h = vec![auth, ("Destination", "c/copy")];
        if m == "PUT" && p.ends_with("/o") {
            h.push(("Etag", "00000000000000000000000000000000"));
        }
        let r = gw.req(m, p, &h, body);
        assert!(r.status >= 400, "{m} {p} answered {}", r.status);
        let text = r.text();
        for root in &roots {
            assert!(
                !text.contains(root.as_str()),
                "{m} {p} ({}) names {root}: {text}",
                r.status
            );
        }
        assert!(
            !text.contains("/tmp") && !text.contains("/etc"),
            "{m} {p}: {text}"
        );
    }
}
