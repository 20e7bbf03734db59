//! Manila-style shares on real Lustre (`lustrekit share --cluster`): a project quota that a
//! client fills until EDQUOT, a resize that lets it write again, and nodemaps that confine a
//! client to one share, read-write and then read-only. The same cluster, before its nodemaps,
//! serves the CSI driver's real-Lustre checks (csi.rs) and a volume attached to node2
//! (volumes.rs): one `up` for all three.

use super::{enabled_with, fixture, ok, record, sh, text, with_cluster, Down};

const CLUSTER: &str = "rl-shares";
const MOUNT: &str = "/mnt/rlsh";

fn share(args: &[&str]) -> serde_json::Value {
    let file = fixture("shares.yaml");
    let mut all = vec!["share", "--cluster", file.to_str().expect("utf-8 path")];
    all.extend_from_slice(args);
    all.push("--json");
    let o = ok(&all);
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)))
}

fn used_bytes(name: &str) -> u64 {
    share(&["show", name])["usage"]["bytes"]
        .as_u64()
        .expect("usage.bytes")
}

/// Quota enforcement is a filesystem setting the MGS holds, off by default: project quotas on
/// every target, and enforced for root too (clients write as root here).
fn enable_project_quota() {
    sh(
        CLUSTER,
        "node1",
        "set -e; lctl conf_param rlsh.quota.mdt=ugp; lctl conf_param rlsh.quota.ost=ugp; \
         lctl set_param -P osd-*.*.quota_slave.root_prj_enable=1",
    );
    let out = sh(
        CLUSTER,
        "node1",
        "for i in $(seq 60); do \
           e=$(lctl get_param -n osd-*.*.quota_slave.enabled | sort -u); \
           r=$(lctl get_param -n osd-*.*.quota_slave.root_prj_enable | sort -u); \
           [ \"$e\" = ugp ] && [ \"$r\" = 1 ] && { echo enforced; exit 0; }; sleep 2; done; \
         lctl get_param osd-*.*.quota_slave.enabled osd-*.*.quota_slave.root_prj_enable",
    );
    assert!(out.contains("enforced"), "quota not enforced: {out}");
}

/// Writes `mib` MiB into a share from node2; returns dd's stderr and exit code.
fn fill(name: &str, file: &str, mib: u32) -> String {
    sh(
        CLUSTER,
        "node2",
        &format!(
            "dd if=/dev/zero of={MOUNT}/shares/{name}/{file} bs=1M count={mib} oflag=direct 2>&1; \
             echo rc=$?"
        ),
    )
}

fn remount_node2() -> String {
    sh(
        CLUSTER,
        "node2",
        &format!("umount {MOUNT}; mount -t lustre 10.233.0.10@tcp0:/rlsh {MOUNT} && ls -A {MOUNT}"),
    )
}

#[test]
fn shares_csi_and_volumes_on_real_lustre() {
    if !enabled_with("shares_csi_and_volumes_on_real_lustre", true) {
        return;
    }
    with_cluster("shares.yaml", CLUSTER, Down::AtOnce, |_| {
        enable_project_quota();
        super::csi::driver_on_real_lustre(
            CLUSTER,
            "node2",
            MOUNT,
            "10.233.0.10@tcp0:/rlsh",
            "10.233.0.",
        );
        super::volumes::attached_volume_on_real_lustre(CLUSTER, "shares.yaml");
        let a = share(&["create", "tenant-a", "--size", "48MiB", "--inodes", "100"]);
        assert_eq!(a["enforced"], true, "{a}");
        assert_eq!(a["fileset"], "/shares/tenant-a", "{a}");
        share(&["create", "tenant-b", "--size", "48MiB"]);

        // Filled until the quota says no.
        let out = fill("tenant-a", "big", 100);
        assert!(out.contains("Disk quota exceeded"), "{out}");
        let used = used_bytes("tenant-a");
        record(&format!(
            "{CLUSTER}: 100 MiB written into a 48 MiB share: EDQUOT after {:.1} MiB",
            used as f64 / 1048576.0
        ));
        assert!(used > 32 << 20 && used <= 52 << 20, "used {used}");

        // Raised: the same client writes again.
        share(&["resize", "tenant-a", "--size", "96MiB"]);
        let out = fill("tenant-a", "more", 16);
        assert!(out.contains("rc=0"), "after resize: {out}");
        sh(
            CLUSTER,
            "node2",
            &format!(
                "echo a > {MOUNT}/shares/tenant-a/a.txt; echo b > {MOUNT}/shares/tenant-b/b.txt"
            ),
        );

        // Nodemaps: the default one keeps node1 (the admin's mount) as it is.
        sh(
            CLUSTER,
            "node1",
            "set -e; lctl nodemap_modify --name default --property admin --value 1; \
             lctl nodemap_modify --name default --property trusted --value 1; \
             lctl nodemap_activate 1",
        );
        let nid = sh(CLUSTER, "node2", "lctl list_nids | head -n 1");
        let nid = nid.trim();
        let rule = share(&["allow", "tenant-a", nid]);
        assert_eq!(rule["ok"], true, "{rule}");
        let listing = remount_node2();
        assert!(listing.contains("a.txt"), "{listing}");
        assert!(
            !listing.contains("b.txt"),
            "tenant-a sees tenant-b: {listing}"
        );
        share(&["deny", "tenant-a", nid]);
        share(&["allow", "tenant-b", nid, "--access", "ro"]);
        let listing = remount_node2();
        assert!(
            listing.contains("b.txt") && !listing.contains("a.txt"),
            "{listing}"
        );
        let write = sh(
            CLUSTER,
            "node2",
            &format!("cat {MOUNT}/b.txt; touch {MOUNT}/x 2>&1; true"),
        );
        assert!(write.starts_with("b\n"), "{write}");
        assert!(write.contains("Read-only file system"), "{write}");
        let b = share(&["show", "tenant-b"]);
        assert_eq!(b["access"][0]["level"], "ro", "{b}");
        record(&format!(
            "{CLUSTER}: node2 confined to tenant-a (rw), then tenant-b (ro: EROFS)"
        ));
    });
}
