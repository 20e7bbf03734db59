// SPDX-License-Identifier: Apache-2.0
//! Structural ops: rescans of a subtree, removed and moved directories. Each reads the tree
//! outside any transaction and commits its changes in chunks.

use std::os::unix::fs::MetadataExt;

use lk_gateway::sync_api::layout::{decode_entry, encode_component, encode_name, Decoded, Skip};
use lk_gateway::sync_api::{check_object_name, container_key, keys, Timestamp};

use super::{is_gone, is_real_dir, lstat, mtime_ns, Applier, DirWatch, Mutation, Stats};
use crate::error::{index_err, SyncResult};
use crate::layout::Place;
use crate::ops::Op;

impl Applier {
    pub(super) fn structural(
        &self,
        op: &Op,
        watch: &mut dyn DirWatch,
        stats: &mut Stats,
    ) -> SyncResult<()> {
        let mut out = Vec::new();
        match op {
            Op::Refresh(rel) => {
                if let Some(m) = self.refresh(rel) {
                    out.push(m);
                }
            }
            Op::Scan(rel) => self.scan(rel, watch, &mut out, stats)?,
            Op::Gone(rel) => self.gone(rel, watch, &mut out, stats)?,
            Op::Moved { from, to } => {
                match (self.place(from)?, self.place(to)?) {
                    (
                        Some(Place::Object {
                            account,
                            container,
                            name: f,
                        }),
                        Some(Place::Object {
                            account: a2,
                            container: c2,
                            name: t,
                        }),
                    ) if account == a2 && container == c2 && !is_real_dir(&self.abs(from)) => {
                        let (old, new) = (format!("{f}/"), format!("{t}/"));
                        // A moved directory takes its .lk-self (the object `f`) along; the
                        // rescan below finds it as `t`.
                        self.push_remove(&mut out, &account, &container, &f, stats)?;
                        self.commit(&mut out, None, stats)?;
                        let n = self
                            .gw
                            .index
                            .batch(|b| b.rename_prefix(&account, &container, &old, &new))
                            .map_err(index_err("renaming a directory"))?;
                        stats.moved += n as u64;
                        // Entries refreshed at their old paths before this rename was seen
                        // were dropped there; the rescan finds them here, and checks the rest.
                        self.scan(to, watch, &mut out, stats)?;
                    }
                    _ => {
                        self.gone(from, watch, &mut out, stats)?;
                        self.commit(&mut out, None, stats)?;
                        self.scan(to, watch, &mut out, stats)?;
                    }
                }
            }
        }
        self.commit(&mut out, None, stats)
    }

    /// Makes the index match the subtree at `rel`.
    fn scan(
        &self,
        rel: &str,
        watch: &mut dyn DirWatch,
        out: &mut Vec<Mutation>,
        stats: &mut Stats,
    ) -> SyncResult<()> {
        match self.place(rel)? {
            None => Ok(()),
            Some(Place::Root) => self.scan_root(watch, out, stats),
            Some(Place::Account(a)) => self.scan_account(&a, watch, out, stats),
            Some(Place::Container { account, container }) => {
                self.scan_container(&account, &container, watch, out, stats)
            }
            Some(Place::Object {
                account,
                container,
                name,
            }) => {
                let path = self.abs(rel);
                match lstat(&path) {
                    Some(md) if md.is_dir() => {
                        self.push_remove(out, &account, &container, &name, stats)?;
                        self.scan_objects(
                            &account,
                            &container,
                            &format!("{name}/"),
                            watch,
                            out,
                            stats,
                        )
                    }
                    _ => {
                        self.push(
                            out,
                            Mutation::RemovePrefix {
                                account,
                                container,
                                prefix: format!("{name}/"),
                            },
                            stats,
                        )?;
                        match self.refresh(rel) {
                            Some(m) => self.push(out, m, stats),
                            None => Ok(()),
                        }
                    }
                }
            }
        }
    }

    /// Queues the removal of one object's entry.
    fn push_remove(
        &self,
        out: &mut Vec<Mutation>,
        account: &str,
        container: &str,
        name: &str,
        stats: &mut Stats,
    ) -> SyncResult<()> {
        let m = Mutation::Remove {
            account: account.to_string(),
            container: container.to_string(),
            name: name.to_string(),
        };
        self.push(out, m, stats)
    }

