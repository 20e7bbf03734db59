//! `lustrekit test`'s scripts: pinned by snapshots for the examples it can run on, shellcheck
//! clean, and the topologies a suite cannot run on refused with the reason.

use std::path::Path;
use std::process::Command;

use lk_plan::testenv::{self, Suite, SuiteRequest, TestEnvError};

fn plan(example: &str) -> lk_plan::Plan {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../examples/{example}.yaml"));
    let topology = lk_model::load(&std::fs::read(path).expect("example")).expect("valid example");
    lk_plan::plan(&topology, &lk_plan::PlanOptions::default())
}

fn scripts(example: &str, req: &SuiteRequest) -> (String, String) {
    let p = plan(example);
    let env = testenv::environment(&p, req.suite).expect("the suite runs here");
    (testenv::prep_script(&p, &env), testenv::run_script(&p, req))
}

#[test]
fn prep_and_run_scripts_are_pinned() {
    let req = SuiteRequest::new(Suite::Sanity, "0a,0b,17g", "").expect("valid");
    let (prep, run) = scripts("small", &req);
    insta::assert_snapshot!("small.prep", prep);
    insta::assert_snapshot!("small.run-sanity", run);
    let req = SuiteRequest::new(Suite::RecoverySmall, "", "26a").expect("valid");
    let (prep, run) = scripts("ha", &req);
    insta::assert_snapshot!("ha.prep", prep);
    insta::assert_snapshot!("ha.run-recovery-small", run);
}

#[test]
fn every_node_is_named_with_an_address_the_runner_reaches() {
    let p = plan("ha");
    let env = testenv::environment(&p, Suite::Sanity).expect("ha has a client on every network");
    assert_eq!(env.runner, "client1");
    assert_eq!(env.hosts.len(), p.nodes.len());
}

#[test]
fn a_routed_topology_is_refused_naming_the_unreachable_node() {
    // The routing example's client and servers share no IP network (the router joins them
    // for LNet only), so ssh and pdsh from the client cannot reach the servers.
    let p = plan("routing");
    let e = testenv::environment(&p, Suite::Sanity).unwrap_err();
    assert!(matches!(e, TestEnvError::Unreachable { .. }), "{e}");
    assert!(e.to_string().contains("shares no network"), "{e}");
}

#[test]
fn test_scripts_pass_shellcheck() {
    let mut all = Vec::new();
    for example in ["small", "ha", "all-in-one"] {
        let req = SuiteRequest::new(Suite::Sanity, "0a", "1").expect("valid");
        let (prep, run) = scripts(example, &req);
        all.push((format!("{example}-prep"), prep));
        all.push((format!("{example}-run"), run));
    }
    assert_shellcheck_clean("testenv", &all);
}

#[test]
fn bench_scripts_are_pinned_and_pass_shellcheck() {
    use lk_plan::benchenv::{self, BenchKind, BenchParams, ToolBin};
    let p = plan("small");
    let params = BenchParams::default();
    let lst = benchenv::nodes(&p, BenchKind::LnetSelftest).expect("small has a client");
    assert_eq!(lst.run_on, ["client1"]);
    assert_eq!(lst.selftest, ["client1", "mds1", "oss1"]);
    let survey = benchenv::nodes(&p, BenchKind::ObdfilterSurvey).expect("small has an OSS");
    assert_eq!(survey.run_on, ["oss1"]);
    let mpi = benchenv::nodes(&p, BenchKind::Ior).expect("small has a client");
    assert_eq!(mpi.run_on, ["client1"]);
    let shared = ToolBin::Shared {
        guest_path: "/mnt/lustrekit/logs/bench/mdtest-x/mdtest".into(),
    };
    let scripts = [
        ("lst-write", benchenv::lst_script(&lst, &params, "write")),
        ("obdfilter-survey", benchenv::survey_script(&params)),
        ("fio", benchenv::fio_script(&p, "/mnt/small", &params)),
        (
            "ior",
            benchenv::ior_script(&p, "client1", "/mnt/small", &params, &ToolBin::OnPath),
        ),
        (
            "mdtest-tool-bin",
            benchenv::mdtest_script(&p, "client1", "/mnt/small", &params, &shared),
        ),
    ];
    for (name, text) in &scripts {
        insta::assert_snapshot!(format!("small.bench-{name}"), text);
    }
    let owned: Vec<(String, String)> = scripts
        .iter()
        .map(|(n, t)| (n.to_string(), t.clone()))
        .collect();
    assert_shellcheck_clean("benchenv", &owned);
}

#[test]
fn unknown_benchmark_lists_the_known_ones() {
    let e = "iozone"
        .parse::<lk_plan::benchenv::BenchKind>()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("lnet-selftest, obdfilter-survey, fio, ior, mdtest"),
        "{e}"
    );
}

/// The MPI scripts stop before running anything when mpirun or the tool is missing, with one
/// message naming both (run here with a PATH that has neither).
#[test]
fn mpi_scripts_name_everything_missing_in_one_message() {
    use lk_plan::benchenv::{self, BenchParams, ToolBin};
    let p = plan("small");
    let dir = std::env::temp_dir().join(format!("lk-plan-mpi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mount = dir.join("mnt");
    let mount = mount.to_str().expect("utf-8");
    let script = benchenv::ior_script(
        &p,
        "client1",
        mount,
        &BenchParams::default(),
        &ToolBin::OnPath,
    );
    let f = dir.join("ior.sh");
    std::fs::write(&f, script).expect("write");
    let out = Command::new("/bin/bash")
        .arg(&f)
        .arg(dir.join("out.json"))
        .env("PATH", dir.join("empty-path"))
        .output()
        .expect("bash");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(
        err.trim(),
        "lustrekit: mpirun not found on client1: the image needs openmpi-bin; ior not found on \
         client1: install it in the image or pass --tool-bin PATH"
    );
    assert!(out.stdout.is_empty());
    assert!(!Path::new(mount).exists(), "nothing ran before the check");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Writes `scripts` (name, text) to a temp folder and runs shellcheck over all of them.
fn assert_shellcheck_clean(tag: &str, scripts: &[(String, String)]) {
    let dir = std::env::temp_dir().join(format!("lk-plan-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let files: Vec<_> = scripts
        .iter()
        .map(|(name, text)| {
            let f = dir.join(format!("{name}.sh"));
            std::fs::write(&f, text).expect("write");
            f
        })
        .collect();
    let out = Command::new("shellcheck")
        .args(["--shell=bash", "--severity=style"])
        .args(&files)
        .output()
        .expect("shellcheck must be installed (scripts/install-deps.sh)");
    assert!(
        out.status.success(),
        "shellcheck:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
