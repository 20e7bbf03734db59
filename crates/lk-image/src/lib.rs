//! lustrekit's guest base image: a small Debian 12 qcow2 built from Debian's own packages.
//!
//! `lustrekit image build` calls [`build`]. The result is three files side by side:
//!
//! - `debian-12.qcow2`: an ext4 filesystem on the whole disk (no partition table, no
//!   bootloader), made with `mkfs.ext4 -d` from a debootstrap tree, then `qemu-img convert`;
//! - `debian-12.vmlinuz`, `debian-12.initrd`: Debian's kernel and a small initrd for direct
//!   kernel boot with `root=/dev/vda rw console=ttyS0 net.ifnames=0`;
//! - `debian-12.recipe.json`: the recipe hash; a build is skipped when it matches.
//!
//! The guest runs qemu-guest-agent, loads 9p + 9pnet_virtio at boot and mounts the 9p tag
//! `lustrekit` at `/mnt/lustrekit` (nofail), takes DHCP on every NIC with systemd-networkd
//! (client id = MAC), has a serial console on ttyS0, an empty /etc/machine-id (a fresh one per
//! clone at first boot) and no /etc/hostid. Its root filesystem grows to fill the disk.
//!
//! Layout: [`recipe`] (pure: packages, files, hash), [`mirror`] (pure: the host's apt mirror),
//! `builder` (runs debootstrap, chroot, mkfs.ext4, qemu-img), [`error`].

pub mod error;
pub mod mirror;
pub mod recipe;

mod builder;
mod command;
mod files;

use std::path::{Path, PathBuf};

pub use builder::RecipeStamp;
pub use error::{ImageError, SizeReason};
pub use recipe::Recipe;

/// Default base image path (the model's default `spec.image.path`).
pub const DEFAULT_IMAGE: &str = "/var/lib/lustrekit/images/debian-12.qcow2";
/// Default path of the image with Lustre baked in (`image build --lustre`).
pub const DEFAULT_LUSTRE_IMAGE: &str = "/var/lib/lustrekit/images/debian-12-lustre.qcow2";
/// Kernel command line for direct kernel boot of this image.
pub const DEFAULT_CMDLINE: &str = "root=/dev/vda rw console=ttyS0 net.ifnames=0";
/// Default size of the root filesystem inside the image.
pub const DEFAULT_FS_SIZE: &str = "2G";

/// Default debootstrap package cache, reused across builds.
pub const DEFAULT_CACHE_DIR: &str = "/var/cache/lustrekit/debootstrap";
/// Default Debian suite.
pub const DEFAULT_SUITE: &str = "bookworm";

/// What to build (`lustrekit image build` fills it from its flags).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageOptions {
    /// Output qcow2; the kernel and initrd are written beside it (`.vmlinuz`, `.initrd`).
    pub output: PathBuf,
    /// Debian mirror for debootstrap; `None`: the one apt on this host uses.
    pub mirror: Option<String>,
    /// Debian suite.
    pub suite: String,
    /// Size of the root filesystem (e.g. 2G, 1536M); the guest grows it to its disk size.
    pub size: String,
    /// Extra Debian packages to install.
    pub packages: Vec<String>,
    /// Rebuild even when a current image exists.
    pub force: bool,
    /// Keep the debootstrap tree after the build (for inspection).
    pub keep_tree: bool,
    /// Package cache for debootstrap, reused across builds.
    pub cache_dir: PathBuf,
}

impl Default for ImageOptions {
    fn default() -> Self {
        ImageOptions {
            output: PathBuf::from(DEFAULT_IMAGE),
            mirror: None,
            suite: DEFAULT_SUITE.into(),
            size: DEFAULT_FS_SIZE.into(),
            packages: Vec::new(),
            force: false,
            keep_tree: false,
            cache_dir: PathBuf::from(DEFAULT_CACHE_DIR),
        }
    }
}

/// A finished (or found current) image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    pub image: PathBuf,
    /// What was built (or that it was current), sizes and timings, for the user.
    pub summary: String,
}

/// The files a build produces, derived from the qcow2 path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifacts {
    pub image: PathBuf,
    pub kernel: PathBuf,
    pub initrd: PathBuf,
    pub recipe: PathBuf,
}

