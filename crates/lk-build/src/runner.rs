//! Runs the steps of a build in order, reusing what the cache has.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::chroot::{run_logged, Mounts};
use crate::error::BuildError;
use crate::key::{cache_key, input_key, step_marker, KeyInputs};
use crate::source::{self, SourceSpec};
use crate::steps::{self, Step};
use crate::{cached_repo, BuildManifest, BuildOutput, BuildRequest, Event};

/// Builds (or finds in the cache) the Lustre repository for `req`.
pub fn build(req: &BuildRequest, on: &mut dyn FnMut(Event)) -> Result<BuildOutput, BuildError> {
    let started = Instant::now();
    preflight()?;
    let cache = &req.cache_dir;
    mkdir(cache, Step::Source)?;
    let _lock = lock(cache)?;

    // The source first: a wrong tree or an unknown ref fails before anything slow.
    on(Event::Started(Step::Source));
    let t = Instant::now();
    let (source_id, origin) = resolve_source(req)?;
    let inputs = KeyInputs {
        source_id: &source_id,
        kernel: &req.kernel,
        suite: &req.suite,
        configure_options: &req.configure_options,
    };
    let key = cache_key(&inputs);
    if !req.force {
        if let Some((repo, manifest)) = cached_repo(cache, &key)? {
            on(Event::Skipped(
                Step::Source,
                format!("cached build {}", short(&key)),
            ));
            return Ok(BuildOutput {
                repo,
                manifest,
                cached: true,
                seconds: started.elapsed().as_secs_f64(),
            });
        }
    }
    let work = prepare_work(req, &cache.join("work").join(input_key(&inputs)))?;
    let mut chain = Chain::new(&work, &input_key(&inputs))?;
    let mut times = Vec::new();
    if chain.done(Step::Source, "source")? && work.join("src").is_dir() {
        on(Event::Skipped(
            Step::Source,
            "source copied by an earlier run".into(),
        ));
    } else {
        chain.invalidate(Step::Source)?;
        copy_source(&origin, &work.join("src"), &work.join("source.log"))?;
        chain.mark(Step::Source)?;
        times.push((Step::Source, t.elapsed().as_secs_f64()));
        on(Event::Finished(Step::Source, t.elapsed().as_secs_f64()));
    }

    let root = cache.join(format!("root-{}", req.suite));
    let mut step_env = env(req, &source_id);
    step_env.push(("JOBS".into(), req.jobs.max(1).to_string()));

    bootstrap(req, &root, &work, on, &mut times)?;
    let zfs_dir = cache.join("zfs").join(&req.kernel);
    let dirs = Dirs {
        root: &root,
        work: &work,
        zfs: &zfs_dir,
        env: &step_env,
    };
    build_root(req, &dirs, on, &mut times)?;
    lustre_steps(&dirs, &mut chain, on, &mut times)?;

    on(Event::Started(Step::Publish));
    let t = Instant::now();
    let manifest = manifest(req, &key, &source_id, &work, times.clone())?;
    let repo = publish(cache, &work, &key, &manifest)?;
    on(Event::Finished(Step::Publish, t.elapsed().as_secs_f64()));
    Ok(BuildOutput {
        repo,
        manifest,
        cached: false,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn preflight() -> Result<(), BuildError> {
    if !is_root() {
        return Err(BuildError::NotRoot);
    }
    for tool in ["debootstrap", "chroot", "mount", "git", "rsync"] {
        if !on_path(tool) {
            return Err(BuildError::MissingTool { tool });
        }
    }
    Ok(())
}

/// The work folder is named by the inputs alone: a build that failed in a late step resumes
/// there once that step's script is fixed; --rebuild starts it afresh. The step scripts are
/// written into it for the chroot to run.
fn prepare_work(req: &BuildRequest, work: &Path) -> Result<PathBuf, BuildError> {
    if req.force && work.exists() {
        fs::remove_dir_all(work).map_err(BuildError::io(Step::Source, "clear", work))?;
    }
    mkdir(&work.join("steps"), Step::Source)?;
    for (name, text) in steps::all_scripts() {
        let p = work.join("steps").join(name);
        fs::write(&p, text).map_err(BuildError::io(Step::Source, "write", &p))?;
    }
    Ok(work.to_path_buf())
}

/// Where the steps after bootstrap run, and with what environment.
struct Dirs<'a> {
    root: &'a Path,
    work: &'a Path,
    /// The ZFS modules package of the kernel, cached across builds.
    zfs: &'a Path,
    env: &'a [(String, String)],
}

/// The build root's packages (marked current per kernel and root script) and the ZFS modules
/// package (cached per kernel).
fn build_root(
    req: &BuildRequest,
    d: &Dirs<'_>,
    on: &mut dyn FnMut(Event),
    times: &mut Vec<(Step, f64)>,
) -> Result<(), BuildError> {
    let (root, work, step_env, zfs_dir) = (d.root, d.work, d.env, d.zfs);
    let ready = root.join(format!(
        ".lustrekit-root-{}-{}",
        req.kernel,
        short(&script_hash(Step::Root)?)
    ));
    if ready.exists() {
        on(Event::Skipped(Step::Root, "build root is current".into()));
    } else {
        timed(Step::Root, on, times, |on| {
            run_step(root, work, Step::Root, step_env, on)
        })?;
        fs::write(&ready, "").map_err(BuildError::io(Step::Root, "mark", &ready))?;
    }
    match find_deb(zfs_dir, "zfs-modules-")? {
        Some(p) => on(Event::Skipped(Step::Zfs, format!("cached {}", p.display()))),
        None => {
            timed(Step::Zfs, on, times, |on| {
                run_step(root, work, Step::Zfs, step_env, on)
            })?;
            publish_zfs(work, zfs_dir)?;
        }
    }
    Ok(())
}

/// Configure, compile, package and the repository, each skipped when the chain says it is
/// done for these inputs and scripts.
fn lustre_steps(
    d: &Dirs<'_>,
    chain: &mut Chain,
    on: &mut dyn FnMut(Event),
    times: &mut Vec<(Step, f64)>,
) -> Result<(), BuildError> {
    let (root, work, step_env, zfs_dir) = (d.root, d.work, d.env, d.zfs);
    for step in [
        Step::Configure,
        Step::Compile,
        Step::Package,
        Step::Repository,
    ] {
        let script = script_text(step)?;
        if chain.done(step, script)? {
            on(Event::Skipped(
                step,
                "done by an earlier run of these inputs".into(),
            ));
            continue;
        }
        chain.invalidate(step)?;
        if step == Step::Repository {
            // The ZFS modules package joins the repository (a path from read_dir always
            // has a file name).
            if let Some(p) = find_deb(zfs_dir, "zfs-modules-")? {
                let dest = work.join("out").join(p.file_name().unwrap_or_default());
                fs::copy(&p, &dest).map_err(BuildError::io(Step::Zfs, "copy", &p))?;
            }
        }
        timed(step, on, times, |on| {
            run_step(root, work, step, step_env, on)
        })?;
        chain.mark(step)?;
    }
    Ok(())
}

/// Runs `f` as `step` with started/finished events and its time recorded.
fn timed(
    step: Step,
    on: &mut dyn FnMut(Event),
    times: &mut Vec<(Step, f64)>,
    f: impl FnOnce(&mut dyn FnMut(Event)) -> Result<(), BuildError>,
) -> Result<(), BuildError> {
    on(Event::Started(step));
    let t = Instant::now();
    f(on)?;
    let secs = t.elapsed().as_secs_f64();
    times.push((step, secs));
    on(Event::Finished(step, secs));
    Ok(())
}

/// Per-step markers in the work folder (`.done-STEP`), each chaining the step's script to the
/// markers before it: a step is skipped only when it and everything before it are unchanged.
struct Chain {
    work: PathBuf,
    last: String,
    pending: Option<(Step, String)>,
}

/// The steps that leave a marker, in order.
const CHAINED: [Step; 5] = [
    Step::Source,
    Step::Configure,
    Step::Compile,
    Step::Package,
    Step::Repository,
];

impl Chain {
    /// Starts from the input key and the build root's script (a root with other packages
    /// may configure differently).
    fn new(work: &Path, input_key: &str) -> Result<Chain, BuildError> {
        Ok(Chain {
            work: work.to_path_buf(),
            last: step_marker(input_key, script_text(Step::Root)?),
            pending: None,
        })
    }

    fn path(&self, step: Step) -> PathBuf {
        self.work.join(format!(".done-{step}"))
    }

    /// Whether `step` (whose script is `script`) is done for the chain so far; advances the
    /// chain either way.
    fn done(&mut self, step: Step, script: &str) -> Result<bool, BuildError> {
        let want = step_marker(&self.last, script);
        self.last = want.clone();
        let p = self.path(step);
        let have = match fs::read_to_string(&p) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(BuildError::io(step, "read", &p)(e)),
        };
        self.pending = Some((step, want.clone()));
        Ok(have.trim() == want)
    }

    /// Removes the markers of `step` and every later step before it runs again.
    fn invalidate(&self, step: Step) -> Result<(), BuildError> {
        for s in CHAINED.iter().filter(|s| **s >= step) {
            let p = self.path(*s);
            match fs::remove_file(&p) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(BuildError::io(*s, "remove", &p)(e))
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn mark(&mut self, step: Step) -> Result<(), BuildError> {
        if let Some((s, m)) = self.pending.take().filter(|(s, _)| *s == step) {
            let p = self.path(s);
            fs::write(&p, m).map_err(BuildError::io(s, "mark", &p))?;
        }
        Ok(())
    }
}

/// Where the source is read from once resolved.
enum Origin {
    Tree(PathBuf),
    Git {
        clone: PathBuf,
        commit: String,
        url: String,
    },
}

fn resolve_source(req: &BuildRequest) -> Result<(String, Origin), BuildError> {
    match &req.source {
        SourceSpec::Tree(path) => {
            source::check_tree(path)?;
            let id = format!("tree:{}", source::tree_hash(path)?);
            Ok((id, Origin::Tree(path.clone())))
        }
        SourceSpec::Git { url, git_ref } => {
            let (clone, commit) = source::git_checkout(&req.cache_dir.join("git"), url, git_ref)?;
            Ok((
                format!("git:{commit}"),
                Origin::Git {
                    clone,
                    commit,
                    url: url.clone(),
                },
            ))
        }
    }
}

/// Copies the source into the build folder (the user's tree is never written to). Test data
/// tarballs that the tree lacks (a checkout without its large files) get empty placeholders:
/// `make install` wants them to exist, and no built package depends on their content.
fn copy_source(origin: &Origin, dest: &Path, log: &Path) -> Result<(), BuildError> {
    match origin {
        Origin::Tree(path) => {
            let mut c = Command::new("rsync");
            c.args(["-a", "--delete", "--exclude=.git"])
                .arg(format!("{}/", path.display()))
                .arg(dest);
            run_logged(Step::Source, c, log, &mut |_| {})?;
        }
        Origin::Git { clone, commit, url } => {
            source::git_export(clone, commit, dest, url)?;
            source::check_tree(dest)?;
        }
    }
    let tests = dest.join("lustre/tests");
    let makefile = tests.join("Makefile.am");
    if let Ok(text) = fs::read_to_string(&makefile) {
        let mut notes = String::new();
        for name in text
            .lines()
            .filter_map(|l| l.strip_prefix("noinst_DATA +="))
            .flat_map(str::split_whitespace)
        {
            let p = tests.join(name);
            if !p.exists() {
                fs::write(&p, "").map_err(BuildError::io(Step::Source, "write", &p))?;
                notes.push_str(&format!("placeholder for missing test data {name}\n"));
            }
        }
        fs::write(log, notes).map_err(BuildError::io(Step::Source, "write", log))?;
    }
    Ok(())
}

fn bootstrap(
    req: &BuildRequest,
    root: &Path,
    work: &Path,
    on: &mut dyn FnMut(Event),
    times: &mut Vec<(Step, f64)>,
) -> Result<(), BuildError> {
    let done = root.join(".lustrekit-bootstrapped");
    if done.exists() {
        on(Event::Skipped(
            Step::Bootstrap,
            format!("{} exists", root.display()),
        ));
        return Ok(());
    }
    on(Event::Started(Step::Bootstrap));
    let t = Instant::now();
    if root.exists() {
        // A debootstrap that did not finish: start it again.
        fs::remove_dir_all(root).map_err(BuildError::io(Step::Bootstrap, "clear", root))?;
    }
    let debs = req.cache_dir.join("debootstrap");
    mkdir(&debs, Step::Bootstrap)?;
    let mut c = Command::new("debootstrap");
    c.args(["--variant=buildd", "--components=main,contrib"])
        .arg(format!("--cache-dir={}", debs.display()))
        .arg(&req.suite)
        .arg(root)
        .arg(&req.mirror);
    run_logged(Step::Bootstrap, c, &work.join("bootstrap.log"), &mut |_| {})?;
    fs::write(&done, "").map_err(BuildError::io(Step::Bootstrap, "mark", &done))?;
    let secs = t.elapsed().as_secs_f64();
    times.push((Step::Bootstrap, secs));
    on(Event::Finished(Step::Bootstrap, secs));
    Ok(())
}

fn run_step(
    root: &Path,
    work: &Path,
    step: Step,
    env: &[(String, String)],
    on: &mut dyn FnMut(Event),
) -> Result<(), BuildError> {
    let Some((script, _)) = step.script() else {
        return Ok(());
    };
    let _mounts = Mounts::bind(root, work)?;
    let mut c = Command::new("chroot");
    c.arg(root).arg("/usr/bin/env").arg("-i");
    c.arg("PATH=/usr/sbin:/usr/bin:/sbin:/bin")
        .arg("HOME=/root");
    for (k, v) in env {
        c.arg(format!("{k}={v}"));
    }
    c.arg("/bin/bash").arg(format!("/work/steps/{script}"));
    let log = work.join(format!("{step}.log"));
    run_logged(step, c, &log, &mut |line| {
        if let Some(note) = line.strip_prefix("== ") {
            on(Event::Note(step, note.to_string()));
        }
    })
}

fn env(req: &BuildRequest, source_id: &str) -> Vec<(String, String)> {
    vec![
        ("KVER".into(), req.kernel.clone()),
        ("SUITE".into(), req.suite.clone()),
        ("MIRROR".into(), req.mirror.clone()),
        ("SECURITY_MIRROR".into(), req.security_mirror.clone()),
        ("CONFIGURE_OPTIONS".into(), req.configure_options.join(" ")),
        ("REVISION".into(), source_id.to_string()),
    ]
}

fn publish_zfs(work: &Path, zfs_dir: &Path) -> Result<(), BuildError> {
    let Some(deb) = find_deb(&work.join("zfs-out"), "zfs-modules-")? else {
        return Err(BuildError::Invalid {
            step: Step::Zfs,
            detail: "the zfs step produced no zfs-modules package".into(),
        });
    };
    let tmp = zfs_dir.with_extension("tmp");
    let _ = fs::remove_dir_all(&tmp);
    mkdir(&tmp, Step::Zfs)?;
    let name = deb.file_name().unwrap_or_default();
    fs::rename(&deb, tmp.join(name)).map_err(BuildError::io(Step::Zfs, "move", &deb))?;
    let _ = fs::remove_dir_all(zfs_dir);
    fs::rename(&tmp, zfs_dir).map_err(BuildError::io(Step::Zfs, "publish", zfs_dir))
}

fn find_deb(dir: &Path, prefix: &str) -> Result<Option<PathBuf>, BuildError> {
    if !dir.exists() {
        return Ok(None);
    }
    let entries = fs::read_dir(dir).map_err(BuildError::io(Step::Zfs, "list", dir))?;
    for e in entries {
        let e = e.map_err(BuildError::io(Step::Zfs, "list", dir))?;
        let name = e.file_name().to_string_lossy().to_string();
        if name.starts_with(prefix) && name.ends_with(".deb") {
            return Ok(Some(e.path()));
        }
    }
    Ok(None)
}

fn manifest(
    req: &BuildRequest,
    key: &str,
    source_id: &str,
    work: &Path,
    step_seconds: Vec<(Step, f64)>,
) -> Result<BuildManifest, BuildError> {
    let out = work.join("out");
    let mut built = Vec::new();
    let mut version = String::new();
    let entries = fs::read_dir(&out).map_err(BuildError::io(Step::Publish, "list", &out))?;
    for e in entries {
        let e = e.map_err(BuildError::io(Step::Publish, "list", &out))?;
        let name = e.file_name().to_string_lossy().to_string();
        if let Some(rest) = name.strip_prefix("lustre-utils_") {
            version = rest
                .split('_')
                .next()
                .unwrap_or_default()
                .trim_end_matches("-1")
                .to_string();
        }
        if name.starts_with("lustre-") || name.starts_with("zfs-modules-") {
            built.push(name);
        }
    }
    built.sort();
    if version.is_empty() {
        return Err(BuildError::Invalid {
            step: Step::Publish,
            detail: format!("no lustre-utils package in {}", out.display()),
        });
    }
    Ok(BuildManifest {
        key: key.to_string(),
        source: req.source.describe(),
        source_id: source_id.to_string(),
        kernel: req.kernel.clone(),
        suite: req.suite.clone(),
        configure_options: req.configure_options.clone(),
        lustre_version: version,
        built,
        step_seconds,
    })
}

/// Moves `work/out` to `packages/KEY` in one rename, after writing its manifest, then drops
/// the work folder (sources and objects are large; the logs stay with the packages).
fn publish(cache: &Path, work: &Path, key: &str, m: &BuildManifest) -> Result<PathBuf, BuildError> {
    let out = work.join("out");
    let text = serde_json::to_string_pretty(m).map_err(|e| BuildError::Invalid {
        step: Step::Publish,
        detail: format!("serialise the manifest: {e}"),
    })?;
    let mp = out.join("build.json");
    fs::write(&mp, text).map_err(BuildError::io(Step::Publish, "write", &mp))?;
    mkdir(&out.join("logs"), Step::Publish)?;
    if let Ok(entries) = fs::read_dir(work) {
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "log" || x == "out") {
                let _ = fs::copy(&p, out.join("logs").join(e.file_name()));
            }
        }
    }
    let packages = cache.join("packages");
    mkdir(&packages, Step::Publish)?;
    let repo = packages.join(key);
    if repo.exists() {
        fs::remove_dir_all(&repo).map_err(BuildError::io(Step::Publish, "replace", &repo))?;
    }
    fs::rename(&out, &repo).map_err(BuildError::io(Step::Publish, "publish", &repo))?;
    fs::remove_dir_all(work).map_err(BuildError::io(Step::Publish, "clean", work))?;
    Ok(repo)
}

fn script_hash(step: Step) -> Result<String, BuildError> {
    use sha2::{Digest, Sha256};
    let text = script_text(step)?;
    Ok(format!("{:x}", Sha256::digest(text.as_bytes())))
}

/// The script of a step the chain hashes. Every such step has one; an empty text in its
/// place would make any change of the script look like no change.
fn script_text(step: Step) -> Result<&'static str, BuildError> {
    step.script()
        .map(|(_, t)| t)
        .ok_or_else(|| BuildError::Invalid {
            step,
            detail: "this step has no script".into(),
        })
}

fn short(key: &str) -> &str {
    key.get(..12).unwrap_or(key)
}

fn mkdir(p: &Path, step: Step) -> Result<(), BuildError> {
    fs::create_dir_all(p).map_err(BuildError::io(step, "create", p))
}

/// One build at a time per cache (the build root is shared).
fn lock(cache: &Path) -> Result<fs::File, BuildError> {
    let p = cache.join("build.lock");
    let f = fs::File::create(&p).map_err(BuildError::io(Step::Source, "create", &p))?;
    f.lock().map_err(BuildError::io(Step::Source, "lock", &p))?;
    Ok(f)
}

fn is_root() -> bool {
    fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find(|l| l.starts_with("Uid:"))
            .and_then(|l| l.split_whitespace().nth(1))
            == Some("0")
    })
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .chain(["/usr/sbin".into(), "/sbin".into()])
                .any(|d| d.join(tool).is_file())
        })
        .unwrap_or(false)
}
