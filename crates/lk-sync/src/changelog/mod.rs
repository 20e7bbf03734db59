// SPDX-License-Identifier: Apache-2.0
//! The Lustre backend: a consumer of the MDT changelog, one stream per MDT.
//!
//! Each stream runs `lfs changelog [--follow] MDT [STARTREC]` and reads its standard output
//! line by line (a recorded changelog replayed by a test script goes through exactly this
//! path). Lines read together form a batch: parsed by key ([`Record::parse`]; a malformed
//! line is reported and skipped), coalesced ([`coalesce`]), resolved (`lfs fid2path` for the
//! parents and modified files), planned ([`plan::plan`]) and applied; the index commits the
//! batch together with the cursor `changelog:MDT` = the last record index read. Only then does
//! the stream run `lfs changelog_clear MDT USER LAST` (never with 0, which Lustre reads as
//! "everything"), USER being that MDT's own changelog user ([`MdtStream`]: a user registered
//! by name gets a different id on each MDT).
//!
//! After a restart the stream first clears up to its cursor (a crash may have come between
//! commit and clear), then reads from cursor + 1; records at or below the cursor, should
//! `lfs` print them again, are skipped.
//!
//! On `stop` (SIGTERM, SIGINT) a stream finishes the batch it is applying (commit, then
//! clear up to that batch's last record), starts no other, and ends its `lfs changelog`.
//! Lines already read but not applied are neither committed nor cleared: the next start
//! reads them again.

pub mod plan;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use lk_lustre::changelog::{
    changelog_args, changelog_clear_args, coalesce, fid2path_args, leading_index, parse_fid2path,
    Fid, Record,
};

use crate::apply::{Applier, NoWatch};
use crate::error::{SyncError, SyncResult};
use plan::{fids_to_resolve, Lookup};

/// FIDs per `lfs fid2path` call.
const FID2PATH_CHUNK: usize = 500;

/// How the changelog is read.
#[derive(Debug, Clone)]
pub struct ChangelogOptions {
    /// The `lfs` program.
    pub lfs: PathBuf,
    /// Lustre mount point (given to `lfs fid2path`), canonical.
    pub mount: PathBuf,
    /// The MDTs to follow, one stream each, with the user each one clears for.
    pub streams: Vec<MdtStream>,
    /// `None`: `lfs changelog --follow`; `Some(d)`: plain `lfs changelog` every `d`.
    pub poll: Option<Duration>,
    /// Read up to the current end once, apply, clear, and return.
    pub once: bool,
    /// Records per batch at most.
    pub batch_max: usize,
}

/// One MDT to follow and its registered changelog user (`cl1`, `cl2-lk-swift`), whose
/// records the stream clears: the same name registered on two MDTs can have different ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdtStream {
    /// The MDT (`fsname-MDT0000`).
    pub mdt: String,
    /// Its changelog user.
    pub user: String,
}

/// The index cursor of an MDT's stream.
pub fn cursor_name(mdt: &str) -> String {
    format!("changelog:{mdt}")
}

fn command_line(lfs: &Path, args: &[String]) -> String {
    let mut s = lfs.display().to_string();
    for a in args {
        s.push(' ');
        s.push_str(a);
    }
    s
}

