// SPDX-License-Identifier: Apache-2.0
//! NBD exports with the real qemu-nbd on the stand-in: a volume served on loopback reads and
//! writes through `nbd://`, counts as attached while served, is served once per domain, skips
//! a busy port, and is withdrawn idempotently.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use common::standin;
use lk_volume::qemu::Format;
use lk_volume::runner::LocalRunner;
use lk_volume::size::MIB;
use lk_volume::volumes::{CreateRequest, VolumeConfig, VolumeError, Volumes};

fn have_qemu_nbd(test: &str) -> bool {
    let ok = ["qemu-nbd", "qemu-io", "qemu-img"].iter().all(|p| {
        Command::new(p)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !ok {
        println!("SKIPPED {test}: qemu-nbd, qemu-io or qemu-img is not installed");
    }
    ok
}

fn qemu_io_nbd(uri: &str, command: &str) -> String {
    let out = Command::new("qemu-io")
        .args(["-f", "raw", "-c", command, uri])
        .output()
        .expect("qemu-io runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "qemu-io {command} {uri}: {text}");
    text
}

fn store(root: &Path) -> Volumes {
    Volumes::new(
        root.join("volumes"),
        Arc::new(LocalRunner),
        standin(root),
        VolumeConfig::default(),
    )
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| !c.is_empty())
}

#[test]
fn export_serves_the_volume_and_counts_as_attached() {
    if !have_qemu_nbd("export_serves_the_volume_and_counts_as_attached") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let vols = store(dir.path());
    let req = |name: &str| CreateRequest {
        name: name.into(),
        size: 16 * MIB,
        format: Format::Qcow2,
        stripe: None,
    };
    vols.create(&req("a")).expect("create a");
    vols.create(&req("b")).expect("create b");
    // A port of its own per test process, away from the well-known 10809.
    let first = 20_000 + (std::process::id() % 20_000) as u16;
    let lo = "127.0.0.1".parse().expect("ip");

    let a = vols.export("a", "vm-1", lo, first).expect("export a");
    assert_eq!(a.port, first);
    assert!(alive(a.pid), "qemu-nbd runs");
    qemu_io_nbd(&a.uri(), "write -P 0x5a 0 1M");
    qemu_io_nbd(&a.uri(), "read -P 0x5a 0 1M");
    assert_eq!(
        vols.export("a", "vm-1", lo, first).expect("again"),
        a,
        "the same domain gets the running export"
    );
    let err = vols
        .export("a", "vm-2", lo, first)
        .expect_err("other domain");
    assert!(matches!(err, VolumeError::Attached { .. }), "{err}");
    for refused in [
        vols.snapshot("a", "s").map(drop),
        vols.extend("a", 32 * MIB),
        vols.delete("a", true),
    ] {
        assert!(
            matches!(refused, Err(VolumeError::Attached { .. })),
            "{refused:?}"
        );
    }

    // The first port is a's: b is served on the next one.
    let b = vols.export("b", "vm-1", lo, first).expect("export b");
    assert_eq!(b.port, first + 1);
    assert_ne!(a.pid, b.pid);

    vols.unexport("a").expect("unexport");
    assert!(!alive(a.pid), "qemu-nbd stopped");
    let info = vols.info("a").expect("info");
    assert_eq!((info.export, info.attached_to), (None, None));
    vols.unexport("a").expect("unexport twice");
    // Written through NBD, there in the file; and the volume can change again.
    vols.snapshot("a", "s").expect("snapshot after unexport");
    let status = Command::new("qemu-io")
        .args(["-f", "qcow2", "-c", "read -P 0x5a 0 1M"])
        .arg(dir.path().join("volumes/a/base.qcow2"))
        .output()
        .expect("qemu-io");
    assert!(status.status.success(), "{status:?}");
    vols.unexport("b").expect("unexport b");
    assert!(!alive(b.pid));
}

#[test]
fn a_failed_export_leaves_the_volume_as_it_was() {
    if !have_qemu_nbd("a_failed_export_leaves_the_volume_as_it_was") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let vols = store(dir.path());
    vols.create(&CreateRequest {
        name: "c".into(),
        size: 16 * MIB,
        format: Format::Raw,
        stripe: None,
    })
    .expect("create");
    // 192.0.2.1 (TEST-NET-1) is no address of this host: qemu-nbd cannot bind it.
    let err = vols
        .export("c", "vm-1", "192.0.2.1".parse().expect("ip"), 20_000)
        .expect_err("cannot bind");
    assert!(err.to_string().contains("qemu-nbd failed"), "{err}");
    let info = vols.info("c").expect("info");
    assert_eq!((info.export, info.attached_to), (None, None));
    assert!(!dir.path().join("volumes/c/nbd.pid").exists());
    vols.extend("c", 32 * MIB).expect("not attached");
}
