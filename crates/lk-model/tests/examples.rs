//! Every shipped example validates.

use std::path::Path;

#[test]
fn examples_validate() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("examples folder") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let bytes = std::fs::read(&path).expect("read example");
            if let Err(e) = lk_model::load(&bytes) {
                let all: Vec<String> = e.diagnostics().iter().map(|d| d.to_string()).collect();
                panic!("{}: {e}\n{}", path.display(), all.join("\n"));
            }
            count += 1;
        }
    }
    assert!(count >= 5, "expected at least 5 examples, found {count}");
}
