//! The Swift endpoint a topology's `services` entry deploys (all-in-one.yaml: two MDTs, the
//! service on the client): python-swiftclient on the host uploads through it and the bytes are
//! the file in the Lustre tree; POSIX creates, a file on MDT 1 (DNE), a rename and an unlink
//! reach the listing through the MDT changelog (lustrekit sync, one user per MDT), with the
//! file's MD5 as ETag; `status` shows the endpoint answering. `down` (orderly) stops it and
//! deregisters the changelog users before the unmount.

use std::process::Command;
use std::time::{Duration, Instant};

use super::{ok, record, sh};

const USER: &str = "test:tester";
const KEY: &str = "testing";

struct Endpoint {
    auth: String,
    storage: String,
    token: String,
}

fn swift(auth: &str, args: &[&str], dir: &std::path::Path) -> std::process::Output {
    Command::new("swift")
        .args(["-A", auth, "-U", USER, "-K", KEY])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("swift (python-swiftclient) must be installed: {e}"))
}

fn login(auth: &str) -> Endpoint {
    let o = swift(auth, &["auth"], &std::env::temp_dir());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "swift auth: {out} {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let var = |name: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(&format!("export {name}=")))
            .map(|v| v.trim_matches('\'').to_string())
            .unwrap_or_else(|| panic!("no {name} in {out}"))
    };
    Endpoint {
        auth: auth.into(),
        storage: var("OS_STORAGE_URL"),
        token: var("OS_AUTH_TOKEN"),
    }
}

/// The container's JSON listing: (name, hash) of each object.
fn listing(ep: &Endpoint, container: &str) -> Vec<(String, String)> {
    let o = Command::new("curl")
        .args(["-sf", "-H"])
        .arg(format!("X-Auth-Token: {}", ep.token))
        .arg(format!("{}/{container}?format=json", ep.storage))
        .output()
        .unwrap_or_else(|e| panic!("curl: {e}"));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
    v.as_array()
        .into_iter()
        .flatten()
        .map(|o| {
            (
                o["name"].as_str().unwrap_or_default().to_string(),
                o["hash"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Polls the listing until `want` holds; returns the seconds it took.
fn until_listed(
    ep: &Endpoint,
    container: &str,
    what: &str,
    want: impl Fn(&[(String, String)]) -> bool,
) -> f64 {
    let t = Instant::now();
    loop {
        let l = listing(ep, container);
        if want(&l) {
            return t.elapsed().as_secs_f64();
        }
        assert!(
            t.elapsed() < Duration::from_secs(180),
            "after 180 s the listing of {container} still lacks {what}: {l:?}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn has(l: &[(String, String)], name: &str, hash: &str) -> bool {
    l.iter().any(|(n, h)| n == name && h == hash)
}

pub fn swift_service(cluster: &str, node: &str, summary: &serde_json::Value) {
    let svc = &summary["services"][0];
    assert_eq!(svc["answers"], true, "the endpoint answers after up: {svc}");
    let root = svc["root"].as_str().expect("root").to_string();
    let ep = login(svc["auth_url"].as_str().expect("auth_url"));

    // Host -> Swift -> the file in Lustre, byte for byte.
    let dir = tempfile::tempdir().expect("temp dir");
    let data: Vec<u8> = (0..3u32 << 20)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(dir.path().join("up.bin"), &data).expect("write");
    let o = swift(&ep.auth, &["upload", "c1", "up.bin"], dir.path());
    assert!(
        o.status.success(),
        "swift upload: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let local = Command::new("sha256sum")
        .arg(dir.path().join("up.bin"))
        .output()
        .expect("sha256sum");
    let local = String::from_utf8_lossy(&local.stdout);
    let local = local.split_whitespace().next().unwrap_or_default();
    let there = sh(cluster, node, &format!("sha256sum {root}/test/c1/up.bin"));
    assert!(there.starts_with(local), "host {local}, Lustre {there}");

    // POSIX -> changelog -> listing: a file on MDT 0, one in a directory on MDT 1.
    let md5 = |s: &str| {
        let o = sh(cluster, node, &format!("printf %s {s} | md5sum"));
        o.split_whitespace().next().unwrap_or_default().to_string()
    };
    let (h_posix, h_dne) = (md5("hello"), md5("on-mdt1"));
    let up_md5 = md5_of(&data);
    let t0 = Instant::now();
    sh(
        cluster,
        node,
        &format!(
            "set -e; c={root}/test/c1; lfs mkdir -i 1 $c/dne; printf %s hello >$c/posix.txt; \
             printf %s on-mdt1 >$c/dne/f.txt; lfs getdirstripe -i $c/dne"
        ),
    );
    let written = t0.elapsed().as_secs_f64();
    let lag = until_listed(&ep, "c1", "posix.txt and dne/f.txt with their MD5", |l| {
        has(l, "posix.txt", &h_posix) && has(l, "dne/f.txt", &h_dne)
    });
    record(&format!(
        "{cluster}: swift service: POSIX create on MDT0 and MDT1 listed with ETags {lag:.1} s after the write returned ({written:.1} s to write through lustrekit exec)"
    ));

    // A rename and an unlink.
    sh(
        cluster,
        node,
        &format!("set -e; c={root}/test/c1; mv $c/posix.txt $c/renamed.txt; rm $c/dne/f.txt"),
    );
    let lag = until_listed(&ep, "c1", "the rename and the unlink", |l| {
        has(l, "renamed.txt", &h_posix)
            && !l.iter().any(|(n, _)| n == "posix.txt" || n == "dne/f.txt")
            && has(l, "up.bin", &up_md5)
    });
    record(&format!(
        "{cluster}: swift service: rename + unlink listed after {lag:.1} s"
    ));

    // The sync cleared what it applied: each MDT's user is registered, its index advanced.
    let users = sh(
        cluster,
        node,
        "for m in $(lctl list_param mdd.* | cut -d. -f2); do echo \"$m $(lctl get_param -n mdd.$m.changelog_users | grep lk-swift)\"; done",
    );
    assert_eq!(users.matches("lk-swift").count(), 2, "{users}");

    let st = ok(&["status", cluster]);
    let text = String::from_utf8_lossy(&st.stdout);
    assert!(
        text.contains("Service swift (swift) on node1") && text.contains("answers"),
        "{text}"
    );
}

/// MD5 of the upload, as the gateway's ETag (md5sum: no md5 crate for one test).
fn md5_of(data: &[u8]) -> String {
    use std::io::Write as _;
    let mut child = Command::new("md5sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("md5sum");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(data)
        .expect("md5sum stdin");
    let out = child.wait_with_output().expect("md5sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}
