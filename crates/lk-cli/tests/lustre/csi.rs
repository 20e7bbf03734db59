//! The CSI driver on real Lustre. `lustrekit-storage csi --mode all` runs in a client VM
//! (controller and node in one process, serving TCP on the cluster's private network) and
//! this test drives it from the host with a tonic client, as Kubernetes' sidecars would:
//! a dynamic volume is created (a share with a project quota), staged (`mount -t lustre` of
//! the share's subdirectory), published (bind mount), filled until EDQUOT, expanded, written
//! again, unpublished, unstaged and deleted. Then csi-sanity, the CSI community's suite, runs
//! in the same VM against the same driver.

use std::collections::HashMap;
use std::path::Path;

use lk_csi::proto::controller_client::ControllerClient;
use lk_csi::proto::node_client::NodeClient;
use lk_csi::proto::volume_capability::access_mode::Mode;
use lk_csi::proto::volume_capability::{AccessMode, AccessType, MountVolume};
use lk_csi::proto::*;
use tonic::transport::Channel;

use super::{record, sh, STATE_DIR};

const PORT: u16 = 10000;
const LOG: &str = "/var/log/lustrekit-csi.log";
const CSI_SANITY: &str = "/var/cache/lustrekit/bin/csi-sanity";
/// Where the node plugin stages and publishes in the VM (kubelet's directories stand here).
const KUBELET: &str = "/var/lib/lk-csi-test";
const MIB: i64 = 1 << 20;

/// Copies `lustrekit-storage` and, when built, csi-sanity into the cluster's shared folder;
/// answers whether csi-sanity is there.
fn place_binaries(cluster: &str) -> bool {
    let bin = Path::new(STATE_DIR)
        .join("clusters")
        .join(cluster)
        .join("shared/bin");
    std::fs::create_dir_all(&bin).expect("shared/bin");
    let copy = |from: &Path, name: &str| {
        let tmp = bin.join(format!(".{name}.tmp"));
        std::fs::copy(from, &tmp).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
        std::fs::rename(&tmp, bin.join(name)).expect("rename");
    };
    copy(
        Path::new(env!("CARGO_BIN_EXE_lustrekit-storage")),
        "lustrekit-storage",
    );
    let sanity = Path::new(CSI_SANITY).is_file();
    if sanity {
        copy(Path::new(CSI_SANITY), "csi-sanity");
    }
    sanity
}

/// The node's address on the cluster network (the first IPv4 address in `prefix`).
fn address(cluster: &str, node: &str, prefix: &str) -> String {
    let out = sh(cluster, node, "hostname -I");
    out.split_whitespace()
        .find(|a| a.starts_with(prefix))
        .unwrap_or_else(|| panic!("{node} has no address in {prefix}*: {out}"))
        .to_string()
}

fn mount_cap() -> VolumeCapability {
    VolumeCapability {
        access_type: Some(AccessType::Mount(MountVolume::default())),
        access_mode: Some(AccessMode {
            mode: Mode::MultiNodeMultiWriter as i32,
        }),
    }
}

struct Clients {
    rt: tokio::runtime::Runtime,
    controller: ControllerClient<Channel>,
    node: NodeClient<Channel>,
}

impl Clients {
    fn connect(addr: &str) -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let uri = format!("http://{addr}:{PORT}");
        let channel = rt.block_on(async {
            // The driver was started in the background a moment ago.
            for _ in 0..60 {
                let endpoint = tonic::transport::Endpoint::try_from(uri.clone()).expect("uri");
                if let Ok(c) = endpoint.connect().await {
                    return c;
                }
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            panic!("the CSI driver does not answer on {uri}")
        });
        Self {
            rt,
            controller: ControllerClient::new(channel.clone()),
            node: NodeClient::new(channel),
        }
    }
}

fn ok<T>(what: &str, r: Result<tonic::Response<T>, tonic::Status>) -> T {
    r.unwrap_or_else(|s| panic!("{what}: {:?} {}", s.code(), s.message()))
        .into_inner()
}

