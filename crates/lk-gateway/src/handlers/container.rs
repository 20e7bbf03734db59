// SPDX-License-Identifier: Apache-2.0
//! Container: a directory `ROOT/ACCOUNT/CONTAINER`. PUT creates it (201, or 202 when it
//! exists), POST merges metadata, HEAD/GET answer totals and listings from the index, DELETE
//! refuses a non-empty container (409).

use std::path::Path;
use std::sync::Arc;

use http::{Method, Response, StatusCode};

use super::{add_meta, authorize, finish, hv, is_owner, owner_only, resp, Access, Req};
use crate::body::{self, Body};
use crate::error::{SwiftError, SwiftResult};
use crate::gateway::{account_key, blocking, container_key, Gateway};
use crate::listing::{parse_params, render_objects, Format};
use crate::meta::{check_limits, headers_to_meta, keys, Meta};
use crate::path::TMP_PREFIX;
use crate::policy::{StoragePolicy, CONTAINER_POLICY_KEY};
use crate::store::fsync_dir;
use crate::time::Timestamp;
use crate::versioning;

const ACL_HEADERS: [&str; 2] = ["X-Container-Read", "X-Container-Write"];

/// Container sync's shared secret: kept and shown to owners only, as Swift's container
/// server keeps it (`swift_owner_headers`). Nothing here syncs containers; the key is only
/// stored, so that a client that sets it reads it back.
const SYNC_KEY: &str = "X-Container-Sync-Key";

/// What only owners see on a container HEAD/GET.
const OWNER_HEADERS: [&str; 3] = [ACL_HEADERS[0], ACL_HEADERS[1], SYNC_KEY];

/// Entry point.
pub async fn handle(gw: &Arc<Gateway>, req: &Req, a: &str, c: &str) -> SwiftResult<Response<Body>> {
    match req.method {
        Method::GET | Method::HEAD => {
            authorize(gw, req, a, Access::List(c)).await?;
            get(gw, req, a, c).await
        }
        Method::PUT => {
            authorize(gw, req, a, Access::Admin).await?;
            // Naming a policy that is not configured is Swift's 400; an empty value means
            // the default.
            let policy =
                match req.header("x-storage-policy").filter(|p| !p.is_empty()) {
                    Some(p) => Some(gw.settings.policies.get(p).cloned().ok_or_else(|| {
                        SwiftError::bad(format!("Invalid X-Storage-Policy '{p}'"))
                    })?),
                    None => None,
                };
            put_or_post(gw, req, a, c, Some(policy)).await
        }
        Method::POST => {
            authorize(gw, req, a, Access::Admin).await?;
            // A container keeps its policy: a POST naming another is ignored, as in Swift.
            put_or_post(gw, req, a, c, None).await
        }
        Method::DELETE => {
            authorize(gw, req, a, Access::Admin).await?;
            delete(gw, a, c).await
        }
        _ => Err(SwiftError::MethodNotAllowed),
    }
}

/// Metadata changes a PUT/POST asks for: (to set, to remove). As Swift's proxy, what only
/// owners may set (ACLs, temp-URL keys) is dropped from anyone else's request unread.
fn requested_meta(req: &Req, owner: bool) -> SwiftResult<(Meta, Vec<String>)> {
    let (mut set, mut rm) = headers_to_meta(&req.headers, "container")?;
    if !owner {
        set.retain(|k, _| !owner_only(k));
        rm.retain(|k| !owner_only(k));
        return Ok((set, rm));
    }
    for h in ACL_HEADERS {
        if let Some(v) = req.header(h) {
            let v = crate::acl::clean(h, v).map_err(SwiftError::BadRequest)?;
            if v.is_empty() {
                rm.push(h.to_string());
            } else {
                set.insert(h.to_string(), v);
            }
        }
        if req.header(&format!("X-Remove-{}", &h[2..])).is_some() {
            rm.push(h.to_string());
        }
    }
    match req.header(SYNC_KEY) {
        Some("") => rm.push(SYNC_KEY.to_string()),
        Some(v) => {
            set.insert(SYNC_KEY.to_string(), v.to_string());
        }
        None => {}
    }
    let change = super::versioned_writes::requested_change(|h| req.header(h))?;
    super::versioned_writes::apply_change(change, &mut set, &mut rm);
    // Object versioning: the flag, and (once enabled) that versions may exist.
    if let Some(v) = req.header(versioning::ENABLED_HEADER) {
        let on = versioning::is_true(v);
        let flag = if on { "True" } else { "False" };
        set.insert(versioning::ENABLED_HEADER.to_string(), flag.to_string());
        if on {
            set.insert(versioning::EVER_ENABLED_KEY.to_string(), "1".to_string());
        }
    }
    Ok((set, rm))
}

