//! `lustrekit test` and `lustrekit bench` as a user meets them without a cluster: bad input
//! refused before anything runs, `compare` and `reparse` on recorded runs.

mod common;
use common::{lustrekit, root, text};
use std::path::Path;

/// `test` and `bench` refuse bad input before anything runs: no libvirt is asked (the state
/// folder is empty, and none of these reach the point of connecting).
#[test]
fn test_and_bench_refuse_bad_input_before_running() {
    let state = tempfile::tempdir().expect("temp dir");
    let s = state.path().to_str().expect("utf-8 path");
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--state-dir", s]);
        let o = lustrekit(&all);
        (o.status.code(), text(&o.stderr))
    };
    let (code, err) = run(&["test", "examples/small.yaml", "sanity-nope"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("unknown test suite `sanity-nope`") && err.contains("sanity-lnet"),
        "{err}"
    );
    let (code, err) = run(&[
        "test",
        "examples/small.yaml",
        "sanity",
        "--only",
        "0a;reboot",
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--only"), "{err}");
    let (code, err) = run(&["test", "examples/small.yaml", "sanity"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("cluster small is not up"), "{err}");
    let (code, err) = run(&["test", "examples/routing.yaml", "sanity-lnet"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("shares no network with client1"), "{err}");
    let (code, err) = run(&["test", "no-such-cluster", "sanity"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("is not known here"), "{err}");
    let (code, err) = run(&["bench", "examples/small.yaml", "iozone"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("unknown benchmark `iozone`") && err.contains("obdfilter-survey"),
        "{err}"
    );
    let (code, err) = run(&["bench", "examples/small.yaml", "fio"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("is not up"), "{err}");
}

#[test]
fn bench_compare_refuses_runs_of_different_kinds() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = |kind: &str, metric: &str| {
        serde_json::json!({
            "kind": kind, "cluster": "c1", "topology_hash": "0123456789abcdef",
            "lustre_version": "2.17.0", "started_at": "2026-12-02T00:00:00Z",
            "parameters": {}, "metrics": [{"name": metric, "unit": "MiB/s", "value": 10.0}]
        })
        .to_string()
    };
    let a = dir.path().join("a.json");
    let b = dir.path().join("b.json");
    let c = dir.path().join("c.json");
    std::fs::write(&a, run("fio", "seq-write bw")).expect("write");
    std::fs::write(&b, run("lnet-selftest", "write servers bw")).expect("write");
    std::fs::write(&c, run("fio", "seq-write bw")).expect("write");
    let p = |x: &Path| x.to_str().expect("utf-8").to_string();
    let o = lustrekit(&["bench", "compare", &p(&a), &p(&b), "--out", &p(dir.path())]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let o = lustrekit(&["bench", "compare", &p(&a), &p(&c), "--out", &p(dir.path())]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    for name in ["compare.md", "compare.svg", "compare.html"] {
        assert!(dir.path().join(name).is_file(), "{name} not written");
    }
    // The HTML report stands alone: the plot is inside it.
    let html = std::fs::read_to_string(dir.path().join("compare.html")).expect("compare.html");
    assert!(
        html.contains("<svg ") && html.contains("seq-write bw"),
        "{html}"
    );
    assert!(!html.contains("compare.svg"), "{html}");
}

/// `bench reparse` reads a run folder's raw output again (here: real fio JSON from a lustrekit
/// client) and rewrites run.json, the reports and the plot; a folder without raw output is an
/// error.
#[test]
fn bench_reparse_rebuilds_a_run_from_its_raw_output() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = serde_json::json!({
        "kind": "fio", "cluster": "c1", "topology_hash": "0123456789abcdef",
        "lustre_version": "2.17.0", "started_at": "2026-12-02T00:00:00Z",
        "parameters": {"size": "128M"}, "metrics": []
    });
    std::fs::write(dir.path().join("run.json"), run.to_string()).expect("write");
    let p = dir.path().to_str().expect("utf-8");
    let o = lustrekit(&["bench", "reparse", p]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("no fio-*.out raw output"),
        "{}",
        text(&o.stderr)
    );
    let fixture =
        root().join("crates/lk-results/fixtures/fio-3.33/lustre-2.17.0-small-client1.json");
    std::fs::copy(fixture, dir.path().join("fio-client1.out")).expect("copy");
    let o = lustrekit(&["bench", "reparse", p]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let (_, names) = reparsed(dir.path());
    assert!(names.iter().any(|n| n == "seq-write write bw"), "{names:?}");
    for ext in ["md", "svg", "html"] {
        assert!(
            std::fs::read_dir(dir.path()).expect("dir").any(|e| e
                .expect("entry")
                .path()
                .extension()
                .is_some_and(|x| x == ext)),
            "no .{ext} report written"
        );
    }
}

/// ior and mdtest refuse bad input before anything runs (no libvirt is asked): a rank count
/// of 0 or sizes ior would refuse are usage errors (2); a --tool-bin that is missing or not a
/// binary, or given to a kind that runs no host binary, is named.
#[test]
fn bench_ior_and_mdtest_refuse_bad_input_before_running() {
    let state = tempfile::tempdir().expect("temp dir");
    let s = state.path().to_str().expect("utf-8 path");
    let run = |args: &[&str]| {
        let mut all = vec!["bench", "examples/small.yaml"];
        all.extend(args);
        all.extend(["--state-dir", s]);
        let o = lustrekit(&all);
        (o.status.code(), text(&o.stderr))
    };
    let (code, err) = run(&["ior", "--ranks", "0"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("--ranks \"0\": ior and mdtest need at least 1 rank"),
        "{err}"
    );
    let (code, err) = run(&["mdtest", "--ranks", "-1"]);
    assert_eq!(code, Some(2), "{err}");
    let (code, err) = run(&["mdtest", "--mdtest-items", "0"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--mdtest-items"), "{err}");
    let sizes = ["ior", "--ior-block-size", "3m", "--ior-transfer-size", "2m"];
    let (code, err) = run(&sizes);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("a multiple of the transfer size"), "{err}");
    let (code, err) = run(&["ior", "--ior-transfer-size", "1m;reboot"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("not an ior size"), "{err}");

    let (code, err) = run(&["mdtest", "--tool-bin", "/no/such/mdtest"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("--tool-bin /no/such/mdtest: cannot read the mdtest binary"),
        "{err}"
    );
    let script = state.path().join("ior");
    std::fs::write(&script, "#!/bin/sh\n# libtool wrapper\n").expect("write");
    let script = script.to_str().expect("utf-8");
    let (code, err) = run(&["ior", "--tool-bin", script]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("not an ELF executable"), "{err}");
    let (code, err) = run(&["ior", "--tool-bin", s]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("not a regular file"), "{err}");
    let (code, err) = run(&["fio", "--tool-bin", "/bin/true"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("only ior and mdtest"), "{err}");
    // Good input gets as far as the cluster, which is not up.
    for args in [&["ior", "--tool-bin", "/bin/true"][..], &["mdtest"][..]] {
        let (code, err) = run(args);
        assert_eq!(code, Some(1), "{err}");
        assert!(err.contains("cluster small is not up"), "{err}");
    }
}

/// `bench reparse` of ior and mdtest runs: the raw outputs (real ior 4.1.0+dev captures) give
/// the named metrics, and the tool's version lands in the parameters.
#[test]
fn bench_reparse_reads_ior_and_mdtest_output() {
    let fixtures = root().join("crates/lk-results/fixtures/ior-4.1.0+dev");
    for (kind, fixture, metric) in [
        ("ior", "ior-fpp-write-read-16m-1m.json", "read bw mean"),
        ("mdtest", "mdtest-200-items.txt", "file creation mean"),
    ] {
        let dir = tempfile::tempdir().expect("temp dir");
        let run = serde_json::json!({
            "kind": kind, "cluster": "c1", "topology_hash": "0123456789abcdef",
            "lustre_version": "2.17.0", "started_at": "2026-12-02T00:00:00Z",
            "parameters": {"ranks": "2"}, "metrics": []
        });
        std::fs::write(dir.path().join("run.json"), run.to_string()).expect("write");
        std::fs::copy(
            fixtures.join(fixture),
            dir.path().join(format!("{kind}-client1.out")),
        )
        .expect("copy");
        let o = lustrekit(&["bench", "reparse", dir.path().to_str().expect("utf-8")]);
        assert!(o.status.success(), "{kind}: {}", text(&o.stderr));
        let (back, names) = reparsed(dir.path());
        assert!(names.iter().any(|n| n == metric), "{kind}: {names:?}");
        let version = &back["parameters"][format!("{kind}_version")];
        assert_eq!(version.as_str(), Some("4.1.0+dev"), "{kind}");
    }
}

/// The run.json `bench reparse` wrote in `dir`, and its metric names.
fn reparsed(dir: &Path) -> (serde_json::Value, Vec<String>) {
    let back: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).expect("run.json"))
            .expect("parses");
    let names = back["metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .filter_map(|m| m["name"].as_str().map(String::from))
        .collect();
    (back, names)
}
