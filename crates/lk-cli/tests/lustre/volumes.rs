//! Cinder-style volumes on real Lustre, attached to a running VM: the volume is a qcow2 file
//! on the cluster's Lustre (made by `lustrekit volume --cluster`, which runs in node1), served
//! over NBD by node1 and hot-plugged into node2's domain. node2 makes a filesystem on it and
//! writes; a snapshot is taken (detached: snapshots of a disk in use go through the
//! hypervisor); more writes; a revert; and the first data reads back intact.

use super::{fixture, ok, record, sh, text};

/// Runs `lustrekit volume --cluster FILE ARGS --json` and parses its answer.
fn volume(cluster_file: &str, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["volume", "--cluster", cluster_file];
    all.extend_from_slice(args);
    all.push("--json");
    let o = ok(&all);
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)))
}

/// Runs a script on `node` once the volume's disk is there; returns its stdout.
fn on_disk(cluster: &str, node: &str, device: &str, script: &str) -> String {
    sh(
        cluster,
        node,
        &format!(
            "set -e; for i in $(seq 60); do [ -b {device} ] && break; sleep 1; done; \
             [ -b {device} ] || {{ echo 'no {device}'; ls -l /dev/disk/by-id; exit 1; }}; {script}"
        ),
    )
}

pub(super) fn attached_volume_on_real_lustre(cluster: &str, fixture_name: &str) {
    let file = fixture(fixture_name);
    let file = file.to_str().expect("utf-8 path");
    let domain = format!("{cluster}-node2");
    let t = std::time::Instant::now();
    let created = volume(file, &["create", "disk1", "--size", "256MiB"]);
    assert_eq!(created["format"], "qcow2", "{created}");

    let attached = volume(file, &["attach", "disk1", "--domain", &domain]);
    let device = attached["guest_device"]
        .as_str()
        .expect("guest_device")
        .to_string();
    assert!(
        attached["via"]
            .as_str()
            .is_some_and(|v| v.starts_with("nbd://")),
        "{attached}"
    );
    let first = on_disk(
        cluster,
        "node2",
        &device,
        &format!(
            "mkfs.ext4 -q -F {device}; mkdir -p /mnt/v; mount {device} /mnt/v; \
             dd if=/dev/urandom of=/mnt/v/first bs=1M count=8 status=none; \
             sha256sum /mnt/v/first | cut -d' ' -f1; umount /mnt/v"
        ),
    );
    let first = first.trim().to_string();
    assert_eq!(first.len(), 64, "{first}");
    // Attached: a snapshot is refused.
    let refused = super::lustrekit(&["volume", "--cluster", file, "snapshot", "disk1", "s1"]);
    assert!(!refused.status.success(), "{}", text(&refused));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("attached to"),
        "{}",
        text(&refused)
    );
    volume(file, &["detach", "disk1"]);
    volume(file, &["snapshot", "disk1", "s1"]);

    volume(file, &["attach", "disk1", "--domain", &domain]);
    on_disk(
        cluster,
        "node2",
        &device,
        &format!(
            "mount {device} /mnt/v; dd if=/dev/urandom of=/mnt/v/second bs=1M count=4 status=none; \
             rm /mnt/v/first; umount /mnt/v"
        ),
    );
    volume(file, &["detach", "disk1"]);
    volume(file, &["revert", "disk1", "s1"]);

    volume(file, &["attach", "disk1", "--domain", &domain]);
    let after = on_disk(
        cluster,
        "node2",
        &device,
        &format!(
            "mount {device} /mnt/v; sha256sum /mnt/v/first | cut -d' ' -f1; \
             ls /mnt/v; umount /mnt/v"
        ),
    );
    assert!(
        after.starts_with(&first),
        "first data after revert: {after}"
    );
    assert!(!after.contains("second"), "revert kept later data: {after}");
    volume(file, &["detach", "disk1"]);
    let shown = volume(file, &["show", "disk1"]);
    assert!(shown["attached_to"].is_null(), "{shown}");
    assert!(shown.get("export").is_none(), "{shown}");
    let left = sh(cluster, "node1", "pgrep -c qemu-nbd; true");
    assert_eq!(left.trim(), "0", "qemu-nbd left running");
    volume(file, &["delete", "disk1", "--force"]);
    record(&format!(
        "{cluster}: volume disk1 (qcow2 on Lustre, NBD from node1) attached to {domain}: ext4 made, \
         written, detached, snapshot, written, reverted, first data intact (sha256), in {:.0} s",
        t.elapsed().as_secs_f64()
    ));
}