/// PUT (`create` holds the policy the request named, if any) or POST (`create` is `None`).
async fn put_or_post(
    gw: &Arc<Gateway>,
    req: &Req,
    a: &str,
    c: &str,
    create: Option<Option<StoragePolicy>>,
) -> SwiftResult<Response<Body>> {
    crate::quota::validate(|h| req.header(h))?;
    let (set, rm) = requested_meta(req, is_owner(gw, req, a).await?)?;
    // The request's own metadata is judged before anything is created: Swift answers a bad
    // PUT with 400 and no container.
    check_limits(&set, "container", &gw.settings.limits)?;
    let (g, a, c) = (gw.clone(), a.to_string(), c.to_string());
    let is_put = create.is_some();
    let created = blocking(move || {
        let adir = g.store.account_dir(&a);
        g.index
            .record_long_names(&crate::layout::long_components(&c))?;
        let dir = g.store.checked_container_dir(&a, &c)?;
        let mut created = false;
        if !dir.is_dir() {
            let Some(asked) = &create else {
                return Err(SwiftError::NotFound);
            };
            if !adir.is_dir() {
                std::fs::create_dir_all(&adir).map_err(|e| SwiftError::io("create", &adir, e))?;
                let m = Meta::from([(keys::TIMESTAMP.into(), Timestamp::now().to_x_timestamp())]);
                g.meta.write_path(&adir, &account_key(&a), &m)?;
            }
            let policy = asked
                .as_ref()
                .unwrap_or_else(|| g.settings.policies.default_policy());
            created = create_container_dir(&dir, policy)?;
            fsync_dir(&adir)?;
        }
        let key = container_key(&a, &c);
        let mut meta = g.meta.read(&dir, &key)?.unwrap_or_default();
        let policy = settle_policy(&g, &mut meta, create.as_ref(), created)?;
        let ts = meta
            .entry(keys::TIMESTAMP.to_string())
            .or_insert_with(|| Timestamp::now().to_x_timestamp())
            .clone();
        for k in rm {
            meta.remove(&k);
        }
        meta.extend(set);
        check_limits(&meta, "container", &g.settings.limits)?;
        meta.insert(keys::CHANGED.into(), Timestamp::now().to_x_timestamp());
        // Forgotten before and after the write: a request that read the old metadata
        // meanwhile cannot leave it cached.
        g.version_states.forget(&a, &c);
        g.meta.write_path(&dir, &key, &meta)?;
        g.version_states.forget(&a, &c);
        g.index.ensure_container(&a, &c, &ts)?;
        g.index.set_container_policy(&a, &c, &policy)?;
        Ok(created)
    })
    .await?;
    let status = match (is_put, created) {
        (true, true) => StatusCode::CREATED,
        (true, false) => StatusCode::ACCEPTED,
        (false, _) => StatusCode::NO_CONTENT,
    };
    finish(
        resp(status).header("Content-Type", "text/html; charset=UTF-8"),
        body::empty(),
    )
}

/// Creates a container's directory with its policy's layout; false when it already existed.
/// A directory whose layout cannot be set is removed again: a container is in its policy or
/// does not exist.
fn create_container_dir(dir: &Path, policy: &StoragePolicy) -> SwiftResult<bool> {
    match std::fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => {
            return Ok(false)
        }
        Err(e) => return Err(SwiftError::io("create container", dir, e)),
    }
    if let Err(why) = policy.layout.apply(dir) {
        let _ = std::fs::remove_dir(dir);
        return Err(SwiftError::Internal(format!(
            "storage policy {}: {why}",
            policy.name
        )));
    }
    Ok(true)
}

