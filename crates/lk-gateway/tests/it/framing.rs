// SPDX-License-Identifier: Apache-2.0
//! Request framing over a raw socket (issue 14): `Content-Length` with `Transfer-Encoding` is
//! a 400 and the connection closes (nothing after it is read: no request smuggling); a
//! transfer coding other than chunked is a 501; well-framed pipelined requests still work.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::common::Gw;

/// Sends `raw` on a new connection and reads until the server closes it.
fn exchange(gw: &Gw, raw: &str) -> String {
    let mut s = TcpStream::connect(&gw.addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s.write_all(raw.as_bytes()).expect("write");
    let mut out = Vec::new();
    // A timeout here means the server kept the connection open.
    s.read_to_end(&mut out)
        .expect("the server closes the connection");
    String::from_utf8_lossy(&out).into_owned()
}

fn statuses(answer: &str) -> Vec<&str> {
    answer
        .match_indices("HTTP/1.1 ")
        .map(|(i, _)| &answer[i + 9..i + 12])
        .collect()
}

fn setup() -> (tempfile::TempDir, Gw, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = Gw::start(dir.path(), &[]);
    let t = gw.token("test:tester", "testing");
    let r = gw.req("PUT", "/v1/AUTH_test/c", &[("X-Auth-Token", &t)], b"");
    assert_eq!(r.status, 201);
    (dir, gw, t)
}

#[test]
fn length_with_transfer_encoding_is_400_and_closes_the_connection() {
    let (dir, gw, t) = setup();
    let smuggled =
        format!("GET /v1/AUTH_test/c/smuggled HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {t}\r\n\r\n");
    for (first, second) in [
        ("Content-Length: 5", "Transfer-Encoding: chunked"),
        ("Transfer-Encoding: chunked", "Content-Length: 5"),
    ] {
        let raw = format!(
            "PUT /v1/AUTH_test/c/o HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {t}\r\n{first}\r\n\
             {second}\r\n\r\n0\r\n\r\n{smuggled}"
        );
        let answer = exchange(&gw, &raw);
        assert_eq!(statuses(&answer), ["400"], "{first} + {second}: {answer}");
        assert!(
            answer.to_ascii_lowercase().contains("connection: close"),
            "{answer}"
        );
        assert!(answer.contains("Transfer-Encoding"), "{answer}");
    }
    assert!(
        !dir.path().join("test/c/o").exists(),
        "the refused PUT wrote nothing"
    );
    // After a good request on the same connection, the refusal is still the last answer.
    let raw = format!(
        "GET /healthcheck HTTP/1.1\r\nHost: x\r\n\r\n\
         PUT /v1/AUTH_test/c/o HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {t}\r\n\
         Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{smuggled}"
    );
    assert_eq!(statuses(&exchange(&gw, &raw)), ["200", "400"]);
}

#[test]
fn unsupported_transfer_coding_is_501() {
    let (dir, gw, t) = setup();
    for te in ["gzip", "gzip, chunked", "identity"] {
        let raw = format!(
            "PUT /v1/AUTH_test/c/o HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {t}\r\n\
             Transfer-Encoding: {te}\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
        );
        let answer = exchange(&gw, &raw);
        assert_eq!(statuses(&answer), ["501"], "{te}: {answer}");
    }
    assert!(!dir.path().join("test/c/o").exists());
}

#[test]
fn pipelined_chunked_and_sized_requests_still_work() {
    let (_dir, gw, t) = setup();
    let raw = format!(
        "PUT /v1/AUTH_test/c/a HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {t}\r\n\
         Transfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n4\r\ndefg\r\n0\r\nX-T: 1\r\n\r\n\
         PUT /v1/AUTH_test/c/b HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {t}\r\n\
         Content-Length: 2\r\n\r\nhi\
         GET /v1/AUTH_test/c/a HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {t}\r\n\
         Connection: close\r\n\r\n"
    );
    let answer = exchange(&gw, &raw);
    assert_eq!(statuses(&answer), ["201", "201", "200"], "{answer}");
    assert!(answer.ends_with("abcdefg"), "{answer}");
    let b = gw.req("GET", "/v1/AUTH_test/c/b", &[("X-Auth-Token", &t)], b"");
    assert_eq!(b.text(), "hi");
}
