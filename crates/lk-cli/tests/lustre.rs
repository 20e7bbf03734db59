//! Real Lustre, end to end: each topology of `tests/real-lustre/` is brought up by one
//! `lustrekit up FILE` (small: Lustre built from the source tree at the well-known path by the
//! host build, cached, installed on the nodes from the cluster's repository; the others boot
//! the image with that build installed, `source: preinstalled`), checked from a client
//! (verify, `lfs df` lists every target, a file striped over every OST written and read back,
//! DNE placement on MDT 1), failed over where it has pairs, and taken down to zero objects.
//!
//! Needs root, libvirtd, the base image and a Lustre source tree at [`SOURCE`]; without one of
//! them every test prints one `SKIPPED` line naming what is missing. The tests run one at a
//! time (they share two cores).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

const STATE_DIR: &str = "/var/lib/lustrekit/test-state";
/// Well-known path of the Lustre source tree these tests build from.
const SOURCE: &str = "/var/cache/lustrekit/lustre-release";
/// The image with Lustre installed that the preinstalled fixtures boot.
const LUSTRE_IMAGE: &str = "/var/lib/lustrekit/images/debian-12-lustre.qcow2";
const WRITER: &str = include_str!("lustre/writer.sh");
const CHECK_WRITES: &str = include_str!("lustre/check-writes.sh");

#[path = "lustre/csi.rs"]
mod csi;
#[path = "lustre/shares.rs"]
mod shares;
#[path = "lustre/swift.rs"]
mod swift;
#[path = "lustre/volumes.rs"]
mod volumes;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Measurements of each run are appended here too (outside the repository), because cargo
/// hides the output of passing tests.
const RESULTS: &str = "/var/lib/lustrekit/test-state/real-lustre-results.txt";

fn record(line: &str) {
    use std::io::Write as _;
    eprintln!("{line}");
    let _ = std::fs::create_dir_all(STATE_DIR);
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(RESULTS)
    {
        let _ = writeln!(f, "{line}");
    }
}

/// Why the real-Lustre tests cannot run here, if they cannot.
fn missing() -> Option<String> {
    let root = std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
    });
    let image = Path::new(lk_model::defaults::IMAGE_PATH);
    let virsh_ok = Command::new("virsh")
        .args(["-c", "qemu:///system", "version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !root {
        Some("not root".into())
    } else if !Path::new(SOURCE).join("LUSTRE-VERSION-GEN").is_file() {
        Some(format!(
            "no Lustre source tree at {SOURCE} (a lustre-release checkout)"
        ))
    } else if !image.is_file() {
        Some(format!("no base image at {}", image.display()))
    } else if !virsh_ok {
        Some("libvirtd not reachable at qemu:///system".into())
    } else {
        None
    }
}

fn enabled(test: &str) -> bool {
    enabled_with(test, false)
}

/// As [`enabled`]; `image` also needs the image with Lustre installed (scripts/test.sh builds
/// it with `lustrekit image build --lustre` when the source tree is present).
fn enabled_with(test: &str, image: bool) -> bool {
    let why = missing().or_else(|| {
        (image && !Path::new(LUSTRE_IMAGE).is_file()).then(|| {
            format!(
                "no image with Lustre at {LUSTRE_IMAGE} (lustrekit image build --lustre tests/real-lustre/small.yaml)"
            )
        })
    });
    match why {
        None => true,
        Some(why) => {
            eprintln!("SKIPPED: real-Lustre test {test}: {why}");
            false
        }
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/real-lustre")
        .join(name)
}

fn lustrekit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lustrekit"))
        .args(args)
        .env("LUSTREKIT_STATE_DIR", STATE_DIR)
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|e| panic!("run lustrekit: {e}"))
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn ok(args: &[&str]) -> Output {
    let o = lustrekit(args);
    assert!(o.status.success(), "lustrekit {args:?}: {}", text(&o));
    o
}

