// SPDX-License-Identifier: Apache-2.0
//! Slow and stalled uploads (issue 14): ~600 PUTs that sent part of their body and then
//! idled took every blocking thread (one each, waiting for the client) and the gateway
//! stopped answering anyone. Now no thread waits for a client, an idle body fails with 408
//! after `--client-timeout` and its temp file goes, and uploads are bounded per client.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::Gw;

fn temp_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .expect("ls")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".lk-tmp-"))
        .count()
}

fn wait_for(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < limit, "{what} within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A PUT that sends its head and 1,000 of its 100,000 bytes, then nothing.
fn stall(gw: &Gw, token: &str, name: &str) -> TcpStream {
    let mut s = TcpStream::connect(&gw.addr).expect("connect");
    let head = format!(
        "PUT /v1/AUTH_test/c/{name} HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {token}\r\n\
         Content-Length: 100000\r\n\r\n"
    );
    s.write_all(head.as_bytes()).expect("head");
    s.write_all(&[b'x'; 1000]).expect("part of the body");
    s
}

fn setup(flags: &[&str]) -> (tempfile::TempDir, Gw, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = Gw::start(dir.path(), flags);
    let t = gw.token("test:tester", "testing");
    let auth = [("X-Auth-Token", t.as_str())];
    assert_eq!(gw.req("PUT", "/v1/AUTH_test/c", &auth, b"").status, 201);
    assert_eq!(
        gw.req("PUT", "/v1/AUTH_test/c/small", &auth, b"ok").status,
        201
    );
    (dir, gw, t)
}

#[test]
fn stalled_uploads_time_out_with_408_and_never_block_other_requests() {
    // Fewer blocking threads than stalled uploads: one thread per upload would hang here.
    // The timeout leaves room to set up 300 uploads on a loaded machine before any expires.
    let flags = [
        "--client-timeout",
        "5",
        "--blocking-threads",
        "8",
        "--max-uploads-per-client",
        "1000",
    ];
    let (dir, gw, t) = setup(&flags);
    let auth = [("X-Auth-Token", t.as_str())];
    let cdir = dir.path().join("test/c");
    let stalled: Vec<TcpStream> = (0..300)
        .map(|i| stall(&gw, &t, &format!("stalled{i}")))
        .collect();
    wait_for("300 uploads in progress", Duration::from_secs(10), || {
        temp_files(&cdir) == 300
    });
    let got = gw.req("GET", "/v1/AUTH_test/c/small", &auth, b"");
    assert_eq!((got.status, got.text().as_str()), (200, "ok"));
    let put = gw.req("PUT", "/v1/AUTH_test/c/fresh", &auth, b"new");
    assert_eq!(put.status, 201);
    assert_eq!(
        temp_files(&cdir),
        300,
        "answered while every stalled upload was still waiting (before any timeout)"
    );
    for mut s in stalled {
        s.set_read_timeout(Some(Duration::from_secs(15)))
            .expect("timeout");
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    }
    wait_for("temp files removed", Duration::from_secs(5), || {
        temp_files(&cdir) == 0
    });
    let list = gw.req("GET", "/v1/AUTH_test/c", &auth, b"");
    assert_eq!(list.text(), "fresh\nsmall\n");
}

#[test]
fn uploads_over_the_per_client_bound_are_503_and_reads_are_never_refused() {
    let (dir, gw, t) = setup(&["--max-uploads-per-client", "2"]);
    let auth = [("X-Auth-Token", t.as_str())];
    let cdir = dir.path().join("test/c");
    let stalled = [stall(&gw, &t, "a"), stall(&gw, &t, "b")];
    wait_for("2 uploads in progress", Duration::from_secs(10), || {
        temp_files(&cdir) == 2
    });
    let busy = gw.req("PUT", "/v1/AUTH_test/c/third", &auth, b"data");
    assert_eq!(busy.status, 503, "{}", busy.text());
    assert_eq!(busy.header("retry-after"), Some("1"));
    for _ in 0..5 {
        assert_eq!(
            gw.req("GET", "/v1/AUTH_test/c/small", &auth, b"").status,
            200
        );
    }
    // A client that goes away mid-body frees its slot and its temp file at once.
    drop(stalled);
    wait_for("temp files removed", Duration::from_secs(5), || {
        temp_files(&cdir) == 0
    });
    let put = gw.req("PUT", "/v1/AUTH_test/c/third", &auth, b"data");
    assert_eq!(put.status, 201, "{}", put.text());
}
