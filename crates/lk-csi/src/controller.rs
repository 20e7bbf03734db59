// SPDX-License-Identifier: Apache-2.0
//! The Controller service: dynamic volumes are shares (a directory with a project quota)
//! made through `lk_volume::shares`. CreateVolume makes one (or returns the existing one
//! when it fits the request), DeleteVolume removes it or keeps it (`onDelete: retain`),
//! ControllerExpandVolume raises the quota, GetCapacity reports what CreateVolume would
//! still accept. A StorageClass parameter `cluster` picks a named cluster's share store
//! ([`crate::targets`]); its volume IDs carry the name (`share:MODE:CLUSTER/NAME`).
//!
//! Capacity: project quotas do not reserve space, so like Cinder's thin provisioning a
//! create is refused (RESOURCE_EXHAUSTED) when the sum of all share limits would exceed
//! the filesystem's size times `max_over_subscription`.

use std::collections::HashMap;

use lk_volume::shares::{Share, ShareError, ShareRequest};
use thiserror::Error;
use tonic::{Request, Response, Status};

use crate::proto::controller_server::Controller;
use crate::proto::controller_service_capability::rpc::Type as RpcType;
use crate::proto::controller_service_capability::{self, Rpc};
use crate::proto::validate_volume_capabilities_response::Confirmed;
use crate::proto::*;
use crate::targets::{ShareTarget, ShareTargets};
use crate::volume::{self, keys, CreateParams, Filesystem, RequestError, ShareVolumeId};

/// Settings of the controller.
#[derive(Debug, Clone)]
pub struct ControllerConfig {
    /// The default filesystem the shares live on (no `cluster` parameter), as nodes mount
    /// it.
    pub fs: Filesystem,
    /// Size of a volume whose request names no capacity.
    pub default_size: u64,
    /// Sum of share limits allowed, as a multiple of the filesystem size.
    pub max_over_subscription: f64,
}

// Clone: each RPC clones the service (`Arc`s and the small config) into its blocking
// task; the trait is bpfman-csi's, so it cannot be implemented for `Arc<ControllerService>`.
#[derive(Clone)]
pub struct ControllerService {
    targets: ShareTargets,
    config: ControllerConfig,
}

#[derive(Debug, Error)]
pub enum ControllerError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("volume {0} does not exist")]
    NotFound(String),
    #[error("parameter cluster={name:?}: this controller makes no shares on it (known: {known})")]
    UnknownCluster { name: String, known: String },
    #[error("volume {name} exists with {existing} bytes, which does not fit the requested range")]
    Exists { name: String, existing: u64 },
    #[error("volume {name} exists with other parameters ({what})")]
    OtherParameters { name: String, what: &'static str },
    #[error("{requested} more bytes would put the shares over {allowed} bytes ({provisioned} provisioned)")]
    Exhausted {
        requested: u64,
        provisioned: u64,
        allowed: u64,
    },
    #[error("volume {volume}")]
    Share {
        volume: String,
        // Boxed: ShareError is large and this error travels through every Result here.
        #[source]
        source: Box<ShareError>,
    },
    #[error("statvfs of {path} failed")]
    Statvfs {
        path: String,
        #[source]
        source: rustix::io::Errno,
    },
}

impl From<ControllerError> for Status {
    fn from(e: ControllerError) -> Self {
        let message = error_chain(&e);
        match &e {
            ControllerError::Request(r) => r.clone().into(),
            ControllerError::UnknownCluster { .. } => Status::invalid_argument(message),
            ControllerError::NotFound(_) => Status::not_found(message),
            ControllerError::Exists { .. } | ControllerError::OtherParameters { .. } => {
                Status::already_exists(message)
            }
            ControllerError::Exhausted { .. } => Status::resource_exhausted(message),
            ControllerError::Share { source, .. } => Status::new(share_code(source), message),
            ControllerError::Statvfs { .. } => Status::internal(message),
        }
    }
}

