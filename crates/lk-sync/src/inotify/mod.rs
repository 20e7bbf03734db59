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
//!
//! Stopping (the caller's `stop` flag, set by SIGTERM or SIGINT) drains rather than drops:
//! every reader empties what its kernel queue held and ends, the ETag thread finishes the
//! file in hand, and the main loop applies all of it in a last batch before returning. So
//! the index reflects every change made before the stop.

pub mod tracker;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use inotify::{Inotify, WatchDescriptor, WatchMask, Watches};

use crate::apply::{Applier, DirWatch};
use crate::error::{SyncError, SyncResult};
use crate::hasher::Hasher;
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
    reader: JoinHandle<()>,
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
    /// Set when stopping: a stopped reader first forwards what its kernel queue holds.
    drain: Arc<AtomicBool>,
    /// Events a kernel queue can hold (`fs.inotify.max_queued_events`): what a drain reads
    /// at most, so that a tree written to without pause cannot keep it going.
    queue_limit: usize,
    /// When stopping: the groups whose readers must end before the last batch.
    draining: Option<HashSet<GroupId>>,
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
            drain: Arc::new(AtomicBool::new(false)),
            queue_limit: queue_limit(),
            draining: None,
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
        let reader = Reader {
            group: id,
            tx: self.tx.clone(),
            stop: stop.clone(),
            drain: self.drain.clone(),
            limit: self.queue_limit,
        };
        let reader = std::thread::Builder::new()
            .name(format!("lk-sync-inotify-{id}"))
            .spawn(move || reader.run(ino))
            .map_err(|source| SyncError::Inotify {
                action: "start a reader thread",
                source,
            })?;
        self.groups.insert(
            id,
            Group {
                watches,
                stop,
                reader,
            },
        );
        Ok(id)
    }

    /// Stops every reader, each after forwarding what its kernel queue holds.
    fn begin_drain(&mut self) {
        // Release/Acquire: a reader that sees its stop sees `drain` too.
        self.drain.store(true, Ordering::Release);
        for g in self.groups.values() {
            g.stop.store(true, Ordering::Release);
        }
        self.draining = Some(self.groups.keys().copied().collect());
    }

    /// Whether every reader stopped by [`Watcher::begin_drain`] has ended, so that all it
    /// read is in the channel. A group dropped since (its account left) no longer counts.
    fn drained(&mut self) -> bool {
        let groups = &self.groups;
        let Some(d) = &mut self.draining else {
            return false;
        };
        d.retain(|g| groups.get(g).is_some_and(|grp| !grp.reader.is_finished()));
        d.is_empty()
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

/// `fs.inotify.max_queued_events`, or the kernel's default when it cannot be read.
fn queue_limit() -> usize {
    std::fs::read_to_string("/proc/sys/fs/inotify/max_queued_events")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(16_384)
}

/// One instance's reader thread.
struct Reader {
    group: GroupId,
    tx: SyncSender<Msg>,
    stop: Arc<AtomicBool>,
    drain: Arc<AtomicBool>,
    limit: usize,
}

impl Reader {
    fn run(self, mut ino: Inotify) {
        let mut buf = vec![0u8; 64 * 1024];
        while !self.stop.load(Ordering::Acquire) {
            match readable(&ino) {
                Ok(false) => continue,
                Ok(true) => {}
                Err(e) => {
                    let _ = self.tx.send(Msg::Failed(self.group, e.to_string()));
                    return;
                }
            }
            if self
                .forward(read_some(&mut ino, &mut buf, self.group))
                .is_none()
            {
                return;
            }
        }
        if !self.drain.load(Ordering::Acquire) {
            return; // the group was dropped: its events no longer matter
        }
        // Everything queued before the stop is at most one full queue.
        let mut left = self.limit;
        while left > 0 {
            match self.forward(read_some(&mut ino, &mut buf, self.group)) {
                Some(0) | None => return,
                Some(n) => left = left.saturating_sub(n),
            }
        }
    }

    /// Sends what one read returned; the number of events, `None` when the reader must end
    /// (the read failed, or the main loop is gone).
    fn forward(&self, read: std::io::Result<Vec<RawEvent>>) -> Option<usize> {
        match read {
            Ok(evs) if evs.is_empty() => Some(0),
            Ok(evs) => {
                let n = evs.len();
                self.tx.send(Msg::Events(self.group, evs)).ok().map(|()| n)
            }
            Err(e) => {
                let _ = self.tx.send(Msg::Failed(self.group, e.to_string()));
                None
            }
        }
    }
}

/// Waits up to 200 ms for events (`false`: none yet), so the stop flag is seen that often.
fn readable(ino: &Inotify) -> rustix::io::Result<bool> {
    use rustix::event::{poll, PollFd, PollFlags, Timespec};
    let timeout = Timespec {
        tv_sec: 0,
        tv_nsec: 200_000_000,
    };
    let mut fds = [PollFd::new(ino, PollFlags::IN)];
    match poll(&mut fds, Some(&timeout)) {
        Ok(n) => Ok(n > 0),
        Err(rustix::io::Errno::INTR) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The events one read returns (none when the queue is empty: the instance is non-blocking).
fn read_some(ino: &mut Inotify, buf: &mut [u8], group: GroupId) -> std::io::Result<Vec<RawEvent>> {
    match ino.read_events(buf) {
        Ok(evs) => Ok(evs
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
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// Runs the inotify backend over `applier`'s tree: a full rescan, `ready()`, then events
/// until `stop` is set (or forever); then what was queued before the stop is applied (see
/// the module doc) and it returns. With `once`, returns after the rescan.
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
    let mut retry: Vec<Op> = Vec::new();
    loop {
        if w.draining.is_none() && stop.load(Ordering::Relaxed) {
            tracing::info!("stopping: applying the changes queued so far");
            w.begin_drain();
            if let Some(h) = applier.hasher() {
                h.request_stop();
            }
        }
        let last = w.drained() && applier.hasher().is_none_or(Hasher::is_stopped);
        if last {
            // The threads' ends were seen through `JoinHandle::is_finished`; this fence makes
            // all they did before (their last sends) visible here.
            std::sync::atomic::fence(Ordering::Acquire);
        }
        let mut actions = Vec::new();
        let n = if last {
            // Every reader and the ETag thread have ended: what they sent is in the channel,
            // which holds CHANNEL messages at most. Unpaired moves now are moves out.
            let n = rx
                .try_iter()
                .take(CHANNEL)
                .map(|m| handle(&mut w, m, &mut actions))
                .sum();
            w.tracker.flush(&mut actions);
            n
        } else {
            let wait = if w.tracker.has_pending() || !retry.is_empty() || w.draining.is_some() {
                PAIR_WINDOW
            } else {
                Duration::from_millis(500)
            };
            match receive(&mut w, &rx, wait, &mut actions) {
                Some(n) => n,
                None => return Ok(()),
            }
        };
        let ops = to_ops(&mut w, std::mem::take(&mut retry), actions, applier.root());
        if !ops.is_empty() {
            apply_batch(applier, &mut w, ops, n, last, &mut retry)?;
        }
        if last {
            tracing::info!("inotify backend stopped");
            return Ok(());
        }
    }
}

/// Waits up to `wait` for messages and turns them into actions (`None`: every sender is
/// gone); returns the number of events.
fn receive(
    w: &mut Watcher,
    rx: &Receiver<Msg>,
    wait: Duration,
    actions: &mut Vec<Action>,
) -> Option<usize> {
    let mut n = 0usize;
    match rx.recv_timeout(wait) {
        Ok(m) => {
            n += handle(w, m, actions);
            while n < MAX_EVENTS {
                match rx.try_recv() {
                    Ok(m) => n += handle(w, m, actions),
                    Err(_) => break,
                }
            }
        }
        Err(RecvTimeoutError::Timeout) => w.tracker.flush(actions),
        Err(RecvTimeoutError::Disconnected) => return None,
    }
    Some(n)
}

/// The ops of `actions` after `retry`; removes the watches of what left the tree.
fn to_ops(w: &mut Watcher, retry: Vec<Op>, actions: Vec<Action>, root: &Path) -> Vec<Op> {
    let mut ops = retry;
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
    ops
}

/// Applies one batch. A failure is repaired by a full rescan in the next one, or, for the
/// `last` batch of a stop, returned (the next start's rescan repairs it).
fn apply_batch(
    applier: &Applier,
    w: &mut Watcher,
    ops: Vec<Op>,
    events: usize,
    last: bool,
    retry: &mut Vec<Op>,
) -> SyncResult<()> {
    let count = ops.len();
    match applier.apply(ops, None, w) {
        Ok(stats) => tracing::debug!(events, ops = count, ?stats, "applied"),
        Err(e) if last => return Err(e),
        Err(e) => {
            // Everything is state-based: a rescan repairs whatever this batch missed.
            tracing::error!(error = %crate::error::chain(&e), "cannot apply a batch; rescanning");
            std::thread::sleep(Duration::from_secs(1));
            retry.push(Op::Scan(String::new()));
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
