// SPDX-License-Identifier: Apache-2.0
//! Swift symlinks: links created, followed, copied, listed, redirected on POST, and every
//! target read with the caller's own rights (the link never lends access).

use std::ops::Deref;

use crate::common::{chunked, Cluster, Resp};

const BODY: &[u8] = b"target body";

/// The shared cluster plus this module's containers and [`Setup::link`].
struct Setup(Cluster);

impl Deref for Setup {
    type Target = Cluster;
    fn deref(&self) -> &Cluster {
        &self.0
    }
}

impl Setup {
    /// `links` readable and writable by test:reader, `tgt` (admin only) with `tgt/t`.
    fn new() -> Setup {
        let s = Setup(Cluster::start());
        let acl = [
            ("X-Container-Read", "test:reader"),
            ("X-Container-Write", "test:reader"),
        ];
        assert_eq!(
            s.as_(&s.admin, "PUT", "/v1/AUTH_test/links", &acl, b"")
                .status,
            201
        );
        assert_eq!(
            s.as_(&s.admin, "PUT", "/v1/AUTH_test/tgt", &[], b"").status,
            201
        );
        let put = s.as_(&s.admin, "PUT", "/v1/AUTH_test/tgt/t", &[], BODY);
        assert_eq!(put.status, 201);
        s
    }

    fn link(&self, token: &str, path: &str, target: &str, more: &[(&str, &str)]) -> Resp {
        let mut h = vec![("X-Symlink-Target", target)];
        h.extend_from_slice(more);
        self.as_(token, "PUT", path, &h, b"")
    }
}

const LOC: &str = "/v1/AUTH_test/tgt/t";

#[test]
fn a_link_is_followed_and_read_itself_with_symlink_get() {
    let s = Setup::new();
    assert_eq!(
        s.link(&s.admin, "/v1/AUTH_test/links/l", "tgt/t", &[])
            .status,
        201
    );
    let g = s.as_(&s.admin, "GET", "/v1/AUTH_test/links/l", &[], b"");
    assert_eq!((g.status, g.body.as_slice()), (200, BODY));
    assert_eq!(g.header("content-location"), Some(LOC));
    let r = s.as_(
        &s.admin,
        "GET",
        "/v1/AUTH_test/links/l",
        &[("Range", "bytes=7-10")],
        b"",
    );
    assert_eq!((r.status, r.text().as_str()), (206, "body"));
    let own = s.as_(
        &s.admin,
        "GET",
        "/v1/AUTH_test/links/l?symlink=get",
        &[],
        b"",
    );
    assert_eq!((own.status, own.body.len()), (200, 0));
    assert_eq!(own.header("x-symlink-target"), Some("tgt/t"));
    assert_eq!(own.header("content-type"), Some("application/symlink"));
    // Stored as a zero-byte regular file, never a POSIX symlink.
    let md = std::fs::symlink_metadata(s.gw.root.join("test/links/l")).expect("stat");
    assert!(md.file_type().is_file() && md.len() == 0);
    // Listed with its target.
    let l = s.as_(&s.admin, "GET", "/v1/AUTH_test/links?format=json", &[], b"");
    let v: serde_json::Value = serde_json::from_slice(&l.body).expect("json");
    assert_eq!(v[0]["symlink_path"], LOC);
    assert_eq!(v[0]["hash"], "d41d8cd98f00b204e9800998ecf8427e");
    // POST applies to the link and answers 307 to the target.
    let p = s.as_(
        &s.admin,
        "POST",
        "/v1/AUTH_test/links/l",
        &[("X-Object-Meta-A", "1")],
        b"",
    );
    assert_eq!((p.status, p.header("location")), (307, Some(LOC)));
    let own = s.as_(
        &s.admin,
        "HEAD",
        "/v1/AUTH_test/links/l?symlink=get",
        &[],
        b"",
    );
    assert_eq!(own.header("x-object-meta-a"), Some("1"));
    assert_eq!(own.header("x-symlink-target"), Some("tgt/t"));
    // DELETE removes the link only.
    assert_eq!(
        s.as_(&s.admin, "DELETE", "/v1/AUTH_test/links/l", &[], b"")
            .status,
        204
    );
    assert_eq!(
        s.as_(&s.admin, "GET", "/v1/AUTH_test/tgt/t", &[], b"")
            .status,
        200
    );
}

