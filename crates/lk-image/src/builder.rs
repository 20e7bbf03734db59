//! Runs the build: debootstrap, configure in chroot, prune, extract kernel+initrd,
//! `mkfs.ext4 -d`, `qemu-img convert`. Touches the world; everything it decides comes from
//! [`Recipe`].

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::error::ImageError;
use crate::recipe::{Recipe, PRUNED_MODULE_DIRS, REMOVED_PATHS};
use crate::{Artifacts, ImageArgs};

const STEPS: usize = 8;

/// What `X.recipe.json` records about a built image.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecipeStamp {
    pub hash: String,
    pub suite: String,
    pub mirror: String,
    pub packages: Vec<String>,
    /// The kernel the image boots, e.g. `6.1.0-50-amd64`.
    pub kernel_version: String,
    pub build_seconds: f64,
}

/// Whether all artifacts exist and the stamp's hash equals the recipe's.
pub(crate) fn cached(recipe: &Recipe, a: &Artifacts) -> bool {
    if !(a.image.is_file() && a.kernel.is_file() && a.initrd.is_file()) {
        return false;
    }
    let Ok(text) = std::fs::read_to_string(&a.recipe) else {
        return false;
    };
    let Ok(stamp) = serde_json::from_str::<RecipeStamp>(&text) else {
        return false;
    };
    stamp.hash == recipe.hash()
}

struct Progress {
    pb: ProgressBar,
    step: usize,
    started: Instant,
    timings: Vec<(&'static str, Duration)>,
}

impl Progress {
    fn new() -> Progress {
        let pb = ProgressBar::new_spinner();
        pb.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed:>4}] {prefix} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        pb.enable_steady_tick(Duration::from_millis(200));
        Progress {
            pb,
            step: 0,
            started: Instant::now(),
            timings: Vec::new(),
        }
    }

    fn begin(&mut self, name: &'static str) -> Instant {
        self.step += 1;
        self.pb
            .set_prefix(format!("[{}/{STEPS}] {name}", self.step));
        self.pb.set_message("");
        Instant::now()
    }

    fn end(&mut self, name: &'static str, t0: Instant) {
        let d = t0.elapsed();
        self.pb.println(format!(
            "  [{}/{STEPS}] {name:<22} {:>6.1}s",
            self.step,
            d.as_secs_f64()
        ));
        self.timings.push((name, d));
    }
}

pub(crate) fn build(
    recipe: &Recipe,
    a: &Artifacts,
    args: &ImageArgs,
) -> Result<String, ImageError> {
    if !args.force && cached(recipe, a) {
        return Ok(format!(
            "image is current (recipe {}): {}\n  kernel {}\n  initrd {}",
            &recipe.hash()[..12],
            a.image.display(),
            a.kernel.display(),
            a.initrd.display()
        ));
    }
    preflight()?;

    let out_dir = a.image.parent().unwrap_or(Path::new(".")).to_path_buf();
    mkdir(&out_dir, "prepare")?;
    // World-readable: qemu runs as libvirt-qemu and reads backing files and kernels.
    set_mode(&out_dir, 0o755, "prepare")?;
    mkdir(&args.cache_dir, "prepare")?;
    let stem = a
        .image
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned());
    let work = out_dir.join(format!(".build-{}", stem.unwrap_or_else(|| "image".into())));
    let root = work.join("root");
    remove_tree(&work, "prepare")?;
    mkdir(&work, "prepare")?;

    let mut p = Progress::new();
    let result = run_steps(recipe, a, args, &work, &root, &mut p);
    p.pb.finish_and_clear();
    if !args.keep_tree {
        let _ = std::fs::remove_dir_all(&work);
    }
    let kernel_version = result?;

    let total = p.started.elapsed();
    let stamp = RecipeStamp {
        hash: recipe.hash(),
        suite: recipe.suite.clone(),
        mirror: recipe.mirror.clone(),
        packages: recipe.packages.clone(),
        kernel_version: kernel_version.clone(),
        build_seconds: total.as_secs_f64(),
    };
    let json = serde_json::to_string_pretty(&stamp).unwrap_or_default();
    write_atomic(&a.recipe, json.as_bytes(), "finish")?;

    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "built {} in {:.0}s (recipe {})",
        a.image.display(),
        total.as_secs_f64(),
        &stamp.hash[..12]
    );
    let _ = writeln!(
        s,
        "  image   {:>7.1} MiB on disk (ext4 root {} MiB)",
        mib(size(&a.image)),
        recipe.fs_bytes >> 20
    );
    let _ = writeln!(
        s,
        "  kernel  {:>7.1} MiB  {} ({kernel_version})",
        mib(size(&a.kernel)),
        a.kernel.display()
    );
    let _ = writeln!(
        s,
        "  initrd  {:>7.1} MiB  {}",
        mib(size(&a.initrd)),
        a.initrd.display()
    );
    let _ = write!(
        s,
        "  boot    direct kernel boot, cmdline `{}`",
        crate::DEFAULT_CMDLINE
    );
    Ok(s)
}

