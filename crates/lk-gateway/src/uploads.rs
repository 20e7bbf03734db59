// SPDX-License-Identifier: Apache-2.0
//! Upload slots: how many requests with a body are handled at once, overall and per client
//! address.
//!
//! An upload holds a temp file (a file descriptor), a task and up to one batch of its body
//! in memory for as long as its client keeps sending, and a client may send slowly on
//! purpose. The overall bound keeps that within the process's file descriptors and memory;
//! the per-address bound keeps one client (or one misbehaving node) from taking every slot.
//! A request over either bound is answered 503 at once (Swift clients retry it with
//! back-off) rather than queued: a queue would let slow uploads delay everyone else's.
//! Requests without a body never need a slot, so downloads and listings are never refused
//! here.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::error::{SwiftError, SwiftResult};
use crate::server::RequestBody;

/// The slots of one gateway.
#[derive(Debug)]
pub struct Uploads {
    max: usize,
    per_client: usize,
    held: Mutex<Held>,
}

#[derive(Debug, Default)]
struct Held {
    total: usize,
    by_client: HashMap<IpAddr, usize>,
}

/// A held slot, given back when dropped.
#[derive(Debug)]
pub struct Slot {
    uploads: Arc<Uploads>,
    client: IpAddr,
}

impl Uploads {
    /// At most `max` uploads, `per_client` of them from one address.
    pub fn new(max: usize, per_client: usize) -> Arc<Uploads> {
        Arc::new(Uploads {
            max,
            per_client,
            held: Mutex::new(Held::default()),
        })
    }

    fn held(&self) -> MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A slot for an upload from `client`, or 503.
    pub fn acquire(self: &Arc<Self>, client: IpAddr) -> Result<Slot, SwiftError> {
        let mut h = self.held();
        if h.total >= self.max {
            return Err(SwiftError::Busy(""));
        }
        let mine = h.by_client.entry(client).or_default();
        if *mine >= self.per_client {
            return Err(SwiftError::Busy(" from this client"));
        }
        *mine += 1;
        h.total += 1;
        Ok(Slot {
            uploads: self.clone(),
            client,
        })
    }

    /// Uploads in progress.
    pub fn in_progress(&self) -> usize {
        self.held().total
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut h = self.uploads.held();
        h.total = h.total.saturating_sub(1);
        if let Some(n) = h.by_client.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                h.by_client.remove(&self.client);
            }
        }
    }
}

/// Whether a request carries a body (and so needs a slot).
pub fn has_body(headers: &http::HeaderMap) -> bool {
    headers.contains_key(http::header::TRANSFER_ENCODING)
        || headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(crate::hdr::text)
            .is_some_and(|v| v.trim() != "0")
}

/// Refuses with `refusal` a request that must have a zero-byte body but carries bytes, as
/// Swift's symlink and object-versioning middlewares do (`content_length != 0`, else
/// `body_file.read(1)`): a non-zero `Content-Length` is refused without reading; a body
/// without one (chunked) is read only until its first data frame, each wait bounded by
/// `idle` (408 past it), so an empty chunked body passes and a long or endless one is
/// refused without draining it.
pub async fn refuse_body(
    headers: &http::HeaderMap,
    body: RequestBody,
    idle: Duration,
    refusal: SwiftError,
) -> SwiftResult<()> {
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(crate::hdr::text);
    // Swift compares the number, so `00` is zero too; the server has already refused a
    // length that is not a number.
    if declared.is_some_and(|v| v.trim().parse::<u64>() != Ok(0)) {
        return Err(refusal);
    }
    // At most 0 bytes: the first data byte ends the read as "too large".
    match crate::handlers::read_body(body, 0, idle).await {
        Ok(_) => Ok(()),
        Err(SwiftError::TooLarge(_)) => Err(refusal),
        Err(e) => Err(e),
    }
}

/// File descriptors an upload may hold: its socket and its temp file.
const FDS_PER_UPLOAD: u64 = 2;
/// File descriptors kept for everything else (index, listeners, downloads, logs).
const FDS_SPARE: u64 = 256;

