// SPDX-License-Identifier: Apache-2.0
//! The Node service. NodeStageVolume mounts the volume's source (the whole filesystem or a
//! subdirectory) on the staging path once per node; NodePublishVolume bind-mounts the
//! staging path on each pod's target, read-only when asked; the unpublish/unstage calls
//! undo that. Every call is idempotent: it looks at the mount table first.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use thiserror::Error;
use tonic::{Request, Response, Status};

use crate::controller::error_chain;
use crate::mount::{is_read_only, MountError, Mounter};
use crate::proto::node_server::Node;
use crate::proto::node_service_capability::rpc::Type as RpcType;
use crate::proto::node_service_capability::{self, Rpc};
use crate::proto::volume_usage::Unit;
use crate::proto::*;
use crate::volume::{self, Filesystem, RequestError, Source};

/// Settings of the node service.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub node_id: String,
    /// LustreClusters a static volume may name by `cluster`.
    pub clusters: BTreeMap<String, Filesystem>,
}

// Clone: each RPC clones the service (an `Arc` and the small config) into its blocking
// task; the trait is bpfman-csi's, so it cannot be implemented for `Arc<NodeService>`.
#[derive(Clone)]
pub struct NodeService {
    mounter: Arc<dyn Mounter>,
    config: NodeConfig,
}

#[derive(Debug, Error)]
pub enum NodeError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("volume {volume}")]
    Mount {
        volume: String,
        // Boxed: a failed command's output makes MountError large.
        #[source]
        source: Box<MountError>,
    },
    #[error("{path} is already mounted {mode}; the request asks for {asked}")]
    OtherMode {
        path: String,
        mode: &'static str,
        asked: &'static str,
    },
    #[error("volume {volume}: {path} is still mounted after {MAX_LAYERS} unmounts")]
    StillMounted { volume: String, path: String },
    #[error("volume {volume}: path {path} does not exist")]
    NoPath { volume: String, path: String },
    #[error("{action} {path} failed")]
    Io {
        action: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("statvfs of {path} failed")]
    Statvfs {
        path: String,
        #[source]
        source: rustix::io::Errno,
    },
}

impl From<NodeError> for Status {
    fn from(e: NodeError) -> Self {
        let message = error_chain(&e);
        match &e {
            NodeError::Request(r) => r.clone().into(),
            NodeError::OtherMode { .. } => Status::already_exists(message),
            NodeError::NoPath { .. } => Status::not_found(message),
            NodeError::Mount { source, .. } if matches!(**source, MountError::NoSourceDir(_)) => {
                Status::not_found(message)
            }
            _ => Status::internal(message),
        }
    }
}

/// The most stacked mounts an unpublish/unstage takes off one path before giving up.
const MAX_LAYERS: usize = 16;

fn required<'a>(value: &'a str, field: &'static str) -> Result<&'a str, RequestError> {
    if value.is_empty() {
        Err(RequestError::Missing(field))
    } else {
        Ok(value)
    }
}

fn mode_name(read_only: bool) -> &'static str {
    if read_only {
        "read-only"
    } else {
        "read-write"
    }
}

impl NodeService {
    pub fn new(mounter: Arc<dyn Mounter>, config: NodeConfig) -> Self {
        Self { mounter, config }
    }

    fn mount_err(volume: &str) -> impl FnOnce(MountError) -> NodeError {
        let volume = volume.to_string();
        move |source| NodeError::Mount {
            volume,
            source: Box::new(source),
        }
    }

    fn mkdir(path: &Path) -> Result<(), NodeError> {
        std::fs::create_dir_all(path).map_err(|source| NodeError::Io {
            action: "creating",
            path: path.display().to_string(),
            source,
        })
    }

