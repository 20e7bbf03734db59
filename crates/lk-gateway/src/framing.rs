// SPDX-License-Identifier: Apache-2.0
//! Request framing checks that hyper cannot be asked for (pure; no I/O).
//!
//! hyper resolves a request carrying both `Content-Length` and `Transfer-Encoding` by
//! dropping the length (RFC 9112 §6.3 allows that, and it closes the connection after),
//! and answers a transfer coding other than a final `chunked` with its own 400. The gateway
//! refuses the first with **400** (such a request is how smuggling through a proxy that
//! trusted the length works) and the second with **501**, as RFC 9112 §6.1 asks, and in
//! both cases reads nothing more from the connection.
//!
//! Since hyper removes the evidence before a handler runs, a [`Tracker`] follows the raw
//! byte stream below hyper: it buffers each request head until complete, inspects it, and
//! then follows the body (a length, or chunk by chunk) to find the next head. A refused head
//! is replaced by [`REFUSED_HEAD`], a body-less request with `Connection: close` that the
//! server answers with the refusal; everything after it is dropped. Bytes it cannot follow
//! (a malformed head or chunk) are passed on untouched and no more heads are inspected:
//! hyper rejects the same bytes and closes the connection.

use std::borrow::Cow;

use bytes::BytesMut;

/// Why a request's framing is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Both `Content-Length` and `Transfer-Encoding`: 400.
    LengthAndCoding,
    /// A transfer coding other than exactly one `chunked`: 501.
    UnsupportedCoding,
}

/// The head that replaces a refused one (hyper parses it; the server answers it).
pub const REFUSED_HEAD: &[u8] = b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n";

/// Longest request head followed; longer ones are hyper's to refuse (431).
pub const MAX_HEAD: usize = crate::server::MAX_HEAD_BYTES + 1024;

/// Longest chunk-size line or trailer section followed.
const MAX_LINE: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading a request head into `buf`.
    Head,
    /// `n` body bytes left (Content-Length).
    Body(u64),
    /// Reading a chunk-size line into `buf`.
    ChunkSize,
    /// `n` chunk data bytes left.
    ChunkData(u64),
    /// Reading the line break after chunk data into `buf`.
    ChunkEnd,
    /// Reading trailer lines (into `buf`) until an empty one.
    Trailer,
    /// Lost track of the framing: pass everything on, inspect nothing.
    Passthrough,
    /// A head was refused: drop everything.
    Closed,
}

/// Follows the requests of one connection. See the module documentation.
#[derive(Debug)]
pub struct Tracker {
    state: State,
    buf: Vec<u8>,
    heads: u64,
    trailer_bytes: usize,
}

impl Default for Tracker {
    fn default() -> Self {
        Tracker {
            state: State::Head,
            buf: Vec::new(),
            heads: 0,
            trailer_bytes: 0,
        }
    }
}

/// A refused request: its position on the connection (0 = first) and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    /// Index of the request on its connection.
    pub request: u64,
    /// Why.
    pub why: Refusal,
}

impl Tracker {
    /// Whether nothing more is to be read (a head was refused).
    pub fn closed(&self) -> bool {
        self.state == State::Closed
    }

    /// How many bytes may go to hyper without being looked at (body data whose length is
    /// known, or everything once the framing is lost): they can be read straight into
    /// hyper's buffer and reported with [`Tracker::passed`].
    pub fn passthrough_budget(&self) -> usize {
        match self.state {
            State::Body(n) | State::ChunkData(n) => usize::try_from(n).unwrap_or(usize::MAX),
            State::Passthrough => usize::MAX,
            _ => 0,
        }
    }

    /// `n` (at most [`Tracker::passthrough_budget`]) bytes went to hyper unseen.
    pub fn passed(&mut self, n: usize) {
        let n = n as u64;
        self.state = match self.state {
            State::Body(left) if left > n => State::Body(left - n),
            State::Body(_) => State::Head,
            State::ChunkData(left) if left > n => State::ChunkData(left - n),
            State::ChunkData(_) => State::ChunkEnd,
            other => other,
        };
    }

