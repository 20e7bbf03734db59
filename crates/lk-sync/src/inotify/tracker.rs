// SPDX-License-Identifier: Apache-2.0
//! inotify events to [`Op`]s. Pure: it keeps the table of watched directories (watch
//! descriptor -> path) and pairs renames, but never touches the filesystem; the backend
//! ([`super`]) adds and removes the kernel watches and applies the ops.
//!
//! - A file created, written, closed after writing, changed in its attributes (`touch`,
//!   `chmod`, xattrs) or deleted is a [`Op::Refresh`] of its path.
//! - The gateway's temp files (`.lk-tmp-*`) are ignored; renaming one into place arrives as a
//!   `MOVED_TO` of the object, one refresh: a gateway PUT is counted once.
//! - A directory created (or moved in from outside) is an [`Op::Scan`]: the backend watches it
//!   and indexes whatever was created in it before the watch existed.
//! - `MOVED_FROM` waits for the `MOVED_TO` with the same cookie, which the kernel queues right
//!   after it: a paired directory rename is an [`Op::Moved`] (the watches move with the
//!   directory, so the table's paths are rewritten); a `MOVED_FROM` still unpaired when
//!   another event of its group or a quiet period comes is a move out of the tree
//!   ([`Action::Unwatch`] and [`Op::Gone`]).
//! - `IN_Q_OVERFLOW` (events lost) is an [`Action::Rescan`] of the group's subtree.
//!
//! Events come in *groups*, one per inotify instance (the backend uses one per account and
//! one for the root), so an overflow only costs a rescan of one account.

use std::collections::{BTreeMap, HashMap};

use crate::layout::{is_temp, is_within, join};
use crate::ops::Op;

/// An inotify instance.
pub type GroupId = u32;

/// The name carried by an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventName {
    /// The event is about the watched directory itself.
    None,
    /// A UTF-8 entry name.
    Name(String),
    /// A name that is not UTF-8 (never a Swift name).
    Invalid,
}

/// One event as read from an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEvent {
    /// Instance it came from.
    pub group: GroupId,
    /// Watch descriptor.
    pub wd: i32,
    /// `IN_*` bits.
    pub mask: u32,
    /// Pairs `MOVED_FROM` with `MOVED_TO`.
    pub cookie: u32,
    /// Entry name.
    pub name: EventName,
}

/// What the backend must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Apply an index op.
    Op(Op),
    /// Remove the watches on this directory and below (it left the tree or is gone).
    Unwatch(String),
    /// Events of this group were lost: rescan what it watches.
    Rescan(GroupId),
}

#[derive(Debug, Clone)]
struct PendingMove {
    cookie: u32,
    path: String,
    dir: bool,
}

/// The watch table and the rename pairing state.
#[derive(Debug, Default)]
pub struct Tracker {
    dirs: HashMap<(GroupId, i32), String>,
    paths: BTreeMap<String, (GroupId, i32)>,
    pending: HashMap<GroupId, PendingMove>,
}

const IN_CONTENT: u32 =
    libc::IN_CREATE | libc::IN_DELETE | libc::IN_MODIFY | libc::IN_CLOSE_WRITE | libc::IN_ATTRIB;

impl Tracker {
    /// An empty table.
    pub fn new() -> Tracker {
        Tracker::default()
    }

    /// Records that `wd` of `group` watches the directory at `rel`.
    pub fn watched(&mut self, group: GroupId, wd: i32, rel: &str) {
        if let Some(old) = self.dirs.insert((group, wd), rel.to_string()) {
            if old != rel && self.paths.get(&old) == Some(&(group, wd)) {
                self.paths.remove(&old);
            }
        }
        self.paths.insert(rel.to_string(), (group, wd));
    }

    /// The path a watch stands for.
    pub fn path_of(&self, group: GroupId, wd: i32) -> Option<&str> {
        self.dirs.get(&(group, wd)).map(String::as_str)
    }

    /// The watch standing for a path.
    pub fn watch_of(&self, rel: &str) -> Option<(GroupId, i32)> {
        self.paths.get(rel).copied()
    }

    /// Forgets one watch (the kernel dropped it: `IN_IGNORED`).
    pub fn forget(&mut self, group: GroupId, wd: i32) {
        if let Some(p) = self.dirs.remove(&(group, wd)) {
            if self.paths.get(&p) == Some(&(group, wd)) {
                self.paths.remove(&p);
            }
        }
    }

