//! The cluster's shared folder on the host, mounted in every guest over 9p: scripts/, logs/
//! (the run folder: consoles, phase output, gathered logs), packages/, cfg/.

use std::path::{Path, PathBuf};

use lk_plan::resources::{Import, ImportKind};
use lk_plan::Plan;

/// Creates the shared folder (subfolders, one log folder per node, the plan's files) and
/// makes it reachable and writable for the qemu user.
pub(crate) fn prepare(plan: &Plan, qemu_user: Option<&str>) -> Result<(), SharedError> {
    let r = &plan.resources;
    let root = Path::new(&r.shared.host_path);
    let mut dirs: Vec<PathBuf> = r.shared.subdirs.iter().map(|s| root.join(s)).collect();
    for d in &r.domains {
        if let Some(p) = Path::new(&crate::provider::console_path(d, &r.shared)).parent() {
            dirs.push(p.to_path_buf());
        }
    }
    for d in &dirs {
        std::fs::create_dir_all(d).map_err(io("create", d))?;
    }
    for (rel, contents) in &plan.files {
        let p = root.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(io("create", parent))?;
        }
        std::fs::write(&p, contents).map_err(io("write", &p))?;
        if rel.ends_with(".sh") {
            set_mode(&p, 0o755).map_err(io("chmod", &p))?;
        }
    }
    for imp in &r.shared.imports {
        import(imp, root)?;
    }
    // Every ancestor must be traversable by qemu (it runs unprivileged).
    let mut a = root.parent();
    while let Some(p) = a {
        if p.as_os_str().is_empty() || p == Path::new("/") {
            break;
        }
        if let Ok(m) = std::fs::metadata(p) {
            use std::os::unix::fs::PermissionsExt;
            let mode = m.permissions().mode();
            if mode & 0o005 != 0o005 {
                set_mode(p, (mode | 0o005) & 0o7777).map_err(io("chmod", p))?;
            }
        }
        a = p.parent();
    }
    if let Some((uid, gid)) = qemu_user.and_then(lookup_user) {
        chown_tree(root, uid, gid).map_err(io("chown", root))?;
    }
    Ok(())
}

/// Copies one host input (Lustre packages, an install tarball, a source tree) in. Missing
/// inputs are named; a packages folder without a single .rpm or .deb is an error too.
fn import(imp: &Import, root: &Path) -> Result<(), SharedError> {
    let from = Path::new(&imp.from);
    let to = root.join(&imp.to);
    match imp.kind {
        ImportKind::Packages => {
            let mut n = 0;
            for e in std::fs::read_dir(from).map_err(io("read Lustre packages folder", from))? {
                let p = e.map_err(io("read", from))?.path();
                let is_pkg = p.extension().is_some_and(|x| x == "rpm" || x == "deb");
                if is_pkg && p.is_file() {
                    let dest = to.join(p.file_name().unwrap_or_default());
                    std::fs::copy(&p, &dest).map_err(io("copy", &p))?;
                    n += 1;
                }
            }
            if n == 0 {
                return Err(io("find .rpm or .deb files in", from)(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no Lustre packages there",
                )));
            }
        }
        ImportKind::Repository => {
            std::fs::create_dir_all(&to).map_err(io("create", &to))?;
            let mut debs = 0;
            for e in std::fs::read_dir(from).map_err(io("read the Lustre repository", from))? {
                let p = e.map_err(io("read", from))?.path();
                if !p.is_file() {
                    continue;
                }
                debs += usize::from(p.extension().is_some_and(|x| x == "deb"));
                let dest = to.join(p.file_name().unwrap_or_default());
                // Copied, not hard-linked: the shared folder is chowned to qemu and writable
                // from the guests, and the build cache must stay as it was published.
                std::fs::copy(&p, &dest).map_err(io("copy", &p))?;
            }
            if debs == 0 || !from.join("Packages").is_file() {
                return Err(io("find packages and a Packages index in", from)(
                    std::io::Error::new(std::io::ErrorKind::NotFound, "not a built repository"),
                ));
            }
        }
        ImportKind::File => {
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent).map_err(io("create", parent))?;
            }
            std::fs::copy(from, &to).map_err(io("copy Lustre install tarball", from))?;
        }
        ImportKind::Tree => {
            // cp -a keeps modes, links and the .git folder the build script reads.
            let _ = std::fs::remove_dir_all(&to);
            let status = std::process::Command::new("cp")
                .arg("-a")
                .arg(from)
                .arg(&to)
                .status()
                .map_err(io("run cp for", from))?;
            if !status.success() {
                return Err(io("copy Lustre source tree", from)(std::io::Error::other(
                    format!("cp -a exited with {status}"),
                )));
            }
        }
    }
    Ok(())
}

/// The run folder: everything a run logs, per node (`logs/<node>/`).
pub fn logs_dir(plan: &Plan) -> PathBuf {
    Path::new(&plan.resources.shared.host_path).join("logs")
}

/// A host filesystem call on the shared folder that failed.
#[derive(Debug, thiserror::Error)]
#[error("{action} {}", path.display())]
pub struct SharedError {
    action: &'static str,
    path: PathBuf,
    #[source]
    source: std::io::Error,
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> SharedError {
    let path = path.to_path_buf();
    move |source| SharedError {
        action,
        path,
        source,
    }
}

fn set_mode(p: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
}

fn lookup_user(name: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > 3 && f[0] == name).then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))?
    })
}

fn chown_tree(p: &Path, uid: u32, gid: u32) -> std::io::Result<()> {
    std::os::unix::fs::chown(p, Some(uid), Some(gid))?;
    if p.is_dir() {
        for e in std::fs::read_dir(p)? {
            chown_tree(&e?.path(), uid, gid)?;
        }
    }
    Ok(())
}
