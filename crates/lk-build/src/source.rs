//! Where the Lustre source comes from, how it is recognised, and its identity for the cache.

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::error::BuildError;
use crate::steps::Step;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// A Lustre source tree on the host (a git checkout or a plain directory).
    Tree(PathBuf),
    /// A git URL and a branch, tag or commit.
    Git { url: String, git_ref: String },
}

impl SourceSpec {
    pub fn describe(&self) -> String {
        match self {
            SourceSpec::Tree(p) => format!("tree {}", p.display()),
            SourceSpec::Git { url, git_ref } => format!("git {url} at {git_ref}"),
        }
    }
}

/// Entries every Lustre source tree has; their absence means the path is something else.
const LUSTRE_TREE_MARKERS: &[&str] = &[
    "LUSTRE-VERSION-GEN",
    "autogen.sh",
    "configure.ac",
    "lnet",
    "lustre",
    "libcfs",
];

/// Checks that `path` looks like a Lustre source tree, naming what is missing.
pub fn check_tree(path: &Path) -> Result<(), BuildError> {
    let not = |reason: String| BuildError::NotLustreTree {
        path: path.to_path_buf(),
        reason,
    };
    if !path.is_dir() {
        return Err(not("no such directory".into()));
    }
    let missing: Vec<&str> = LUSTRE_TREE_MARKERS
        .iter()
        .copied()
        .filter(|m| !path.join(m).exists())
        .collect();
    if !missing.is_empty() {
        return Err(not(format!(
            "missing {} (a checkout of lustre-release has them all)",
            missing.join(", ")
        )));
    }
    Ok(())
}

/// Content hash of a source tree: every path (sorted), its executable bit and its bytes;
/// symlinks by target. `.git` and editor/build leftovers the build never reads are skipped.
pub fn tree_hash(root: &Path) -> Result<String, BuildError> {
    let mut files = Vec::new();
    collect(root, root, &mut files)?;
    files.sort();
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    for rel in files {
        let p = root.join(&rel);
        let meta = fs::symlink_metadata(&p).map_err(BuildError::io(Step::Source, "stat", &p))?;
        h.update(rel.to_string_lossy().as_bytes());
        h.update([0]);
        if meta.file_type().is_symlink() {
            let target = fs::read_link(&p).map_err(BuildError::io(Step::Source, "readlink", &p))?;
            h.update(b"l");
            h.update(target.to_string_lossy().as_bytes());
        } else {
            h.update(if meta.permissions().mode() & 0o111 != 0 {
                b"x"
            } else {
                b"f"
            });
            let mut f = fs::File::open(&p).map_err(BuildError::io(Step::Source, "read", &p))?;
            loop {
                let n = f
                    .read(&mut buf)
                    .map_err(BuildError::io(Step::Source, "read", &p))?;
                if n == 0 {
                    break;
                }
                h.update(&buf[..n]);
            }
        }
        h.update([0]);
    }
    Ok(format!("{:x}", h.finalize()))
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), BuildError> {
    let entries = fs::read_dir(dir).map_err(BuildError::io(Step::Source, "list", dir))?;
    for e in entries {
        let e = e.map_err(BuildError::io(Step::Source, "list", dir))?;
        let name = e.file_name();
        if name == ".git" {
            continue;
        }
        let path = e.path();
        let ft = e
            .file_type()
            .map_err(BuildError::io(Step::Source, "stat", &path))?;
        if ft.is_dir() {
            collect(root, &path, out)?;
        } else if let Ok(rel) = path.strip_prefix(root) {
            out.push(rel.to_path_buf());
        }
    }
    Ok(())
}

/// A git source brought to a commit in a host clone under `cache`; returns (clone, commit).
pub fn git_checkout(
    cache: &Path,
    url: &str,
    git_ref: &str,
) -> Result<(PathBuf, String), BuildError> {
    let clone = cache.join(format!("{:016x}", lk_fnv(url)));
    let git = |args: &[&str], what: &str| -> Result<String, BuildError> {
        let out = Command::new("git")
            .args(args)
            .output()
            .map_err(|source| BuildError::Spawn {
                step: Step::Source,
                command: format!("git {}", args.join(" ")),
                source,
            })?;
        if !out.status.success() {
            return Err(BuildError::Git {
                url: url.to_string(),
                what: what.to_string(),
                detail: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let c = clone.to_string_lossy().to_string();
    if !clone.join("HEAD").exists() {
        fs::create_dir_all(cache).map_err(BuildError::io(Step::Source, "create", cache))?;
        git(&["clone", "--bare", "--quiet", url, &c], "clone")?;
    } else {
        git(
            &[
                "-C",
                &c,
                "fetch",
                "--quiet",
                "--tags",
                "--force",
                "origin",
                "+refs/heads/*:refs/heads/*",
            ],
            "fetch",
        )?;
    }
    let commit = git(
        &[
            "-C",
            &c,
            "rev-parse",
            "--verify",
            &format!("{git_ref}^{{commit}}"),
        ],
        &format!("resolve `{git_ref}`"),
    )?;
    Ok((clone, commit))
}

/// Writes the tree of `commit` from the bare clone into `dest`.
pub fn git_export(clone: &Path, commit: &str, dest: &Path, url: &str) -> Result<(), BuildError> {
    fs::create_dir_all(dest).map_err(BuildError::io(Step::Source, "create", dest))?;
    let out = Command::new("git")
        .arg(format!("--git-dir={}", clone.display()))
        .arg(format!("--work-tree={}", dest.display()))
        .args(["checkout", "--force", commit, "--", "."])
        .output()
        .map_err(|source| BuildError::Spawn {
            step: Step::Source,
            command: "git checkout".into(),
            source,
        })?;
    if !out.status.success() {
        return Err(BuildError::Git {
            url: url.to_string(),
            what: format!("check out {commit}"),
            detail: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(())
}

/// 64-bit FNV-1a, for short stable folder names.
fn lk_fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_tree() -> tempfile::TempDir {
        let d = tempfile::tempdir().expect("tempdir");
        for f in ["LUSTRE-VERSION-GEN", "autogen.sh", "configure.ac"] {
            fs::write(d.path().join(f), f).expect("write");
        }
        for dir in ["lnet", "lustre", "libcfs", ".git"] {
            fs::create_dir(d.path().join(dir)).expect("mkdir");
        }
        d
    }

    #[test]
    fn a_lustre_tree_is_recognised_and_others_are_named() {
        let d = fake_tree();
        assert!(check_tree(d.path()).is_ok());
        fs::remove_dir(d.path().join("lnet")).expect("rm");
        fs::remove_file(d.path().join("autogen.sh")).expect("rm");
        let e = check_tree(d.path()).expect_err("not a tree").to_string();
        assert!(e.contains("missing autogen.sh, lnet"), "{e}");
        let e = check_tree(Path::new("/nonexistent/lustre")).expect_err("missing");
        assert!(e.to_string().contains("no such directory"));
    }

    #[test]
    fn tree_hash_follows_content_not_git() {
        let d = fake_tree();
        let a = tree_hash(d.path()).expect("hash");
        fs::write(d.path().join(".git/HEAD"), "x").expect("write");
        assert_eq!(a, tree_hash(d.path()).expect("hash"), ".git is ignored");
        fs::write(d.path().join("lustre/new.c"), "int x;").expect("write");
        let b = tree_hash(d.path()).expect("hash");
        assert_ne!(a, b);
        fs::write(d.path().join("lustre/new.c"), "int y;").expect("write");
        assert_ne!(b, tree_hash(d.path()).expect("hash"), "content counts");
    }
}
