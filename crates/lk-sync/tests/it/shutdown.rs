// SPDX-License-Identifier: Apache-2.0
//! Stopping the real binary with SIGTERM or SIGINT: it exits 0 once what it had in hand is
//! committed. inotify: the index then lists exactly the tree as it was at the signal.
//! changelog: the changelog is cleared up to the committed cursor and no further. The exit
//! wait is a hang guard ([`EXIT_GUARD`]), not a speed requirement.

use std::time::Duration;

use lk_gateway::index::Index;

use crate::common::{tree_listing, wait_converged, SyncProc, EXIT_GUARD};
use crate::fake_lustre::{Lustre, MDT};
use crate::inotify::{create_files, mutate, start, tree};

#[test]
fn inotify_sigterm_applies_every_change_made_before_it_then_exits_0() {
    let t = tree(&["acct/cont", "acct/other"]);
    // Hashing as soon as a file is listed: the ETag thread is busy when the signal comes.
    let mut sync = start(&t, &["--hash-settle-ms", "0"]);
    create_files(&t.root.join("acct/cont"), "t", 0..3_000);
    mutate(&t.root, "t", 3_000);
    // No wait for convergence: much of this is still queued when the signal comes.
    let status = sync.stop_with("TERM");
    let log = sync.log();
    assert!(status.success(), "{status}:\n{log}");
    assert!(log.contains("lk-sync stopped"), "{log}");
    // Checked once: nothing runs any more to make it true later.
    wait_converged(&t.root, &t.state, Duration::ZERO, &|| log.clone());
    // An ETag the index lists is the file's (one computed while the file changed was
    // corrected by the refresh that follows each hash, applied before the exit).
    let idx = Index::open(&t.state.join("index.sqlite3")).expect("index");
    for (a, c, n) in tree_listing(&t.root).into_keys() {
        let rec = idx.get_object(&a, &c, &n).expect("q").expect("listed");
        if !rec.etag.is_empty() {
            let path = t.root.join(&a).join(&c).join(&n);
            let want = lk_gateway::gateway::md5_file(&path).expect("md5").0;
            assert_eq!(rec.etag, want, "{a}/{c}/{n}\n{log}");
        }
    }
}

/// A directory with `n` files in it, recorded.
fn files(l: &mut Lustre, n: usize) {
    l.mkdir("swift/acct/cont/d");
    for i in 0..n {
        l.creat(&format!("swift/acct/cont/d/f{i}"), &i.to_string());
    }
}

/// `lk-sync` following the recorded changelog of [`MDT`], with `extra` arguments.
fn follow(l: &Lustre, extra: &[&str]) -> SyncProc {
    l.save();
    let mut args = l.args(&[MDT]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    SyncProc::start_env(
        &args,
        &l.fake.join("sync.log"),
        &[("FAKE_LFS_DIR", &l.fake)],
    )
}

#[test]
fn changelog_sigint_or_sigterm_when_caught_up_exits_0() {
    // --follow stopped by SIGINT; --poll stopped by SIGTERM while it waits an hour for its
    // next `lfs changelog`.
    for (extra, sig) in [(&[][..], "INT"), (&["--poll", "3600"][..], "TERM")] {
        let mut l = Lustre::new(true);
        files(&mut l, 20);
        let mut sync = follow(&l, extra);
        let last = l.next_index - 1;
        l.wait_cleared(MDT, last, &|| sync.log());
        let status = sync.stop_with(sig);
        let log = sync.log();
        assert!(status.success(), "{extra:?} SIG{sig}: {status}\n{log}");
        assert!(log.contains("lk-sync stopped"), "{log}");
        l.assert_converged();
        assert_eq!(l.cursor(MDT), Some(last.to_string()));
        l.assert_clears(MDT, last);
        if extra.is_empty() {
            // Its `lfs changelog --follow` was ended and reaped, not left behind.
            let pid = std::fs::read_to_string(l.fake.join("follow.pid")).expect("pid");
            let alive = std::process::Command::new("kill")
                .args(["-0", pid.trim()])
                .stderr(std::process::Stdio::null())
                .status()
                .expect("kill -0")
                .success();
            assert!(
                !alive,
                "lfs changelog --follow (pid {}) still runs",
                pid.trim()
            );
        }
    }
}

#[test]
fn changelog_sigterm_during_a_batch_commits_and_clears_that_batch_only() {
    let mut l = Lustre::new(true);
    files(&mut l, 50);
    // The signal comes while the first batch's paths are being resolved.
    std::fs::write(l.fake.join("term-on-fid2path"), "").expect("marker");
    let mut sync = follow(&l, &[]);
    let status = sync.wait_for_exit(EXIT_GUARD);
    let log = sync.log();
    assert!(status.is_some_and(|s| s.success()), "{status:?}\n{log}");
    assert!(!l.fake.join("term-on-fid2path").exists(), "no fid2path ran");
    assert!(log.contains("lk-sync stopped"), "{log}");
    // That batch was committed with its cursor, then cleared up to it and no further.
    let cursor: u64 = l.cursor(MDT).expect("cursor").parse().expect("number");
    assert!(cursor >= 1, "{cursor}");
    l.assert_clears(MDT, cursor);
    // No other batch was started after the signal: its clear was the last call.
    let calls = std::fs::read_to_string(l.fake.join("calls")).expect("calls");
    let after: Vec<&str> = calls
        .lines()
        .skip_while(|c| !c.starts_with("fid2path"))
        .skip(1)
        .collect();
    assert_eq!(
        after,
        [format!("changelog_clear {MDT} cl1 {cursor}")],
        "{calls}"
    );
    // The next start applies whatever was read but not committed.
    l.sync_ok();
    l.assert_converged();
    l.assert_clears(MDT, l.next_index - 1);
}
