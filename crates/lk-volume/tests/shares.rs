// SPDX-License-Identifier: Apache-2.0
//! Shares on the directory stand-in: lifecycle with usage against limits, access rules and
//! their nodemaps, refusals, and failures at every Lustre step unwinding.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::{standin, standin_plain, tree, FaultLustre};
use lk_volume::lustre::{LustreOps, NidRange};
use lk_volume::shares::{nodemap_name, AccessLevel, ShareConfig, ShareError, ShareRequest, Shares};
use lk_volume::size::MIB;

fn shares(root: &Path, lustre: Arc<dyn LustreOps>) -> Shares {
    Shares::new(root.join("shares"), lustre, ShareConfig::default())
}

fn req(name: &str, size: u64, inodes: Option<u64>) -> ShareRequest {
    ShareRequest {
        name: name.into(),
        size,
        inodes,
    }
}

fn range(s: &str) -> NidRange {
    NidRange::parse(s).expect("valid range")
}

#[test]
fn lifecycle_on_the_stand_in() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lustre = standin(dir.path());
    let s = shares(dir.path(), lustre.clone());
    let a = s
        .create(&req("alpha", 10 * MIB, Some(100)))
        .expect("create");
    assert_eq!(a.record.project_id, 100_000);
    assert_eq!(a.fileset, "/shares/alpha");
    assert_eq!(a.usage.inodes, 1, "the directory itself");
    assert!(!a.enforced);
    assert_eq!(
        (a.record.limits.block_hard, a.record.limits.inode_hard),
        (10 * MIB, 100)
    );
    let b = s.create(&req("beta", MIB, None)).expect("create beta");
    assert_eq!(b.record.project_id, 100_001);
    assert!(matches!(
        s.create(&req("alpha", MIB, None)),
        Err(ShareError::Exists(_))
    ));

    std::fs::create_dir(a.path.join("sub")).expect("mkdir");
    std::fs::write(a.path.join("sub/data"), vec![7u8; 3 * MIB as usize]).expect("write");
    let a = s.show("alpha").expect("show");
    assert_eq!(a.usage.inodes, 3);
    assert!(a.usage.bytes >= 3 * MIB, "{:?}", a.usage);
    let names: Vec<_> = s
        .list()
        .expect("list")
        .into_iter()
        .map(|x| x.record.name)
        .collect();
    assert_eq!(names, ["alpha", "beta"]);

    s.resize("alpha", 20 * MIB, Some(200)).expect("grow");
    let err = s.resize("alpha", MIB, None).expect_err("below usage");
    assert!(
        matches!(err, ShareError::BelowUsage { what: "bytes", .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("lowering below usage is refused"),
        "{err}"
    );
    let err = s
        .resize("alpha", 20 * MIB, Some(2))
        .expect_err("below inode usage");
    assert!(err.to_string().contains("3 inodes"), "{err}");
    assert_eq!(
        s.show("alpha").expect("show").record.limits.block_hard,
        20 * MIB
    );
    s.delete("beta", false)
        .expect("delete without access rules");
    assert!(!b.path.exists());
}

#[test]
fn access_rules_and_their_nodemaps() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lustre = standin(dir.path());
    let s = shares(dir.path(), lustre);
    s.create(&req("alpha", 10 * MIB, None)).expect("alpha");
    s.create(&req("beta", MIB, None)).expect("beta");
    let rw = range("10.0.0.[2-5]@tcp");
    let ro = range("10.0.1.0/24@tcp");
    s.allow("alpha", &rw, AccessLevel::Rw).expect("allow rw");
    s.allow("alpha", &ro, AccessLevel::Ro).expect("allow ro");
    s.allow("alpha", &rw, AccessLevel::Rw)
        .expect("same rule again changes nothing");
    let err = s
        .allow("alpha", &rw, AccessLevel::Ro)
        .expect_err("other level");
    assert!(matches!(err, ShareError::RuleExists { .. }), "{err}");
    let err = s
        .allow("beta", &rw, AccessLevel::Rw)
        .expect_err("range on another share");
    assert_eq!(
        err.to_string(),
        "NID range 10.0.0.[2-5]@tcp is already allowed on share alpha"
    );

    let state = standin_plain(dir.path()).state().expect("state");
    let w = &state.nodemaps[&nodemap_name("alpha", AccessLevel::Rw)];
    assert_eq!(
        (w.fileset.as_deref(), w.fileset_readonly),
        (Some("/shares/alpha"), false)
    );
    assert_eq!(w.ranges, std::slice::from_ref(&rw));
    assert_eq!(w.properties["trusted"], "1");
    assert_eq!(w.properties["admin"], "0");
    let r = &state.nodemaps[&nodemap_name("alpha", AccessLevel::Ro)];
    assert!(r.fileset_readonly);
    assert_eq!(r.properties["readonly_mount"], "1");
    assert_eq!(state.projects["shares/alpha"], 100_000);
    assert!(!state.nodemap_active, "never switched on by lustrekit");

    s.deny("alpha", &ro).expect("deny ro");
    let state = standin_plain(dir.path()).state().expect("state");
    assert_eq!(
        state.nodemaps.len(),
        1,
        "the ro nodemap went with its last range"
    );
    let err = s.deny("alpha", &ro).expect_err("already denied");
    assert!(matches!(err, ShareError::NoSuchRule { .. }));

    let err = s.delete("alpha", false).expect_err("has access");
    assert_eq!(
        err.to_string(),
        "share alpha still allows 10.0.0.[2-5]@tcp; deny them first, or delete with force"
    );
    s.delete("alpha", true).expect("forced");
    assert!(!dir.path().join("shares/alpha").exists());
    let state = standin_plain(dir.path()).state().expect("state");
    assert!(state.nodemaps.is_empty());
    assert!(!state.quotas.contains_key(&100_000));
    assert!(matches!(s.show("alpha"), Err(ShareError::NotFound(_))));
    // The freed project ID is handed out again.
    assert_eq!(
        s.create(&req("gamma", MIB, None))
            .expect("gamma")
            .record
            .project_id,
        100_000
    );
}

