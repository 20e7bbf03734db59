// SPDX-License-Identifier: Apache-2.0
//! Small filesystem helpers shared by volumes and shares: atomic JSON state files, advisory
//! locks, statvfs, the Lustre magic, and usage of a directory tree.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde::Serialize;

/// `LL_SUPER_MAGIC`: what statfs(2) reports as `f_type` on a Lustre client mount.
pub const LUSTRE_SUPER_MAGIC: i64 = 0x0BD0_0BD0;

/// Writes `value` as pretty JSON to `path` so that readers see the old or the new content,
/// never a torn file: a temporary file beside it is written, fsynced, renamed over `path`,
/// and the directory is fsynced.
pub fn write_json_atomic<T: Serialize>(path: &Path, value: &T) -> io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "state path has no parent"))?;
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "state path has no name"))?;
    let tmp = dir.join(format!(".{file_name}.tmp-{}", std::process::id()));
    let mut body = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
    body.push(b'\n');
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(&body)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Reads a JSON state file. Errors keep the serde message (line and column).
pub fn read_json<T: DeserializeOwned>(path: &Path) -> io::Result<T> {
    let bytes = fs::read(path)?;
    serde_json::from_slice(&bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// An exclusive advisory lock (flock) held until dropped.
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

/// What [`lock`] found.
#[derive(Debug)]
pub enum LockError {
    /// Another process holds the lock.
    Busy,
    Io(io::Error),
}

/// How long [`lock`] waits for a lock held elsewhere before answering Busy. A lock just
/// released can stay held for a moment: a child another thread is spawning inherits every
/// descriptor until its exec closes the close-on-exec ones, and flock belongs to the open
/// file description, not the process.
pub const LOCK_WAIT: Duration = Duration::from_millis(1500);

/// Takes an exclusive flock on `path` (created if missing), waiting at most [`LOCK_WAIT`].
/// Where flock is not supported (a Lustre client mounted with `noflock`) the lock is
/// skipped: callers then rely on one writer at a time, as docs/volumes.md says.
pub fn lock(path: &Path) -> Result<Lock, LockError> {
    lock_within(path, LOCK_WAIT)
}

/// [`lock`] with an explicit wait.
pub fn lock_within(path: &Path, wait: Duration) -> Result<Lock, LockError> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(LockError::Io)?;
    let deadline = Instant::now() + wait;
    loop {
        match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => return Ok(Lock { _file: file }),
            Err(e) if e == rustix::io::Errno::WOULDBLOCK => {
                if Instant::now() >= deadline {
                    return Err(LockError::Busy);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e)
                if e == rustix::io::Errno::NOSYS
                    || e == rustix::io::Errno::OPNOTSUPP
                    || e == rustix::io::Errno::INVAL =>
            {
                return Ok(Lock { _file: file })
            }
            Err(e) => return Err(LockError::Io(e.into())),
        }
    }
}

/// Total and available bytes of the filesystem holding `path` (statvfs: `f_blocks` and
/// `f_bavail` in `f_frsize` units).
pub fn space(path: &Path) -> io::Result<(u64, u64)> {
    let st = rustix::fs::statvfs(path)?;
    let total = st.f_blocks.saturating_mul(st.f_frsize);
    let avail = st.f_bavail.saturating_mul(st.f_frsize);
    Ok((total, avail))
}

/// Whether `path` is on a Lustre client mount (statfs magic `0x0BD00BD0`).
pub fn is_lustre(path: &Path) -> io::Result<bool> {
    let st = rustix::fs::statfs(path)?;
    // `f_type` is i64 on x86_64 and narrower elsewhere.
    #[allow(clippy::useless_conversion)]
    let magic = i64::from(st.f_type);
    Ok(magic == LUSTRE_SUPER_MAGIC)
}

/// Space and inodes a tree uses, counted like quota: allocated bytes (st_blocks × 512) and
/// one inode per file, directory or link, the top directory included. Hard links count once
/// per name (quota counts inodes; the stand-in is an estimate).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TreeUsage {
    pub bytes: u64,
    pub inodes: u64,
}

/// Walks `dir` without following symlinks. A missing `dir` uses nothing.
pub fn tree_usage(dir: &Path) -> io::Result<TreeUsage> {
    let mut usage = TreeUsage::default();
    let top = match fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(usage),
        Err(e) => return Err(e),
    };
    let mut stack = vec![(dir.to_path_buf(), top)];
    while let Some((path, meta)) = stack.pop() {
        usage.bytes = usage
            .bytes
            .saturating_add(meta.blocks().saturating_mul(512));
        usage.inodes += 1;
        if meta.is_dir() {
            for entry in fs::read_dir(&path)? {
                let entry = entry?;
                stack.push((entry.path(), entry.metadata()?));
            }
        }
    }
    Ok(usage)
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// 32-bit FNV-1a, for short deterministic names derived from longer ones.
pub fn fnv1a32(data: &[u8]) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for b in data {
        hash ^= u32::from(*b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("state.json");
        write_json_atomic(&p, &serde_json::json!({"a": 1})).expect("write");
        write_json_atomic(&p, &serde_json::json!({"a": 2})).expect("rewrite");
        let v: serde_json::Value = read_json(&p).expect("read");
        assert_eq!(v["a"], 2);
        let names: Vec<_> = fs::read_dir(dir.path()).expect("ls").collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn second_lock_is_busy_until_the_first_drops() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join(".lock");
        let first = lock(&p).expect("first");
        assert!(matches!(
            lock_within(&p, Duration::from_millis(50)),
            Err(LockError::Busy)
        ));
        drop(first);
        assert!(lock(&p).is_ok());
    }

    #[test]
    fn tree_usage_counts_inodes_and_blocks() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::create_dir(dir.path().join("sub")).expect("mkdir");
        fs::write(dir.path().join("sub/f"), vec![1u8; 10_000]).expect("write");
        let u = tree_usage(dir.path()).expect("usage");
        assert_eq!(u.inodes, 3);
        assert!(u.bytes >= 10_000, "{u:?}");
        assert_eq!(
            tree_usage(&dir.path().join("missing")).expect("missing"),
            TreeUsage::default()
        );
    }

    #[test]
    fn fnv_is_stable() {
        assert_eq!(fnv1a32(b""), 0x811c_9dc5);
        assert_eq!(fnv1a32(b"a"), 0xe40c_292c);
    }
}