/// Installs the Lustre packages of a built repository into the tree with apt (only that
/// repository as a source), then removes the repository and its source line again.
fn install_lustre(
    root: &Path,
    l: &crate::recipe::LustreInstall,
    kver: &str,
    pb: &ProgressBar,
) -> Result<(), ImageError> {
    let index = l.repo.join("Packages");
    let text = std::fs::read_to_string(&index).map_err(ImageError::io("lustre", "read", &index))?;
    let want = format!("Package: lustre-modules-{kver}\n");
    if !text.contains(&want) {
        let built: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("Package: lustre-modules-"))
            .collect();
        return Err(ImageError::NotFound {
            step: "lustre",
            what: if built.is_empty() {
                "lustre-modules package (not a Lustre build?)"
            } else {
                "lustre-modules package for the image's kernel (the build is for another kernel)"
            },
            dir: l.repo.clone(),
        });
    }
    let inside = root.join("var/tmp/lustrekit-repo");
    remove_tree(&inside, "lustre")?;
    let mut cmd = Command::new("cp");
    cmd.arg("-a").arg(&l.repo).arg(&inside);
    run("lustre", cmd, pb)?;
    let list = root.join("etc/apt/sources.list.d/lustrekit-repo.list");
    std::fs::write(&list, "deb [trusted=yes] file:/var/tmp/lustrekit-repo ./\n")
        .map_err(ImageError::io("lustre", "write", &list))?;
    let apt = |extra: &[&str]| {
        let mut cmd = Command::new("chroot");
        cmd.arg(root)
            .args([
                "apt-get",
                "-o",
                "Dir::Etc::sourcelist=/etc/apt/sources.list.d/lustrekit-repo.list",
                "-o",
                "Dir::Etc::sourceparts=-",
                "-o",
                "APT::Get::List-Cleanup=0",
            ])
            .args(extra)
            .env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    run("lustre", apt(&["-qq", "update"]), pb)?;
    let pkgs: Vec<String> = crate::recipe::LUSTRE_PACKAGES
        .iter()
        .map(|p| p.replace("KVER", kver))
        .collect();
    let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
    args.extend(pkgs.iter().map(String::as_str));
    run("lustre", apt(&args), pb)?;
    let _ = std::fs::remove_file(&list);
    remove_tree(&inside, "lustre")?;
    Ok(())
}