/// The container's policy after this request: a new container records the one asked for (or
/// the default); an existing one keeps its own, and a PUT naming another is a 409.
fn settle_policy(
    g: &Gateway,
    meta: &mut Meta,
    create: Option<&Option<StoragePolicy>>,
    created: bool,
) -> SwiftResult<String> {
    let policies = &g.settings.policies;
    let asked = create.and_then(Option::as_ref);
    if created || (!meta.contains_key(CONTAINER_POLICY_KEY) && asked.is_some()) {
        let name = asked
            .unwrap_or_else(|| policies.default_policy())
            .name
            .clone();
        if !created && !name.eq_ignore_ascii_case(&policies.default_policy().name) {
            // An older container, made before it recorded a policy, is in the default one.
            return Err(SwiftError::Conflict(
                "the container exists in another storage policy".into(),
            ));
        }
        meta.insert(CONTAINER_POLICY_KEY.into(), name.clone());
        return Ok(name);
    }
    let current = policies
        .name_of(meta.get(CONTAINER_POLICY_KEY).map(String::as_str))
        .to_string();
    match asked {
        Some(p) if !p.name.eq_ignore_ascii_case(&current) => Err(SwiftError::Conflict(
            "the container exists in another storage policy".into(),
        )),
        _ => Ok(current),
    }
}

async fn get(gw: &Arc<Gateway>, req: &Req, a: &str, c: &str) -> SwiftResult<Response<Body>> {
    let head = req.method == Method::HEAD;
    let versions_listing = match req.query.iter().any(|(k, _)| k == "versions") && !head {
        true => Some(super::versioning::listing::parse_query(
            req,
            gw.settings.limits.container_listing_limit,
        )?),
        false => None,
    };
    let format = match versions_listing {
        Some(_) => Format::Json,
        None => Format::choose(&req.query, req.header("accept"))?,
    };
    let params = if head || versions_listing.is_some() {
        None
    } else {
        Some(parse_params(
            &req.query,
            gw.settings.limits.container_listing_limit,
        )?)
    };
    let (g, acct, cont) = (gw.clone(), a.to_string(), c.to_string());
    let (meta, rec, entries) = blocking(move || {
        let dir = g.store.checked_container_dir(&acct, &cont)?;
        if !dir.is_dir() {
            return Err(SwiftError::NotFound);
        }
        let meta = g
            .meta
            .read(&dir, &container_key(&acct, &cont))?
            .unwrap_or_default();
        let rec = match g.index.container(&acct, &cont)? {
            Some(r) => r,
            None => {
                let ts = meta
                    .get(keys::TIMESTAMP)
                    .cloned()
                    .unwrap_or_else(|| Timestamp::now().to_x_timestamp());
                g.index.ensure_container(&acct, &cont, &ts)?;
                g.index
                    .container(&acct, &cont)?
                    .ok_or(SwiftError::NotFound)?
            }
        };
        let entries = match params {
            Some(p) => Some(g.list_objects_hashed(&acct, &cont, &p)?),
            None => None,
        };
        Ok((meta, rec, entries))
    })
    .await?;
    let ts = meta
        .get(keys::TIMESTAMP)
        .cloned()
        .unwrap_or(rec.put_timestamp.clone());
    let changed = meta.get(keys::CHANGED).unwrap_or(&ts);
    let last_modified = Timestamp::parse(changed)
        .unwrap_or(Timestamp(0))
        .http_date();
    let mut b = resp(StatusCode::NO_CONTENT)
        .header("X-Container-Object-Count", rec.object_count)
        .header("X-Container-Bytes-Used", rec.bytes_used)
        .header("X-Timestamp", hv(&ts))
        .header("X-Put-Timestamp", hv(&ts))
        .header("Last-Modified", hv(&last_modified))
        .header(
            "X-Storage-Policy",
            hv(gw
                .settings
                .policies
                .name_of(meta.get(CONTAINER_POLICY_KEY).map(String::as_str))),
        )
        .header("Accept-Ranges", "bytes")
        .header("Content-Type", format.content_type());
    b = super::versioned_writes::add_location_header(b, &meta);
    let ever_versioned = meta.contains_key(versioning::EVER_ENABLED_KEY);
    let mut meta = meta;
    if is_owner(gw, req, a).await? {
        b = add_meta(b, &meta, &OWNER_HEADERS);
    } else {
        meta.retain(|k, _| !owner_only(k));
    }
    b = add_meta(b, &meta, &["X-Container-Meta-"]);
    b = add_meta(b, &meta, &[versioning::ENABLED_HEADER]);
    if let Some(q) = versions_listing {
        let bytes = super::versioning::listing::body(gw, a, c, q).await?;
        return finish(b.status(StatusCode::OK), body::full(bytes));
    }
    let Some(entries) = entries else {
        return finish(b, body::empty());
    };
    let listed = render_objects(
        &entries,
        format,
        &format!("{}{a}", crate::config::RESELLER_PREFIX),
        c,
    );
    match listed {
        None => finish(b, body::empty()),
        Some(bytes) if ever_versioned && format == Format::Json => {
            let bytes = mark_versioned(gw, a, c, bytes).await?;
            finish(b.status(StatusCode::OK), body::full(bytes))
        }
        Some(bytes) => finish(b.status(StatusCode::OK), body::full(bytes)),
    }
}

