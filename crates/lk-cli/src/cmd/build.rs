//! `lustrekit build FILE`: the topology's Lustre build on its own (the step `up` runs first
//! for `source: build`), with progress, a per-step summary and the repository it made.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use lk_build::{BuildOutput, BuildRequest, Event, SourceSpec};
use lk_model::topology::{LustreSource, SourceOrigin};
use lk_model::Topology;

use crate::topology_file;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Topology file (YAML) with `spec.lustre.source: build`.
    pub file: PathBuf,
    #[command(flatten)]
    pub opts: BuildOpts,
}

/// Build options shared by `build` and `up`.
#[derive(Debug, Clone, clap::Args)]
pub struct BuildOpts {
    /// Where builds, the build root and ZFS modules are cached.
    #[arg(long, env = "LUSTREKIT_BUILD_CACHE", default_value = lk_build::DEFAULT_CACHE_DIR)]
    pub build_cache: PathBuf,
    /// Parallel compile jobs [default: the host's CPUs].
    #[arg(long)]
    pub jobs: Option<u32>,
    /// Rebuild even when the cache has packages for these inputs.
    #[arg(long)]
    pub rebuild: bool,
}

/// `--build-on`: where `up` compiles Lustre for `source: build`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum BuildOnArg {
    /// The build VM when KVM works and the topology has one; else the host.
    #[default]
    Auto,
    /// A chroot of the guest's distribution on the host.
    Host,
    /// The topology's build VM (slow under TCG).
    Vm,
}

impl From<BuildOnArg> for lk_plan::BuildOn {
    fn from(b: BuildOnArg) -> Self {
        match b {
            BuildOnArg::Auto => lk_plan::BuildOn::Auto,
            BuildOnArg::Host => lk_plan::BuildOn::Host,
            BuildOnArg::Vm => lk_plan::BuildOn::Vm,
        }
    }
}

/// Refuses `--build-on vm` for a topology without a build node (before anything is made).
pub fn check_build_on(t: &Topology, on: BuildOnArg) -> anyhow::Result<()> {
    let builds = matches!(t.lustre, LustreSource::Build { .. });
    if builds
        && on == BuildOnArg::Vm
        && !t
            .nodes
            .iter()
            .any(|n| n.has(lk_model::topology::Role::Build))
    {
        anyhow::bail!(
            "--build-on vm: no node of {} has the `build` role (add one, or build on the host)",
            t.name
        );
    }
    Ok(())
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let t = topology_file::load(&args.file)?;
    let out = build_for(&t, &args.opts)?;
    println!("{}", out.repo.display());
    Ok(())
}

/// The build request of a topology whose Lustre is built from source; `None` otherwise.
pub fn request(t: &Topology, opts: &BuildOpts) -> anyhow::Result<Option<BuildRequest>> {
    let LustreSource::Build {
        origin,
        configure_options,
    } = &t.lustre
    else {
        return Ok(None);
    };
    // A wrong source tree is named before anything else is looked at.
    if let SourceOrigin::Path(p) = origin {
        lk_build::source::check_tree(Path::new(p))?;
    }
    let image = Path::new(&t.image.path);
    let stamp = lk_image::stamp(image).with_context(|| {
        format!(
            "the Lustre build targets the kernel of the image {}; build the image first with `lustrekit image build`",
            image.display()
        )
    })?;
    let source = match origin {
        SourceOrigin::Path(p) => SourceSpec::Tree(PathBuf::from(p)),
        SourceOrigin::Git { url, git_ref } => SourceSpec::Git {
            url: url.clone(),
            git_ref: git_ref.clone(),
        },
    };
    let jobs = opts.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| u32::try_from(n.get()).unwrap_or(1))
            .unwrap_or(1)
    });
    Ok(Some(BuildRequest {
        source,
        configure_options: configure_options.clone(),
        kernel: stamp.kernel_version,
        suite: stamp.suite,
        security_mirror: security_mirror(&stamp.mirror),
        mirror: stamp.mirror,
        cache_dir: opts.build_cache.clone(),
        jobs,
        force: opts.rebuild,
    }))
}

/// Security updates live beside the main archive on Debian's own mirrors.
fn security_mirror(mirror: &str) -> String {
    let m = mirror.trim_end_matches('/');
    match m.strip_suffix("/debian") {
        Some(base) => format!("{base}/debian-security"),
        None => format!("{m}-security"),
    }
}

