//! The fault matrix on the in-memory provider, run by every `cargo test` (no root, no
//! libvirtd). For every example topology, "up" is the engine's `up` (infrastructure and
//! readiness) followed by `run_stages` (the guest phases, through the fake's guest exec):
//!
//! (a) a clean run's provider calls are counted; then for every call k and each way of going
//!     wrong there ([`FaultKind`]): an `error` (no effect) or an `error-after-effect` at an
//!     infrastructure call makes `up` fail naming that call's object and unwind to zero
//!     objects; at a guest-stage call (stages keep the infrastructure by design) the stage
//!     error names the node, and `down` reaches zero;
//! (b) a `die` at k (the run stops dead, the ledger as after kill -9): `down` from the ledger
//!     reaches zero objects; separately, `gc` with the ledger deleted reaches zero;
//! (c) `up` twice converges: the second creates nothing and leaves the same world.
//!
//! Domains are created one at a time (`parallel: 1`) so that call k is the same call in every
//! run.

use std::path::{Path, PathBuf};

use lk_engine::fake::{Died, Fake, FaultKind};
use lk_engine::{chain, cluster_dir, down, gc, run_stages, up, Error, StageOptions, UpOptions};
use lk_plan::Plan;

fn examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no examples in {}", dir.display());
    v
}

/// A temporary directory, in memory when the host has /dev/shm: the ledger syncs every record
/// to disk, which on a real disk makes the thousands of cases take minutes.
fn scratch() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    let t = if shm.is_dir() {
        tempfile::tempdir_in(shm)
    } else {
        tempfile::tempdir()
    };
    t.unwrap_or_else(|e| panic!("{e}"))
}

/// One case's private world: a state directory and the plan pointed into it.
struct Case {
    _tmp: tempfile::TempDir,
    plan: Plan,
}

/// Plans `example` with its state in a fresh temporary directory, and gives it stand-in host
/// inputs there (base image, kernel, Lustre packages) so that `check_inputs` and the shared
/// folder's imports find real files.
fn case(example: &Path) -> Case {
    let tmp = scratch();
    let bytes = std::fs::read(example).unwrap_or_else(|e| panic!("{}: {e}", example.display()));
    let t = lk_model::load(&bytes).unwrap_or_else(|e| panic!("{}: {e}", example.display()));
    let opts = lk_plan::PlanOptions {
        state_dir: tmp.path().join("state").to_string_lossy().into_owned(),
        ..lk_plan::PlanOptions::default()
    };
    let mut plan = lk_plan::plan(&t, &opts);
    lk_engine::fake::stand_in_inputs(&mut plan, &tmp.path().join("inputs"))
        .unwrap_or_else(|e| panic!("stand-in inputs: {e}"));
    Case { _tmp: tmp, plan }
}

fn up_opts(run: &str) -> UpOptions {
    UpOptions {
        parallel: 1,
        run_id: Some(run.into()),
        qemu_user: None,
        ..UpOptions::default()
    }
}

fn stage_opts() -> StageOptions {
    StageOptions {
        parallel: 1,
        ..StageOptions::default()
    }
}

/// Which half of "up" failed.
enum Failed {
    Infra(Error),
    Stages(Error),
}

/// `up` then the guest stages; the report says whether anything was created.
fn full_up(fake: &Fake, plan: &Plan, run: &str) -> Result<lk_engine::UpReport, Failed> {
    let report = up(fake, plan, &up_opts(run), &()).map_err(Failed::Infra)?;
    run_stages(fake, plan, &stage_opts(), &()).map_err(Failed::Stages)?;
    Ok(report)
}

/// Runs `full_up`, catching a [`Died`] fake. Returns None when it died.
fn run_catching(fake: &Fake, plan: &Plan) -> Option<Result<lk_engine::UpReport, Failed>> {
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| full_up(fake, plan, "r1")));
    match r {
        Ok(r) => Some(r),
        Err(p) if fake.died() => {
            // Directly from the fake, or re-raised by a scoped worker thread.
            let _ = p.downcast_ref::<Died>();
            None
        }
        Err(p) => std::panic::resume_unwind(p),
    }
}

/// Silences the panic hook for the fake's deaths re-raised by worker threads (the fake's own
/// `resume_unwind` does not call it); every other panic prints as usual.
fn quiet_deaths() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let scoped = info
                .payload()
                .downcast_ref::<&str>()
                .is_some_and(|m| m.contains("scoped thread panicked"));
            if !scoped {
                default(info);
            }
        }));
    });
}

