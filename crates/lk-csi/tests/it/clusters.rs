// SPDX-License-Identifier: Apache-2.0
//! The controller on several clusters: the StorageClass parameter `cluster` picks the share
//! store, the volume ID carries the cluster, and each call finds the share on its cluster.

use lk_csi::proto::volume_capability::access_mode::Mode;
use lk_csi::proto::*;
use lk_volume::shares::{ShareConfig, ShareError, Shares};
use tonic::Code;

use crate::common::*;

/// The share store of a named cluster's root (`LAB.2`, `DEMO.2`) or of the default root.
fn store(d: &Driver, rel: &str) -> Shares {
    lk_volume::open(&d.path(rel))
        .expect("open")
        .shares(ShareConfig::default())
}

fn on(cluster: &str, name: &str, required: i64, extra: &[(&str, &str)]) -> CreateVolumeRequest {
    let mut pairs = vec![("cluster", cluster)];
    pairs.extend_from_slice(extra);
    CreateVolumeRequest {
        parameters: params(&pairs),
        ..create_request(name, required)
    }
}

async fn create(c: &mut ControllerClient, req: CreateVolumeRequest) -> Volume {
    c.create_volume(req)
        .await
        .expect("create")
        .into_inner()
        .volume
        .expect("volume")
}

type ControllerClient =
    lk_csi::proto::controller_client::ControllerClient<tonic::transport::Channel>;

#[tokio::test]
async fn one_name_on_three_filesystems_is_three_volumes() {
    let d = Driver::start(20.0).await;
    let mut c = d.controller();
    let default = create(&mut c, create_request("pvc-x", GIB)).await;
    let lab = create(&mut c, on(LAB.0, "pvc-x", 2 * GIB, &[])).await;
    let demo = create(
        &mut c,
        on(DEMO.0, "pvc-x", 3 * GIB, &[("onDelete", "retain")]),
    )
    .await;
    assert_eq!(default.volume_id, "share:delete:pvc-x");
    assert_eq!(lab.volume_id, "share:delete:lab/pvc-x");
    assert_eq!(demo.volume_id, "share:retain:ns.demo/pvc-x");
    assert_eq!(
        lab.volume_context["source"],
        format!("{}/shares/pvc-x", LAB.1)
    );
    assert_eq!(
        demo.volume_context["source"],
        format!("{}/shares/pvc-x", DEMO.1)
    );
    let limit = |rel: &str| {
        store(&d, rel)
            .show("pvc-x")
            .expect("share")
            .record
            .limits
            .block_hard
    };
    assert_eq!(limit("root"), GIB as u64);
    assert_eq!(limit(LAB.2), 2 * GIB as u64);
    assert_eq!(limit(DEMO.2), 3 * GIB as u64);
    assert!(d.path(LAB.2).join("shares/pvc-x").is_dir());

    // Idempotent per cluster: the same request is the same volume; another size on one
    // cluster is ALREADY_EXISTS there, whatever the others hold.
    assert_eq!(create(&mut c, on(LAB.0, "pvc-x", 2 * GIB, &[])).await, lab);
    assert_eq!(
        code(c.create_volume(on(LAB.0, "pvc-x", 3 * GIB, &[])).await),
        Code::AlreadyExists
    );
    d.stop().await;
}

#[tokio::test]
async fn an_unknown_cluster_is_named_in_invalid_argument() {
    let d = Driver::start(20.0).await;
    let mut c = d.controller();
    let err = c
        .create_volume(on("nowhere", "pvc-y", GIB, &[]))
        .await
        .expect_err("unknown cluster");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("\"nowhere\""), "{}", err.message());
    assert!(err.message().contains("lab, ns.demo"), "{}", err.message());
    let capacity = GetCapacityRequest {
        parameters: params(&[("cluster", "nowhere")]),
        ..Default::default()
    };
    assert_eq!(code(c.get_capacity(capacity).await), Code::InvalidArgument);
    for rel in ["root", LAB.2, DEMO.2] {
        assert!(store(&d, rel).list().expect("list").is_empty(), "{rel}");
    }
    d.stop().await;
}