fn run_steps(
    recipe: &Recipe,
    a: &Artifacts,
    args: &ImageArgs,
    work: &Path,
    root: &Path,
    p: &mut Progress,
) -> Result<String, ImageError> {
    // 1. debootstrap
    let t = p.begin("debootstrap");
    let mut cmd = Command::new("debootstrap");
    cmd.arg("--variant=minbase")
        .arg(format!("--cache-dir={}", args.cache_dir.display()))
        .arg(format!("--include={}", recipe.packages.join(",")))
        .arg(&recipe.suite)
        .arg(root)
        .arg(&recipe.mirror);
    run("debootstrap", cmd, &p.pb)?;
    p.end("debootstrap", t);

    // 2. configuration files and services
    let t = p.begin("configure");
    for f in &recipe.files {
        let path = root.join(f.path);
        if let Some(dir) = path.parent() {
            mkdir(dir, "configure")?;
        }
        // Replace symlinks (resolv.conf may be one) rather than write through them.
        let _ = std::fs::remove_file(&path);
        std::fs::write(&path, &f.contents).map_err(ImageError::io("configure", "write", &path))?;
        set_mode(&path, f.mode, "configure")?;
    }
    mkdir(
        &root.join(crate::recipe::SHARED_MOUNT.trim_start_matches('/')),
        "configure",
    )?;
    for c in &recipe.chroot_commands {
        let mut cmd = Command::new("chroot");
        cmd.arg(root)
            .args(c)
            .env("DEBIAN_FRONTEND", "noninteractive");
        run("configure", cmd, &p.pb)?;
    }
    p.end("configure", t);

    // 3. kernel modules: prune, depmod, small initrd
    let kver = kernel_version(root)?;
    if let Some(l) = &recipe.lustre {
        let t = p.begin("lustre");
        install_lustre(root, l, &kver, &p.pb)?;
        p.end("lustre", t);
    }
    let t = p.begin("kernel");
    let moddir = root.join("lib/modules").join(&kver);
    for d in PRUNED_MODULE_DIRS {
        remove_tree(&moddir.join(d), "kernel")?;
    }
    let mut cmd = Command::new("chroot");
    cmd.arg(root).args(["depmod", "-a", &kver]);
    run("kernel", cmd, &p.pb)?;
    let mut cmd = Command::new("chroot");
    cmd.arg(root).args(["update-initramfs", "-u", "-k", &kver]);
    run("kernel", cmd, &p.pb)?;
    p.end("kernel", t);

    // 4. clean
    let t = p.begin("clean");
    for r in REMOVED_PATHS {
        let path = root.join(r);
        if path.is_dir() {
            remove_tree(&path, "clean")?;
            mkdir(&path, "clean")?;
        } else {
            let _ = std::fs::remove_file(&path);
        }
    }
    let tmp = root.join("tmp");
    remove_tree(&tmp, "clean")?;
    mkdir(&tmp, "clean")?;
    set_mode(&tmp, 0o1777, "clean")?;
    p.end("clean", t);

    // 5. kernel + initrd next to the image
    let t = p.begin("extract kernel");
    copy_atomic(
        &root.join(format!("boot/vmlinuz-{kver}")),
        &a.kernel,
        "extract kernel",
    )?;
    copy_atomic(
        &root.join(format!("boot/initrd.img-{kver}")),
        &a.initrd,
        "extract kernel",
    )?;
    p.end("extract kernel", t);

    // 6. ext4 filled from the tree: no loop device, no mount
    let t = p.begin("mkfs.ext4 -d");
    let raw = work.join("root.ext4");
    let f = std::fs::File::create(&raw).map_err(ImageError::io("mkfs.ext4", "create", &raw))?;
    f.set_len(recipe.fs_bytes)
        .map_err(ImageError::io("mkfs.ext4", "size", &raw))?;
    drop(f);
    let mut cmd = Command::new("mkfs.ext4");
    cmd.args([
        "-q",
        "-F",
        "-L",
        "lustrekit-root",
        "-m",
        "1",
        "-E",
        "root_owner=0:0",
        "-d",
    ])
    .arg(root)
    .arg(&raw);
    run("mkfs.ext4", cmd, &p.pb)?;
    p.end("mkfs.ext4 -d", t);

    // 7. qcow2
    let t = p.begin("qemu-img convert");
    let tmp_img = tmp_path(&a.image);
    let mut cmd = Command::new("qemu-img");
    cmd.args(["convert", "-f", "raw", "-O", "qcow2"])
        .arg(&raw)
        .arg(&tmp_img);
    run("qemu-img convert", cmd, &p.pb)?;
    let _ = std::fs::remove_file(&raw);
    set_mode(&tmp_img, 0o644, "qemu-img convert")?;
    std::fs::rename(&tmp_img, &a.image).map_err(ImageError::io(
        "qemu-img convert",
        "rename to",
        &a.image,
    ))?;
    p.end("qemu-img convert", t);

    Ok(kver)
}

fn preflight() -> Result<(), ImageError> {
    if !is_root() {
        return Err(ImageError::NotRoot);
    }
    for tool in ["debootstrap", "chroot", "mkfs.ext4", "qemu-img"] {
        if which(tool).is_none() {
            return Err(ImageError::MissingTool { tool });
        }
    }
    Ok(())
}

