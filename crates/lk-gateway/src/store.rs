// SPDX-License-Identifier: Apache-2.0
//! The tree: `ROOT/ACCOUNT/CONTAINER/OBJECT`, where an object name's `/` are directories.
//!
//! All functions here are blocking; handlers call them through `spawn_blocking`. Names come
//! checked by [`crate::path`]; this module adds the checks that need the tree: every path is
//! resolved and must stay inside its account directory (a symlink leading out is refused with
//! 403), and a file/directory clash is a 409.
//!
//! Writes are atomic: [`Store::create_temp`] makes `.lk-tmp-<random>` in the object's
//! directory; the caller writes and fsyncs it, then [`Store::commit_temp`] renames it over the
//! object and fsyncs the directory. Temp files are never listed nor indexed.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

use crate::error::{SwiftError, SwiftResult};
use crate::layout;
use crate::path::TMP_PREFIX;

/// The served tree.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    /// A store over `root` (created if missing, then canonicalized).
    pub fn open(root: &Path) -> SwiftResult<Store> {
        fs::create_dir_all(root).map_err(|e| SwiftError::io("create", root, e))?;
        let root = root
            .canonicalize()
            .map_err(|e| SwiftError::io("resolve", root, e))?;
        Ok(Store { root })
    }

    /// The canonical root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `ROOT/ACCOUNT`.
    pub fn account_dir(&self, account: &str) -> PathBuf {
        self.root.join(account)
    }

    /// `ROOT/ACCOUNT/CONTAINER` (a container name over `NAME_MAX` stored as
    /// [`crate::layout`] says).
    pub fn container_dir(&self, account: &str, container: &str) -> PathBuf {
        self.root
            .join(account)
            .join(layout::encode_component(container).as_ref())
    }

    /// The object's plain path `ROOT/ACCOUNT/CONTAINER/OBJECT` (components encoded as
    /// [`crate::layout`] says), after checking it stays inside the account. When this path is
    /// a directory the object is its [`layout::SELF_FILE`] ([`Store::resolve_self`]).
    pub fn object_plain_path(
        &self,
        account: &str,
        container: &str,
        object: &str,
    ) -> SwiftResult<PathBuf> {
        let mut p = self.container_dir(account, container);
        p.extend(layout::encode_name(object).iter().map(|c| c.as_ref()));
        self.check_inside(account, &p)?;
        Ok(p)
    }

    /// Where the object is: its plain path, or the [`layout::SELF_FILE`] inside it when the
    /// plain path is a directory (objects exist below the name).
    pub fn object_path(
        &self,
        account: &str,
        container: &str,
        object: &str,
    ) -> SwiftResult<PathBuf> {
        Ok(resolve_self(
            &self.object_plain_path(account, container, object)?,
        ))
    }

    /// Checked container directory.
    pub fn checked_container_dir(&self, account: &str, container: &str) -> SwiftResult<PathBuf> {
        let p = self.container_dir(account, container);
        self.check_inside(account, &p)?;
        Ok(p)
    }

    /// Refuses a path whose existing part resolves (through symlinks) outside the account
    /// directory. The account directory itself may be a symlink placed by the admin.
    pub fn check_inside(&self, account: &str, p: &Path) -> SwiftResult<()> {
        let acct = self.account_dir(account);
        let acct_real = match acct.canonicalize() {
            Ok(a) => a,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(SwiftError::io("resolve", acct, e)),
        };
        let rel = p
            .strip_prefix(&acct)
            .map_err(|_| SwiftError::Forbidden("outside".into()))?;
        let mut cur = acct.clone();
        for comp in rel.components() {
            let Component::Normal(c) = comp else {
                return Err(SwiftError::bad("unexpected path component"));
            };
            cur.push(c);
            match fs::symlink_metadata(&cur) {
                Ok(md) if md.file_type().is_symlink() => {
                    let real = match cur.canonicalize() {
                        Ok(r) => r,
                        // Dangling link: refuse, it could be created outside later.
                        Err(_) => {
                            return Err(SwiftError::Link {
                                why: "is dangling",
                                path: cur,
                            })
                        }
                    };
                    if !real.starts_with(&acct_real) {
                        return Err(SwiftError::Link {
                            why: "leads outside the account",
                            path: cur,
                        });
                    }
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                Err(e) if e.raw_os_error() == Some(20) => return Ok(()), // ENOTDIR: later 409
                Err(e) => return Err(SwiftError::io("stat", cur, e)),
            }
        }
        Ok(())
    }

    /// Whether some component of `p` below the account directory is a symlink (such
    /// objects are served but not listed).
    pub fn through_link(&self, account: &str, p: &Path) -> bool {
        let acct = self.account_dir(account);
        let Ok(rel) = p.strip_prefix(&acct) else {
            return false;
        };
        let mut cur = acct;
        rel.components().any(|c| {
            cur.push(c);
            fs::symlink_metadata(&cur).is_ok_and(|m| m.file_type().is_symlink())
        })
    }

    /// Creates the directories leading to `file` (inside `container_dir`), fsyncing the
    /// parent of each one created so the path survives a crash. A file in the way is a 409.
    pub fn make_parents(&self, container_dir: &Path, file: &Path) -> SwiftResult<()> {
        let parent = file.parent().unwrap_or(container_dir);
        if parent.is_dir() {
            return Ok(());
        }
        let rel = parent.strip_prefix(container_dir).unwrap_or(Path::new(""));
        let mut cur = container_dir.to_path_buf();
        for c in rel.components() {
            cur.push(c);
            match fs::create_dir(&cur) {
                Ok(()) => {
                    if let Some(p) = cur.parent() {
                        fsync_dir(p)?;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    // The parent was pruned by a concurrent delete; the caller retries.
                    return Err(SwiftError::io("create directory", &cur, e));
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    if !cur.is_dir() {
                        return Err(SwiftError::Clash {
                            what: "a file is where the object name needs a directory",
                            path: cur,
                        });
                    }
                }
                Err(e) => return Err(SwiftError::io("create directory", &cur, e)),
            }
        }
        Ok(())
    }

    /// Creates a new temp file next to `target`.
    pub fn create_temp(&self, target: &Path) -> SwiftResult<(File, PathBuf)> {
        let dir = target
            .parent()
            .ok_or_else(|| SwiftError::Internal("no parent".into()))?;
        for _ in 0..8 {
            let name = format!("{TMP_PREFIX}{:016x}", rand::random::<u64>());
            let p = dir.join(name);
            match OpenOptions::new()
                .write(true)
                .read(true)
                .create_new(true)
                .mode(0o644)
                .custom_flags(libc_o_nofollow())
                .open(&p)
            {
                Ok(f) => return Ok((f, p)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(SwiftError::io("create temp file", p, e)),
            }
        }
        Err(SwiftError::Internal(
            "could not pick a temp file name".into(),
        ))
    }

    /// Renames a written and fsynced temp file over `target` and fsyncs the directory.
    /// A directory at `target` is a 409.
    pub fn commit_temp(&self, tmp: &Path, target: &Path) -> SwiftResult<()> {
        if fs::symlink_metadata(target)
            .map(|m| m.is_dir())
            .unwrap_or(false)
        {
            let _ = fs::remove_file(tmp);
            return Err(SwiftError::Clash {
                what: "the object name is a directory",
                path: target.to_path_buf(),
            });
        }
        if let Err(e) = fs::rename(tmp, target) {
            let _ = fs::remove_file(tmp);
            return Err(SwiftError::io("rename into place", target, e));
        }
        fsync_dir(target.parent().unwrap_or(&self.root))
    }

    /// Removes an object file, fsyncs its directory, then prunes now-empty directories up to
    /// (not including) the container directory. Returns false when it did not exist.
    pub fn remove_object_file(&self, container_dir: &Path, file: &Path) -> SwiftResult<bool> {
        match fs::symlink_metadata(file) {
            Ok(m) if m.is_dir() => return Ok(false),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(20) => {
                return Ok(false)
            }
            Err(e) => return Err(SwiftError::io("stat", file, e)),
        }
        match fs::remove_file(file) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(SwiftError::io("remove", file, e)),
        }
        let mut dir = file.parent().map(Path::to_path_buf);
        if let Some(d) = &dir {
            // A concurrent delete may already have pruned the directory.
            match fsync_dir(d) {
                Err(SwiftError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {}
                other => other?,
            }
        }
        while let Some(d) = dir {
            if d == container_dir || !d.starts_with(container_dir) {
                break;
            }
            if fs::remove_dir(&d).is_err() {
                break;
            }
            dir = d.parent().map(Path::to_path_buf);
        }
        Ok(true)
    }
}

/// The file of the object whose plain path is `plain`: `plain` itself, or its
/// [`layout::SELF_FILE`] when `plain` is a directory (not through a symlink: a link stays the
/// object, as before).
pub fn resolve_self(plain: &Path) -> PathBuf {
    match fs::symlink_metadata(plain) {
        Ok(md) if md.is_dir() => plain.join(layout::SELF_FILE),
        _ => plain.to_path_buf(),
    }
}

/// O_NOFOLLOW: never open through a symlink at the last component.
fn libc_o_nofollow() -> i32 {
    libc::O_NOFOLLOW
}

/// Opens an object file for reading without following a symlink at its last component
/// (symlinks inside the account are resolved by [`Store::check_inside`] first; a link that is
/// swapped in afterwards is refused here).
pub fn open_read(p: &Path) -> io::Result<File> {
    let md = fs::symlink_metadata(p)?;
    if md.file_type().is_symlink() {
        // Already vetted by check_inside: follow it.
        return File::open(p);
    }
    OpenOptions::new()
        .read(true)
        .custom_flags(libc_o_nofollow())
        .open(p)
}

/// fsync a directory (makes renames and creations in it durable).
pub fn fsync_dir(dir: &Path) -> SwiftResult<()> {
    let d = File::open(dir).map_err(|e| SwiftError::io("open directory", dir, e))?;
    d.sync_all()
        .map_err(|e| SwiftError::io("fsync directory", dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_symlinks_out_of_the_account() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Store::open(&dir.path().join("root")).expect("open");
        let outside = dir.path().join("outside");
        fs::create_dir_all(&outside).expect("mkdir");
        fs::create_dir_all(s.container_dir("a", "c")).expect("mkdir");
        fs::create_dir_all(s.container_dir("b", "c")).expect("mkdir");
        std::os::unix::fs::symlink(&outside, s.container_dir("a", "c").join("out"))
            .expect("symlink");
        std::os::unix::fs::symlink(
            s.container_dir("b", "c"),
            s.container_dir("a", "c").join("b"),
        )
        .expect("symlink");
        std::os::unix::fs::symlink("inner", s.container_dir("a", "c").join("ok")).expect("link");
        fs::create_dir_all(s.container_dir("a", "c").join("inner")).expect("mkdir");
        assert!(matches!(
            s.object_path("a", "c", "out/x"),
            Err(SwiftError::Link { .. })
        ));
        assert!(matches!(
            s.object_path("a", "c", "b/x"),
            Err(SwiftError::Link { .. })
        ));
        assert!(s.object_path("a", "c", "ok/x").is_ok());
        assert!(s.object_path("a", "c", "new/x").is_ok());
    }

    #[test]
    fn atomic_write_and_prune() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Store::open(dir.path()).expect("open");
        let cdir = s.container_dir("a", "c");
        fs::create_dir_all(&cdir).expect("mkdir");
        let target = s.object_path("a", "c", "x/y/z").expect("path");
        s.make_parents(&cdir, &target).expect("parents");
        let (f, tmp) = s.create_temp(&target).expect("temp");
        drop(f);
        s.commit_temp(&tmp, &target).expect("commit");
        assert!(target.is_file());
        // x/y is a directory: the object x/y is its .lk-self; a rename over the directory
        // itself is still refused.
        assert_eq!(
            s.object_path("a", "c", "x/y").expect("path"),
            cdir.join("x/y/.lk-self")
        );
        let clash = s.object_plain_path("a", "c", "x/y").expect("path");
        let (_f, tmp) = s.create_temp(&clash).expect("temp");
        assert!(matches!(
            s.commit_temp(&tmp, &clash),
            Err(SwiftError::Clash { .. })
        ));
        assert!(!tmp.exists());
        // x/y/z is a file: an object below it clashes.
        let below = s.object_path("a", "c", "x/y/z/w").expect("path");
        assert!(matches!(
            s.make_parents(&cdir, &below),
            Err(SwiftError::Clash { .. })
        ));
        // Escaped components.
        assert_eq!(
            s.object_plain_path("a", "c", "/d//e/").expect("path"),
            cdir.join(".lk-empty/d/.lk-empty/e/.lk-empty")
        );
        let long = "l".repeat(256);
        assert_eq!(
            s.container_dir("a", &long),
            s.account_dir("a")
                .join(format!(".lk-long-{}", crate::layout::long_hash(&long)))
        );
        assert!(s.remove_object_file(&cdir, &target).expect("rm"));
        assert!(!cdir.join("x").exists(), "empty parents pruned");
        assert!(cdir.exists());
    }
}