/// Runs a bash script on a node; returns its stdout.
fn sh(cluster: &str, node: &str, script: &str) -> String {
    let o = ok(&["exec", cluster, node, "--", "/bin/bash", "-c", script]);
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn leftovers(cluster: &str) -> Vec<String> {
    let mine = |n: &str| n == cluster || n.starts_with(&format!("{cluster}-"));
    let mut found = Vec::new();
    for (kind, args) in [
        ("domain", ["list", "--all", "--name"]),
        ("network", ["net-list", "--all", "--name"]),
        ("pool", ["pool-list", "--all", "--name"]),
    ] {
        let o = Command::new("virsh")
            .args(["-c", "qemu:///system"])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("virsh: {e}"));
        for n in String::from_utf8_lossy(&o.stdout).lines().map(str::trim) {
            if !n.is_empty() && mine(n) {
                found.push(format!("{kind} {n}"));
            }
        }
    }
    let dir = Path::new(STATE_DIR).join("clusters").join(cluster);
    if dir.exists() {
        found.push(format!("folder {}", dir.display()));
    }
    found
}

/// How a test's cluster goes down: the orderly teardown (unmount, unload, export) takes about a
/// minute per node under TCG, so one test covers it and the others power off at once.
#[derive(Clone, Copy)]
enum Down {
    Orderly,
    AtOnce,
}

impl Down {
    /// `down`'s flags for this way down.
    fn flags(self) -> &'static [&'static str] {
        match self {
            Down::Orderly => &[],
            Down::AtOnce => &["--no-unmount"],
        }
    }
}

/// Brings `fixture` up, runs `checks`, then takes it down whatever happened and asserts that
/// nothing of it is left. Prints the stage table.
fn with_cluster(
    fixture_name: &str,
    cluster: &str,
    how_down: Down,
    checks: impl FnOnce(&serde_json::Value),
) {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    // A crashed earlier run must not be adopted half-way: start from nothing.
    let _ = lustrekit(&["gc", cluster]);
    let file = fixture(fixture_name);
    let t = std::time::Instant::now();
    let o = lustrekit(&["up", &file.to_string_lossy(), "--json"]);
    record(&format!(
        "{cluster}: lustrekit up (build check, VMs, every stage) {:.1}s wall",
        t.elapsed().as_secs_f64()
    ));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        assert!(o.status.success(), "up {fixture_name}: {}", text(&o));
        let summary: serde_json::Value =
            serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
        record(&format!(
            "{cluster}: infrastructure {:.1}s",
            summary["seconds"].as_f64().unwrap_or(0.0)
        ));
        for stage in ["install", "lnet", "format", "mount", "verify"] {
            let s = &summary["stages"]["stages"][stage];
            assert_eq!(s["status"], "done", "{stage}: {s}");
            record(&format!(
                "{cluster}: {stage:<8} {:>7.1}s",
                s["seconds"].as_f64().unwrap_or(0.0)
            ));
        }
        checks(&summary);
    }));
    let t = std::time::Instant::now();
    let mut args = vec!["down", cluster];
    args.extend(how_down.flags());
    let down = lustrekit(&args);
    record(&format!(
        "{cluster}: {} {:.1}s",
        args[2..]
            .iter()
            .fold(String::from("down"), |s, f| s + " " + f),
        t.elapsed().as_secs_f64()
    ));
    if let Err(p) = result {
        std::panic::resume_unwind(p);
    }
    assert!(down.status.success(), "down: {}", text(&down));
    let left = leftovers(cluster);
    assert!(left.is_empty(), "down left {left:?}");
}

/// `lfs df` lists every target; a file striped over every OST reads back identical.
fn check_filesystem(cluster: &str, client: &str, mount: &str, mdts: usize, osts: usize) {
    let df = sh(cluster, client, &format!("lfs df {mount}"));
    assert_eq!(df.matches("[MDT:").count(), mdts, "{df}");
    assert_eq!(df.matches("[OST:").count(), osts, "{df}");
    let out = sh(
        cluster,
        client,
        &format!(
            "set -e; f={mount}/striped; rm -f $f; lfs setstripe -c -1 $f; \
             dd if=/dev/urandom of=/tmp/src bs=1M count=24 status=none; cp /tmp/src $f; sync; \
             echo 3 >/proc/sys/vm/drop_caches; cmp /tmp/src $f && echo same; \
             echo stripes $(lfs getstripe -c $f); rm -f $f /tmp/src"
        ),
    );
    assert!(out.contains("same"), "{out}");
    assert!(out.contains(&format!("stripes {osts}")), "{out}");
}

