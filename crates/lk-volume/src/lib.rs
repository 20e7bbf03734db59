// SPDX-License-Identifier: Apache-2.0
//! Block volumes (Cinder-style) and file shares (Manila-style) on a Lustre mount, or on a
//! plain directory standing in for one. Used by `lustrekit volume` / `lustrekit share` and,
//! later, by a CSI driver.
//!
//! Layout of the crate:
//! - [`volumes`]: volumes as files under `ROOT/volumes/<name>/` (raw or qcow2), snapshots as
//!   qcow2 overlays, clone, extend, capacity and over-subscription;
//! - [`shares`]: directories under `ROOT/shares/` with a project ID, a project quota and
//!   per-share nodemaps whose fileset is the share;
//! - [`mount`]: mounting Lustre on hosts that do it themselves, checked in
//!   `/proc/self/mountinfo` ([`mount::mountinfo`] parses it);
//! - [`lustre`]: the [`lustre::LustreOps`] seam: real `lfs`/`lctl` ([`lustre::real`], argv in
//!   [`lustre::argv`]) or the directory stand-in ([`lustre::standin`]);
//! - [`qemu`]: `qemu-img` (the real one, read through `--output=json`);
//! - [`runner`]: the [`runner::CommandRunner`] seam every external command goes through;
//! - [`undo`]: registered undos, so a failed multi-step operation leaves nothing behind;
//! - [`fsutil`], [`name`], [`size`]: atomic JSON state files and locks, names, sizes.
//!
//! [`open`] picks the Lustre implementation for a root: the real one when the root is on a
//! Lustre client mount (statfs magic `0x0BD00BD0`), the stand-in otherwise.

pub mod fsutil;
pub mod lustre;
pub mod mount;
pub mod name;
pub mod qemu;
pub mod runner;
pub mod shares;
pub mod size;
pub mod undo;
pub mod volumes;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use lustre::real::RealLustre;
use lustre::standin::StandInLustre;
use lustre::{Backend, LustreOps};
use runner::{CommandRunner, LocalRunner};

/// Where lustrekit keeps its own files under a root (the stand-in's state, share records).
pub const STATE_DIR: &str = ".lustrekit";

/// A storage root and the Lustre implementation chosen for it.
pub struct Root {
    pub path: PathBuf,
    pub lustre: Arc<dyn LustreOps>,
    pub runner: Arc<dyn CommandRunner>,
}

impl Root {
    pub fn backend(&self) -> Backend {
        self.lustre.backend()
    }

    /// The volume store of this root.
    pub fn volumes(&self, config: volumes::VolumeConfig) -> volumes::Volumes {
        volumes::Volumes::new(
            self.path.join("volumes"),
            self.runner.clone(),
            self.lustre.clone(),
            config,
        )
    }

    /// The share store of this root.
    pub fn shares(&self, config: shares::ShareConfig) -> shares::Shares {
        shares::Shares::new(self.path.join("shares"), self.lustre.clone(), config)
    }
}

/// Opens `root` (which must exist): on a Lustre client mount, `lfs`/`lctl` run on this host
/// (the MGS commands too: an all-in-one host); anywhere else the stand-in records into
/// `ROOT/.lustrekit/standin-lustre.json`.
pub fn open(root: &Path) -> std::io::Result<Root> {
    let path = std::fs::canonicalize(root)?;
    let runner: Arc<dyn CommandRunner> = Arc::new(LocalRunner);
    let lustre: Arc<dyn LustreOps> = if fsutil::is_lustre(&path)? {
        let mounts = std::fs::read_to_string("/proc/self/mountinfo")?;
        let (mount, prefix) = mount::mountinfo::lustre_mount_of(&mounts, &path)
            .unwrap_or_else(|| (path.clone(), String::new()));
        Arc::new(RealLustre::new(
            mount,
            prefix,
            runner.clone(),
            runner.clone(),
        ))
    } else {
        let state = path.join(STATE_DIR);
        std::fs::create_dir_all(&state)?;
        Arc::new(StandInLustre::new(&path, state.join("standin-lustre.json")))
    };
    Ok(Root {
        path,
        lustre,
        runner,
    })
}
