//! libvirt provider for lustrekit: implements [`lk_engine::Provider`] (`provider.rs`).
//!
//! Layout:
//! - [`xml`] (pure): libvirt XML for networks, pools, volumes and domains from
//!   [`lk_plan::resources`] and the engine's typed domain description, and the `<lk:owner>`
//!   ownership tag (cluster + run) in the `https://lustrekit.dev/xmlns/1` namespace;
//! - [`ownership`] (pure): the ownership marks read back with quick-xml (owner element,
//!   network bridge, pool directory); malformed marks are errors, never "ours";
//! - [`accel`] (touches the host): KVM only when a KVM guest really runs, else TCG;
//! - [`client`] (touches libvirt): the connection; idempotent ensure/remove per object kind
//!   in `network.rs`, `storage.rs`, `domain.rs` (owner through libvirt's metadata API);
//!   guest-agent exec and readiness (agent + DHCP lease + 9p mount) in `guest.rs`; the
//!   ownership inventory for `gc` in `inventory.rs`;
//! - [`error`]: one enum naming the object and the call.
//!
//! Ownership marks: domains carry `<metadata><lk:owner>`; libvirt 9.0 networks, pools and
//! volumes have no metadata, so a network is ours when its name starts with `<cluster>-` and
//! its bridge is `lk<fnv1a(name)>`, a pool when it is named after the cluster and lives in
//! the cluster's state directory, and a volume when it is in such a pool.

pub mod accel;
pub mod client;
pub mod disk;
mod domain;
pub mod error;
mod guest;
mod inventory;
mod network;
pub mod ownership;
mod provider;
mod storage;
pub mod xml;

pub use accel::{Accel, AccelChoice};
pub use client::{ExecOutput, Libvirt, Owned, Ready, Watch, DEFAULT_URI};
pub use error::Error;
pub use lk_engine::provider::DomainState;
pub use xml::Owner;
