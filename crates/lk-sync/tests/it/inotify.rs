// SPDX-License-Identifier: Apache-2.0
//! Live inotify tests: real files in temp directories, the real `lk-sync` binary.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::{index_listing, tree_listing, wait_converged, write, SyncProc};

const CONVERGE: Duration = Duration::from_secs(120);

pub(crate) struct Tree {
    _dir: tempfile::TempDir,
    pub(crate) root: PathBuf,
    pub(crate) state: PathBuf,
    log: PathBuf,
}

pub(crate) fn tree(containers: &[&str]) -> Tree {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("root");
    for c in containers {
        std::fs::create_dir_all(root.join(c)).expect("mkdir container");
    }
    Tree {
        state: root.join(".lustrekit-gateway"),
        log: dir.path().join("sync.log"),
        root,
        _dir: dir,
    }
}

pub(crate) fn start(t: &Tree, extra: &[&str]) -> SyncProc {
    let root = t.root.to_str().expect("utf8");
    let mut args = vec!["--root", root, "--backend", "inotify"];
    args.extend_from_slice(extra);
    SyncProc::start(&args, &t.log)
}

/// `n` files spread over 20 directories of 10 subdirectories each.
pub(crate) fn create_files(cont: &Path, tag: &str, range: std::ops::Range<usize>) {
    for i in range {
        let p = cont.join(format!(
            "{tag}{:02}/s{:02}/f{i:05}.dat",
            i % 20,
            (i / 20) % 10
        ));
        write(&p, format!("file {i}").as_bytes());
    }
}

/// Renames some files (in place and across directories), one whole directory, moves one
/// directory to another container, deletes some files and one subtree, overwrites some, and
/// does a gateway-style temp-file-and-rename write.
pub(crate) fn mutate(root: &Path, tag: &str, n: usize) {
    let cont = root.join("acct/cont");
    let path = |i: usize| {
        cont.join(format!(
            "{tag}{:02}/s{:02}/f{i:05}.dat",
            i % 20,
            (i / 20) % 10
        ))
    };
    for i in (0..n).step_by(37) {
        let _ = std::fs::rename(
            path(i),
            path(i).with_file_name(format!("renamed{i:05}.dat")),
        );
    }
    for i in (5..n).step_by(41) {
        let to = cont.join(format!("{tag}07/moved{i:05}.dat"));
        let _ = std::fs::rename(path(i), to);
    }
    for i in (3..n).step_by(29) {
        let _ = std::fs::remove_file(path(i));
    }
    for i in (11..n).step_by(53) {
        if path(i).exists() {
            write(&path(i), format!("file {i}, longer now").as_bytes());
        }
    }
    std::fs::rename(
        cont.join(format!("{tag}03")),
        cont.join(format!("{tag}03-renamed")),
    )
    .expect("rename a directory");
    std::fs::rename(
        cont.join(format!("{tag}04")),
        root.join("acct/other").join(format!("{tag}04")),
    )
    .expect("move a directory to another container");
    std::fs::remove_dir_all(cont.join(format!("{tag}05/s02"))).expect("rm -r");
    let tmp = cont.join(format!("{tag}06/.lk-tmp-1234"));
    write(&tmp, b"put by the gateway");
    std::fs::rename(&tmp, cont.join(format!("{tag}06/put.dat"))).expect("rename temp");
}

#[test]
fn live_10k_files_with_renames_and_deletes_converge() {
    let t = tree(&["acct/cont", "acct/other"]);
    let sync = start(&t, &["--no-etag"]);
    create_files(&t.root.join("acct/cont"), "d", 0..10_000);
    mutate(&t.root, "d", 10_000);
    wait_converged(&t.root, &t.state, CONVERGE, &|| sync.log());
    let listing = index_listing(&t.state);
    assert!(listing.len() > 8_000, "{} objects", listing.len());
    assert!(
        listing.contains_key(&(
            "acct".into(),
            "cont".into(),
            "d03-renamed/s00/f00003.dat".into()
        )) || listing
            .keys()
            .any(|(_, _, n)| n.starts_with("d03-renamed/"))
    );
    assert!(listing
        .keys()
        .any(|(_, c, n)| c == "other" && n.starts_with("d04/")));
    assert!(!listing
        .keys()
        .any(|(_, c, n)| c == "cont" && n.starts_with("d04/")));
}