#[test]
fn swift_refusals_dangling_links_and_loops() {
    let s = Setup::new();
    let l = "/v1/AUTH_test/links/l";
    let r = s.as_(&s.admin, "PUT", l, &[("X-Symlink-Target", "tgt/t")], b"x");
    assert_eq!(
        (r.status, r.text().as_str()),
        (400, "Symlink requests require a zero byte body")
    );
    let r = s.link(&s.admin, l, "t", &[]);
    assert_eq!(r.status, 412);
    let r = s.link(&s.admin, l, "links/l", &[]);
    assert_eq!(
        (r.status, r.text().as_str()),
        (400, "Symlink cannot target itself")
    );
    let r = s.as_(
        &s.admin,
        "POST",
        "/v1/AUTH_test/tgt/t",
        &[("X-Symlink-Target", "a/b")],
        b"",
    );
    assert_eq!(r.status, 400);
    // Dangling: 404 with where it points.
    assert_eq!(s.link(&s.admin, l, "tgt/nothing", &[]).status, 201);
    let g = s.as_(&s.admin, "GET", l, &[], b"");
    assert_eq!(
        (g.status, g.header("content-location")),
        (404, Some("/v1/AUTH_test/tgt/nothing"))
    );
    // Two links naming each other: 409 past symloop_max.
    assert_eq!(
        s.link(&s.admin, "/v1/AUTH_test/links/a", "links/b", &[])
            .status,
        201
    );
    assert_eq!(
        s.link(&s.admin, "/v1/AUTH_test/links/b", "links/a", &[])
            .status,
        201
    );
    let g = s.as_(&s.admin, "GET", "/v1/AUTH_test/links/a", &[], b"");
    assert_eq!(g.status, 409);
    assert_eq!(
        g.text(),
        "Too many levels of symbolic links, maximum allowed is 2"
    );
}

/// A link's PUT must carry no body bytes however it is framed (a chunked one is read up to
/// its first byte, as Swift does): a zero length or an empty chunked body makes the link.
#[test]
fn a_link_needs_a_zero_byte_body_however_framed() {
    let s = Setup::new();
    let path = "/v1/AUTH_test/links/z";
    let put = |framing: (&str, &str), body: &[u8]| {
        let h = [("X-Symlink-Target", "tgt/t"), framing];
        s.as_(&s.admin, "PUT", path, &h, body)
    };
    let te = ("Transfer-Encoding", "chunked");
    for (framing, body) in [
        (("Content-Length", "5"), b"hello".to_vec()),
        (te, chunked(b"hello")),
    ] {
        let r = put(framing, &body);
        assert_eq!(
            (r.status, r.text().as_str()),
            (400, "Symlink requests require a zero byte body"),
            "{framing:?}"
        );
        assert_eq!(s.as_(&s.admin, "GET", path, &[], b"").status, 404);
    }
    for (framing, body) in [(("Content-Length", "0"), Vec::new()), (te, chunked(b""))] {
        let r = put(framing, &body);
        assert_eq!(r.status, 201, "{framing:?}: {}", r.text());
        assert_eq!(s.as_(&s.admin, "GET", path, &[], b"").body, BODY);
    }
}