impl Artifacts {
    /// `X.qcow2` -> `X.vmlinuz`, `X.initrd`, `X.recipe.json`.
    pub fn for_image(image: &Path) -> Artifacts {
        let with = |ext: &str| image.with_extension(ext);
        Artifacts {
            image: image.to_path_buf(),
            kernel: with("vmlinuz"),
            initrd: with("initrd"),
            recipe: with("recipe.json"),
        }
    }
}

/// Builds the image (or finds the cached one).
pub fn build(opts: &ImageOptions) -> Result<Built, ImageError> {
    build_with(opts, None)
}

/// Builds the image with Lustre from `lustre` installed (when given).
pub fn build_with(
    opts: &ImageOptions,
    lustre: Option<recipe::LustreInstall>,
) -> Result<Built, ImageError> {
    let fs_bytes = parse_size(&opts.size)?;
    let mirror = match &opts.mirror {
        Some(m) => m.clone(),
        None => mirror::host_mirror(),
    };
    let mut packages = opts.packages.clone();
    if lustre.is_some() {
        packages.extend(recipe::LUSTRE_IMAGE_TOOLS.iter().map(|p| p.to_string()));
    }
    let mut recipe = Recipe::new(&opts.suite, &mirror, &packages, fs_bytes);
    recipe.lustre = lustre;
    let artifacts = Artifacts::for_image(&opts.output);
    let summary = builder::build(&recipe, &artifacts, opts)?;
    Ok(Built {
        image: artifacts.image,
        summary,
    })
}

/// Whether the image at `image` exists with kernel, initrd and a recipe hash equal to the
/// default recipe's (the check `build` does before skipping).
pub fn is_current(image: &Path, opts: &ImageOptions) -> Result<bool, ImageError> {
    let fs_bytes = parse_size(&opts.size)?;
    let recipe = Recipe::new(&opts.suite, "", &opts.packages, fs_bytes);
    Ok(builder::cached(&recipe, &Artifacts::for_image(image)))
}

/// The stamp of a built image (its suite, mirror and kernel): what a Lustre build for this
/// image must target.
pub fn stamp(image: &Path) -> Result<RecipeStamp, ImageError> {
    let a = Artifacts::for_image(image);
    let text = std::fs::read_to_string(&a.recipe).map_err(ImageError::io(
        "image stamp",
        "read",
        &a.recipe,
    ))?;
    serde_json::from_str(&text).map_err(|source| ImageError::Json {
        step: "image stamp",
        action: "parse",
        path: a.recipe.clone(),
        source,
    })
}

/// `2G`, `1536M`, `2GiB`, or plain bytes (the model's size syntax), at least 512 MiB.
pub fn parse_size(s: &str) -> Result<u64, ImageError> {
    let bad = |reason: SizeReason| ImageError::BadSize {
        value: s.to_string(),
        reason,
    };
    let bytes = lk_model::size::parse_size(s).map_err(|e| bad(SizeReason::Syntax(e)))?;
    if bytes < 512 << 20 {
        return Err(bad(SizeReason::TooSmall));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("2G").ok(), Some(2 << 30));
        assert_eq!(parse_size("1536M").ok(), Some(1536 << 20));
        assert_eq!(parse_size("2GiB").ok(), Some(2 << 30));
        assert!(parse_size("100M").is_err());
        assert!(parse_size("lots").is_err());
        assert!(parse_size("").is_err());
        assert!(parse_size("99999999999T").is_err());
    }

    #[test]
    fn artifacts_sit_beside_the_image() {
        let a = Artifacts::for_image(Path::new("/var/lib/lustrekit/images/debian-12.qcow2"));
        assert_eq!(
            a.kernel,
            Path::new("/var/lib/lustrekit/images/debian-12.vmlinuz")
        );
        assert_eq!(
            a.initrd,
            Path::new("/var/lib/lustrekit/images/debian-12.initrd")
        );
        assert_eq!(
            a.recipe,
            Path::new("/var/lib/lustrekit/images/debian-12.recipe.json")
        );
    }
}