#[test]
fn kill9_half_way_and_restart_loses_and_duplicates_nothing() {
    let t = tree(&["acct/cont", "acct/other"]);
    let mut sync = start(&t, &["--no-etag"]);
    let cont = t.root.join("acct/cont");
    create_files(&cont, "k", 0..2_500);
    // Killed while it is still working through the burst.
    sync.kill9();
    create_files(&cont, "k", 2_500..5_000);
    mutate(&t.root, "k", 5_000);
    let sync = start(&t, &["--no-etag"]);
    // Live changes after the restart too.
    create_files(&cont, "l", 0..500);
    std::fs::rename(cont.join("l01"), cont.join("l01-renamed")).expect("rename");
    std::fs::remove_dir_all(cont.join("k09")).expect("rm -r");
    wait_converged(&t.root, &t.state, CONVERGE, &|| sync.log());
}

#[test]
fn queue_overflow_rescans_only_the_overflowing_account() {
    let t = tree(&["busy/c", "quiet/c"]);
    let sync = start(&t, &["--no-etag"]);
    let pid = sync.child.id().to_string();
    let sig = |s: &str| {
        let ok = std::process::Command::new("kill")
            .args([s, &pid])
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill {s}");
    };
    // Stopped, it reads nothing: the kernel queue of the busy account (16384 events by
    // default) overflows, the quiet account's does not.
    sig("-STOP");
    let max: usize = std::fs::read_to_string("/proc/sys/fs/inotify/max_queued_events")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(16_384);
    // In a directory already watched: a new directory's files make no events until it is.
    for i in 0..(max / 3 + 2_000) {
        write(&t.root.join(format!("busy/c/f{i:05}")), b"x");
    }
    write(&t.root.join("quiet/c/one.txt"), b"1");
    write(&t.root.join("quiet/c/dir/two.txt"), b"2");
    sig("-CONT");
    wait_converged(&t.root, &t.state, CONVERGE, &|| sync.log());
    let log = sync.log();
    let overflows: Vec<&str> = log.lines().filter(|l| l.contains("overflowed")).collect();
    assert!(!overflows.is_empty(), "no overflow reported:\n{log}");
    for l in overflows {
        assert!(l.contains("/busy") && !l.contains("/quiet"), "{l}");
    }
}

fn settings(t: &Tree) -> lk_gateway::Settings {
    lk_gateway::Settings {
        root: t.root.clone(),
        listen: "127.0.0.1:0".parse().expect("addr"),
        state_dir: t.state.clone(),
        token_ttl: 60,
        xattr_overflow: Default::default(),
        policies: Default::default(),
        public_url: None,
        workers: None,
        log: "info".into(),
        users: Vec::new(),
        limits: Default::default(),
        reconcile: false,
        server: Default::default(),
    }
}

fn put(gw: &lk_gateway::Gateway, name: &str, body: &'static [u8]) {
    put_with(gw, name, body, Default::default());
}

fn put_with(
    gw: &lk_gateway::Gateway,
    name: &str,
    body: &'static [u8],
    meta: lk_gateway::meta::Meta,
) {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let spec = lk_gateway::gateway::PutSpec {
        account: "acct".into(),
        container: "cont".into(),
        object: name.into(),
        meta,
        expected_etag: None,
        expected_len: None,
        if_none_match_any: false,
        stored_etag: None,
        keep_version: None,
    };
    let writer = std::thread::spawn(move || {
        let _ = tx.blocking_send(Ok(bytes::Bytes::from_static(body)));
    });
    gw.put_object_blocking(spec, rx).expect("put");
    writer.join().expect("writer");
}

