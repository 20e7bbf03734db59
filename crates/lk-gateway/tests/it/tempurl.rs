// SPDX-License-Identifier: Apache-2.0
//! Temporary URLs: account and container keys, the methods a signature admits, prefixes,
//! address ranges, the answer's headers, and every refusal (expired, another path, another
//! method, another account's key, outside the prefix or the container, keys hidden from
//! non-owners). Signatures are made here with the `hmac`/`sha2` crates directly.

use std::ops::Deref;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hmac::{Hmac, Mac};

use crate::common::{Cluster, Resp};

const ACCOUNT_KEY: &str = "acct-secret";
const CONTAINER_KEY: &str = "cont-secret";
const OTHER_KEY: &str = "other-secret";

/// The shared cluster plus this module's keys, objects and anonymous requests.
struct Setup(Cluster);

impl Deref for Setup {
    type Target = Cluster;
    fn deref(&self) -> &Cluster {
        &self.0
    }
}

fn sign(key: &str, method: &str, expires: i64, path: &str) -> String {
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key.as_bytes()).expect("key");
    mac.update(format!("{method}\n{expires}\n{path}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn later() -> i64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock");
    i64::try_from(now.as_secs()).expect("secs") + 3600
}

/// `path?temp_url_sig=..&temp_url_expires=..` signed with `key` for `method`.
fn url(key: &str, method: &str, path: &str) -> String {
    let e = later();
    format!(
        "{path}?temp_url_sig={}&temp_url_expires={e}",
        sign(key, method, e, path)
    )
}

impl Setup {
    fn new() -> Setup {
        let s = Setup(Cluster::start());
        let acct = [("X-Account-Meta-Temp-URL-Key", ACCOUNT_KEY)];
        assert_eq!(s.req("POST", "/v1/AUTH_test", &acct, b"").status, 204);
        let ck = [("X-Container-Meta-Temp-URL-Key", CONTAINER_KEY)];
        for (path, h, body) in [
            ("/v1/AUTH_test/c", &[][..], &b""[..]),
            ("/v1/AUTH_test/ck", &ck[..], b""),
            ("/v1/AUTH_test/c/dir/o", &[], b"object bytes"),
            ("/v1/AUTH_test/c/other", &[], b"other bytes"),
            ("/v1/AUTH_test/ck/o", &[], b"container-key bytes"),
            ("/v1/AUTH_test/ck/seg1", &[], b"AB"),
        ] {
            assert_eq!(s.req("PUT", path, h, body).status / 100, 2, "{path}");
        }
        let meta = [
            ("X-Object-Meta-Secret", "hidden"),
            ("X-Object-Meta-Public-Color", "blue"),
        ];
        let r = s.req("POST", "/v1/AUTH_test/c/dir/o", &meta, b"");
        assert_eq!(r.status, 202);
        let okey = [("X-Account-Meta-Temp-URL-Key", OTHER_KEY)];
        let r = s.as_(&s.other, "POST", "/v1/AUTH_other", &okey, b"");
        assert_eq!(r.status, 204);
        s
    }

    fn anon(&self, m: &str, p: &str, h: &[(&str, &str)], body: &[u8]) -> Resp {
        self.gw.req(m, p, h, body)
    }

    fn assert_invalid(&self, m: &str, p: &str, h: &[(&str, &str)]) {
        let r = self.anon(m, p, h, b"x");
        assert_eq!(r.status, 401, "{m} {p}: {}", r.text());
        if m != "HEAD" {
            assert_eq!(r.text(), "401 Unauthorized: Temp URL invalid\n", "{m} {p}");
        }
    }
}

