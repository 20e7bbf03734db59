// SPDX-License-Identifier: Apache-2.0
//! Large objects read their segments with the caller's rights: a user who may write one
//! container cannot read another through a DLO or SLO manifest pointing at it (issue 14).

use std::ops::Deref;

use crate::common::Cluster;

const SECRET: &[u8] = b"SECRET-BYTES";

/// The shared cluster plus containers `pub` and `secret` and this module's checks.
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
        let acl = [
            ("X-Container-Read", "test:reader"),
            ("X-Container-Write", "test:reader"),
        ];
        assert_eq!(s.req("PUT", "/v1/AUTH_test/pub", &acl, b"").status, 201);
        assert_eq!(s.req("PUT", "/v1/AUTH_test/secret", &[], b"").status, 201);
        let put = s.req("PUT", "/v1/AUTH_test/secret/s1", &[], SECRET);
        assert_eq!(put.status, 201);
        let put = s.req("PUT", "/v1/AUTH_test/pub/p1", &[], b"-public");
        assert_eq!(put.status, 201);
        s
    }

    fn grant_secret_read(&self) {
        let r = self.req(
            "POST",
            "/v1/AUTH_test/secret",
            &[("X-Container-Read", "test:reader")],
            b"",
        );
        assert_eq!(r.status, 204);
    }

    /// The reader is refused `path` with `status` and sees none of the secret bytes.
    fn assert_refused(&self, m: &str, path: &str) {
        self.assert_refused_with(m, path, 403);
    }

    fn assert_refused_with(&self, m: &str, path: &str, status: u16) {
        let r = self.as_(&self.reader, m, path, &[], b"");
        assert_eq!(r.status, status, "{m} {path}: {}", r.text());
        assert!(
            !r.text().contains("SECRET"),
            "{m} {path} leaked: {}",
            r.text()
        );
    }
}

#[test]
fn dlo_segments_need_read_access_to_their_container() {
    let s = Setup::new();
    s.assert_refused("GET", "/v1/AUTH_test/secret/s1");
    let manifest = [("X-Object-Manifest", "secret/")];
    // Like Swift, the manifest itself may be written (it is checked when read).
    let put = s.as_(&s.reader, "PUT", "/v1/AUTH_test/pub/dlo", &manifest, b"");
    assert_eq!(put.status, 201, "{}", put.text());
    s.assert_refused("GET", "/v1/AUTH_test/pub/dlo");
    s.assert_refused("HEAD", "/v1/AUTH_test/pub/dlo");
    let range = s.as_(
        &s.reader,
        "GET",
        "/v1/AUTH_test/pub/dlo",
        &[("Range", "bytes=0-3")],
        b"",
    );
    assert_eq!(range.status, 403);
    // Nor through a server-side copy of the manifest.
    let copy = s.as_(
        &s.reader,
        "PUT",
        "/v1/AUTH_test/pub/stolen",
        &[("X-Copy-From", "pub/dlo")],
        b"",
    );
    assert_eq!(copy.status, 403, "{}", copy.text());
    assert_eq!(
        s.as_(&s.reader, "GET", "/v1/AUTH_test/pub/stolen", &[], b"")
            .status,
        404
    );

    s.grant_secret_read();
    let got = s.as_(&s.reader, "GET", "/v1/AUTH_test/pub/dlo", &[], b"");
    assert_eq!((got.status, got.body.as_slice()), (200, SECRET));
}

#[test]
fn slo_segments_need_read_access_at_put_and_at_get() {
    let s = Setup::new();
    let body = br#"[{"path": "/pub/p1"}, {"path": "/secret/s1"}]"#;
    let path = "/v1/AUTH_test/pub/slo?multipart-manifest=put";
    // At PUT, Swift HEADs each segment as the caller: the refusal is listed in a 400.
    let put = s.as_(&s.reader, "PUT", path, &[], body);
    assert_eq!(put.status, 400, "{}", put.text());
    assert!(
        put.text().contains("/secret/s1, 403 Forbidden"),
        "{}",
        put.text()
    );
    assert_eq!(
        s.as_(&s.reader, "GET", "/v1/AUTH_test/pub/slo", &[], b"")
            .status,
        404
    );

    // A manifest the admin made is read with the reader's rights: a segment it may not read
    // is Swift's 409 for a GET; a HEAD reads no segment and answers from the manifest.
    let put = s.req("PUT", path, &[], body);
    assert_eq!(put.status, 201, "{}", put.text());
    s.assert_refused_with("GET", "/v1/AUTH_test/pub/slo", 409);
    let ranged = s.as_(
        &s.reader,
        "GET",
        "/v1/AUTH_test/pub/slo",
        &[("Range", "bytes=7-12")],
        b"",
    );
    assert_eq!(
        ranged.status, 409,
        "a range of public bytes only is refused too"
    );
    let head = s.as_(&s.reader, "HEAD", "/v1/AUTH_test/pub/slo", &[], b"");
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("19"));
    assert!(head.body.is_empty());
    let raw = s.as_(
        &s.reader,
        "GET",
        "/v1/AUTH_test/pub/slo?multipart-manifest=get",
        &[],
        b"",
    );
    assert_eq!(
        raw.status, 200,
        "the manifest itself is in a readable container"
    );
    assert!(!raw.text().contains("SECRET-BYTES"));
    let copy = s.as_(
        &s.reader,
        "COPY",
        "/v1/AUTH_test/pub/slo",
        &[("Destination", "pub/x")],
        b"",
    );
    assert_eq!(copy.status, 409, "{}", copy.text());
    assert_eq!(
        s.as_(&s.reader, "GET", "/v1/AUTH_test/pub/x", &[], b"")
            .status,
        404
    );

    s.grant_secret_read();
    let put = s.as_(
        &s.reader,
        "PUT",
        "/v1/AUTH_test/pub/mine?multipart-manifest=put",
        &[],
        body,
    );
    assert_eq!(put.status, 201, "{}", put.text());
    for name in ["slo", "mine"] {
        let got = s.as_(
            &s.reader,
            "GET",
            &format!("/v1/AUTH_test/pub/{name}"),
            &[],
            b"",
        );
        assert_eq!(got.status, 200, "{name}");
        assert_eq!(got.text(), "-publicSECRET-BYTES", "{name}");
    }
}

