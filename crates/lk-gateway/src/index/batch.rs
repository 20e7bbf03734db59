// SPDX-License-Identifier: Apache-2.0
//! Changes that commit together in one SQLite transaction (see [`super::Index::batch`]).

use rusqlite::{params, OptionalExtension, Transaction};

use super::list::row_to_object;
use super::{q, successor, IResult, ObjectRecord};

/// Changes that commit together; see [`Index::batch`].
pub struct Batch<'a> {
    pub(super) tx: Transaction<'a>,
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
        // Expiry times move with their objects (removing an object drops its row).
        self.tx
            .execute(
                "UPDATE OR REPLACE expiring SET name=?5 || substr(name,?4+1)
                 WHERE account=?1 AND container=?2 AND substr(name,1,?4)=?3",
                params![
                    account,
                    container,
                    old_prefix,
                    old_prefix.chars().count() as i64,
                    new_prefix
                ],
            )
            .map_err(q("renaming expiry times"))?;
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