/// Raises the soft limit on open files to the hard one (many services start with a soft
/// limit of 1024, which a thousand slow uploads would exhaust: then even `accept` fails and
/// nobody is answered), and warns when even that is short of what `max_uploads` may need.
pub fn raise_fd_limit(max_uploads: usize) {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let lim = getrlimit(Resource::Nofile);
    if lim.current != lim.maximum {
        let raised = Rlimit {
            current: lim.maximum,
            maximum: lim.maximum,
        };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            tracing::warn!(error = %e, "cannot raise the open-file limit");
        }
    }
    let have = getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX);
    let need = (max_uploads as u64)
        .saturating_mul(FDS_PER_UPLOAD)
        .saturating_add(FDS_SPARE);
    if have < need {
        tracing::warn!(
            limit = have,
            need,
            max_uploads,
            "the open-file limit is below what max_uploads may need; lower --max-uploads or raise the limit"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_overall_and_per_client() {
        let u = Uploads::new(3, 2);
        let (a, b): (IpAddr, IpAddr) = (
            "10.0.0.1".parse().expect("ip"),
            "10.0.0.2".parse().expect("ip"),
        );
        let a1 = u.acquire(a).expect("a1");
        let a2 = u.acquire(a).expect("a2");
        assert!(
            matches!(u.acquire(a), Err(SwiftError::Busy(_))),
            "per client"
        );
        let b1 = u.acquire(b).expect("b1");
        assert!(matches!(u.acquire(b), Err(SwiftError::Busy(_))), "overall");
        drop(a1);
        let b2 = u.acquire(b).expect("a slot came back");
        assert_eq!(u.in_progress(), 3);
        drop((a2, b1, b2));
        assert_eq!(u.in_progress(), 0);
        assert!(u.held().by_client.is_empty());
    }

    #[test]
    fn only_requests_with_a_body_need_a_slot() {
        let mut h = http::HeaderMap::new();
        assert!(!has_body(&h));
        h.insert("content-length", "0".parse().expect("hv"));
        assert!(!has_body(&h));
        h.insert("content-length", "5".parse().expect("hv"));
        assert!(has_body(&h));
        let mut h = http::HeaderMap::new();
        h.insert("transfer-encoding", "chunked".parse().expect("hv"));
        assert!(has_body(&h));
    }

    /// Short, so a helper that waited for a silent client would fail with 408, not hang.
    const IDLE: Duration = Duration::from_millis(200);

    fn headers(pairs: &[(&'static str, &'static str)]) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().expect("hv"));
        }
        h
    }

    /// A body sent as `chunks`; with `silent`, the client then sends nothing more and never
    /// ends it.
    fn sent(chunks: &[&'static str], silent: bool) -> RequestBody {
        use futures_util::stream::{self, StreamExt};
        let it = chunks.iter().map(|c| Ok::<_, std::io::Error>(c.as_bytes()));
        let it = stream::iter(it.collect::<Vec<_>>());
        match silent {
            true => RequestBody::from_stream(it.chain(stream::pending())),
            false => RequestBody::from_stream(it),
        }
    }

    async fn check(pairs: &[(&'static str, &'static str)], body: RequestBody) -> SwiftResult<()> {
        refuse_body(&headers(pairs), body, IDLE, SwiftError::bad("zero")).await
    }

    fn refused(r: SwiftResult<()>) -> bool {
        matches!(r, Err(SwiftError::BadRequest(t)) if t == "zero")
    }

    #[tokio::test]
    async fn a_zero_length_or_an_empty_chunked_body_passes() {
        let cl0 = [("content-length", "0")];
        assert!(check(&cl0, RequestBody::empty()).await.is_ok());
        let cl00 = [("content-length", "00")];
        assert!(check(&cl00, RequestBody::empty()).await.is_ok());
        assert!(check(&[], RequestBody::empty()).await.is_ok());
        let te = [("transfer-encoding", "chunked")];
        assert!(check(&te, sent(&["", ""], false)).await.is_ok());
    }

    #[tokio::test]
    async fn a_non_zero_length_is_refused_unread() {
        // The body never comes: reading it would end in 408, not the refusal.
        let r = check(&[("content-length", "5")], sent(&[], true)).await;
        assert!(refused(r));
    }

    #[tokio::test]
    async fn chunked_bytes_are_refused_at_the_first_one() {
        let te = [("transfer-encoding", "chunked")];
        assert!(refused(check(&te, sent(&["abc"], false)).await));
        // The rest never comes: draining to the end would be a 408.
        assert!(refused(check(&te, sent(&["", "x"], true)).await));
    }

    #[tokio::test]
    async fn a_silent_chunked_body_is_408() {
        let te = [("transfer-encoding", "chunked")];
        let r = check(&te, sent(&[], true)).await;
        assert!(matches!(r, Err(SwiftError::RequestTimeout)));
    }
}