/// Writes `mib` MiB into the published volume in the VM; returns dd's output and exit code.
fn fill(cluster: &str, node: &str, target: &str, file: &str, mib: u32) -> String {
    sh(
        cluster,
        node,
        &format!(
            "dd if=/dev/zero of={target}/{file} bs=1M count={mib} oflag=direct 2>&1; echo rc=$?"
        ),
    )
}

/// The dynamic-volume life through the driver's gRPC API, with real mounts and a real quota.
fn dynamic_volume(c: &mut Clients, cluster: &str, node: &str) {
    let created = ok(
        "CreateVolume",
        c.rt.block_on(c.controller.create_volume(CreateVolumeRequest {
            name: "pvc-real-1".into(),
            capacity_range: Some(CapacityRange {
                required_bytes: 48 * MIB,
                limit_bytes: 0,
            }),
            volume_capabilities: vec![mount_cap()],
            ..Default::default()
        })),
    );
    let volume = created.volume.expect("volume");
    let id = volume.volume_id.clone();
    let staging = format!("{KUBELET}/staging/{id}");
    let target = format!("{KUBELET}/pods/p1/volumes/{id}");
    ok(
        "NodeStageVolume",
        c.rt.block_on(c.node.node_stage_volume(NodeStageVolumeRequest {
            volume_id: id.clone(),
            staging_target_path: staging.clone(),
            volume_capability: Some(mount_cap()),
            volume_context: volume.volume_context.clone(),
            ..Default::default()
        })),
    );
    let mounts = sh(cluster, node, &format!("grep ' {staging} ' /proc/mounts"));
    assert!(
        mounts.contains(" lustre "),
        "staged, not on Lustre: {mounts}"
    );
    ok(
        "NodePublishVolume",
        c.rt.block_on(c.node.node_publish_volume(NodePublishVolumeRequest {
            volume_id: id.clone(),
            staging_target_path: staging.clone(),
            target_path: target.clone(),
            volume_capability: Some(mount_cap()),
            volume_context: volume.volume_context.clone(),
            ..Default::default()
        })),
    );

    let out = fill(cluster, node, &target, "big", 100);
    assert!(out.contains("Disk quota exceeded"), "{out}");
    let stats = ok(
        "NodeGetVolumeStats",
        c.rt.block_on(c.node.node_get_volume_stats(NodeGetVolumeStatsRequest {
            volume_id: id.clone(),
            volume_path: target.clone(),
            ..Default::default()
        })),
    );
    let bytes = stats
        .usage
        .iter()
        .find(|u| u.unit == volume_usage::Unit::Bytes as i32)
        .expect("bytes usage");
    record(&format!(
        "{cluster}: CSI volume of 48 MiB: EDQUOT after {:.1} MiB; NodeGetVolumeStats total {:.1} MiB used {:.1} MiB",
        bytes.used as f64 / MIB as f64,
        bytes.total as f64 / MIB as f64,
        bytes.used as f64 / MIB as f64,
    ));
    assert!(bytes.used > 32 * MIB && bytes.used <= 52 * MIB, "{stats:?}");

    let expanded = ok(
        "ControllerExpandVolume",
        c.rt.block_on(
            c.controller
                .controller_expand_volume(ControllerExpandVolumeRequest {
                    volume_id: id.clone(),
                    capacity_range: Some(CapacityRange {
                        required_bytes: 96 * MIB,
                        limit_bytes: 0,
                    }),
                    ..Default::default()
                }),
        ),
    );
    assert_eq!(expanded.capacity_bytes, 96 * MIB);
    assert!(!expanded.node_expansion_required);
    let out = fill(cluster, node, &target, "more", 16);
    assert!(out.contains("rc=0"), "after expand: {out}");

    ok(
        "NodeUnpublishVolume",
        c.rt.block_on(c.node.node_unpublish_volume(NodeUnpublishVolumeRequest {
            volume_id: id.clone(),
            target_path: target.clone(),
        })),
    );
    ok(
        "NodeUnstageVolume",
        c.rt.block_on(c.node.node_unstage_volume(NodeUnstageVolumeRequest {
            volume_id: id.clone(),
            staging_target_path: staging.clone(),
        })),
    );
    let left = sh(
        cluster,
        node,
        &format!("grep -c '{KUBELET}' /proc/mounts; true"),
    );
    assert_eq!(left.trim(), "0", "mounts left behind");
    ok(
        "DeleteVolume",
        c.rt.block_on(c.controller.delete_volume(DeleteVolumeRequest {
            volume_id: id.clone(),
            secrets: HashMap::new(),
        })),
    );
    record(&format!(
        "{cluster}: CSI volume {id}: created, staged (mount -t lustre), published, EDQUOT, expanded to 96 MiB, written again, unpublished, unstaged, deleted"
    ));
}

