// SPDX-License-Identifier: Apache-2.0
//! DLO views: which DLO manifests have their file kept as the whole object (see
//! [`crate::dlo`]), the segment container and prefix each reads, and whether its segments
//! changed since its file was last written (`dirty`).
//!
//! Triggers in the schema mark a view dirty whenever an object row of its segment container
//! under its prefix is added, changed, renamed or removed, whoever changes the index: the
//! gateway, start-up reconciliation or the sync daemon (a segment written through POSIX).
//! A view follows its manifest out of the index.

use rusqlite::params;

use super::batch::Batch;
use super::{q, IResult, Index};

/// Schema of the views and of the triggers that mark them dirty (part of the index schema).
pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS dlo_views(
    account TEXT NOT NULL, container TEXT NOT NULL, name TEXT NOT NULL,
    seg_container TEXT NOT NULL, prefix TEXT NOT NULL, dirty INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY(account, container, name)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS dlo_views_by_segments ON dlo_views(account, seg_container);
CREATE INDEX IF NOT EXISTS dlo_views_dirty ON dlo_views(dirty);
-- The manifest's own row never marks its view (the refresher rewrites it).
CREATE TRIGGER IF NOT EXISTS dlo_segment_added AFTER INSERT ON objects BEGIN
    UPDATE dlo_views SET dirty=1
    WHERE account=new.account AND seg_container=new.container
      AND substr(new.name, 1, length(prefix))=prefix
      AND NOT (container=new.container AND name=new.name);
END;
CREATE TRIGGER IF NOT EXISTS dlo_segment_changed AFTER UPDATE ON objects BEGIN
    UPDATE dlo_views SET dirty=1
    WHERE account=new.account AND seg_container=new.container
      AND (substr(new.name, 1, length(prefix))=prefix
           OR substr(old.name, 1, length(prefix))=prefix)
      AND NOT (container=new.container AND name=new.name);
END;
CREATE TRIGGER IF NOT EXISTS dlo_segment_removed AFTER DELETE ON objects BEGIN
    UPDATE dlo_views SET dirty=1
    WHERE account=old.account AND seg_container=old.container
      AND substr(old.name, 1, length(prefix))=prefix
      AND NOT (container=old.container AND name=old.name);
    DELETE FROM dlo_views
    WHERE account=old.account AND container=old.container AND name=old.name;
END;
";

/// A DLO manifest whose file is kept as its whole object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DloView {
    /// Account (of the manifest and its segments).
    pub account: String,
    /// The manifest's container.
    pub container: String,
    /// The manifest's name.
    pub name: String,
    /// The container its segments are listed from.
    pub seg_container: String,
    /// The prefix they share.
    pub prefix: String,
}

impl Batch<'_> {
    /// Records (`Some((segment container, prefix))`, dirty) or forgets (`None`) the view of
    /// an object. Recording an unchanged view keeps its dirty flag.
    pub fn set_dlo_view(
        &mut self,
        account: &str,
        container: &str,
        name: &str,
        view: Option<(&str, &str)>,
    ) -> IResult<()> {
        match view {
            Some((seg_container, prefix)) => self.tx.execute(
                "INSERT INTO dlo_views(account,container,name,seg_container,prefix,dirty)
                 VALUES(?1,?2,?3,?4,?5,1)
                 ON CONFLICT(account,container,name) DO UPDATE SET
                   dirty=CASE WHEN seg_container=excluded.seg_container
                                AND prefix=excluded.prefix THEN dirty ELSE 1 END,
                   seg_container=excluded.seg_container, prefix=excluded.prefix",
                params![account, container, name, seg_container, prefix],
            ),
            None => self.tx.execute(
                "DELETE FROM dlo_views WHERE account=?1 AND container=?2 AND name=?3",
                params![account, container, name],
            ),
        }
        .map_err(q("recording a DLO view"))?;
        Ok(())
    }
}

impl Index {
    /// Takes up to `limit` dirty views, clearing their flag in the same transaction: a
    /// segment change after this marks the view again, so none is missed.
    pub fn take_dirty_dlo_views(&self, limit: usize) -> IResult<Vec<DloView>> {
        self.batch(|b| {
            let rows = {
                let mut st =
                    b.tx.prepare(
                        "SELECT account,container,name,seg_container,prefix FROM dlo_views
                         WHERE dirty=1 LIMIT ?1",
                    )
                    .map_err(q("listing dirty DLO views"))?;
                let rows = st
                    .query_map(params![i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
                        Ok(DloView {
                            account: r.get(0)?,
                            container: r.get(1)?,
                            name: r.get(2)?,
                            seg_container: r.get(3)?,
                            prefix: r.get(4)?,
                        })
                    })
                    .map_err(q("listing dirty DLO views"))?;
                rows.collect::<Result<Vec<_>, _>>()
                    .map_err(q("reading a DLO view"))?
            };
            for v in &rows {
                b.tx.execute(
                    "UPDATE dlo_views SET dirty=0 WHERE account=?1 AND container=?2 AND name=?3",
                    params![v.account, v.container, v.name],
                )
                .map_err(q("clearing a DLO view"))?;
            }
            Ok(rows)
        })
    }

    /// Marks a view dirty again (a refresh that could not finish).
    pub fn mark_dlo_view_dirty(&self, account: &str, container: &str, name: &str) -> IResult<()> {
        self.batch(|b| {
            b.tx.execute(
                "UPDATE dlo_views SET dirty=1 WHERE account=?1 AND container=?2 AND name=?3",
                params![account, container, name],
            )
            .map_err(q("marking a DLO view"))?;
            Ok(())
        })
    }

    /// Every view, dirty or not (for tests and diagnostics).
    pub fn dlo_views(&self) -> IResult<Vec<(DloView, bool)>> {
        let conn = self.lock()?;
        let mut st = conn
            .prepare(
                "SELECT account,container,name,seg_container,prefix,dirty FROM dlo_views
                 ORDER BY account,container,name",
            )
            .map_err(q("listing DLO views"))?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    DloView {
                        account: r.get(0)?,
                        container: r.get(1)?,
                        name: r.get(2)?,
                        seg_container: r.get(3)?,
                        prefix: r.get(4)?,
                    },
                    r.get::<_, i64>(5)? != 0,
                ))
            })
            .map_err(q("listing DLO views"))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(q("reading a DLO view"))
    }
}
