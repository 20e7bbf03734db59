//! Coalescing a batch of records into namespace changes.

use std::collections::BTreeMap;

use super::record::{Fid, Record, RecordType};

/// A namespace change after coalescing, keyed by FIDs; paths are resolved by the consumer
/// (`lfs fid2path`, or parent FID + name for entries that are gone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A file, link or node appeared at `parent/name`.
    Created {
        fid: Fid,
        parent: Fid,
        name: String,
        directory: bool,
    },
    /// The entry `parent/name` went away.
    Removed {
        fid: Fid,
        parent: Fid,
        name: String,
        directory: bool,
    },
    /// `old_parent/old_name` moved to `parent/name`; `overwritten` is the replaced object.
    Renamed {
        fid: Fid,
        old_parent: Fid,
        old_name: String,
        parent: Fid,
        name: String,
        overwritten: Option<Fid>,
    },
    /// Content or attributes changed (close after write, truncate, mtime, setattr, xattr,
    /// mirror write or resync), or the object moved to another MDT (migrate: new FID, same
    /// name).
    Modified { fid: Fid },
}

/// The outcome of a batch: the changes to apply, and the last record index they cover (clear
/// the changelog up to it only after the changes are committed).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Batch {
    pub changes: Vec<Change>,
    pub last_index: Option<u64>,
}

/// Coalesces records (in changelog order): a create followed by the unlink of the same object
/// cancels; repeated close/mtime/truncate/setattr of one object merge into one `Modified`, as
/// does a modification of an object created in the same batch. Order among the remaining
/// changes is kept, because renames depend on it.
pub fn coalesce(records: &[Record]) -> Batch {
    let mut changes: Vec<Option<Change>> = Vec::new();
    // FID -> index in `changes` of its Created entry (still pending), and of its Modified entry.
    let mut created: BTreeMap<Fid, usize> = BTreeMap::new();
    let mut modified: BTreeMap<Fid, usize> = BTreeMap::new();
    let mut last_index = None;
    for r in records {
        last_index = Some(last_index.map_or(r.index, |l: u64| l.max(r.index)));
        // `Record::parse` refuses an entry-carrying record without `p=PARENT NAME` (and a
        // RENME without its source), so these defaults only meet hand-made records.
        let entry = || {
            (
                r.parent.unwrap_or(Fid::ZERO),
                r.name.clone().unwrap_or_default(),
            )
        };
        match r.kind {
            RecordType::Create
            | RecordType::Mkdir
            | RecordType::Hardlink
            | RecordType::Softlink
            | RecordType::Mknod => {
                let (parent, name) = entry();
                created.insert(r.target, changes.len());
                changes.push(Some(Change::Created {
                    fid: r.target,
                    parent,
                    name,
                    directory: r.kind == RecordType::Mkdir,
                }));
            }
            RecordType::Unlink | RecordType::Rmdir => {
                let (parent, name) = entry();
                let directory = r.kind == RecordType::Rmdir;
                // Cancel only a create of the same entry that nothing else refers to since.
                let cancels = created.get(&r.target).copied().filter(|&i| {
                    matches!(&changes[i], Some(Change::Created { parent: p, name: n, .. }) if *p == parent && *n == name)
                });
                if let Some(i) = cancels {
                    changes[i] = None;
                    created.remove(&r.target);
                    if let Some(m) = modified.remove(&r.target) {
                        changes[m] = None;
                    }
                } else {
                    if let Some(m) = modified.remove(&r.target) {
                        changes[m] = None;
                    }
                    changes.push(Some(Change::Removed {
                        fid: r.target,
                        parent,
                        name,
                        directory,
                    }));
                }
            }
            RecordType::Rename => {
                let (parent, name) = entry();
                let fid = r.source.unwrap_or(Fid::ZERO);
                created.remove(&fid);
                let overwritten = (!r.target.is_zero()).then_some(r.target);
                if let Some(o) = overwritten {
                    if let Some(m) = modified.remove(&o) {
                        changes[m] = None;
                    }
                }
                changes.push(Some(Change::Renamed {
                    fid,
                    old_parent: r.source_parent.unwrap_or(Fid::ZERO),
                    old_name: r.source_name.clone().unwrap_or_default(),
                    parent,
                    name,
                    overwritten,
                }));
            }
            RecordType::Close
            | RecordType::Truncate
            | RecordType::Mtime
            | RecordType::Setattr
            | RecordType::Xattr
            | RecordType::Layout
            | RecordType::FlrWrite
            | RecordType::Resync
            | RecordType::Migrate
                // A file created in this batch is read fresh anyway; otherwise one Modified.
                if !created.contains_key(&r.target) && !modified.contains_key(&r.target) =>
            {
                modified.insert(r.target, changes.len());
                changes.push(Some(Change::Modified { fid: r.target }));
            }
            // Created or already modified in this batch: nothing more to record.
            RecordType::Close
            | RecordType::Truncate
            | RecordType::Mtime
            | RecordType::Setattr
            | RecordType::Xattr
            | RecordType::Layout
            | RecordType::FlrWrite
            | RecordType::Resync
            | RecordType::Migrate => {}
            // No change of names or content: nothing for a consumer to apply.
            RecordType::Mark
            | RecordType::RenameTo
            | RecordType::Open
            | RecordType::Hsm
            | RecordType::Ctime
            | RecordType::Atime
            | RecordType::GetXattr
            | RecordType::DenyOpen => {}
        }
    }
    Batch {
        changes: changes.into_iter().flatten().collect(),
        last_index,
    }
}
