// SPDX-License-Identifier: Apache-2.0
//! Container quotas on object PUTs (see [`crate::quota`]).

use std::sync::Arc;

use super::Req;
use crate::error::{SwiftError, SwiftResult};
use crate::gateway::{blocking, container_key, Gateway};
use crate::quota::Quota;
use crate::versioning::store as vstore;

/// Refuses (413) a PUT into `a`/`c` that would exceed the container's quotas. A container
/// known (cached) to have none answers without reading anything.
pub async fn enforce(gw: &Arc<Gateway>, req: &Req, a: &str, c: &str) -> SwiftResult<()> {
    if vstore::cached(gw, a, c).is_some_and(|f| !f.quota) {
        return Ok(());
    }
    let length = match req.header("content-length") {
        Some(v) => v
            .parse::<u64>()
            .map_err(|_| SwiftError::bad("Invalid Content-Length"))?,
        None => 0,
    };
    let (g, a, c) = (gw.clone(), a.to_string(), c.to_string());
    blocking(move || {
        let generation = g.version_states.generation();
        let dir = g.store.checked_container_dir(&a, &c)?;
        // A missing container is the PUT's own 404, later.
        if !dir.is_dir() {
            return Ok(());
        }
        let Some(meta) = g.meta.read(&dir, &container_key(&a, &c))? else {
            return Ok(());
        };
        if !vstore::remember(&g, &a, &c, generation, &meta).quota {
            return Ok(());
        }
        let Some(rec) = g.index.container(&a, &c)? else {
            return Ok(());
        };
        Quota::of(&meta).check(rec.bytes_used, rec.object_count, length)
    })
    .await
}