#[test]
fn all_in_one_on_real_lustre() {
    if !enabled_with("all_in_one_on_real_lustre", true) {
        return;
    }
    with_cluster("all-in-one.yaml", "rl-aio", Down::Orderly, |summary| {
        check_filesystem("rl-aio", "node1", "/mnt/rlaio", 2, 2);
        swift::swift_service("rl-aio", "node1", summary);
        lustre_sanity_subset("rl-aio");
        fio_bench("rl-aio");
    });
}

/// Subtests of Lustre's sanity that fit a few minutes on one TCG VM.
const SANITY_ONLY: &str = "0a,0b,0c,1,2";

/// `lustrekit test CLUSTER sanity --only ...`: Lustre's own framework runs and every subtest
/// passes; the run folder has the parsed results and JUnit XML.
fn lustre_sanity_subset(cluster: &str) {
    let o = lustrekit(&["test", cluster, "sanity", "--only", SANITY_ONLY]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    let dir = err
        .lines()
        .find_map(|l| {
            l.split_once("; results in ")
                .map(|(_, d)| PathBuf::from(d.trim()))
        })
        .unwrap_or_else(|| panic!("no run folder named: {}", text(&o)));
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("results.json")).expect("results.json"),
    )
    .expect("results.json parses");
    let c = &json["counts"];
    record(&format!(
        "{cluster}: sanity --only {SANITY_ONLY}: {} passed, {} failed, {} skipped in {:.0} s",
        c["pass"],
        c["fail"],
        c["skip"],
        json["seconds"].as_f64().unwrap_or(-1.0)
    ));
    assert!(o.status.success(), "{}", text(&o));
    assert!(c["pass"].as_u64().unwrap_or(0) >= 5, "{json}");
    let junit = std::fs::read_to_string(dir.join("junit.xml")).expect("junit.xml");
    assert!(
        junit.contains("<testsuite") && junit.contains("test_0a"),
        "{junit}"
    );
}

/// `lustrekit bench CLUSTER fio`: fio's JSON parsed strictly into a run with its report.
fn fio_bench(cluster: &str) {
    let o = ok(&[
        "bench",
        cluster,
        "fio",
        "--fio-size",
        "64M",
        "--fio-runtime",
        "10",
    ]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    let json = err
        .lines()
        .find_map(|l| {
            l.split_once(" metric(s); ")
                .map(|(_, r)| r.split(" (report").next().unwrap_or("").to_string())
        })
        .unwrap_or_else(|| panic!("no run.json named: {}", text(&o)));
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("run.json")).expect("parses");
    let metrics = run["metrics"].as_array().expect("metrics");
    assert!(
        metrics
            .iter()
            .any(|m| m["value"].as_f64().is_some_and(|v| v > 0.0)),
        "{run}"
    );
    record(&format!(
        "{cluster}: bench fio: {} metrics in {json}",
        metrics.len()
    ));
}

#[test]
fn small_on_real_lustre_with_status_and_a_second_up_that_converges() {
    if !enabled("small_on_real_lustre") {
        return;
    }
    with_cluster("small.yaml", "rl-small", Down::AtOnce, |_| {
        check_filesystem("rl-small", "client1", "/mnt/rlsmall", 1, 1);
        // status shows the timings of the last up and every node running.
        let st = ok(&["status", "rl-small", "--json"]);
        let st: serde_json::Value =
            serde_json::from_slice(&st.stdout).unwrap_or_else(|e| panic!("{e}"));
        for n in st["nodes"].as_array().into_iter().flatten() {
            assert_eq!(n["state"], "running", "{n}");
            assert!(n["ready_after"].is_number(), "ready column filled: {n}");
            assert!(n["boot_step"].is_number(), "step column filled: {n}");
        }
        // up again: the build is cached, every stage is done, nothing is re-created.
        let o = ok(&["up", &fixture("small.yaml").to_string_lossy(), "--json"]);
        assert!(text(&o).contains("cached Lustre"), "{}", text(&o));
    });
}

