// SPDX-License-Identifier: Apache-2.0
//! POSIX paths in the gateway's layout for names without a plain path (`.lk-self`,
//! `.lk-empty`; docs/gateway.md, Layout) are read back into the same names by the live sync.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::{index_listing_checked, write, SyncProc};

/// The listed names, and the containers whose totals are not the sum of their rows.
fn names(state: &Path) -> (Vec<String>, Vec<String>) {
    let (listing, bad) = index_listing_checked(state);
    (listing.into_keys().map(|(_, _, n)| n).collect(), bad)
}

fn wait_for(state: &Path, want: &[&str], sync: &SyncProc) {
    let start = Instant::now();
    loop {
        // Rows and totals are two reads, which a commit of the running sync may come
        // between: a mismatch counts only if it lasts.
        let (got, bad) = names(state);
        if got == want && bad.is_empty() {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "listing {got:?}, want {want:?}, totals {bad:?}\n{}",
            sync.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn reserved_names_decode_as_the_gateway_stores_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("root");
    let cont = root.join("acct/cont");
    std::fs::create_dir_all(&cont).expect("mkdir");
    let state = root.join(".lustrekit-gateway");
    let args = [
        "--root",
        root.to_str().expect("utf8"),
        "--backend",
        "inotify",
        "--no-etag",
    ];
    let sync = SyncProc::start(&args, &dir.path().join("sync.log"));
    write(&cont.join("d/.lk-self"), b"object d");
    write(&cont.join("d/x"), b"object d/x");
    write(&cont.join("m/.lk-empty"), b"marker");
    write(&cont.join(".lk-empty/lead"), b"leading slash");
    write(&cont.join(".lk-tmp-0000000000000001"), b"temp");
    write(&cont.join("d/.lk-other"), b"reserved");
    wait_for(&state, &["/lead", "d", "d/x", "m/"], &sync);
    std::fs::remove_file(cont.join("d/.lk-self")).expect("rm");
    wait_for(&state, &["/lead", "d/x", "m/"], &sync);
    write(&cont.join("d/.lk-self"), b"object d again");
    wait_for(&state, &["/lead", "d", "d/x", "m/"], &sync);
    // A directory moved with its .lk-self: the object moves with it.
    std::fs::rename(cont.join("d"), cont.join("e")).expect("mv");
    wait_for(&state, &["/lead", "e", "e/x", "m/"], &sync);
}