    fn stage(&self, req: NodeStageVolumeRequest) -> Result<(), NodeError> {
        let volume = required(&req.volume_id, "volume_id")?;
        let staging = PathBuf::from(required(&req.staging_target_path, "staging_target_path")?);
        let cap = req
            .volume_capability
            .as_ref()
            .ok_or(RequestError::Missing("volume_capability"))?;
        volume::check_capabilities(std::slice::from_ref(cap))?;
        let source = Source::from_context(&req.volume_context, &self.config.clusters)
            .map_err(RequestError::from)?;
        if self
            .mounter
            .mounted(&staging)
            .map_err(Self::mount_err(volume))?
            .is_some()
        {
            return Ok(());
        }
        Self::mkdir(&staging)?;
        self.mounter
            .mount_source(&source, &staging, &volume::mount_flags(cap)?)
            .map_err(Self::mount_err(volume))
    }

    fn unstage(&self, req: NodeUnstageVolumeRequest) -> Result<(), NodeError> {
        let volume = required(&req.volume_id, "volume_id")?;
        let staging = Path::new(required(&req.staging_target_path, "staging_target_path")?);
        self.unmount_all(volume, staging)
    }

    /// Unmounts `path` until nothing is mounted there (a stacked mount, e.g. staged twice by
    /// hand, comes off layer by layer), at most [`MAX_LAYERS`] times.
    fn unmount_all(&self, volume: &str, path: &Path) -> Result<(), NodeError> {
        for _ in 0..MAX_LAYERS {
            if self
                .mounter
                .mounted(path)
                .map_err(Self::mount_err(volume))?
                .is_none()
            {
                return Ok(());
            }
            self.mounter
                .unmount(path)
                .map_err(Self::mount_err(volume))?;
        }
        Err(NodeError::StillMounted {
            volume: volume.into(),
            path: path.display().to_string(),
        })
    }

    fn publish(&self, req: NodePublishVolumeRequest) -> Result<(), NodeError> {
        let volume = required(&req.volume_id, "volume_id")?;
        let staging = Path::new(required(&req.staging_target_path, "staging_target_path")?);
        let target = PathBuf::from(required(&req.target_path, "target_path")?);
        let cap = req
            .volume_capability
            .as_ref()
            .ok_or(RequestError::Missing("volume_capability"))?;
        volume::check_capabilities(std::slice::from_ref(cap))?;
        let read_only = req.readonly || volume::reader_only(cap);
        if let Some(entry) = self
            .mounter
            .mounted(&target)
            .map_err(Self::mount_err(volume))?
        {
            if is_read_only(&entry) != read_only {
                return Err(NodeError::OtherMode {
                    path: target.display().to_string(),
                    mode: mode_name(is_read_only(&entry)),
                    asked: mode_name(read_only),
                });
            }
            return Ok(());
        }
        if self
            .mounter
            .mounted(staging)
            .map_err(Self::mount_err(volume))?
            .is_none()
        {
            return Err(NodeError::NoPath {
                volume: volume.into(),
                path: format!("{} (not staged)", staging.display()),
            });
        }
        Self::mkdir(&target)?;
        self.mounter
            .bind(staging, &target, read_only)
            .map_err(Self::mount_err(volume))
    }

    fn unpublish(&self, req: NodeUnpublishVolumeRequest) -> Result<(), NodeError> {
        let volume = required(&req.volume_id, "volume_id")?;
        let target = Path::new(required(&req.target_path, "target_path")?);
        self.unmount_all(volume, target)?;
        // The spec: the plugin removes the target it created.
        match std::fs::remove_dir(target) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(NodeError::Io {
                action: "removing",
                path: target.display().to_string(),
                source: e,
            }),
            _ => Ok(()),
        }
    }

    fn stats(&self, req: NodeGetVolumeStatsRequest) -> Result<Vec<VolumeUsage>, NodeError> {
        let volume = required(&req.volume_id, "volume_id")?;
        let path = Path::new(required(&req.volume_path, "volume_path")?);
        if !path.is_absolute() || !path.is_dir() {
            return Err(NodeError::NoPath {
                volume: volume.into(),
                path: path.display().to_string(),
            });
        }
        let st = rustix::fs::statvfs(path).map_err(|source| NodeError::Statvfs {
            path: path.display().to_string(),
            source,
        })?;
        let usage = |unit: Unit, total: u64, free: u64, avail: u64| VolumeUsage {
            available: avail as i64,
            total: total as i64,
            used: total.saturating_sub(free) as i64,
            unit: unit as i32,
        };
        let bytes = |blocks: u64| blocks.saturating_mul(st.f_frsize);
        Ok(vec![
            usage(
                Unit::Bytes,
                bytes(st.f_blocks),
                bytes(st.f_bfree),
                bytes(st.f_bavail),
            ),
            usage(Unit::Inodes, st.f_files, st.f_ffree, st.f_favail),
        ])
    }
}