#[test]
fn static_links_check_the_target_etag() {
    let s = Setup::new();
    let etag = format!("{:x}", md5::Md5::digest(BODY));
    let l = "/v1/AUTH_test/links/st";
    let bad = s.link(&s.admin, l, "tgt/t", &[("X-Symlink-Target-Etag", "nope")]);
    assert_eq!(bad.status, 409);
    assert_eq!(
        bad.text(),
        format!("Object Etag '{etag}' does not match X-Symlink-Target-Etag header 'nope'")
    );
    let none = s.link(&s.admin, l, "tgt/none", &[("X-Symlink-Target-Etag", &etag)]);
    assert_eq!(
        (none.status, none.text().as_str()),
        (409, "X-Symlink-Target does not exist")
    );
    assert_eq!(
        s.link(&s.admin, l, "tgt/t", &[("X-Symlink-Target-Etag", &etag)])
            .status,
        201
    );
    let lst = s.as_(&s.admin, "GET", "/v1/AUTH_test/links?format=json", &[], b"");
    let v: serde_json::Value = serde_json::from_slice(&lst.body).expect("json");
    assert_eq!(
        (
            v[0]["symlink_etag"].as_str(),
            v[0]["symlink_bytes"].as_u64()
        ),
        (Some(etag.as_str()), Some(11))
    );
    // The target changes: the static link is broken (409), still saying where it points.
    assert_eq!(
        s.as_(&s.admin, "PUT", "/v1/AUTH_test/tgt/t", &[], b"new")
            .status,
        201
    );
    let g = s.as_(&s.admin, "GET", l, &[], b"");
    assert_eq!((g.status, g.header("content-location")), (409, Some(LOC)));
}

use md5::Digest;

#[test]
fn copies_take_the_target_or_with_symlink_get_the_link() {
    let s = Setup::new();
    assert_eq!(
        s.link(&s.admin, "/v1/AUTH_test/links/l", "tgt/t", &[])
            .status,
        201
    );
    let c = s.as_(
        &s.admin,
        "COPY",
        "/v1/AUTH_test/links/l",
        &[("Destination", "links/c1")],
        b"",
    );
    assert_eq!(c.status, 201);
    let g = s.as_(&s.admin, "GET", "/v1/AUTH_test/links/c1", &[], b"");
    assert_eq!(
        (g.body.as_slice(), g.header("content-location")),
        (BODY, None)
    );
    let c = s.as_(
        &s.admin,
        "COPY",
        "/v1/AUTH_test/links/l?symlink=get",
        &[("Destination", "links/c2")],
        b"",
    );
    assert_eq!(c.status, 201);
    let g = s.as_(&s.admin, "GET", "/v1/AUTH_test/links/c2", &[], b"");
    assert_eq!(
        (g.body.as_slice(), g.header("content-location")),
        (BODY, Some(LOC))
    );
}

#[test]
fn following_a_link_needs_read_on_the_target_container() {
    let s = Setup::new();
    // The reader may write `links` but not read `tgt`.
    assert_eq!(
        s.link(&s.reader, "/v1/AUTH_test/links/l", "tgt/t", &[])
            .status,
        201
    );
    let g = s.as_(&s.reader, "GET", "/v1/AUTH_test/links/l", &[], b"");
    assert_eq!((g.status, g.header("content-location")), (403, Some(LOC)));
    assert!(!g.text().contains("target body"));
    assert_eq!(
        s.as_(&s.reader, "HEAD", "/v1/AUTH_test/links/l", &[], b"")
            .status,
        403
    );
    // The link itself is the reader's to read.
    assert_eq!(
        s.as_(
            &s.reader,
            "GET",
            "/v1/AUTH_test/links/l?symlink=get",
            &[],
            b""
        )
        .status,
        200
    );
    // Copying through the link is refused too, and so is a static link (its check reads).
    let c = s.as_(
        &s.reader,
        "COPY",
        "/v1/AUTH_test/links/l",
        &[("Destination", "links/c")],
        b"",
    );
    assert_eq!(c.status, 403);
    let etag = format!("{:x}", md5::Md5::digest(BODY));
    let st = s.link(
        &s.reader,
        "/v1/AUTH_test/links/st",
        "tgt/t",
        &[("X-Symlink-Target-Etag", &etag)],
    );
    assert_eq!(st.status, 403);
    // Once the ACL grants it, the link reads.
    let acl = [("X-Container-Read", "test:reader")];
    assert_eq!(
        s.as_(&s.admin, "POST", "/v1/AUTH_test/tgt", &acl, b"")
            .status,
        204
    );
    let g = s.as_(&s.reader, "GET", "/v1/AUTH_test/links/l", &[], b"");
    assert_eq!((g.status, g.body.as_slice()), (200, BODY));
}

