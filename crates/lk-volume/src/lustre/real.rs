// SPDX-License-Identifier: Apache-2.0
//! [`LustreOps`] on a real Lustre client mount: `lfs` runs through the client runner, `lctl
//! nodemap_*` through the MGS runner (the nodemap configuration lives on the MGS; on an
//! all-in-one host both are the same [`crate::runner::LocalRunner`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{
    argv, fileset_under, utf8, Backend, LustreError, LustreOps, NidRange, NodemapProperty,
};
use super::{ProjectQuota, QuotaLimits, QuotaUsage, Stripe};
use crate::runner::{run_checked, CommandRunner};

pub struct RealLustre {
    mount: PathBuf,
    prefix: String,
    client: Arc<dyn CommandRunner>,
    mgs: Arc<dyn CommandRunner>,
}

impl RealLustre {
    /// `mount` is the client mount point; `prefix` the directory of the filesystem mounted
    /// there (empty for `mgs:/fsname`, `/sub` for a subdirectory mount `mgs:/fsname/sub`).
    pub fn new(
        mount: impl Into<PathBuf>,
        prefix: impl Into<String>,
        client: Arc<dyn CommandRunner>,
        mgs: Arc<dyn CommandRunner>,
    ) -> Self {
        Self {
            mount: mount.into(),
            prefix: prefix.into(),
            client,
            mgs,
        }
    }

    fn lfs(&self, a: &[String]) -> Result<Vec<u8>, LustreError> {
        Ok(run_checked(self.client.as_ref(), a)?.stdout)
    }

    fn lctl(&self, a: &[String]) -> Result<(), LustreError> {
        run_checked(self.mgs.as_ref(), a)?;
        Ok(())
    }

    fn mount_str(&self) -> Result<&str, LustreError> {
        utf8(&self.mount)
    }
}

impl LustreOps for RealLustre {
    fn backend(&self) -> Backend {
        Backend::Lustre
    }

    fn setstripe(&self, path: &Path, stripe: &Stripe) -> Result<(), LustreError> {
        stripe.validate()?;
        self.lfs(&argv::setstripe(utf8(path)?, stripe)).map(drop)
    }

    fn set_project(&self, dir: &Path, id: u32) -> Result<(), LustreError> {
        self.lfs(&argv::set_project(utf8(dir)?, id)).map(drop)
    }

    fn clear_project(&self, dir: &Path) -> Result<(), LustreError> {
        self.lfs(&argv::clear_project(utf8(dir)?)).map(drop)
    }

    fn set_project_quota(&self, id: u32, limits: &QuotaLimits) -> Result<(), LustreError> {
        self.lfs(&argv::setquota(self.mount_str()?, id, limits))
            .map(drop)
    }

    fn project_quota(&self, id: u32) -> Result<ProjectQuota, LustreError> {
        let out = self.lfs(&argv::quota(self.mount_str()?, id))?;
        let text = String::from_utf8_lossy(&out);
        parse_quota(&text).ok_or_else(|| LustreError::QuotaOutput {
            id,
            output: text.trim().to_string(),
        })
    }

    fn fileset_of(&self, dir: &Path) -> Result<String, LustreError> {
        fileset_under(&self.mount, &self.prefix, dir)
    }

    fn nodemap_add(&self, name: &str) -> Result<(), LustreError> {
        self.lctl(&argv::nodemap_new(name))
    }

    fn nodemap_add_range(&self, name: &str, range: &NidRange) -> Result<(), LustreError> {
        self.lctl(&argv::nodemap_add_range(name, range))
    }

    fn nodemap_set_fileset(
        &self,
        name: &str,
        fileset: &str,
        readonly: bool,
    ) -> Result<(), LustreError> {
        self.lctl(&argv::nodemap_fileset_add(name, fileset, readonly))
    }

    fn nodemap_modify(&self, name: &str, property: NodemapProperty) -> Result<(), LustreError> {
        self.lctl(&argv::nodemap_modify(name, property))
    }

    fn nodemap_del_range(&self, name: &str, range: &NidRange) -> Result<(), LustreError> {
        self.lctl(&argv::nodemap_del_range(name, range))
    }

    fn nodemap_del(&self, name: &str) -> Result<(), LustreError> {
        self.lctl(&argv::nodemap_del(name))
    }

    fn nodemap_activate(&self, on: bool) -> Result<(), LustreError> {
        self.lctl(&argv::nodemap_activate(on))
    }
}

/// Parses `lfs quota -q -p ID MOUNT`: the last line with at least eight fields, read from
/// the right as `kbytes bquota blimit bgrace files iquota ilimit igrace` (lfs.c
/// print_quota). A value over its limit carries `*`; one not yet valid is in `[ ]`.
pub fn parse_quota(text: &str) -> Option<ProjectQuota> {
    let line = text
        .lines()
        .rev()
        .find(|l| l.split_whitespace().count() >= 8)?;
    let fields: Vec<&str> = line.split_whitespace().collect();
    let f = &fields[fields.len() - 8..];
    let num = |s: &str| -> Option<u64> {
        s.trim_end_matches('*')
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .ok()
    };
    let kib = |s: &str| num(s).map(|k| k.saturating_mul(1024));
    Some(ProjectQuota {
        usage: QuotaUsage {
            bytes: kib(f[0])?,
            inodes: num(f[4])?,
        },
        limits: QuotaLimits {
            block_soft: kib(f[1])?,
            block_hard: kib(f[2])?,
            inode_soft: num(f[5])?,
            inode_hard: num(f[6])?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_quota_lines_as_lfs_prints_them() {
        // print_quota's columns: "%*s " with widths 16 (Filesystem) and 8.
        let plain =
            "     /mnt/lustre      12       0  102400       -       3       0    1000       -\n";
        let q = parse_quota(plain).expect("parses");
        assert_eq!(
            q.usage,
            QuotaUsage {
                bytes: 12 * 1024,
                inodes: 3
            }
        );
        assert_eq!(q.limits.block_hard, 102_400 * 1024);
        assert_eq!(q.limits.inode_hard, 1000);

        let over =
            "     /mnt/lustre  204800* 102400  102400 6d23h59m       3       0    1000       -\n";
        let q = parse_quota(over).expect("over limit parses");
        assert_eq!(q.usage.bytes, 204_800 * 1024);

        let unset = "/mnt/lustre [0] [0] [0] - [0] [0] [0] -";
        assert_eq!(parse_quota(unset).expect("brackets").usage.inodes, 0);

        // Older lfs printed a long mount point on its own line.
        let wrapped = "/mnt/a/very/long/mount/point\n  8  0  0  -  2  0  0  -\n";
        assert_eq!(parse_quota(wrapped).expect("wrapped").usage.inodes, 2);

        assert!(parse_quota("lfs: quotactl failed: No such device").is_none());
        assert!(parse_quota("/mnt/lustre x 0 0 - 3 0 0 -").is_none());
    }
}
