// SPDX-License-Identifier: Apache-2.0
//! The Controller service on the stand-in: dynamic shares, their quota, retain/delete,
//! expansion and capacity.

use lk_csi::proto::volume_capability::access_mode::Mode;
use lk_csi::proto::*;
use lk_volume::shares::ShareConfig;
use tonic::Code;

use crate::common::*;

fn shares(d: &Driver) -> lk_volume::shares::Shares {
    lk_volume::open(&d.root())
        .expect("open")
        .shares(ShareConfig::default())
}

#[tokio::test]
async fn create_makes_a_share_with_its_quota_and_is_idempotent() {
    let d = Driver::start(20.0).await;
    let mut c = d.controller();
    let v = c
        .create_volume(create_request("pvc-a", 2 * GIB))
        .await
        .expect("create")
        .into_inner()
        .volume
        .expect("volume");
    assert_eq!(v.volume_id, "share:delete:pvc-a");
    assert_eq!(v.capacity_bytes, 2 * GIB);
    assert_eq!(v.volume_context["source"], format!("{FS}/shares/pvc-a"));
    let share = shares(&d).show("pvc-a").expect("share exists");
    assert_eq!(share.record.limits.block_hard, 2 * GIB as u64);
    assert!(d.root().join("shares/pvc-a").is_dir());

    // The same request again: the same volume.
    let again = c
        .create_volume(create_request("pvc-a", 2 * GIB))
        .await
        .expect("create again")
        .into_inner()
        .volume
        .expect("volume");
    assert_eq!(again, v);
    // A smaller request the existing size satisfies (no limit) is the same volume too.
    let smaller = c.create_volume(create_request("pvc-a", GIB)).await;
    assert_eq!(smaller.expect("fits").into_inner().volume, Some(v));
    d.stop().await;
}

#[tokio::test]
async fn create_with_other_parameters_is_already_exists() {
    let d = Driver::start(20.0).await;
    let mut c = d.controller();
    c.create_volume(create_request("pvc-b", GIB))
        .await
        .expect("create");
    let bigger = c.create_volume(create_request("pvc-b", 3 * GIB)).await;
    assert_eq!(code(bigger), Code::AlreadyExists);
    let mut capped = create_request("pvc-b", 0);
    capped.capacity_range = range(0, GIB / 2);
    assert_eq!(code(c.create_volume(capped).await), Code::AlreadyExists);
    let mut inodes = create_request("pvc-b", GIB);
    inodes.parameters = params(&[("inodes", "1000")]);
    assert_eq!(code(c.create_volume(inodes).await), Code::AlreadyExists);
    // Nothing changed.
    assert_eq!(
        shares(&d)
            .show("pvc-b")
            .expect("share")
            .record
            .limits
            .block_hard,
        GIB as u64
    );
    d.stop().await;
}

#[tokio::test]
async fn create_refuses_bad_requests_with_the_spec_codes() {
    let d = Driver::start(20.0).await;
    let mut c = d.controller();
    let cases: Vec<(&str, CreateVolumeRequest, Code)> = vec![
        ("no name", create_request("", GIB), Code::InvalidArgument),
        (
            "no capabilities",
            CreateVolumeRequest {
                volume_capabilities: vec![],
                ..create_request("x", GIB)
            },
            Code::InvalidArgument,
        ),
        (
            "block",
            CreateVolumeRequest {
                volume_capabilities: vec![block_cap()],
                ..create_request("x", GIB)
            },
            Code::InvalidArgument,
        ),
        (
            "unknown parameter",
            CreateVolumeRequest {
                parameters: params(&[("colour", "blue")]),
                ..create_request("x", GIB)
            },
            Code::InvalidArgument,
        ),
        (
            "bad onDelete",
            CreateVolumeRequest {
                parameters: params(&[("onDelete", "archive")]),
                ..create_request("x", GIB)
            },
            Code::InvalidArgument,
        ),
        (
            "limit below required",
            CreateVolumeRequest {
                capacity_range: range(2 * GIB, GIB),
                ..create_request("x", 0)
            },
            Code::OutOfRange,
        ),
        (
            "a clone (not advertised)",
            CreateVolumeRequest {
                volume_content_source: Some(VolumeContentSource {
                    r#type: Some(volume_content_source::Type::Volume(
                        volume_content_source::VolumeSource {
                            volume_id: "share:delete:other".into(),
                        },
                    )),
                }),
                ..create_request("x", GIB)
            },
            Code::InvalidArgument,
        ),
        (
            "mutable parameters (not advertised)",
            CreateVolumeRequest {
                mutable_parameters: params(&[("iops", "5")]),
                ..create_request("x", GIB)
            },
            Code::InvalidArgument,
        ),
        (
            "name with a slash",
            create_request("a/b", GIB),
            Code::InvalidArgument,
        ),
    ];
    for (what, req, want) in cases {
        let got = code(c.create_volume(req).await);
        assert_eq!(got, want, "{what}");
    }
    assert!(shares(&d).list().expect("list").is_empty(), "nothing made");
    d.stop().await;
}