#[test]
fn routing_on_real_lustre_through_two_routers() {
    if !enabled_with("routing_on_real_lustre", true) {
        return;
    }
    with_cluster("routing.yaml", "rl-route", Down::AtOnce, |_| {
        check_filesystem("rl-route", "client1", "/mnt/rlroute", 1, 1);
        let nets = sh("rl-route", "client1", "lnetctl net show");
        assert!(!nets.contains("@tcp1") && !nets.contains("@tcp2"), "{nets}");
        let routes = sh("rl-route", "client1", "lnetctl route show -v");
        assert!(routes.contains("hop: 2"), "{routes}");
    });
}

/// Starts the writer on the client; returns the paths of its log and stop file. The probe file
/// lives on OST0000 (the OST the test moves); every append also opens it through the MDT.
fn start_writer(cluster: &str, client: &str, mount: &str, tag: &str) -> (String, String) {
    let log = format!("/tmp/writer-{tag}.log");
    let stop = format!("/tmp/writer-{tag}.stop");
    let script = format!(
        "cat >/tmp/writer.sh <<'EOS'\n{WRITER}EOS\nrm -f {stop}; lfs setstripe -i 0 -c 1 {mount}/probe-{tag}; setsid nohup bash /tmp/writer.sh {mount}/probe-{tag} {log} {stop} >/dev/null 2>&1 </dev/null & sleep 2; grep -c ack {log}"
    );
    let out = sh(cluster, client, &script);
    assert!(
        out.trim().parse::<u32>().unwrap_or(0) > 0,
        "writer runs: {out}"
    );
    (log, stop)
}

/// Stops the writer and checks its writes; returns (outage seconds, lost, acked).
fn stop_writer(
    cluster: &str,
    client: &str,
    mount: &str,
    tag: &str,
    log_stop: &(String, String),
) -> (f64, u32, u32) {
    let (log, stop) = log_stop;
    let script = format!(
        "touch {stop}; sleep 1; cat >/tmp/check-writes.sh <<'EOS'\n{CHECK_WRITES}EOS\nbash /tmp/check-writes.sh {mount}/probe-{tag} {log}"
    );
    let out = sh(cluster, client, &script);
    let field = |name: &str| -> String {
        let mut it = out.split_whitespace();
        while let Some(w) = it.next() {
            if w == name {
                return it.next().unwrap_or_default().to_string();
            }
        }
        panic!("no {name} in {out}")
    };
    let lost: u32 = field("lost").parse().unwrap_or(u32::MAX);
    let corrupt: u32 = field("corrupt").parse().unwrap_or(u32::MAX);
    let acked: u32 = field("acked").parse().unwrap_or(0);
    let outage: f64 = field("outage").parse().unwrap_or(f64::NAN);
    assert_eq!(corrupt, 0, "{out}");
    (outage, lost, acked)
}

/// Saves real tool output for the agent's parser fixtures (copied into
/// crates/lk-agent/src/fixtures/valid/VERSION by hand, after review).
fn save_recording(cluster: &str, node: &str, name: &str, command: &str) {
    let dir = Path::new(STATE_DIR).join("recorded");
    let _ = std::fs::create_dir_all(&dir);
    // Not `sh`: `lctl get_param` exits 2 when one of its patterns matches nothing on this
    // node (no obdfilter on an MDS) and still prints the rest, which is what is recorded.
    let o = lustrekit(&["exec", cluster, node, "--", "/bin/bash", "-c", command]);
    let _ = std::fs::write(dir.join(name), &o.stdout);
}

