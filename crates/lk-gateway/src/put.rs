// SPDX-License-Identifier: Apache-2.0
//! Writing an object: streamed into a temp file next to it, checked, fsynced, renamed into
//! place and indexed (see docs/gateway.md, "Atomic writes").
//!
//! Three steps: [`Gateway::begin_put`] (checks, temp file) and [`Gateway::finish_put`]
//! (length and ETag checks, metadata, fsync, rename, index) are blocking; [`write_stream`]
//! moves the body between them without ever keeping a thread waiting for the client: a batch
//! of what arrived is written on a blocking thread while the next batch is read, so a client
//! that stops sending holds a temp file and a task, not one of the blocking threads every
//! other request needs. When the client sends nothing for the idle timeout the request fails
//! with 408. Whatever ends an upload early (an error, the timeout, the client going away and
//! the request future being dropped), [`TempFile`] removes the temp file.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use md5::{Digest, Md5};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::error::{SwiftError, SwiftResult};
use crate::gateway::{blocking, mtime_ns, object_key, Gateway, ObjectInfo, PutSpec};
use crate::meta::keys;
use crate::time::Timestamp;

/// Bytes collected from the client while the previous batch is being written.
pub const BATCH: usize = 256 * 1024;

/// A temp file that is removed when dropped, unless it was renamed into place.
#[derive(Debug)]
pub struct TempFile {
    path: PathBuf,
    committed: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        let path = std::mem::take(&mut self.path);
        // An unlink can be slow on a network filesystem: off the async threads if we are on
        // them.
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => drop(rt.spawn_blocking(move || remove_temp(&path))),
            Err(_) => remove_temp(&path),
        }
    }
}

fn remove_temp(path: &Path) {
    if let Err(e) = std::fs::remove_file(path) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(path = %path.display(), error = %e, "cannot remove a temp file");
        }
    }
}

/// The open temp file and what has been written to it.
pub struct Sink {
    file: File,
    tmp: PathBuf,
    md5: Md5,
    written: u64,
    max: u64,
}

impl Sink {
    /// Appends `chunk` (blocking), refusing to grow past `max_file_size`.
    pub fn write(&mut self, chunk: &[u8]) -> SwiftResult<()> {
        self.written += chunk.len() as u64;
        if self.written > self.max {
            return Err(SwiftError::TooLarge(format!(
                "object larger than {} bytes",
                self.max
            )));
        }
        self.md5.update(chunk);
        self.file
            .write_all(chunk)
            .map_err(|e| SwiftError::io("write", &self.tmp, e))
    }
}

/// An upload between [`Gateway::begin_put`] and [`Gateway::finish_put`].
pub struct Upload {
    /// Where the body goes.
    pub sink: Sink,
    temp: TempFile,
    /// The object's plain path (its file is in there when it is a directory by commit time).
    plain: PathBuf,
}