fn is_root() -> bool {
    // /proc/self/status: `Uid:  real effective saved fs`.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/sbin"])
        .map(|d| Path::new(d).join(tool))
        .find(|p| p.is_file());
    found
}

fn kernel_version(root: &Path) -> Result<String, ImageError> {
    let dir = root.join("lib/modules");
    let mut versions: Vec<String> = std::fs::read_dir(&dir)
        .map_err(ImageError::io("kernel", "read", &dir))?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|v| root.join(format!("boot/vmlinuz-{v}")).is_file())
        .collect();
    versions.sort();
    versions.pop().ok_or(ImageError::NotFound {
        step: "kernel",
        what: "installed kernel",
        dir,
    })
}

/// Runs a command, showing its latest output line on the spinner; on failure the error holds
/// the last 30 lines of combined output.
fn run(step: &'static str, mut cmd: Command, pb: &ProgressBar) -> Result<(), ImageError> {
    let shown = format!("{cmd:?}").replace('"', "");
    let path = std::env::var("PATH").unwrap_or_default();
    cmd.env("PATH", format!("{path}:/usr/sbin:/sbin:/usr/bin:/bin"))
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|source| ImageError::Spawn {
        step,
        command: shown.clone(),
        source,
    })?;
    let (tx, rx) = mpsc::channel::<String>();
    let mut readers = Vec::new();
    let out: Option<Box<dyn Read + Send>> = child
        .stdout
        .take()
        .map(|s| Box::new(s) as Box<dyn Read + Send>);
    let err: Option<Box<dyn Read + Send>> = child
        .stderr
        .take()
        .map(|s| Box::new(s) as Box<dyn Read + Send>);
    for stream in [out, err].into_iter().flatten() {
        let tx = tx.clone();
        readers.push(std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        }));
    }
    drop(tx);
    let mut tail: std::collections::VecDeque<String> = std::collections::VecDeque::new();
    for line in rx {
        pb.set_message(line.chars().take(120).collect::<String>());
        if tail.len() == 30 {
            tail.pop_front();
        }
        tail.push_back(line);
    }
    for r in readers {
        let _ = r.join();
    }
    let status = child.wait().map_err(|source| ImageError::Spawn {
        step,
        command: shown.clone(),
        source,
    })?;
    if status.success() {
        return Ok(());
    }
    Err(ImageError::Command {
        step,
        command: shown,
        status: status.to_string(),
        tail: tail.into_iter().collect::<Vec<_>>().join("\n"),
    })
}

fn mkdir(p: &Path, step: &'static str) -> Result<(), ImageError> {
    std::fs::create_dir_all(p).map_err(ImageError::io(step, "create directory", p))
}

fn set_mode(p: &Path, mode: u32, step: &'static str) -> Result<(), ImageError> {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
        .map_err(ImageError::io(step, "chmod", p))
}

fn remove_tree(p: &Path, step: &'static str) -> Result<(), ImageError> {
    match std::fs::remove_dir_all(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(ImageError::Io {
            step,
            action: "remove",
            path: p.to_path_buf(),
            source: e,
        }),
    }
}

fn tmp_path(p: &Path) -> PathBuf {
    let mut s = p.as_os_str().to_os_string();
    s.push(".tmp");
    PathBuf::from(s)
}

fn copy_atomic(from: &Path, to: &Path, step: &'static str) -> Result<(), ImageError> {
    let tmp = tmp_path(to);
    std::fs::copy(from, &tmp).map_err(ImageError::io(step, "copy", from))?;
    set_mode(&tmp, 0o644, step)?;
    std::fs::rename(&tmp, to).map_err(ImageError::io(step, "rename to", to))
}

fn write_atomic(to: &Path, bytes: &[u8], step: &'static str) -> Result<(), ImageError> {
    let tmp = tmp_path(to);
    std::fs::write(&tmp, bytes).map_err(ImageError::io(step, "write", &tmp))?;
    std::fs::rename(&tmp, to).map_err(ImageError::io(step, "rename to", to))
}