fn assert_empty(fake: &Fake, plan: &Plan, what: &str) {
    let w = fake.world();
    assert_eq!(w.objects(), 0, "{what}: objects left: {w:#?}");
    let shared = Path::new(&plan.resources.shared.host_path);
    assert!(!shared.exists(), "{what}: shared folder left");
    assert!(!cluster_dir(plan).exists(), "{what}: state folder left");
}

/// The object a call named (`ensure_volume lab/lab-mds1-os.qcow2` → the volume's name).
fn object_of(call: &str) -> &str {
    let arg = call.split_once(' ').map_or(call, |(_, a)| a);
    arg.rsplit('/').next().unwrap_or(arg)
}

/// (a) for one call k and one error kind.
fn error_case(example: &Path, k: usize, kind: FaultKind, call: &str) {
    let c = case(example);
    let fake = Fake::failing(k, kind);
    let what = format!("{} call {k} ({call}) {}", example.display(), kind.as_str());
    match full_up(&fake, &c.plan, "r1") {
        Ok(_) => panic!("{what}: up succeeded"),
        Err(Failed::Infra(e)) => {
            let message = chain(&e);
            assert!(
                matches!(e, Error::Unwound { ref undo_failures, .. } if undo_failures.is_empty()),
                "{what}: {message}"
            );
            assert!(message.contains(object_of(call)), "{what}: {message}");
        }
        Err(Failed::Stages(e)) => {
            let message = chain(&e);
            let node_named = c.plan.nodes.iter().any(|n| {
                object_of(call) == n.domain && message.contains(&format!("node {}", n.node))
            });
            assert!(
                matches!(e, Error::Stage { .. }) && node_named,
                "{what}: {message}"
            );
            fake.revive();
            down(&fake, &cluster_dir(&c.plan), &())
                .unwrap_or_else(|e| panic!("{what}: down: {}", chain(e)));
        }
    }
    assert_empty(&fake, &c.plan, &what);
}

/// (b) die at k: `down` from the ledger, and (another run) `gc` without it.
fn die_case(example: &Path, k: usize, call: &str) {
    let what = format!("{} call {k} ({call}) die", example.display());
    for with_ledger in [true, false] {
        let c = case(example);
        let fake = Fake::failing(k, FaultKind::Die);
        assert!(
            run_catching(&fake, &c.plan).is_none(),
            "{what}: did not die"
        );
        fake.revive();
        let dir = cluster_dir(&c.plan);
        if with_ledger {
            down(&fake, &dir, &()).unwrap_or_else(|e| panic!("{what}: down: {}", chain(e)));
            assert_empty(&fake, &c.plan, &format!("{what}, down"));
        } else {
            let _ = std::fs::remove_file(dir.join("ledger.jsonl"));
            gc(&fake, &c.plan.cluster, &dir, &())
                .unwrap_or_else(|e| panic!("{what}: gc: {}", chain(e)));
            assert_empty(&fake, &c.plan, &format!("{what}, gc"));
        }
    }
}

/// (c) up twice converges; returns the clean run's provider calls.
fn clean_and_twice(example: &Path) -> Vec<String> {
    let c = case(example);
    let fake = Fake::new();
    let first = full_up(&fake, &c.plan, "r1").unwrap_or_else(|e| match e {
        Failed::Infra(e) | Failed::Stages(e) => panic!("{}: up: {}", example.display(), chain(e)),
    });
    assert!(first.steps.iter().all(|s| s.created));
    let calls = fake.calls();
    let world = fake.world();
    let second = full_up(&fake, &c.plan, "r2").unwrap_or_else(|e| match e {
        Failed::Infra(e) | Failed::Stages(e) => panic!("{}: up 2: {}", example.display(), chain(e)),
    });
    let remade: Vec<&str> = second
        .steps
        .iter()
        .filter(|s| s.created)
        .map(|s| s.step.as_str())
        .collect();
    // The shared folder is rewritten each time (the scripts may have changed); no libvirt
    // object is made twice.
    assert!(
        remade.iter().all(|s| s.starts_with("shared folder")),
        "{}: second up re-created {remade:?}",
        example.display()
    );
    assert_eq!(
        fake.world(),
        world,
        "{}: second up changed the world",
        example.display()
    );
    let all = calls.len();
    let again = fake.calls().len() - all;
    assert!(
        again < all,
        "{}: second up made {again} calls",
        example.display()
    );
    down(&fake, &cluster_dir(&c.plan), &()).unwrap_or_else(|e| panic!("down: {}", chain(e)));
    assert_empty(
        &fake,
        &c.plan,
        &format!("{}: down after up twice", example.display()),
    );
    calls
}

