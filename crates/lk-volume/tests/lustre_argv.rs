// SPDX-License-Identifier: Apache-2.0
//! The exact `lfs` / `lctl` command lines of the real Lustre implementation (2.17 syntax),
//! pinned with insta: each operation alone, then a share's whole life on a "mount".

mod common;

use std::path::Path;
use std::sync::Arc;

use lk_volume::lustre::real::RealLustre;
use lk_volume::lustre::{LustreOps, NidRange, NodemapProperty, QuotaLimits, Stripe};
use lk_volume::runner::{CommandOutput, Recorder};
use lk_volume::shares::{AccessLevel, ShareConfig, ShareRequest, Shares};
use lk_volume::size::{GIB, MIB};

fn real(mount: &Path, client: &Recorder, mgs: &Recorder) -> RealLustre {
    RealLustre::new(mount, "", Arc::new(client.clone()), Arc::new(mgs.clone()))
}

#[test]
fn every_operation_argv() {
    let client = Recorder::new();
    let mgs = Recorder::new();
    let l = real(Path::new("/mnt/lustre"), &client, &mgs);
    let range = NidRange::parse("10.0.0.[2-5]@tcp").expect("range");
    l.setstripe(
        Path::new("/mnt/lustre/volumes/v/base.raw"),
        &Stripe {
            count: -1,
            size: 4 * MIB,
        },
    )
    .expect("setstripe");
    l.setstripe(
        Path::new("/mnt/lustre/volumes/w/base.qcow2"),
        &Stripe { count: 2, size: 0 },
    )
    .expect("setstripe count only");
    l.set_project(Path::new("/mnt/lustre/shares/a"), 100_000)
        .expect("project");
    l.clear_project(Path::new("/mnt/lustre/shares/a"))
        .expect("clear");
    let limits = QuotaLimits {
        block_soft: 10 * GIB,
        block_hard: 10 * GIB + 1,
        inode_soft: 1000,
        inode_hard: 1000,
    };
    l.set_project_quota(100_000, &limits).expect("setquota");
    client.answer(CommandOutput::ok(
        "     /mnt/lustre    2048 10485760 10485761       -       5    1000    1000       -\n",
    ));
    let q = l.project_quota(100_000).expect("quota");
    assert_eq!((q.usage.bytes, q.usage.inodes), (2 * MIB, 5));
    assert_eq!(
        q.limits,
        QuotaLimits {
            block_hard: 10 * GIB + 1024,
            ..limits
        }
    );
    l.nodemap_add("lkalpha1234abcdw").expect("new");
    l.nodemap_add_range("lkalpha1234abcdw", &range)
        .expect("range");
    l.nodemap_set_fileset("lkalpha1234abcdw", "/shares/a", true)
        .expect("fileset");
    l.nodemap_modify("lkalpha1234abcdw", NodemapProperty::Trusted(true))
        .expect("modify");
    l.nodemap_modify("lkalpha1234abcdw", NodemapProperty::DenyUnknown(false))
        .expect("modify");
    l.nodemap_del_range("lkalpha1234abcdw", &range)
        .expect("del range");
    l.nodemap_del("lkalpha1234abcdw").expect("del");
    l.nodemap_activate(true).expect("activate");
    insta::assert_yaml_snapshot!("client", client.lines());
    insta::assert_yaml_snapshot!("mgs", mgs.lines());
}

#[test]
fn quota_output_that_does_not_parse_is_an_error_with_the_output() {
    let client = Recorder::new();
    client.answer(CommandOutput::ok("lfs quota: cannot resolve path\n"));
    let l = real(Path::new("/mnt/lustre"), &client, &Recorder::new());
    let err = l.project_quota(7).expect_err("unparsable");
    assert!(err.to_string().contains("project 7"), "{err}");
    let failing = Recorder::new();
    failing.answer(CommandOutput::failed(
        22,
        "lfs setquota: Invalid argument\n",
    ));
    let l = real(Path::new("/mnt/lustre"), &failing, &Recorder::new());
    let err = l
        .set_project_quota(7, &QuotaLimits::default())
        .expect_err("fails");
    assert_eq!(
        err.to_string(),
        "`lfs setquota -p 7 -b 0 -B 0 -i 0 -I 0 /mnt/lustre` exited with code 22: lfs setquota: Invalid argument"
    );
}

/// What a share's life runs on real Lustre, in order (the mount is a temp dir, shown as
/// /mnt/lustre).
#[test]
fn share_lifecycle_commands() {
    let dir = tempfile::tempdir().expect("tempdir");
    let client = Recorder::new();
    let mgs = Recorder::new();
    let quota =
        "     /mnt/lustre       4 1048576 1048576       -       1   10000   10000       -\n";
    let used_elsewhere =
        "     /mnt/lustre       8       0       0       -       2       0       0       -\n";
    let unused =
        "     /mnt/lustre       0       0       0       -       0       0       0       -\n";
    // create looks for a project ID that owns nothing (100000 is another share root's), runs
    // `lfs project` and `lfs setquota`, then reads `lfs quota` for its answer.
    client.answer(CommandOutput::ok(used_elsewhere));
    client.answer(CommandOutput::ok(unused));
    client.answer(CommandOutput::ok(Vec::new()));
    client.answer(CommandOutput::ok(Vec::new()));
    client.answer(CommandOutput::ok(quota));
    let lustre = Arc::new(real(dir.path(), &client, &mgs));
    let shares = Shares::new(dir.path().join("shares"), lustre, ShareConfig::default());
    let req = ShareRequest {
        name: "alpha".into(),
        size: GIB,
        inodes: Some(10_000),
    };
    let share = shares.create(&req).expect("create");
    assert_eq!(share.usage.bytes, 4096);
    assert!(share.enforced);
    assert_eq!(share.fileset, "/shares/alpha");
    assert_eq!(
        share.record.project_id, 100_001,
        "100000 owns files elsewhere"
    );
    let range = NidRange::parse("192.168.1.[10-20]@tcp").expect("range");
    shares
        .allow("alpha", &range, AccessLevel::Rw)
        .expect("allow");
    shares.deny("alpha", &range).expect("deny");
    shares.delete("alpha", false).expect("delete");
    let root = dir.path().display().to_string();
    let strip = |lines: Vec<String>| -> Vec<String> {
        lines
            .into_iter()
            .map(|l| l.replace(&root, "/mnt/lustre"))
            .collect()
    };
    insta::assert_yaml_snapshot!("share_client", strip(client.lines()));
    insta::assert_yaml_snapshot!("share_mgs", strip(mgs.lines()));
}
