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
    let mut c = Coalescer::default();
    let mut last_index = None;
    for r in records {
        last_index = Some(last_index.map_or(r.index, |l: u64| l.max(r.index)));
        match r.kind {
            RecordType::Create
            | RecordType::Mkdir
            | RecordType::Hardlink
            | RecordType::Softlink
            | RecordType::Mknod => c.created(r),
            RecordType::Unlink | RecordType::Rmdir => c.removed(r),
            RecordType::Rename => c.renamed(r),
            RecordType::Close
            | RecordType::Truncate
            | RecordType::Mtime
            | RecordType::Setattr
            | RecordType::Xattr
            | RecordType::Layout
            | RecordType::FlrWrite
            | RecordType::Resync
            | RecordType::Migrate => c.modified(r),
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
        changes: c.changes.into_iter().flatten().collect(),
        last_index,
    }
}

/// The batch so far; a cancelled change leaves `None` in its place so indexes stay valid.
#[derive(Default)]
struct Coalescer {
    changes: Vec<Option<Change>>,
    /// FID -> index in `changes` of its Created entry (still pending).
    created: BTreeMap<Fid, usize>,
    /// FID -> index in `changes` of its Modified entry.
    modified: BTreeMap<Fid, usize>,
}

/// The (new) entry of a record. `Record::parse` refuses an entry-carrying record without
/// `p=PARENT NAME` (and a RENME without its source), so these defaults only meet hand-made
/// records.
fn entry(r: &Record) -> (Fid, String) {
    (
        r.parent.unwrap_or(Fid::ZERO),
        r.name.clone().unwrap_or_default(),
    )
}

impl Coalescer {
    fn drop_modified(&mut self, fid: &Fid) {
        if let Some(m) = self.modified.remove(fid) {
            self.changes[m] = None;
        }
    }

    fn created(&mut self, r: &Record) {
        let (parent, name) = entry(r);
        self.created.insert(r.target, self.changes.len());
        self.changes.push(Some(Change::Created {
            fid: r.target,
            parent,
            name,
            directory: r.kind == RecordType::Mkdir,
        }));
    }

    fn removed(&mut self, r: &Record) {
        let (parent, name) = entry(r);
        let directory = r.kind == RecordType::Rmdir;
        // Cancel only a create of the same entry that nothing else refers to since.
        let cancels = self.created.get(&r.target).copied().filter(|&i| {
            matches!(&self.changes[i], Some(Change::Created { parent: p, name: n, .. }) if *p == parent && *n == name)
        });
        self.drop_modified(&r.target);
        if let Some(i) = cancels {
            self.changes[i] = None;
            self.created.remove(&r.target);
        } else {
            self.changes.push(Some(Change::Removed {
                fid: r.target,
                parent,
                name,
                directory,
            }));
        }
    }

    fn renamed(&mut self, r: &Record) {
        let (parent, name) = entry(r);
        let fid = r.source.unwrap_or(Fid::ZERO);
        self.created.remove(&fid);
        let overwritten = (!r.target.is_zero()).then_some(r.target);
        if let Some(o) = overwritten {
            self.drop_modified(&o);
        }
        self.changes.push(Some(Change::Renamed {
            fid,
            old_parent: r.source_parent.unwrap_or(Fid::ZERO),
            old_name: r.source_name.clone().unwrap_or_default(),
            parent,
            name,
            overwritten,
        }));
    }

    /// One Modified per object; none for an object created in this batch (read fresh anyway).
    fn modified(&mut self, r: &Record) {
        if !self.created.contains_key(&r.target) && !self.modified.contains_key(&r.target) {
            self.modified.insert(r.target, self.changes.len());
            self.changes.push(Some(Change::Modified { fid: r.target }));
        }
    }
}
