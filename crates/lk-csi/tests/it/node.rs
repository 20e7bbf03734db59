// SPDX-License-Identifier: Apache-2.0
//! The Node service with the directory stand-in: real bind mounts in a temporary directory
//! (root only; a SKIPPED line otherwise), static and dynamic volumes, read-only and
//! read-write publishing, stats, idempotency and error codes.

use std::collections::HashMap;
use std::path::Path;

use lk_csi::proto::volume_capability::access_mode::Mode;
use lk_csi::proto::volume_usage::Unit;
use lk_csi::proto::*;
use tonic::Code;

use crate::common::*;

fn skip_unless_root(test: &str) -> bool {
    if is_root() {
        return false;
    }
    println!("SKIPPED: {test}: bind mounts need root");
    true
}

fn stage_req(id: &str, staging: &Path, ctx: HashMap<String, String>) -> NodeStageVolumeRequest {
    NodeStageVolumeRequest {
        volume_id: id.into(),
        staging_target_path: staging.display().to_string(),
        volume_capability: Some(mount_cap(Mode::MultiNodeMultiWriter)),
        volume_context: ctx,
        ..Default::default()
    }
}

fn publish_req(id: &str, staging: &Path, target: &Path, ro: bool) -> NodePublishVolumeRequest {
    NodePublishVolumeRequest {
        volume_id: id.into(),
        staging_target_path: staging.display().to_string(),
        target_path: target.display().to_string(),
        volume_capability: Some(mount_cap(Mode::MultiNodeMultiWriter)),
        readonly: ro,
        ..Default::default()
    }
}

fn unpublish_req(id: &str, target: &Path) -> NodeUnpublishVolumeRequest {
    NodeUnpublishVolumeRequest {
        volume_id: id.into(),
        target_path: target.display().to_string(),
    }
}

fn unstage_req(id: &str, staging: &Path) -> NodeUnstageVolumeRequest {
    NodeUnstageVolumeRequest {
        volume_id: id.into(),
        staging_target_path: staging.display().to_string(),
    }
}

#[tokio::test]
async fn static_volume_stage_publish_rw_and_ro_stats_unpublish_unstage() {
    if skip_unless_root("static_volume_stage_publish_rw_and_ro_stats_unpublish_unstage") {
        return;
    }
    let d = Driver::start(20.0).await;
    let mut n = d.node();
    let data = d.root().join("projects/a");
    std::fs::create_dir_all(&data).expect("data dir");
    std::fs::write(data.join("hello"), b"from lustre").expect("seed");
    let (staging, rw, ro) = (d.path("staging"), d.path("pods/rw"), d.path("pods/ro"));
    let ctx = params(&[
        ("mgsNids", "10.0.0.1@tcp"),
        ("fsname", "lustre"),
        ("subdir", "projects/a"),
    ]);

    for _ in 0..2 {
        n.node_stage_volume(stage_req("static-a", &staging, ctx.clone()))
            .await
            .expect("stage");
    }
    assert_eq!(
        std::fs::read(staging.join("hello")).expect("staged"),
        b"from lustre"
    );
    for _ in 0..2 {
        n.node_publish_volume(publish_req("static-a", &staging, &rw, false))
            .await
            .expect("publish rw");
        n.node_publish_volume(publish_req("static-a", &staging, &ro, true))
            .await
            .expect("publish ro");
    }
    std::fs::write(rw.join("written"), b"by a pod").expect("rw write");
    assert_eq!(
        std::fs::read(data.join("written")).expect("in the fs"),
        b"by a pod"
    );
    let err = std::fs::write(ro.join("nope"), b"x").expect_err("ro write must fail");
    assert_eq!(err.raw_os_error(), Some(30), "EROFS: {err}");
    assert_eq!(
        std::fs::read(ro.join("hello")).expect("ro read"),
        b"from lustre"
    );
    // The same target in the other mode is a conflict.
    assert_eq!(
        code(
            n.node_publish_volume(publish_req("static-a", &staging, &rw, true))
                .await
        ),
        Code::AlreadyExists
    );

    let stats = n
        .node_get_volume_stats(NodeGetVolumeStatsRequest {
            volume_id: "static-a".into(),
            volume_path: rw.display().to_string(),
            ..Default::default()
        })
        .await
        .expect("stats")
        .into_inner();
    let bytes = stats
        .usage
        .iter()
        .find(|u| u.unit() == Unit::Bytes)
        .expect("bytes");
    assert!(bytes.total > 0 && bytes.used >= 0 && bytes.available <= bytes.total);
    assert!(stats.usage.iter().any(|u| u.unit() == Unit::Inodes));

    for _ in 0..2 {
        n.node_unpublish_volume(unpublish_req("static-a", &rw))
            .await
            .expect("unpublish rw");
        n.node_unpublish_volume(unpublish_req("static-a", &ro))
            .await
            .expect("unpublish ro");
        n.node_unstage_volume(unstage_req("static-a", &staging))
            .await
            .expect("unstage");
    }
    assert!(!rw.exists() && !ro.exists(), "targets removed");
    assert!(
        mounts_under(d.dir.path()).is_empty(),
        "{:?}",
        mounts_under(d.dir.path())
    );
    assert!(
        data.join("written").exists(),
        "data stays in the filesystem"
    );
    d.stop().await;
}