#[test]
fn gateway_writes_count_once_and_posix_files_get_their_etag() {
    let t = tree(&["acct/cont"]);
    let sync = start(&t, &["--hash-settle-ms", "0"]);
    let gw = lk_gateway::Gateway::open(settings(&t)).expect("gateway");
    for i in 0..40 {
        put(
            &gw,
            &format!("gw/obj{}", i % 25),
            b"written through the gateway",
        );
    }
    assert!(gw.delete_object("acct", "cont", "gw/obj3").expect("delete"));
    for i in 0..20 {
        write(
            &t.root.join(format!("acct/cont/posix/f{i}")),
            format!("posix {i}").as_bytes(),
        );
    }
    wait_converged(&t.root, &t.state, CONVERGE, &|| sync.log());
    let c = gw
        .index
        .container("acct", "cont")
        .expect("q")
        .expect("listed");
    assert_eq!(c.object_count, 24 + 20);
    // Every ETag is the MD5 of the file: the gateway's kept, the POSIX files' computed.
    let deadline = std::time::Instant::now() + CONVERGE;
    loop {
        let mut wrong = Vec::new();
        for ((a, c, n), _) in tree_listing(&t.root) {
            let want = lk_gateway::gateway::md5_file(&t.root.join(&a).join(&c).join(&n))
                .expect("md5")
                .0;
            let got = gw.index.get_object(&a, &c, &n).expect("q").map(|r| r.etag);
            if got.as_deref() != Some(want.as_str()) {
                wrong.push((n, got));
            }
        }
        if wrong.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "ETags not filled in: {wrong:?}\n{}",
            sync.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A listing never shows an empty ETag: with hashing off (`--no-etag`) the sync lists POSIX
/// files without one, and the gateway's listing hashes those rows when it serves them.
#[test]
fn listings_fill_in_etags_the_sync_has_not_computed_yet() {
    let t = tree(&["acct/cont"]);
    let sync = start(&t, &["--no-etag"]);
    for i in 0..5 {
        write(
            &t.root.join(format!("acct/cont/p/f{i}")),
            format!("posix {i}").as_bytes(),
        );
    }
    wait_converged(&t.root, &t.state, CONVERGE, &|| sync.log());
    let gw = lk_gateway::Gateway::open(settings(&t)).expect("gateway");
    let params = lk_gateway::index::ListParams {
        limit: 100,
        ..Default::default()
    };
    let raw = gw
        .index
        .list_objects("acct", "cont", &params)
        .expect("list");
    let unhashed = raw
        .iter()
        .filter(|e| matches!(e, lk_gateway::index::Entry::Item(r) if r.etag.is_empty()))
        .count();
    assert_eq!(unhashed, 5, "the sync listed them without ETags");
    let listed = gw
        .list_objects_hashed("acct", "cont", &params)
        .expect("hashed listing");
    assert_eq!(listed.len(), 5);
    for e in listed {
        let lk_gateway::index::Entry::Item(r) = e else {
            panic!("no delimiter, no subdir")
        };
        let want = lk_gateway::gateway::md5_file(&t.root.join("acct/cont").join(&r.name))
            .expect("md5")
            .0;
        assert_eq!(r.etag, want, "{}", r.name);
    }
}

/// A DLO's file follows segments written through POSIX: the sync's index changes mark the
/// DLO's view, and a refresher pass writes the segments' bytes into the manifest's file.
#[test]
fn a_dlo_file_follows_segments_written_through_posix() {
    let t = tree(&["acct/cont"]);
    let sync = start(&t, &["--hash-settle-ms", "0"]);
    let gw = lk_gateway::Gateway::open(settings(&t)).expect("gateway");
    let manifest = [(
        lk_gateway::meta::keys::MANIFEST.to_string(),
        "cont/seg/".to_string(),
    )];
    put_with(&gw, "big", b"", manifest.into_iter().collect());
    assert_eq!(lk_gateway::dlo::refresh_dirty(&gw).expect("pass"), 1);
    let file = t.root.join("acct/cont/big");
    assert_eq!(std::fs::read(&file).expect("file"), b"");

    write(&t.root.join("acct/cont/seg/1"), b"one,");
    write(&t.root.join("acct/cont/seg/2"), b"two");
    wait_converged(&t.root, &t.state, CONVERGE, &|| sync.log());
    let deadline = std::time::Instant::now() + CONVERGE;
    while std::fs::read(&file).expect("file") != b"one,two" {
        assert!(
            std::time::Instant::now() < deadline,
            "the DLO's file never held its segments\n{}",
            sync.log()
        );
        lk_gateway::dlo::refresh_dirty(&gw).expect("pass");
        std::thread::sleep(Duration::from_millis(200));
    }
    // Still the DLO the API serves, listed with its manifest's size.
    let info = gw.load_object("acct", "cont", "big").expect("load");
    assert_eq!(info.dlo(), Some("cont/seg/"));
    let listed = gw.index.get_object("acct", "cont", "big").expect("q");
    assert_eq!(listed.map(|r| r.size), Some(0));
}