type Reply<T> = Result<Response<T>, Status>;

fn capability(t: RpcType) -> NodeServiceCapability {
    NodeServiceCapability {
        r#type: Some(node_service_capability::Type::Rpc(Rpc { r#type: t as i32 })),
    }
}

#[tonic::async_trait]
impl Node for NodeService {
    async fn node_stage_volume(
        &self,
        r: Request<NodeStageVolumeRequest>,
    ) -> Reply<NodeStageVolumeResponse> {
        let this = self.clone();
        crate::blocking(move || Ok(this.stage(r.into_inner())?)).await?;
        Ok(Response::new(NodeStageVolumeResponse {}))
    }

    async fn node_unstage_volume(
        &self,
        r: Request<NodeUnstageVolumeRequest>,
    ) -> Reply<NodeUnstageVolumeResponse> {
        let this = self.clone();
        crate::blocking(move || Ok(this.unstage(r.into_inner())?)).await?;
        Ok(Response::new(NodeUnstageVolumeResponse {}))
    }

    async fn node_publish_volume(
        &self,
        r: Request<NodePublishVolumeRequest>,
    ) -> Reply<NodePublishVolumeResponse> {
        let this = self.clone();
        crate::blocking(move || Ok(this.publish(r.into_inner())?)).await?;
        Ok(Response::new(NodePublishVolumeResponse {}))
    }

    async fn node_unpublish_volume(
        &self,
        r: Request<NodeUnpublishVolumeRequest>,
    ) -> Reply<NodeUnpublishVolumeResponse> {
        let this = self.clone();
        crate::blocking(move || Ok(this.unpublish(r.into_inner())?)).await?;
        Ok(Response::new(NodeUnpublishVolumeResponse {}))
    }

    async fn node_get_volume_stats(
        &self,
        r: Request<NodeGetVolumeStatsRequest>,
    ) -> Reply<NodeGetVolumeStatsResponse> {
        let this = self.clone();
        let usage = crate::blocking(move || Ok(this.stats(r.into_inner())?)).await?;
        Ok(Response::new(NodeGetVolumeStatsResponse {
            usage,
            volume_condition: None,
        }))
    }

    async fn node_expand_volume(
        &self,
        _: Request<NodeExpandVolumeRequest>,
    ) -> Reply<NodeExpandVolumeResponse> {
        Err(Status::unimplemented(
            "NodeExpandVolume is not needed: a share's quota is raised by the controller",
        ))
    }

    async fn node_get_capabilities(
        &self,
        _: Request<NodeGetCapabilitiesRequest>,
    ) -> Reply<NodeGetCapabilitiesResponse> {
        Ok(Response::new(NodeGetCapabilitiesResponse {
            capabilities: [RpcType::StageUnstageVolume, RpcType::GetVolumeStats]
                .into_iter()
                .map(capability)
                .collect(),
        }))
    }

    async fn node_get_info(&self, _: Request<NodeGetInfoRequest>) -> Reply<NodeGetInfoResponse> {
        Ok(Response::new(NodeGetInfoResponse {
            node_id: self.config.node_id.clone(),
            max_volumes_per_node: 0,
            accessible_topology: None,
        }))
    }
}

#[cfg(test)]
mod tests {
    use lk_volume::runner::Recorder;