#[tokio::test]
async fn dynamic_volume_create_stage_publish_write_expand_delete() {
    if skip_unless_root("dynamic_volume_create_stage_publish_write_expand_delete") {
        return;
    }
    let d = Driver::start(20.0).await;
    let (mut c, mut n) = (d.controller(), d.node());
    let v = c
        .create_volume(create_request("pvc-dyn", GIB))
        .await
        .expect("create")
        .into_inner()
        .volume
        .expect("volume");
    let (staging, target) = (d.path("staging"), d.path("pods/p1"));
    n.node_stage_volume(stage_req(&v.volume_id, &staging, v.volume_context.clone()))
        .await
        .expect("stage");
    n.node_publish_volume(publish_req(&v.volume_id, &staging, &target, false))
        .await
        .expect("publish");
    std::fs::write(target.join("f"), vec![7u8; 4096]).expect("write");
    assert!(
        d.root().join("shares/pvc-dyn/f").exists(),
        "written into the share"
    );
    let r = c
        .controller_expand_volume(ControllerExpandVolumeRequest {
            volume_id: v.volume_id.clone(),
            capacity_range: range(2 * GIB, 0),
            ..Default::default()
        })
        .await
        .expect("expand while published")
        .into_inner();
    assert_eq!(r.capacity_bytes, 2 * GIB);
    n.node_unpublish_volume(unpublish_req(&v.volume_id, &target))
        .await
        .expect("unpublish");
    n.node_unstage_volume(unstage_req(&v.volume_id, &staging))
        .await
        .expect("unstage");
    c.delete_volume(DeleteVolumeRequest {
        volume_id: v.volume_id.clone(),
        ..Default::default()
    })
    .await
    .expect("delete");
    assert!(!d.root().join("shares/pvc-dyn").exists());
    assert!(mounts_under(d.dir.path()).is_empty());
    d.stop().await;
}

#[tokio::test]
async fn static_volume_by_cluster_name_and_unknown_cluster() {
    if skip_unless_root("static_volume_by_cluster_name_and_unknown_cluster") {
        return;
    }
    let d = Driver::start(20.0).await;
    let mut n = d.node();
    let staging = d.path("staging");
    let unknown = stage_req("s", &staging, params(&[("cluster", "elsewhere")]));
    assert_eq!(
        code(n.node_stage_volume(unknown).await),
        Code::InvalidArgument
    );
    n.node_stage_volume(stage_req("s", &staging, params(&[("cluster", "lab")])))
        .await
        .expect("stage the whole filesystem");
    n.node_unstage_volume(unstage_req("s", &staging))
        .await
        .expect("unstage");
    assert!(mounts_under(d.dir.path()).is_empty());
    d.stop().await;
}