    /// Takes bytes read from the client and appends to `out` what hyper should read.
    /// Returns the refusal when a head in `input` was refused.
    pub fn feed(&mut self, input: &[u8], out: &mut BytesMut) -> Option<Refused> {
        let mut rest = input;
        while !rest.is_empty() {
            match self.state {
                State::Closed => return None,
                State::Passthrough => {
                    out.extend_from_slice(rest);
                    return None;
                }
                State::Head => {
                    let (used, refused) = self.head(rest, out);
                    rest = &rest[used..];
                    if refused.is_some() {
                        return refused;
                    }
                }
                State::Body(n) | State::ChunkData(n) => {
                    let take = n.min(rest.len() as u64) as usize;
                    out.extend_from_slice(&rest[..take]);
                    rest = &rest[take..];
                    let left = n - take as u64;
                    self.state = match (self.state, left) {
                        (State::Body(_), 0) => State::Head,
                        (State::Body(_), _) => State::Body(left),
                        (_, 0) => State::ChunkEnd,
                        _ => State::ChunkData(left),
                    };
                }
                State::ChunkSize | State::ChunkEnd | State::Trailer => {
                    let used = self.line(rest);
                    out.extend_from_slice(&rest[..used]);
                    rest = &rest[used..];
                }
            }
        }
        None
    }

    /// The client closed its side: hand over a partial head so hyper sees it.
    pub fn eof(&mut self, out: &mut BytesMut) {
        if self.state == State::Head {
            out.extend_from_slice(&self.buf);
            self.buf.clear();
        }
    }

    /// Consumes head bytes from `input`; returns how many were used.
    fn head(&mut self, input: &[u8], out: &mut BytesMut) -> (usize, Option<Refused>) {
        let old = self.buf.len();
        self.buf.extend_from_slice(input);
        // Parse only once a blank line may have arrived, so a head sent byte by byte is not
        // re-parsed from the start for every byte.
        let from = old.saturating_sub(2);
        let tail = &self.buf[from..];
        let blank =
            tail.windows(2).any(|w| w == b"\n\n") || tail.windows(3).any(|w| w == b"\n\r\n");
        let (view, added, parsed) = if blank {
            let (view, added) = encoded_view(&self.buf);
            let parsed = parse_head(&view);
            (view, added, parsed)
        } else {
            (Cow::Borrowed(&self.buf[..]), 0, Ok(None))
        };
        // `len` counts the client's bytes, `view_len` those passed on.
        let parsed = parsed.map(|p| p.map(|(view_len, f)| (view_len - added, view_len, f)));
        match parsed {
            Ok(None) if self.buf.len() <= MAX_HEAD => (input.len(), None),
            // A head ending inside what was buffered before cannot happen (it would have
            // been parsed then); should it, the framing is lost: stop following.
            Ok(Some((len, _, _))) if len < old => self.lose_track(input.len(), out),
            Ok(None) | Err(()) => self.lose_track(input.len(), out),
            Ok(Some((len, view_len, framing))) => {
                let used = len - old;
                let request = self.heads;
                self.heads += 1;
                let refused = match framing {
                    Framing::Refuse(why) => {
                        out.extend_from_slice(REFUSED_HEAD);
                        self.state = State::Closed;
                        Some(Refused { request, why })
                    }
                    Framing::Length(n) => {
                        out.extend_from_slice(&view[..view_len]);
                        self.state = if n == 0 { State::Head } else { State::Body(n) };
                        None
                    }
                    Framing::Chunked => {
                        out.extend_from_slice(&view[..view_len]);
                        self.state = State::ChunkSize;
                        None
                    }
                    Framing::Unknown => {
                        out.extend_from_slice(&view[..view_len]);
                        self.state = State::Passthrough;
                        None
                    }
                };
                self.buf.clear();
                (used, refused)
            }
        }
    }

    /// Passes the buffered bytes on and stops following.
    fn lose_track(&mut self, used: usize, out: &mut BytesMut) -> (usize, Option<Refused>) {
        out.extend_from_slice(&self.buf);
        self.buf.clear();
        self.state = State::Passthrough;
        (used, None)
    }

