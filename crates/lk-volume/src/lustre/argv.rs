// SPDX-License-Identifier: Apache-2.0
//! Argument vectors for `lfs` and `lctl`, Lustre 2.17 syntax (lfs-setstripe(1),
//! lfs-project(1), lfs-setquota(1), lfs-quota(1), lctl-nodemap-*(8)). Pure: nothing runs here.
//!
//! Notes from the 2.17 manuals: `nodemap_new` replaces `nodemap_add` (still an alias);
//! `nodemap_fileset_add [--ro]` replaces the deprecated `nodemap_set_fileset`; `lfs quota -p`
//! takes the ID as the next positional argument; block limits without a suffix are KiB; a
//! stripe size without a suffix below 4096 would be read as KiB, so sizes carry `K`.

use super::{NidRange, NodemapProperty, QuotaLimits, Stripe};

fn v<const N: usize>(words: [&str; N]) -> Vec<String> {
    words.iter().map(|w| (*w).to_string()).collect()
}

/// `lfs setstripe [-c COUNT] [-S SIZE] PATH` (defaults left out).
pub fn setstripe(path: &str, stripe: &Stripe) -> Vec<String> {
    let mut a = v(["lfs", "setstripe"]);
    if stripe.count != 0 {
        a.extend(["-c".into(), stripe.count.to_string()]);
    }
    if stripe.size != 0 {
        a.extend(["-S".into(), format!("{}K", stripe.size / 1024)]);
    }
    a.push(path.into());
    a
}

/// `lfs project -p ID -s -r DIR`: project ID on the tree, inherited by new entries.
pub fn set_project(dir: &str, id: u32) -> Vec<String> {
    let mut a = v(["lfs", "project", "-p"]);
    a.extend([id.to_string(), "-s".into(), "-r".into(), dir.into()]);
    a
}

/// `lfs project -C -r DIR`.
pub fn clear_project(dir: &str) -> Vec<String> {
    let mut a = v(["lfs", "project", "-C", "-r"]);
    a.push(dir.into());
    a
}

/// Bytes to the KiB `lfs setquota` takes, rounded up.
fn kib(bytes: u64) -> String {
    bytes.div_ceil(1024).to_string()
}

/// `lfs setquota -p ID -b SOFT -B HARD -i ISOFT -I IHARD MOUNT` (blocks in KiB).
pub fn setquota(mount: &str, id: u32, l: &QuotaLimits) -> Vec<String> {
    let mut a = v(["lfs", "setquota", "-p"]);
    a.extend([
        id.to_string(),
        "-b".into(),
        kib(l.block_soft),
        "-B".into(),
        kib(l.block_hard),
        "-i".into(),
        l.inode_soft.to_string(),
        "-I".into(),
        l.inode_hard.to_string(),
        mount.into(),
    ]);
    a
}

/// `lfs quota -q -p ID MOUNT`: one line, no header (see [`super::real::parse_quota`]).
pub fn quota(mount: &str, id: u32) -> Vec<String> {
    let mut a = v(["lfs", "quota", "-q", "-p"]);
    a.extend([id.to_string(), mount.into()]);
    a
}

/// `lctl nodemap_new --name NAME`.
pub fn nodemap_new(name: &str) -> Vec<String> {
    v(["lctl", "nodemap_new", "--name", name])
}

/// `lctl nodemap_add_range --name NAME --range RANGE`.
pub fn nodemap_add_range(name: &str, range: &NidRange) -> Vec<String> {
    v([
        "lctl",
        "nodemap_add_range",
        "--name",
        name,
        "--range",
        range.as_str(),
    ])
}

/// `lctl nodemap_fileset_add --name NAME --fileset DIR [--ro]` (primary fileset).
pub fn nodemap_fileset_add(name: &str, fileset: &str, readonly: bool) -> Vec<String> {
    let mut a = v([
        "lctl",
        "nodemap_fileset_add",
        "--name",
        name,
        "--fileset",
        fileset,
    ]);
    if readonly {
        a.push("--ro".into());
    }
    a
}

/// `lctl nodemap_modify --name NAME --property PROP --value VALUE`.
pub fn nodemap_modify(name: &str, property: NodemapProperty) -> Vec<String> {
    let (prop, value) = property.name_value();
    v([
        "lctl",
        "nodemap_modify",
        "--name",
        name,
        "--property",
        prop,
        "--value",
        value,
    ])
}

/// `lctl nodemap_del_range --name NAME --range RANGE`.
pub fn nodemap_del_range(name: &str, range: &NidRange) -> Vec<String> {
    v([
        "lctl",
        "nodemap_del_range",
        "--name",
        name,
        "--range",
        range.as_str(),
    ])
}

/// `lctl nodemap_del --name NAME`.
pub fn nodemap_del(name: &str) -> Vec<String> {
    v(["lctl", "nodemap_del", "--name", name])
}

/// `lctl nodemap_activate 1|0`.
pub fn nodemap_activate(on: bool) -> Vec<String> {
    v(["lctl", "nodemap_activate", if on { "1" } else { "0" }])
}
