// SPDX-License-Identifier: Apache-2.0
//! Identity and capabilities: what the driver advertises is what it implements, and what it
//! does not advertise answers UNIMPLEMENTED (the CSI spec's rule for optional RPCs).

use lk_csi::proto::controller_service_capability::rpc::Type as CType;
use lk_csi::proto::node_service_capability::rpc::Type as NType;
use lk_csi::proto::plugin_capability::service::Type as SType;
use lk_csi::proto::*;
use tonic::Code;

use crate::common::*;

#[tokio::test]
async fn identity_names_the_driver_and_its_services() {
    let d = Driver::start(20.0).await;
    let mut i = d.identity();
    let info = i
        .get_plugin_info(GetPluginInfoRequest {})
        .await
        .expect("info")
        .into_inner();
    assert_eq!(info.name, lk_csi::DRIVER_NAME);
    assert!(!info.vendor_version.is_empty());
    let caps = i
        .get_plugin_capabilities(GetPluginCapabilitiesRequest {})
        .await
        .expect("caps")
        .into_inner();
    let services: Vec<_> = caps
        .capabilities
        .iter()
        .filter_map(|c| match &c.r#type {
            Some(plugin_capability::Type::Service(s)) => Some(s.r#type()),
            _ => None,
        })
        .collect();
    assert_eq!(services, vec![SType::ControllerService]);
    let probe = i.probe(ProbeRequest {}).await.expect("probe").into_inner();
    assert_eq!(probe.ready, Some(true));
    d.stop().await;
}

#[tokio::test]
async fn advertised_capabilities_are_exactly_the_implemented_ones() {
    let d = Driver::start(20.0).await;
    let mut c = d.controller();
    let caps: Vec<CType> = c
        .controller_get_capabilities(ControllerGetCapabilitiesRequest {})
        .await
        .expect("caps")
        .into_inner()
        .capabilities
        .iter()
        .filter_map(|c| {
            c.r#type
                .as_ref()
                .map(|controller_service_capability::Type::Rpc(r)| r.r#type())
        })
        .collect();
    assert_eq!(
        caps,
        vec![
            CType::CreateDeleteVolume,
            CType::ExpandVolume,
            CType::GetCapacity
        ]
    );
    let mut n = d.node();
    let caps: Vec<NType> = n
        .node_get_capabilities(NodeGetCapabilitiesRequest {})
        .await
        .expect("caps")
        .into_inner()
        .capabilities
        .iter()
        .filter_map(|c| {
            c.r#type
                .as_ref()
                .map(|node_service_capability::Type::Rpc(r)| r.r#type())
        })
        .collect();
    assert_eq!(caps, vec![NType::StageUnstageVolume, NType::GetVolumeStats]);
    let info = n
        .node_get_info(NodeGetInfoRequest {})
        .await
        .expect("info")
        .into_inner();
    assert_eq!(info.node_id, "node-1");

    // Not advertised: UNIMPLEMENTED.
    let unimplemented = [
        code(
            c.controller_publish_volume(ControllerPublishVolumeRequest::default())
                .await,
        ),
        code(
            c.controller_unpublish_volume(ControllerUnpublishVolumeRequest::default())
                .await,
        ),
        code(c.list_volumes(ListVolumesRequest::default()).await),
        code(c.create_snapshot(CreateSnapshotRequest::default()).await),
        code(c.delete_snapshot(DeleteSnapshotRequest::default()).await),
        code(c.list_snapshots(ListSnapshotsRequest::default()).await),
        code(
            c.controller_get_volume(ControllerGetVolumeRequest::default())
                .await,
        ),
        code(
            c.controller_modify_volume(ControllerModifyVolumeRequest::default())
                .await,
        ),
        code(
            n.node_expand_volume(NodeExpandVolumeRequest::default())
                .await,
        ),
    ];
    assert!(
        unimplemented.iter().all(|c| *c == Code::Unimplemented),
        "{unimplemented:?}"
    );
    d.stop().await;
}

/// The same services over TCP (a driver in a VM driven from its host): bound on a loopback
/// port the kernel picks, answered by a plain HTTP/2 channel.
#[tokio::test]
async fn a_tcp_endpoint_serves_the_same_services() {
    use lk_csi::server::{bind_endpoint, serve, Endpoint, Listener, Services};
    let endpoint = Endpoint::parse("tcp://127.0.0.1:0").expect("endpoint");
    let listener = bind_endpoint(&endpoint).await.expect("bind");
    let Listener::Tcp(tcp) = &listener else {
        panic!("a tcp endpoint bound a unix socket")
    };
    let addr = tcp.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let services = Services {
        controller: None,
        node: None,
    };
    let task = tokio::spawn(serve(listener, services, async {
        let _ = stopped.await;
    }));
    let channel = tonic::transport::Endpoint::try_from(format!("http://{addr}"))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    let mut identity = identity_client::IdentityClient::new(channel);
    let info = identity
        .get_plugin_info(GetPluginInfoRequest {})
        .await
        .expect("info")
        .into_inner();
    assert_eq!(info.name, lk_csi::DRIVER_NAME);
    let caps = identity
        .get_plugin_capabilities(GetPluginCapabilitiesRequest {})
        .await
        .expect("caps")
        .into_inner();
    let services = caps
        .capabilities
        .iter()
        .filter(|c| matches!(c.r#type, Some(plugin_capability::Type::Service(_))))
        .count();
    assert_eq!(services, 0, "no controller served: {caps:?}");
    stop.send(()).expect("stop");
    task.await.expect("join").expect("serve");
}