#[test]
fn bad_input_is_refused_before_anything_is_made() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = shares(dir.path(), standin(dir.path()));
    for bad in ["", "..", "a/b", ".lustrekit", "x y"] {
        let err = s.create(&req(bad, MIB, None)).expect_err(bad);
        assert!(err.to_string().starts_with("share name"), "{bad:?}: {err}");
    }
    assert!(matches!(
        s.create(&req("z", 0, None)),
        Err(ShareError::ZeroSize)
    ));
    let err = s.show("ghost").expect_err("unknown");
    assert_eq!(err.to_string(), "share ghost does not exist");
    assert!(matches!(
        s.allow("ghost", &range("10.0.0.1@tcp"), AccessLevel::Rw),
        Err(ShareError::NotFound(_))
    ));
    assert!(NidRange::parse("10.0.0.1").is_err());
    let shares_dir = dir.path().join("shares");
    let made: Vec<_> = std::fs::read_dir(&shares_dir)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(made.iter().all(|n| n == ".lustrekit"), "{made:?}");
}

/// Create and allow fail at each of their Lustre calls in turn; the tree, the stand-in's
/// records and the share records are as before every time.
#[test]
fn failure_at_every_lustre_step_unwinds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    shares(root, standin(root))
        .create(&req("base", MIB, None))
        .expect("a first share");
    type Op = fn(&Shares) -> Result<(), ShareError>;
    let ops: [(&str, Op); 3] = [
        ("create", |s| s.create(&req("new", MIB, Some(10))).map(drop)),
        ("allow", |s| {
            s.allow("base", &range("10.0.0.9@tcp"), AccessLevel::Ro)
                .map(drop)
        }),
        ("resize", |s| s.resize("base", 2 * MIB, None).map(drop)),
    ];
    for (what, op) in ops {
        let mut step = 0;
        loop {
            let before = tree(root);
            let lustre = Arc::new(FaultLustre::new(standin_plain(root), Some(step)));
            match op(&shares(root, lustre)) {
                Ok(()) => break,
                Err(e) => assert_eq!(
                    tree(root),
                    before,
                    "{what} failing at Lustre call {step} ({e})"
                ),
            }
            step += 1;
            assert!(step < 10, "{what} never succeeded");
        }
        assert!(step >= 1, "{what} made no Lustre call");
    }
}
