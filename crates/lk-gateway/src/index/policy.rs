// SPDX-License-Identifier: Apache-2.0
//! Each container's storage policy, for the account's per-policy totals
//! (`X-Account-Storage-Policy-<name>-*`). The container's own metadata holds its policy; this
//! table mirrors it, and a container without a row counts under the default policy.

use rusqlite::params;

use super::{q, IResult, Index};

/// Schema (part of the index schema); a removed container takes its row along.
pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS container_policies(
    account TEXT NOT NULL, container TEXT NOT NULL, policy TEXT NOT NULL,
    PRIMARY KEY(account, container)) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS container_policy_gone AFTER DELETE ON containers BEGIN
    DELETE FROM container_policies WHERE account=old.account AND container=old.name;
END;
";

/// One policy's totals in an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyStats {
    /// Policy name.
    pub policy: String,
    /// Containers.
    pub container_count: u64,
    /// Objects.
    pub object_count: u64,
    /// Bytes.
    pub bytes_used: u64,
}

impl Index {
    /// Records a container's policy.
    pub fn set_container_policy(
        &self,
        account: &str,
        container: &str,
        policy: &str,
    ) -> IResult<()> {
        self.lock()?
            .execute(
                "INSERT INTO container_policies(account, container, policy) VALUES(?1,?2,?3)
                 ON CONFLICT(account, container) DO UPDATE SET policy=excluded.policy",
                params![account, container, policy],
            )
            .map_err(q("recording a container's policy"))?;
        Ok(())
    }

    /// Totals per policy of an account's containers (those without a recorded policy count
    /// under `default`), by policy name.
    pub fn policy_stats(&self, account: &str, default: &str) -> IResult<Vec<PolicyStats>> {
        let conn = self.lock()?;
        let mut st = conn
            .prepare(
                "SELECT COALESCE(p.policy, ?2), COUNT(*), COALESCE(SUM(c.object_count),0),
                        COALESCE(SUM(c.bytes_used),0)
                 FROM containers c LEFT JOIN container_policies p
                   ON p.account=c.account AND p.container=c.name
                 WHERE c.account=?1 GROUP BY 1 ORDER BY 1",
            )
            .map_err(q("reading policy totals"))?;
        let rows = st
            .query_map(params![account, default], |r| {
                Ok(PolicyStats {
                    policy: r.get(0)?,
                    container_count: r.get::<_, i64>(1)? as u64,
                    object_count: r.get::<_, i64>(2)? as u64,
                    bytes_used: r.get::<_, i64>(3)? as u64,
                })
            })
            .map_err(q("reading policy totals"))?;
        rows.collect::<Result<_, _>>()
            .map_err(q("reading policy totals"))
    }
}
