// SPDX-License-Identifier: Apache-2.0
//! The persistent listing index (SQLite, WAL).
//!
//! The tree is the truth for data; the index is the truth for *listings*: container and
//! account GETs read only the index, never the tree, and per-container object counts and
//! bytes are kept up to date by every change. It is fed by the gateway itself, by the start-up
//! reconciliation ([`crate::reconcile`]) and, later, by a sync daemon (inotify or the Lustre
//! changelog). Such a feeder uses [`Index::batch`]: the changes of one [`Batch`] and the feeder's
//! cursor ([`Batch::set_cursor`]) commit together, so a feeder that clears its changelog only
//! up to the committed cursor loses and duplicates nothing after a crash.
//!
//! Names are compared as UTF-8 bytes (SQLite's BINARY collation), which is Swift's order.
//!
//! The same database holds the metadata *side store*: metadata that did not fit in a file's
//! xattrs (see [`crate::meta`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{params, Connection, OptionalExtension, Transaction};

/// An index failure.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// Opening or creating the database failed.
    #[error("failed to open index database {}", path.display())]
    Open {
        /// Database file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: rusqlite::Error,
    },
    /// A query failed.
    #[error("index query failed while {context}")]
    Query {
        /// What was being done.
        context: &'static str,
        /// Cause.
        #[source]
        source: rusqlite::Error,
    },
    /// The database mutex was poisoned by a panic elsewhere.
    #[error("index lock poisoned")]
    Poisoned,
}

type IResult<T> = Result<T, IndexError>;

fn q(context: &'static str) -> impl FnOnce(rusqlite::Error) -> IndexError {
    move |source| IndexError::Query { context, source }
}

/// One object as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRecord {
    /// Object name (may contain `/`).
    pub name: String,
    /// Logical size in bytes (for an SLO: the sum of its segments).
    pub size: u64,
    /// ETag as listed (MD5 hex; for an SLO the SLO etag).
    pub etag: String,
    /// Content-Type.
    pub content_type: String,
    /// X-Timestamp form of the last modification.
    pub timestamp: String,
    /// The file's mtime in ns when indexed (lets a reconciler spot changed files).
    pub mtime_ns: i64,
}

/// What a feeder needs to compare an indexed object with its file (see
/// [`Index::object_states_under`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectState {
    /// Listed size.
    pub size: u64,
    /// The file's mtime in ns when indexed.
    pub mtime_ns: i64,
    /// Whether the listed ETag is known (a feeder may list a file before hashing it).
    pub etag_known: bool,
}

/// One container as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRecord {
    /// Container name.
    pub name: String,
    /// Objects in it.
    pub object_count: u64,
    /// Bytes in it.
    pub bytes_used: u64,
    /// X-Timestamp form of its creation.
    pub put_timestamp: String,
}

/// Totals of an account.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccountStats {
    /// Containers.
    pub container_count: u64,
    /// Objects.
    pub object_count: u64,
    /// Bytes.
    pub bytes_used: u64,
}

/// Listing parameters, already validated (see [`crate::listing::ListQuery`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListParams {
    /// Page size.
    pub limit: usize,
    /// Names strictly after this (before it when `reverse`).
    pub marker: Option<String>,
    /// Names strictly before this (after it when `reverse`).
    pub end_marker: Option<String>,
    /// Only names starting with this.
    pub prefix: Option<String>,
    /// Roll names up to the first delimiter after the prefix into `subdir` entries.
    pub delimiter: Option<char>,
    /// Descending order.
    pub reverse: bool,
}

/// A listing entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry<T> {
    /// An object or container.
    Item(T),
    /// A rolled-up pseudo directory (ends with the delimiter).
    Subdir(String),
}

/// The index handle; cheap to share behind an `Arc`.
pub struct Index {
    conn: Mutex<Connection>,
    path: PathBuf,
}

