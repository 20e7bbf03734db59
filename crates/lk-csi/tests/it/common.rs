// SPDX-License-Identifier: Apache-2.0
//! A driver on a unix socket in a temporary directory, and a client for it.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use lk_csi::controller::ControllerConfig;
use lk_csi::mount::Backend;
use lk_csi::proto::controller_client::ControllerClient;
use lk_csi::proto::identity_client::IdentityClient;
use lk_csi::proto::node_client::NodeClient;
use lk_csi::proto::volume_capability::access_mode::Mode;
use lk_csi::proto::volume_capability::{AccessMode, AccessType, BlockVolume, MountVolume};
use lk_csi::proto::{CapacityRange, CreateVolumeRequest, VolumeCapability};
use lk_csi::run::{ControllerSettings, Mode as RunMode, Settings};
use lk_csi::volume::Filesystem;
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint, Uri};

pub const GIB: i64 = 1 << 30;
pub const FS: &str = "10.0.0.1@tcp:/lustre";
/// Named clusters the controller also makes shares on (`--share-root NAME=DIR`), with
/// their filesystems and share roots (relative to the driver's directory).
pub const LAB: (&str, &str, &str) = ("lab", "10.0.0.9@tcp:/lab", "lab-root");
pub const DEMO: (&str, &str, &str) = ("ns.demo", "10.0.0.8@tcp:/demo", "demo-root");

/// A running driver (controller + node, directory stand-in) and its temporary directory:
/// the default filesystem at `root`, and the clusters [`LAB`] and [`DEMO`].
pub struct Driver {
    pub dir: tempfile::TempDir,
    pub channel: Channel,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Driver {
    /// Starts a driver with the given over-subscription ratio.
    pub async fn start(ratio: f64) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("root");
        std::fs::create_dir_all(&root).expect("root");
        let socket = dir.path().join("csi.sock");
        let mut clusters = BTreeMap::new();
        let mut share_roots = BTreeMap::new();
        for (name, fs, rel) in [LAB, DEMO] {
            clusters.insert(name.to_string(), Filesystem::parse(fs).expect("fs"));
            let dir = dir.path().join(rel);
            std::fs::create_dir_all(&dir).expect("share root");
            share_roots.insert(name.to_string(), dir);
        }
        let settings = Settings {
            mode: RunMode::All,
            endpoint: format!("unix://{}", socket.display()),
            node_id: "node-1".into(),
            clusters,
            mount: Backend::Dir { root: root.clone() },
            controller: Some(ControllerSettings {
                root,
                config: ControllerConfig {
                    fs: Filesystem::parse(FS).expect("fs"),
                    default_size: GIB as u64,
                    max_over_subscription: ratio,
                },
                share_roots,
            }),
        };
        let services = lk_csi::run::services(&settings).expect("services");
        let listener = lk_csi::server::bind(&socket).expect("bind");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            lk_csi::server::serve(listener, services, async {
                let _ = stopped.await;
            })
            .await
            .expect("serve");
        });
        let channel = connect(socket).await;
        Self {
            dir,
            channel,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn identity(&self) -> IdentityClient<Channel> {
        IdentityClient::new(self.channel.clone())
    }

    pub fn controller(&self) -> ControllerClient<Channel> {
        ControllerClient::new(self.channel.clone())
    }

    pub fn node(&self) -> NodeClient<Channel> {
        NodeClient::new(self.channel.clone())
    }

    /// Stops the server and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task");
        }
    }
}

/// A test that fails half-way may leave bind mounts in its directory: take them off (lazily,
/// deepest first) so the directory can be removed and nothing outlives the test.
impl Drop for Driver {
    fn drop(&mut self) {
        let mut left = mounts_under(self.dir.path());
        left.sort_by_key(|p| std::cmp::Reverse(p.len()));
        for path in left {
            let _ = std::process::Command::new("umount")
                .args(["-l", &path])
                .status();
        }
    }
}

async fn connect(socket: PathBuf) -> Channel {
    // The URI is not used: every connection goes to the socket.
    Endpoint::try_from("http://[::]:50051")
        .expect("endpoint")
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let socket = socket.clone();
            async move { UnixStream::connect(socket).await }
        }))
        .await
        .expect("connect")
}

pub fn mount_cap(mode: Mode) -> VolumeCapability {
    VolumeCapability {
        access_type: Some(AccessType::Mount(MountVolume::default())),
        access_mode: Some(AccessMode { mode: mode as i32 }),
    }
}

pub fn block_cap() -> VolumeCapability {
    VolumeCapability {
        access_type: Some(AccessType::Block(BlockVolume {})),
        access_mode: Some(AccessMode {
            mode: Mode::SingleNodeWriter as i32,
        }),
    }
}

pub fn range(required: i64, limit: i64) -> Option<CapacityRange> {
    Some(CapacityRange {
        required_bytes: required,
        limit_bytes: limit,
    })
}

pub fn create_request(name: &str, required: i64) -> CreateVolumeRequest {
    CreateVolumeRequest {
        name: name.into(),
        capacity_range: range(required, 0),
        volume_capabilities: vec![mount_cap(Mode::MultiNodeMultiWriter)],
        ..Default::default()
    }
}

pub fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The gRPC code of a failed call (panics on success, naming what was expected).
pub fn code<T: std::fmt::Debug>(r: Result<T, tonic::Status>) -> tonic::Code {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(s) => s.code(),
    }
}

/// Whether this process may mount (root).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

/// Mount points under `dir` still in this process's mount table.
pub fn mounts_under(dir: &Path) -> Vec<String> {
    let table = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    table
        .lines()
        .filter_map(|l| l.split_whitespace().nth(4))
        .filter(|p| Path::new(p).starts_with(dir))
        .map(str::to_string)
        .collect()
}
