//! The flags of `lustrekit image build`; lk-image takes them as [`lk_image::ImageOptions`].

use std::path::PathBuf;

/// Arguments of `lustrekit image build`.
#[derive(Debug, Clone, clap::Args)]
pub struct ImageArgs {
    /// Output qcow2; the kernel and initrd are written beside it (`.vmlinuz`, `.initrd`).
    #[arg(long, short, default_value = lk_image::DEFAULT_IMAGE)]
    pub output: PathBuf,

    /// Debian mirror for debootstrap [default: the one apt on this host uses].
    #[arg(long)]
    pub mirror: Option<String>,

    /// Debian suite.
    #[arg(long, default_value = lk_image::DEFAULT_SUITE)]
    pub suite: String,

    /// Size of the root filesystem (e.g. 2G, 1536M); the guest grows it to its disk size.
    #[arg(long, default_value = lk_image::DEFAULT_FS_SIZE)]
    pub size: String,

    /// Extra Debian packages to install (comma separated or repeated).
    #[arg(long = "package", value_delimiter = ',')]
    pub packages: Vec<String>,

    /// Rebuild even when a current image exists.
    #[arg(long)]
    pub force: bool,

    /// Keep the debootstrap tree after the build (for inspection).
    #[arg(long)]
    pub keep_tree: bool,

    /// Package cache for debootstrap, reused across builds.
    #[arg(long, default_value = lk_image::DEFAULT_CACHE_DIR)]
    pub cache_dir: PathBuf,

    /// Bake Lustre into the image: the Lustre build of this topology (`source: build`; built
    /// or taken from the cache) is installed, so clusters using the image with
    /// `source: preinstalled` skip the install stage. The image is written to
    /// `debian-12-lustre.qcow2` unless --output says otherwise.
    #[arg(long, value_name = "TOPOLOGY")]
    pub lustre: Option<PathBuf>,
}

impl ImageArgs {
    pub fn options(&self) -> lk_image::ImageOptions {
        lk_image::ImageOptions {
            output: self.output.clone(),
            mirror: self.mirror.clone(),
            suite: self.suite.clone(),
            size: self.size.clone(),
            packages: self.packages.clone(),
            force: self.force,
            keep_tree: self.keep_tree,
            cache_dir: self.cache_dir.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        args: ImageArgs,
    }

    #[test]
    fn defaults_are_the_library_defaults() {
        let cli = Cli::try_parse_from(["image"]).expect("no flag is required");
        assert_eq!(cli.args.options(), lk_image::ImageOptions::default());
    }
}
