//! Where Lustre comes from (`spec.lustre`) and the VM image (`spec.image`).

use super::Validator;
use crate::defaults as d;
use crate::raw;
use crate::size::{format_size, parse_size};
use crate::topology::*;

const LUSTRE: &str = "spec.lustre";

impl Validator {
    pub(super) fn lustre(&mut self, spec: &raw::ClusterSpec) -> Option<LustreSource> {
        // No `spec.lustre` means the default source (preinstalled).
        let l = spec.lustre.clone().unwrap_or_default();
        let before = self.problems.len();
        let out = match l.source {
            raw::LustreSource::Preinstalled => {
                self.forbid(&l, &[], "preinstalled");
                LustreSource::Preinstalled
            }
            raw::LustreSource::Packages => {
                self.forbid(&l, &["repository", "path"], "packages");
                self.packages(&l)
            }
            raw::LustreSource::Tarball => {
                self.forbid(&l, &["path"], "tarball");
                self.tarball(&l)
            }
            raw::LustreSource::Build => {
                self.forbid(&l, &["path", "git", "ref", "configureOptions"], "build");
                self.build(&l)
            }
        };
        (self.problems.len() == before).then_some(out)
    }

    /// Each field of `l` that is set but not in `used` is a problem: `source` ignores it.
    fn forbid(&mut self, l: &raw::LustreSpec, used: &[&str], source: &str) {
        let fields = [
            ("repository", l.repository.is_some()),
            ("path", l.path.is_some()),
            ("git", l.git.is_some()),
            ("ref", l.git_ref.is_some()),
            ("configureOptions", !l.configure_options.is_empty()),
        ];
        for (field, set) in fields {
            if set && !used.contains(&field) {
                self.fail(
                    format!("{LUSTRE}.{field}"),
                    format!("not used with source `{source}`"),
                );
            }
        }
    }

    fn packages(&mut self, l: &raw::LustreSpec) -> LustreSource {
        match (&l.repository, &l.path) {
            (Some(url), None) => {
                self.check_url(
                    &format!("{LUSTRE}.repository"),
                    url,
                    &["http://", "https://", "file://"],
                );
                LustreSource::Packages {
                    origin: PackageOrigin::Repository(url.clone()),
                }
            }
            (None, Some(path)) => {
                self.check_abs(&format!("{LUSTRE}.path"), path);
                LustreSource::Packages {
                    origin: PackageOrigin::Folder(path.clone()),
                }
            }
            _ => {
                self.fail(LUSTRE, "source `packages` needs exactly one of `repository` (URL) or `path` (host folder of .rpm/.deb files)");
                LustreSource::Preinstalled
            }
        }
    }

    fn tarball(&mut self, l: &raw::LustreSpec) -> LustreSource {
        match &l.path {
            Some(path) => {
                self.check_abs(&format!("{LUSTRE}.path"), path);
                LustreSource::Tarball { path: path.clone() }
            }
            None => {
                self.fail(
                    format!("{LUSTRE}.path"),
                    "source `tarball` needs `path`, the host path of the install-tree tarball",
                );
                LustreSource::Preinstalled
            }
        }
    }

    /// Without a build node lustrekit compiles on the host (lk-plan's placement).
    fn build(&mut self, l: &raw::LustreSpec) -> LustreSource {
        let p = LUSTRE;
        let origin = match (&l.path, &l.git) {
            (Some(path), None) => {
                self.check_abs(&format!("{p}.path"), path);
                if l.git_ref.is_some() {
                    self.fail(format!("{p}.ref"), "`ref` goes with `git`, not `path`");
                }
                SourceOrigin::Path(path.clone())
            }
            (None, Some(url)) => {
                self.check_url(
                    &format!("{p}.git"),
                    url,
                    &["http://", "https://", "git://", "ssh://", "file://"],
                );
                SourceOrigin::Git {
                    url: url.clone(),
                    git_ref: l.git_ref.clone().unwrap_or_else(|| d::GIT_REF.into()),
                }
            }
            _ => {
                self.fail(
                    p,
                    "source `build` needs exactly one of `path` (host source tree) or `git` (URL)",
                );
                SourceOrigin::Path(String::new())
            }
        };
        for (i, opt) in l.configure_options.iter().enumerate() {
            if !opt.starts_with("--") || opt.contains(['\n', '\'', '\0']) {
                self.fail(
                    format!("{p}.configureOptions[{i}]"),
                    format!("`{opt}` must be a single --option without quotes or newlines"),
                );
            }
        }
        LustreSource::Build {
            origin,
            configure_options: l.configure_options.clone(),
        }
    }

    pub(super) fn image(&mut self, spec: &raw::ClusterSpec) -> Option<Image> {
        let i = spec.image.clone().unwrap_or_default();
        let before = self.problems.len();
        let path = i.path.clone().unwrap_or_else(|| d::IMAGE_PATH.into());
        self.check_abs("spec.image.path", &path);
        for (field, v) in [("kernel", &i.kernel), ("initrd", &i.initrd)] {
            if let Some(v) = v {
                self.check_abs(&format!("spec.image.{field}"), v);
            }
        }
        if i.initrd.is_some() && i.kernel.is_none() {
            self.fail(
                "spec.image.initrd",
                "an initrd needs `kernel` for direct boot",
            );
        }
        if i.cmdline.is_some() && i.kernel.is_none() {
            self.fail(
                "spec.image.cmdline",
                "a kernel command line needs `kernel` for direct boot",
            );
        }
        let root_disk_bytes = match &i.root_disk_size {
            None => d::ROOT_DISK,
            Some(s) => match parse_size(s) {
                Err(e) => {
                    self.fail("spec.image.rootDiskSize", e);
                    0
                }
                Ok(b) if b < d::MIN_ROOT_DISK => {
                    self.fail(
                        "spec.image.rootDiskSize",
                        format!(
                            "{s} is too small: at least {}",
                            format_size(d::MIN_ROOT_DISK)
                        ),
                    );
                    b
                }
                Ok(b) => b,
            },
        };
        // The default image comes with its kernel and initrd beside it (direct kernel boot).
        let default_image = i.path.is_none() && i.kernel.is_none() && i.initrd.is_none();
        let (kernel, initrd) = if default_image {
            (
                Some(d::IMAGE_KERNEL.to_string()),
                Some(d::IMAGE_INITRD.to_string()),
            )
        } else {
            (i.kernel.clone(), i.initrd.clone())
        };
        (self.problems.len() == before).then(|| Image {
            path,
            kernel,
            initrd,
            cmdline: i
                .cmdline
                .clone()
                .unwrap_or_else(|| d::KERNEL_CMDLINE.into()),
            root_disk_bytes,
        })
    }
}
