// SPDX-License-Identifier: Apache-2.0
//! Helpers: spawning the binary, reading the index, walking the tree.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use lk_gateway::config::Limits;
use lk_gateway::index::Index;
use lk_sync::layout::{classify, Place};

/// `(account, container, name) -> size`.
pub type Listing = BTreeMap<(String, String, String), u64>;

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_lk-sync"))
}

/// How long a stopped `lk-sync` may take to exit: a hang guard, not a speed requirement.
pub const EXIT_GUARD: Duration = Duration::from_secs(30);

/// A running `lk-sync`; stopped with SIGTERM on drop (SIGKILL if it does not exit within
/// [`EXIT_GUARD`]). Crash tests kill it with [`SyncProc::kill9`] themselves.
pub struct SyncProc {
    pub child: Child,
    pub stderr: PathBuf,
}

impl SyncProc {
    /// Starts `lk-sync ARGS` and waits for `lk-sync ready` (generous timeout).
    pub fn start(args: &[&str], stderr: &Path) -> SyncProc {
        SyncProc::start_env(args, stderr, &[])
    }

    /// As [`SyncProc::start`], with extra environment variables.
    pub fn start_env(args: &[&str], stderr: &Path, env: &[(&str, &Path)]) -> SyncProc {
        let err = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(stderr)
            .expect("stderr file");
        let mut child = Command::new(bin())
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(err)
            .spawn()
            .expect("spawn lk-sync");
        let out = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { return };
                if line == "lk-sync ready" {
                    let _ = tx.send(());
                }
            }
        });
        if rx.recv_timeout(Duration::from_secs(120)).is_err() {
            let _ = child.kill();
            panic!(
                "lk-sync never became ready:\n{}",
                std::fs::read_to_string(stderr).unwrap_or_default()
            );
        }
        SyncProc {
            child,
            stderr: stderr.to_path_buf(),
        }
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends `sig` (as `kill` names it: `TERM`, `INT`, `STOP`...).
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args(["-s", sig, &self.child.id().to_string()])
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill -s {sig}");
    }

    /// Sends `sig` and waits for the exit; panics (after a SIGKILL) if it takes more than
    /// [`EXIT_GUARD`].
    pub fn stop_with(&mut self, sig: &str) -> ExitStatus {
        self.signal(sig);
        match self.wait_for_exit(EXIT_GUARD) {
            Some(status) => status,
            None => {
                self.kill9();
                panic!(
                    "lk-sync still running {EXIT_GUARD:?} after SIG{sig}:\n{}",
                    self.log()
                );
            }
        }
    }

    /// The exit status, once the process has exited within `timeout`.
    pub fn wait_for_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                _ => return None,
            }
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for SyncProc {
    fn drop(&mut self) {
        // A graceful exit lets coverage tools record the daemon's counters.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = Command::new("kill")
                .args(["-s", "TERM", &self.child.id().to_string()])
                .status();
            if self.wait_for_exit(EXIT_GUARD).is_none() {
                self.kill9();
            }
        }
    }
}

/// Every object the index lists, and the containers whose totals are not exactly the sum of
/// their rows (a duplicated or lost update would break them; two separate reads may also
/// straddle a commit, so callers retry before believing it).
pub fn index_listing_checked(state_dir: &Path) -> (Listing, Vec<String>) {
    let idx = Index::open(&state_dir.join("index.sqlite3")).expect("open index");
    let mut out = Listing::new();
    let mut bad = Vec::new();
    for a in idx.account_names().expect("accounts") {
        for c in idx.container_names(&a).expect("containers") {
            let states = idx.object_states_under(&a, &c, "").expect("states");
            let rec = idx.container(&a, &c).expect("container").expect("listed");
            let bytes: u64 = states.values().map(|s| s.size).sum();
            if (rec.object_count, rec.bytes_used) != (states.len() as u64, bytes) {
                bad.push(format!(
                    "{a}/{c}: totals {} objects {} bytes, rows {} objects {bytes} bytes",
                    rec.object_count,
                    rec.bytes_used,
                    states.len()
                ));
            }
            for (n, s) in states {
                out.insert((a.clone(), c.clone(), n), s.size);
            }
        }
    }
    (out, bad)
}

/// Every object the index lists (totals checked, see [`index_listing_checked`]).
pub fn index_listing(state_dir: &Path) -> Listing {
    let (l, bad) = index_listing_checked(state_dir);
    assert!(bad.is_empty(), "{bad:?}");
    l
}

/// Every regular file of the tree that is an object (what the listing must be).
pub fn tree_listing(root: &Path) -> Listing {
    let limits = Limits::default();
    let mut out = Listing::new();
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, rel)) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let Some(n) = e.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let r = if rel.is_empty() {
                n
            } else {
                format!("{rel}/{n}")
            };
            let Ok(md) = e.path().symlink_metadata() else {
                continue;
            };
            // No long components in these trees: nothing to look up.
            let place = classify::<()>(&r, &limits, |_| Ok(None)).unwrap_or(None);
            match place {
                Some(Place::Object {
                    account,
                    container,
                    name,
                }) if md.is_file() => {
                    out.insert((account, container, name), md.len());
                }
                Some(_) if md.is_dir() || (r.split('/').count() == 1 && e.path().is_dir()) => {
                    stack.push((e.path(), r));
                }
                _ => {}
            }
        }
    }
    out
}

/// Waits until the index lists exactly the tree; panics with the difference otherwise.
pub fn wait_converged(root: &Path, state_dir: &Path, timeout: Duration, log: &dyn Fn() -> String) {
    let start = Instant::now();
    loop {
        let want = tree_listing(root);
        let (got, bad) = index_listing_checked(state_dir);
        if want == got && bad.is_empty() {
            return;
        }
        if start.elapsed() > timeout {
            let missing: Vec<_> = want
                .iter()
                .filter(|(k, v)| got.get(*k) != Some(v))
                .take(10)
                .collect();
            let extra: Vec<_> = got
                .iter()
                .filter(|(k, v)| want.get(*k) != Some(v))
                .take(10)
                .collect();
            panic!(
                "index did not converge in {timeout:?}: tree {} entries, index {}; missing or \
                 different {missing:?}; extra {extra:?}; totals {bad:?}\nlog:\n{}",
                want.len(),
                got.len(),
                log()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

pub fn write(path: &Path, content: &[u8]) {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).expect("mkdir");
    }
    std::fs::write(path, content).expect("write");
}
