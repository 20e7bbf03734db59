// SPDX-License-Identifier: Apache-2.0
//! `csi`: the CSI driver (crate lk-csi); flags become `lk_csi::run::Settings`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use lk_csi::controller::ControllerConfig;
use lk_csi::mount::Backend;
use lk_csi::run::{ControllerSettings, Mode, Settings};
use lk_csi::volume::Filesystem;

use crate::storage::parse_size;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ModeArg {
    Controller,
    Node,
    All,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum MountArg {
    /// `mount -t lustre NIDS:/FSNAME[/SUBDIR]` (a Lustre client host or VM).
    Lustre,
    /// The stand-in: bind-mount subdirectories of --standin-root.
    Dir,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Which services to serve besides Identity.
    #[arg(long, value_enum)]
    mode: ModeArg,
    /// The CSI endpoint: unix:///PATH, or tcp://IP:PORT (no authentication: a private
    /// network only, e.g. a driver in a VM driven from its host).
    #[arg(long, env = "CSI_ENDPOINT", default_value = "unix:///csi/csi.sock")]
    endpoint: String,
    /// This node's ID (node mode; Kubernetes passes spec.nodeName).
    #[arg(long, env = "NODE_ID", default_value = "")]
    node_id: String,
    /// A LustreCluster static volumes may name: NAME=NIDS:/FSNAME (repeatable). The
    /// controller also makes shares on it when --share-root NAME=DIR is given.
    #[arg(long = "cluster", value_parser = parse_cluster)]
    clusters: Vec<(String, Filesystem)>,
    /// How the node mounts.
    #[arg(long, value_enum, default_value = "lustre")]
    mount: MountArg,
    /// With --mount dir: the directory standing in for every filesystem.
    #[arg(long, value_name = "DIR", required_if_eq("mount", "dir"))]
    standin_root: Option<PathBuf>,
    /// Extra `mount -t lustre` options (comma-separated), e.g. flock.
    #[arg(long, value_delimiter = ',')]
    lustre_mount_options: Vec<String>,
    /// Controller: the share root on the controller's Lustre mount (or a stand-in directory).
    #[arg(long, env = "LUSTREKIT_ROOT", value_name = "DIR")]
    root: Option<PathBuf>,
    /// Controller: the filesystem the shares are on, as nodes mount it (NIDS:/FSNAME). A
    /// share's volume context is this plus the share's path in the filesystem.
    #[arg(long, value_parser = parse_fs)]
    fs: Option<Filesystem>,
    /// Controller: NAME=DIR, the share root on cluster NAME's Lustre mount (repeatable); a
    /// StorageClass parameter `cluster: NAME` makes shares there. NAME needs a
    /// --cluster NAME=NIDS:/FSNAME (how nodes mount it).
    #[arg(long = "share-root", value_name = "NAME=DIR", value_parser = parse_share_root)]
    share_roots: Vec<(String, PathBuf)>,
    /// Controller: size of a volume whose claim names none.
    #[arg(long, value_parser = parse_size, default_value = "1GiB")]
    default_size: u64,
    /// Controller: sum of share limits allowed, as a multiple of the filesystem size.
    #[arg(long, default_value_t = 20.0, value_parser = parse_ratio)]
    max_over_subscription_ratio: f64,
}

fn parse_ratio(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 => Ok(r),
        _ => Err(format!("{s:?} is not a number above 0")),
    }
}

fn parse_fs(s: &str) -> Result<Filesystem, String> {
    Filesystem::parse(s).map_err(|e| e.to_string())
}

fn parse_share_root(s: &str) -> Result<(String, PathBuf), String> {
    let (name, dir) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?} is not NAME=DIR"))?;
    lk_csi::volume::check_cluster_name(name).map_err(|e| e.to_string())?;
    if dir.is_empty() {
        return Err(format!("{s:?} has an empty directory"));
    }
    Ok((name.to_string(), PathBuf::from(dir)))
}

/// Every --share-root names a --cluster: the controller needs to know how nodes mount the
/// filesystem it makes the share on.
fn share_roots(args: &Args) -> anyhow::Result<BTreeMap<String, PathBuf>> {
    let mut out = BTreeMap::new();
    for (name, dir) in &args.share_roots {
        if !args.clusters.iter().any(|(c, _)| c == name) {
            anyhow::bail!(
                "--share-root {name}={} has no --cluster {name}=NIDS:/FSNAME (how nodes mount cluster {name})",
                dir.display()
            );
        }
        if out.insert(name.clone(), dir.clone()).is_some() {
            anyhow::bail!("--share-root {name}= is given twice");
        }
    }
    Ok(out)
}

fn parse_cluster(s: &str) -> Result<(String, Filesystem), String> {
    let (name, fs) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?} is not NAME=NIDS:/FSNAME"))?;
    if name.is_empty() {
        return Err(format!("{s:?} has an empty cluster name"));
    }
    Ok((name.to_string(), parse_fs(fs)?))
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let mode = match args.mode {
        ModeArg::Controller => Mode::Controller,
        ModeArg::Node => Mode::Node,
        ModeArg::All => Mode::All,
    };
    let mount = match (args.mount, &args.standin_root) {
        (MountArg::Lustre, _) => Backend::Lustre {
            options: args.lustre_mount_options.clone(),
        },
        (MountArg::Dir, Some(root)) => Backend::Dir { root: root.clone() },
        (MountArg::Dir, None) => anyhow::bail!("--mount dir needs --standin-root DIR"),
    };
    let share_roots = share_roots(args)?;
    let controller = match (&args.root, &args.fs) {
        (Some(root), Some(fs)) => Some(ControllerSettings {
            root: root.clone(),
            config: ControllerConfig {
                fs: fs.clone(),
                default_size: args.default_size,
                max_over_subscription: args.max_over_subscription_ratio,
            },
            share_roots,
        }),
        (None, None) if share_roots.is_empty() => None,
        (None, None) => anyhow::bail!(
            "--share-root needs --root and --fs too (the default filesystem of StorageClasses without a cluster parameter)"
        ),
        _ => anyhow::bail!("--root and --fs go together (the controller needs both)"),
    };
    let settings = Settings {
        mode,
        endpoint: args.endpoint.clone(),
        node_id: args.node_id.clone(),
        clusters: args.clusters.iter().cloned().collect::<BTreeMap<_, _>>(),
        mount,
        controller,
    };
    lk_csi::run::run_blocking(settings).context("the CSI driver stopped")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_roots_parse_strictly() {
        assert_eq!(
            parse_share_root("ns.demo=/mnt/demo"),
            Ok(("ns.demo".to_string(), PathBuf::from("/mnt/demo")))
        );
        for bad in ["lab", "=/mnt", "lab=", "a/b=/mnt", "a:b=/mnt"] {
            assert!(parse_share_root(bad).is_err(), "{bad}");
        }
    }
}
