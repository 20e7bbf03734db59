// SPDX-License-Identifier: Apache-2.0
//! Index mutations the applier gathers, and the short transactions that commit them.

use lk_gateway::sync_api::ObjectRecord;

use super::{Applier, Stats, CHUNK};
use crate::error::{index_err, SyncResult};

#[derive(Debug)]
pub(super) enum Mutation {
    Upsert {
        account: String,
        container: String,
        rec: ObjectRecord,
    },
    Remove {
        account: String,
        container: String,
        name: String,
    },
    RemovePrefix {
        account: String,
        container: String,
        prefix: String,
    },
    EnsureContainer {
        account: String,
        container: String,
        ts: String,
    },
    RemoveContainer {
        account: String,
        container: String,
    },
}

impl Applier {
    pub(super) fn commit(
        &self,
        muts: &mut Vec<Mutation>,
        cursor: Option<(&str, &str)>,
        stats: &mut Stats,
    ) -> SyncResult<()> {
        if muts.is_empty() && cursor.is_none() {
            return Ok(());
        }
        let (up, rm) = self
            .gw
            .index
            .batch(|b| {
                let (mut up, mut rm) = (0u64, 0u64);
                for m in muts.iter() {
                    match m {
                        Mutation::Upsert {
                            account,
                            container,
                            rec,
                        } => {
                            b.upsert_object(account, container, rec)?;
                            up += 1;
                        }
                        Mutation::Remove {
                            account,
                            container,
                            name,
                        } => {
                            rm += u64::from(b.remove_object(account, container, name)?);
                        }
                        Mutation::RemovePrefix {
                            account,
                            container,
                            prefix,
                        } => {
                            rm += b.remove_prefix(account, container, prefix)? as u64;
                        }
                        Mutation::EnsureContainer {
                            account,
                            container,
                            ts,
                        } => b.ensure_container(account, container, ts)?,
                        Mutation::RemoveContainer { account, container } => {
                            b.remove_container(account, container)?
                        }
                    }
                }
                if let Some((name, value)) = cursor {
                    b.set_cursor(name, value)?;
                }
                Ok((up, rm))
            })
            .map_err(index_err("committing changes"))?;
        stats.upserted += up;
        stats.removed += rm;
        muts.clear();
        Ok(())
    }

    pub(super) fn push(
        &self,
        out: &mut Vec<Mutation>,
        m: Mutation,
        stats: &mut Stats,
    ) -> SyncResult<()> {
        out.push(m);
        if out.len() >= CHUNK {
            self.commit(out, None, stats)?;
        }
        Ok(())
    }
}