const SCHEMA: &str = "
PRAGMA journal_mode=WAL;
PRAGMA synchronous=NORMAL;
CREATE TABLE IF NOT EXISTS objects(
    account TEXT NOT NULL, container TEXT NOT NULL, name TEXT NOT NULL,
    size INTEGER NOT NULL, etag TEXT NOT NULL, content_type TEXT NOT NULL,
    timestamp TEXT NOT NULL, mtime_ns INTEGER NOT NULL,
    PRIMARY KEY(account, container, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS containers(
    account TEXT NOT NULL, name TEXT NOT NULL,
    object_count INTEGER NOT NULL DEFAULT 0, bytes_used INTEGER NOT NULL DEFAULT 0,
    put_timestamp TEXT NOT NULL,
    PRIMARY KEY(account, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS side_meta(key TEXT PRIMARY KEY, json TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS cursors(name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
";

impl Index {
    /// Opens (creating if needed) the index at `path`.
    pub fn open(path: &Path) -> IResult<Index> {
        let open_err = |source| IndexError::Open {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(open_err)?;
        conn.execute_batch(SCHEMA).map_err(open_err)?;
        Ok(Index {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> IResult<MutexGuard<'_, Connection>> {
        self.conn.lock().map_err(|_| IndexError::Poisoned)
    }

    /// Runs `f` in one transaction; everything it does commits together or not at all.
    pub fn batch<T>(&self, f: impl FnOnce(&mut Batch<'_>) -> IResult<T>) -> IResult<T> {
        let mut conn = self.lock()?;
        let tx = conn.transaction().map_err(q("beginning a transaction"))?;
        let mut b = Batch { tx };
        let out = f(&mut b)?;
        b.tx.commit().map_err(q("committing"))?;
        Ok(out)
    }

    /// Adds or replaces one object (creating its container row if needed).
    pub fn upsert_object(&self, account: &str, container: &str, rec: &ObjectRecord) -> IResult<()> {
        self.batch(|b| b.upsert_object(account, container, rec))
    }

    /// Removes one object; returns whether it was listed.
    pub fn remove_object(&self, account: &str, container: &str, name: &str) -> IResult<bool> {
        self.batch(|b| b.remove_object(account, container, name))
    }

    /// Renames every object under `old_prefix` to `new_prefix` (a directory rename).
    pub fn rename_prefix(
        &self,
        account: &str,
        container: &str,
        old_prefix: &str,
        new_prefix: &str,
    ) -> IResult<usize> {
        self.batch(|b| b.rename_prefix(account, container, old_prefix, new_prefix))
    }

    /// Records a container (no-op when present).
    pub fn ensure_container(&self, account: &str, container: &str, ts: &str) -> IResult<()> {
        self.batch(|b| b.ensure_container(account, container, ts))
    }

    /// Forgets a container and all its objects.
    pub fn remove_container(&self, account: &str, container: &str) -> IResult<()> {
        self.batch(|b| b.remove_container(account, container))
    }

    /// One object's record.
    pub fn get_object(
        &self,
        account: &str,
        container: &str,
        name: &str,
    ) -> IResult<Option<ObjectRecord>> {
        let conn = self.lock()?;
        conn.query_row(
            "SELECT name,size,etag,content_type,timestamp,mtime_ns FROM objects
             WHERE account=?1 AND container=?2 AND name=?3",
            params![account, container, name],
            row_to_object,
        )
        .optional()
        .map_err(q("reading an object"))
    }

    /// One container's record.
    pub fn container(&self, account: &str, container: &str) -> IResult<Option<ContainerRecord>> {
        let conn = self.lock()?;
        conn.query_row(
            "SELECT name,object_count,bytes_used,put_timestamp FROM containers
             WHERE account=?1 AND name=?2",
            params![account, container],
            row_to_container,
        )
        .optional()
        .map_err(q("reading a container"))
    }

    /// Totals of an account.
    pub fn account_stats(&self, account: &str) -> IResult<AccountStats> {
        let conn = self.lock()?;
        conn.query_row(
            "SELECT COUNT(*), COALESCE(SUM(object_count),0), COALESCE(SUM(bytes_used),0)
             FROM containers WHERE account=?1",
            params![account],
            |r| {
                Ok(AccountStats {
                    container_count: r.get::<_, i64>(0)? as u64,
                    object_count: r.get::<_, i64>(1)? as u64,
                    bytes_used: r.get::<_, i64>(2)? as u64,
                })
            },
        )
        .map_err(q("summing an account"))
    }

    /// A page of a container listing.
    pub fn list_objects(
        &self,
        account: &str,
        container: &str,
        p: &ListParams,
    ) -> IResult<Vec<Entry<ObjectRecord>>> {
        let conn = self.lock()?;
        let sql_base = "SELECT name,size,etag,content_type,timestamp,mtime_ns FROM objects
                        WHERE account=?1 AND container=?2";
        list_generic(&conn, sql_base, account, container, p, row_to_object, |r| {
            &r.name
        })
    }

    /// A page of an account listing.
    pub fn list_containers(
        &self,
        account: &str,
        p: &ListParams,
    ) -> IResult<Vec<Entry<ContainerRecord>>> {
        let conn = self.lock()?;
        let sql_base = "SELECT name,object_count,bytes_used,put_timestamp FROM containers
                        WHERE account=?1 AND ?2=?2";
        list_generic(&conn, sql_base, account, "", p, row_to_container, |r| {
            &r.name
        })
    }

    /// Names of the containers of an account (reconciliation).
    pub fn container_names(&self, account: &str) -> IResult<Vec<String>> {
        let conn = self.lock()?;
        let mut st = conn
            .prepare("SELECT name FROM containers WHERE account=?1")
            .map_err(q("listing containers"))?;
        let rows = st
            .query_map(params![account], |r| r.get(0))
            .map_err(q("listing containers"))?;
        rows.collect::<Result<_, _>>()
            .map_err(q("listing containers"))
    }

    /// Accounts present in the index (reconciliation).
    pub fn account_names(&self) -> IResult<Vec<String>> {
        let conn = self.lock()?;
        let mut st = conn
            .prepare("SELECT DISTINCT account FROM containers")
            .map_err(q("listing accounts"))?;
        let rows = st
            .query_map([], |r| r.get(0))
            .map_err(q("listing accounts"))?;
        rows.collect::<Result<_, _>>()
            .map_err(q("listing accounts"))
    }

    /// `name -> (size, mtime_ns)` of every object in a container (reconciliation).
    pub fn object_states(
        &self,
        account: &str,
        container: &str,
    ) -> IResult<HashMap<String, (u64, i64)>> {
        let conn = self.lock()?;
        let mut st = conn
            .prepare("SELECT name,size,mtime_ns FROM objects WHERE account=?1 AND container=?2")
            .map_err(q("reading object states"))?;
        let rows = st
            .query_map(params![account, container], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    (r.get::<_, i64>(1)? as u64, r.get::<_, i64>(2)?),
                ))
            })
            .map_err(q("reading object states"))?;
        rows.collect::<Result<_, _>>()
            .map_err(q("reading object states"))
    }

    /// `name -> state` of the objects of a container whose name starts with `prefix` (all
    /// of them when it is empty): one range scan, for a rescan of one directory's subtree.
    pub fn object_states_under(
        &self,
        account: &str,
        container: &str,
        prefix: &str,
    ) -> IResult<HashMap<String, ObjectState>> {
        let conn = self.lock()?;
        let mut st = conn
            .prepare_cached(
                "SELECT name,size,mtime_ns,etag<>'' FROM objects WHERE account=?1 AND container=?2
                 AND name>=?3 AND (?4 IS NULL OR name<?4)",
            )
            .map_err(q("reading object states"))?;
        let upper = successor(prefix);
        let rows = st
            .query_map(params![account, container, prefix, upper], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    ObjectState {
                        size: r.get::<_, i64>(1)? as u64,
                        mtime_ns: r.get(2)?,
                        etag_known: r.get(3)?,
                    },
                ))
            })
            .map_err(q("reading object states"))?;
        rows.collect::<Result<_, _>>()
            .map_err(q("reading object states"))
    }

    /// Metadata kept in the side store for `key`.
    pub fn side_meta_get(&self, key: &str) -> IResult<Option<String>> {
        let conn = self.lock()?;
        conn.query_row(
            "SELECT json FROM side_meta WHERE key=?1",
            params![key],
            |r| r.get(0),
        )
        .optional()
        .map_err(q("reading side metadata"))
    }

    /// Stores (`Some`) or drops (`None`) side-store metadata for `key`.
    pub fn side_meta_set(&self, key: &str, json: Option<&str>) -> IResult<()> {
        let conn = self.lock()?;
        match json {
            Some(j) => conn.execute(
                "INSERT INTO side_meta(key,json) VALUES(?1,?2)
                 ON CONFLICT(key) DO UPDATE SET json=excluded.json",
                params![key, j],
            ),
            None => conn.execute("DELETE FROM side_meta WHERE key=?1", params![key]),
        }
        .map_err(q("writing side metadata"))?;
        Ok(())
    }

    /// A feeder's saved cursor (e.g. the last committed changelog record).
    pub fn cursor(&self, name: &str) -> IResult<Option<String>> {
        let conn = self.lock()?;
        conn.query_row(
            "SELECT value FROM cursors WHERE name=?1",
            params![name],
            |r| r.get(0),
        )
        .optional()
        .map_err(q("reading a cursor"))
    }
}

/// Changes that commit together; see [`Index::batch`].
pub struct Batch<'a> {
    tx: Transaction<'a>,
}

impl Batch<'_> {
    /// Records a container (no-op when present).
    pub fn ensure_container(&mut self, account: &str, container: &str, ts: &str) -> IResult<()> {
        self.tx
            .execute(
                "INSERT INTO containers(account,name,put_timestamp) VALUES(?1,?2,?3)
                 ON CONFLICT(account,name) DO NOTHING",
                params![account, container, ts],
            )
            .map_err(q("adding a container"))?;
        Ok(())
    }

    /// Forgets a container and its objects.
    pub fn remove_container(&mut self, account: &str, container: &str) -> IResult<()> {
        self.tx
            .execute(
                "DELETE FROM objects WHERE account=?1 AND container=?2",
                params![account, container],
            )
            .map_err(q("removing a container's objects"))?;
        self.tx
            .execute(
                "DELETE FROM containers WHERE account=?1 AND name=?2",
                params![account, container],
            )
            .map_err(q("removing a container"))?;
        Ok(())
    }

    fn adjust(&mut self, account: &str, container: &str, count: i64, bytes: i64) -> IResult<()> {
        self.tx
            .execute(
                "UPDATE containers SET object_count=object_count+?3, bytes_used=bytes_used+?4
                 WHERE account=?1 AND name=?2",
                params![account, container, count, bytes],
            )
            .map_err(q("updating container totals"))?;
        Ok(())
    }

    /// Adds or replaces one object.
    pub fn upsert_object(
        &mut self,
        account: &str,
        container: &str,
        rec: &ObjectRecord,
    ) -> IResult<()> {
        self.ensure_container(account, container, &rec.timestamp)?;
        let old: Option<i64> = self
            .tx
            .query_row(
                "SELECT size FROM objects WHERE account=?1 AND container=?2 AND name=?3",
                params![account, container, rec.name],
                |r| r.get(0),
            )
            .optional()
            .map_err(q("reading an object"))?;
        self.tx
            .execute(
                "INSERT INTO objects(account,container,name,size,etag,content_type,timestamp,mtime_ns)
                 VALUES(?1,?2,?3,?4,?5,?6,?7,?8)
                 ON CONFLICT(account,container,name) DO UPDATE SET size=excluded.size,
                 etag=excluded.etag, content_type=excluded.content_type,
                 timestamp=excluded.timestamp, mtime_ns=excluded.mtime_ns",
                params![
                    account,
                    container,
                    rec.name,
                    rec.size as i64,
                    rec.etag,
                    rec.content_type,
                    rec.timestamp,
                    rec.mtime_ns
                ],
            )
            .map_err(q("writing an object"))?;
        let (dc, db) = match old {
            Some(s) => (0, rec.size as i64 - s),
            None => (1, rec.size as i64),
        };
        self.adjust(account, container, dc, db)
    }

    /// Removes one object; returns whether it was listed.
    pub fn remove_object(&mut self, account: &str, container: &str, name: &str) -> IResult<bool> {
        let old: Option<i64> = self
            .tx
            .query_row(
                "DELETE FROM objects WHERE account=?1 AND container=?2 AND name=?3 RETURNING size",
                params![account, container, name],
                |r| r.get(0),
            )
            .optional()
            .map_err(q("removing an object"))?;
        match old {
            Some(s) => {
                self.adjust(account, container, -1, -s)?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Renames every object whose name starts with `old_prefix` to start with `new_prefix`
    /// (what a directory rename in the tree does). Objects already at the new names are
    /// replaced. Returns how many objects moved.
    pub fn rename_prefix(
        &mut self,
        account: &str,
        container: &str,
        old_prefix: &str,
        new_prefix: &str,
    ) -> IResult<usize> {
        let moved: Vec<ObjectRecord> = {
            let mut st = self
                .tx
                .prepare(
                    "SELECT name,size,etag,content_type,timestamp,mtime_ns FROM objects
                     WHERE account=?1 AND container=?2 AND substr(name,1,?4)=?3",
                )
                .map_err(q("reading objects to rename"))?;
            let rows = st
                .query_map(
                    params![
                        account,
                        container,
                        old_prefix,
                        old_prefix.chars().count() as i64
                    ],
                    row_to_object,
                )
                .map_err(q("reading objects to rename"))?;
            rows.collect::<Result<_, _>>()
                .map_err(q("reading objects to rename"))?
        };
        for rec in &moved {
            self.remove_object(account, container, &rec.name)?;
        }
        for rec in &moved {
            let mut r = rec.clone();
            r.name = format!("{new_prefix}{}", &rec.name[old_prefix.len()..]);
            self.upsert_object(account, container, &r)?;
        }
        Ok(moved.len())
    }

    /// Removes every object whose name starts with `prefix` (what removing a directory
    /// does), keeping the container totals exact. Returns how many objects went away.
    pub fn remove_prefix(
        &mut self,
        account: &str,
        container: &str,
        prefix: &str,
    ) -> IResult<usize> {
        let upper = successor(prefix);
        let (count, bytes): (i64, i64) = self
            .tx
            .query_row(
                "SELECT COUNT(*), COALESCE(SUM(size),0) FROM objects WHERE account=?1
                 AND container=?2 AND name>=?3 AND (?4 IS NULL OR name<?4)",
                params![account, container, prefix, upper],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(q("counting objects to remove"))?;
        if count == 0 {
            return Ok(0);
        }
        self.tx
            .execute(
                "DELETE FROM objects WHERE account=?1 AND container=?2 AND name>=?3
                 AND (?4 IS NULL OR name<?4)",
                params![account, container, prefix, upper],
            )
            .map_err(q("removing objects under a prefix"))?;
        self.adjust(account, container, -count, -bytes)?;
        Ok(count as usize)
    }

    /// Saves a feeder's cursor in the same transaction as its changes.
    pub fn set_cursor(&mut self, name: &str, value: &str) -> IResult<()> {
        self.tx
            .execute(
                "INSERT INTO cursors(name,value) VALUES(?1,?2)
                 ON CONFLICT(name) DO UPDATE SET value=excluded.value",
                params![name, value],
            )
            .map_err(q("saving a cursor"))?;
        Ok(())
    }
}

fn row_to_object(r: &rusqlite::Row<'_>) -> rusqlite::Result<ObjectRecord> {
    Ok(ObjectRecord {
        name: r.get(0)?,
        size: r.get::<_, i64>(1)? as u64,
        etag: r.get(2)?,
        content_type: r.get(3)?,
        timestamp: r.get(4)?,
        mtime_ns: r.get(5)?,
    })
}

fn row_to_container(r: &rusqlite::Row<'_>) -> rusqlite::Result<ContainerRecord> {
    Ok(ContainerRecord {
        name: r.get(0)?,
        object_count: r.get::<_, i64>(1)? as u64,
        bytes_used: r.get::<_, i64>(2)? as u64,
        put_timestamp: r.get(3)?,
    })
}

/// The smallest string greater than every string starting with `prefix` (by code point, which
/// is UTF-8 byte order); `None` when there is none.
pub fn successor(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let mut n = last as u32 + 1;
        if (0xD800..0xE000).contains(&n) {
            n = 0xE000;
        }
        if let Some(c) = char::from_u32(n) {
            chars.push(c);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// Swift's listing loop (container/backend.py `list_objects_iter`): page through the
/// range, rolling names up at the delimiter, re-querying past each rolled-up prefix so a
/// directory with a million files costs one query, not a million rows.
fn list_generic<T>(
    conn: &Connection,
    sql_base: &str,
    account: &str,
    container: &str,
    p: &ListParams,
    map: fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    name_of: fn(&T) -> &String,
) -> IResult<Vec<Entry<T>>> {
    let prefix = p.prefix.clone().unwrap_or_default();
    // lower: exclusive lower bound; upper: exclusive upper bound, whatever the direction.
    let (mut lower, mut upper) = if p.reverse {
        (p.end_marker.clone(), p.marker.clone())
    } else {
        (p.marker.clone(), p.end_marker.clone())
    };
    let orig_marker = p.marker.clone();
    let prefix_upper = if prefix.is_empty() {
        None
    } else {
        successor(&prefix)
    };
    let mut out: Vec<Entry<T>> = Vec::new();
    let order = if p.reverse { "DESC" } else { "ASC" };
    let sql = format!(
        "{sql_base} AND (?3 IS NULL OR name > ?3) AND (?4 IS NULL OR name < ?4)
         AND name >= ?5 AND (?6 IS NULL OR name < ?6) ORDER BY name {order} LIMIT ?7"
    );
    let mut st = conn
        .prepare_cached(&sql)
        .map_err(q("preparing a listing"))?;
    'outer: while out.len() < p.limit {
        let want = (p.limit - out.len()) as i64;
        let rows = st
            .query_map(
                params![account, container, lower, upper, prefix, prefix_upper, want],
                map,
            )
            .map_err(q("listing"))?;
        let mut got = 0;
        for row in rows {
            let item = row.map_err(q("listing"))?;
            got += 1;
            let name = name_of(&item).clone();
            if let Some(d) = p.delimiter {
                if let Some(pos) = name[prefix.len()..].find(d) {
                    let end = prefix.len() + pos;
                    let dir = name[..end + d.len_utf8()].to_string();
                    if p.reverse {
                        upper = Some(name[..end].to_string());
                    } else {
                        let mut m = name[..end].to_string();
                        m.push(char::from_u32(d as u32 + 1).unwrap_or(d));
                        lower = Some(m);
                    }
                    if Some(&dir) != orig_marker.as_ref() {
                        out.push(Entry::Subdir(dir));
                    }
                    continue 'outer;
                }
            }
            if p.reverse {
                upper = Some(name);
            } else {
                lower = Some(name);
            }
            out.push(Entry::Item(item));
        }
        if got < want {
            break;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(name: &str, size: u64) -> ObjectRecord {
        ObjectRecord {
            name: name.into(),
            size,
            etag: "d41d8cd98f00b204e9800998ecf8427e".into(),
            content_type: "application/octet-stream".into(),
            timestamp: "1.00000".into(),
            mtime_ns: 1,
        }
    }

    fn names(v: &[Entry<ObjectRecord>]) -> Vec<String> {
        v.iter()
            .map(|e| match e {
                Entry::Item(r) => r.name.clone(),
                Entry::Subdir(s) => format!("{s}*"),
            })
            .collect()
    }

    fn fixture() -> (tempfile::TempDir, Index) {
        let dir = tempfile::tempdir().expect("tempdir");
        let idx = Index::open(&dir.path().join("i.db")).expect("open");
        for n in ["a", "b/1", "b/2", "b/3/x", "c", "d/1", "e"] {
            idx.upsert_object("acc", "con", &rec(n, 10))
                .expect("upsert");
        }
        (dir, idx)
    }

    fn lp(limit: usize) -> ListParams {
        ListParams {
            limit,
            ..Default::default()
        }
    }

    #[test]
    fn counts_follow_changes() {
        let (_d, idx) = fixture();
        let c = idx.container("acc", "con").expect("q").expect("exists");
        assert_eq!((c.object_count, c.bytes_used), (7, 70));
        idx.upsert_object("acc", "con", &rec("a", 15))
            .expect("replace");
        assert!(idx.remove_object("acc", "con", "c").expect("rm"));
        assert!(!idx.remove_object("acc", "con", "c").expect("rm twice"));
        let c = idx.container("acc", "con").expect("q").expect("exists");
        assert_eq!((c.object_count, c.bytes_used), (6, 65));
        let a = idx.account_stats("acc").expect("stats");
        assert_eq!(
            (a.container_count, a.object_count, a.bytes_used),
            (1, 6, 65)
        );
    }

    #[test]
    fn lists_with_marker_prefix_delimiter() {
        let (_d, idx) = fixture();
        assert_eq!(
            names(&idx.list_objects("acc", "con", &lp(100)).expect("l")).len(),
            7
        );
        let p = ListParams {
            marker: Some("b/2".into()),
            limit: 2,
            ..Default::default()
        };
        assert_eq!(
            names(&idx.list_objects("acc", "con", &p).expect("l")),
            ["b/3/x", "c"]
        );
        let p = ListParams {
            delimiter: Some('/'),
            limit: 100,
            ..Default::default()
        };
        assert_eq!(
            names(&idx.list_objects("acc", "con", &p).expect("l")),
            ["a", "b/*", "c", "d/*", "e"]
        );
        let p = ListParams {
            delimiter: Some('/'),
            prefix: Some("b/".into()),
            limit: 100,
            ..Default::default()
        };
        assert_eq!(
            names(&idx.list_objects("acc", "con", &p).expect("l")),
            ["b/1", "b/2", "b/3/*"]
        );
        let p = ListParams {
            delimiter: Some('/'),
            marker: Some("b/".into()),
            limit: 2,
            ..Default::default()
        };
        assert_eq!(
            names(&idx.list_objects("acc", "con", &p).expect("l")),
            ["c", "d/*"]
        );
        let p = ListParams {
            end_marker: Some("c".into()),
            prefix: Some("b".into()),
            limit: 100,
            ..Default::default()
        };
        assert_eq!(
            names(&idx.list_objects("acc", "con", &p).expect("l")),
            ["b/1", "b/2", "b/3/x"]
        );
    }

    #[test]
    fn lists_in_reverse() {
        let (_d, idx) = fixture();
        let p = ListParams {
            reverse: true,
            limit: 3,
            ..Default::default()
        };
        assert_eq!(
            names(&idx.list_objects("acc", "con", &p).expect("l")),
            ["e", "d/1", "c"]
        );
        let p = ListParams {
            reverse: true,
            delimiter: Some('/'),
            limit: 10,
            ..Default::default()
        };
        assert_eq!(
            names(&idx.list_objects("acc", "con", &p).expect("l")),
            ["e", "d/*", "c", "b/*", "a"]
        );
        let p = ListParams {
            reverse: true,
            marker: Some("c".into()),
            end_marker: Some("a".into()),
            limit: 10,
            ..Default::default()
        };
        assert_eq!(
            names(&idx.list_objects("acc", "con", &p).expect("l")),
            ["b/3/x", "b/2", "b/1"]
        );
    }

    #[test]
    fn renames_prefix_and_keeps_cursor() {
        let (_d, idx) = fixture();
        idx.batch(|b| {
            let n = b.rename_prefix("acc", "con", "b/", "z/")?;
            assert_eq!(n, 3);
            b.set_cursor("changelog", "42")
        })
        .expect("batch");
        let p = ListParams {
            prefix: Some("z/".into()),
            limit: 10,
            ..Default::default()
        };
        assert_eq!(
            names(&idx.list_objects("acc", "con", &p).expect("l")),
            ["z/1", "z/2", "z/3/x"]
        );
        assert_eq!(idx.cursor("changelog").expect("c").as_deref(), Some("42"));
        let c = idx.container("acc", "con").expect("q").expect("exists");
        assert_eq!(c.object_count, 7);
    }

    #[test]
    fn prefix_states_and_removal_keep_totals() {
        let (_d, idx) = fixture();
        let under = idx.object_states_under("acc", "con", "b/").expect("states");
        let mut names: Vec<_> = under.keys().cloned().collect();
        names.sort();
        assert_eq!(names, ["b/1", "b/2", "b/3/x"]);
        assert!(under["b/1"].etag_known);
        assert_eq!(
            idx.object_states_under("acc", "con", "")
                .expect("all")
                .len(),
            7
        );
        let n = idx
            .batch(|b| b.remove_prefix("acc", "con", "b/"))
            .expect("remove");
        assert_eq!(n, 3);
        assert_eq!(
            idx.batch(|b| b.remove_prefix("acc", "con", "zz/"))
                .expect("none"),
            0
        );
        let c = idx.container("acc", "con").expect("q").expect("exists");
        assert_eq!((c.object_count, c.bytes_used), (4, 40));
    }

    #[test]
    fn successor_is_an_upper_bound() {
        assert_eq!(successor("ab").as_deref(), Some("ac"));
        assert_eq!(successor("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(successor(""), None);
    }
}
