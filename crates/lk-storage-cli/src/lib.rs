// SPDX-License-Identifier: Apache-2.0
//! `volume`, `share` and `csi`: the commands over lk-volume and lk-csi, with their printing;
//! `gateway` and `sync` (`serve`): the Swift gateway and its namespace sync. `lustrekit` embeds
//! them; lk-cli's `lustrekit-storage` is them alone, linked without libvirt, so it runs on any Lustre
//! client, including a cluster's guests (`lustrekit share --cluster` runs it there).

pub mod csi;
pub mod serve;
pub mod share;
pub mod storage;
pub mod table;
pub mod volume;
pub mod volume_print;