/// An SLO manifest copied as a manifest into another account (Swift's
/// test_slo_copy_the_manifest_account) is a manifest PUT there: its segments, the same names,
/// are checked in the destination account with the caller's rights (403/404 lines of a 400,
/// a 400 for other bytes under those names), so it never reads the source account's
/// segments. A DLO manifest is still refused.
#[test]
fn manifests_copied_to_another_account_check_their_segments_there() {
    let s = Cluster::start();
    let (t, o, gw) = (s.admin.clone(), s.other.clone(), &s.gw);
    let req =
        |tok: &str, m: &str, p: &str, h: &[(&str, &str)], body: &[u8]| s.as_(tok, m, p, h, body);
    let segs = [("s1", &b"aaaa"[..]), ("s2", b"bbbb")];
    for p in ["/v1/AUTH_test/segs", "/v1/AUTH_test/c"] {
        assert_eq!(req(&t, "PUT", p, &[], b"").status, 201);
    }
    for (name, data) in segs {
        let p = format!("/v1/AUTH_test/segs/{name}");
        assert_eq!(req(&t, "PUT", &p, &[], data).status, 201);
    }
    let manifest = br#"[{"path": "/segs/s1"}, {"path": "/segs/s2"}]"#;
    let put = req(
        &t,
        "PUT",
        "/v1/AUTH_test/c/m?multipart-manifest=put",
        &[],
        manifest,
    );
    assert_eq!(put.status, 201, "{}", put.text());
    let dst = [("X-Container-Write", "test:tester")];
    assert_eq!(req(&o, "PUT", "/v1/AUTH_other/dst", &dst, b"").status, 201);
    let copy = |path: &str| {
        let h = [
            ("Destination", "dst/m"),
            ("Destination-Account", "AUTH_other"),
        ];
        req(&t, "COPY", path, &h, b"")
    };
    let m = "/v1/AUTH_test/c/m?multipart-manifest=get";
    let r = copy(m);
    assert_eq!(
        (r.status, r.text().matches("403 Forbidden").count()),
        (400, 2)
    );
    let read = [("X-Container-Read", "test:tester")];
    assert_eq!(
        req(&o, "PUT", "/v1/AUTH_other/segs", &read, b"").status,
        201
    );
    let r = copy(m);
    assert_eq!(
        (r.status, r.text().matches("404 Not Found").count()),
        (400, 2)
    );
    for (name, _) in segs {
        let p = format!("/v1/AUTH_other/segs/{name}");
        assert_eq!(req(&o, "PUT", &p, &[], b"OTHER").status, 201);
    }
    assert_eq!(copy(m).status, 400, "other bytes under the same names");
    assert!(gw.root.join("other/dst/m").symlink_metadata().is_err());
    for (name, data) in segs {
        let p = format!("/v1/AUTH_other/segs/{name}");
        assert_eq!(req(&o, "PUT", &p, &[], data).status, 201);
    }
    let r = copy(m);
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.header("x-copied-from-account"), Some("AUTH_test"));
    let got = req(&o, "GET", "/v1/AUTH_other/dst/m", &[], b"");
    assert_eq!((got.status, got.text().as_str()), (200, "aaaabbbb"));
    // A DLO manifest is not copied across accounts as a manifest.
    let dlo = [("X-Object-Manifest", "segs/s")];
    assert_eq!(req(&t, "PUT", "/v1/AUTH_test/c/d", &dlo, b"").status, 201);
    assert_eq!(copy("/v1/AUTH_test/c/d?multipart-manifest=get").status, 403);
}