#[tokio::test]
async fn capacity_is_per_cluster() {
    let d = Driver::start(20.0).await;
    let mut c = d.controller();
    let available = |cluster: Option<&str>| {
        let mut c = d.controller();
        let parameters = params(
            &cluster
                .map(|n| ("cluster", n))
                .into_iter()
                .collect::<Vec<_>>(),
        );
        async move {
            c.get_capacity(GetCapacityRequest {
                parameters,
                ..Default::default()
            })
            .await
            .expect("capacity")
            .into_inner()
            .available_capacity
        }
    };
    let (lab0, default0) = (available(Some(LAB.0)).await, available(None).await);
    create(&mut c, on(LAB.0, "pvc-z", 2 * GIB, &[])).await;
    // The roots share one filesystem here: only the share limits tell them apart.
    assert_eq!(lab0 - available(Some(LAB.0)).await, 2 * GIB);
    assert_eq!(default0, available(None).await);
    d.stop().await;
}

#[tokio::test]
async fn expand_and_validate_find_the_share_on_its_cluster() {
    let d = Driver::start(20.0).await;
    let mut c = d.controller();
    create(&mut c, create_request("pvc-e", GIB)).await;
    let lab = create(&mut c, on(LAB.0, "pvc-e", GIB, &[])).await;
    let expand = |id: &str| ControllerExpandVolumeRequest {
        volume_id: id.into(),
        capacity_range: range(4 * GIB, 0),
        ..Default::default()
    };
    for _ in 0..2 {
        let r = c
            .controller_expand_volume(expand(&lab.volume_id))
            .await
            .expect("expand")
            .into_inner();
        assert_eq!(r.capacity_bytes, 4 * GIB);
    }
    let limit = |rel: &str| {
        store(&d, rel)
            .show("pvc-e")
            .expect("share")
            .record
            .limits
            .block_hard
    };
    assert_eq!(limit(LAB.2), 4 * GIB as u64);
    assert_eq!(
        limit("root"),
        GIB as u64,
        "the default's share is untouched"
    );
    for missing in ["share:delete:nowhere/pvc-e", "share:delete:ns.demo/pvc-e"] {
        assert_eq!(
            code(c.controller_expand_volume(expand(missing)).await),
            Code::NotFound,
            "{missing}"
        );
    }
    let validate = |id: &str| ValidateVolumeCapabilitiesRequest {
        volume_id: id.into(),
        volume_capabilities: vec![mount_cap(Mode::MultiNodeMultiWriter)],
        ..Default::default()
    };
    let ok = c
        .validate_volume_capabilities(validate(&lab.volume_id))
        .await
        .expect("validate")
        .into_inner();
    assert!(ok.confirmed.is_some());
    assert_eq!(
        code(
            c.validate_volume_capabilities(validate("share:delete:nowhere/pvc-e"))
                .await
        ),
        Code::NotFound
    );
    d.stop().await;
}

#[tokio::test]
async fn delete_acts_on_the_named_cluster_only_and_is_idempotent() {
    let d = Driver::start(20.0).await;
    let mut c = d.controller();
    create(&mut c, create_request("pvc-d", GIB)).await;
    let lab = create(&mut c, on(LAB.0, "pvc-d", GIB, &[])).await;
    let demo = create(&mut c, on(DEMO.0, "pvc-d", GIB, &[("onDelete", "retain")])).await;
    for _ in 0..2 {
        for id in [
            lab.volume_id.as_str(),
            demo.volume_id.as_str(),
            // A cluster this controller does not serve: nothing to delete, success.
            "share:delete:nowhere/pvc-d",
        ] {
            c.delete_volume(DeleteVolumeRequest {
                volume_id: id.into(),
                ..Default::default()
            })
            .await
            .unwrap_or_else(|e| panic!("delete {id}: {e}"));
        }
    }
    assert!(matches!(
        store(&d, LAB.2).show("pvc-d"),
        Err(ShareError::NotFound(_))
    ));
    assert!(!d.path(LAB.2).join("shares/pvc-d").exists());
    assert!(store(&d, DEMO.2).show("pvc-d").is_ok(), "retained");
    assert!(
        store(&d, "root").show("pvc-d").is_ok(),
        "the default's share stays"
    );
    d.stop().await;
}