#[tokio::test]
async fn capacity_beyond_the_over_subscription_is_resource_exhausted() {
    // Ratio such that the filesystem allows a few KiB in all.
    let d = Driver::start(1e-9).await;
    let mut c = d.controller();
    let cap = c
        .get_capacity(GetCapacityRequest::default())
        .await
        .expect("capacity")
        .into_inner();
    let too_much = cap.available_capacity + 1;
    let r = c.create_volume(create_request("big", too_much)).await;
    assert_eq!(code(r), Code::ResourceExhausted);
    assert!(shares(&d).list().expect("list").is_empty());
    d.stop().await;
}

#[tokio::test]
async fn get_capacity_shrinks_by_what_is_provisioned() {
    let d = Driver::start(20.0).await;
    let mut c = d.controller();
    let before = c
        .get_capacity(GetCapacityRequest::default())
        .await
        .expect("capacity")
        .into_inner()
        .available_capacity;
    assert!(before > 0);
    c.create_volume(create_request("pvc-c", GIB))
        .await
        .expect("create");
    let after = c
        .get_capacity(GetCapacityRequest::default())
        .await
        .expect("capacity")
        .into_inner()
        .available_capacity;
    assert_eq!(before - after, GIB);
    d.stop().await;
}

#[tokio::test]
async fn expand_raises_the_quota_idempotently_and_never_shrinks() {
    let d = Driver::start(20.0).await;
    let mut c = d.controller();
    c.create_volume(create_request("pvc-d", GIB))
        .await
        .expect("create");
    let expand = |id: &str, bytes| ControllerExpandVolumeRequest {
        volume_id: id.into(),
        capacity_range: range(bytes, 0),
        ..Default::default()
    };
    for _ in 0..2 {
        let r = c
            .controller_expand_volume(expand("share:delete:pvc-d", 3 * GIB))
            .await
            .expect("expand")
            .into_inner();
        assert_eq!(r.capacity_bytes, 3 * GIB);
        assert!(!r.node_expansion_required);
    }
    let r = c
        .controller_expand_volume(expand("share:delete:pvc-d", GIB))
        .await
        .expect("smaller")
        .into_inner();
    assert_eq!(r.capacity_bytes, 3 * GIB, "never shrinks");
    assert_eq!(
        shares(&d)
            .show("pvc-d")
            .expect("share")
            .record
            .limits
            .block_hard,
        3 * GIB as u64
    );
    let no_range = ControllerExpandVolumeRequest {
        volume_id: "share:delete:pvc-d".into(),
        ..Default::default()
    };
    assert_eq!(
        code(c.controller_expand_volume(no_range).await),
        Code::InvalidArgument
    );
    assert_eq!(
        code(c.controller_expand_volume(expand("", GIB)).await),
        Code::InvalidArgument
    );
    for missing in ["share:delete:nope", "someone-elses-volume"] {
        assert_eq!(
            code(c.controller_expand_volume(expand(missing, GIB)).await),
            Code::NotFound,
            "{missing}"
        );
    }
    d.stop().await;
}

