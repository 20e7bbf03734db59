// SPDX-License-Identifier: Apache-2.0
//! Reading a tar archive (plain, gzip or bzip2) while it arrives as a request body, for bulk
//! upload (`?extract-archive`, [`crate::handlers::bulk_upload`]). A reader thread parses it
//! with the `tar` crate and hands over each regular file with a channel of its bytes, so
//! the archive is never held whole: each file is written while the next one arrives.
//!
//! The `tar` and decompression crates read synchronously, so the reader blocks on the
//! client. It runs on a thread of its own rather than on tokio's blocking pool, whose
//! threads serve every request's file system calls and must not wait on a slow client;
//! the upload slot its request holds ([`crate::uploads`]) bounds how many exist at once.
//!
//! When the archive is not valid the reader reports it with Python's `tarfile` words (what
//! Swift answers after `Invalid Tar File: `).

use std::cell::{Cell, RefCell};
use std::io::{self, Read};
use std::rc::Rc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;

/// How the archive is compressed (Swift's `tar`, `tar.gz`, `tar.bz2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// A plain tar stream.
    None,
    /// gzip.
    Gzip,
    /// bzip2.
    Bzip2,
}

impl Compression {
    /// The `extract-archive` value as Swift reads it (case and outer dots ignored).
    pub fn from_query(v: &str) -> Option<Compression> {
        match v.to_ascii_lowercase().trim_matches('.') {
            "tar" => Some(Compression::None),
            "tar.gz" => Some(Compression::Gzip),
            "tar.bz2" => Some(Compression::Bzip2),
            _ => None,
        }
    }
}

/// A regular file of the archive.
#[derive(Debug)]
pub struct ArchiveFile {
    /// Its name in the archive, as stored (not necessarily UTF-8).
    pub name: Vec<u8>,
    /// Its size in bytes.
    pub size: u64,
    /// Its pax records (global ones first), key and value.
    pub pax: PaxRecords,
    /// Its bytes: `size` of them, or an error when the archive ends or breaks first. Empty
    /// chunks mean only that the client is still sending. Dropping the receiver skips the
    /// rest of the file.
    pub data: mpsc::Receiver<io::Result<Bytes>>,
}

/// What the reader reports, in archive order.
#[derive(Debug)]
pub enum Event {
    /// A regular file (other entries are not reported).
    File(ArchiveFile),
    /// The archive is not valid: Python's words for why. Nothing follows.
    Invalid(String),
    /// The archive ended. (Events that end without this or [`Event::Invalid`] mean the
    /// reader died.)
    End,
}

/// Pax records: key and value, as stored.
pub type PaxRecords = Vec<(Vec<u8>, Vec<u8>)>;

/// Bytes of a file sent per chunk.
const CHUNK: usize = 64 * 1024;
/// Chunks buffered between the reader and the file's writer.
const DATA_CHANNEL: usize = 4;

/// Whether (and how) the client's body broke: set by whoever feeds the reader before it
/// closes the reader's channel, so that the channel's end reads as an error and not as the
/// archive's end.
#[derive(Debug, Default)]
pub struct BodyBroke(AtomicU16);

impl BodyBroke {
    /// Records that the body broke with `status` (a 408, or a 400 for a body that failed).
    pub fn set(&self, status: http::StatusCode) {
        self.0.store(status.as_u16(), Ordering::Release);
    }
    /// The status the body broke with, if it did.
    pub fn get(&self) -> Option<http::StatusCode> {
        http::StatusCode::from_u16(self.0.load(Ordering::Acquire)).ok()
    }
}

/// Starts the reader thread over the body chunks arriving on `body` (see [`BodyBroke`]).
/// The events end when the reader does.
pub fn start(
    compression: Compression,
    body: mpsc::Receiver<Bytes>,
    body_failed: Arc<BodyBroke>,
) -> io::Result<mpsc::Receiver<Event>> {
    let (tx, rx) = mpsc::channel(1);
    std::thread::Builder::new()
        .name("lk-extract".into())
        .spawn(move || read_archive(compression, body, body_failed, tx))?;
    Ok(rx)
}

/// What the reader has seen so far, shared by its layers (all on the reader thread).
#[derive(Default)]
struct Seen {
    /// Bytes received from the client.
    raw: Cell<u64>,
    /// The first two of them (the gzip magic, when there is one).
    magic: RefCell<Vec<u8>>,
    /// Bytes out of the decompressor (the tar stream).
    decoded: Cell<u64>,
    /// The client's bytes ended.
    raw_ended: Cell<bool>,
    /// The decompressor failed on the bytes it was given.
    bad_compression: Cell<bool>,
    /// The tar stream ended.
    eof: Cell<bool>,
    /// The file being copied, told that the client still sends (see [`BodyReader`]).
    current: RefCell<Option<mpsc::Sender<io::Result<Bytes>>>>,
}

