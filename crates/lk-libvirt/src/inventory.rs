//! The ownership inventory: everything of one cluster, found by its marks alone (what `gc`
//! removes when the ledger is lost).

use lk_engine::provider::Owned;

use crate::client::Libvirt;
use crate::domain::owner_of;
use crate::error::{Error, Kind};

impl Libvirt {
    /// Everything of `cluster` in libvirt: domains by their owner tag; networks by name
    /// prefix plus lustrekit's bridge naming; the pool named after the cluster whose directory
    /// is `pool_dir`, and the volumes in it. Objects without these marks are never listed.
    pub fn owned(&self, cluster: &str, pool_dir: &str) -> Result<Owned, Error> {
        let mut out = Owned::default();
        let conn_err = |call| Error::call(Kind::Connection, &self.uri, call);
        for d in self
            .conn
            .list_all_domains(0)
            .map_err(conn_err("list domains"))?
        {
            let name = d.name().map_err(conn_err("domain name"))?;
            if let Some(o) = owner_of(&d, &name)? {
                if o.cluster == cluster {
                    out.domains.push((name, o.run));
                }
            }
        }
        let prefix = format!("{cluster}-");
        for n in self
            .conn
            .list_all_networks(0)
            .map_err(conn_err("list networks"))?
        {
            let Ok(name) = n.name() else { continue };
            // `<cluster>-<lnet>`; LNet names (tcp0, o2ib1) have no `-`, so cluster `a` never
            // claims cluster `a-b`'s networks.
            let lnet = name.strip_prefix(&prefix).unwrap_or("");
            if !lnet.is_empty() && !lnet.contains('-') && self.network_is_ours(&n, &name)? {
                out.networks.push(name);
            }
        }
        for p in self
            .conn
            .list_all_storage_pools(0)
            .map_err(conn_err("list pools"))?
        {
            let Ok(name) = p.name() else { continue };
            if name != cluster {
                continue;
            }
            let path = self.pool_path(&p, &name)?.unwrap_or_default();
            if path.trim_end_matches('/') != pool_dir.trim_end_matches('/') {
                continue;
            }
            // An inactive pool lists no volumes; its files are removed with its directory.
            let pool_call = |call| Error::call(Kind::Pool, &name, call);
            if p.is_active().map_err(pool_call("is_active"))? {
                p.refresh(0).map_err(pool_call("refresh"))?;
                // A volume list that cannot be read must not look empty: gc would then
                // undefine the pool and leave its volumes behind.
                let volumes = p.list_volumes().map_err(pool_call("list volumes"))?;
                out.volumes
                    .extend(volumes.into_iter().map(|v| (name.clone(), v)));
            }
            out.pools.push(name);
        }
        out.domains.sort();
        out.networks.sort();
        out.volumes.sort();
        Ok(out)
    }
}