    use super::*;
    use crate::mount::{Backend, CommandMounter};
    use crate::proto::volume_capability::access_mode::Mode;
    use crate::proto::volume_capability::{AccessMode, MountVolume};

    /// A node with the real-Lustre mounter whose commands are recorded and whose mount table
    /// is `table` (a file the test writes).
    fn lustre_node(table: &Path, rec: &Recorder) -> NodeService {
        let mut m = CommandMounter::new(Backend::Lustre { options: vec![] }, Arc::new(rec.clone()));
        m.mountinfo = table.into();
        NodeService::new(
            Arc::new(m),
            NodeConfig {
                node_id: "n".into(),
                clusters: BTreeMap::new(),
            },
        )
    }

    fn stage(staging: &Path) -> NodeStageVolumeRequest {
        NodeStageVolumeRequest {
            volume_id: "share:delete:a".into(),
            staging_target_path: staging.display().to_string(),
            volume_capability: Some(VolumeCapability {
                access_type: Some(volume_capability::AccessType::Mount(MountVolume {
                    mount_flags: vec!["flock".into()],
                    ..Default::default()
                })),
                access_mode: Some(AccessMode {
                    mode: Mode::MultiNodeMultiWriter as i32,
                }),
            }),
            volume_context: [(
                "source".to_string(),
                "10.0.0.1@tcp:/lustre/shares/a".to_string(),
            )]
            .into(),
            ..Default::default()
        }
    }

    #[test]
    fn lustre_stage_mounts_the_source_once() {
        let dir = tempfile::tempdir().unwrap();
        let (table, staging) = (dir.path().join("mountinfo"), dir.path().join("stage"));
        std::fs::write(&table, "").unwrap();
        let rec = Recorder::new();
        let node = lustre_node(&table, &rec);
        node.stage(stage(&staging)).unwrap();
        assert_eq!(
            rec.lines(),
            [format!(
                "mount -t lustre -o flock 10.0.0.1@tcp:/lustre/shares/a {}",
                staging.display()
            )]
        );
        // Now the table shows it: staging again runs nothing.
        std::fs::write(
            &table,
            format!(
                "36 25 0:32 / {} rw - lustre 10.0.0.1@tcp:/lustre/shares/a rw\n",
                staging.display()
            ),
        )
        .unwrap();
        node.stage(stage(&staging)).unwrap();
        assert_eq!(rec.calls().len(), 1);
    }

    #[test]
    fn a_mount_flag_with_a_comma_is_refused_before_mounting() {
        let dir = tempfile::tempdir().unwrap();
        let table = dir.path().join("mountinfo");
        std::fs::write(&table, "").unwrap();
        let rec = Recorder::new();
        let mut req = stage(&dir.path().join("stage"));
        if let Some(VolumeCapability {
            access_type: Some(volume_capability::AccessType::Mount(m)),
            ..
        }) = req.volume_capability.as_mut()
        {
            m.mount_flags = vec!["ro,remount".into()];
        }
        let err = lustre_node(&table, &rec).stage(req).unwrap_err();
        assert_eq!(Status::from(err).code(), tonic::Code::InvalidArgument);
        assert!(rec.calls().is_empty());
    }

    #[test]
    fn an_unmount_that_does_not_take_is_an_error_not_a_loop() {
        let dir = tempfile::tempdir().unwrap();
        let table = dir.path().join("mountinfo");
        std::fs::write(&table, "36 25 0:32 / /stage rw - lustre n@tcp:/fs rw\n").unwrap();
        let rec = Recorder::new();
        let node = lustre_node(&table, &rec);
        let err = node
            .unstage(NodeUnstageVolumeRequest {
                volume_id: "v".into(),
                staging_target_path: "/stage".into(),
            })
            .unwrap_err();
        assert!(matches!(err, NodeError::StillMounted { .. }), "{err:?}");
        assert_eq!(rec.calls().len(), MAX_LAYERS);
        assert_eq!(Status::from(err).code(), tonic::Code::Internal);
    }
}