/// The request body as a `Read`.
struct BodyReader {
    rx: mpsc::Receiver<Bytes>,
    cur: Bytes,
    failed: Arc<BodyBroke>,
    seen: Rc<Seen>,
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.cur.is_empty() {
            match self.rx.blocking_recv() {
                Some(b) => {
                    self.note(&b);
                    self.cur = b;
                }
                None if self.failed.get().is_some() => {
                    return Err(io::Error::other("the request body broke"))
                }
                None => {
                    self.seen.raw_ended.set(true);
                    return Ok(0);
                }
            }
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur.split_to(n));
        Ok(n)
    }
}

impl BodyReader {
    /// Counts `b`, and tells the file being written that the client is sending: a bzip2
    /// block may take long to arrive whole before any of its bytes come out, and the file's
    /// idle timeout is about the client, not the decompressor.
    fn note(&self, b: &Bytes) {
        let seen = &self.seen;
        seen.raw.set(seen.raw.get() + b.len() as u64);
        let mut magic = seen.magic.borrow_mut();
        let want = 2usize.saturating_sub(magic.len());
        magic.extend_from_slice(&b[..want.min(b.len())]);
        if let Some(tx) = seen.current.borrow().as_ref() {
            // A full channel means the writer has bytes to write: it is not idle.
            let _ = tx.try_send(Ok(Bytes::new()));
        }
    }
}

/// The decompressed stream, counted; marks errors that the decompressor raised itself.
struct Counted {
    inner: Box<dyn Read>,
    seen: Rc<Seen>,
    failed: Arc<BodyBroke>,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(0) if !buf.is_empty() => {
                self.seen.eof.set(true);
                Ok(0)
            }
            Ok(n) => {
                self.seen.decoded.set(self.seen.decoded.get() + n as u64);
                Ok(n)
            }
            // A compressed stream cut short is, for Python's `tarfile`, just a shorter
            // stream: whatever came out of it is judged as tar.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof && self.seen.raw_ended.get() => {
                self.seen.eof.set(true);
                Ok(0)
            }
            Err(e) => {
                if self.failed.get().is_none() {
                    self.seen.bad_compression.set(true);
                }
                Err(e)
            }
        }
    }
}

/// Where in the archive an error struck.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Reading a header (or skipping to it).
    Header,
    /// Reading a file's bytes.
    Data,
    /// After the last entry.
    End,
}

/// Python's `tarfile` message for an archive that failed at `place`.
fn python_words(c: Compression, seen: &Seen, place: Place) -> String {
    let not_gzip = c == Compression::Gzip && seen.magic.borrow().as_slice() != [0x1f, 0x8b];
    let words = if not_gzip {
        "not a gzip file"
    } else if seen.raw.get() == 0 || (seen.decoded.get() == 0 && !seen.bad_compression.get()) {
        "empty file"
    } else if seen.bad_compression.get() {
        "invalid compressed data"
    } else if place == Place::Data {
        "unexpected end of data"
    } else if seen.eof.get() {
        "truncated header"
    } else {
        "invalid header"
    };
    words.to_string()
}

/// The reader thread's body.
fn read_archive(
    c: Compression,
    body: mpsc::Receiver<Bytes>,
    failed: Arc<BodyBroke>,
    events: mpsc::Sender<Event>,
) {
    let seen = Rc::new(Seen::default());
    let raw = BodyReader {
        rx: body,
        cur: Bytes::new(),
        failed: failed.clone(),
        seen: seen.clone(),
    };
    let inner: Box<dyn Read> = match c {
        Compression::None => Box::new(raw),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(raw)),
        Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(raw)),
    };
    let counted = Counted {
        inner,
        seen: seen.clone(),
        failed,
    };
    let mut archive = tar::Archive::new(counted);
    let place = match archive.entries() {
        Ok(entries) => walk(entries, &seen, &events),
        Err(_) => Err(Some(Place::Header)),
    };
    let last = match place {
        Ok(()) if seen.decoded.get() > 0 => Event::End,
        Ok(()) => Event::Invalid(python_words(c, &seen, Place::End)),
        Err(None) => return,
        Err(Some(p)) => Event::Invalid(python_words(c, &seen, p)),
    };
    // The handler may have stopped listening: then nobody needs the outcome.
    let _ = events.blocking_send(last);
}