/// One move while the client writes; prints and returns its row.
fn measured_move(args: &[&str], tag: &str) -> String {
    let w = start_writer("rl-ha", "client1", "/mnt/rlha", tag);
    let t = std::time::Instant::now();
    let o = lustrekit(args);
    let secs = t.elapsed().as_secs_f64();
    // Let the client write past the move before measuring.
    std::thread::sleep(std::time::Duration::from_secs(3));
    let (outage, lost, acked) = stop_writer("rl-ha", "client1", "/mnt/rlha", tag, &w);
    assert!(o.status.success(), "{args:?}: {}", text(&o));
    assert_eq!(lost, 0, "{tag}: acknowledged writes lost");
    assert!(acked > 0, "{tag}: the client wrote");
    let row = format!(
        "{tag:<22} move {secs:>6.1}s  client outage {outage:>5.1}s  acked {acked:>4}  lost {lost}"
    );
    record(&format!("rl-ha failover: {row}"));
    row
}

#[test]
fn ha_on_real_lustre_with_dne_failover_and_failback() {
    if !enabled_with("ha_on_real_lustre", true) {
        return;
    }
    with_cluster("ha.yaml", "rl-ha", Down::AtOnce, |_| {
        check_filesystem("rl-ha", "client1", "/mnt/rlha", 2, 2);
        // DNE: a directory placed on MDT 1 (served by mds2).
        let out = sh(
            "rl-ha",
            "client1",
            "set -e; lfs mkdir -i 1 /mnt/rlha/dne1; echo mdt $(lfs getdirstripe -i /mnt/rlha/dne1); echo x >/mnt/rlha/dne1/f; cat /mnt/rlha/dne1/f",
        );
        assert!(out.contains("mdt 1") && out.contains('x'), "{out}");
        save_recording("rl-ha", "mds1", "lctl_dl_mgs_mds.txt", "lctl dl");
        save_recording("rl-ha", "oss1", "lctl_dl_oss.txt", "lctl dl");
        save_recording("rl-ha", "client1", "lctl_dl_client.txt", "lctl dl");
        save_recording(
            "rl-ha",
            "oss1",
            "health_check_healthy.txt",
            "lctl get_param health_check",
        );

        // A controlled move and its failback (the OST), then a hard one: mds1 is powered off
        // (fenced) and both of its targets, the MGS and MDT0000, move to mds2, which
        // force-imports their pools. Failing them back once mds1 booted again is a controlled
        // move of each. (The failbacks cover controlled MGS and MDT moves.)
        let mut rows: Vec<String> = Vec::new();
        for (args, tag) in [
            (&["failover", "rl-ha", "ost1"][..], "ost-controlled"),
            (&["failback", "rl-ha", "ost1"][..], "ost-failback"),
            (
                &["failover", "rl-ha", "mds1", "--hard"][..],
                "mgs-mdt0-hard",
            ),
        ] {
            rows.push(measured_move(args, tag));
        }
        let act = std::fs::read_to_string(Path::new(STATE_DIR).join("clusters/rl-ha/active.json"))
            .unwrap_or_default();
        assert!(
            act.contains("\"rlha-MDT0000\": \"mds2\"") && act.contains("\"MGS\": \"mds2\""),
            "{act}"
        );
        save_recording(
            "rl-ha",
            "mds2",
            "recovery_status_mdt.txt",
            "lctl get_param obdfilter.*.recovery_status mdt.*.recovery_status",
        );
        save_recording(
            "rl-ha",
            "oss1",
            "recovery_status_oss.txt",
            "lctl get_param obdfilter.*.recovery_status mdt.*.recovery_status",
        );
        let st = String::from_utf8_lossy(&ok(&["status", "rl-ha"]).stdout).into_owned();
        assert!(st.contains("mds2 (failed over)"), "{st}");
        // The fenced node boots again (LNet comes back by itself), then its targets fail back.
        ok(&[
            "up",
            &fixture("ha.yaml").to_string_lossy(),
            "--until",
            "infra",
        ]);
        for (args, tag) in [
            (&["failback", "rl-ha", "mgs"][..], "mgs-hard-failback"),
            (&["failback", "rl-ha", "mds1"][..], "mdt0-hard-failback"),
        ] {
            rows.push(measured_move(args, tag));
        }
        eprintln!("rl-ha failover summary:\n{}", rows.join("\n"));
    });
}