fn share_code(e: &ShareError) -> tonic::Code {
    use tonic::Code;
    match e {
        ShareError::NotFound(_) => Code::NotFound,
        ShareError::Exists(_) => Code::AlreadyExists,
        ShareError::Name(_) | ShareError::ZeroSize => Code::InvalidArgument,
        ShareError::BelowUsage { .. } => Code::OutOfRange,
        ShareError::NoProjectId(_) => Code::ResourceExhausted,
        ShareError::Busy => Code::Aborted,
        ShareError::Io { source, .. } if is_full(source) => Code::ResourceExhausted,
        ShareError::Unwound { source, .. } => share_code(source),
        _ => Code::Internal,
    }
}

fn is_full(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(28 | 122)) // ENOSPC, EDQUOT
}

/// An error and its sources, "a: b: c" (the Status message is all a CO shows).
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        out.push_str(": ");
        out.push_str(&s.to_string());
        next = s.source();
    }
    out
}

impl ControllerService {
    pub fn new(targets: ShareTargets, config: ControllerConfig) -> Self {
        Self { targets, config }
    }

    fn share_err(volume: &str) -> impl FnOnce(ShareError) -> ControllerError {
        let volume = volume.to_string();
        move |source| ControllerError::Share {
            volume,
            source: Box::new(source),
        }
    }

    /// The share store a StorageClass's `cluster` parameter names: an unknown one is the
    /// caller's mistake (INVALID_ARGUMENT).
    fn target(&self, cluster: Option<&str>) -> Result<&ShareTarget, ControllerError> {
        self.targets
            .get(cluster)
            .ok_or_else(|| ControllerError::UnknownCluster {
                name: cluster.unwrap_or_default().to_string(),
                known: self.targets.known(),
            })
    }

    /// The share store and existing share of a volume ID, or NotFound (a cluster this
    /// controller does not serve has no volumes here).
    fn existing(&self, id: &ShareVolumeId) -> Result<(&ShareTarget, Share), ControllerError> {
        let not_found = || ControllerError::NotFound(id.to_string());
        let target = self
            .targets
            .get(id.cluster.as_deref())
            .ok_or_else(not_found)?;
        match target.shares.show(&id.share) {
            Err(ShareError::NotFound(_)) => Err(not_found()),
            other => Ok((target, other.map_err(Self::share_err(&id.share))?)),
        }
    }

    /// (filesystem size × ratio, sum of share limits) of one share store.
    fn capacity(&self, target: &ShareTarget) -> Result<(u64, u64), ControllerError> {
        let st = rustix::fs::statvfs(&target.dir).map_err(|source| ControllerError::Statvfs {
            path: target.dir.display().to_string(),
            source,
        })?;
        let total = st.f_blocks.saturating_mul(st.f_frsize);
        let allowed = (total as f64 * self.config.max_over_subscription) as u64;
        let provisioned = target
            .shares
            .records()
            .map_err(Self::share_err("(all)"))?
            .iter()
            .map(|r| r.limits.block_hard)
            .sum();
        Ok((allowed, provisioned))
    }

    /// GetCapacity: of the cluster the parameters name (the default without one). Other
    /// parameters are the StorageClass's and do not change the answer.
    fn capacity_for(
        &self,
        parameters: &HashMap<String, String>,
    ) -> Result<(u64, u64), ControllerError> {
        let target = self.target(parameters.get(keys::CLUSTER).map(String::as_str))?;
        self.capacity(target)
    }