/// Runs every MDT's stream until `stop` (or, with `once`, until each reached its end).
pub fn run(applier: &Applier, opts: &ChangelogOptions, stop: &AtomicBool) -> SyncResult<()> {
    if opts.streams.is_empty() {
        return Err(SyncError::Config(
            "the changelog backend needs at least one --mdt".into(),
        ));
    }
    std::thread::scope(|s| {
        let streams: Vec<_> = opts
            .streams
            .iter()
            .map(|ms| s.spawn(move || stream(applier, opts, ms, stop)))
            .collect();
        let mut first_err = None;
        for h in streams {
            let r = h
                .join()
                .unwrap_or_else(|_| Err(SyncError::Config("a changelog stream panicked".into())));
            if let Err(e) = r {
                tracing::error!(error = %crate::error::chain(&e), "changelog stream ended");
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    })
}

enum Line {
    Text(String),
    NotUtf8(String),
}

/// The record index committed for the stream's cursor `name` (0: none yet).
fn read_cursor(applier: &Applier, name: &str) -> SyncResult<u64> {
    match applier
        .gateway()
        .index
        .cursor(name)
        .map_err(crate::error::index_err("reading the changelog cursor"))?
    {
        Some(v) => v.parse().map_err(|_| {
            SyncError::Config(format!("cursor {name} holds `{v}`, not a record index"))
        }),
        None => Ok(0),
    }
}

/// Reads `out` line by line into a channel of at most `cap` lines (the reader blocks when
/// the stream falls behind); the thread ends at end of file or when the receiver is gone.
fn spawn_reader(
    out: Option<std::process::ChildStdout>,
    cap: usize,
) -> (mpsc::Receiver<Line>, std::thread::JoinHandle<()>) {
    let (tx, rx) = mpsc::sync_channel::<Line>(cap);
    let reader = std::thread::spawn(move || {
        let Some(out) = out else { return };
        let mut r = BufReader::new(out);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match r.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                buf.pop();
            }
            let line = match String::from_utf8(std::mem::take(&mut buf)) {
                Ok(s) => Line::Text(s),
                Err(e) => Line::NotUtf8(String::from_utf8_lossy(e.as_bytes()).into_owned()),
            };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    (rx, reader)
}

fn stream(
    applier: &Applier,
    opts: &ChangelogOptions,
    ms: &MdtStream,
    stop: &AtomicBool,
) -> SyncResult<()> {
    let mdt = ms.mdt.as_str();
    let name = cursor_name(mdt);
    let mut cursor = read_cursor(applier, &name)?;
    tracing::info!(mdt, user = %ms.user, cursor, "changelog stream starting");
    // A crash may have come between the last commit and its clear.
    clear(opts, ms, cursor);
    loop {
        read_changelog(applier, opts, ms, &name, &mut cursor, stop)?;
        if opts.once || stop.load(Ordering::Relaxed) {
            tracing::info!(mdt, cursor, "changelog stream ended");
            return Ok(());
        }
        pause(opts.poll.unwrap_or(Duration::from_secs(1)), stop);
    }
}

/// Sleeps `d`, or less when `stop` is set meanwhile (a long `--poll` does not delay a stop).
fn pause(d: Duration, stop: &AtomicBool) {
    let until = std::time::Instant::now() + d;
    while !stop.load(Ordering::Relaxed) {
        let left = until.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(Duration::from_millis(100)));
    }
}

/// One run of `lfs changelog`: its lines applied batch by batch (`cursor` moving with each
/// commit) until it ends or `stop` is set. A failed run is an error with `--once`, otherwise
/// logged (the caller starts another).
fn read_changelog(
    applier: &Applier,
    opts: &ChangelogOptions,
    ms: &MdtStream,
    name: &str,
    cursor: &mut u64,
    stop: &AtomicBool,
) -> SyncResult<()> {
    let follow = !opts.once && opts.poll.is_none();
    let args = changelog_args(&ms.mdt, follow, (*cursor > 0).then(|| *cursor + 1));
    let cmd = command_line(&opts.lfs, &args);
    let mut child = Command::new(&opts.lfs)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| SyncError::Spawn {
            command: cmd.clone(),
            source,
        })?;
    let (rx, reader) = spawn_reader(child.stdout.take(), opts.batch_max.max(1) * 2);
    let err = child.stderr.take();
    let errs = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(mut e) = err {
            let _ = e.read_to_string(&mut s);
        }
        s
    });
    let applied = apply_batches(applier, opts, ms, name, cursor, &rx, stop);
    if applied.is_err() || stop.load(Ordering::Relaxed) {
        // `--follow` never ends by itself.
        let _ = child.kill();
    }
    // A reader blocked on a full channel ends once the channel is gone.
    drop(rx);
    let _ = reader.join();
    let status = child.wait().map_err(|source| SyncError::Spawn {
        command: cmd.clone(),
        source,
    })?;
    let stderr = errs.join().unwrap_or_default();
    applied?;
    if !status.success() && !stop.load(Ordering::Relaxed) {
        let detail = format!("{status}: {}", stderr.trim());
        if opts.once {
            return Err(SyncError::Command {
                command: cmd,
                detail,
            });
        }
        tracing::warn!(command = %cmd, %detail, "changelog reader ended; restarting");
    }
    Ok(())
}

