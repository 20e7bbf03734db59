// SPDX-License-Identifier: Apache-2.0
//! The node's mount seam. [`Mounter`] is what the Node service needs; [`CommandMounter`]
//! implements it with `mount`/`umount` run through lk-volume's `CommandRunner`, for either
//! backend:
//! - [`Backend::Lustre`]: `mount -t lustre NIDS:/FSNAME[/SUBDIR] STAGING` (a Lustre client
//!   host or VM);
//! - [`Backend::Dir`]: the stand-in: the "filesystem" is a plain directory and staging
//!   bind-mounts `ROOT/SUBDIR` (the NIDs and fsname are not used).
//!
//! Publishing is the same for both: `mount --bind STAGING TARGET`, then a read-only remount
//! when asked. Mount state is read from `/proc/self/mountinfo`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use lk_volume::mount::mountinfo::{self, MountEntry};
use lk_volume::runner::{argv, run_checked, CommandError, CommandRunner};
use thiserror::Error;

use crate::volume::Source;

#[derive(Debug, Error)]
pub enum MountError {
    #[error("mounting {what} on {target} failed")]
    Command {
        what: String,
        target: String,
        #[source]
        source: CommandError,
    },
    #[error("stand-in source directory {0} does not exist")]
    NoSourceDir(String),
    #[error("reading the mount table failed")]
    Table(#[source] std::io::Error),
    #[error("the mount table is unreadable: {0}")]
    TableParse(String),
}

/// How the node mounts.
pub trait Mounter: Send + Sync {
    /// Mounts `source` (the whole filesystem or a subdirectory) on `target`, with the
    /// volume's mount flags (a PersistentVolume's `mountOptions`) besides the backend's own.
    fn mount_source(
        &self,
        source: &Source,
        target: &Path,
        flags: &[String],
    ) -> Result<(), MountError>;
    /// Bind-mounts `from` on `to`, read-only when asked.
    fn bind(&self, from: &Path, to: &Path, read_only: bool) -> Result<(), MountError>;
    /// Unmounts `target`.
    fn unmount(&self, target: &Path) -> Result<(), MountError>;
    /// The mount at `target`, if any.
    fn mounted(&self, target: &Path) -> Result<Option<MountEntry>, MountError>;
}

/// What a staging mount is made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// A real Lustre client: `mount -t lustre`, with extra `-o` options if any.
    Lustre { options: Vec<String> },
    /// The stand-in: subdirectories of this directory are bind-mounted.
    Dir { root: PathBuf },
}

pub struct CommandMounter {
    pub backend: Backend,
    pub runner: Arc<dyn CommandRunner>,
    /// The mount table to read (`/proc/self/mountinfo`).
    pub mountinfo: PathBuf,
}

impl CommandMounter {
    pub fn new(backend: Backend, runner: Arc<dyn CommandRunner>) -> Self {
        Self {
            backend,
            runner,
            mountinfo: PathBuf::from("/proc/self/mountinfo"),
        }
    }

    fn run(&self, what: &str, target: &Path, words: &[&str]) -> Result<(), MountError> {
        run_checked(self.runner.as_ref(), &argv(words.iter().copied()))
            .map(|_| ())
            .map_err(|source| MountError::Command {
                what: what.to_string(),
                target: target.display().to_string(),
                source,
            })
    }
}

/// The argv of a Lustre client mount (pinned by a test; nothing runs here).
pub fn lustre_mount_argv(source: &Source, target: &Path, options: &[String]) -> Vec<String> {
    let mut words = vec!["mount".to_string(), "-t".into(), "lustre".into()];
    if !options.is_empty() {
        words.push("-o".into());
        words.push(options.join(","));
    }
    words.push(source.to_string());
    words.push(target.display().to_string());
    words
}

impl Mounter for CommandMounter {
    fn mount_source(
        &self,
        source: &Source,
        target: &Path,
        flags: &[String],
    ) -> Result<(), MountError> {
        let what = source.to_string();
        match &self.backend {
            Backend::Lustre { options } => {
                let all: Vec<String> = options.iter().chain(flags).cloned().collect();
                let words = lustre_mount_argv(source, target, &all);
                run_checked(self.runner.as_ref(), &words)
                    .map(|_| ())
                    .map_err(|e| MountError::Command {
                        what,
                        target: target.display().to_string(),
                        source: e,
                    })
            }
            // The stand-in's bind mount takes no filesystem options: flags are not used.
            Backend::Dir { root } => {
                let dir = root.join(source.subdir.as_deref().unwrap_or(""));
                if !dir.is_dir() {
                    return Err(MountError::NoSourceDir(dir.display().to_string()));
                }
                let (d, t) = (dir.display().to_string(), target.display().to_string());
                self.run(&what, target, &["mount", "--bind", &d, &t])
            }
        }
    }

    fn bind(&self, from: &Path, to: &Path, read_only: bool) -> Result<(), MountError> {
        let (f, t) = (from.display().to_string(), to.display().to_string());
        self.run(&f, to, &["mount", "--bind", &f, &t])?;
        if read_only {
            if let Err(e) = self.run(&f, to, &["mount", "-o", "remount,bind,ro", &t]) {
                // Never leave a writable mount where a read-only one was asked for.
                let _ = self.unmount(to);
                return Err(e);
            }
        }
        Ok(())
    }