/// Reports the archive's regular files. `Err(Some(place))` when the archive failed there,
/// `Err(None)` when the listener has gone.
fn walk<R: Read>(
    entries: tar::Entries<'_, R>,
    seen: &Seen,
    events: &mpsc::Sender<Event>,
) -> Result<(), Option<Place>> {
    let mut global = PaxRecords::new();
    let mut first = true;
    for entry in entries {
        let mut entry = match entry {
            Ok(e) => e,
            // Python's `tarfile` reports a bad header only when it is the first one; after
            // that a header it cannot read ends the archive (trailing junk, a missing end
            // block). Bad compression is reported wherever it is.
            Err(_) if !first && !seen.bad_compression.get() => return Ok(()),
            Err(_) => return Err(Some(Place::Header)),
        };
        first = false;
        let kind = entry.header().entry_type();
        if kind.is_pax_global_extensions() {
            global.extend(pax_records(&mut entry)?);
            continue;
        }
        if !is_regular(&entry) {
            continue;
        }
        let mut pax = global.clone();
        pax.extend(pax_records(&mut entry)?);
        let (tx, rx) = mpsc::channel(DATA_CHANNEL);
        let file = ArchiveFile {
            name: entry.path_bytes().into_owned(),
            size: entry.size(),
            pax,
            data: rx,
        };
        let size = file.size;
        events.blocking_send(Event::File(file)).map_err(|_| None)?;
        *seen.current.borrow_mut() = Some(tx.clone());
        let copied = copy_file(&mut entry, size, &tx);
        *seen.current.borrow_mut() = None;
        copied.map_err(|()| Some(Place::Data))?;
    }
    Ok(())
}

/// Python's `isfile()`: regular, contiguous and sparse files; an old-style regular entry
/// whose name ends in `/` is a directory.
fn is_regular<R: Read>(entry: &tar::Entry<'_, R>) -> bool {
    let kind = entry.header().entry_type();
    let regular = kind.is_file() || kind.is_contiguous() || kind.is_gnu_sparse();
    // `EntryType` reads the old type byte 0 as regular too; only the raw byte tells them apart.
    let old_dir = entry.header().as_old().linkflag[0] == 0 && entry.path_bytes().ends_with(b"/");
    regular && !old_dir
}

/// The pax records that apply to `entry` (its own, or a global header's contents).
fn pax_records<R: Read>(entry: &mut tar::Entry<'_, R>) -> Result<PaxRecords, Option<Place>> {
    let Some(records) = entry.pax_extensions().map_err(|_| Some(Place::Header))? else {
        return Ok(Vec::new());
    };
    records
        .map(|r| {
            r.map(|r| (r.key_bytes().to_vec(), r.value_bytes().to_vec()))
                .map_err(|_| Some(Place::Header))
        })
        .collect()
}

/// Sends the file's `size` bytes; `Err` when the archive ends or breaks first (the writer
/// is told so too). A writer that stopped listening is no error: the rest is skipped.
fn copy_file<R: Read>(
    entry: &mut R,
    size: u64,
    tx: &mpsc::Sender<io::Result<Bytes>>,
) -> Result<(), ()> {
    let mut copied = 0u64;
    let mut listening = true;
    loop {
        let mut buf = vec![0u8; CHUNK];
        let n = match entry.read(&mut buf) {
            Ok(n) => n,
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
                return Err(());
            }
        };
        if n == 0 {
            if copied < size {
                let _ = tx.blocking_send(Err(io::Error::other("unexpected end of data")));
                return Err(());
            }
            return Ok(());
        }
        copied += n as u64;
        buf.truncate(n);
        if listening && tx.blocking_send(Ok(Bytes::from(buf))).is_err() {
            listening = false;
        }
    }
}

/// The object header Swift makes of a pax record (`pax_key_to_swift_header`): GNU tar's
/// and libarchive's `user.mime_type` xattr is the Content-Type, their `user.meta.*` xattrs
/// are object metadata; everything else (times, ACLs, other xattrs) is not user data.
pub fn swift_header(key: &[u8]) -> Option<Vec<u8>> {
    const MIME: [&[u8]; 2] = [
        b"SCHILY.xattr.user.mime_type",
        b"LIBARCHIVE.xattr.user.mime_type",
    ];
    const META: [&[u8]; 2] = [b"SCHILY.xattr.user.meta.", b"LIBARCHIVE.xattr.user.meta."];
    if MIME.contains(&key) {
        return Some(b"Content-Type".to_vec());
    }
    META.iter().find_map(|p| {
        key.strip_prefix(*p)
            .map(|rest| [b"X-Object-Meta-".as_slice(), rest].concat())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_as_swift_names_them() {
        assert_eq!(Compression::from_query("tar"), Some(Compression::None));
        assert_eq!(Compression::from_query(".TAR.GZ."), Some(Compression::Gzip));
        assert_eq!(Compression::from_query("tar.bz2"), Some(Compression::Bzip2));
        assert_eq!(Compression::from_query("zip"), None);
        assert_eq!(Compression::from_query(""), None);
    }

    #[test]
    fn pax_xattrs_become_headers() {
        let h = |k: &[u8]| swift_header(k).map(|v| String::from_utf8(v).expect("utf-8"));
        assert_eq!(
            h(b"SCHILY.xattr.user.mime_type").as_deref(),
            Some("Content-Type")
        );
        assert_eq!(
            h(b"LIBARCHIVE.xattr.user.meta.lunch").as_deref(),
            Some("X-Object-Meta-lunch")
        );
        assert_eq!(h(b"SCHILY.xattr.user.stuff"), None);
        assert_eq!(h(b"mtime"), None);
    }
}
