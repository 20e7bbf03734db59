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
//!
//! It also holds the expiry queue (`expiring`): the objects with an `X-Delete-At`, by time,
//! which listings leave out once due and the expirer removes (see [`crate::expiry`]), and the
//! DLO views whose files [`crate::dlo`] keeps as whole objects (`dlo`).
//!
//! Layout: this file holds the records, the schema and the [`Index`] handle (reads and
//! single changes); [`batch`] the transactional [`Batch`] feeders use; [`list`] Swift's
//! listing loop and row mapping; `expiry` the expiry queue; `long_names` the name components
//! over `NAME_MAX` that the tree stores under their hash ([`crate::layout`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{params, Connection, OptionalExtension};

mod batch;
mod dlo;
mod expiry;
mod list;
mod long_names;
mod policy;
#[cfg(test)]
mod tests;
mod versions;

pub use batch::Batch;
pub use dlo::DloView;
pub use expiry::Expiring;
pub use list::successor;
use list::{list_generic, row_to_container, row_to_object};
pub use policy::PolicyStats;
pub use versions::VersionRecord;

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

pub(crate) type IResult<T> = Result<T, IndexError>;

pub(crate) fn q(context: &'static str) -> impl FnOnce(rusqlite::Error) -> IndexError {
    move |source| IndexError::Query { context, source }
}

/// One object as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRecord {
    /// Object name (may contain `/`).
    pub name: String,
    /// Logical size in bytes (for an SLO: the sum of its segments).
    pub size: u64,
    /// ETag as listed: MD5 hex; for an SLO, as Swift's container records hold it, the
    /// manifest's MD5 then `; slo_etag=` and the SLO's etag (see [`ObjectRecord::hash`]).
    pub etag: String,
    /// Content-Type.
    pub content_type: String,
    /// X-Timestamp form of the last modification.
    pub timestamp: String,
    /// The file's mtime in ns when indexed (lets a reconciler spot changed files).
    pub mtime_ns: i64,
}

/// The separator of an SLO's two ETags in [`ObjectRecord::etag`].
pub const SLO_ETAG_PARAM: &str = "; slo_etag=";

impl ObjectRecord {
    /// The listing's `hash`: the MD5 of what is stored (for an SLO, of its manifest), without
    /// the `; key=value` parameters Swift's container records append to it.
    pub fn hash(&self) -> &str {
        self.etag
            .split_once("; ")
            .map_or(self.etag.as_str(), |(h, _)| h)
    }

    /// A `; key=value` parameter of [`ObjectRecord::etag`] (`slo_etag`, `symlink_target`...).
    pub fn param(&self, key: &str) -> Option<&str> {
        self.etag
            .split("; ")
            .skip(1)
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v)
    }

    /// An SLO's etag (the MD5 of its segments' etags), listed as `slo_etag`.
    pub fn slo_etag(&self) -> Option<&str> {
        self.param("slo_etag")
    }
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
    /// Roll names up to the first delimiter (any non-empty string) after the prefix into
    /// `subdir` entries.
    pub delimiter: Option<String>,
    /// Descending order.
    pub reverse: bool,
    /// Swift's `path` query: only the names directly below `prefix` (which then ends with
    /// the `/` delimiter), no `subdir` entries, not `prefix` itself; a name ending with `/`
    /// right below it (a directory marker) is listed as an object.
    pub path: bool,
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
CREATE TABLE IF NOT EXISTS expiring(
    account TEXT NOT NULL, container TEXT NOT NULL, name TEXT NOT NULL,
    delete_at INTEGER NOT NULL,
    PRIMARY KEY(account, container, name)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS expiring_by_time ON expiring(delete_at);
-- An object that leaves the index (however: DELETE, a feeder, a container removal) leaves
-- the expiry queue (Batch::rename_prefix moves the rows of renamed ones first).
CREATE TRIGGER IF NOT EXISTS expiring_gone AFTER DELETE ON objects BEGIN
    DELETE FROM expiring
    WHERE account=old.account AND container=old.container AND name=old.name;
END;
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
        conn.execute_batch(dlo::SCHEMA).map_err(open_err)?;
        conn.execute_batch(policy::SCHEMA).map_err(open_err)?;
        conn.execute_batch(long_names::SCHEMA).map_err(open_err)?;
        conn.execute_batch(versions::SCHEMA).map_err(open_err)?;
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
        // IMMEDIATE: the write lock is taken at BEGIN, waiting out the busy timeout. A
        // deferred transaction that reads first and then writes fails at once with "database
        // is locked" when another process (the sync daemon, or the gateway beside it) wrote
        // meanwhile, and a batch always writes.
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(q("beginning a transaction"))?;
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
        // Expired objects are left out at once, before the expirer removes them.
        let sql_base = "SELECT name,size,etag,content_type,timestamp,mtime_ns FROM objects o
                        WHERE account=?1 AND container=?2 AND NOT EXISTS (
                          SELECT 1 FROM expiring e WHERE e.account=o.account
                          AND e.container=o.container AND e.name=o.name
                          AND e.delete_at <= CAST(strftime('%s','now') AS INTEGER))";
        list_generic(&conn, sql_base, account, container, p, row_to_object, |r| {
            &r.name
        })
    }

    /// As [`Index::list_objects`] with the objects that have expired but are not removed
    /// yet (a versioned container's current versions, which the expirer keeps as versions).
    pub fn list_objects_with_expired(
        &self,
        account: &str,
        container: &str,
        p: &ListParams,
    ) -> IResult<Vec<Entry<ObjectRecord>>> {
        let conn = self.lock()?;
        let sql_base = "SELECT name,size,etag,content_type,timestamp,mtime_ns FROM objects o
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