    fn create(&self, req: CreateVolumeRequest) -> Result<Volume, ControllerError> {
        if req.name.is_empty() {
            return Err(RequestError::Missing("name").into());
        }
        volume::check_capabilities(&req.volume_capabilities)?;
        // Neither is advertised (no CLONE_VOLUME, snapshots or MODIFY_VOLUME): refuse rather
        // than make an empty volume the caller believes is a copy.
        if req.volume_content_source.is_some() {
            return Err(RequestError::Unsupported("volume_content_source").into());
        }
        if !req.mutable_parameters.is_empty() {
            return Err(RequestError::Unsupported("mutable_parameters").into());
        }
        let params = CreateParams::parse(&req.parameters)?;
        let target = self.target(params.cluster.as_deref())?;
        let range = req.capacity_range.as_ref();
        let size = volume::size_for(range, self.config.default_size)?;
        let id = ShareVolumeId {
            share: req.name.clone(),
            on_delete: params.on_delete,
            cluster: params.cluster.clone(),
        };
        match target.shares.show(&req.name) {
            Ok(share) => return same_or_exists(target, &id, &share, range, &params),
            Err(ShareError::NotFound(_)) => {}
            Err(e) => return Err(Self::share_err(&req.name)(e)),
        }
        let (allowed, provisioned) = self.capacity(target)?;
        if provisioned.saturating_add(size) > allowed {
            return Err(ControllerError::Exhausted {
                requested: size,
                provisioned,
                allowed,
            });
        }
        let made = target.shares.create(&ShareRequest {
            name: req.name.clone(),
            size,
            inodes: params.inodes,
        });
        match made {
            Ok(share) => Ok(target.volume_of(&id, &share)),
            // A concurrent CreateVolume of the same name (the CO retrying) got there first:
            // judge the request against what it made.
            Err(ShareError::Exists(_)) => {
                let share = target
                    .shares
                    .show(&req.name)
                    .map_err(Self::share_err(&req.name))?;
                same_or_exists(target, &id, &share, range, &params)
            }
            Err(e) => Err(Self::share_err(&req.name)(e)),
        }
    }

    fn delete(&self, volume_id: &str) -> Result<(), ControllerError> {
        let id = match ShareVolumeId::parse(volume_id) {
            Ok(id) => id,
            // Not ours, so it does not exist: DeleteVolume succeeds (the spec's idempotency).
            Err(RequestError::ForeignVolumeId(_)) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        if id.on_delete == volume::OnDelete::Retain {
            return Ok(());
        }
        // A cluster this controller does not serve has nothing of ours to delete: success,
        // like any volume that does not exist (the spec's idempotency).
        let Some(target) = self.targets.get(id.cluster.as_deref()) else {
            return Ok(());
        };
        match target.shares.delete(&id.share, true) {
            Ok(()) | Err(ShareError::NotFound(_)) => Ok(()),
            Err(e) => Err(Self::share_err(&id.share)(e)),
        }
    }

    fn expand(&self, req: ControllerExpandVolumeRequest) -> Result<u64, ControllerError> {
        let id = parse_existing_id(&req.volume_id)?;
        let range = req
            .capacity_range
            .as_ref()
            .ok_or(RequestError::Missing("capacity_range"))?;
        let wanted = volume::size_for(Some(range), 0)?;
        let (target, share) = self.existing(&id)?;
        let current = share.record.limits.block_hard;
        if wanted <= current {
            return Ok(current);
        }
        let (allowed, provisioned) = self.capacity(target)?;
        if provisioned.saturating_add(wanted - current) > allowed {
            return Err(ControllerError::Exhausted {
                requested: wanted - current,
                provisioned,
                allowed,
            });
        }
        let inodes = (share.record.limits.inode_hard > 0).then_some(share.record.limits.inode_hard);
        target
            .shares
            .resize(&id.share, wanted, inodes)
            .map_err(Self::share_err(&id.share))
            .map(|s| s.record.limits.block_hard)
    }

    fn validate(
        &self,
        req: ValidateVolumeCapabilitiesRequest,
    ) -> Result<ValidateVolumeCapabilitiesResponse, ControllerError> {
        let id = parse_existing_id(&req.volume_id)?;
        if req.volume_capabilities.is_empty() {
            return Err(RequestError::Missing("volume_capabilities").into());
        }
        self.existing(&id)?;
        if let Some(reason) = req.volume_capabilities.iter().find_map(volume::unsupported) {
            return Ok(ValidateVolumeCapabilitiesResponse {
                confirmed: None,
                message: reason,
            });
        }
        Ok(ValidateVolumeCapabilitiesResponse {
            confirmed: Some(Confirmed {
                volume_context: req.volume_context,
                volume_capabilities: req.volume_capabilities,
                parameters: req.parameters,
                mutable_parameters: Default::default(),
            }),
            message: String::new(),
        })
    }
}

/// CreateVolume of a name that exists: the same volume when it fits, ALREADY_EXISTS
/// otherwise.
fn same_or_exists(
    target: &ShareTarget,
    id: &ShareVolumeId,
    share: &Share,
    range: Option<&CapacityRange>,
    params: &CreateParams,
) -> Result<Volume, ControllerError> {
    let existing = share.record.limits.block_hard;
    if !volume::fits(range, existing) {
        return Err(ControllerError::Exists {
            name: id.share.clone(),
            existing,
        });
    }
    let inodes = share.record.limits.inode_hard;
    if params.inodes.is_some_and(|n| n != inodes) {
        return Err(ControllerError::OtherParameters {
            name: id.share.clone(),
            what: "inodes",
        });
    }
    Ok(target.volume_of(id, share))
}

/// A volume ID for a call on an existing volume: empty is INVALID_ARGUMENT, one this driver
/// never makes is NOT_FOUND.
fn parse_existing_id(id: &str) -> Result<ShareVolumeId, ControllerError> {
    ShareVolumeId::parse(id).map_err(|e| match e {
        RequestError::ForeignVolumeId(id) => ControllerError::NotFound(id),
        other => other.into(),
    })
}

fn capability(t: RpcType) -> ControllerServiceCapability {
    ControllerServiceCapability {
        r#type: Some(controller_service_capability::Type::Rpc(Rpc {
            r#type: t as i32,
        })),
    }
}

