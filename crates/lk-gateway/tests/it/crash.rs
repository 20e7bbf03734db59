// SPDX-License-Identifier: Apache-2.0
//! kill -9 during 100 concurrent PUTs: after a restart every acknowledged object is there,
//! listed, with the right ETag, and nothing partial is visible.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{python, run_py, Gw};

#[test]
fn kill9_during_100_concurrent_puts_loses_no_acknowledged_object() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut gw = Gw::start(dir.path(), &[]);
    let t = gw.token("test:tester", "testing");
    assert_eq!(
        gw.req("PUT", "/v1/AUTH_test/crash", &[("X-Auth-Token", &t)], b"")
            .status,
        201
    );
    let results = dir.path().join("results.jsonl");
    std::fs::write(&results, "").expect("results file");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/crash_put.py");
    let mut load = Command::new(python())
        .arg(&script)
        .arg(&results)
        .arg("100")
        .env("ST_AUTH", gw.auth_url())
        .env("ST_USER", "test:tester")
        .env("ST_KEY", "testing")
        .env("GW_ROOT", &gw.root)
        .env("GW_ADDR", &gw.addr)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdout(Stdio::null())
        .spawn()
        .expect("start the PUT load");
    // Kill once a quarter of the PUTs were acknowledged: the rest are in flight or queued.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let acked = std::fs::read_to_string(&results)
            .expect("read")
            .lines()
            .count();
        if acked >= 25 || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    gw.kill9();
    let status = load.wait().expect("load ends");
    assert!(status.success(), "load script failed");
    let acked = std::fs::read_to_string(&results)
        .expect("read")
        .lines()
        .count();
    assert!(
        (1..100).contains(&acked),
        "the kill must land mid-load (acknowledged: {acked})"
    );
    gw.restart();
    let out = run_py(
        &gw,
        "crash_verify.py",
        &[results.to_str().expect("utf8"), "100"],
    );
    eprintln!("{}", String::from_utf8_lossy(&out.stdout));
}