    /// Drops the subtree at `rel` from the index, unless it exists (then rescans it).
    fn gone(
        &self,
        rel: &str,
        watch: &mut dyn DirWatch,
        out: &mut Vec<Mutation>,
        stats: &mut Stats,
    ) -> SyncResult<()> {
        match self.place(rel)? {
            None => Ok(()),
            Some(Place::Root) => self.scan_root(watch, out, stats),
            Some(Place::Account(a)) => {
                if self.abs(rel).is_dir() {
                    return self.scan_account(&a, watch, out, stats);
                }
                self.drop_account(&a, out, stats)
            }
            Some(Place::Container { account, container }) => {
                self.scan_container(&account, &container, watch, out, stats)
            }
            Some(Place::Object {
                account,
                container,
                name,
            }) => {
                if is_real_dir(&self.abs(rel)) {
                    return self.scan_objects(
                        &account,
                        &container,
                        &format!("{name}/"),
                        watch,
                        out,
                        stats,
                    );
                }
                if lstat(&self.abs(rel)).is_none() {
                    // Nothing there: neither the file nor a directory holding its .lk-self.
                    self.push_remove(out, &account, &container, &name, stats)?;
                }
                self.push(
                    out,
                    Mutation::RemovePrefix {
                        account,
                        container,
                        prefix: format!("{name}/"),
                    },
                    stats,
                )
            }
        }
    }

    fn drop_account(&self, a: &str, out: &mut Vec<Mutation>, stats: &mut Stats) -> SyncResult<()> {
        let names = self
            .gw
            .index
            .container_names(a)
            .map_err(index_err("listing containers"))?;
        for c in names {
            self.push(
                out,
                Mutation::RemoveContainer {
                    account: a.to_string(),
                    container: c,
                },
                stats,
            )?;
        }
        Ok(())
    }

    fn scan_root(
        &self,
        watch: &mut dyn DirWatch,
        out: &mut Vec<Mutation>,
        stats: &mut Stats,
    ) -> SyncResult<()> {
        let root = self.root().to_path_buf();
        watch.dir("", &root);
        let mut accounts: std::collections::BTreeSet<String> = self
            .gw
            .index
            .account_names()
            .map_err(index_err("listing accounts"))?
            .into_iter()
            .collect();
        if let Ok(rd) = std::fs::read_dir(&root) {
            for e in rd.flatten() {
                if let Some(n) = e.file_name().to_str() {
                    if matches!(self.place(n)?, Some(Place::Account(_))) {
                        accounts.insert(n.to_string());
                    }
                }
            }
        }
        for a in accounts {
            if root.join(&a).is_dir() {
                self.scan_account(&a, watch, out, stats)?;
            } else {
                self.drop_account(&a, out, stats)?;
            }
        }
        Ok(())
    }

    fn scan_account(
        &self,
        a: &str,
        watch: &mut dyn DirWatch,
        out: &mut Vec<Mutation>,
        stats: &mut Stats,
    ) -> SyncResult<()> {
        let adir = self.root().join(a);
        if !adir.is_dir() {
            return self.drop_account(a, out, stats);
        }
        watch.dir(a, &adir);
        let mut containers: std::collections::BTreeSet<String> = self
            .gw
            .index
            .container_names(a)
            .map_err(index_err("listing containers"))?
            .into_iter()
            .collect();
        if let Ok(rd) = std::fs::read_dir(&adir) {
            for e in rd.flatten() {
                if let Some(n) = e.file_name().to_str() {
                    if let Some(Place::Container { container, .. }) =
                        self.place(&format!("{a}/{n}"))?
                    {
                        containers.insert(container);
                    }
                }
            }
        }
        for c in containers {
            self.scan_container(a, &c, watch, out, stats)?;
        }
        Ok(())
    }

    fn scan_container(
        &self,
        a: &str,
        c: &str,
        watch: &mut dyn DirWatch,
        out: &mut Vec<Mutation>,
        stats: &mut Stats,
    ) -> SyncResult<()> {
        let cdir = self.gw.store.container_dir(a, c);
        if !is_real_dir(&cdir) {
            return self.push(
                out,
                Mutation::RemoveContainer {
                    account: a.to_string(),
                    container: c.to_string(),
                },
                stats,
            );
        }
        let ts = match self.gw.meta.read(&cdir, &container_key(a, c)) {
            Ok(Some(m)) if m.contains_key(keys::TIMESTAMP) => m[keys::TIMESTAMP].clone(),
            _ => lstat(&cdir)
                .map(|m| Timestamp::from_nanos(m.mtime() * 1_000_000_000).to_x_timestamp())
                .unwrap_or_else(|| Timestamp::now().to_x_timestamp()),
        };
        self.push(
            out,
            Mutation::EnsureContainer {
                account: a.to_string(),
                container: c.to_string(),
                ts,
            },
            stats,
        )?;
        self.scan_objects(a, c, "", watch, out, stats)
    }