    /// Forgets the watches on `rel` and below; returns them so the backend can remove them.
    pub fn take_subtree(&mut self, rel: &str) -> Vec<(GroupId, i32)> {
        let keys: Vec<String> = self
            .paths
            .range(rel.to_string()..)
            .take_while(|(p, _)| p.starts_with(rel))
            .filter(|(p, _)| is_within(p, rel))
            .map(|(p, _)| p.clone())
            .collect();
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            if let Some(w) = self.paths.remove(&k) {
                self.dirs.remove(&w);
                out.push(w);
            }
        }
        out
    }

    /// Number of watched directories.
    pub fn len(&self) -> usize {
        self.dirs.len()
    }

    /// Whether nothing is watched.
    pub fn is_empty(&self) -> bool {
        self.dirs.is_empty()
    }

    fn rename_subtree(&mut self, from: &str, to: &str) {
        let moved: Vec<(String, (GroupId, i32))> = self
            .paths
            .range(from.to_string()..)
            .take_while(|(p, _)| p.starts_with(from))
            .filter(|(p, _)| is_within(p, from))
            .map(|(p, w)| (p.clone(), *w))
            .collect();
        for (p, w) in moved {
            self.paths.remove(&p);
            let np = format!("{to}{}", &p[from.len()..]);
            self.dirs.insert(w, np.clone());
            self.paths.insert(np, w);
        }
    }

    /// Whether a `MOVED_FROM` waits for its pair.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Ends the wait of every pending `MOVED_FROM`: each is a move out of the tree.
    pub fn flush(&mut self, out: &mut Vec<Action>) {
        let groups: Vec<GroupId> = self.pending.keys().copied().collect();
        for g in groups {
            self.flush_group(g, out);
        }
    }

    fn flush_group(&mut self, group: GroupId, out: &mut Vec<Action>) {
        if let Some(p) = self.pending.remove(&group) {
            if p.dir {
                out.push(Action::Unwatch(p.path.clone()));
                out.push(Action::Op(Op::Gone(p.path)));
            } else {
                out.push(Action::Op(Op::Refresh(p.path)));
            }
        }
    }

    /// Turns one event into actions (appended to `out`, in order).
    pub fn handle(&mut self, ev: &RawEvent, out: &mut Vec<Action>) {
        if ev.mask & libc::IN_Q_OVERFLOW != 0 {
            self.flush_group(ev.group, out);
            out.push(Action::Rescan(ev.group));
            return;
        }
        let is_to = ev.mask & libc::IN_MOVED_TO != 0;
        let pairs = is_to
            && self
                .pending
                .get(&ev.group)
                .is_some_and(|p| p.cookie == ev.cookie);
        if !pairs {
            self.flush_group(ev.group, out);
        }
        if ev.mask & libc::IN_IGNORED != 0 {
            self.forget(ev.group, ev.wd);
            return;
        }
        let Some(dir) = self.dirs.get(&(ev.group, ev.wd)).cloned() else {
            return;
        };
        let name = match &ev.name {
            EventName::Name(n) if !is_temp(n) => n,
            // About the directory itself (its parent reports what matters), a temp file, or a
            // name that can never be listed. A rename *to* such a name moves out of the listing.
            _ => {
                if pairs {
                    self.flush_group(ev.group, out);
                }
                return;
            }
        };
        let path = join(&dir, name);
        let is_dir = ev.mask & libc::IN_ISDIR != 0;
        if ev.mask & libc::IN_MOVED_FROM != 0 {
            self.pending.insert(
                ev.group,
                PendingMove {
                    cookie: ev.cookie,
                    path,
                    dir: is_dir,
                },
            );
            return;
        }
        if is_to {
            match self.pending.remove(&ev.group).filter(|_| pairs) {
                Some(from) if from.dir => self.moved_dir(from.path, path, out),
                Some(from) => {
                    out.push(Action::Op(Op::Refresh(from.path)));
                    out.push(Action::Op(Op::Refresh(path)));
                }
                None if is_dir => out.push(Action::Op(Op::Scan(path))),
                None => out.push(Action::Op(Op::Refresh(path))),
            }
            return;
        }
        if is_dir {
            if ev.mask & libc::IN_CREATE != 0 {
                out.push(Action::Op(Op::Scan(path)));
            } else if ev.mask & libc::IN_DELETE != 0 {
                out.push(Action::Unwatch(path.clone()));
                out.push(Action::Op(Op::Gone(path)));
            }
            return;
        }
        if ev.mask & IN_CONTENT != 0 {
            out.push(Action::Op(Op::Refresh(path)));
        }
    }

    fn moved_dir(&mut self, from: String, to: String, out: &mut Vec<Action>) {
        // Accounts (and anything at the top) have their own inotify instance: a renamed
        // account is a gone one and a new one.
        if !from.contains('/') || !to.contains('/') {
            out.push(Action::Unwatch(from.clone()));
            out.push(Action::Op(Op::Gone(from)));
            out.push(Action::Op(Op::Scan(to)));
            return;
        }
        self.rename_subtree(&from, &to);
        out.push(Action::Op(Op::Moved { from, to }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const G: GroupId = 1;

    fn ev(wd: i32, mask: u32, cookie: u32, name: &str) -> RawEvent {
        RawEvent {
            group: G,
            wd,
            mask,
            cookie,
            name: if name.is_empty() {
                EventName::None
            } else {
                EventName::Name(name.into())
            },
        }
    }

    fn run(t: &mut Tracker, evs: &[RawEvent]) -> Vec<Action> {
        let mut out = Vec::new();
        for e in evs {
            t.handle(e, &mut out);
        }
        out
    }

    fn refresh(p: &str) -> Action {
        Action::Op(Op::Refresh(p.into()))
    }

    fn tracker() -> Tracker {
        let mut t = Tracker::new();
        t.watched(G, 1, "acct");
        t.watched(G, 2, "acct/cont");
        t.watched(G, 3, "acct/cont/d");
        t.watched(G, 4, "acct/cont/d/sub");
        t
    }

    #[test]
    fn file_events_refresh_the_path() {
        let mut t = tracker();
        let out = run(
            &mut t,
            &[
                ev(3, libc::IN_CREATE, 0, "f"),
                ev(3, libc::IN_MODIFY, 0, "f"),
                ev(3, libc::IN_CLOSE_WRITE, 0, "f"),
                ev(3, libc::IN_ATTRIB, 0, "f"),
                ev(3, libc::IN_DELETE, 0, "f"),
                ev(9, libc::IN_CREATE, 0, "unknown-wd"),
                ev(3, libc::IN_ATTRIB | libc::IN_ISDIR, 0, "sub"),
                ev(3, libc::IN_DELETE_SELF, 0, ""),
            ],
        );
        assert_eq!(out, vec![refresh("acct/cont/d/f"); 5]);
    }

    #[test]
    fn gateway_put_is_one_refresh() {
        let mut t = tracker();
        let out = run(
            &mut t,
            &[
                ev(3, libc::IN_CREATE, 0, ".lk-tmp-abc"),
                ev(3, libc::IN_MODIFY, 0, ".lk-tmp-abc"),
                ev(3, libc::IN_ATTRIB, 0, ".lk-tmp-abc"),
                ev(3, libc::IN_CLOSE_WRITE, 0, ".lk-tmp-abc"),
                ev(3, libc::IN_MOVED_FROM, 7, ".lk-tmp-abc"),
                ev(3, libc::IN_MOVED_TO, 7, "obj"),
            ],
        );
        assert_eq!(out, vec![refresh("acct/cont/d/obj")]);
        assert!(!t.has_pending());
    }

    #[test]
    fn paired_directory_rename_moves_the_watches() {
        let mut t = tracker();
        let out = run(
            &mut t,
            &[
                ev(2, libc::IN_MOVED_FROM | libc::IN_ISDIR, 9, "d"),
                ev(2, libc::IN_MOVED_TO | libc::IN_ISDIR, 9, "e"),
                ev(4, libc::IN_CREATE, 0, "x"),
            ],
        );
        assert_eq!(
            out,
            vec![
                Action::Op(Op::Moved {
                    from: "acct/cont/d".into(),
                    to: "acct/cont/e".into()
                }),
                refresh("acct/cont/e/sub/x"),
            ]
        );
        assert_eq!(t.path_of(G, 3), Some("acct/cont/e"));
        assert_eq!(t.watch_of("acct/cont/e/sub"), Some((G, 4)));
        assert_eq!(t.watch_of("acct/cont/d"), None);
    }

    #[test]
    fn file_rename_refreshes_both_names() {
        let mut t = tracker();
        let out = run(
            &mut t,
            &[
                ev(3, libc::IN_MOVED_FROM, 5, "a"),
                ev(4, libc::IN_MOVED_TO, 5, "b"),
            ],
        );
        assert_eq!(
            out,
            vec![refresh("acct/cont/d/a"), refresh("acct/cont/d/sub/b")]
        );
    }

    #[test]
    fn unpaired_moves_are_moves_out_and_in() {
        let mut t = tracker();
        let mut out = run(
            &mut t,
            &[ev(2, libc::IN_MOVED_FROM | libc::IN_ISDIR, 9, "d")],
        );
        assert!(t.has_pending());
        t.flush(&mut out);
        assert_eq!(
            out,
            vec![
                Action::Unwatch("acct/cont/d".into()),
                Action::Op(Op::Gone("acct/cont/d".into()))
            ]
        );
        // The backend removes the watches it is told to.
        assert_eq!(t.take_subtree("acct/cont/d"), vec![(G, 3), (G, 4)]);
        let out = run(
            &mut t,
            &[
                ev(2, libc::IN_MOVED_TO | libc::IN_ISDIR, 11, "new"),
                ev(2, libc::IN_MOVED_TO, 12, "file"),
            ],
        );
        assert_eq!(
            out,
            vec![
                Action::Op(Op::Scan("acct/cont/new".into())),
                refresh("acct/cont/file")
            ]
        );
    }

    #[test]
    fn another_event_ends_the_wait_before_it_is_handled() {
        let mut t = tracker();
        let out = run(
            &mut t,
            &[
                ev(2, libc::IN_MOVED_FROM | libc::IN_ISDIR, 9, "d"),
                ev(2, libc::IN_CREATE | libc::IN_ISDIR, 0, "d"),
            ],
        );
        assert_eq!(
            out,
            vec![
                Action::Unwatch("acct/cont/d".into()),
                Action::Op(Op::Gone("acct/cont/d".into())),
                Action::Op(Op::Scan("acct/cont/d".into())),
            ]
        );
    }

    #[test]
    fn rename_to_a_temp_or_invalid_name_leaves_the_listing() {
        let mut t = tracker();
        let mut out = run(
            &mut t,
            &[
                ev(3, libc::IN_MOVED_FROM, 5, "a"),
                ev(3, libc::IN_MOVED_TO, 5, ".lk-tmp-x"),
            ],
        );
        let mut bad = ev(3, libc::IN_MOVED_TO, 6, "");
        bad.name = EventName::Invalid;
        t.handle(&ev(3, libc::IN_MOVED_FROM, 6, "b"), &mut out);
        t.handle(&bad, &mut out);
        assert_eq!(
            out,
            vec![refresh("acct/cont/d/a"), refresh("acct/cont/d/b")]
        );
        assert!(!t.has_pending());
    }

    #[test]
    fn directory_delete_and_overflow() {
        let mut t = tracker();
        let out = run(
            &mut t,
            &[
                ev(3, libc::IN_DELETE | libc::IN_ISDIR, 0, "sub"),
                ev(4, libc::IN_IGNORED, 0, ""),
                ev(-1, libc::IN_Q_OVERFLOW, 0, ""),
            ],
        );
        assert_eq!(
            out,
            vec![
                Action::Unwatch("acct/cont/d/sub".into()),
                Action::Op(Op::Gone("acct/cont/d/sub".into())),
                Action::Rescan(G),
            ]
        );
        assert_eq!(t.path_of(G, 4), None);
    }

    #[test]
    fn account_renames_are_gone_and_new() {
        let mut t = Tracker::new();
        t.watched(0, 1, "");
        let mut out = Vec::new();
        let mut e = ev(1, libc::IN_MOVED_FROM | libc::IN_ISDIR, 3, "a1");
        e.group = 0;
        t.handle(&e, &mut out);
        e.mask = libc::IN_MOVED_TO | libc::IN_ISDIR;
        e.name = EventName::Name("a2".into());
        t.handle(&e, &mut out);
        assert_eq!(
            out,
            vec![
                Action::Unwatch("a1".into()),
                Action::Op(Op::Gone("a1".into())),
                Action::Op(Op::Scan("a2".into())),
            ]
        );
    }
}