type Reply<T> = Result<Response<T>, Status>;

fn unimplemented<T>(what: &str) -> Reply<T> {
    Err(Status::unimplemented(format!("{what} is not supported")))
}

#[tonic::async_trait]
impl Controller for ControllerService {
    async fn create_volume(&self, r: Request<CreateVolumeRequest>) -> Reply<CreateVolumeResponse> {
        let this = self.clone();
        let volume = crate::blocking(move || Ok(this.create(r.into_inner())?)).await?;
        Ok(Response::new(CreateVolumeResponse {
            volume: Some(volume),
        }))
    }

    async fn delete_volume(&self, r: Request<DeleteVolumeRequest>) -> Reply<DeleteVolumeResponse> {
        let this = self.clone();
        let id = r.into_inner().volume_id;
        crate::blocking(move || Ok(this.delete(&id)?)).await?;
        Ok(Response::new(DeleteVolumeResponse {}))
    }

    async fn controller_publish_volume(
        &self,
        _: Request<ControllerPublishVolumeRequest>,
    ) -> Reply<ControllerPublishVolumeResponse> {
        unimplemented("ControllerPublishVolume")
    }

    async fn controller_unpublish_volume(
        &self,
        _: Request<ControllerUnpublishVolumeRequest>,
    ) -> Reply<ControllerUnpublishVolumeResponse> {
        unimplemented("ControllerUnpublishVolume")
    }

    async fn validate_volume_capabilities(
        &self,
        r: Request<ValidateVolumeCapabilitiesRequest>,
    ) -> Reply<ValidateVolumeCapabilitiesResponse> {
        let this = self.clone();
        let out = crate::blocking(move || Ok(this.validate(r.into_inner())?)).await?;
        Ok(Response::new(out))
    }

    async fn list_volumes(&self, _: Request<ListVolumesRequest>) -> Reply<ListVolumesResponse> {
        unimplemented("ListVolumes")
    }