    fn unmount(&self, target: &Path) -> Result<(), MountError> {
        let t = target.display().to_string();
        self.run("(unmount)", target, &["umount", &t])
    }

    fn mounted(&self, target: &Path) -> Result<Option<MountEntry>, MountError> {
        let text = std::fs::read_to_string(&self.mountinfo).map_err(MountError::Table)?;
        let entries = mountinfo::parse(&text).map_err(|e| MountError::TableParse(e.to_string()))?;
        Ok(mountinfo::at(&entries, target).cloned())
    }
}

/// Whether a mount entry is read-only (its per-mount options start with `ro`).
pub fn is_read_only(entry: &MountEntry) -> bool {
    entry.options.split(',').any(|o| o == "ro")
}

#[cfg(test)]
mod tests {
    use lk_volume::runner::{CommandOutput, Recorder};

    use super::*;

    fn lustre(rec: &Recorder) -> CommandMounter {
        CommandMounter::new(
            Backend::Lustre {
                options: vec!["flock".into(), "user_xattr".into()],
            },
            Arc::new(rec.clone()),
        )
    }

    #[test]
    fn lustre_backend_runs_mount_t_lustre_then_binds() {
        let rec = Recorder::new();
        let m = lustre(&rec);
        let source = Source::parse("10.0.0.1@tcp:/lustre/shares/pvc-1").unwrap();
        m.mount_source(&source, Path::new("/stage"), &["noatime".into()])
            .unwrap();
        m.bind(Path::new("/stage"), Path::new("/pod/rw"), false)
            .unwrap();
        m.bind(Path::new("/stage"), Path::new("/pod/ro"), true)
            .unwrap();
        m.unmount(Path::new("/pod/ro")).unwrap();
        assert_eq!(
            rec.lines(),
            [
                "mount -t lustre -o flock,user_xattr,noatime 10.0.0.1@tcp:/lustre/shares/pvc-1 /stage",
                "mount --bind /stage /pod/rw",
                "mount --bind /stage /pod/ro",
                "mount -o remount,bind,ro /pod/ro",
                "umount /pod/ro",
            ]
        );
    }

    #[test]
    fn a_failed_read_only_remount_leaves_no_writable_mount() {
        let rec = Recorder::new();
        rec.answer(CommandOutput::ok(""));
        rec.answer(CommandOutput::failed(32, "mount: permission denied\n"));
        let err = lustre(&rec)
            .bind(Path::new("/stage"), Path::new("/pod"), true)
            .unwrap_err();
        assert!(
            matches!(&err, MountError::Command { source, .. } if source.to_string().contains("permission denied")),
            "{err:?}"
        );
        assert_eq!(rec.lines().last().map(String::as_str), Some("umount /pod"));
    }

    #[test]
    fn stand_in_refuses_a_missing_subdirectory_without_running_anything() {
        let rec = Recorder::new();
        let dir = tempfile::tempdir().unwrap();
        let m = CommandMounter::new(
            Backend::Dir {
                root: dir.path().into(),
            },
            Arc::new(rec.clone()),
        );
        let source = Source::parse("n@tcp:/fs/absent").unwrap();
        let err = m
            .mount_source(&source, Path::new("/stage"), &[])
            .unwrap_err();
        assert!(matches!(err, MountError::NoSourceDir(_)), "{err:?}");
        assert!(rec.calls().is_empty());
        std::fs::create_dir(dir.path().join("present")).unwrap();
        let source = Source::parse("n@tcp:/fs/present").unwrap();
        m.mount_source(&source, Path::new("/stage"), &[]).unwrap();
        assert_eq!(
            rec.lines(),
            [format!(
                "mount --bind {}/present /stage",
                dir.path().display()
            )]
        );
    }

    #[test]
    fn mount_state_comes_from_the_mount_table() {
        let dir = tempfile::tempdir().unwrap();
        let table = dir.path().join("mountinfo");
        std::fs::write(
            &table,
            "36 25 0:32 / /stage rw,relatime shared:1 - lustre 10.0.0.1@tcp:/lustre rw,flock\n\
             37 36 0:32 /shares/a /pod ro,relatime shared:1 - lustre 10.0.0.1@tcp:/lustre rw\n",
        )
        .unwrap();
        let mut m = lustre(&Recorder::new());
        m.mountinfo = table;
        let stage = m.mounted(Path::new("/stage")).unwrap().expect("mounted");
        assert!(!is_read_only(&stage));
        assert!(is_read_only(
            &m.mounted(Path::new("/pod")).unwrap().expect("mounted")
        ));
        assert!(m.mounted(Path::new("/elsewhere")).unwrap().is_none());
    }

    #[test]
    fn lustre_mount_argv_names_nids_fsname_and_subdir() {
        let source = Source::parse("10.0.0.1@tcp:10.0.0.2@tcp:/lustre/projects/a").unwrap();
        let words = lustre_mount_argv(&source, Path::new("/stage"), &["flock".into()]);
        assert_eq!(
            words.join(" "),
            "mount -t lustre -o flock 10.0.0.1@tcp:10.0.0.2@tcp:/lustre/projects/a /stage"
        );
    }
}