    /// Consumes bytes of a chunk-size line, the break after chunk data or a trailer line;
    /// returns how many were used (up to and including a line feed).
    fn line(&mut self, input: &[u8]) -> usize {
        let (used, complete) = match input.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (input.len(), false),
        };
        self.buf.extend_from_slice(&input[..used]);
        if self.state == State::Trailer {
            self.trailer_bytes += used;
        }
        if self.buf.len() > MAX_LINE || self.trailer_bytes > MAX_LINE {
            self.state = State::Passthrough;
            return used;
        }
        if !complete {
            return used;
        }
        let line = std::mem::take(&mut self.buf);
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        self.state = match self.state {
            State::ChunkSize => match chunk_size(text) {
                Some(0) => {
                    self.trailer_bytes = 0;
                    State::Trailer
                }
                Some(n) => State::ChunkData(n),
                None => State::Passthrough,
            },
            State::ChunkEnd if text.is_empty() => State::ChunkSize,
            State::Trailer if text.is_empty() => State::Head,
            State::Trailer => State::Trailer,
            _ => State::Passthrough,
        };
        used
    }
}

/// How a request's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// `Content-Length` (0 when absent).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Refused.
    Refuse(Refusal),
    /// Something hyper will refuse (a bad length): stop following.
    Unknown,
}

/// The buffered head with the non-ASCII bytes of its request line percent-encoded, and how
/// many bytes that added. Clients may send a raw UTF-8 (or invalid) path; hyper (and
/// httparse) refuse any such byte with a bare 400, while Swift decodes it: encoded, the path
/// reaches the gateway's own checks (UTF-8 names served, anything else Swift's 412). Header
/// lines and bodies are untouched.
fn encoded_view(buf: &[u8]) -> (Cow<'_, [u8]>, usize) {
    let line_end = buf.iter().position(|&b| b == b'\n').unwrap_or(buf.len());
    let line = &buf[..line_end];
    if line.is_ascii() {
        return (Cow::Borrowed(buf), 0);
    }
    let mut v = Vec::with_capacity(buf.len() + 16);
    let mut added = 0;
    for &b in line {
        if b.is_ascii() {
            v.push(b);
        } else {
            v.extend_from_slice(format!("%{b:02X}").as_bytes());
            added += 2;
        }
    }
    v.extend_from_slice(&buf[line_end..]);
    (Cow::Owned(v), added)
}

/// A complete head's length and framing; `Ok(None)` while incomplete, `Err` when it is not
/// a request head at all.
fn parse_head(buf: &[u8]) -> Result<Option<(usize, Framing)>, ()> {
    let mut headers = [httparse::EMPTY_HEADER; crate::server::MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(()),
    };
    Ok(Some((len, framing(req.headers))))
}

