// SPDX-License-Identifier: Apache-2.0
//! Long components: the name components over `NAME_MAX` bytes that the tree stores as
//! `.lk-long-<sha256>` (see [`crate::layout`]), by hash. A row is written before any file or
//! directory uses its hash, and never removed (a hash names one component forever), so the
//! reconciliation and the sync daemon can always read a path back into its name.

use rusqlite::{params, OptionalExtension};

use super::{q, IResult, Index};
use crate::layout::LongName;

/// Schema of the table (part of the index schema).
pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS long_names(hash TEXT PRIMARY KEY, component TEXT NOT NULL)
    WITHOUT ROWID;
";

impl Index {
    /// Records long components (committed before this returns).
    pub fn record_long_names(&self, names: &[LongName]) -> IResult<()> {
        if names.is_empty() {
            return Ok(());
        }
        let mut conn = self.lock()?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(q("beginning a transaction"))?;
        for n in names {
            tx.execute(
                "INSERT OR IGNORE INTO long_names(hash, component) VALUES(?1, ?2)",
                params![n.hash, n.component],
            )
            .map_err(q("recording a long name"))?;
        }
        tx.commit().map_err(q("committing"))
    }

    /// The component stored as `.lk-long-<hash>`, if recorded.
    pub fn long_name(&self, hash: &str) -> IResult<Option<String>> {
        let conn = self.lock()?;
        conn.query_row(
            "SELECT component FROM long_names WHERE hash=?1",
            params![hash],
            |r| r.get(0),
        )
        .optional()
        .map_err(q("reading a long name"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::long_components;

    #[test]
    fn records_and_reads_long_names() {
        let dir = tempfile::tempdir().expect("tempdir");
        let idx = Index::open(&dir.path().join("i.sqlite3")).expect("open");
        let long = "l".repeat(400);
        let names = long_components(&format!("a/{long}/{long}"));
        idx.record_long_names(&names).expect("record");
        idx.record_long_names(&names).expect("twice is fine");
        assert_eq!(idx.long_name(&names[0].hash).expect("read"), Some(long));
        assert_eq!(idx.long_name("00").expect("read"), None);
    }
}
