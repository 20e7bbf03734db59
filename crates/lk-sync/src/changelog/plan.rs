// SPDX-License-Identifier: Apache-2.0
//! Coalesced changelog changes to [`Op`]s. Pure: FIDs are resolved by the caller (`lfs
//! fid2path`, see [`super`]) and passed in as a lookup, as is the one question about the tree
//! a rename needs answered (is the renamed entry a directory?).
//!
//! Paths are resolved when the batch is applied, not when the records were written, so a
//! parent renamed since may give a newer path than the record meant. The ops are state-based
//! and a directory rename is followed by a rescan of its destination, so such a change is
//! still applied at the right place: at worst one directory level is rescanned.

use lk_lustre::changelog::{Change, Fid};

use crate::layout::join;
use crate::ops::Op;

/// Where a FID is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// Under the gateway root: its root-relative paths (several for hard links; `""` is the
    /// root itself).
    Inside(Vec<String>),
    /// Elsewhere in the filesystem.
    Outside,
    /// Not resolvable (removed since).
    Unknown,
}

/// Every FID [`plan`] will look up for `changes`, without repeats, in first-use order.
pub fn fids_to_resolve(changes: &[Change]) -> Vec<Fid> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut add = |f: Fid| {
        if !f.is_zero() && seen.insert(f) {
            out.push(f);
        }
    };
    for c in changes {
        match c {
            Change::Created { parent, .. } | Change::Removed { parent, .. } => add(*parent),
            Change::Renamed {
                old_parent, parent, ..
            } => {
                add(*old_parent);
                add(*parent);
            }
            Change::Modified { fid } => add(*fid),
        }
    }
    out
}

fn entry(lookup: &dyn Fn(Fid) -> Lookup, parent: Fid, name: &str) -> Option<String> {
    match lookup(parent) {
        Lookup::Inside(paths) => paths.first().map(|p| join(p, name)),
        Lookup::Outside | Lookup::Unknown => None,
    }
}

/// The ops for a batch of changes, in order. `is_dir(rel)` says whether a path under the root
/// is a directory now.
pub fn plan(
    changes: &[Change],
    lookup: &dyn Fn(Fid) -> Lookup,
    is_dir: &dyn Fn(&str) -> bool,
) -> Vec<Op> {
    let mut ops = Vec::new();
    for c in changes {
        match c {
            Change::Created {
                parent,
                name,
                directory,
                ..
            } => {
                if let Some(p) = entry(lookup, *parent, name) {
                    ops.push(if *directory {
                        Op::Scan(p)
                    } else {
                        Op::Refresh(p)
                    });
                }
            }
            Change::Removed {
                parent,
                name,
                directory,
                ..
            } => {
                if let Some(p) = entry(lookup, *parent, name) {
                    ops.push(if *directory {
                        Op::Gone(p)
                    } else {
                        Op::Refresh(p)
                    });
                }
            }
            Change::Renamed {
                old_parent,
                old_name,
                parent,
                name,
                ..
            } => {
                let from = entry(lookup, *old_parent, old_name);
                let to = entry(lookup, *parent, name);
                match (from, to) {
                    (Some(from), Some(to)) if is_dir(&to) => ops.push(Op::Moved { from, to }),
                    (Some(from), Some(to)) => {
                        ops.push(Op::Refresh(from));
                        ops.push(Op::Refresh(to));
                    }
                    (from, to) => {
                        if let Some(from) = from {
                            // Moved out, or a file: whichever it was, it is not there now.
                            ops.push(Op::Gone(from.clone()));
                            ops.push(Op::Refresh(from));
                        }
                        if let Some(to) = to {
                            ops.push(if is_dir(&to) {
                                Op::Scan(to)
                            } else {
                                Op::Refresh(to)
                            });
                        }
                    }
                }
            }
            Change::Modified { fid } => {
                if let Lookup::Inside(paths) = lookup(*fid) {
                    ops.extend(paths.into_iter().map(Op::Refresh));
                }
            }
        }
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn fid(oid: u32) -> Fid {
        Fid {
            seq: 0x200000402,
            oid,
            ver: 0,
        }
    }

    fn lookup(map: &HashMap<Fid, Lookup>) -> impl Fn(Fid) -> Lookup + '_ {
        move |f| map.get(&f).cloned().unwrap_or(Lookup::Unknown)
    }

    #[test]
    fn changes_become_state_based_ops() {
        let map: HashMap<Fid, Lookup> = [
            (fid(1), Lookup::Inside(vec!["a/c".into()])),
            (fid(2), Lookup::Inside(vec!["a/c/d".into()])),
            (fid(3), Lookup::Outside),
            (
                fid(7),
                Lookup::Inside(vec!["a/c/x".into(), "a/c/d/hardlink".into()]),
            ),
        ]
        .into();
        let dirs = |p: &str| p == "a/c/d2" || p == "a/c/newdir";
        let changes = vec![
            Change::Created {
                fid: fid(10),
                parent: fid(1),
                name: "f".into(),
                directory: false,
            },
            Change::Created {
                fid: fid(11),
                parent: fid(1),
                name: "newdir".into(),
                directory: true,
            },
            Change::Created {
                fid: fid(12),
                parent: fid(3),
                name: "elsewhere".into(),
                directory: false,
            },
            Change::Removed {
                fid: fid(13),
                parent: fid(2),
                name: "old".into(),
                directory: false,
            },
            Change::Removed {
                fid: fid(14),
                parent: fid(2),
                name: "olddir".into(),
                directory: true,
            },
            Change::Renamed {
                fid: fid(15),
                old_parent: fid(1),
                old_name: "d".into(),
                parent: fid(1),
                name: "d2".into(),
                overwritten: None,
            },
            Change::Renamed {
                fid: fid(16),
                old_parent: fid(2),
                old_name: "a".into(),
                parent: fid(2),
                name: "b".into(),
                overwritten: Some(fid(17)),
            },
            Change::Renamed {
                fid: fid(18),
                old_parent: fid(3),
                old_name: "in".into(),
                parent: fid(1),
                name: "newdir".into(),
                overwritten: None,
            },
            Change::Renamed {
                fid: fid(19),
                old_parent: fid(1),
                old_name: "out".into(),
                parent: fid(3),
                name: "x".into(),
                overwritten: None,
            },
            Change::Modified { fid: fid(7) },
            Change::Modified { fid: fid(99) },
        ];
        let ops = plan(&changes, &lookup(&map), &dirs);
        let r = |p: &str| Op::Refresh(p.into());
        assert_eq!(
            ops,
            vec![
                r("a/c/f"),
                Op::Scan("a/c/newdir".into()),
                r("a/c/d/old"),
                Op::Gone("a/c/d/olddir".into()),
                Op::Moved {
                    from: "a/c/d".into(),
                    to: "a/c/d2".into()
                },
                r("a/c/d/a"),
                r("a/c/d/b"),
                Op::Scan("a/c/newdir".into()),
                Op::Gone("a/c/out".into()),
                r("a/c/out"),
                r("a/c/x"),
                r("a/c/d/hardlink"),
            ]
        );
        assert_eq!(
            fids_to_resolve(&changes),
            vec![fid(1), fid(3), fid(2), fid(7), fid(99)]
        );
    }
}
