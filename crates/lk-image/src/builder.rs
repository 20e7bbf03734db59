//! Runs the build: debootstrap, configure in chroot, prune, extract kernel+initrd,
//! `mkfs.ext4 -d`, `qemu-img convert`. Touches the world; everything it decides comes from
//! [`Recipe`].

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::command::run;
use crate::error::ImageError;
use crate::files::{copy_atomic, mkdir, remove_tree, set_mode, tmp_path, write_atomic};
use crate::recipe::{Recipe, PRUNED_MODULE_DIRS, REMOVED_PATHS};
use crate::{Artifacts, ImageOptions};

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
    opts: &ImageOptions,
) -> Result<String, ImageError> {
    if !opts.force && cached(recipe, a) {
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
    mkdir(&opts.cache_dir, "prepare")?;
    let stem = a
        .image
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned());
    let work = out_dir.join(format!(".build-{}", stem.unwrap_or_else(|| "image".into())));
    let root = work.join("root");
    remove_tree(&work, "prepare")?;
    mkdir(&work, "prepare")?;

    let mut p = Progress::new();
    let result = run_steps(recipe, a, opts, &work, &root, &mut p);
    p.pb.finish_and_clear();
    if !opts.keep_tree {
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
    let json = serde_json::to_string_pretty(&stamp).map_err(|source| ImageError::Json {
        step: "finish",
        action: "serialize the stamp for",
        path: a.recipe.clone(),
        source,
    })?;
    write_atomic(&a.recipe, json.as_bytes(), "finish")?;
    Ok(summary(recipe, a, &stamp, total))
}

/// What was built, with sizes (a missing file shows as 0 MiB) and the boot command line.
fn summary(recipe: &Recipe, a: &Artifacts, stamp: &RecipeStamp, total: Duration) -> String {
    let kernel_version = &stamp.kernel_version;

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
    s
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
    opts: &ImageOptions,
    work: &Path,
    root: &Path,
    p: &mut Progress,
) -> Result<String, ImageError> {
    let t = p.begin("debootstrap");
    debootstrap(recipe, opts, root, &p.pb)?;
    p.end("debootstrap", t);
    let t = p.begin("configure");
    configure(recipe, root, &p.pb)?;
    p.end("configure", t);
    let kver = kernel_version(root)?;
    if let Some(l) = &recipe.lustre {
        let t = p.begin("lustre");
        install_lustre(root, l, &kver, &p.pb)?;
        p.end("lustre", t);
    }
    let t = p.begin("kernel");
    kernel(root, &kver, &p.pb)?;
    p.end("kernel", t);
    let t = p.begin("clean");
    clean(root)?;
    p.end("clean", t);
    // Kernel + initrd next to the image.
    let t = p.begin("extract kernel");
    for (from, to) in [("vmlinuz", &a.kernel), ("initrd.img", &a.initrd)] {
        copy_atomic(
            &root.join(format!("boot/{from}-{kver}")),
            to,
            "extract kernel",
        )?;
    }
    p.end("extract kernel", t);
    let t = p.begin("mkfs.ext4 -d");
    let raw = mkfs(recipe, work, root, &p.pb)?;
    p.end("mkfs.ext4 -d", t);
    let t = p.begin("qemu-img convert");
    qcow2(&raw, &a.image, &p.pb)?;
    p.end("qemu-img convert", t);
    Ok(kver)
}

/// 1. A minimal Debian tree with the recipe's packages.
fn debootstrap(
    recipe: &Recipe,
    opts: &ImageOptions,
    root: &Path,
    pb: &ProgressBar,
) -> Result<(), ImageError> {
    let mut cmd = Command::new("debootstrap");
    cmd.arg("--variant=minbase")
        .arg(format!("--cache-dir={}", opts.cache_dir.display()))
        .arg(format!("--include={}", recipe.packages.join(",")))
        .arg(&recipe.suite)
        .arg(root)
        .arg(&recipe.mirror);
    run("debootstrap", cmd, pb)
}

/// 2. Configuration files and services.
fn configure(recipe: &Recipe, root: &Path, pb: &ProgressBar) -> Result<(), ImageError> {
    for f in &recipe.files {
        let path = root.join(f.path);
        if let Some(dir) = path.parent() {
            mkdir(dir, "configure")?;
        }
        // Replace symlinks (resolv.conf may be one) rather than write through them; absent
        // is fine, and a real failure shows in the write below.
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
        run("configure", cmd, pb)?;
    }
    Ok(())
}

/// 3. Kernel modules: prune, depmod, a small initrd.
fn kernel(root: &Path, kver: &str, pb: &ProgressBar) -> Result<(), ImageError> {
    let moddir = root.join("lib/modules").join(kver);
    for d in PRUNED_MODULE_DIRS {
        remove_tree(&moddir.join(d), "kernel")?;
    }
    let mut cmd = Command::new("chroot");
    cmd.arg(root).args(["depmod", "-a", kver]);
    run("kernel", cmd, pb)?;
    let mut cmd = Command::new("chroot");
    cmd.arg(root).args(["update-initramfs", "-u", "-k", kver]);
    run("kernel", cmd, pb)
}

/// 4. Caches, logs and keys out of the tree.
fn clean(root: &Path) -> Result<(), ImageError> {
    for r in REMOVED_PATHS {
        let path = root.join(r);
        if path.is_dir() {
            remove_tree(&path, "clean")?;
            mkdir(&path, "clean")?;
        } else {
            // Often absent; the image is only smaller when it was there.
            let _ = std::fs::remove_file(&path);
        }
    }
    let tmp = root.join("tmp");
    remove_tree(&tmp, "clean")?;
    mkdir(&tmp, "clean")?;
    set_mode(&tmp, 0o1777, "clean")
}

/// 6. An ext4 image filled from the tree: no loop device, no mount. Returns its path.
fn mkfs(
    recipe: &Recipe,
    work: &Path,
    root: &Path,
    pb: &ProgressBar,
) -> Result<PathBuf, ImageError> {
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
    run("mkfs.ext4", cmd, pb)?;
    Ok(raw)
}

/// 7. The qcow2, renamed into place only when complete.
fn qcow2(raw: &Path, image: &Path, pb: &ProgressBar) -> Result<(), ImageError> {
    let tmp_img = tmp_path(image);
    let mut cmd = Command::new("qemu-img");
    cmd.args(["convert", "-f", "raw", "-O", "qcow2"])
        .arg(raw)
        .arg(&tmp_img);
    run("qemu-img convert", cmd, pb)?;
    // The work tree is removed after the build anyway.
    let _ = std::fs::remove_file(raw);
    set_mode(&tmp_img, 0o644, "qemu-img convert")?;
    std::fs::rename(&tmp_img, image).map_err(ImageError::io("qemu-img convert", "rename to", image))
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
    // No PATH at all: only the directories added below are searched.
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
