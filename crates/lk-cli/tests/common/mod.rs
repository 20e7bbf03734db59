//! Helpers shared by the CLI test binaries.

// Each test binary uses only some of these.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn lustrekit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lustrekit"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env_remove("LUSTREKIT_ROOT")
        .output()
        .expect("run lustrekit")
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}
