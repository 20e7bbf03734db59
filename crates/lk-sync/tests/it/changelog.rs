// SPDX-License-Identifier: Apache-2.0
//! Recorded changelog tests: the changelog backend of the real `lk-sync` binary reads
//! recorded `lfs changelog` text in the documented format, printed by a stand-in `lfs`
//! (`tests/fake-lfs.sh`) through the same code path as a live `lfs changelog --follow`.
//! Each test changes a real tree the way a Lustre client would and records the records
//! Lustre writes for it; `lfs fid2path` answers from the resulting table of FIDs.

use std::time::Duration;

use crate::common::{wait_converged, write, SyncProc};
use crate::fake_lustre::{Lustre, MDT};

#[test]
fn recorded_changelog_creates_links_and_nodes_with_and_without_optional_fields() {
    for optional in [true, false] {
        let mut l = Lustre::new(optional);
        l.mkdir("swift/acct/cont/dir");
        l.creat("swift/acct/cont/dir/a.txt", "alpha");
        l.creat("swift/acct/cont/name with spaces.txt", "spaces");
        l.hlink("swift/acct/cont/dir/a.txt", "swift/acct/cont/hardlink.txt");
        l.slink("dir/a.txt", "swift/acct/cont/symlink");
        l.mknod("swift/acct/cont/fifo");
        l.creat("swift/outside-the-account.txt", "not listed");
        l.creat("elsewhere.txt", "outside the gateway root");
        l.sync_ok();
        l.assert_converged();
        assert_eq!(
            l.names(),
            [
                "acct/cont/dir/a.txt",
                "acct/cont/hardlink.txt",
                "acct/cont/name with spaces.txt"
            ],
            "optional fields: {optional}"
        );
        let last = l.next_index - 1;
        assert_eq!(l.cursor(MDT), Some(last.to_string()));
        l.assert_clears(MDT, last);
    }
}

#[test]
fn recorded_changelog_unlink_rmdir_and_renames() {
    let mut l = Lustre::new(true);
    l.mkdir("swift/acct/cont/d");
    l.mkdir("swift/acct/cont/d/sub");
    for n in ["x", "y", "sub/z"] {
        l.creat(&format!("swift/acct/cont/d/{n}"), n);
    }
    l.creat("swift/acct/cont/gone.txt", "gone");
    l.creat("swift/acct/cont/target.txt", "old target");
    l.creat("swift/acct/cont/source.txt", "new content");
    l.mkdir("swift/acct/cont/empty");
    l.mkdir("swift/acct/cont/moving");
    l.creat("swift/acct/cont/moving/m", "m");
    l.sync_ok();
    l.assert_converged();
    // A carried entry keeps its ETag: mark one to see it move with its directory.
    let idx = l.index();
    let mut rec = idx
        .get_object("acct", "cont", "d/sub/z")
        .expect("q")
        .expect("listed");
    rec.etag = "0123456789abcdef0123456789abcdef".into();
    idx.upsert_object("acct", "cont", &rec).expect("upsert");

    l.unlink("swift/acct/cont/gone.txt");
    l.rmdir("swift/acct/cont/empty");
    l.rename("swift/acct/cont/d/x", "swift/acct/cont/d/x-renamed");
    l.rename("swift/acct/cont/source.txt", "swift/acct/cont/target.txt");
    l.rename("swift/acct/cont/d", "swift/acct/cont/e");
    l.rename("swift/acct/cont/moving", "swift/acct/other/moved");
    l.unlink("swift/acct/cont/e/y");
    l.sync_ok();
    l.assert_converged();
    assert_eq!(
        l.names(),
        [
            "acct/cont/e/sub/z",
            "acct/cont/e/x-renamed",
            "acct/cont/target.txt",
            "acct/other/moved/m"
        ]
    );
    let z = idx
        .get_object("acct", "cont", "e/sub/z")
        .expect("q")
        .expect("listed");
    assert_eq!(z.etag, "0123456789abcdef0123456789abcdef");
    let t = idx
        .get_object("acct", "cont", "target.txt")
        .expect("q")
        .expect("listed");
    assert_eq!(t.size, "new content".len() as u64);
    // A rmdir of a directory whose files are listed drops them (rm -r shows them one by one,
    // but a directory may also vanish as a whole, e.g. moved out of the root).
    l.rename("swift/acct/cont/e", "outside");
    l.sync_ok();
    l.assert_converged();
    assert_eq!(l.names(), ["acct/cont/target.txt", "acct/other/moved/m"]);
    l.assert_clears(MDT, l.next_index - 1);
}