impl Gateway {
    /// Checks that the object may be written and creates its temp file (blocking).
    pub fn begin_put(&self, spec: &PutSpec) -> SwiftResult<Upload> {
        let (a, c, o) = (&spec.account, &spec.container, &spec.object);
        let cdir = self.store.checked_container_dir(a, c)?;
        if !cdir.is_dir() {
            return Err(SwiftError::NotFound);
        }
        // Components too long for a file name are stored under their hash, recorded first so
        // a path can always be read back into its name.
        self.index
            .record_long_names(&crate::layout::long_components(o))?;
        let plain = self.store.object_plain_path(a, c, o)?;
        let target = crate::store::resolve_self(&plain);
        if spec.if_none_match_any && target.is_file() {
            return Err(SwiftError::PreconditionFailed);
        }
        let versions = crate::versioning::store::state(self, a, c)?;
        if versions.versioned() && crate::versioning::has_reserved_component(o) {
            return Err(SwiftError::bad(format!(
                "object names with a component starting {} are reserved in versioned containers",
                crate::versioning::RESERVED_PREFIX
            )));
        }
        // A concurrent DELETE may prune an empty parent between the two steps: retry.
        let mut attempt = 0;
        let (file, tmp) = loop {
            let made = self
                .make_parents_for(a, c, o, &cdir, &target)
                .and_then(|()| self.store.create_temp(&target));
            match made {
                Err(SwiftError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound && attempt < 5 =>
                {
                    attempt += 1;
                }
                other => break other?,
            }
        };
        Ok(Upload {
            sink: Sink {
                file,
                tmp: tmp.clone(),
                md5: Md5::new(),
                written: 0,
                max: self.settings.limits.max_file_size,
            },
            temp: TempFile {
                path: tmp,
                committed: false,
            },
            plain,
        })
    }

    /// Checks the body's length and ETag, stores the metadata, fsyncs, renames the temp
    /// file over the object and indexes it (blocking). On any error the temp file goes.
    pub fn finish_put(&self, spec: &PutSpec, up: Upload) -> SwiftResult<ObjectInfo> {
        let Upload {
            sink,
            mut temp,
            plain,
        } = up;
        let Sink {
            file,
            tmp,
            md5,
            written: n,
            ..
        } = sink;
        if let Some(len) = spec.expected_len {
            if len != n {
                return Err(SwiftError::ClientBody {
                    context: format!("reading a body of {n} bytes, Content-Length {len}"),
                });
            }
        }
        let etag = hex::encode(md5.finalize());
        if let Some(want) = &spec.expected_etag {
            if !want.eq_ignore_ascii_case(&etag) {
                return Err(SwiftError::Unprocessable(format!(
                    "body MD5 {etag} does not match ETag {want}"
                )));
            }
        }
        let now = Timestamp::now();
        file.set_modified(now.to_system())
            .map_err(|e| SwiftError::io("set mtime of", &tmp, e))?;
        let md = file
            .metadata()
            .map_err(|e| SwiftError::io("stat", &tmp, e))?;
        let mt = mtime_ns(&md);
        let mut meta = spec.meta.clone();
        meta.insert(keys::ETAG.into(), spec.stored_etag.clone().unwrap_or(etag));
        meta.insert(keys::LENGTH.into(), n.to_string());
        let ts = spec
            .keep_version
            .clone()
            .unwrap_or_else(|| now.to_x_timestamp());
        meta.insert(keys::TIMESTAMP.into(), ts);
        meta.insert(keys::MTIME.into(), mt.to_string());
        let key = object_key(&spec.account, &spec.container, &spec.object);
        self.meta.write_file(&file, &tmp, &key, &meta)?;
        file.sync_all()
            .map_err(|e| SwiftError::io("fsync", &tmp, e))?;
        drop(file);
        let _guard = self
            .commit_locks
            .lock(&spec.account, &spec.container, &spec.object);
        // Under the lock: `d` may have become a directory (`d/x` arrived) since the temp file
        // was made; the object is then its SELF_FILE.
        let target = crate::store::resolve_self(&plain);
        if let Some(version) = &spec.keep_version {
            // `temp` is dropped (removed) on this return.
            let current = match target.symlink_metadata() {
                Ok(_) => self.meta.read(&target, &key)?,
                Err(_) => None, // deleted meanwhile
            };
            if current.as_ref().and_then(|m| m.get(keys::TIMESTAMP)) != Some(version) {
                return Err(SwiftError::Conflict(format!(
                    "{} changed while it was being rewritten",
                    spec.object
                )));
            }
        }
        // Versioning: the object being replaced may have to stay as a version (never for the
        // DLO refresher's rewrite of the same version).
        let versions = match spec.keep_version {
            Some(_) => crate::versioning::State::Never,
            None => crate::versioning::store::state(self, &spec.account, &spec.container)?,
        };
        if versions.versioned() {
            let (a, c, o) = (&spec.account, &spec.container, &spec.object);
            // A null current object first (keep_null skips one with a version id), then one
            // with a version id.
            if versions == crate::versioning::State::Enabled {
                crate::versioning::store::keep_null(self, a, c, o, &target)?;
            }
            crate::versioning::store::keep_current(self, a, c, o, &target)?;
        }
        // commit_temp removes the temp file itself when the rename fails.
        temp.committed = true;
        self.store.commit_temp(&tmp, &target)?;
        let info = ObjectInfo {
            path: target,
            file_size: n,
            meta,
        };
        // Objects reached through a symlink are not listed (see Gateway::load_object_at).
        if !self.store.through_link(&spec.account, &info.path) {
            self.index_object(&spec.account, &spec.container, &spec.object, &info, mt)?;
            if versions.versioned() {
                let (a, c, o) = (&spec.account, &spec.container, &spec.object);
                crate::versioning::store::after_write(self, a, c, o, &info, versions)?;
            }
        }
        Ok(info)
    }

    /// Writes an object from the chunks arriving on `rx` (blocking; for feeders and tests:
    /// the server uses [`write_stream`]). The object appears only when complete, checked and
    /// synced, and is indexed before this returns.
    pub fn put_object_blocking(
        &self,
        spec: PutSpec,
        mut rx: mpsc::Receiver<SwiftResult<Bytes>>,
    ) -> SwiftResult<ObjectInfo> {
        let mut up = self.begin_put(&spec)?;
        while let Some(chunk) = rx.blocking_recv() {
            up.sink.write(&chunk?)?;
        }
        self.finish_put(&spec, up)
    }
}

/// Streams `chunks` into a new object; returns its info once committed and indexed. With
/// `idle`, a wait of that long for the next chunk fails the upload with 408.
pub async fn write_stream<S>(
    gw: &Arc<Gateway>,
    spec: PutSpec,
    chunks: S,
    idle: Option<Duration>,
) -> SwiftResult<ObjectInfo>
where
    S: Stream<Item = SwiftResult<Bytes>> + Unpin,
{
    let spec = Arc::new(spec);
    let (g, sp) = (gw.clone(), spec.clone());
    let mut up = blocking(move || g.begin_put(&sp)).await?;
    // On an early return `up` is dropped, and with it the temp file.
    let Upload { sink, temp, plain } = up;
    let sink = pump(chunks, sink, idle).await?;
    up = Upload { sink, temp, plain };
    let g = gw.clone();
    blocking(move || g.finish_put(&spec, up)).await
}

/// The writer's side of [`pump`]: free, or writing a batch on a blocking thread.
enum Writer {
    Idle(Sink),
    Busy(JoinHandle<SwiftResult<Sink>>),
}

enum Event {
    Written(SwiftResult<Sink>),
    Chunk(Option<SwiftResult<Bytes>>),
    TimedOut,
}

/// Moves the body into `sink`: whatever has arrived is written as one batch while the next
/// one (up to [`BATCH`] bytes) is read.
async fn pump<S>(mut chunks: S, sink: Sink, idle: Option<Duration>) -> SwiftResult<Sink>
where
    S: Stream<Item = SwiftResult<Bytes>> + Unpin,
{
    let mut writer = Writer::Idle(sink);
    let mut batch: Vec<Bytes> = Vec::new();
    let mut batched = 0;
    let mut ended = false;
    loop {
        writer = match writer {
            Writer::Idle(sink) if ended && batch.is_empty() => return Ok(sink),
            Writer::Idle(mut sink) if !batch.is_empty() => {
                let todo = std::mem::take(&mut batch);
                batched = 0;
                Writer::Busy(tokio::task::spawn_blocking(move || {
                    todo.iter().try_for_each(|b| sink.write(b))?;
                    Ok(sink)
                }))
            }
            other => other,
        };
        // Reading stops while a full batch waits for the writer (bounded memory); then the
        // client is not idle, we are, so no timeout runs.
        let read = !ended && batched < BATCH;
        match next_event(&mut writer, &mut chunks, read, idle).await {
            Event::Written(sink) => writer = Writer::Idle(sink?),
            Event::Chunk(Some(chunk)) => {
                let chunk = chunk?;
                batched += chunk.len();
                batch.push(chunk);
            }
            Event::Chunk(None) => ended = true,
            Event::TimedOut => return Err(SwiftError::RequestTimeout),
        }
    }
}

/// Waits for the busy writer to finish or (when `read`) the next chunk, whichever comes
/// first. The idle timeout restarts with every call, so time spent writing never counts
/// against the client.
async fn next_event<S>(
    writer: &mut Writer,
    chunks: &mut S,
    read: bool,
    idle: Option<Duration>,
) -> Event
where
    S: Stream<Item = SwiftResult<Bytes>> + Unpin,
{
    let written =
        async {
            match writer {
                Writer::Busy(h) => Event::Written(h.await.unwrap_or_else(|e| {
                    Err(SwiftError::Internal(format!("writer task failed: {e}")))
                })),
                Writer::Idle(_) => std::future::pending().await,
            }
        };
    let chunk = async {
        if !read {
            return std::future::pending().await;
        }
        match idle {
            Some(t) => match tokio::time::timeout(t, chunks.next()).await {
                Ok(c) => Event::Chunk(c),
                Err(_) => Event::TimedOut,
            },
            None => Event::Chunk(chunks.next().await),
        }
    };
    tokio::select! {
        biased;
        e = written => e,
        e = chunk => e,
    }
}
