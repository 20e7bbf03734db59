// SPDX-License-Identifier: Apache-2.0
//! Background ETag computation ("lazy ETags").
//!
//! The backends list a changed file at once with an empty ETag; this thread then computes its
//! MD5 through [`Gateway::load_object`], which stores the ETag in the file's metadata (xattrs
//! or side store) exactly as the gateway does and updates the index entry. A file modified
//! less than `settle` ago is hashed later, so a file being written is not hashed over and
//! over. After each file the `done` callback gets its path: the backend refreshes the entry
//! through its own (single) writer, which corrects the index if the file changed or vanished
//! while it was being hashed.
//!
//! Shutdown ([`Hasher::request_stop`], [`Hasher::stop`]): the file being hashed is finished
//! (and its `done` called), the rest of the queue is dropped. Those entries stay listed with
//! an empty ETag, which the gateway computes when a listing or a read first needs it, and
//! the next start's rescan queues them again.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use lk_gateway::sync_api::Gateway;
use lk_gateway::sync_api::SwiftError;

type Key = (String, String, String);

enum Job {
    Hash(Key),
    /// Wakes a thread waiting for work, so that it sees the stop flag.
    Stop,
}

/// Handle to the hashing thread; dropping every handle (or [`Hasher::stop`]) stops it.
#[derive(Clone)]
pub struct Hasher {
    tx: mpsc::Sender<Job>,
    stopping: Arc<AtomicBool>,
    thread: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl Hasher {
    /// Starts the thread. `done` receives the root-relative path of each file handled.
    pub fn start(gw: Arc<Gateway>, settle: Duration, done: Box<dyn Fn(String) + Send>) -> Hasher {
        let (tx, rx) = mpsc::channel();
        let stopping = Arc::new(AtomicBool::new(false));
        let flag = stopping.clone();
        let spawned = std::thread::Builder::new()
            .name("lk-sync-hasher".into())
            .spawn(move || run(&gw, settle, &rx, &flag, &*done));
        let thread = match spawned {
            Ok(h) => Some(h),
            Err(e) => {
                tracing::warn!(error = %e, "cannot start the ETag thread; ETags are computed on first read");
                None
            }
        };
        Hasher {
            tx,
            stopping,
            thread: Arc::new(Mutex::new(thread)),
        }
    }

    /// Asks for the ETag of one object (repeated requests for a queued object merge).
    pub fn enqueue(&self, account: &str, container: &str, name: &str) {
        let _ = self
            .tx
            .send(Job::Hash((account.into(), container.into(), name.into())));
    }

    /// Tells the thread to stop after the file in hand, without waiting for it.
    pub fn request_stop(&self) {
        self.stopping.store(true, Ordering::Relaxed);
        let _ = self.tx.send(Job::Stop);
    }

    /// Whether the thread has ended (or never started): its last `done` has returned.
    pub fn is_stopped(&self) -> bool {
        self.lock_thread()
            .as_ref()
            .is_none_or(JoinHandle::is_finished)
    }

    /// Stops the thread and waits for it (for the file it is hashing, if any).
    pub fn stop(&self) {
        self.request_stop();
        let handle = self.lock_thread().take();
        if handle.is_some_and(|h| h.join().is_err()) {
            tracing::error!("the ETag thread panicked");
        }
    }

    fn lock_thread(&self) -> std::sync::MutexGuard<'_, Option<JoinHandle<()>>> {
        // A panic elsewhere while holding the lock leaves the handle usable.
        self.thread.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn run(
    gw: &Gateway,
    settle: Duration,
    rx: &mpsc::Receiver<Job>,
    stopping: &AtomicBool,
    done: &dyn Fn(String),
) {
    let mut due: BTreeMap<(Instant, u64), Key> = BTreeMap::new();
    let mut queued: HashSet<Key> = HashSet::new();
    let mut seq = 0u64;
    while !stopping.load(Ordering::Relaxed) {
        let wait = due
            .first_key_value()
            .map(|((t, _), _)| t.saturating_duration_since(Instant::now()));
        let first = match wait {
            None => match rx.recv() {
                Ok(j) => Some(j),
                Err(_) => return,
            },
            Some(d) => match rx.recv_timeout(d) {
                Ok(j) => Some(j),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            },
        };
        for job in first.into_iter().chain(rx.try_iter()) {
            if let Job::Hash(k) = job {
                if queued.insert(k.clone()) {
                    seq += 1;
                    due.insert((Instant::now(), seq), k);
                }
            }
        }
        let now = Instant::now();
        while let Some(entry) = due.first_entry() {
            // Checked between files: a stop waits for one hash at most.
            if entry.key().0 > now || stopping.load(Ordering::Relaxed) {
                break;
            }
            let k = entry.remove();
            queued.remove(&k);
            if let Some(later) = hash_one(gw, settle, &k, done) {
                queued.insert(k.clone());
                seq += 1;
                due.insert((Instant::now() + later, seq), k);
            }
        }
    }
    tracing::debug!(left = due.len(), "ETag thread stopped");
}

/// Hashes one object; `Some(d)`: modified too recently, try again in `d`.
fn hash_one(gw: &Gateway, settle: Duration, k: &Key, done: &dyn Fn(String)) -> Option<Duration> {
    let (a, c, o) = (&k.0, &k.1, &k.2);
    let rel = format!("{a}/{c}/{o}");
    let Ok(path) = gw.store.object_path(a, c, o) else {
        done(rel); // leads out of the account: never indexed
        return None;
    };
    let Ok(md) = path.symlink_metadata() else {
        done(rel);
        return None;
    };
    if !md.is_file() {
        done(rel);
        return None;
    }
    let age = md
        .modified()
        .ok()
        .and_then(|m| SystemTime::now().duration_since(m).ok())
        .unwrap_or(settle);
    if age < settle {
        return Some(settle - age);
    }
    match gw.load_object(a, c, o) {
        Ok(_) | Err(SwiftError::NotFound) => done(rel),
        Err(e) => tracing::warn!(object = %rel, error = %e, "cannot compute ETag"),
    }
    None
}