#[test]
fn recorded_changelog_content_records_refresh_size_and_mtime() {
    for kind in ["11CLOSE", "13TRUNC", "14SATTR", "17MTIME", "15XATTR"] {
        let mut l = Lustre::new(kind != "17MTIME");
        let f = l.creat("swift/acct/cont/file", "0123456789");
        l.sync_ok();
        // Change size and mtime silently; only the one record tells.
        let path = l.mount.join("swift/acct/cont/file");
        std::fs::write(&path, "01234").expect("write");
        let when = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_600_000_000);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_modified(when))
            .expect("set mtime");
        l.record(kind, 0, f, "");
        l.sync_ok();
        l.assert_converged();
        let r = l
            .index()
            .get_object("acct", "cont", "file")
            .expect("q")
            .expect("listed");
        assert_eq!(
            (r.size, r.mtime_ns),
            (5, 1_600_000_000_000_000_000),
            "{kind}"
        );
    }
}

#[test]
fn recorded_changelog_create_then_unlink_in_one_batch_leaves_nothing() {
    let mut l = Lustre::new(false);
    l.creat("swift/acct/cont/tmp", "short-lived");
    l.record("17MTIME", 0, l.fid("swift/acct/cont/tmp"), "");
    l.unlink("swift/acct/cont/tmp");
    l.creat("swift/acct/cont/kept", "kept");
    l.sync_ok();
    l.assert_converged();
    assert_eq!(l.names(), ["acct/cont/kept"]);
}

#[test]
fn recorded_changelog_malformed_lines_are_reported_and_skipped() {
    let mut l = Lustre::new(true);
    l.creat("swift/acct/cont/before", "b");
    let garbage = [
        "this is not a record",
        "99999999999999999999999 01CREAT 10:00 2024.01.01 0x0 t=[0x1:0x2:0x0] p=[0x1:0x1:0x0] a",
        "1 01CREAT",
        "",
        "1 99NOPE 10:00 2024.01.01 0x0 t=[0x1:0x2:0x0]",
    ];
    for g in garbage {
        l.records.entry(MDT.into()).or_default().push(g.to_string());
    }
    // Numbered but broken: skipped, yet the cursor moves past it.
    let bad = l.next_index;
    l.next_index += 1;
    l.records.entry(MDT.into()).or_default().push(format!(
        "{bad} 01CREAT 15:15:41.3 2018.01.09 0x0 t=[0x200000402:0xzz:0x0] p=[0x200000402:0x5:0x0] x"
    ));
    l.creat("swift/acct/cont/after", "a");
    let err = l.sync_ok();
    l.assert_converged();
    assert_eq!(l.names(), ["acct/cont/after", "acct/cont/before"]);
    let warned = err
        .lines()
        .filter(|l| l.contains("malformed changelog record skipped"))
        .count();
    assert_eq!(warned, 5, "{err}");
    assert_eq!(l.cursor(MDT), Some((l.next_index - 1).to_string()));
}

#[test]
fn recorded_changelog_crash_between_commit_and_clear() {
    let mut l = Lustre::new(true);
    l.mkdir("swift/acct/cont/d");
    for i in 0..50 {
        l.creat(&format!("swift/acct/cont/d/f{i}"), &format!("{i}"));
    }
    l.rename("swift/acct/cont/d/f0", "swift/acct/cont/d/f1");
    let last = l.next_index - 1;
    std::fs::write(l.fake.join("crash-on-clear"), "").expect("marker");
    let (ok, err) = l.sync_once();
    assert!(
        !ok,
        "lk-sync should have been killed during changelog_clear:\n{err}"
    );
    // The first batch (lines read together; how many is up to the pipe) was committed with
    // its cursor, then nothing was cleared.
    let cursor: u64 = l.cursor(MDT).expect("cursor").parse().expect("number");
    assert!(cursor >= 1 && cursor <= last, "{cursor}");
    assert!(l.clears().is_empty());
    // The first batch holds record 1, the MKDIR, whose rescan of the new directory found
    // every file already there: the index is ahead of the cursor, which is harmless.
    l.assert_converged();
    let last = cursor;
    // Restart: it clears what it had committed first, then skips the records it already
    // applied when lfs prints them again.
    let err = l.sync_ok();
    assert_eq!(l.assert_clears(MDT, l.next_index - 1)[0], last);
    assert!(err.contains("skipped (already applied)"), "{err}");
    assert_eq!(l.cursor(MDT), Some((l.next_index - 1).to_string()));
    l.assert_converged();
    // New records after the restart are applied on top.
    l.unlink("swift/acct/cont/d/f2");
    l.sync_ok();
    l.assert_converged();
    let ends = l.assert_clears(MDT, l.next_index - 1);
    assert!(ends.iter().all(|e| *e >= last), "{ends:?}");
    let calls = std::fs::read_to_string(l.fake.join("calls")).expect("calls");
    assert!(
        calls
            .lines()
            .filter(|c| c.starts_with("changelog_clear"))
            .all(|c| !c.ends_with(" 0")),
        "{calls}"
    );
    assert!(
        calls.contains(&format!("changelog {MDT} {}", last + 1)),
        "{calls}"
    );
}

