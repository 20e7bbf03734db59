//! The `lustrekit` binary as a user meets it: exit codes, messages, determinism.

use std::process::{Command, Output};

mod common;
use common::{lustrekit, root, text};

#[test]
fn every_example_validates_and_plans() {
    for example in ["all-in-one", "basic-lab", "ha", "routing", "bench", "small"] {
        let file = format!("examples/{example}.yaml");
        let v = lustrekit(&["validate", &file]);
        assert!(v.status.success(), "{file}: {}", text(&v.stderr));
        assert!(text(&v.stdout).contains("valid"));
        let p = lustrekit(&["plan", &file]);
        assert!(p.status.success(), "{file}: {}", text(&p.stderr));
        let j = lustrekit(&["plan", "--format", "json", &file]);
        assert!(j.status.success());
        let parsed: serde_json::Value =
            serde_json::from_slice(&j.stdout).expect("plan JSON parses");
        assert_eq!(parsed["fsname"].as_str().map(|s| !s.is_empty()), Some(true));
    }
}

#[test]
fn plan_output_is_byte_identical_across_runs() {
    for format in ["text", "json"] {
        let a = lustrekit(&["plan", "--format", format, "examples/ha.yaml"]);
        let b = lustrekit(&["plan", "--format", format, "examples/ha.yaml"]);
        assert_eq!(a.stdout, b.stdout);
    }
}

#[test]
fn invalid_topology_lists_every_problem_with_position_and_exits_3() {
    let out = lustrekit(&[
        "validate",
        "crates/lk-model/tests/malformed/many-problems.yaml",
    ]);
    assert_eq!(out.status.code(), Some(3));
    let err = text(&out.stderr);
    assert!(err.starts_with("lustrekit: "), "{err}");
    assert!(err.contains("problems found"), "{err}");
    assert!(
        err.contains("many-problems.yaml:6:3: spec.fsname:"),
        "{err}"
    );
    assert!(err.contains("spec.nodes[1].memory"), "{err}");
    assert!(err.contains("spec.nodes[1].vcpus"), "{err}");
    assert!(err.contains("spec.targets.osts[0].node"), "{err}");
    assert!(err.contains("spec.targets.osts[0].size"), "{err}");
    assert!(
        !err.contains('\u{1b}'),
        "NO_COLOR output has no escape codes: {err:?}"
    );
}

#[test]
fn every_malformed_input_exits_nonzero_without_panicking() {
    let dir = root().join("crates/lk-model/tests/malformed");
    for entry in std::fs::read_dir(dir).expect("corpus") {
        let path = entry.expect("entry").path();
        let out = lustrekit(&["plan", path.to_str().expect("utf-8 path")]);
        assert_eq!(
            out.status.code(),
            Some(3),
            "{}: {}",
            path.display(),
            text(&out.stderr)
        );
        let err = text(&out.stderr);
        assert!(!err.contains("panicked"), "{}: {err}", path.display());
        assert!(
            err.lines().count() >= 2,
            "{}: the message names the problem: {err}",
            path.display()
        );
    }
}

#[test]
fn missing_file_and_bad_usage_have_their_own_exit_codes() {
    let missing = lustrekit(&["validate", "no/such/file.yaml"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing.stderr).contains("cannot read topology file no/such/file.yaml"));
    let usage = lustrekit(&["plan", "--frobnicate"]);
    assert_eq!(usage.status.code(), Some(2));
}

#[test]
fn help_shows_examples_and_exit_codes() {
    let out = lustrekit(&["--help"]);
    let help = text(&out.stdout);
    assert!(
        help.contains("Examples:") && help.contains("Exit codes:"),
        "{help}"
    );
}

#[test]
fn schema_is_json_schema_of_the_model() {
    let out = lustrekit(&["schema"]);
    assert!(out.status.success());
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).expect("schema JSON");
    assert_eq!(schema["title"], "LustreCluster");
    assert!(schema["properties"]["spec"].is_object());
    let committed = std::fs::read_to_string(root().join("docs/lustrecluster.schema.json"))
        .expect("committed schema");
    assert_eq!(text(&out.stdout), committed, "docs/lustrecluster.schema.json is stale: run `lustrekit schema > docs/lustrecluster.schema.json`");
}

