//! Storage: the cluster's `dir` pool and its volumes (qcow2 overlays of the base image, raw
//! target disks).

use lk_plan::resources::{PoolResource, VolumeResource};
use virt::storage_vol::StorageVol;

use crate::client::{flag, ignore_gone, Libvirt};
use crate::error::{is_no_such, Error, Kind};
use crate::{ownership, xml};

impl Libvirt {
    /// The directory of a pool (its `<target><path>`).
    pub(crate) fn pool_path(
        &self,
        pool: &virt::storage_pool::StoragePool,
        name: &str,
    ) -> Result<Option<String>, Error> {
        let desc = pool
            .xml_desc(0)
            .map_err(Error::call(Kind::Pool, name, "dumpxml"))?;
        ownership::pool_path(&desc).map_err(Error::ownership(Kind::Pool, name))
    }

    /// Creates the `dir` pool (its directory too), or adopts ours. Returns true if created.
    pub fn ensure_pool(&self, p: &PoolResource) -> Result<bool, Error> {
        match self.conn.lookup_storage_pool_by_name(&p.name) {
            Ok(pool) => {
                let path = self.pool_path(&pool, &p.name)?;
                if path.as_deref() != Some(p.path.as_str()) {
                    return Err(Error::Foreign {
                        kind: Kind::Pool,
                        name: p.name.clone(),
                        owner: format!("its directory is {}", path.unwrap_or_default()),
                    });
                }
                if !pool
                    .is_active()
                    .map_err(Error::call(Kind::Pool, &p.name, "is_active"))?
                {
                    pool.create(0)
                        .map_err(Error::call(Kind::Pool, &p.name, "start"))?;
                }
                Ok(false)
            }
            Err(e) if is_no_such(&e) => {
                let pool = self
                    .conn
                    .define_storage_pool_xml(&xml::pool_xml(p), 0)
                    .map_err(Error::call(Kind::Pool, &p.name, "define"))?;
                let started = pool.build(0).and_then(|_| pool.create(0));
                if let Err(e) = started {
                    let _ = pool.undefine();
                    return Err(Error::call(Kind::Pool, &p.name, "build/start")(e));
                }
                Ok(true)
            }
            Err(e) => Err(Error::call(Kind::Pool, &p.name, "lookup")(e)),
        }
    }

    /// Stops, deletes (its directory, which must be empty) and undefines a pool.
    pub fn remove_pool(&self, name: &str) -> Result<(), Error> {
        let pool = match self.conn.lookup_storage_pool_by_name(name) {
            Ok(p) => p,
            Err(e) if is_no_such(&e) => return Ok(()),
            Err(e) => return Err(Error::call(Kind::Pool, name, "lookup")(e)),
        };
        if flag(pool.is_active(), Kind::Pool, name, "is_active")? {
            ignore_gone(pool.destroy(), Kind::Pool, name, "destroy")?;
        }
        // Removing the directory is best effort: leftover files are reported by the caller.
        let _ = pool.delete(0);
        if flag(pool.is_persistent(), Kind::Pool, name, "is_persistent")? {
            ignore_gone(pool.undefine(), Kind::Pool, name, "undefine")?;
        }
        Ok(())
    }

    /// Creates a volume in `pool`, or adopts an existing one with the same name (volumes are
    /// named after the cluster). Returns true if created.
    pub fn ensure_volume(&self, pool: &str, v: &VolumeResource) -> Result<bool, Error> {
        let p = self
            .conn
            .lookup_storage_pool_by_name(pool)
            .map_err(Error::call(Kind::Pool, pool, "lookup"))?;
        let _ = p.refresh(0);
        match p.lookup_storage_vol_by_name(&v.name) {
            Ok(_) => Ok(false),
            Err(e) if is_no_such(&e) => {
                StorageVol::create_xml(&p, &xml::volume_xml(v), 0).map_err(Error::call(
                    Kind::Volume,
                    &v.name,
                    "create",
                ))?;
                Ok(true)
            }
            Err(e) => Err(Error::call(Kind::Volume, &v.name, "lookup")(e)),
        }
    }

    pub fn remove_volume(&self, pool: &str, name: &str) -> Result<(), Error> {
        let p = match self.conn.lookup_storage_pool_by_name(pool) {
            Ok(p) => p,
            Err(e) if is_no_such(&e) => return Ok(()),
            Err(e) => return Err(Error::call(Kind::Pool, pool, "lookup")(e)),
        };
        let _ = p.refresh(0);
        match p.lookup_storage_vol_by_name(name) {
            Ok(v) => ignore_gone(v.delete(0), Kind::Volume, name, "delete"),
            Err(e) if is_no_such(&e) => Ok(()),
            Err(e) => Err(Error::call(Kind::Volume, name, "lookup")(e)),
        }
    }
}
