//! A corpus of malformed topologies (tests/malformed/): every file must be rejected with a
//! message naming the problem, without panicking. The messages are pinned in one snapshot per
//! file, so a change in wording is reviewed.

use std::path::Path;

#[test]
fn every_malformed_file_is_rejected_with_a_message() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/malformed");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("corpus folder")
        .map(|e| e.expect("entry").path())
        .collect();
    paths.sort();
    assert!(
        paths.len() >= 30,
        "the corpus must hold at least 30 inputs, has {}",
        paths.len()
    );
    for path in paths {
        let name = path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let bytes = std::fs::read(&path).expect("read corpus file");
        let result = std::panic::catch_unwind(|| lk_model::load(&bytes));
        let Ok(result) = result else {
            panic!("{name}: load panicked")
        };
        let err = match result {
            Ok(_) => panic!("{name}: accepted, but it is malformed"),
            Err(e) => e,
        };
        let lines: Vec<String> = err.diagnostics().iter().map(|d| d.to_string()).collect();
        assert!(
            !lines.is_empty() && lines.iter().all(|l| !l.trim().is_empty()),
            "{name}: empty message"
        );
        insta::assert_snapshot!(name, format!("{err}\n{}", lines.join("\n")));
    }
}
