//! The ior and mdtest scripts of `lustrekit bench` run for real on this host (a directory
//! stands in for the Lustre mount) with the binaries of an ior build tree, and what they
//! produce is what lk-results parses. Needs `mpirun` and the tree at
//! `/var/cache/lustrekit/ior-src` (or `LUSTREKIT_IOR_TREE`; see lk-results'
//! `fixtures/record-ior.sh`); without them the test prints one `SKIPPED` line.

use std::path::{Path, PathBuf};
use std::process::Command;

use lk_plan::benchenv::{self, BenchParams, ToolBin};

fn ior_tree() -> Result<PathBuf, String> {
    let tree = std::env::var_os("LUSTREKIT_IOR_TREE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/lustrekit/ior-src"));
    for bin in ["src/ior", "src/mdtest"] {
        if !tree.join(bin).is_file() {
            return Err(format!("no {}", tree.join(bin).display()));
        }
    }
    let mpirun = Command::new("mpirun").arg("--version").output();
    if !mpirun.is_ok_and(|o| o.status.success()) {
        return Err("no mpirun (openmpi-bin)".into());
    }
    Ok(tree)
}

fn plan() -> lk_plan::Plan {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/small.yaml");
    let topology = lk_model::load(&std::fs::read(path).expect("example")).expect("valid");
    lk_plan::plan(&topology, &lk_plan::PlanOptions::default())
}

/// Runs `script` with bash and `args`; returns stdout, panicking with stderr on failure.
fn run(dir: &Path, name: &str, script: &str, args: &[&str]) -> String {
    let f = dir.join(name);
    std::fs::write(&f, script).expect("write");
    let o = Command::new("/bin/bash")
        .arg(&f)
        .args(args)
        .output()
        .expect("bash");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{name}: {err}");
    String::from_utf8(o.stdout).expect("utf-8")
}

#[test]
fn ior_and_mdtest_scripts_run_and_their_output_parses() {
    let tree = match ior_tree() {
        Ok(t) => t,
        Err(why) => {
            eprintln!("SKIPPED: ior/mdtest scripts on this host: {why}");
            return;
        }
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let mount = tmp.path().join("mnt");
    std::fs::create_dir_all(&mount).expect("mount stand-in");
    let mount = mount.to_str().expect("utf-8");
    let p = plan();
    let params = BenchParams {
        ior_block_size: "4m".into(),
        mdtest_items: 20,
        ..BenchParams::default()
    };
    let tool = |name: &str| ToolBin::Shared {
        guest_path: tree.join("src").join(name).to_string_lossy().into_owned(),
    };

    let json = tmp.path().join("ior.json");
    let script = benchenv::ior_script(&p, "client1", mount, &params, &tool("ior"));
    let stdout = run(
        tmp.path(),
        "ior.sh",
        &script,
        &[json.to_str().expect("utf-8")],
    );
    assert_eq!(stdout, "", "ior's own stdout goes to stderr");
    let ior = lk_results::bench::parse_ior_json(&std::fs::read_to_string(&json).expect("json"))
        .expect("ior's JSON parses");
    let m = ior.metrics();
    assert!(m.iter().all(|m| m.failure.is_none()), "{m:?}");
    assert!(m.iter().any(|m| m.name == "read bw mean"), "{m:?}");
    assert_eq!(ior.summary[0].tasks, 2);

    let script = benchenv::mdtest_script(&p, "client1", mount, &params, &tool("mdtest"));
    let stdout = run(tmp.path(), "mdtest.sh", &script, &[]);
    let md = lk_results::bench::parse_mdtest(&stdout).expect("mdtest's stdout parses");
    assert_eq!(md.tasks, 2);
    assert!(md.metrics().iter().any(|m| m.name == "tree creation mean"));
    let left: Vec<_> = std::fs::read_dir(Path::new(mount).join(".lustrekit-bench"))
        .expect("bench folder")
        .collect();
    assert!(left.is_empty(), "the scripts clean up after themselves");
}