fn framing(headers: &[httparse::Header<'_>]) -> Framing {
    let mut lengths = Vec::new();
    let mut codings = Vec::new();
    let mut has_te = false;
    for h in headers {
        if h.name.eq_ignore_ascii_case("content-length") {
            lengths.push(h.value);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            has_te = true;
            let v = String::from_utf8_lossy(h.value).to_ascii_lowercase();
            codings.extend(
                v.split(',')
                    .map(|c| c.trim().to_string())
                    .filter(|c| !c.is_empty()),
            );
        }
    }
    if has_te && !lengths.is_empty() {
        return Framing::Refuse(Refusal::LengthAndCoding);
    }
    if has_te {
        return if codings == ["chunked"] {
            Framing::Chunked
        } else {
            Framing::Refuse(Refusal::UnsupportedCoding)
        };
    }
    let mut parsed = lengths.iter().map(|v| digits(v));
    match parsed.next() {
        None => Framing::Length(0),
        Some(Some(n)) if parsed.all(|m| m == Some(n)) => Framing::Length(n),
        Some(_) => Framing::Unknown,
    }
}

fn digits(v: &[u8]) -> Option<u64> {
    if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(v).ok()?.parse().ok()
}

/// The size of a chunk-size line (`HEX[ws][;ext]`).
fn chunk_size(line: &[u8]) -> Option<u64> {
    let end = line.iter().position(|&b| b == b';').unwrap_or(line.len());
    let hex = std::str::from_utf8(&line[..end])
        .ok()?
        .trim_end_matches([' ', '\t']);
    if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` in pieces of `step` bytes; returns what hyper reads and the refusals.
    fn run(input: &[u8], step: usize) -> (Vec<u8>, Vec<Refused>) {
        let mut t = Tracker::default();
        let mut out = BytesMut::new();
        let mut refused = Vec::new();
        for piece in input.chunks(step) {
            refused.extend(t.feed(piece, &mut out));
        }
        t.eof(&mut out);
        (out.to_vec(), refused)
    }

    /// As [`run`], but body bytes are reported with `passed` as the server reads them.
    fn run_passing(input: &[u8], step: usize) -> (Vec<u8>, Vec<Refused>) {
        let mut t = Tracker::default();
        let mut out = BytesMut::new();
        let mut refused = Vec::new();
        let mut rest = input;
        while !rest.is_empty() {
            let budget = t.passthrough_budget().min(step);
            let n = budget.max(1).min(step).min(rest.len());
            if budget > 0 {
                out.extend_from_slice(&rest[..n]);
                t.passed(n);
            } else {
                refused.extend(t.feed(&rest[..n], &mut out));
            }
            rest = &rest[n..];
        }
        t.eof(&mut out);
        (out.to_vec(), refused)
    }

    fn every_step(input: &[u8]) -> (Vec<u8>, Vec<Refused>) {
        let whole = run(input, input.len().max(1));
        for step in [1, 2, 3, 7, 64] {
            assert_eq!(run(input, step), whole, "fed {step} bytes at a time");
            assert_eq!(
                run_passing(input, step),
                whole,
                "passed {step} bytes at a time"
            );
        }
        whole
    }

    #[test]
    fn non_ascii_request_targets_are_percent_encoded() {
        let input = b"PUT /v1/AUTH_a/\xc3\xa9\xff HTTP/1.1\r\nX-Meta: \xc3\xa9\r\nContent-Length: 0\r\n\r\n";
        let (out, refused) = every_step(input);
        assert!(refused.is_empty());
        assert_eq!(
            out,
            b"PUT /v1/AUTH_a/%C3%A9%FF HTTP/1.1\r\nX-Meta: \xc3\xa9\r\nContent-Length: 0\r\n\r\n"
        );
    }

    #[test]
    fn well_framed_requests_pass_unchanged() {
        let input: &[u8] = b"PUT /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello\
            PUT /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\
            3;ext=1\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nX-Trailer: t\r\n\r\n\
            \r\nGET /c HTTP/1.1\r\nContent-Length: 0\r\n\r\n\
            GET /d HTTP/1.1\r\n\r\n";
        assert_eq!(every_step(input), (input.to_vec(), vec![]));
    }

    #[test]
    fn length_and_coding_together_are_refused_and_the_rest_dropped() {
        let smuggle: &[u8] = b"GET /ok HTTP/1.1\r\n\r\n\
            POST /x HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n\
            0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n";
        let (out, refused) = every_step(smuggle);
        let mut want = b"GET /ok HTTP/1.1\r\n\r\n".to_vec();
        want.extend_from_slice(REFUSED_HEAD);
        assert_eq!(out, want);
        let why = Refusal::LengthAndCoding;
        assert_eq!(refused, vec![Refused { request: 1, why }]);
        // The order of the two headers does not matter.
        let (_, refused) = every_step(
            b"PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
        );
        assert_eq!(refused, vec![Refused { request: 0, why }]);
    }

    #[test]
    fn codings_other_than_chunked_are_refused() {
        for te in ["gzip", "gzip, chunked", "chunked, chunked", "identity", ""] {
            let head = format!("PUT /x HTTP/1.1\r\nTransfer-Encoding: {te}\r\n\r\n");
            let (out, refused) = every_step(head.as_bytes());
            assert_eq!(out, REFUSED_HEAD, "{te}");
            let why = Refusal::UnsupportedCoding;
            assert_eq!(refused, vec![Refused { request: 0, why }], "{te}");
        }
        let (_, refused) = every_step(b"PUT /x HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n");
        assert!(refused.is_empty());
    }

    #[test]
    fn what_cannot_be_followed_is_passed_on_for_hyper_to_refuse() {
        for input in [
            &b"PUT /x HTTP/1.1\r\nContent-Length: 1x\r\n\r\nGET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"[..],
            b"PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nGET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"NOT HTTP AT ALL\r\n\r\n",
            b"GET /partial HTTP/1.1\r\nHost: x",
        ] {
            assert_eq!(every_step(input), (input.to_vec(), vec![]));
        }
        let long = [&b"GET / HTTP/1.1\r\nX: "[..], &vec![b'a'; MAX_HEAD]].concat();
        assert_eq!(run(&long, 4096), (long.clone(), vec![]));
    }
}
