//! `lustrekit share|volume --cluster C ...`: the same command run inside one of the cluster's nodes,
//! on its Lustre mount. This host's kernel need not mount Lustre: lustrekit copies its own
//! binary into the cluster's shared folder (mounted in every guest) and runs it there through
//! the guest agent with `--root MOUNT`, so shares on a cluster go through the very code that
//! runs on a Lustre host.
//!
//! Nodemap commands must run where the MGS is, and `lfs` where the filesystem is mounted, so
//! the node is one that is both (an all-in-one server with a client mount); `--node` picks
//! another client, where everything but `allow`/`deny` works.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use lk_engine::provider::ExecOutput;
use lk_plan::Plan;
use thiserror::Error;

use crate::cmd::cluster::{ClusterRef, Conn};

#[derive(Debug, Clone, clap::Args)]
pub struct ClusterArgs {
    /// Run inside this cluster (a name brought up by `lustrekit up`, or its topology file),
    /// on the Lustre mount of its node that is both MGS and client.
    #[arg(long, global = true, value_name = "CLUSTER", conflicts_with = "root")]
    pub cluster: Option<String>,
    /// With --cluster: the client node to run on instead.
    #[arg(long, global = true, value_name = "NODE", requires = "cluster")]
    pub node: Option<String>,
}

/// `lustrekit share`: lk-storage-cli's command, here or (with --cluster) in a guest.
#[derive(Debug, clap::Args)]
pub struct ShareArgs {
    #[command(flatten)]
    pub in_cluster: ClusterArgs,
    #[command(flatten)]
    pub share: lk_storage_cli::share::Args,
}

/// `lustrekit volume`: lk-storage-cli's command, here or (with --cluster) in a guest; attach
/// and detach are lustrekit's own (libvirt).
#[derive(Debug, clap::Args)]
pub struct VolumeArgs {
    #[command(flatten)]
    pub in_cluster: ClusterArgs,
    #[command(flatten)]
    pub volume: lk_storage_cli::volume::Args,
}

/// Ok(exit code): 0 here, the guest's with --cluster.
pub fn volume(args: &VolumeArgs) -> anyhow::Result<u8> {
    use lk_storage_cli::volume::Command;
    let cluster = args.in_cluster.cluster.as_deref();
    match (&args.volume.command, cluster) {
        (Command::Attach { name, domain }, _) => {
            crate::cmd::attach::attach(args, name, domain).map(|()| 0)
        }
        (Command::Detach { name }, _) => crate::cmd::attach::detach(args, name).map(|()| 0),
        (_, Some(cluster)) => forward(&args.in_cluster, "volume", cluster),
        (_, None) => lk_storage_cli::volume::run(&args.volume).map(|()| 0),
    }
}

/// Ok(exit code): 0 here, the guest's with --cluster.
pub fn share(args: &ShareArgs) -> anyhow::Result<u8> {
    match &args.in_cluster.cluster {
        Some(cluster) => forward(&args.in_cluster, "share", cluster),
        None => lk_storage_cli::share::run(&args.share).map(|()| 0),
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum InClusterError {
    #[error("cluster {cluster} has no node {node} (nodes: {known})")]
    UnknownNode {
        cluster: String,
        node: String,
        known: String,
    },
    #[error("node {node} of cluster {cluster} mounts no Lustre client: pick a client node")]
    NotAClient { cluster: String, node: String },
    #[error(
        "cluster {cluster} has no node that is both MGS and client (nodemaps are changed on the MGS, \
         quotas and projects through a client mount): name a client with --node; `allow` and `deny` \
         need the MGS"
    )]
    NoMgsClient { cluster: String },
    #[error(
        "the plan saved for cluster {cluster} names no client mount (it was brought up by an older \
         lustrekit): pass its topology file instead of its name"
    )]
    NoMounts { cluster: String },
}

