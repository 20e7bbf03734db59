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

use std::collections::{BTreeMap, HashSet};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use lk_gateway::sync_api::Gateway;
use lk_gateway::sync_api::SwiftError;

type Key = (String, String, String);

/// Handle to the hashing thread; dropping every handle stops it.
#[derive(Clone)]
pub struct Hasher {
    tx: mpsc::Sender<Key>,
}

impl Hasher {
    /// Starts the thread. `done` receives the root-relative path of each file handled.
    pub fn start(gw: Arc<Gateway>, settle: Duration, done: Box<dyn Fn(String) + Send>) -> Hasher {
        let (tx, rx) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("lk-sync-hasher".into())
            .spawn(move || run(&gw, settle, &rx, &*done));
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start the ETag thread; ETags are computed on first read");
        }
        Hasher { tx }
    }

    /// Asks for the ETag of one object (repeated requests for a queued object merge).
    pub fn enqueue(&self, account: &str, container: &str, name: &str) {
        let _ = self
            .tx
            .send((account.into(), container.into(), name.into()));
    }
}

fn run(gw: &Gateway, settle: Duration, rx: &mpsc::Receiver<Key>, done: &dyn Fn(String)) {
    let mut due: BTreeMap<(Instant, u64), Key> = BTreeMap::new();
    let mut queued: HashSet<Key> = HashSet::new();
    let mut seq = 0u64;
    loop {
        let wait = due
            .first_key_value()
            .map(|((t, _), _)| t.saturating_duration_since(Instant::now()));
        let first = match wait {
            None => match rx.recv() {
                Ok(k) => Some(k),
                Err(_) => return,
            },
            Some(d) => match rx.recv_timeout(d) {
                Ok(k) => Some(k),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            },
        };
        for k in first.into_iter().chain(rx.try_iter()) {
            if queued.insert(k.clone()) {
                seq += 1;
                due.insert((Instant::now(), seq), k);
            }
        }
        let now = Instant::now();
        while let Some(entry) = due.first_entry() {
            if entry.key().0 > now {
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
