// SPDX-License-Identifier: Apache-2.0
//! The expiry queue: which indexed objects have an `X-Delete-At`, and when. Rows follow their
//! object out of the index (a trigger in the schema) and through prefix renames; listings
//! leave out objects whose time has come (see [`super::Index::list_objects`]).

use rusqlite::params;

use super::batch::Batch;
use super::{q, IResult, Index};

/// An object due to expire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expiring {
    /// Account.
    pub account: String,
    /// Container.
    pub container: String,
    /// Object name.
    pub name: String,
    /// Unix time (seconds) it expires at.
    pub delete_at: i64,
}

impl Batch<'_> {
    /// Records (`Some`) or clears (`None`) an object's expiry time.
    pub fn set_expiry(
        &mut self,
        account: &str,
        container: &str,
        name: &str,
        delete_at: Option<i64>,
    ) -> IResult<()> {
        match delete_at {
            Some(at) => self.tx.execute(
                "INSERT INTO expiring(account,container,name,delete_at) VALUES(?1,?2,?3,?4)
                 ON CONFLICT(account,container,name) DO UPDATE SET delete_at=excluded.delete_at",
                params![account, container, name, at],
            ),
            None => self.tx.execute(
                "DELETE FROM expiring WHERE account=?1 AND container=?2 AND name=?3",
                params![account, container, name],
            ),
        }
        .map_err(q("writing an expiry"))?;
        Ok(())
    }
}

impl Index {
    /// Records or clears one object's expiry time.
    pub fn set_expiry(&self, a: &str, c: &str, name: &str, at: Option<i64>) -> IResult<()> {
        self.batch(|b| b.set_expiry(a, c, name, at))
    }

    /// Up to `limit` objects whose expiry time is `now` or earlier, oldest first.
    pub fn due_expiries(&self, now: i64, limit: usize) -> IResult<Vec<Expiring>> {
        let conn = self.lock()?;
        let mut st = conn
            .prepare_cached(
                "SELECT account,container,name,delete_at FROM expiring WHERE delete_at<=?1
                 ORDER BY delete_at LIMIT ?2",
            )
            .map_err(q("reading due expiries"))?;
        let rows = st
            .query_map(params![now, limit as i64], |r| {
                Ok(Expiring {
                    account: r.get(0)?,
                    container: r.get(1)?,
                    name: r.get(2)?,
                    delete_at: r.get(3)?,
                })
            })
            .map_err(q("reading due expiries"))?;
        rows.collect::<Result<_, _>>()
            .map_err(q("reading due expiries"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::{Entry, ListParams, ObjectRecord};

    fn rec(name: &str) -> ObjectRecord {
        ObjectRecord {
            name: name.into(),
            size: 1,
            etag: "e".into(),
            content_type: "t".into(),
            timestamp: "1.00000".into(),
            mtime_ns: 1,
        }
    }

    fn names(idx: &Index) -> Vec<String> {
        let p = ListParams {
            limit: 100,
            ..Default::default()
        };
        idx.list_objects("a", "c", &p)
            .expect("list")
            .into_iter()
            .filter_map(|e| match e {
                Entry::Item(r) => Some(r.name),
                Entry::Subdir(_) => None,
            })
            .collect()
    }

    #[test]
    fn due_objects_leave_listings_and_the_queue_follows_the_index() {
        let dir = tempfile::tempdir().expect("tempdir");
        let idx = Index::open(&dir.path().join("i.db")).expect("index");
        for n in ["past", "future", "plain", "dir/x"] {
            idx.upsert_object("a", "c", &rec(n)).expect("upsert");
        }
        idx.set_expiry("a", "c", "past", Some(1)).expect("set");
        idx.set_expiry("a", "c", "future", Some(i64::from(u32::MAX) * 2))
            .expect("set");
        idx.set_expiry("a", "c", "dir/x", Some(2)).expect("set");
        assert_eq!(names(&idx), ["future", "plain"]);
        let due = idx.due_expiries(100, 10).expect("due");
        let due: Vec<_> = due.iter().map(|e| (e.name.as_str(), e.delete_at)).collect();
        assert_eq!(due, [("past", 1), ("dir/x", 2)]);
        idx.rename_prefix("a", "c", "dir/", "moved/")
            .expect("rename");
        assert_eq!(idx.due_expiries(100, 10).expect("due")[1].name, "moved/x");
        idx.remove_object("a", "c", "past").expect("remove");
        idx.remove_container("a", "c").expect("remove container");
        assert!(idx.due_expiries(i64::MAX, 10).expect("due").is_empty());
    }
}