    async fn get_capacity(&self, r: Request<GetCapacityRequest>) -> Reply<GetCapacityResponse> {
        let this = self.clone();
        let parameters = r.into_inner().parameters;
        let (allowed, provisioned) =
            crate::blocking(move || Ok(this.capacity_for(&parameters)?)).await?;
        Ok(Response::new(GetCapacityResponse {
            available_capacity: allowed.saturating_sub(provisioned) as i64,
            maximum_volume_size: Some(allowed as i64),
            minimum_volume_size: Some(1),
        }))
    }

    async fn controller_get_capabilities(
        &self,
        _: Request<ControllerGetCapabilitiesRequest>,
    ) -> Reply<ControllerGetCapabilitiesResponse> {
        Ok(Response::new(ControllerGetCapabilitiesResponse {
            capabilities: [
                RpcType::CreateDeleteVolume,
                RpcType::ExpandVolume,
                RpcType::GetCapacity,
            ]
            .into_iter()
            .map(capability)
            .collect(),
        }))
    }

    async fn create_snapshot(
        &self,
        _: Request<CreateSnapshotRequest>,
    ) -> Reply<CreateSnapshotResponse> {
        unimplemented("CreateSnapshot")
    }

    async fn delete_snapshot(
        &self,
        _: Request<DeleteSnapshotRequest>,
    ) -> Reply<DeleteSnapshotResponse> {
        unimplemented("DeleteSnapshot")
    }

    async fn list_snapshots(
        &self,
        _: Request<ListSnapshotsRequest>,
    ) -> Reply<ListSnapshotsResponse> {
        unimplemented("ListSnapshots")
    }

    async fn controller_expand_volume(
        &self,
        r: Request<ControllerExpandVolumeRequest>,
    ) -> Reply<ControllerExpandVolumeResponse> {
        let this = self.clone();
        let bytes = crate::blocking(move || Ok(this.expand(r.into_inner())?)).await?;
        Ok(Response::new(ControllerExpandVolumeResponse {
            capacity_bytes: bytes as i64,
            node_expansion_required: false,
        }))
    }

    async fn controller_get_volume(
        &self,
        _: Request<ControllerGetVolumeRequest>,
    ) -> Reply<ControllerGetVolumeResponse> {
        unimplemented("ControllerGetVolume")
    }

    async fn controller_modify_volume(
        &self,
        _: Request<ControllerModifyVolumeRequest>,
    ) -> Reply<ControllerModifyVolumeResponse> {
        unimplemented("ControllerModifyVolume")
    }
}

#[cfg(test)]
mod tests {
    use tonic::Code;

    use super::*;

    #[test]
    fn share_errors_map_to_the_spec_codes() {
        let io = |errno| ShareError::Io {
            action: "could not create",
            path: "/x".into(),
            source: std::io::Error::from_raw_os_error(errno),
        };
        let cases = [
            (ShareError::NotFound("a".into()), Code::NotFound),
            (ShareError::Exists("a".into()), Code::AlreadyExists),
            (ShareError::ZeroSize, Code::InvalidArgument),
            (ShareError::NoProjectId(100_000), Code::ResourceExhausted),
            (ShareError::Busy, Code::Aborted),
            (io(28), Code::ResourceExhausted),
            (io(122), Code::ResourceExhausted),
            (io(13), Code::Internal),
            (
                ShareError::BelowUsage {
                    share: "a".into(),
                    what: "bytes",
                    used: 2,
                    limit: 1,
                },
                Code::OutOfRange,
            ),
            (
                ShareError::Unwound {
                    source: Box::new(io(28)),
                    leftovers: vec!["x".into()],
                },
                Code::ResourceExhausted,
            ),
        ];
        for (err, want) in cases {
            let what = err.to_string();
            let status = Status::from(ControllerError::Share {
                volume: "v".into(),
                source: Box::new(err),
            });
            assert_eq!(status.code(), want, "{what}");
            assert!(
                status.message().starts_with("volume v: "),
                "{}",
                status.message()
            );
        }
    }
}