/// Argument checks come before any mount, so these run without root too.
#[tokio::test]
async fn node_requests_missing_fields_are_invalid_argument() {
    let d = Driver::start(20.0).await;
    let mut n = d.node();
    let s = d.path("staging");
    let t = d.path("target");
    let ctx = params(&[("source", "10.0.0.1@tcp:/lustre")]);
    let mut no_cap = stage_req("v", &s, ctx.clone());
    no_cap.volume_capability = None;
    let stage_cases = [
        stage_req("", &s, ctx.clone()),
        stage_req("v", Path::new(""), ctx.clone()),
        no_cap,
        stage_req("v", &s, params(&[])),
        stage_req("v", &s, params(&[("source", "no-fsname")])),
        stage_req("v", &s, params(&[("source", "n@tcp:/fs/../etc")])),
    ];
    for req in stage_cases {
        let what = format!("{req:?}");
        assert_eq!(
            code(n.node_stage_volume(req).await),
            Code::InvalidArgument,
            "{what}"
        );
    }
    let mut pub_no_cap = publish_req("v", &s, &t, false);
    pub_no_cap.volume_capability = None;
    for req in [
        publish_req("", &s, &t, false),
        publish_req("v", Path::new(""), &t, false),
        publish_req("v", &s, Path::new(""), false),
        pub_no_cap,
    ] {
        let what = format!("{req:?}");
        assert_eq!(
            code(n.node_publish_volume(req).await),
            Code::InvalidArgument,
            "{what}"
        );
    }
    assert_eq!(
        code(n.node_unpublish_volume(unpublish_req("", &t)).await),
        Code::InvalidArgument
    );
    assert_eq!(
        code(
            n.node_unpublish_volume(unpublish_req("v", Path::new("")))
                .await
        ),
        Code::InvalidArgument
    );
    assert_eq!(
        code(n.node_unstage_volume(unstage_req("", &s)).await),
        Code::InvalidArgument
    );
    assert_eq!(
        code(n.node_unstage_volume(unstage_req("v", Path::new(""))).await),
        Code::InvalidArgument
    );
    let stats = |id: &str, path: &str| NodeGetVolumeStatsRequest {
        volume_id: id.into(),
        volume_path: path.into(),
        ..Default::default()
    };
    assert_eq!(
        code(n.node_get_volume_stats(stats("", "/x")).await),
        Code::InvalidArgument
    );
    assert_eq!(
        code(n.node_get_volume_stats(stats("v", "")).await),
        Code::InvalidArgument
    );
    let missing = d.path("missing").display().to_string();
    assert_eq!(
        code(n.node_get_volume_stats(stats("v", &missing)).await),
        Code::NotFound
    );
    assert_eq!(
        code(n.node_get_volume_stats(stats("v", "some/path")).await),
        Code::NotFound
    );
    // Publishing what was never staged: NOT_FOUND, and nothing is mounted.
    assert_eq!(
        code(n.node_publish_volume(publish_req("v", &s, &t, false)).await),
        Code::NotFound
    );
    // Unpublish/unstage of what is not mounted succeed (idempotency).
    n.node_unpublish_volume(unpublish_req("v", &t))
        .await
        .expect("unpublish");
    n.node_unstage_volume(unstage_req("v", &s))
        .await
        .expect("unstage");
    d.stop().await;
}

#[tokio::test]
async fn stage_of_a_missing_subdirectory_is_not_found() {
    if skip_unless_root("stage_of_a_missing_subdirectory_is_not_found") {
        return;
    }
    let d = Driver::start(20.0).await;
    let mut n = d.node();
    let req = stage_req(
        "v",
        &d.path("staging"),
        params(&[("source", "n@tcp:/fs/absent")]),
    );
    assert_eq!(code(n.node_stage_volume(req).await), Code::NotFound);
    assert!(mounts_under(d.dir.path()).is_empty());
    d.stop().await;
}