#[test]
fn a_public_container_does_not_publish_a_link_target() {
    let s = Setup::new();
    let acl = [("X-Container-Read", ".r:*")];
    assert_eq!(
        s.as_(&s.admin, "PUT", "/v1/AUTH_test/pub", &acl, b"")
            .status,
        201
    );
    assert_eq!(
        s.link(&s.admin, "/v1/AUTH_test/pub/l", "tgt/t", &[]).status,
        201
    );
    let g = s.gw.req("GET", "/v1/AUTH_test/pub/l", &[], b"");
    assert_eq!((g.status, g.header("content-location")), (401, Some(LOC)));
    let own = s.gw.req("GET", "/v1/AUTH_test/pub/l?symlink=get", &[], b"");
    assert_eq!(own.status, 200);
}

#[test]
fn cross_account_links_follow_the_target_account_acl() {
    let s = Setup::new();
    assert_eq!(
        s.as_(&s.other, "PUT", "/v1/AUTH_other/c", &[], b"").status,
        201
    );
    let l = "/v1/AUTH_other/c/l";
    let r = s.link(
        &s.other,
        l,
        "tgt/t",
        &[("X-Symlink-Target-Account", "AUTH_test")],
    );
    assert_eq!(r.status, 201);
    let own = s.as_(&s.other, "HEAD", &format!("{l}?symlink=get"), &[], b"");
    assert_eq!(own.header("x-symlink-target-account"), Some("AUTH_test"));
    let g = s.as_(&s.other, "GET", l, &[], b"");
    assert_eq!((g.status, g.header("content-location")), (403, Some(LOC)));
    // A wildcard of the target account grants nothing to another account.
    let acl = [("X-Container-Read", "*")];
    assert_eq!(
        s.as_(&s.admin, "POST", "/v1/AUTH_test/tgt", &acl, b"")
            .status,
        204
    );
    assert_eq!(s.as_(&s.other, "GET", l, &[], b"").status, 403);
    let acl = [("X-Container-Read", "other")];
    assert_eq!(
        s.as_(&s.admin, "POST", "/v1/AUTH_test/tgt", &acl, b"")
            .status,
        204
    );
    let g = s.as_(&s.other, "GET", l, &[], b"");
    assert_eq!((g.status, g.body.as_slice()), (200, BODY));
}

/// An SLO manifest `[{"path": p}...]` for `paths`.
fn manifest(paths: &[&str]) -> Vec<u8> {
    let v: Vec<serde_json::Value> = paths
        .iter()
        .map(|p| serde_json::json!({ "path": p }))
        .collect();
    serde_json::to_vec(&v).expect("json")
}

