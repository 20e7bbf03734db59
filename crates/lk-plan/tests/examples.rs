//! Golden tests: every example's plan (text and JSON) and every generated script are pinned by
//! snapshots, and every generated script passes shellcheck.

use std::path::{Path, PathBuf};
use std::process::Command;

fn examples() -> Vec<(String, PathBuf)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .expect("examples folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| {
            (
                p.file_stem()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
                p,
            )
        })
        .collect();
    out.sort();
    assert!(out.len() >= 5, "expected the five shipped examples");
    out
}

fn plan_of(path: &Path) -> lk_plan::Plan {
    let bytes = std::fs::read(path).expect("read example");
    let topology = lk_model::load(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    lk_plan::plan(&topology, &lk_plan::PlanOptions::default())
}

#[test]
fn plans_are_pinned() {
    for (name, path) in examples() {
        let plan = plan_of(&path);
        insta::assert_snapshot!(format!("{name}.plan"), lk_plan::render::text(&plan));
        insta::assert_snapshot!(
            format!("{name}.json"),
            lk_plan::render::json(&plan).expect("a plan serialises")
        );
    }
}

#[test]
fn scripts_are_pinned() {
    for (name, path) in examples() {
        let plan = plan_of(&path);
        let mut all = String::new();
        for (file, content) in &plan.files {
            all.push_str(&format!("===== {file}\n{content}"));
        }
        insta::assert_snapshot!(format!("{name}.scripts"), all);
    }
}

#[test]
fn plans_are_deterministic() {
    for (_, path) in examples() {
        assert_eq!(
            lk_plan::render::json(&plan_of(&path)).expect("a plan serialises"),
            lk_plan::render::json(&plan_of(&path)).expect("a plan serialises")
        );
    }
}

/// Runs shellcheck over every generated script of every example. shellcheck is installed by
/// scripts/install-deps.sh; its absence fails the test rather than skipping it.
#[test]
fn generated_shell_passes_shellcheck() {
    let dir = tempfile_dir();
    let mut files = Vec::new();
    for (name, path) in examples() {
        for (file, content) in plan_of(&path).files {
            let out = dir.join(format!("{name}--{}", file.replace('/', "--")));
            std::fs::write(&out, content).expect("write script");
            files.push(out);
        }
    }
    let output = Command::new("shellcheck")
        .args(["--shell=bash", "--severity=style"])
        .args(&files)
        .output()
        .expect("shellcheck must be installed (scripts/install-deps.sh)");
    assert!(
        output.status.success(),
        "shellcheck found problems:\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lk-plan-shellcheck-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}