#[tokio::test]
async fn delete_removes_or_retains_per_on_delete_and_is_idempotent() {
    let d = Driver::start(20.0).await;
    let mut c = d.controller();
    let mut retained = create_request("pvc-keep", GIB);
    retained.parameters = params(&[("onDelete", "retain")]);
    let kept = c
        .create_volume(retained)
        .await
        .expect("create")
        .into_inner();
    let kept_id = kept.volume.expect("volume").volume_id;
    assert_eq!(kept_id, "share:retain:pvc-keep");
    c.create_volume(create_request("pvc-gone", GIB))
        .await
        .expect("create");
    std::fs::write(d.root().join("shares/pvc-gone/data"), b"x").expect("write");

    for _ in 0..2 {
        for id in [kept_id.as_str(), "share:delete:pvc-gone", "not-ours"] {
            c.delete_volume(DeleteVolumeRequest {
                volume_id: id.into(),
                ..Default::default()
            })
            .await
            .unwrap_or_else(|e| panic!("delete {id}: {e}"));
        }
    }
    let s = shares(&d);
    assert!(s.show("pvc-keep").is_ok(), "retained share is kept");
    assert!(d.root().join("shares/pvc-keep").is_dir());
    assert!(matches!(
        s.show("pvc-gone"),
        Err(lk_volume::shares::ShareError::NotFound(_))
    ));
    assert!(!d.root().join("shares/pvc-gone").exists());
    let empty = DeleteVolumeRequest::default();
    assert_eq!(code(c.delete_volume(empty).await), Code::InvalidArgument);
    d.stop().await;
}

#[tokio::test]
async fn validate_volume_capabilities() {
    let d = Driver::start(20.0).await;
    let mut c = d.controller();
    c.create_volume(create_request("pvc-e", GIB))
        .await
        .expect("create");
    let req = |id: &str, caps| ValidateVolumeCapabilitiesRequest {
        volume_id: id.into(),
        volume_capabilities: caps,
        ..Default::default()
    };
    let ok = c
        .validate_volume_capabilities(req(
            "share:delete:pvc-e",
            vec![mount_cap(Mode::MultiNodeReaderOnly)],
        ))
        .await
        .expect("validate")
        .into_inner();
    assert!(ok.confirmed.is_some());
    let block = c
        .validate_volume_capabilities(req("share:delete:pvc-e", vec![block_cap()]))
        .await
        .expect("validate")
        .into_inner();
    assert!(block.confirmed.is_none());
    assert!(block.message.contains("block"), "{}", block.message);
    let cases = [
        (
            "",
            vec![mount_cap(Mode::SingleNodeWriter)],
            Code::InvalidArgument,
        ),
        ("share:delete:pvc-e", vec![], Code::InvalidArgument),
        (
            "share:delete:nope",
            vec![mount_cap(Mode::SingleNodeWriter)],
            Code::NotFound,
        ),
    ];
    for (id, caps, want) in cases {
        assert_eq!(
            code(c.validate_volume_capabilities(req(id, caps)).await),
            want,
            "{id}"
        );
    }
    d.stop().await;
}

/// The CO retries while a create is still running: concurrent CreateVolumes of one name make
/// one share, and each gets that volume or ABORTED (the share registry was locked), never
/// ALREADY_EXISTS or a second share. (The window where a sibling's create lands between our
/// lookup and our create is narrow; this test does not force it.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_of_one_name_get_one_volume() {
    let d = Driver::start(20.0).await;
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let mut c = d.controller();
            tokio::spawn(async move { c.create_volume(create_request("pvc-race", GIB)).await })
        })
        .collect();
    let mut ids = Vec::new();
    for call in calls {
        match call.await.expect("task") {
            Ok(r) => ids.push(r.into_inner().volume.expect("volume").volume_id),
            // The share registry was locked by a sibling: the CO retries ABORTED.
            Err(s) => assert_eq!(s.code(), Code::Aborted, "{s}"),
        }
    }
    assert!(!ids.is_empty());
    assert!(
        ids.iter().all(|id| id == "share:delete:pvc-race"),
        "{ids:?}"
    );
    assert_eq!(shares(&d).list().expect("list").len(), 1);
    d.stop().await;
}