/// A JSON listing of a container that has had versioning on, with its versioned objects
/// marked as Swift lists them (each is, in Swift, a symlink to its current version):
/// `version_symlink: true` and `symlink_path` `/v1/AUTH_a/c/o?version-id=ID`.
async fn mark_versioned(
    gw: &Arc<Gateway>,
    a: &str,
    c: &str,
    bytes: Vec<u8>,
) -> SwiftResult<Vec<u8>> {
    let Ok(serde_json::Value::Array(mut items)) = serde_json::from_slice(&bytes) else {
        return Ok(bytes);
    };
    let names: Vec<&str> = items
        .iter()
        .filter_map(|i| i.get("name").and_then(|n| n.as_str()))
        .collect();
    // The page's names share the common prefix of its first and last (listings are sorted):
    // only the current versions under it are read.
    let prefix = match (names.first(), names.last()) {
        (Some(x), Some(y)) => {
            let n = x
                .char_indices()
                .zip(y.chars())
                .take_while(|((_, p), q)| p == q)
                .last()
                .map_or(0, |((i, p), _)| i + p.len_utf8());
            x[..n].to_string()
        }
        _ => return Ok(bytes),
    };
    let (g, a2, c2) = (gw.clone(), a.to_string(), c.to_string());
    let current: std::collections::HashMap<String, String> =
        blocking(move || Ok(g.index.current_versions_under(&a2, &c2, &prefix)?))
            .await?
            .into_iter()
            .collect();
    if current.is_empty() {
        return Ok(bytes);
    }
    for item in &mut items {
        let Some(name) = item.get("name").and_then(|n| n.as_str()) else {
            continue;
        };
        let Some(id) = current.get(name) else {
            continue;
        };
        let path = super::versioning::listing::quote_path(a, c, name);
        item["symlink_path"] = serde_json::json!(format!("{path}?version-id={id}"));
        item["version_symlink"] = serde_json::json!(true);
    }
    Ok(serde_json::Value::Array(items).to_string().into_bytes())
}

/// Removes empty directories and stale temp files below `dir` (bottom-up).
fn prune_empty(dir: &Path) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        match e.file_type() {
            Ok(t) if t.is_dir() => {
                prune_empty(&p);
                let _ = std::fs::remove_dir(&p);
            }
            Ok(t) if t.is_file() && e.file_name().to_string_lossy().starts_with(TMP_PREFIX) => {
                let _ = std::fs::remove_file(&p);
            }
            _ => {}
        }
    }
}

/// Deletes an empty container (blocking).
pub fn delete_container_blocking(g: &Gateway, a: &str, c: &str) -> SwiftResult<()> {
    let dir = g.store.checked_container_dir(a, c)?;
    if !dir.is_dir() {
        return Err(SwiftError::NotFound);
    }
    versioning::store::check_deletable(g, a, c)?;
    if g.index.container(a, c)?.is_some_and(|r| r.object_count > 0) {
        return Err(SwiftError::Conflict("the container is not empty".into()));
    }
    prune_empty(&dir);
    if let Err(e) = std::fs::remove_dir(&dir) {
        return Err(match e.raw_os_error() {
            Some(39) => SwiftError::Conflict("the container directory is not empty".into()),
            _ => SwiftError::io("remove container", &dir, e),
        });
    }
    fsync_dir(&g.store.account_dir(a))?;
    g.version_states.forget(a, c);
    g.index.remove_container(a, c)?;
    g.meta.forget(&container_key(a, c))?;
    versioning::store::forget_container(g, a, c)?;
    Ok(())
}

async fn delete(gw: &Arc<Gateway>, a: &str, c: &str) -> SwiftResult<Response<Body>> {
    let (g, a, c) = (gw.clone(), a.to_string(), c.to_string());
    blocking(move || delete_container_blocking(&g, &a, &c)).await?;
    finish(resp(StatusCode::NO_CONTENT), body::empty())
}
