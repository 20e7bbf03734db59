//! `run_bench` of ior and mdtest on the in-memory provider (no root, no libvirtd): the small
//! example is brought up with the fake, then a `--tool-bin` binary is copied into the run
//! folder, executable, and the generated script runs it from the guest path of that folder.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::time::Duration;

use lk_engine::bench::run_bench;
use lk_engine::fake::Fake;
use lk_engine::suite::SuiteOptions;
use lk_engine::{cluster_dir, run_stages, up, Cancel, StageOptions, UpOptions};
use lk_plan::benchenv::{BenchKind, BenchParams};

fn write(p: &Path, bytes: &[u8]) {
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d).expect("mkdir");
    }
    std::fs::write(p, bytes).expect("write");
}

/// The small example planned into `tmp`, with stand-in host inputs, brought up on `fake`.
fn small_up(fake: &Fake, tmp: &Path) -> lk_plan::Plan {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/small.yaml");
    let t = lk_model::load(&std::fs::read(example).expect("example")).expect("valid");
    let opts = lk_plan::PlanOptions {
        state_dir: tmp.join("state").to_string_lossy().into_owned(),
        ..lk_plan::PlanOptions::default()
    };
    let mut plan = lk_plan::plan(&t, &opts);
    lk_engine::fake::stand_in_inputs(&mut plan, &tmp.join("inputs")).expect("inputs");
    let up_opts = UpOptions {
        parallel: 1,
        run_id: Some("r1".into()),
        qemu_user: None,
        ..UpOptions::default()
    };
    up(fake, &plan, &up_opts, &()).expect("up on the fake");
    let stage_opts = StageOptions {
        parallel: 1,
        ..StageOptions::default()
    };
    run_stages(fake, &plan, &stage_opts, &()).expect("stages on the fake");
    plan
}

#[test]
fn a_tool_bin_is_copied_into_the_run_folder_and_run_from_there() {
    let tmp = tempfile::tempdir().expect("tmp");
    let fake = Fake::new();
    let plan = small_up(&fake, tmp.path());
    let bin = tmp.path().join("host-build/mdtest");
    write(&bin, b"\x7fELF stand-in for mdtest");
    let progress = |_: &str| {};
    let opts = SuiteOptions {
        timeout: Duration::from_secs(60),
        cancel: Cancel::default(),
        run_name: "mdtest-t1".into(),
        progress: &progress,
    };
    let params = BenchParams::default();
    let dir = cluster_dir(&plan);
    let kind = BenchKind::Mdtest;
    let out = run_bench(&fake, &plan, &dir, kind, &params, Some(&bin), &opts).expect("runs");
    let copied = out.dir.join("mdtest");
    assert_eq!(
        std::fs::read(&copied).expect("copied"),
        b"\x7fELF stand-in for mdtest"
    );
    let mode = std::fs::metadata(&copied)
        .expect("meta")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755);
    let script = std::fs::read_to_string(out.dir.join("mdtest.sh")).expect("script");
    let guest = &plan.resources.shared.guest_path;
    assert!(
        script.contains(&format!("tool={guest}/logs/bench/mdtest-t1/mdtest\n")),
        "{script}"
    );
    assert_eq!(out.outputs.len(), 1);
    assert_eq!(out.outputs[0].node, "client1");
    assert!(
        fake.calls().iter().any(|c| c == "exec small-client1"),
        "{:?}",
        fake.calls()
    );

    // Without --tool-bin the script looks on the client's PATH; bad parameters stop first.
    let opts = SuiteOptions {
        run_name: "mdtest-t2".into(),
        ..opts
    };
    let out = run_bench(&fake, &plan, &dir, kind, &params, None, &opts).expect("runs");
    let script = std::fs::read_to_string(out.dir.join("mdtest.sh")).expect("script");
    assert!(script.contains("tool=mdtest\n"), "{script}");
    assert!(!out.dir.join("mdtest").exists());
    let zero = BenchParams {
        mpi_ranks: 0,
        ..params
    };
    let e = run_bench(&fake, &plan, &dir, BenchKind::Ior, &zero, None, &opts).unwrap_err();
    assert!(e.to_string().contains("--ranks"), "{e}");
}