#[test]
fn every_call_of_every_example_fails_dies_and_recovers_to_zero_objects() {
    quiet_deaths();
    let mut cases = 0;
    let mut summary = Vec::new();
    for example in examples() {
        let calls = clean_and_twice(&example);
        for (k, call) in calls.iter().enumerate() {
            for kind in FaultKind::ALL {
                match kind {
                    FaultKind::Die => die_case(&example, k, call),
                    _ => error_case(&example, k, kind, call),
                }
                cases += 1;
            }
        }
        let name = example
            .file_name()
            .map(|n| n.to_string_lossy().into_owned());
        summary.push(format!(
            "{}: {} calls",
            name.unwrap_or_default(),
            calls.len()
        ));
    }
    eprintln!(
        "fault matrix: {cases} (topology, call, failure kind) cases, all at zero objects [{}]",
        summary.join(", ")
    );
    assert!(cases > 0);
}

/// `gc` without a ledger removes what carries the cluster's marks and nothing else: a domain
/// of another cluster, an untagged domain and a network with a foreign bridge, all named
/// like the cluster's objects, stay.
#[test]
fn gc_never_touches_what_is_not_ours() {
    quiet_deaths();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/small.yaml");
    let c = case(&example);
    let cluster = c.plan.cluster.clone();
    let fake = Fake::new();
    let other = lk_engine::provider::Owner {
        cluster: format!("{cluster}-b"),
        run: "r0".into(),
    };
    fake.add_domain(&format!("{cluster}-b-n1"), Some(other));
    fake.add_domain(&format!("{cluster}-stray"), None);
    fake.add_foreign_network(&format!("{cluster}-tcp9"), "virbr9");
    let foreign = fake.world();
    full_up(&fake, &c.plan, "r1").unwrap_or_else(|e| match e {
        Failed::Infra(e) | Failed::Stages(e) => panic!("up: {}", chain(e)),
    });
    let dir = cluster_dir(&c.plan);
    std::fs::remove_file(dir.join("ledger.jsonl")).unwrap_or_else(|e| panic!("{e}"));
    let found = gc(&fake, &cluster, &dir, &()).unwrap_or_else(|e| panic!("gc: {}", chain(e)));
    assert!(!found.is_empty());
    let left = fake.world();
    assert_eq!(left.domains, foreign.domains, "gc touched a foreign domain");
    assert_eq!(
        left.networks, foreign.networks,
        "gc touched a foreign network"
    );
    assert_eq!(left.objects(), 3);
}

/// A `down` that fails part-way forgets the stages' progress at once: the next `up` (on
/// machines made anew) must run every stage again, not find them done.
#[test]
fn a_failed_down_forgets_stage_progress() {
    let example = examples().into_iter().next().expect("an example");
    let c = case(&example);
    let counting = Fake::new();
    full_up(&counting, &c.plan, "r1").unwrap_or_else(|e| match e {
        Failed::Infra(e) | Failed::Stages(e) => panic!("up: {}", chain(e)),
    });
    let calls = counting.calls().len();
    down(&counting, &cluster_dir(&c.plan), &()).unwrap_or_else(|e| panic!("down: {}", chain(e)));

    let c = case(&example);
    let dir = cluster_dir(&c.plan);
    let fake = Fake::failing(calls, FaultKind::Error);
    full_up(&fake, &c.plan, "r1").unwrap_or_else(|e| match e {
        Failed::Infra(e) | Failed::Stages(e) => panic!("up: {}", chain(e)),
    });
    assert!(
        dir.join(lk_engine::STAGES_FILE).is_file(),
        "stages recorded"
    );
    let failed = down(&fake, &dir, &());
    assert!(matches!(failed, Err(Error::Down(_))), "{failed:?}");
    assert!(
        !dir.join(lk_engine::STAGES_FILE).exists(),
        "stage progress kept"
    );
    fake.revive();
    down(&fake, &dir, &()).unwrap_or_else(|e| panic!("down again: {}", chain(e)));
    assert_empty(&fake, &c.plan, "down after a failed down");
}
