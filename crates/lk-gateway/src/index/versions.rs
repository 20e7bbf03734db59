// SPDX-License-Identifier: Apache-2.0
//! Object versions (Swift's `object_versioning`, see [`crate::versioning`]): the records of
//! the versions kept under `ROOT/ACCOUNT/.lk-versions/` and of delete markers (`versions`),
//! and which version the current object of a name is (`current_versions`).
//!
//! A name's current object stays an `objects` row; when it was written while versioning was
//! enabled it has a `current_versions` row naming its version id, otherwise it is the
//! "null" version. Triggers keep that honest: the row goes when the object leaves the index
//! or its content changes (an overwrite, or a rewrite through POSIX). Version bytes count in
//! the container's `bytes_used` (not its object count), as Swift adds its hidden versions
//! container's bytes to the container's.

use rusqlite::{params, OptionalExtension};

use super::list::successor;
use super::{q, IResult, Index};

/// Schema (part of the index schema).
pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS versions(
    account TEXT NOT NULL, container TEXT NOT NULL, name TEXT NOT NULL,
    version_id TEXT NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL,
    content_type TEXT NOT NULL, timestamp TEXT NOT NULL, marker INTEGER NOT NULL,
    PRIMARY KEY(account, container, name, version_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS current_versions(
    account TEXT NOT NULL, container TEXT NOT NULL, name TEXT NOT NULL,
    version_id TEXT NOT NULL,
    PRIMARY KEY(account, container, name)) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS versions_added AFTER INSERT ON versions BEGIN
    UPDATE containers SET bytes_used=bytes_used+new.size
    WHERE account=new.account AND name=new.container;
END;
CREATE TRIGGER IF NOT EXISTS versions_removed AFTER DELETE ON versions BEGIN
    UPDATE containers SET bytes_used=MAX(0, bytes_used-old.size)
    WHERE account=old.account AND name=old.container;
END;
CREATE TRIGGER IF NOT EXISTS current_version_gone AFTER DELETE ON objects BEGIN
    DELETE FROM current_versions
    WHERE account=old.account AND container=old.container AND name=old.name;
END;
CREATE TRIGGER IF NOT EXISTS current_version_changed AFTER UPDATE ON objects
WHEN old.etag IS NOT new.etag OR old.size IS NOT new.size OR old.name IS NOT new.name BEGIN
    DELETE FROM current_versions
    WHERE account=old.account AND container=old.container AND name=old.name;
END;
";

/// One kept version (or delete marker) as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRecord {
    /// Object name.
    pub name: String,
    /// Version id (inverted timestamp, see [`crate::versioning::VersionId`]).
    pub version_id: String,
    /// Bytes.
    pub size: u64,
    /// ETag as listed (see [`super::ObjectRecord::etag`]).
    pub etag: String,
    /// Content-Type.
    pub content_type: String,
    /// X-Timestamp of the version.
    pub timestamp: String,
    /// Whether it is a delete marker.
    pub marker: bool,
}

fn row_to_version(r: &rusqlite::Row<'_>) -> rusqlite::Result<VersionRecord> {
    Ok(VersionRecord {
        name: r.get(0)?,
        version_id: r.get(1)?,
        size: r.get::<_, i64>(2)? as u64,
        etag: r.get(3)?,
        content_type: r.get(4)?,
        timestamp: r.get(5)?,
        marker: r.get::<_, i64>(6)? != 0,
    })
}

const COLS: &str = "name,version_id,size,etag,content_type,timestamp,marker";

impl Index {
    /// Records a kept version (replacing one of the same id).
    pub fn put_version(&self, account: &str, container: &str, v: &VersionRecord) -> IResult<()> {
        self.batch(|b| {
            b.tx.execute(
                "DELETE FROM versions WHERE account=?1 AND container=?2 AND name=?3
                 AND version_id=?4",
                params![account, container, v.name, v.version_id],
            )
            .map_err(q("replacing a version"))?;
            b.tx.execute(
                "INSERT INTO versions(account,container,name,version_id,size,etag,
                 content_type,timestamp,marker) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)",
                params![
                    account,
                    container,
                    v.name,
                    v.version_id,
                    v.size as i64,
                    v.etag,
                    v.content_type,
                    v.timestamp,
                    v.marker as i64
                ],
            )
            .map_err(q("recording a version"))?;
            Ok(())
        })
    }

    /// One kept version.
    pub fn get_version(
        &self,
        account: &str,
        container: &str,
        name: &str,
        version_id: &str,
    ) -> IResult<Option<VersionRecord>> {
        let conn = self.lock()?;
        conn.query_row(
            &format!(
                "SELECT {COLS} FROM versions WHERE account=?1 AND container=?2 AND name=?3
                 AND version_id=?4"
            ),
            params![account, container, name, version_id],
            row_to_version,
        )
        .optional()
        .map_err(q("reading a version"))
    }

    /// Forgets a kept version; returns whether it was recorded.
    pub fn remove_version(
        &self,
        account: &str,
        container: &str,
        name: &str,
        version_id: &str,
    ) -> IResult<bool> {
        let conn = self.lock()?;
        let n = conn
            .execute(
                "DELETE FROM versions WHERE account=?1 AND container=?2 AND name=?3
                 AND version_id=?4",
                params![account, container, name, version_id],
            )
            .map_err(q("removing a version"))?;
        Ok(n > 0)
    }

    /// Kept versions of names starting with `prefix`, by name then version id.
    pub fn versions_under(
        &self,
        account: &str,
        container: &str,
        prefix: &str,
    ) -> IResult<Vec<VersionRecord>> {
        let conn = self.lock()?;
        let mut st = conn
            .prepare(&format!(
                "SELECT {COLS} FROM versions WHERE account=?1 AND container=?2 AND name>=?3
                 AND (?4 IS NULL OR name<?4) ORDER BY name, version_id"
            ))
            .map_err(q("listing versions"))?;
        let rows = st
            .query_map(
                params![account, container, prefix, successor(prefix)],
                row_to_version,
            )
            .map_err(q("listing versions"))?;
        rows.collect::<Result<_, _>>()
            .map_err(q("listing versions"))
    }

    /// How many versions (delete markers included) a container keeps.
    pub fn version_count(&self, account: &str, container: &str) -> IResult<u64> {
        let conn = self.lock()?;
        conn.query_row(
            "SELECT COUNT(*) FROM versions WHERE account=?1 AND container=?2",
            params![account, container],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n as u64)
        .map_err(q("counting versions"))
    }

    /// The version id of a name's current object (`None`: no object, or the null version).
    pub fn current_version(
        &self,
        account: &str,
        container: &str,
        name: &str,
    ) -> IResult<Option<String>> {
        let conn = self.lock()?;
        conn.query_row(
            "SELECT version_id FROM current_versions WHERE account=?1 AND container=?2
             AND name=?3",
            params![account, container, name],
            |r| r.get(0),
        )
        .optional()
        .map_err(q("reading a current version"))
    }

    /// Current version ids of names starting with `prefix`.
    pub fn current_versions_under(
        &self,
        account: &str,
        container: &str,
        prefix: &str,
    ) -> IResult<Vec<(String, String)>> {
        let conn = self.lock()?;
        let mut st = conn
            .prepare(
                "SELECT name, version_id FROM current_versions WHERE account=?1
                 AND container=?2 AND name>=?3 AND (?4 IS NULL OR name<?4)",
            )
            .map_err(q("listing current versions"))?;
        let rows = st
            .query_map(
                params![account, container, prefix, successor(prefix)],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(q("listing current versions"))?;
        rows.collect::<Result<_, _>>()
            .map_err(q("listing current versions"))
    }

    /// Names (`Some`) or clears (`None`) the version id of a name's current object.
    pub fn set_current_version(
        &self,
        account: &str,
        container: &str,
        name: &str,
        version_id: Option<&str>,
    ) -> IResult<()> {
        let conn = self.lock()?;
        match version_id {
            Some(v) => conn.execute(
                "INSERT INTO current_versions(account,container,name,version_id)
                 VALUES(?1,?2,?3,?4) ON CONFLICT(account,container,name)
                 DO UPDATE SET version_id=excluded.version_id",
                params![account, container, name, v],
            ),
            None => conn.execute(
                "DELETE FROM current_versions WHERE account=?1 AND container=?2 AND name=?3",
                params![account, container, name],
            ),
        }
        .map_err(q("recording a current version"))?;
        Ok(())
    }

    /// Forgets every version record of a container (it is being deleted).
    pub fn forget_versions(&self, account: &str, container: &str) -> IResult<()> {
        let conn = self.lock()?;
        for table in ["versions", "current_versions"] {
            conn.execute(
                &format!("DELETE FROM {table} WHERE account=?1 AND container=?2"),
                params![account, container],
            )
            .map_err(q("forgetting versions"))?;
        }
        Ok(())
    }
}
