// SPDX-License-Identifier: Apache-2.0
//! Shared helpers of the integration tests: stores on a temp dir with the stand-in, a
//! LustreOps that fails its n-th call, and a picture of a directory tree to compare.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use lk_volume::lustre::standin::StandInLustre;
use lk_volume::lustre::{
    Backend, LustreError, LustreOps, NidRange, NodemapProperty, ProjectQuota, QuotaLimits, Stripe,
};
use lk_volume::runner::CommandOutput;

/// False (after printing a SKIPPED line) when qemu-img is not installed.
pub fn have_qemu_img(test: &str) -> bool {
    let ok = std::process::Command::new("qemu-img")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        println!("SKIPPED {test}: qemu-img is not installed");
    }
    ok
}

pub fn standin(root: &Path) -> Arc<StandInLustre> {
    Arc::new(standin_plain(root))
}

pub fn standin_plain(root: &Path) -> StandInLustre {
    let state = root.join(".lustrekit");
    std::fs::create_dir_all(&state).expect("state dir");
    StandInLustre::new(root, state.join("standin-lustre.json"))
}

/// Every file under `dir` (relative path) with its content for JSON files and its length
/// otherwise; lock files and the stand-in's lock are left out (they stay by design).
pub fn tree(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let rel = p.strip_prefix(dir).expect("under").display().to_string();
            if rel.ends_with(".lock") || rel.ends_with("/lock") {
                continue;
            }
            if p.is_dir() {
                out.insert(format!("{rel}/"), String::new());
                stack.push(p);
            } else if rel.ends_with(".json") {
                out.insert(rel, std::fs::read_to_string(&p).expect("read"));
            } else {
                out.insert(rel, std::fs::metadata(&p).expect("meta").len().to_string());
            }
        }
    }
    out
}

/// Runs qemu-io on an image (writes test patterns).
pub fn qemu_io(image: &Path, format: &str, command: &str) {
    let out = std::process::Command::new("qemu-io")
        .args(["-f", format, "-c", command])
        .arg(image)
        .output()
        .expect("qemu-io runs");
    assert!(
        out.status.success(),
        "qemu-io {command}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("Pattern verification failed"),
        "qemu-io {command}: {stdout}"
    );
}

/// The first byte of every 64 KiB of the first `blocks` blocks of an image, read through
/// its whole chain (qemu-img convert to raw).
pub fn pattern(image: &Path, blocks: usize) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("tempdir");
    let raw = dir.path().join("out.raw");
    let out = std::process::Command::new("qemu-img")
        .args(["convert", "-U", "-O", "raw"])
        .arg(image)
        .arg(&raw)
        .output()
        .expect("qemu-img convert");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&raw).expect("read raw");
    (0..blocks).map(|i| bytes[i * 65536]).collect()
}

/// A LustreOps that passes calls to `inner` and fails the `fail_at`-th one (0-based).
pub struct FaultLustre<L> {
    pub inner: L,
    pub fail_at: Option<usize>,
    pub seen: AtomicUsize,
}

impl<L: LustreOps> FaultLustre<L> {
    pub fn new(inner: L, fail_at: Option<usize>) -> Self {
        Self {
            inner,
            fail_at,
            seen: AtomicUsize::new(0),
        }
    }

    pub fn count(&self) -> usize {
        self.seen.load(Ordering::SeqCst)
    }

    fn step(&self) -> Result<(), LustreError> {
        let n = self.seen.fetch_add(1, Ordering::SeqCst);
        if self.fail_at == Some(n) {
            return Err(LustreError::Stripe(format!("injected failure at call {n}")));
        }
        Ok(())
    }
}

impl<L: LustreOps> LustreOps for FaultLustre<L> {
    fn backend(&self) -> Backend {
        self.inner.backend()
    }
    fn setstripe(&self, path: &Path, stripe: &Stripe) -> Result<(), LustreError> {
        self.step()?;
        self.inner.setstripe(path, stripe)
    }
    fn set_project(&self, dir: &Path, id: u32) -> Result<(), LustreError> {
        self.step()?;
        self.inner.set_project(dir, id)
    }
    fn clear_project(&self, dir: &Path) -> Result<(), LustreError> {
        self.inner.clear_project(dir)
    }
    fn set_project_quota(&self, id: u32, limits: &QuotaLimits) -> Result<(), LustreError> {
        // Undos (all-zero limits) are not counted, so each forward step fails in turn.
        if *limits != QuotaLimits::default() {
            self.step()?;
        }
        self.inner.set_project_quota(id, limits)
    }
    fn project_quota(&self, id: u32) -> Result<ProjectQuota, LustreError> {
        self.inner.project_quota(id)
    }
    fn fileset_of(&self, dir: &Path) -> Result<String, LustreError> {
        self.inner.fileset_of(dir)
    }
    fn nodemap_add(&self, name: &str) -> Result<(), LustreError> {
        self.step()?;
        self.inner.nodemap_add(name)
    }
    fn nodemap_add_range(&self, name: &str, range: &NidRange) -> Result<(), LustreError> {
        self.step()?;
        self.inner.nodemap_add_range(name, range)
    }
    fn nodemap_set_fileset(
        &self,
        name: &str,
        fileset: &str,
        readonly: bool,
    ) -> Result<(), LustreError> {
        self.step()?;
        self.inner.nodemap_set_fileset(name, fileset, readonly)
    }
    fn nodemap_modify(&self, name: &str, property: NodemapProperty) -> Result<(), LustreError> {
        self.step()?;
        self.inner.nodemap_modify(name, property)
    }
    fn nodemap_del_range(&self, name: &str, range: &NidRange) -> Result<(), LustreError> {
        self.inner.nodemap_del_range(name, range)
    }
    fn nodemap_del(&self, name: &str) -> Result<(), LustreError> {
        self.inner.nodemap_del(name)
    }
    fn nodemap_activate(&self, on: bool) -> Result<(), LustreError> {
        self.step()?;
        self.inner.nodemap_activate(on)
    }
}

/// A runner answering `lfs setstripe` by creating the file (as lfs does) and passing every
/// other command to this host; records what it ran.
pub struct StripeThenLocal {
    pub calls: std::sync::Mutex<Vec<Vec<String>>>,
}

impl lk_volume::runner::CommandRunner for StripeThenLocal {
    fn run(&self, argv: &[String]) -> std::io::Result<CommandOutput> {
        if let Ok(mut c) = self.calls.lock() {
            c.push(argv.to_vec());
        }
        if argv.first().map(String::as_str) == Some("lfs") {
            let path = PathBuf::from(argv.last().expect("path"));
            std::fs::File::create(path)?;
            return Ok(CommandOutput::ok(Vec::new()));
        }
        lk_volume::runner::LocalRunner.run(argv)
    }
}
