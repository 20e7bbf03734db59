//! The build's step scripts pass shellcheck, and every step that runs a script has one.

use std::process::Command;

#[test]
fn step_scripts_pass_shellcheck() {
    if Command::new("shellcheck")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: shellcheck is not installed (scripts/install-deps.sh installs it)");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut paths = Vec::new();
    for (name, text) in lk_build::steps::all_scripts() {
        let p = dir.path().join(name);
        std::fs::write(&p, text).expect("write");
        paths.push(p);
    }
    let o = Command::new("shellcheck")
        .args(["-x", "-s", "bash", "-P", &dir.path().to_string_lossy()])
        .args(&paths)
        .output()
        .expect("shellcheck");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
}

#[test]
fn steps_are_ordered_and_scripted() {
    use lk_build::Step;
    let mut sorted = Step::ALL.to_vec();
    sorted.sort();
    assert_eq!(sorted, Step::ALL.to_vec(), "ALL is in run order");
    for s in [
        Step::Root,
        Step::Zfs,
        Step::Configure,
        Step::Compile,
        Step::Package,
        Step::Repository,
    ] {
        assert!(s.script().is_some(), "{s} runs a script");
    }
}