/// Runs the build of `t` with progress on stderr and a summary at the end.
pub fn build_for(t: &Topology, opts: &BuildOpts) -> anyhow::Result<BuildOutput> {
    let Some(req) = request(t, opts)? else {
        anyhow::bail!(
            "{}: spec.lustre.source is not `build`; nothing to build",
            t.name
        );
    };
    eprintln!(
        "build {}: Lustre from {} for kernel {} ({}), cache {}",
        t.name,
        req.source.describe(),
        req.kernel,
        req.suite,
        req.cache_dir.display()
    );
    let printer = Printer::new();
    let result = lk_build::build(&req, &mut |e| printer.event(&e));
    printer.finish();
    let out = result?;
    let m = &out.manifest;
    if out.cached {
        eprintln!(
            "build {}: cached Lustre {} ({} packages, key {}) in {:.1}s",
            t.name,
            m.lustre_version,
            m.built.len(),
            &m.key[..12.min(m.key.len())],
            out.seconds
        );
    } else {
        eprintln!("{:<12} {:>9}", "step", "seconds");
        for (step, secs) in &m.step_seconds {
            eprintln!("{:<12} {:>9.1}", step.as_str(), secs);
        }
        eprintln!(
            "build {}: Lustre {} built in {:.1}s: {}",
            t.name,
            m.lustre_version,
            out.seconds,
            m.built.join(", ")
        );
    }
    Ok(out)
}

/// A spinner with the current step on a terminal; one line per event elsewhere.
struct Printer {
    bar: Option<ProgressBar>,
}

impl Printer {
    fn new() -> Printer {
        let bar = std::io::stderr().is_terminal().then(|| {
            let pb = ProgressBar::new_spinner();
            pb.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed:>4}] build {prefix} {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            pb.enable_steady_tick(Duration::from_millis(200));
            pb
        });
        Printer { bar }
    }

    fn event(&self, e: &Event) {
        let line = match e {
            Event::Started(s) => {
                if let Some(b) = &self.bar {
                    b.set_prefix(s.as_str());
                    b.set_message("");
                    return;
                }
                format!("build: {s}: started")
            }
            Event::Finished(s, secs) => format!("build: {s}: done in {secs:.1}s"),
            Event::Skipped(s, why) => format!("build: {s}: skipped ({why})"),
            Event::Note(s, note) => {
                if let Some(b) = &self.bar {
                    b.set_message(note.clone());
                    return;
                }
                format!("build: {s}: {note}")
            }
        };
        match &self.bar {
            Some(b) => b.println(line),
            None => eprintln!("{line}"),
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// `lustrekit image build [--lustre TOPOLOGY]`: the base image, or one with the topology's
/// Lustre build installed (the base image first, for its kernel; then the build, cached).
pub fn image(args: &super::image::ImageArgs) -> anyhow::Result<std::path::PathBuf> {
    let opts = args.options();
    let Some(file) = &args.lustre else {
        return built(lk_image::build(&opts)?);
    };
    let t = topology_file::load(file)?;
    if !matches!(t.lustre, LustreSource::Build { .. }) {
        anyhow::bail!(
            "{}: --lustre needs a topology with spec.lustre.source: build (it names the source)",
            file.display()
        );
    }
    // The build targets the kernel of the topology's base image: make sure it exists.
    built(lk_image::build(&base_options(&opts, &t.image.path))?)?;
    let out = build_for(
        &t,
        &BuildOpts {
            build_cache: PathBuf::from(lk_build::DEFAULT_CACHE_DIR),
            jobs: None,
            rebuild: false,
        },
    )?;
    let mut with = opts;
    if with.output == Path::new(lk_image::DEFAULT_IMAGE) {
        with.output = PathBuf::from(lk_image::DEFAULT_LUSTRE_IMAGE);
    }
    eprintln!(
        "image: Lustre {} ({}) into {}",
        out.manifest.lustre_version,
        &out.manifest.key[..12.min(out.manifest.key.len())],
        with.output.display()
    );
    built(lk_image::build_with(
        &with,
        Some(lk_image::recipe::LustreInstall {
            repo: out.repo,
            key: out.manifest.key,
        }),
    )?)
}

/// The topology's base image as it is: never forced, and without the extra packages meant for
/// the image with Lustre (with them its recipe would differ, and the base image every other
/// cluster boots would be rebuilt with them).
fn base_options(opts: &lk_image::ImageOptions, path: &str) -> lk_image::ImageOptions {
    lk_image::ImageOptions {
        output: PathBuf::from(path),
        force: false,
        packages: Vec::new(),
        ..opts.clone()
    }
}

/// Shows what the image build did and returns the image.
fn built(b: lk_image::Built) -> anyhow::Result<std::path::PathBuf> {
    eprintln!("{}", b.summary);
    Ok(b.image)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_image_is_built_without_the_lustre_images_extras() {
        let opts = lk_image::ImageOptions {
            packages: vec!["openmpi-bin".into()],
            force: true,
            ..lk_image::ImageOptions::default()
        };
        let base = base_options(&opts, "/images/base.qcow2");
        assert!(base.packages.is_empty() && !base.force);
        assert_eq!(base.output, PathBuf::from("/images/base.qcow2"));
        assert_eq!(base.suite, opts.suite);
    }

    #[test]
    fn security_mirror_beside_the_archive() {
        assert_eq!(
            security_mirror("http://deb.debian.org/debian"),
            "http://deb.debian.org/debian-security"
        );
        assert_eq!(
            security_mirror("http://mirror.example/debian/"),
            "http://mirror.example/debian-security"
        );
    }
}
