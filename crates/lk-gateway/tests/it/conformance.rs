// SPDX-License-Identifier: Apache-2.0
//! Regressions found by running Swift 2.30.1's own functional suite against the gateway
//! (issue 14; `bench/gateway/conformance/run.sh`). Each test pins one difference that broke
//! upstream tests, over raw HTTP so the exact status and headers are checked.

use crate::common::{Gw, Resp};

struct Client {
    gw: Gw,
    token: String,
    _dir: tempfile::TempDir,
}

impl Client {
    fn new() -> Client {
        let dir = tempfile::tempdir().expect("tempdir");
        let gw = Gw::start(dir.path(), &[]);
        let token = gw.token("test:tester", "testing");
        Client {
            gw,
            token,
            _dir: dir,
        }
    }

    fn req(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
        let mut h = vec![("X-Auth-Token", self.token.as_str())];
        h.extend_from_slice(headers);
        self.gw.req(method, path, &h, body)
    }

    fn ok(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
        let r = self.req(method, path, headers, body);
        assert!(
            (200..300).contains(&r.status),
            "{method} {path}: {} {}",
            r.status,
            r.text()
        );
        r
    }
}

/// Issue 14, ~111 upstream tests: header values in UTF-8 were a 400.
#[test]
fn utf8_header_values_are_accepted_and_returned() {
    let c = Client::new();
    let value = "caf\u{e9} \u{1f600}";
    c.ok(
        "PUT",
        "/v1/AUTH_test/c",
        &[("X-Container-Meta-Owner", value)],
        b"",
    );
    c.ok(
        "POST",
        "/v1/AUTH_test",
        &[("X-Account-Meta-Owner", value)],
        b"",
    );
    c.ok(
        "PUT",
        "/v1/AUTH_test/c/seg-1",
        &[("X-Object-Meta-Note", value)],
        b"ab",
    );
    let head = c.ok("HEAD", "/v1/AUTH_test/c/seg-1", &[], b"");
    assert_eq!(head.header("x-object-meta-note"), Some(value));
    let head = c.ok("HEAD", "/v1/AUTH_test/c", &[], b"");
    assert_eq!(head.header("x-container-meta-owner"), Some(value));
    let head = c.ok("HEAD", "/v1/AUTH_test", &[], b"");
    assert_eq!(head.header("x-account-meta-owner"), Some(value));

    // A non-ASCII container name in X-Object-Manifest and X-Copy-From, sent unquoted.
    c.ok("PUT", "/v1/AUTH_test/%C3%A9t%C3%A9", &[], b"");
    c.ok("PUT", "/v1/AUTH_test/%C3%A9t%C3%A9/seg-1", &[], b"xy");
    c.ok(
        "PUT",
        "/v1/AUTH_test/c/dlo",
        &[("X-Object-Manifest", "\u{e9}t\u{e9}/seg-")],
        b"",
    );
    assert_eq!(c.ok("GET", "/v1/AUTH_test/c/dlo", &[], b"").text(), "xy");
    c.ok(
        "PUT",
        "/v1/AUTH_test/c/copy",
        &[("X-Copy-From", "\u{e9}t\u{e9}/seg-1")],
        b"",
    );
    assert_eq!(c.ok("GET", "/v1/AUTH_test/c/copy", &[], b"").text(), "xy");

    // An ACL naming a non-ASCII user is stored and returned like any other.
    c.ok(
        "POST",
        "/v1/AUTH_test/c",
        &[("X-Container-Read", "test:j\u{f6}rg")],
        b"",
    );
    let head = c.ok("HEAD", "/v1/AUTH_test/c", &[], b"");
    assert_eq!(head.header("x-container-read"), Some("test:j\u{f6}rg"));
}