/// csi-sanity in the VM against the same driver; returns its summary line.
fn sanity(cluster: &str, node: &str) -> String {
    let out = sh(
        cluster,
        node,
        &format!(
            "cd /tmp && /mnt/lustrekit/bin/csi-sanity --csi.endpoint 127.0.0.1:{PORT} \
             --csi.mountdir {KUBELET}/sanity-target --csi.stagingdir {KUBELET}/sanity-staging \
             --csi.testvolumesize {} --ginkgo.timeout=600s --ginkgo.no-color 2>&1; echo rc=$?",
            32 * MIB
        ),
    );
    let line = |has: &[&str]| {
        out.lines()
            .rev()
            .find(|l| has.iter().all(|h| l.contains(h)))
            .unwrap_or("")
            .trim()
            .to_string()
    };
    let summary = format!(
        "{} ({})",
        line(&["Passed", "Failed"]),
        line(&["Ran ", " Specs"])
    );
    record(&format!(
        "{cluster}: csi-sanity against the driver on real Lustre: {summary}"
    ));
    assert!(out.contains("rc=0"), "csi-sanity failed:\n{out}");
    summary
}

/// Starts the driver on `node`, runs the dynamic-volume life and csi-sanity, stops it.
pub(super) fn driver_on_real_lustre(cluster: &str, node: &str, mount: &str, fs: &str, net: &str) {
    let have_sanity = place_binaries(cluster);
    let root = format!("{mount}/csi");
    sh(
        cluster,
        node,
        &format!(
            // Only the driver goes to the background: a backgrounded `a && b` list would be a
            // subshell holding the exec's output pipe open until the driver ends.
            "set -e; mkdir -p {root}; setsid nohup /mnt/lustrekit/bin/lustrekit-storage csi \
             --mode all --endpoint tcp://0.0.0.0:{PORT} --node-id {node} --root {root} --fs {fs} \
             >{LOG} 2>&1 </dev/null & echo started"
        ),
    );
    let addr = address(cluster, node, net);
    let mut clients = Clients::connect(&addr);
    dynamic_volume(&mut clients, cluster, node);
    if have_sanity {
        sanity(cluster, node);
    } else {
        eprintln!("SKIPPED: csi-sanity on real Lustre: {CSI_SANITY} not built (scripts/build-csi-sanity.sh)");
    }
    let log = sh(
        cluster,
        node,
        &format!("pkill -TERM -f '[l]ustrekit-storage csi'; sleep 1; tail -n 20 {LOG}"),
    );
    assert!(!log.contains("panicked"), "the driver panicked:\n{log}");
    let left = sh(
        cluster,
        node,
        &format!("grep -c '{KUBELET}' /proc/mounts; ls -A {root}/shares 2>/dev/null | grep -v '^\\.' | wc -l"),
    );
    assert_eq!(
        left.split_whitespace().collect::<Vec<_>>(),
        ["0", "0"],
        "mounts or shares left behind (mounts, shares)"
    );
}
