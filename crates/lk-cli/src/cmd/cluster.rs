//! What the cluster commands share: the libvirt connection, the state folder, and naming a
//! cluster either by its topology file or by the name it was brought up with.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use lk_libvirt::Libvirt;
use lk_plan::Plan;

use crate::topology_file;

/// Where lustrekit keeps its state on the host unless told otherwise.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/lustrekit";

#[derive(Debug, Clone, clap::Args)]
pub struct Conn {
    /// libvirt connection URI (qemu+ssh://host/system for another host).
    #[arg(long, env = "LUSTREKIT_URI", default_value = lk_libvirt::DEFAULT_URI)]
    pub uri: String,
    /// Where per-cluster ledgers, pools and shared folders live on the host.
    #[arg(
        long,
        env = "LUSTREKIT_STATE_DIR",
        default_value = DEFAULT_STATE_DIR
    )]
    pub state_dir: String,
}

impl Conn {
    /// The settings the flags would default to (`LUSTREKIT_URI`, `LUSTREKIT_STATE_DIR`), for
    /// commands that reach a cluster without taking these flags (`share`/`volume --cluster`).
    pub fn from_env() -> Self {
        Self {
            uri: std::env::var("LUSTREKIT_URI").unwrap_or_else(|_| lk_libvirt::DEFAULT_URI.into()),
            state_dir: std::env::var("LUSTREKIT_STATE_DIR")
                .unwrap_or_else(|_| DEFAULT_STATE_DIR.into()),
        }
    }

    pub fn connect(&self) -> anyhow::Result<Libvirt> {
        Ok(Libvirt::connect(&self.uri)?)
    }

    pub fn plan_options(&self) -> lk_plan::PlanOptions {
        lk_plan::PlanOptions {
            state_dir: self.state_dir.clone(),
            ..lk_plan::PlanOptions::default()
        }
    }
}

/// A cluster named on the command line.
pub enum ClusterRef {
    /// A topology file: planned now.
    File(Box<Plan>),
    /// A cluster name: its state folder, and the plan its last `up` saved (if still there).
    Name {
        name: String,
        dir: PathBuf,
        plan: Option<Box<Plan>>,
    },
}

impl ClusterRef {
    /// A path to an existing file (or `-`) is a topology file; anything else a cluster name.
    pub fn resolve(arg: &str, conn: &Conn) -> anyhow::Result<ClusterRef> {
        let p = Path::new(arg);
        if arg == "-" || p.is_file() || arg.ends_with(".yaml") || arg.ends_with(".yml") {
            let t = topology_file::load(p)?;
            return Ok(ClusterRef::File(Box::new(lk_plan::plan(
                &t,
                &conn.plan_options(),
            ))));
        }
        let dir = lk_engine::cluster_dir_for(Path::new(&conn.state_dir), arg);
        let plan = match lk_engine::load_plan(arg, &dir) {
            Ok(p) => Some(Box::new(p)),
            Err(lk_engine::Error::UnknownCluster { .. }) => None,
            Err(e) => return Err(e.into()),
        };
        Ok(ClusterRef::Name {
            name: arg.to_string(),
            dir,
            plan,
        })
    }

    pub fn name(&self) -> &str {
        match self {
            ClusterRef::File(p) => &p.cluster,
            ClusterRef::Name { name, .. } => name,
        }
    }

    pub fn dir(&self) -> PathBuf {
        match self {
            ClusterRef::File(p) => lk_engine::cluster_dir(p),
            ClusterRef::Name { dir, .. } => dir.clone(),
        }
    }

    pub fn plan(&self) -> Option<&Plan> {
        match self {
            ClusterRef::File(p) => Some(p),
            ClusterRef::Name { plan, .. } => plan.as_deref(),
        }
    }

    /// The plan, or an error saying how to get one.
    pub fn require_plan(&self) -> anyhow::Result<&Plan> {
        self.plan().with_context(|| {
            format!(
                "cluster `{}` is not known here: no {} (bring it up with `lustrekit up FILE`, or pass the topology file)",
                self.name(),
                self.dir().join(lk_engine::PLAN_FILE).display()
            )
        })
    }
}