#[test]
fn recorded_changelog_follow_mode_commits_then_clears() {
    let mut l = Lustre::new(true);
    l.creat("swift/acct/cont/a", "a");
    l.creat("swift/acct/cont/b", "b");
    l.save();
    let args = l.args(&[MDT]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let sync = SyncProc::start_env(
        &args,
        &l.fake.join("sync.log"),
        &[("FAKE_LFS_DIR", &l.fake)],
    );
    let last = l.next_index - 1;
    l.wait_cleared(MDT, last, &|| sync.log());
    l.assert_clears(MDT, last);
    wait_converged(&l.root, &l.state(), Duration::from_secs(60), &|| sync.log());
    let calls = std::fs::read_to_string(l.fake.join("calls")).expect("calls");
    assert!(
        calls.starts_with(&format!("changelog --follow {MDT}")),
        "{calls}"
    );
}

#[test]
fn recorded_changelog_two_mdts_have_their_own_cursor() {
    let mut l = Lustre::new(false);
    let mdt1 = "lustre-MDT0001";
    l.creat("swift/acct/cont/on-mdt0", "0");
    // A directory on the second MDT and a file in it, recorded there.
    std::fs::create_dir(l.mount.join("swift/acct/cont/remote")).expect("mkdir");
    let d = l.new_fid();
    l.fids.insert(d, vec!["swift/acct/cont/remote".into()]);
    let e = l.entry("swift/acct/cont/remote");
    l.record_on(mdt1, "02MKDIR", 0, d, &e);
    write(&l.mount.join("swift/acct/cont/remote/f"), b"1");
    let f = l.new_fid();
    l.fids.insert(f, vec!["swift/acct/cont/remote/f".into()]);
    let e = l.entry("swift/acct/cont/remote/f");
    let last1 = l.record_on(mdt1, "01CREAT", 0, f, &e);
    l.sync_ok();
    l.assert_converged();
    assert_eq!(l.names(), ["acct/cont/on-mdt0", "acct/cont/remote/f"]);
    assert_eq!(l.cursor(mdt1), Some(last1.to_string()));
    assert_eq!(l.cursor(MDT), Some("2".into()));
    l.assert_clears(MDT, 2);
    l.assert_clears(mdt1, last1);
}

/// Records on two MDTs: a file on MDT0000, a directory on MDT0001; returns MDT0001's name
/// and last record index.
fn two_mdts(l: &mut Lustre) -> (&'static str, u64) {
    let mdt1 = "lustre-MDT0001";
    l.creat("swift/acct/cont/on-mdt0", "0");
    std::fs::create_dir(l.mount.join("swift/acct/cont/remote")).expect("mkdir");
    let d = l.new_fid();
    l.fids.insert(d, vec!["swift/acct/cont/remote".into()]);
    let e = l.entry("swift/acct/cont/remote");
    (mdt1, l.record_on(mdt1, "02MKDIR", 0, d, &e))
}

#[test]
fn recorded_changelog_each_mdt_is_cleared_with_its_own_user() {
    // A user registered by name gets its own id on each MDT: both given as MDT=USER (no
    // --changelog-user), then MDT0000 plain with --changelog-user cl1 beside MDT0001=USER.
    for mixed in [false, true] {
        let mut l = Lustre::new(false);
        let (mdt1, last1) = two_mdts(&mut l);
        let mdt1_arg = format!("{mdt1}=cl2-lk-swift");
        let (user0, args) = if mixed {
            ("cl1", l.args_as(Some("cl1"), &[MDT, &mdt1_arg]))
        } else {
            let mdt0_arg = format!("{MDT}=cl1-lk-swift");
            ("cl1-lk-swift", l.args_as(None, &[&mdt0_arg, &mdt1_arg]))
        };
        let (ok, err) = l.sync_once_with(args);
        assert!(ok, "mixed: {mixed}:\n{err}");
        l.assert_converged();
        assert_eq!(l.names(), ["acct/cont/on-mdt0"]);
        assert_eq!(l.cursor(MDT), Some("2".into()));
        assert_eq!(l.cursor(mdt1), Some(last1.to_string()));
        l.assert_clears_as(MDT, user0, 2);
        l.assert_clears_as(mdt1, "cl2-lk-swift", last1);
    }
}

#[test]
fn recorded_changelog_mdt_without_a_user_is_refused() {
    let mut l = Lustre::new(false);
    let (mdt1, _) = two_mdts(&mut l);
    let mdt0_arg = format!("{MDT}=cl1-lk-swift");
    let (ok, err) = l.sync_once_with(l.args_as(None, &[&mdt0_arg, mdt1]));
    assert!(!ok, "{err}");
    assert!(
        err.contains(&format!("--mdt \"{mdt1}\": no changelog user")),
        "{err}"
    );
    // Nothing was read nor cleared.
    assert!(l.clears().is_empty());
    assert!(!l.fake.join("calls").exists());
}
