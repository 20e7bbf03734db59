// SPDX-License-Identifier: Apache-2.0
//! One client connection, below hyper: [`Guarded`] runs every byte the client sends through
//! a [`Tracker`] (see [`crate::framing`]) before hyper reads it, and [`ConnInfo`] carries what
//! the request handler needs to know about the connection (the peer's address, and which
//! request, if any, had its framing refused).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::framing::{Refusal, Refused, Tracker};

/// Bytes read at a time while a head or chunk line is being looked at.
const SCRATCH: usize = 16 * 1024;

/// What the handlers know about a request's connection (a request extension).
#[derive(Debug)]
pub struct ConnInfo {
    /// The client's address.
    pub peer: SocketAddr,
    /// Requests handed to the service so far.
    served: AtomicU64,
    refused: Mutex<Option<Refused>>,
}

impl ConnInfo {
    /// A new connection from `peer`.
    pub fn new(peer: SocketAddr) -> Arc<ConnInfo> {
        Arc::new(ConnInfo {
            peer,
            served: AtomicU64::new(0),
            refused: Mutex::new(None),
        })
    }

    /// Called once per request, in order (hyper serves an HTTP/1 connection's requests one
    /// after the other): the refusal when this request's head was refused.
    pub fn next_request(&self) -> Option<Refusal> {
        let n = self.served.fetch_add(1, Ordering::SeqCst);
        let refused = *self
            .refused
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        refused.filter(|r| r.request == n).map(|r| r.why)
    }

    fn record(&self, r: Refused) {
        *self
            .refused
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(r);
    }
}

/// A client stream whose reads go through a [`Tracker`]; writes pass unchanged.
pub struct Guarded<IO> {
    io: IO,
    tracker: Tracker,
    /// Bytes the tracker released that hyper has not read yet.
    ready: BytesMut,
    scratch: Vec<u8>,
    eof: bool,
    info: Arc<ConnInfo>,
}

impl<IO> Guarded<IO> {
    /// Wraps `io`, reporting refusals to `info`.
    pub fn new(io: IO, info: Arc<ConnInfo>) -> Self {
        Guarded {
            io,
            tracker: Tracker::default(),
            ready: BytesMut::new(),
            scratch: vec![0; SCRATCH],
            eof: false,
            info,
        }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Guarded<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if !this.ready.is_empty() {
                let n = buf.remaining().min(this.ready.len());
                buf.put_slice(&this.ready.split_to(n));
                return Poll::Ready(Ok(()));
            }
            if this.tracker.closed() {
                // Nothing more is read after a refused head. Not an end of stream: hyper
                // would drop the refused request unanswered (half-closed connections are
                // aborted); it answers, then closes (the stand-in head says so).
                return Poll::Pending;
            }
            if this.eof {
                return Poll::Ready(Ok(())); // end of stream
            }
            let budget = this.tracker.passthrough_budget().min(buf.remaining());
            if budget > 0 {
                // Body bytes of known length: straight into hyper's buffer, no copy.
                let dst = buf.initialize_unfilled_to(budget);
                let mut direct = ReadBuf::new(dst);
                ready!(Pin::new(&mut this.io).poll_read(cx, &mut direct))?;
                let n = direct.filled().len();
                if n == 0 {
                    this.eof = true;
                    continue;
                }
                this.tracker.passed(n);
                buf.advance(n);
                return Poll::Ready(Ok(()));
            }
            let mut rb = ReadBuf::new(&mut this.scratch);
            ready!(Pin::new(&mut this.io).poll_read(cx, &mut rb))?;
            if rb.filled().is_empty() {
                this.eof = true;
                this.tracker.eof(&mut this.ready);
                continue;
            }
            if let Some(r) = this.tracker.feed(rb.filled(), &mut this.ready) {
                this.info.record(r);
            }
        }
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Guarded<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
