// SPDX-License-Identifier: Apache-2.0
//! What a backend asks the [`crate::apply::Applier`] to do. Both backends (inotify and the
//! Lustre changelog) turn their events into these; the applier turns them into index changes.
//!
//! Every operation is *state-based*: it says which part of the tree may have changed, and the
//! applier reads the tree as it is now and makes the index match. So an operation can be
//! applied twice, late, or after a crash without harm, and a stale result is always corrected
//! by the event of whatever changed the tree after it was read. The one operation that carries
//! index state instead of re-reading it, [`Op::Moved`], is followed by a rescan of its
//! destination.

/// One change to apply; paths are relative to the root, `/`-separated.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Op {
    /// A file may have appeared, changed or gone: index it if it is a regular file at a valid
    /// object name, drop its entry otherwise.
    Refresh(String),
    /// A directory (account, container or pseudo-directory) may be gone: drop everything under
    /// it from the index, or rescan it when it still exists.
    Gone(String),
    /// A directory was renamed from `from` to `to`: inside one container the index entries move
    /// with it (keeping their ETags), then `to` is rescanned; otherwise `from` is gone and `to`
    /// is scanned.
    Moved {
        /// Old path.
        from: String,
        /// New path.
        to: String,
    },
    /// Rescan a subtree (a new directory, a queue overflow, start-up): index what is there,
    /// drop what is not.
    Scan(String),
}

impl Op {
    /// Whether the op touches more than one entry (the applier commits pending single-entry
    /// changes before it).
    pub fn is_structural(&self) -> bool {
        !matches!(self, Op::Refresh(_))
    }
}

/// Removes repeated `Refresh`es of one path between two structural ops (they read the same
/// state), keeping the order of everything else.
pub fn dedup(ops: Vec<Op>) -> Vec<Op> {
    let mut out = Vec::with_capacity(ops.len());
    let mut seen = std::collections::HashSet::new();
    for op in ops {
        match &op {
            Op::Refresh(p) => {
                if !seen.insert(p.clone()) {
                    continue;
                }
            }
            _ => seen.clear(),
        }
        out.push(op);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_keeps_one_refresh_per_path_between_structural_ops() {
        let r = |p: &str| Op::Refresh(p.into());
        let ops = vec![r("a"), r("b"), r("a"), Op::Scan("d".into()), r("a"), r("a")];
        assert_eq!(
            dedup(ops),
            vec![r("a"), r("b"), Op::Scan("d".into()), r("a")]
        );
    }
}