#[test]
fn account_key_get_head_and_answer_headers() {
    let s = Setup::new();
    let path = "/v1/AUTH_test/c/dir/o";
    let u = url(ACCOUNT_KEY, "GET", path);
    let r = s.anon("GET", &u, &[], b"");
    assert_eq!((r.status, r.text().as_str()), (200, "object bytes"));
    assert_eq!(
        r.header("content-disposition"),
        Some("attachment; filename=\"o\"; filename*=UTF-8''o")
    );
    assert!(r.header("expires").is_some_and(|e| e.ends_with(" GMT")));
    assert_eq!(
        r.header("x-object-meta-secret"),
        None,
        "private metadata hidden"
    );
    assert_eq!(r.header("x-object-meta-public-color"), Some("blue"));
    // A GET signature admits HEAD; a token (even a bad one) is not looked at.
    assert_eq!(s.anon("HEAD", &u, &[], b"").status, 200);
    let bad_token = [("X-Auth-Token", "AUTH_tknope")];
    assert_eq!(s.anon("GET", &u, &bad_token, b"").status, 200);
    // filename and inline.
    let r = s.anon(
        "GET",
        &format!("{u}&filename=my%20file.txt&inline"),
        &[],
        b"",
    );
    assert_eq!(
        r.header("content-disposition"),
        Some("inline; filename=\"my file.txt\"; filename*=UTF-8''my%20file.txt")
    );
    // ISO 8601 expiry and a base64 SHA-512 signature.
    let e = later();
    let mut mac = <Hmac<sha2::Sha512> as Mac>::new_from_slice(ACCOUNT_KEY.as_bytes()).expect("k");
    mac.update(format!("GET\n{e}\n{path}").as_bytes());
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    let r = s.anon(
        "GET",
        &format!("{path}?temp_url_sig=sha512:{b64}&temp_url_expires={e}"),
        &[],
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = s.anon(
        "GET",
        &format!(
            "/v1/AUTH_test/c/other?temp_url_sig={}&temp_url_expires=2099-01-01T00:00:00Z",
            sign(ACCOUNT_KEY, "GET", 4_070_908_800, "/v1/AUTH_test/c/other")
        ),
        &[],
        b"",
    );
    assert_eq!((r.status, r.text().as_str()), (200, "other bytes"));
}

#[test]
fn signatures_are_refused_off_their_path_method_time_or_key() {
    let s = Setup::new();
    let path = "/v1/AUTH_test/c/dir/o";
    let u = url(ACCOUNT_KEY, "GET", path);
    // Another object, another method, a changed signature or expiry.
    let q = u.split_once('?').expect("query").1;
    s.assert_invalid("GET", &format!("/v1/AUTH_test/c/other?{q}"), &[]);
    s.assert_invalid("PUT", &u, &[]);
    s.assert_invalid("DELETE", &u, &[]);
    s.assert_invalid("POST", &u, &[]);
    s.assert_invalid("HEAD", &url(ACCOUNT_KEY, "DELETE", path), &[]);
    let at = u.find("temp_url_sig=").expect("sig") + "temp_url_sig=".len();
    let c = if &u[at..=at] == "a" { "b" } else { "a" };
    let changed = format!("{}{c}{}", &u[..at], &u[at + 1..]);
    s.assert_invalid("GET", &changed, &[]);
    let e = later();
    let sig = sign(ACCOUNT_KEY, "GET", e, path);
    s.assert_invalid(
        "GET",
        &format!("{path}?temp_url_sig={sig}&temp_url_expires={}", e + 1),
        &[],
    );
    // Expired, missing pieces, not a known form.
    let past = 1_000_000_000;
    let sig = sign(ACCOUNT_KEY, "GET", past, path);
    s.assert_invalid(
        "GET",
        &format!("{path}?temp_url_sig={sig}&temp_url_expires={past}"),
        &[],
    );
    s.assert_invalid("GET", &format!("{path}?temp_url_expires={e}"), &[]);
    s.assert_invalid("GET", &format!("{path}?temp_url_sig={sig}"), &[]);
    s.assert_invalid(
        "GET",
        &format!("{path}?temp_url_sig=md5:AAAA&temp_url_expires={e}"),
        &[],
    );
    // COPY is not a temporary URL method; containers and accounts are not its targets.
    s.assert_invalid("COPY", &u, &[("Destination", "c/copy")]);
    s.assert_invalid("GET", &url(ACCOUNT_KEY, "GET", "/v1/AUTH_test/c"), &[]);
    s.assert_invalid("GET", &url(ACCOUNT_KEY, "GET", "/v1/AUTH_test"), &[]);
    // A key of another account signs nothing here, and its own URLs stay in its account.
    s.assert_invalid("GET", &url(OTHER_KEY, "GET", path), &[]);
    let r = s.anon(
        "PUT",
        &url(OTHER_KEY, "PUT", "/v1/AUTH_other/c/x"),
        &[
            ("X-Copy-From", "c/dir/o"),
            ("X-Copy-From-Account", "AUTH_test"),
        ],
        b"",
    );
    assert_eq!(r.status, 401, "{}", r.text());
    // An account without keys signs nothing.
    let r = s.req(
        "POST",
        "/v1/AUTH_test",
        &[("X-Remove-Account-Meta-Temp-URL-Key", "x")],
        b"",
    );
    assert_eq!(r.status, 204);
    s.assert_invalid("GET", &u, &[]);
}

#[test]
fn write_methods_and_their_limits() {
    let s = Setup::new();
    let path = "/v1/AUTH_test/c/new";
    let put = url(ACCOUNT_KEY, "PUT", path);
    assert_eq!(s.anon("PUT", &put, &[], b"fresh").status, 201);
    assert_eq!(s.req("GET", path, &[], b"").text(), "fresh");
    assert_eq!(
        s.anon("HEAD", &put, &[], b"").status,
        200,
        "PUT admits HEAD"
    );
    s.assert_invalid("GET", &put, &[]);
    // Headers that would reach other objects are refused; X-Timestamp is dropped.
    for h in ["X-Object-Manifest", "X-Symlink-Target"] {
        let r = s.anon("PUT", &put, &[(h, "c/dir")], b"");
        assert_eq!(r.status, 400, "{h}");
        assert_eq!(
            r.text(),
            format!("The header '{h}' is not allowed in this tempurl")
        );
    }
    let post = url(ACCOUNT_KEY, "POST", path);
    let r = s.anon("POST", &post, &[("X-Object-Manifest", "c/dir")], b"");
    assert_eq!(r.status, 400);
    let r = s.anon("POST", &post, &[("X-Object-Meta-Color", "red")], b"");
    assert_eq!(r.status, 202);
    let r = s.req("HEAD", path, &[], b"");
    assert_eq!(r.header("x-object-meta-color"), Some("red"));
    // Other query parameters are dropped: no SLO manifest through a PUT signature.
    let manifest = format!("{put}&multipart-manifest=put");
    let r = s.anon("PUT", &manifest, &[], b"[]");
    assert_eq!(r.status, 201, "{}", r.text());
    let r = s.req("HEAD", path, &[], b"");
    assert_eq!(r.header("x-static-large-object"), None);
    assert_eq!(
        s.anon("DELETE", &url(ACCOUNT_KEY, "DELETE", path), &[], b"")
            .status,
        204
    );
    assert_eq!(s.req("GET", path, &[], b"").status, 404);
}

#[test]
fn prefix_signatures_cover_their_prefix_only() {
    let s = Setup::new();
    let e = later();
    let sig = sign(ACCOUNT_KEY, "GET", e, "prefix:/v1/AUTH_test/c/dir/");
    let q = format!("temp_url_sig={sig}&temp_url_expires={e}&temp_url_prefix=dir/");
    let r = s.anon("GET", &format!("/v1/AUTH_test/c/dir/o?{q}"), &[], b"");
    assert_eq!((r.status, r.text().as_str()), (200, "object bytes"));
    s.assert_invalid("GET", &format!("/v1/AUTH_test/c/other?{q}"), &[]);
    s.assert_invalid("GET", &format!("/v1/AUTH_test/ck/dir/o?{q}"), &[]);
    // Without the prefix parameter the same signature is a plain one, and wrong.
    let q = format!("temp_url_sig={sig}&temp_url_expires={e}");
    s.assert_invalid("GET", &format!("/v1/AUTH_test/c/dir/o?{q}"), &[]);
}

#[test]
fn ip_ranges_bind_the_client_address() {
    let s = Setup::new();
    let path = "/v1/AUTH_test/c/dir/o";
    let e = later();
    for (range, ok) in [
        ("127.0.0.1", true),
        ("127.0.0.0/8", true),
        ("10.0.0.0/8", false),
    ] {
        let mut mac =
            <Hmac<sha2::Sha256> as Mac>::new_from_slice(ACCOUNT_KEY.as_bytes()).expect("k");
        mac.update(format!("ip={range}\nGET\n{e}\n{path}").as_bytes());
        let sig = hex::encode(mac.finalize().into_bytes());
        let u = format!("{path}?temp_url_sig={sig}&temp_url_expires={e}&temp_url_ip_range={range}");
        let status = s.anon("GET", &u, &[], b"").status;
        assert_eq!(status, if ok { 200 } else { 401 }, "{range}");
    }
}

#[test]
fn container_keys_reach_their_container_only() {
    let s = Setup::new();
    let r = s.anon(
        "GET",
        &url(CONTAINER_KEY, "GET", "/v1/AUTH_test/ck/o"),
        &[],
        b"",
    );
    assert_eq!((r.status, r.text().as_str()), (200, "container-key bytes"));
    s.assert_invalid(
        "GET",
        &url(CONTAINER_KEY, "GET", "/v1/AUTH_test/c/dir/o"),
        &[],
    );
    // A DLO in the container whose segments are elsewhere: 401; inside: fine.
    for (name, segs) in [("inside", "ck/seg"), ("outside", "c/dir/")] {
        let p = format!("/v1/AUTH_test/ck/{name}");
        let r = s.req("PUT", &p, &[("X-Object-Manifest", segs)], b"");
        assert_eq!(r.status, 201);
    }
    let r = s.anon(
        "GET",
        &url(CONTAINER_KEY, "GET", "/v1/AUTH_test/ck/inside"),
        &[],
        b"",
    );
    assert_eq!((r.status, r.text().as_str()), (200, "AB"));
    let outside = url(CONTAINER_KEY, "GET", "/v1/AUTH_test/ck/outside");
    assert_eq!(s.anon("GET", &outside, &[], b"").status, 401);
    assert_eq!(s.anon("HEAD", &outside, &[], b"").status, 401);
    // The account key reaches the other container's segments.
    let r = s.anon(
        "GET",
        &url(ACCOUNT_KEY, "GET", "/v1/AUTH_test/ck/outside"),
        &[],
        b"",
    );
    assert_eq!((r.status, r.text().as_str()), (200, "object bytes"));
    // Copies: the source must be inside the grant too.
    let put = url(CONTAINER_KEY, "PUT", "/v1/AUTH_test/ck/copy");
    let r = s.anon("PUT", &put, &[("X-Copy-From", "c/dir/o")], b"");
    assert_eq!(r.status, 401);
    let r = s.anon("PUT", &put, &[("X-Copy-From", "ck/o")], b"");
    assert_eq!(r.status, 201, "{}", r.text());
}

#[test]
fn keys_are_the_owners_only() {
    let s = Setup::new();
    let reader = s.reader.clone();
    let r = s.req(
        "POST",
        "/v1/AUTH_test/ck",
        &[("X-Container-Read", "test:reader,other")],
        b"",
    );
    assert_eq!(r.status, 204);
    let r = s.req("HEAD", "/v1/AUTH_test/ck", &[], b"");
    assert_eq!(
        r.header("x-container-meta-temp-url-key"),
        Some(CONTAINER_KEY)
    );
    for token in [reader.as_str(), s.other.as_str()] {
        let r =
            s.gw.req("HEAD", "/v1/AUTH_test/ck", &[("X-Auth-Token", token)], b"");
        assert_eq!(r.status, 204);
        assert_eq!(r.header("x-container-meta-temp-url-key"), None, "hidden");
        let r =
            s.gw.req("GET", "/v1/AUTH_test/ck", &[("X-Auth-Token", token)], b"");
        assert_eq!(r.header("x-container-meta-temp-url-key"), None, "hidden");
    }
    // Neither a reader nor another account can read or set the keys.
    let h = [("X-Auth-Token", reader.as_str())];
    assert_eq!(s.gw.req("HEAD", "/v1/AUTH_test", &h, b"").status, 403);
    let set = [
        ("X-Auth-Token", reader.as_str()),
        ("X-Container-Meta-Temp-URL-Key", "mine"),
    ];
    assert_eq!(s.gw.req("POST", "/v1/AUTH_test/ck", &set, b"").status, 403);
    let set = [
        ("X-Auth-Token", reader.as_str()),
        ("X-Account-Meta-Temp-URL-Key", "mine"),
    ];
    assert_eq!(s.gw.req("POST", "/v1/AUTH_test", &set, b"").status, 403);
    s.assert_invalid("GET", &url("mine", "GET", "/v1/AUTH_test/ck/o"), &[]);
    let info = s.anon("GET", "/info", &[], b"").text();
    let v: serde_json::Value = serde_json::from_str(&info).expect("json");
    assert_eq!(
        v["tempurl"]["allowed_digests"],
        serde_json::json!(["sha1", "sha256", "sha512"])
    );
    assert_eq!(
        v["tempurl"]["methods"],
        serde_json::json!(["GET", "HEAD", "PUT", "POST", "DELETE"])
    );
}
