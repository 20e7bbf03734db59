// SPDX-License-Identifier: Apache-2.0
//! An object `d` that must become a directory because `d/x` arrives: its file moves into the
//! new directory `d` as [`SELF_FILE`] (see [`crate::layout`]), under the commit lock of `d`.
//!
//! Atomic where the filesystem allows: the file is hard-linked as `SELF_FILE` into a fresh
//! temp directory next to it, the two are swapped with `renameat2(RENAME_EXCHANGE)`, and the
//! temp name (now the old file's second link) is unlinked; a reader sees the file or the
//! directory holding it, never neither. Where the exchange is not supported (EINVAL, e.g.
//! Lustre; ENOSYS) a short non-atomic sequence is used: unlink the file, rename the directory
//! into its place (the object is missing for that moment). The inode is the same throughout,
//! so its xattrs (metadata) follow it.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::{SwiftError, SwiftResult};
use crate::gateway::Gateway;
use crate::layout::SELF_FILE;
use crate::path::TMP_PREFIX;
use crate::store::fsync_dir;

/// Turns the regular file at `file` into a directory holding it as [`SELF_FILE`]. Nothing to
/// do when it is gone or already a directory; anything else there (a symlink, a device) is a
/// 409, as before. The caller holds the commit lock of the object stored at `file`.
pub fn promote_to_dir(file: &Path) -> SwiftResult<()> {
    match fs::symlink_metadata(file) {
        Ok(md) if md.is_dir() => return Ok(()),
        Ok(md) if md.is_file() => {}
        Ok(_) => {
            return Err(SwiftError::Clash {
                what: "a file is where the object name needs a directory",
                path: file.to_path_buf(),
            })
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(SwiftError::io("stat", file, e)),
    }
    let parent = file
        .parent()
        .ok_or_else(|| SwiftError::Internal("no parent".into()))?;
    let tmp = make_temp_dir(parent)?;
    let moved = fs::hard_link(file, tmp.join(SELF_FILE))
        .map_err(|e| SwiftError::io("link", file, e))
        .and_then(|()| fsync_dir(&tmp))
        .and_then(|()| swap_in(&tmp, file));
    if let Err(e) = moved {
        let _ = fs::remove_file(tmp.join(SELF_FILE));
        let _ = fs::remove_dir(&tmp);
        return Err(e);
    }
    fsync_dir(parent)
}

fn make_temp_dir(parent: &Path) -> SwiftResult<PathBuf> {
    for _ in 0..8 {
        let p = parent.join(format!("{TMP_PREFIX}{:016x}", rand::random::<u64>()));
        match fs::create_dir(&p) {
            Ok(()) => return Ok(p),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(SwiftError::io("create temp directory", p, e)),
        }
    }
    Err(SwiftError::Internal(
        "could not pick a temp directory name".into(),
    ))
}

/// Puts the directory `tmp` (holding the file's second link) where the file `file` is.
fn swap_in(tmp: &Path, file: &Path) -> SwiftResult<()> {
    match exchange(tmp, file) {
        Ok(()) => {
            // `tmp` is now the old file: one link of the inode the directory holds.
            return fs::remove_file(tmp).map_err(|e| SwiftError::io("remove", tmp, e));
        }
        Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS)) => {}
        Err(e) => return Err(SwiftError::io("exchange", file, e)),
    }
    match fs::remove_file(file) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(SwiftError::io("remove", file, e)),
    }
    match fs::rename(tmp, file) {
        Ok(()) => Ok(()),
        // Another upload below the name created the directory meanwhile: move in there.
        Err(e)
            if file.is_dir()
                && matches!(e.raw_os_error(), Some(libc::ENOTEMPTY | libc::EEXIST)) =>
        {
            fs::rename(tmp.join(SELF_FILE), file.join(SELF_FILE))
                .map_err(|e| SwiftError::io("rename into place", file, e))?;
            fs::remove_dir(tmp).map_err(|e| SwiftError::io("remove", tmp, e))
        }
        Err(e) => Err(SwiftError::io("rename into place", file, e)),
    }
}

/// `renameat2(a, b, RENAME_EXCHANGE)`.
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(io::Error::from)
}

impl Gateway {
    /// Creates the directories leading to `target`, the path of object `o`; an object file in
    /// the way (`d` while `d/x` arrives) is turned into a directory holding it as
    /// [`SELF_FILE`], under that object's commit lock.
    pub(crate) fn make_parents_for(
        &self,
        a: &str,
        c: &str,
        o: &str,
        cdir: &Path,
        target: &Path,
    ) -> SwiftResult<()> {
        for _ in 0..8 {
            match self.store.make_parents(cdir, target) {
                Err(SwiftError::Clash { path, .. }) => {
                    let depth = path
                        .strip_prefix(cdir)
                        .map(|r| r.components().count())
                        .unwrap_or(0);
                    if depth == 0 {
                        return Err(SwiftError::Internal("clash outside the container".into()));
                    }
                    // Components map one to one onto the name's (see crate::layout).
                    let owner: Vec<&str> = o.split('/').take(depth).collect();
                    let _guard = self.commit_locks.lock(a, c, &owner.join("/"));
                    promote_to_dir(&path)?;
                }
                other => return other,
            }
        }
        Err(SwiftError::Conflict(format!(
            "{o}: its directories keep changing"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_becomes_a_directory_holding_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path().join("d");
        fs::write(&d, b"object d").expect("write");
        xattr::set(&d, "user.test", b"meta").expect("xattr");
        promote_to_dir(&d).expect("promote");
        assert!(d.is_dir());
        assert_eq!(fs::read(d.join(SELF_FILE)).expect("read"), b"object d");
        assert_eq!(
            xattr::get(d.join(SELF_FILE), "user.test").expect("xattr"),
            Some(b"meta".to_vec())
        );
        let left: Vec<_> = fs::read_dir(dir.path()).expect("ls").flatten().collect();
        assert_eq!(left.len(), 1, "no temp directory or file left");
        // Again: already a directory; gone: nothing to do.
        promote_to_dir(&d).expect("idempotent");
        promote_to_dir(&dir.path().join("gone")).expect("gone");
    }

    #[test]
    fn symlinks_are_not_promoted() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join("t"), b"x").expect("write");
        std::os::unix::fs::symlink("t", dir.path().join("l")).expect("link");
        assert!(matches!(
            promote_to_dir(&dir.path().join("l")),
            Err(SwiftError::Clash { .. })
        ));
    }
}