/// Applies the lines of `rx` batch by batch until the stream ends or `stop` is set, which
/// is checked between batches: the batch in hand is committed and cleared first.
fn apply_batches(
    applier: &Applier,
    opts: &ChangelogOptions,
    ms: &MdtStream,
    name: &str,
    cursor: &mut u64,
    rx: &mpsc::Receiver<Line>,
    stop: &AtomicBool,
) -> SyncResult<()> {
    while !stop.load(Ordering::Relaxed) {
        let first = match rx.recv_timeout(Duration::from_millis(500)) {
            Ok(l) => l,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        };
        let mut lines = vec![first];
        while lines.len() < opts.batch_max {
            match rx.try_recv() {
                Ok(l) => lines.push(l),
                Err(_) => break,
            }
        }
        *cursor = process(applier, opts, ms, name, *cursor, lines)?;
    }
    Ok(())
}

/// The records of a batch above `cursor`, the last record index read (malformed lines
/// included, when they have one) and how many lines were malformed.
fn parse_lines(mdt: &str, cursor: u64, lines: Vec<Line>) -> (Vec<Record>, u64, usize) {
    let mut records = Vec::new();
    let mut last = cursor;
    let (mut skipped, mut malformed) = (0usize, 0usize);
    for line in lines {
        let (line, utf8) = match line {
            Line::Text(t) => (t, true),
            Line::NotUtf8(t) => (t, false),
        };
        if line.trim().is_empty() {
            continue;
        }
        let parsed = if utf8 {
            Record::parse(&line).map_err(|e| e.to_string())
        } else {
            Err("not UTF-8 (no Swift name can come from it)".to_string())
        };
        match parsed {
            Ok(r) if r.index <= cursor => skipped += 1,
            Ok(r) => {
                last = last.max(r.index);
                records.push(r);
            }
            Err(reason) => {
                malformed += 1;
                tracing::warn!(mdt, line = %line, %reason, "malformed changelog record skipped");
                if let Some(i) = leading_index(&line).filter(|i| *i > cursor) {
                    last = last.max(i);
                }
            }
        }
    }
    if skipped > 0 {
        tracing::info!(
            mdt,
            skipped,
            cursor,
            "records at or below the cursor skipped (already applied)"
        );
    }
    (records, last, malformed)
}

/// Parses, coalesces, resolves and applies one batch; returns the new cursor.
fn process(
    applier: &Applier,
    opts: &ChangelogOptions,
    ms: &MdtStream,
    cursor_name: &str,
    cursor: u64,
    lines: Vec<Line>,
) -> SyncResult<u64> {
    let mdt = ms.mdt.as_str();
    let (records, last, malformed) = parse_lines(mdt, cursor, lines);
    if last == cursor {
        return Ok(cursor);
    }
    let batch = coalesce(&records);
    let fids = fids_to_resolve(&batch.changes);
    let resolved = fid2path(opts, &fids, applier.root())?;
    let root = applier.root().to_path_buf();
    let ops = plan::plan(
        &batch.changes,
        &|f| resolved.get(&f).cloned().unwrap_or(Lookup::Unknown),
        &|rel| root.join(rel).symlink_metadata().is_ok_and(|m| m.is_dir()),
    );
    let value = last.to_string();
    let mut attempt = 0;
    let stats = loop {
        match applier.apply(ops.clone(), Some((cursor_name, &value)), &mut NoWatch) {
            Ok(s) => break s,
            Err(e) if attempt < 3 => {
                attempt += 1;
                tracing::warn!(mdt, error = %crate::error::chain(&e), attempt, "cannot apply a changelog batch; retrying");
                std::thread::sleep(Duration::from_secs(1));
            }
            Err(e) => return Err(e),
        }
    };
    tracing::info!(
        mdt,
        records = records.len(),
        malformed,
        changes = batch.changes.len(),
        last,
        ?stats,
        "changelog batch committed"
    );
    clear(opts, ms, last);
    Ok(last)
}

