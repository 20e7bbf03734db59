// SPDX-License-Identifier: Apache-2.0
//! The generic backend: Linux inotify over the whole tree.
//!
//! One inotify instance watches the root (accounts appearing and going) and one per account
//! (its containers and everything below), each read by its own thread into a bounded channel.
//! The main loop turns events into ops ([`tracker`]) and applies them in batches. Watches are
//! added by the rescans themselves ([`DirWatch`]): before a directory is read, so an entry
//! created while it is read is seen twice at worst, never missed.
//!
//! Start-up is a full rescan (events that happened while nothing watched are lost, so only
//! the tree can say what changed). When the kernel queue of an instance overflows, that
//! account alone is rescanned.

pub mod tracker;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::time::Duration;

use inotify::{Inotify, WatchDescriptor, WatchMask, Watches};

use crate::apply::{Applier, DirWatch};
use crate::error::{SyncError, SyncResult};
use crate::layout::account_of;
use crate::ops::Op;
use tracker::{Action, EventName, GroupId, RawEvent, Tracker};

/// How long a `MOVED_FROM` waits for its `MOVED_TO` when no other event comes.
const PAIR_WINDOW: Duration = Duration::from_millis(20);
/// Events turned into one batch of ops at most.
const MAX_EVENTS: usize = 50_000;
/// Messages (one per read, up to 64 KiB of events) buffered between readers and the main
/// loop; when full, the kernel queue fills and may overflow (then: rescan).
const CHANNEL: usize = 256;

/// What the readers and the ETag thread tell the main loop.
pub enum Msg {
    /// Events read from one instance.
    Events(GroupId, Vec<RawEvent>),
    /// The ETag of this path was computed: refresh its entry.
    Refresh(String),
    /// A reader failed.
    Failed(GroupId, String),
}

struct Group {
    watches: Watches,
    stop: Arc<AtomicBool>,
}

impl Drop for Group {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Kernel watches plus the [`Tracker`]; the [`DirWatch`] of rescans.
struct Watcher {
    tracker: Tracker,
    groups: HashMap<GroupId, Group>,
    accounts: HashMap<String, GroupId>,
    wds: HashMap<(GroupId, i32), WatchDescriptor>,
    next: GroupId,
    tx: SyncSender<Msg>,
    warned_limit: bool,
}

fn mask() -> WatchMask {
    WatchMask::CREATE
        | WatchMask::DELETE
        | WatchMask::MOVED_FROM
        | WatchMask::MOVED_TO
        | WatchMask::MODIFY
        | WatchMask::CLOSE_WRITE
        | WatchMask::ATTRIB
        | WatchMask::ONLYDIR
        | WatchMask::EXCL_UNLINK
}

const ROOT_GROUP: GroupId = 0;

impl Watcher {
    fn new(tx: SyncSender<Msg>) -> SyncResult<Watcher> {
        let mut w = Watcher {
            tracker: Tracker::new(),
            groups: HashMap::new(),
            accounts: HashMap::new(),
            wds: HashMap::new(),
            next: ROOT_GROUP,
            tx,
            warned_limit: false,
        };
        w.new_group()?;
        Ok(w)
    }

    fn new_group(&mut self) -> SyncResult<GroupId> {
        let ino = Inotify::init().map_err(|source| SyncError::Inotify {
            action: "create an inotify instance",
            source,
        })?;
        let id = self.next;
        self.next += 1;
        let stop = Arc::new(AtomicBool::new(false));
        let watches = ino.watches();
        let (tx, s) = (self.tx.clone(), stop.clone());
        std::thread::Builder::new()
            .name(format!("lk-sync-inotify-{id}"))
            .spawn(move || read_loop(ino, id, &tx, &s))
            .map_err(|source| SyncError::Inotify {
                action: "start a reader thread",
                source,
            })?;
        self.groups.insert(id, Group { watches, stop });
        Ok(id)
    }

    fn group_for(&mut self, rel: &str) -> Option<GroupId> {
        let Some(a) = account_of(rel) else {
            return Some(ROOT_GROUP);
        };
        if let Some(g) = self.accounts.get(a) {
            return Some(*g);
        }
        match self.new_group() {
            Ok(g) => {
                self.accounts.insert(a.to_string(), g);
                Some(g)
            }
            Err(e) => {
                tracing::error!(account = a, error = %e, "cannot watch account");
                None
            }
        }
    }

    /// The subtree a group watches (what to rescan after an overflow).
    fn scope(&self, g: GroupId) -> String {
        self.accounts
            .iter()
            .find(|(_, id)| **id == g)
            .map(|(a, _)| a.clone())
            .unwrap_or_default()
    }

    fn unwatch(&mut self, rel: &str) {
        for (g, wd) in self.tracker.take_subtree(rel) {
            if let (Some(group), Some(w)) = (self.groups.get_mut(&g), self.wds.remove(&(g, wd))) {
                // Fails harmlessly when the kernel already dropped it.
                let _ = group.watches.remove(w);
            }
        }
        if !rel.is_empty() && !rel.contains('/') {
            if let Some(g) = self.accounts.remove(rel) {
                self.groups.remove(&g);
                self.wds.retain(|(gg, _), _| *gg != g);
            }
        }
    }

