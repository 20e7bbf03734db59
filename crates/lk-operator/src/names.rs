//! Names and labels of everything the operator creates. Pure; every name starts with the
//! cluster name, like the libvirt backend's.

use lk_lustre::target::TargetName;

pub const LABEL_CLUSTER: &str = "lustrekit.dev/cluster";
pub const LABEL_NODE: &str = "lustrekit.dev/node";
/// On a StorageClass (cluster-scoped, so no owner reference): the owning LustreCluster's
/// namespace; its name is in [`LABEL_CLUSTER`].
pub const LABEL_CLUSTER_NAMESPACE: &str = "lustrekit.dev/cluster-namespace";
pub const LABEL_TARGET: &str = "lustrekit.dev/target";
pub const LABEL_TARGET_KIND: &str = "lustrekit.dev/target-kind";
pub const LABEL_TARGET_INDEX: &str = "lustrekit.dev/target-index";
/// On a target PVC whose OST was drained and removed from the filesystem.
pub const LABEL_DRAINED: &str = "lustrekit.dev/drained";
/// On every VM: the node's roles (`mgs,mds`), to order deletion of VMs no longer in the spec.
pub const ANNOTATION_ROLES: &str = "lustrekit.dev/roles";
pub const LABEL_MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const MANAGED_BY: &str = "lustrekit-operator";

pub const FINALIZER: &str = "lustrekit.dev/cleanup";
/// Field manager of the objects the operator owns; status uses its own.
pub const FIELD_MANAGER: &str = "lustrekit-operator";
pub const STATUS_FIELD_MANAGER: &str = "lustrekit-operator-status";

/// Interface and network name of the pod network in a VM (the agent's address).
pub const POD_NETWORK: &str = "pod";
/// Key of the agent token in its Secret.
pub const TOKEN_KEY: &str = "token";

pub fn vm(cluster: &str, node: &str) -> String {
    format!("{cluster}-{node}")
}

pub fn cloud_init_secret(cluster: &str, node: &str) -> String {
    format!("{cluster}-{node}-cloudinit")
}

pub fn token_secret(cluster: &str) -> String {
    format!("{cluster}-agent-token")
}

/// PVC of a target: `<cluster>-mgs`, `<cluster>-mdt1`, `<cluster>-ost3` (the framework's
/// 1-based facet numbering, as lk-lustre names disks).
pub fn pvc(cluster: &str, target: &TargetName) -> String {
    format!("{cluster}-{}", target.short())
}

/// The deletion confirmation `deletionPolicy: Delete` needs.
pub fn deletion_confirmation(cluster: &str) -> String {
    format!("delete-volumes-of-{cluster}")
}

pub fn network_attachment(cluster: &str, lnet: &str) -> String {
    format!("{cluster}-{lnet}")
}

/// The CSI driver's name (`lk_csi::DRIVER_NAME`; lk-operator does not link the driver).
pub const CSI_DRIVER: &str = "lustre.csi.lustrekit.io";

/// How the CSI driver knows a LustreCluster (`--cluster NAME=...`, `--share-root NAME=...`,
/// the StorageClass parameter `cluster`): `<namespace>.<name>`. A namespace has no `.`, so
/// this is unambiguous across namespaces, and it fits the driver's volume IDs (no `/`, `:`).
pub fn csi_cluster(namespace: &str, cluster: &str) -> String {
    format!("{namespace}.{cluster}")
}

/// The default name of a cluster's StorageClass (cluster-scoped, so the namespace is in it).
pub fn storage_class(namespace: &str, cluster: &str) -> String {
    format!("lustre-{namespace}-{cluster}")
}