/// The node to run on and its mount point.
pub fn choose_node(plan: &Plan, node: Option<&str>) -> Result<(String, String), InClusterError> {
    let has = |n: &lk_plan::NodePlan, role: &str| n.roles.iter().any(|r| r == role);
    if plan.nodes.iter().all(|n| n.mount.is_none()) && plan.nodes.iter().any(|n| has(n, "client")) {
        return Err(InClusterError::NoMounts {
            cluster: plan.cluster.clone(),
        });
    }
    let picked = match node {
        Some(name) => {
            let n = plan.nodes.iter().find(|n| n.node == name).ok_or_else(|| {
                InClusterError::UnknownNode {
                    cluster: plan.cluster.clone(),
                    node: name.into(),
                    known: lk_engine::node_names(plan),
                }
            })?;
            n.mount
                .as_ref()
                .map(|m| (n, m))
                .ok_or_else(|| InClusterError::NotAClient {
                    cluster: plan.cluster.clone(),
                    node: name.into(),
                })?
        }
        None => plan
            .nodes
            .iter()
            .filter(|n| has(n, "mgs"))
            .find_map(|n| n.mount.as_ref().map(|m| (n, m)))
            .ok_or_else(|| InClusterError::NoMgsClient {
                cluster: plan.cluster.clone(),
            })?,
    };
    Ok((picked.0.node.clone(), picked.1.clone()))
}

/// This process's arguments after `subcommand`, without `--cluster`/`--node` (and their
/// values), which mean nothing inside the guest.
pub fn forwarded_args(args: &[String], subcommand: &str) -> Vec<String> {
    let start = args
        .iter()
        .skip(1)
        .position(|a| a == subcommand)
        .map_or(args.len(), |i| i + 2);
    let mut out = Vec::new();
    let mut it = args[start.min(args.len())..].iter();
    while let Some(a) = it.next() {
        if a == "--cluster" || a == "--node" {
            it.next();
        } else if !(a.starts_with("--cluster=") || a.starts_with("--node=")) {
            out.push(a.clone());
        }
    }
    out
}

/// The binary the guest runs: `lustrekit-storage` (lk-cli builds both), installed beside `lustrekit` (it has the
/// same storage commands without libvirt, which guests do not have).
const GUEST_BINARY: &str = "lustrekit-storage";

/// Copies `lustrekit-storage` to `shared/bin/` (for `--cluster` and a topology's services) unless the same size and no older is already
/// there (atomic rename: a guest never runs half a file).
pub fn place_binary(shared_host: &Path) -> anyhow::Result<()> {
    let me = std::env::current_exe().context("cannot find lustrekit's own executable")?;
    let exe = me.with_file_name(GUEST_BINARY);
    if !exe.is_file() {
        anyhow::bail!(
            "{} is missing: --cluster runs it in the guest; install it beside {} (cargo build builds both)",
            exe.display(),
            me.display()
        );
    }
    let dest = shared_host.join("bin").join(GUEST_BINARY);
    let src_meta = std::fs::metadata(&exe).with_context(|| format!("{}", exe.display()))?;
    if let Ok(m) = std::fs::metadata(&dest) {
        if m.len() == src_meta.len() && m.modified()? >= src_meta.modified()? {
            return Ok(());
        }
    }
    let dir = dest.parent().unwrap_or(shared_host);
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let tmp: PathBuf = dir.join(format!(".{GUEST_BINARY}.tmp"));
    std::fs::copy(&exe, &tmp)
        .with_context(|| format!("cannot copy {} to {}", exe.display(), tmp.display()))?;
    std::fs::rename(&tmp, &dest).with_context(|| format!("cannot rename to {}", dest.display()))?;
    Ok(())
}

/// A cluster node that runs `lustrekit-storage` on its Lustre mount.
pub struct GuestStorage {
    pub conn: Conn,
    pub plan: Plan,
    pub node: String,
    pub mount: String,
    bin: String,
}

impl GuestStorage {
    /// Resolves the cluster, picks the node and places the binary in the shared folder.
    pub fn open(target: &ClusterArgs, cluster: &str) -> anyhow::Result<Self> {
        let conn = Conn::from_env();
        let c = ClusterRef::resolve(cluster, &conn)?;
        let plan = c.require_plan()?.clone();
        let (node, mount) = choose_node(&plan, target.node.as_deref())?;
        let shared = &plan.resources.shared;
        place_binary(Path::new(&shared.host_path))?;
        let bin = format!("{}/bin/{GUEST_BINARY}", shared.guest_path);
        Ok(Self {
            conn,
            plan,
            node,
            mount,
            bin,
        })
    }

