//! Helpers shared by the integration tests.

use std::error::Error;
use std::path::{Path, PathBuf};

/// The crate's fixtures folder.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// An error and its sources, one per line, as a program would print the chain.
pub fn chain(err: &dyn Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        out.push_str(&format!("\n  caused by: {s}"));
        source = s.source();
    }
    out
}

/// The sorted files of `dir` (relative to the fixtures) whose names end in `ext`.
#[allow(dead_code)] // not every test binary uses it
pub fn files(dir: &str, ext: &str) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(fixtures().join(dir))
        .expect("fixture folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_string_lossy().ends_with(ext))
        .collect();
    paths.sort();
    paths
}

/// The snapshot suffix of a fixture: its path under fixtures/ with `/` as `__`. insta's glob
/// names snapshots after the matches' common prefix, which changes when a fixture arrives in a
/// new version folder; this name does not.
#[allow(dead_code)] // not every test binary uses it
pub fn suffix(path: &Path) -> String {
    path.strip_prefix(fixtures())
        .unwrap_or(path)
        .to_string_lossy()
        .replace('/', "__")
}

/// Runs `f` once per fixture matching `pattern` (relative to fixtures/), with the snapshot
/// suffix pinned to [`suffix`].
#[macro_export]
macro_rules! each_fixture {
    ($pattern:expr, |$path:ident| $body:block) => {
        insta::glob!("../fixtures", $pattern, |$path| {
            insta::with_settings!({ snapshot_suffix => common::suffix($path) }, $body);
        });
    };
}