/// `lfs changelog_clear MDT USER ENDREC` with the stream's own user, after the commit;
/// failures are logged (the next clear covers the same records).
fn clear(opts: &ChangelogOptions, ms: &MdtStream, endrec: u64) {
    let Some(args) = changelog_clear_args(&ms.mdt, &ms.user, endrec) else {
        return;
    };
    let cmd = command_line(&opts.lfs, &args);
    match Command::new(&opts.lfs)
        .args(&args)
        .stdin(Stdio::null())
        .output()
    {
        Ok(o) if o.status.success() => tracing::debug!(command = %cmd, "changelog cleared"),
        Ok(o) => tracing::warn!(
            command = %cmd,
            status = %o.status,
            stderr = %String::from_utf8_lossy(&o.stderr).trim(),
            "changelog_clear failed"
        ),
        Err(e) => tracing::warn!(command = %cmd, error = %e, "cannot run changelog_clear"),
    }
}

/// Current paths of `fids` (`lfs fid2path --print-fid MOUNT FID...`), relative to `root`.
fn fid2path(
    opts: &ChangelogOptions,
    fids: &[Fid],
    root: &Path,
) -> SyncResult<HashMap<Fid, Lookup>> {
    let mount = opts.mount.to_str().ok_or_else(|| {
        SyncError::Config(format!("mount point {} is not UTF-8", opts.mount.display()))
    })?;
    let mut out: HashMap<Fid, Lookup> = HashMap::new();
    for chunk in fids.chunks(FID2PATH_CHUNK) {
        let args = fid2path_args(mount, chunk);
        let o = Command::new(&opts.lfs)
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .map_err(|source| SyncError::Spawn {
                command: command_line(&opts.lfs, &args[..3]),
                source,
            })?;
        // A FID that is gone makes lfs exit non-zero; the others are printed all the same.
        let text = String::from_utf8_lossy(&o.stdout);
        let only = if chunk.len() == 1 {
            Some(chunk[0])
        } else {
            None
        };
        let (found, rejected) = parse_fid2path(&text, only);
        for line in rejected {
            tracing::warn!(%line, "unexpected lfs fid2path output line");
        }
        for (fid, path) in found {
            let l = relativize(Path::new(&path), root);
            match (out.get_mut(&fid), l) {
                (Some(Lookup::Inside(v)), Lookup::Inside(mut w)) => v.append(&mut w),
                (Some(Lookup::Inside(_)), _) => {}
                (_, l) => {
                    out.insert(fid, l);
                }
            }
        }
    }
    Ok(out)
}

fn relativize(path: &Path, root: &Path) -> Lookup {
    match path.strip_prefix(root) {
        Ok(rel) => match rel.to_str() {
            Some(r) => Lookup::Inside(vec![r.trim_end_matches('/').to_string()]),
            None => Lookup::Outside,
        },
        Err(_) => Lookup::Outside,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_made_relative_to_the_root() {
        let root = Path::new("/mnt/fs/swift");
        assert_eq!(
            relativize(Path::new("/mnt/fs/swift/a/c/x y"), root),
            Lookup::Inside(vec!["a/c/x y".into()])
        );
        assert_eq!(
            relativize(Path::new("/mnt/fs/swift"), root),
            Lookup::Inside(vec![String::new()])
        );
        assert_eq!(
            relativize(Path::new("/mnt/fs/other"), root),
            Lookup::Outside
        );
        assert_eq!(
            relativize(Path::new("/mnt/fs/swiftx/a"), root),
            Lookup::Outside
        );
    }
}