#[test]
fn slo_segments_that_are_links_read_their_targets() {
    let s = Setup::new();
    let etag = format!("{:x}", md5::Md5::digest(BODY));
    let dynamic = s.link(&s.admin, "/v1/AUTH_test/links/d", "tgt/t", &[]);
    assert_eq!(dynamic.status, 201);
    let stat = s.link(
        &s.admin,
        "/v1/AUTH_test/links/s",
        "tgt/t",
        &[("X-Symlink-Target-Etag", etag.as_str())],
    );
    assert_eq!(stat.status, 201);
    // Each link stands for its target: its ETag and size are checked and hashed.
    let bad =
        serde_json::json!([{ "path": "links/d", "etag": "d41d8cd98f00b204e9800998ecf8427e" }]);
    let r = s.as_(
        &s.admin,
        "PUT",
        "/v1/AUTH_test/links/bad?multipart-manifest=put",
        &[],
        &serde_json::to_vec(&bad).expect("json"),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let good = serde_json::json!([
        { "path": "links/d", "etag": etag, "size_bytes": BODY.len() },
        { "path": "links/s" },
    ]);
    let m = "/v1/AUTH_test/links/m";
    let r = s.as_(
        &s.admin,
        "PUT",
        &format!("{m}?multipart-manifest=put"),
        &[],
        &serde_json::to_vec(&good).expect("json"),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let slo_etag = format!("{:x}", md5::Md5::digest(format!("{etag}{etag}")));
    let g = s.as_(&s.admin, "GET", m, &[], b"");
    assert_eq!(g.status, 200);
    assert_eq!(g.body, [BODY, BODY].concat());
    assert_eq!(g.header("etag"), Some(format!("\"{slo_etag}\"").as_str()));
    // The stored manifest names the links, with their targets' ETag and size.
    let raw = s.as_(
        &s.admin,
        "GET",
        &format!("{m}?multipart-manifest=get"),
        &[],
        b"",
    );
    let v: serde_json::Value = serde_json::from_slice(&raw.body).expect("json");
    assert_eq!(v[0]["name"], "/links/d");
    assert_eq!(v[0]["hash"], etag.as_str());
    assert_eq!(v[1]["bytes"], BODY.len());
}

#[test]
fn slo_bytes_from_a_link_target_need_read_on_the_target_container() {
    let s = Setup::new();
    assert_eq!(
        s.link(&s.admin, "/v1/AUTH_test/links/l", "tgt/t", &[])
            .status,
        201
    );
    let m = "/v1/AUTH_test/links/m";
    let put = format!("{m}?multipart-manifest=put");
    // The reader may read `links`, not `tgt`: its manifest PUT through the link is refused.
    let r = s.as_(&s.reader, "PUT", &put, &[], &manifest(&["links/l"]));
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("403 Forbidden"), "{}", r.text());
    // The admin's SLO in `links` holds tgt/t's bytes: the reader may not read them...
    let r = s.as_(&s.admin, "PUT", &put, &[], &manifest(&["links/l"]));
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(s.as_(&s.admin, "GET", m, &[], b"").body, BODY);
    assert_eq!(s.as_(&s.reader, "GET", m, &[], b"").status, 409);
    // ...a SLO nesting it (through another link) neither...
    assert_eq!(
        s.link(&s.admin, "/v1/AUTH_test/links/lm", "links/m", &[])
            .status,
        201
    );
    let outer = "/v1/AUTH_test/links/outer";
    let r = s.as_(
        &s.admin,
        "PUT",
        &format!("{outer}?multipart-manifest=put"),
        &[],
        &manifest(&["links/lm"]),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(s.as_(&s.admin, "GET", outer, &[], b"").body, BODY);
    assert_eq!(s.as_(&s.reader, "GET", outer, &[], b"").status, 409);
    // ...until `tgt` lets the reader read.
    let acl = [("X-Container-Read", "test:reader")];
    assert_eq!(
        s.as_(&s.admin, "POST", "/v1/AUTH_test/tgt", &acl, b"")
            .status,
        204
    );
    let g = s.as_(&s.reader, "GET", m, &[], b"");
    assert_eq!((g.status, g.body.as_slice()), (200, BODY));
    assert_eq!(s.as_(&s.reader, "GET", outer, &[], b"").body, BODY);
}

#[test]
fn slo_segments_linking_to_another_account_are_refused() {
    let s = Setup::new();
    assert_eq!(
        s.as_(
            &s.other,
            "PUT",
            "/v1/AUTH_other/c",
            &[("X-Container-Read", "test:tester")],
            b""
        )
        .status,
        201
    );
    assert_eq!(
        s.as_(&s.other, "PUT", "/v1/AUTH_other/c/o", &[], BODY)
            .status,
        201
    );
    let r = s.link(
        &s.admin,
        "/v1/AUTH_test/links/x",
        "c/o",
        &[("X-Symlink-Target-Account", "AUTH_other")],
    );
    assert_eq!(r.status, 201);
    // The link itself can be read...
    assert_eq!(
        s.as_(&s.admin, "GET", "/v1/AUTH_test/links/x", &[], b"")
            .body,
        BODY
    );
    // ...but an SLO records the containers of its own account only: refused, not lent.
    let r = s.as_(
        &s.admin,
        "PUT",
        "/v1/AUTH_test/links/m?multipart-manifest=put",
        &[],
        &manifest(&["links/x"]),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("another account"), "{}", r.text());
}