    /// Walks `ROOT/a/c/prefix` (prefix empty or ending in `/`) and makes the index entries
    /// under `prefix` match it: one `stat` for an unchanged file.
    fn scan_objects(
        &self,
        a: &str,
        c: &str,
        prefix: &str,
        watch: &mut dyn DirWatch,
        out: &mut Vec<Mutation>,
        stats: &mut Stats,
    ) -> SyncResult<()> {
        let limits = &self.gw.settings.limits;
        // Commit what is pending so the states read below include it.
        self.commit(out, None, stats)?;
        let mut states = self
            .gw
            .index
            .object_states_under(a, c, prefix)
            .map_err(index_err("reading object states"))?;
        let start_rel = dir_rel(a, c, prefix);
        let mut stack = vec![(start_rel, prefix.to_string())];
        while let Some((rel_dir, pre)) = stack.pop() {
            let dir = self.abs(&rel_dir);
            watch.dir(&rel_dir, &dir);
            let Some(rd) = read_dir(&dir) else { continue };
            for e in rd.flatten() {
                let Some(n) = e.file_name().to_str().map(str::to_string) else {
                    continue;
                };
                let Some(md) = lstat(&e.path()) else { continue };
                let decoded = decode_entry(&pre, &n, &mut |h| self.gw.index.long_name(h))
                    .map_err(index_err("reading a long name"))?;
                let name = match (decoded, md.is_dir()) {
                    (Decoded::Name(name), true) => {
                        if check_object_name(&name, limits).is_ok() {
                            stack.push((format!("{rel_dir}/{n}"), format!("{name}/")));
                        }
                        continue;
                    }
                    (Decoded::Name(name) | Decoded::SelfOf(name), false) => name,
                    (Decoded::Skip(Skip::UnknownLong(_)), _) => {
                        tracing::warn!(dir = %dir.display(), file = n, "unknown long name: not indexed");
                        continue;
                    }
                    _ => continue,
                };
                if !md.is_file() || check_object_name(&name, limits).is_err() {
                    continue;
                }
                stats.scanned += 1;
                let mt = mtime_ns(&md);
                if let Some(st) = states.remove(&name) {
                    if st.mtime_ns == mt && st.size == md.len() {
                        stats.unchanged += 1;
                        if !st.etag_known {
                            self.hash_later(a, c, &name);
                        }
                        continue;
                    }
                }
                let rec = self.record(a, c, &name, &e.path(), &md);
                self.push(
                    out,
                    Mutation::Upsert {
                        account: a.to_string(),
                        container: c.to_string(),
                        rec,
                    },
                    stats,
                )?;
            }
        }
        self.listed_not_found(a, c, states.into_keys(), out, stats)
    }

    /// Entries listed under a walked prefix but not found by the walk: gone, unless created
    /// since the walk passed their directory.
    fn listed_not_found(
        &self,
        a: &str,
        c: &str,
        names: impl Iterator<Item = String>,
        out: &mut Vec<Mutation>,
        stats: &mut Stats,
    ) -> SyncResult<()> {
        for name in names {
            let Ok(path) = self.gw.store.object_path(a, c, &name) else {
                continue; // not a path inside the account (a symlink leading out): not listed
            };
            let m = match lstat(&path) {
                Some(md) if md.is_file() => Mutation::Upsert {
                    account: a.to_string(),
                    container: c.to_string(),
                    rec: self.record(a, c, &name, &path, &md),
                },
                _ => Mutation::Remove {
                    account: a.to_string(),
                    container: c.to_string(),
                    name,
                },
            };
            self.push(out, m, stats)?;
        }
        Ok(())
    }
}

/// The directory (relative to the root) holding the names under `prefix` (empty or ending in
/// `/`), components encoded as the gateway stores them.
fn dir_rel(a: &str, c: &str, prefix: &str) -> String {
    let cdir = format!("{a}/{}", encode_component(c));
    match prefix.strip_suffix('/') {
        Some(p) => format!("{cdir}/{}", encode_name(p).join("/")),
        None => cdir,
    }
}

/// The entries of `dir`; `None` when it is gone, or unreadable (logged; its next event or
/// rescan retries).
fn read_dir(dir: &std::path::Path) -> Option<std::fs::ReadDir> {
    match std::fs::read_dir(dir) {
        Ok(rd) => Some(rd),
        Err(e) if is_gone(&e) => None,
        Err(e) => {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot read directory");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::dir_rel;

    #[test]
    fn prefixes_map_to_encoded_directories() {
        assert_eq!(dir_rel("a", "c", ""), "a/c");
        assert_eq!(dir_rel("a", "c", "d/"), "a/c/d");
        assert_eq!(dir_rel("a", "c", "d//"), "a/c/d/.lk-empty");
        assert_eq!(dir_rel("a", "c", "/"), "a/c/.lk-empty");
        let long = "l".repeat(256);
        assert!(dir_rel("a", &long, "").starts_with("a/.lk-long-"));
    }
}