    /// Runs `lustrekit-storage SUBCOMMAND --root MOUNT ARGS...` on the node.
    pub fn run(&self, subcommand: &str, args: &[String]) -> anyhow::Result<ExecOutput> {
        let mut argv = vec![
            self.bin.clone(),
            subcommand.to_string(),
            "--root".into(),
            self.mount.clone(),
        ];
        argv.extend(args.iter().cloned());
        let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
        let lv = self.conn.connect()?;
        lk_engine::exec(&lv, &self.plan, &self.node, &refs, Duration::from_secs(600)).with_context(
            || {
                format!(
                    "running `lustrekit {subcommand}` on {} of {}",
                    self.node, self.plan.cluster
                )
            },
        )
    }

    /// As [`run`](Self::run), requiring success; returns stdout.
    pub fn run_ok(&self, subcommand: &str, args: &[String]) -> anyhow::Result<String> {
        let out = self.run(subcommand, args)?;
        if out.exit_code != 0 {
            anyhow::bail!(
                "`lustrekit {subcommand} {}` on {} failed: {}",
                args.join(" "),
                self.node,
                out.stderr.trim()
            );
        }
        Ok(out.stdout)
    }
}

/// Runs `lustrekit SUBCOMMAND --root MOUNT ARGS...` in the cluster; returns its exit code,
/// having relayed its output.
pub fn forward(target: &ClusterArgs, subcommand: &str, cluster: &str) -> anyhow::Result<u8> {
    let guest = GuestStorage::open(target, cluster)?;
    let args: Vec<String> = std::env::args().collect();
    let out = guest.run(subcommand, &forwarded_args(&args, subcommand))?;
    std::io::stdout().write_all(out.stdout.as_bytes())?;
    std::io::stderr().write_all(out.stderr.as_bytes())?;
    Ok(u8::try_from(out.exit_code.clamp(0, 255)).unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn forwarded_args_drop_the_cluster_options_wherever_they_stand() {
        let a = s(&[
            "lustrekit",
            "share",
            "--cluster",
            "c1",
            "create",
            "a",
            "--size",
            "1G",
            "--node=n2",
            "--json",
        ]);
        assert_eq!(
            forwarded_args(&a, "share"),
            s(&["create", "a", "--size", "1G", "--json"])
        );
        let b = s(&["lustrekit", "share", "list", "--cluster=c1", "--node", "n1"]);
        assert_eq!(forwarded_args(&b, "share"), s(&["list"]));
    }

    fn plan(nodes: &[(&str, &[&str], Option<&str>)]) -> Plan {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/all-in-one.yaml");
        let t = crate::topology_file::load(&file).expect("example topology");
        let mut p = lk_plan::plan(&t, &lk_plan::PlanOptions::default());
        p.nodes = nodes
            .iter()
            .map(|(n, roles, mount)| lk_plan::NodePlan {
                node: n.to_string(),
                domain: format!("c-{n}"),
                roles: roles.iter().map(|r| r.to_string()).collect(),
                nids: vec![],
                mount: mount.map(String::from),
                steps: vec![],
            })
            .collect();
        p
    }

    #[test]
    fn the_node_is_the_mgs_with_a_mount_unless_named() {
        let aio = plan(&[
            ("node1", &["mgs", "mds", "oss", "client"], Some("/mnt/fs")),
            ("node2", &["client"], Some("/mnt/fs2")),
        ]);
        assert_eq!(
            choose_node(&aio, None),
            Ok(("node1".into(), "/mnt/fs".into()))
        );
        assert_eq!(
            choose_node(&aio, Some("node2")),
            Ok(("node2".into(), "/mnt/fs2".into()))
        );
        let small = plan(&[
            ("mds1", &["mgs", "mds"], None),
            ("client1", &["client"], Some("/mnt/fs")),
        ]);
        assert!(matches!(
            choose_node(&small, None),
            Err(InClusterError::NoMgsClient { .. })
        ));
        assert!(matches!(
            choose_node(&small, Some("mds1")),
            Err(InClusterError::NotAClient { .. })
        ));
        assert!(matches!(
            choose_node(&small, Some("nope")),
            Err(InClusterError::UnknownNode { .. })
        ));
    }
}
