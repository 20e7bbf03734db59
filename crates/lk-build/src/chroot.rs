//! The build root: a debootstrap of the guest's distribution on the host, with /proc, /sys,
//! /dev and the build folder bind-mounted while a step runs (and always unmounted after).

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::BuildError;
use crate::steps::Step;

/// Bind mounts of one step; dropped (unmounted, innermost first) however the step ends.
pub struct Mounts {
    points: Vec<PathBuf>,
}

impl Mounts {
    pub fn bind(root: &Path, work: &Path) -> Result<Mounts, BuildError> {
        let mut m = Mounts { points: Vec::new() };
        for (src, rel) in [
            (Path::new("/proc"), "proc"),
            (Path::new("/sys"), "sys"),
            (Path::new("/dev"), "dev"),
            (Path::new("/dev/pts"), "dev/pts"),
            (work, "work"),
        ] {
            let target = root.join(rel);
            fs::create_dir_all(&target).map_err(BuildError::io(Step::Root, "create", &target))?;
            if is_mountpoint(&target) {
                // Left by a build that was killed; builds are serialised by the cache lock,
                // so it is ours to reuse and to unmount afterwards.
                m.points.push(target);
                continue;
            }
            let status = Command::new("mount")
                .arg("--bind")
                .arg(src)
                .arg(&target)
                .status()
                .map_err(|source| BuildError::Spawn {
                    step: Step::Root,
                    command: format!("mount --bind {} {}", src.display(), target.display()),
                    source,
                })?;
            if !status.success() {
                return Err(BuildError::Invalid {
                    step: Step::Root,
                    detail: format!("mount --bind {} {} failed", src.display(), target.display()),
                });
            }
            m.points.push(target);
        }
        // Name resolution for apt inside the root.
        let _ = fs::copy("/etc/resolv.conf", root.join("etc/resolv.conf"));
        Ok(m)
    }
}

impl Drop for Mounts {
    fn drop(&mut self) {
        for p in self.points.iter().rev() {
            let ok = Command::new("umount")
                .arg(p)
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                let _ = Command::new("umount").arg("-l").arg(p).status();
            }
        }
    }
}

fn is_mountpoint(p: &Path) -> bool {
    Command::new("mountpoint")
        .arg("-q")
        .arg(p)
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `command` (argv) with `env`, all output appended to `log`; every line is also handed
/// to `on_line`. Fails with the step, exit status, log path and the last lines.
pub fn run_logged(
    step: Step,
    mut command: Command,
    log: &Path,
    on_line: &mut dyn FnMut(&str),
) -> Result<(), BuildError> {
    let shown = format!("{command:?}");
    let mut file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(BuildError::io(step, "open log", log))?;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().map_err(|source| BuildError::Spawn {
        step,
        command: shown,
        source,
    })?;
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let mut readers = Vec::new();
    if let Some(out) = child.stdout.take() {
        let tx = tx.clone();
        readers.push(std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(l);
            }
        }));
    }
    if let Some(err) = child.stderr.take() {
        let tx = tx.clone();
        readers.push(std::thread::spawn(move || {
            for l in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = tx.send(l);
            }
        }));
    }
    drop(tx);
    let mut tail: std::collections::VecDeque<String> = std::collections::VecDeque::new();
    for line in rx {
        writeln!(file, "{line}").map_err(BuildError::io(step, "write log", log))?;
        on_line(&line);
        if tail.len() == 40 {
            tail.pop_front();
        }
        tail.push_back(line);
    }
    for r in readers {
        let _ = r.join();
    }
    let status = child.wait().map_err(|source| BuildError::Spawn {
        step,
        command: "wait".into(),
        source,
    })?;
    if status.success() {
        return Ok(());
    }
    Err(BuildError::Step {
        step,
        status: status.to_string(),
        log: log.to_path_buf(),
        tail: tail.into_iter().collect::<Vec<_>>().join("\n"),
    })
}