#[test]
fn stdin_is_accepted() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lustrekit"))
        .args(["validate", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let yaml = std::fs::read(root().join("examples/all-in-one.yaml")).expect("example");
    std::io::Write::write_all(child.stdin.as_mut().expect("stdin"), &yaml).expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success());
}

/// `lustrekit build` on a topology whose source path is not a Lustre tree, or that does not
/// build at all: a clear error naming what to provide, before anything is made.
#[test]
fn build_refuses_what_is_not_a_lustre_tree() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("README"), "not lustre").expect("write");
    let topo = std::fs::read_to_string(root().join("tests/real-lustre/small.yaml"))
        .expect("fixture")
        .replace(
            "/var/cache/lustrekit/lustre-release",
            &dir.path().to_string_lossy(),
        );
    let file = dir.path().join("t.yaml");
    std::fs::write(&file, topo).expect("write");
    let o = lustrekit(&["build", &file.to_string_lossy()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(err.contains("is not a Lustre source tree"), "{err}");
    assert!(err.contains("LUSTRE-VERSION-GEN"), "{err}");

    let o = lustrekit(&["build", "examples/small.yaml"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("spec.lustre.source is not `build`"),
        "{}",
        text(&o.stderr)
    );
}

/// `plan --build-on vm` without a build node is refused; on this host (no KVM) `auto` builds
/// on the host and says why.
#[test]
fn plan_says_where_lustre_is_built() {
    let o = lustrekit(&["plan", "tests/real-lustre/small.yaml", "--build-on", "vm"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("no node of rl-small has the `build` role"));
    let o = lustrekit(&["plan", "examples/basic-lab.yaml", "--build-on", "host"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        out.contains("Build: on the host (--build-on host)"),
        "{out}"
    );
    assert!(!out.contains("domain lab-build"), "no build VM: {out}");
}

#[test]
fn a_log_filter_that_does_not_parse_is_an_error_not_info() {
    let root = tempfile::tempdir().expect("tempdir");
    let root = root.path().to_string_lossy().into_owned();
    let out = lustrekit(&[
        "gateway",
        "--root",
        &root,
        "--user",
        "a:u:k",
        "--listen",
        "127.0.0.1:0",
        "--log",
        "lk_gateway=[[nope",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("invalid --log filter \"lk_gateway=[[nope\""),
        "{}",
        text(&out.stderr)
    );
}

fn have_qemu_img(test: &str) -> bool {
    let ok = Command::new("qemu-img")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        println!("SKIPPED {test}: qemu-img is not installed");
    }
    ok
}

/// `lustrekit volume` on a plain directory (the stand-in): the note, a lifecycle with JSON
/// output, and refusals with exit code 1.
#[test]
fn volume_commands_on_a_stand_in_directory() {
    if !have_qemu_img("volume_commands_on_a_stand_in_directory") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let r = dir.path().to_string_lossy().into_owned();
    let vol = |args: &[&str]| {
        let mut all = vec!["volume", "--root", &r];
        all.extend_from_slice(args);
        lustrekit(&all)
    };
    let o = vol(&["create", "v1", "--size", "64MiB", "--format", "raw"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("is not on Lustre: using the directory stand-in"));
    assert!(vol(&["snapshot", "v1", "s1"]).status.success());
    let o = vol(&["list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&o.stdout).expect("list JSON");
    assert_eq!(list["volumes"][0]["name"], "v1");
    assert_eq!(list["volumes"][0]["snapshots"][0]["name"], "s1");
    assert!(list["capacity"]["total"].as_u64() > Some(0));
    assert_eq!(list["capacity"]["max_over_subscription_ratio"], 20.0);
    let o = vol(&["show", "v1", "--json"]);
    let show: serde_json::Value = serde_json::from_slice(&o.stdout).expect("show JSON");
    assert_eq!(
        show["image"]["format"], "qcow2",
        "the active layer is the overlay"
    );
    assert_eq!(show["image"]["backing-filename"], "base.raw");

    let o = vol(&["extend", "v1", "--size", "32MiB"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("lustrekit: volume v1 is 64.0MiB"),
        "{}",
        text(&o.stderr)
    );
    let o = vol(&["delete", "v1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("volume v1 has snapshots (s1)"),
        "{}",
        text(&o.stderr)
    );
    let o = vol(&["clone", "v1", "c1", "--snapshot", "s1"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(vol(&["delete", "v1", "--force"]).status.success());
    let o = vol(&["show", "v1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).ends_with("lustrekit: volume v1 does not exist\n"),
        "{}",
        text(&o.stderr)
    );
    let o = vol(&[
        "create",
        "big",
        "--size",
        "64MiB",
        "--max-over-subscription-ratio",
        "0.0000001",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("above max_over_subscription_ratio"),
        "{}",
        text(&o.stderr)
    );
}

/// `lustrekit share` on the stand-in, and bad input: usage errors exit 2, refusals exit 1.
#[test]
fn share_commands_and_bad_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = dir.path().to_string_lossy().into_owned();
    let share = |args: &[&str]| {
        let mut all = vec!["share", "--root", &r];
        all.extend_from_slice(args);
        lustrekit(&all)
    };
    let o = share(&["create", "projA", "--size", "10MiB", "--inodes", "100"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = share(&["allow", "projA", "10.0.0.[2-5]@tcp", "--access", "ro"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = share(&["show", "projA", "--json"]);
    let show: serde_json::Value = serde_json::from_slice(&o.stdout).expect("show JSON");
    assert_eq!(show["access"][0]["level"], "ro");
    assert_eq!(show["fileset"], "/shares/projA");
    assert_eq!(show["enforced"], false);
    assert_eq!(show["usage"]["inodes"], 1);
    assert_eq!(show["limits"]["inode_hard"], 100);

    let bad_range = share(&["allow", "projA", "10.0.0.2"]);
    assert_eq!(bad_range.status.code(), Some(2));
    assert!(text(&bad_range.stderr).contains("missing @NET"));
    let bad_size = share(&["create", "b", "--size", "lots"]);
    assert_eq!(bad_size.status.code(), Some(2));
    let bad_name = share(&["create", "../x", "--size", "1G"]);
    assert_eq!(bad_name.status.code(), Some(1));
    assert!(text(&bad_name.stderr).contains("share name \"../x\" contains '/'"));
    let refused = share(&["delete", "projA"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(text(&refused.stderr).contains("still allows 10.0.0.[2-5]@tcp"));
    assert!(share(&["delete", "projA", "--force"]).status.success());
    let unknown = share(&["show", "projA"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(text(&unknown.stderr).contains("share projA does not exist"));

    let no_root = lustrekit(&["share", "list"]);
    assert_eq!(no_root.status.code(), Some(1));
    assert!(text(&no_root.stderr).contains("--root DIR is required"));
    let missing = lustrekit(&["volume", "--root", "/no/such/dir", "list"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing.stderr).contains("cannot open storage root /no/such/dir"));
}

fn csi(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lustrekit"))
        .arg("csi")
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("LUSTREKIT_ROOT")
        .env_remove("CSI_ENDPOINT")
        .env_remove("NODE_ID")
        .output()
        .expect("run lustrekit csi")
}

/// `lustrekit csi` refuses bad flags before serving: usage errors exit 2, settings that do
/// not go together exit 1, each with a message naming the flag.
#[test]
fn csi_bad_input_is_refused_with_the_flag_named() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path().display().to_string();
    let sock = format!("unix://{}/csi.sock", root);
    let cases: &[(&[&str], i32, &str)] = &[
        (&["--mode", "node", "--mount", "dir"], 2, "--standin-root"),
        (&["--mode", "fast"], 2, "--mode"),
        (
            &["--mode", "all", "--cluster", "lab"],
            2,
            "NAME=NIDS:/FSNAME",
        ),
        (&["--mode", "all", "--fs", "lustre"], 2, "NIDS:/FSNAME"),
        (
            &["--mode", "all", "--max-over-subscription-ratio", "0"],
            2,
            "above 0",
        ),
        (
            &["--mode", "controller", "--root", &root],
            1,
            "--root and --fs go together",
        ),
        (
            &["--mode", "controller", "--endpoint", &sock],
            1,
            "--root and --fs",
        ),
        (&["--mode", "node", "--endpoint", &sock], 1, "--node-id"),
        (
            &["--mode", "controller", "--share-root", "lab"],
            2,
            "NAME=DIR",
        ),
        (
            &["--mode", "controller", "--share-root", "a/b=/x"],
            2,
            "cluster name",
        ),
        (
            &[
                "--mode",
                "controller",
                "--root",
                &root,
                "--fs",
                "n@tcp:/fs",
                "--share-root",
                "lab=/mnt/lab",
            ],
            1,
            "--share-root lab=/mnt/lab has no --cluster lab=NIDS:/FSNAME",
        ),
        (
            &[
                "--mode",
                "controller",
                "--cluster",
                "lab=n@tcp:/lab",
                "--share-root",
                "lab=/mnt/lab",
            ],
            1,
            "--share-root needs --root and --fs",
        ),
        (
            &[
                "--mode",
                "node",
                "--node-id",
                "n",
                "--endpoint",
                "tcp://node1:5",
            ],
            1,
            "endpoint",
        ),
    ];
    for (args, want, needle) in cases {
        let o = csi(args);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(*want), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {needle:?} not in {err}");
    }
}

/// The driver serves on its socket until SIGTERM, then exits 0 and removes the socket.
#[test]
fn csi_serves_until_sigterm() {
    let dir = tempfile::tempdir().expect("tmp");
    let sock = dir.path().join("csi.sock");
    let root = dir.path().join("root");
    std::fs::create_dir(&root).expect("root");
    let child = Command::new(env!("CARGO_BIN_EXE_lustrekit"))
        .args(["csi", "--mode", "all", "--node-id", "n1", "--mount", "dir"])
        .arg("--standin-root")
        .arg(&root)
        .arg("--root")
        .arg(&root)
        .args(["--fs", "10.0.0.1@tcp:/lustre"])
        .arg(format!("--endpoint=unix://{}", sock.display()))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the driver");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !sock.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(sock.exists(), "no socket at {}", sock.display());
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!sock.exists(), "socket removed on the way out");
}

/// A failed attach leaves the volume as it was: libvirt's in-process test driver
/// (`test:///default`, no libvirtd) has no domain `nope`, so the plug fails after the volume
/// was marked, and the mark is undone. `lustrekit-storage` has no libvirt: it says so.
#[test]
fn a_failed_attach_leaves_the_volume_detached() {
    if !have_qemu_img("a_failed_attach_leaves_the_volume_detached") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let r = dir.path().to_string_lossy().into_owned();
    let run = |exe: &str, args: &[&str]| {
        Command::new(exe)
            .args(["volume", "--root", &r])
            .args(args)
            .env("LUSTREKIT_URI", "test:///default")
            .env("NO_COLOR", "1")
            .output()
            .expect("runs")
    };
    let lk = env!("CARGO_BIN_EXE_lustrekit");
    assert!(run(lk, &["create", "v1", "--size", "16MiB"])
        .status
        .success());
    let o = run(lk, &["attach", "v1", "--domain", "nope"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("attaching v1 to domain nope"),
        "{}",
        text(&o.stderr)
    );
    let o = run(lk, &["show", "v1", "--json"]);
    let show: serde_json::Value = serde_json::from_slice(&o.stdout).expect("show JSON");
    assert!(show["attached_to"].is_null(), "{show}");
    assert!(run(lk, &["extend", "v1", "--size", "32MiB"])
        .status
        .success());
    let o = run(lk, &["detach", "v1"]);
    assert!(
        o.status.success(),
        "detaching what is detached: {}",
        text(&o.stderr)
    );

    let o = run(
        env!("CARGO_BIN_EXE_lustrekit-storage"),
        &["attach", "v1", "--domain", "nope"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("run them with `lustrekit`"),
        "{}",
        text(&o.stderr)
    );
}
