//! The build's steps, in order, and the bash script each runs inside the build root.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One step of a Lustre build. Order of the variants is the order they run in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// debootstrap the build root (once per distribution).
    Bootstrap,
    /// Compilers, Lustre's build dependencies, kernel headers, zfs-dkms.
    Root,
    /// ZFS modules for the guest kernel (cached per ZFS version and kernel).
    Zfs,
    /// Copy the source tree or check out the git revision.
    Source,
    Configure,
    Compile,
    /// make install and split into Debian packages.
    Package,
    /// Dependency closure and apt index: nodes install offline.
    Repository,
    /// Move the finished repository into the cache (atomic rename).
    Publish,
}

impl Step {
    pub const ALL: [Step; 9] = [
        Step::Bootstrap,
        Step::Root,
        Step::Zfs,
        Step::Source,
        Step::Configure,
        Step::Compile,
        Step::Package,
        Step::Repository,
        Step::Publish,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Step::Bootstrap => "bootstrap",
            Step::Root => "root",
            Step::Zfs => "zfs",
            Step::Source => "source",
            Step::Configure => "configure",
            Step::Compile => "compile",
            Step::Package => "package",
            Step::Repository => "repository",
            Step::Publish => "publish",
        }
    }

    /// The script this step runs inside the build root, if it runs one.
    pub fn script(self) -> Option<(&'static str, &'static str)> {
        Some(match self {
            Step::Root => ("prepare-root.sh", PREPARE_ROOT),
            Step::Zfs => ("zfs-modules.sh", ZFS_MODULES),
            Step::Configure => ("configure.sh", CONFIGURE),
            Step::Compile => ("compile.sh", COMPILE),
            Step::Package => ("package.sh", PACKAGE),
            Step::Repository => ("repository.sh", REPOSITORY),
            Step::Bootstrap | Step::Source | Step::Publish => return None,
        })
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

pub const COMMON: &str = include_str!("../scripts/common.sh");
const PREPARE_ROOT: &str = include_str!("../scripts/prepare-root.sh");
const ZFS_MODULES: &str = include_str!("../scripts/zfs-modules.sh");
const CONFIGURE: &str = include_str!("../scripts/configure.sh");
const COMPILE: &str = include_str!("../scripts/compile.sh");
const PACKAGE: &str = include_str!("../scripts/package.sh");
const REPOSITORY: &str = include_str!("../scripts/repository.sh");

/// Every script, for hashing into the cache key and for shellcheck.
pub fn all_scripts() -> Vec<(&'static str, &'static str)> {
    let mut v = vec![("common.sh", COMMON)];
    v.extend(Step::ALL.iter().filter_map(|s| s.script()));
    v
}