    fn forget(&mut self, g: GroupId, wd: i32) {
        self.wds.remove(&(g, wd));
    }
}

impl DirWatch for Watcher {
    fn dir(&mut self, rel: &str, abs: &Path) {
        let Some(g) = self.group_for(rel) else { return };
        let Some(group) = self.groups.get_mut(&g) else {
            return;
        };
        let mut m = mask();
        if !rel.is_empty() && rel.contains('/') {
            // Accounts (and the root) may be symlinks placed by the admin; below, links are
            // never followed, as the gateway never lists them.
            m |= WatchMask::DONT_FOLLOW;
        }
        match group.watches.add(abs, m) {
            Ok(wd) => {
                let id = wd.get_watch_descriptor_id();
                self.tracker.watched(g, id, rel);
                self.wds.insert((g, id), wd);
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => {
                if !self.warned_limit {
                    self.warned_limit = true;
                    tracing::error!(
                        dir = %abs.display(),
                        "inotify watch limit reached: changes below some directories are not \
                         seen until a rescan; raise fs.inotify.max_user_watches"
                    );
                }
            }
            Err(e) => {
                tracing::debug!(dir = %abs.display(), error = %e, "cannot watch directory");
            }
        }
    }
}

fn read_loop(mut ino: Inotify, group: GroupId, tx: &SyncSender<Msg>, stop: &AtomicBool) {
    use rustix::event::{poll, PollFd, PollFlags, Timespec};
    let mut buf = vec![0u8; 64 * 1024];
    let timeout = Timespec {
        tv_sec: 0,
        tv_nsec: 200_000_000,
    };
    while !stop.load(Ordering::Relaxed) {
        let ready = {
            let mut fds = [PollFd::new(&ino, PollFlags::IN)];
            poll(&mut fds, Some(&timeout))
        };
        match ready {
            Ok(0) => continue,
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => {
                let _ = tx.send(Msg::Failed(group, e.to_string()));
                return;
            }
        }
        let events = match ino.read_events(&mut buf) {
            Ok(evs) => evs
                .map(|e| RawEvent {
                    group,
                    wd: e.wd.get_watch_descriptor_id(),
                    mask: e.mask.bits(),
                    cookie: e.cookie,
                    name: match e.name {
                        None => EventName::None,
                        Some(n) => match n.to_str() {
                            Some(s) => EventName::Name(s.to_string()),
                            None => EventName::Invalid,
                        },
                    },
                })
                .collect::<Vec<_>>(),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => {
                let _ = tx.send(Msg::Failed(group, e.to_string()));
                return;
            }
        };
        if !events.is_empty() && tx.send(Msg::Events(group, events)).is_err() {
            return;
        }
    }
}

/// Runs the inotify backend over `applier`'s tree: a full rescan, `ready()`, then events
/// until `stop` is set (or forever). With `once`, returns after the rescan.
pub fn run(
    applier: &Applier,
    tx: SyncSender<Msg>,
    rx: Receiver<Msg>,
    once: bool,
    stop: &AtomicBool,
    ready: &mut dyn FnMut(),
) -> SyncResult<()> {
    let mut w = Watcher::new(tx)?;
    let started = std::time::Instant::now();
    let stats = applier.apply(vec![Op::Scan(String::new())], None, &mut w)?;
    tracing::info!(?stats, watches = w.tracker.len(), elapsed = ?started.elapsed(), "initial scan done");
    ready();
    if once {
        return Ok(());
    }
    let root: PathBuf = applier.root().to_path_buf();
    let mut retry: Vec<Op> = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let wait = if w.tracker.has_pending() || !retry.is_empty() {
            PAIR_WINDOW
        } else {
            Duration::from_millis(500)
        };
        let mut actions = Vec::new();
        let mut n = 0usize;
        match rx.recv_timeout(wait) {
            Ok(m) => {
                n += handle(&mut w, m, &mut actions);
                while n < MAX_EVENTS {
                    match rx.try_recv() {
                        Ok(m) => n += handle(&mut w, m, &mut actions),
                        Err(_) => break,
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => w.tracker.flush(&mut actions),
            Err(RecvTimeoutError::Disconnected) => break,
        }
        let mut ops = std::mem::take(&mut retry);
        for a in actions {
            match a {
                Action::Op(op) => ops.push(op),
                Action::Unwatch(rel) => w.unwatch(&rel),
                Action::Rescan(g) => {
                    let scope = w.scope(g);
                    tracing::warn!(subtree = %root.join(&scope).display(), "inotify queue overflowed: rescanning");
                    ops.push(Op::Scan(scope));
                }
            }
        }
        if ops.is_empty() {
            continue;
        }
        let count = ops.len();
        match applier.apply(ops, None, &mut w) {
            Ok(stats) => tracing::debug!(events = n, ops = count, ?stats, "applied"),
            Err(e) => {
                // Everything is state-based: a rescan repairs whatever this batch missed.
                tracing::error!(error = %crate::error::chain(&e), "cannot apply a batch; rescanning");
                std::thread::sleep(Duration::from_secs(1));
                retry.push(Op::Scan(String::new()));
            }
        }
    }
    Ok(())
}

fn handle(w: &mut Watcher, m: Msg, actions: &mut Vec<Action>) -> usize {
    match m {
        Msg::Events(_, evs) => {
            let n = evs.len();
            for e in &evs {
                if e.mask & libc::IN_IGNORED != 0 {
                    w.forget(e.group, e.wd);
                }
                w.tracker.handle(e, actions);
            }
            n
        }
        Msg::Refresh(rel) => {
            actions.push(Action::Op(Op::Refresh(rel)));
            1
        }
        Msg::Failed(g, e) => {
            tracing::error!(group = g, error = %e, "inotify reader failed; rescanning");
            actions.push(Action::Rescan(g));
            1
        }
    }
}

/// A channel for [`run`] (readers and the ETag thread send into it).
pub fn channel() -> (SyncSender<Msg>, Receiver<Msg>) {
    mpsc::sync_channel(CHANNEL)
}
