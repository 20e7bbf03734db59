// SPDX-License-Identifier: Apache-2.0
//! Response bodies. Objects are streamed from files in [`READ_CHUNK`] pieces, never loaded
//! whole; a large object (DLO/SLO) or a multi-range answer is a list of [`Piece`]s streamed
//! one after the other.

use std::collections::VecDeque;
use std::io::{self, SeekFrom};
use std::path::PathBuf;

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt, TryStreamExt};
use http_body::Frame;
use http_body_util::{combinators::UnsyncBoxBody, BodyExt, Empty, Full, StreamBody};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// The response body type.
pub type Body = UnsyncBoxBody<Bytes, io::Error>;

/// Bytes read from a file per chunk.
pub const READ_CHUNK: usize = 256 * 1024;

/// An empty body.
pub fn empty() -> Body {
    Empty::new().map_err(|never| match never {}).boxed_unsync()
}

/// A body held in memory (listings, errors, small JSON).
pub fn full(b: impl Into<Bytes>) -> Body {
    Full::new(b.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// Where a segment's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file (an object, or an SLO segment).
    File(PathBuf),
    /// Bytes held in an SLO manifest (a `data` segment), small by Swift's limits.
    Data(Bytes),
}

/// A byte range of one file or of inline bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// The bytes' source.
    pub source: Source,
    /// First byte.
    pub offset: u64,
    /// Bytes.
    pub len: u64,
}

/// Part of a response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Literal bytes (multipart boundaries and part headers).
    Bytes(Bytes),
    /// A range of a file or of inline bytes.
    Part(Segment),
}

/// The sub-ranges of `segs` (laid end to end) covering bytes `first..=last`.
pub fn slice_segments(segs: &[Segment], first: u64, last: u64) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut pos = 0u64;
    for s in segs {
        let (start, end) = (pos, pos + s.len); // [start, end)
        pos = end;
        if end <= first || start > last || s.len == 0 {
            continue;
        }
        let from = first.max(start) - start;
        let to = (last + 1).min(end) - start;
        out.push(Segment {
            source: s.source.clone(),
            offset: s.offset + from,
            len: to - from,
        });
    }
    out
}

/// The pieces of a `multipart/byteranges` body.
pub fn multipart_pieces(
    segs: &[Segment],
    ranges: &[(u64, u64)],
    total: u64,
    content_type: &str,
    boundary: &str,
) -> Vec<Piece> {
    let mut out = Vec::new();
    for &(a, b) in ranges {
        out.push(Piece::Bytes(Bytes::from(format!(
            "--{boundary}\r\nContent-Type: {content_type}\r\nContent-Range: bytes {a}-{b}/{total}\r\n\r\n"
        ))));
        out.extend(slice_segments(segs, a, b).into_iter().map(Piece::Part));
        out.push(Piece::Bytes(Bytes::from_static(b"\r\n")));
    }
    out.push(Piece::Bytes(Bytes::from(format!("--{boundary}--"))));
    out
}

/// Total length of pieces.
pub fn pieces_len(p: &[Piece]) -> u64 {
    p.iter()
        .map(|p| match p {
            Piece::Bytes(b) => b.len() as u64,
            Piece::Part(s) => s.len,
        })
        .sum()
}

struct State {
    queue: VecDeque<Piece>,
    open: Option<(tokio::fs::File, u64, PathBuf)>,
}

/// A stream of the bytes of `pieces`. A file shorter than its segment ends the stream with
/// an error (the client sees a truncated body, as with Swift).
pub fn piece_stream(pieces: Vec<Piece>) -> impl Stream<Item = io::Result<Bytes>> + Send {
    let st = State {
        queue: pieces.into(),
        open: None,
    };
    futures_util::stream::try_unfold(st, |mut st| async move {
        loop {
            if let Some((f, remaining, path)) = &mut st.open {
                if *remaining == 0 {
                    st.open = None;
                    continue;
                }
                let n = (*remaining).min(READ_CHUNK as u64) as usize;
                let mut buf = BytesMut::with_capacity(n);
                while buf.len() < n {
                    let got = f.read_buf(&mut buf).await?;
                    if got == 0 {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            format!("{} is shorter than expected", path.display()),
                        ));
                    }
                }
                *remaining -= buf.len() as u64;
                return Ok(Some((buf.freeze(), st)));
            }
            match st.queue.pop_front() {
                None => return Ok(None),
                Some(Piece::Bytes(b)) => return Ok(Some((b, st))),
                Some(Piece::Part(Segment {
                    source: Source::Data(b),
                    offset,
                    len,
                })) => {
                    let (from, to) = (offset as usize, (offset + len) as usize);
                    if to > b.len() {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "an inline segment is shorter than expected",
                        ));
                    }
                    return Ok(Some((b.slice(from..to), st)));
                }
                Some(Piece::Part(Segment {
                    source: Source::File(path),
                    offset,
                    len,
                })) => {
                    let std_file = crate::store::open_read(&path)?;
                    let mut f = tokio::fs::File::from_std(std_file);
                    if offset > 0 {
                        f.seek(SeekFrom::Start(offset)).await?;
                    }
                    st.open = Some((f, len, path));
                }
            }
        }
    })
}

/// A response body streaming `pieces`.
pub fn stream_body(pieces: Vec<Piece>) -> Body {
    let s = piece_stream(pieces).map_ok(Frame::data);
    BodyExt::boxed_unsync(StreamBody::new(s.boxed()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(n: &str, len: u64) -> Segment {
        Segment {
            source: Source::File(n.into()),
            offset: 0,
            len,
        }
    }

    #[test]
    fn slices_across_segments() {
        let segs = [seg("a", 5), seg("b", 0), seg("c", 5)];
        assert_eq!(slice_segments(&segs, 0, 9).len(), 2);
        assert_eq!(
            slice_segments(&segs, 3, 6),
            vec![
                Segment {
                    source: Source::File("a".into()),
                    offset: 3,
                    len: 2
                },
                Segment {
                    source: Source::File("c".into()),
                    offset: 0,
                    len: 2
                }
            ]
        );
        assert_eq!(
            slice_segments(&segs, 7, 7),
            vec![Segment {
                source: Source::File("c".into()),
                offset: 2,
                len: 1
            }]
        );
    }

    #[tokio::test]
    async fn streams_files_and_bytes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("f");
        std::fs::write(&f, b"0123456789").expect("write");
        let segs = vec![Segment {
            source: Source::File(f.clone()),
            offset: 0,
            len: 10,
        }];
        let pieces = multipart_pieces(&segs, &[(0, 1), (8, 9)], 10, "text/plain", "B");
        let want = pieces_len(&pieces);
        let body: Vec<Bytes> = piece_stream(pieces).try_collect().await.expect("stream");
        let all: Vec<u8> = body.concat();
        assert_eq!(all.len() as u64, want);
        let s = String::from_utf8(all).expect("utf8");
        assert!(s.starts_with(
            "--B\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/10\r\n\r\n01\r\n"
        ));
        assert!(s.ends_with("Content-Range: bytes 8-9/10\r\n\r\n89\r\n--B--"));
        let short = vec![Piece::Part(Segment {
            source: Source::File(f),
            offset: 5,
            len: 10,
        })];
        let r: io::Result<Vec<Bytes>> = piece_stream(short).try_collect().await;
        assert!(r.is_err());
    }
}
