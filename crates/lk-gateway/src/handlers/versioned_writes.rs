// SPDX-License-Identifier: Apache-2.0
//! Legacy versioned writes (Swift's `versioned_writes` middleware, `legacy.py`): a container
//! whose `X-Versions-Location` (stack mode) or `X-History-Location` (history mode) names a
//! versions container of the same account.
//!
//! - Container PUT/POST ([`requested_change`], [`apply_change`]): the location and mode are
//!   kept as the container's sysmeta; GET/HEAD answer the header of the mode
//!   ([`add_location_header`]). Both headers with values is a 400, a location holding `/` a
//!   412; an empty value or `X-Remove-Versions-Location` / `X-Remove-History-Location`
//!   removes it (a location given in the same request wins).
//! - Overwrites (PUT, COPY and `X-Copy-From` destinations, SLO manifest PUTs;
//!   [`before_overwrite`]): the current object is first copied, as it is stored (data,
//!   content type, metadata; an SLO or DLO manifest stays one), into the versions container
//!   as `<3 hex digits: the name's length in bytes><name>/<its X-Timestamp>`.
//! - DELETE ([`delete`]): in stack mode the newest archived version is copied back and
//!   removed from the versions container (a delete marker on top is consumed as Swift
//!   does); without one the object is deleted. In history mode the current object is
//!   archived, a delete marker (an empty object of type [`DELETE_MARKER`]) is written, then
//!   the object is deleted (404 when there was none).
//!
//! Rights, as in Swift: the caller needs write access to the versioned container (checked
//! by the object handler before these hooks run); the steps in the versions container are
//! done on the caller's behalf (Swift's pre-authorized subrequests), since only the
//! account's admin can name a versions container, always one of the same account. A step
//! the versions container refuses (missing container, a name clash in the tree) is Swift's
//! 412; other failures keep their own status.

use std::sync::Arc;

use futures_util::StreamExt;
use http::{Response, StatusCode};

use super::object::load;
use super::{container_meta, finish, hv, resp, Req};
use crate::body::{self, piece_stream, Body, Piece, Segment, Source};
use crate::error::{SwiftError, SwiftResult};
use crate::gateway::{blocking, Gateway, ObjectInfo, PutSpec};
use crate::index::{Entry, ListParams, ObjectRecord};
use crate::meta::{keys, Meta};
use crate::put::write_stream;
use crate::time::Timestamp;
use crate::versioning::store as vstore;

/// Content type of a history-mode delete marker.
pub const DELETE_MARKER: &str = "application/x-deleted;swift_versions_deleted=1";
/// The headers `/info` lists as `versioned_writes.allowed_flags`.
pub const ALLOWED_FLAGS: [&str; 2] = ["x-versions-location", "x-history-location"];
/// Container sysmeta holding the location as it was sent.
pub const SYSMETA_LOCATION: &str = "X-Container-Sysmeta-Versions-Location";
/// Container sysmeta holding the mode.
pub const SYSMETA_MODE: &str = "X-Container-Sysmeta-Versions-Mode";

/// Versions listed per page while looking for the one to restore.
const PAGE: usize = 1000;

/// What a DELETE does in a versioned container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `X-Versions-Location`: DELETE restores the previous version.
    Stack,
    /// `X-History-Location`: DELETE archives the object and leaves a delete marker.
    History,
}

impl Mode {
    /// As stored in the container's sysmeta.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Stack => "stack",
            Mode::History => "history",
        }
    }
    /// A stored mode; anything but `history` is stack mode, as in Swift.
    pub fn from_stored(s: &str) -> Mode {
        if s == "history" {
            Mode::History
        } else {
            Mode::Stack
        }
    }
    /// The header a container GET/HEAD answers the location with.
    pub fn client_header(self) -> &'static str {
        match self {
            Mode::Stack => "X-Versions-Location",
            Mode::History => "X-History-Location",
        }
    }
}

/// What a container PUT/POST asks of its versioning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerChange {
    /// Nothing.
    Keep,
    /// Version into `location` (the header value as sent) in `mode`.
    Set { location: String, mode: Mode },
    /// Stop versioning.
    Remove,
}

/// The change a container request's headers ask for (`header` looks a request header up),
/// judged as Swift's `container_request`.
pub fn requested_change<'a>(
    header: impl Fn(&str) -> Option<&'a str>,
) -> SwiftResult<ContainerChange> {
    let mut versions = header("x-versions-location");
    let mut history = header("x-history-location");
    if let (Some(v), Some(h)) = (versions, history) {
        if h.is_empty() {
            history = None;
        } else if !v.is_empty() {
            return Err(SwiftError::bad(
                "Only one of x-versions-location or x-history-location may be specified",
            ));
        } else {
            versions = None;
        }
    }
    let chosen = versions
        .map(|v| (v, Mode::Stack))
        .or_else(|| history.map(|h| (h, Mode::History)));
    if let Some((value, mode)) = chosen {
        if value.is_empty() {
            return Ok(ContainerChange::Remove);
        }
        if value.contains('/') {
            return Err(SwiftError::BadPath("Container name cannot contain slashes"));
        }
        return Ok(ContainerChange::Set {
            location: value.to_string(),
            mode,
        });
    }
    let remove = ["x-remove-versions-location", "x-remove-history-location"]
        .iter()
        .any(|h| header(h).is_some_and(|v| !v.is_empty()));
    Ok(if remove {
        ContainerChange::Remove
    } else {
        ContainerChange::Keep
    })
}

/// Adds `change` to a container request's metadata changes (to set, to remove).
pub fn apply_change(change: ContainerChange, set: &mut Meta, rm: &mut Vec<String>) {
    match change {
        ContainerChange::Keep => {}
        ContainerChange::Set { location, mode } => {
            set.insert(SYSMETA_LOCATION.into(), location);
            set.insert(SYSMETA_MODE.into(), mode.as_str().into());
        }
        ContainerChange::Remove => {
            rm.push(SYSMETA_LOCATION.into());
            rm.push(SYSMETA_MODE.into());
        }
    }
}

/// Adds the container's `X-Versions-Location` or `X-History-Location` to a GET/HEAD answer.
pub fn add_location_header(b: http::response::Builder, meta: &Meta) -> http::response::Builder {
    match stored_location(meta) {
        Some((location, mode)) => b.header(mode.client_header(), hv(location)),
        None => b,
    }
}

fn stored_location(meta: &Meta) -> Option<(&str, Mode)> {
    let location = meta.get(SYSMETA_LOCATION).filter(|l| !l.is_empty())?;
    let mode = meta
        .get(SYSMETA_MODE)
        .map_or(Mode::Stack, |m| Mode::from_stored(m));
    Some((location, mode))
}

/// A versioned container's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioning {
    /// The versions container (the stored location, URL-decoded, up to a `/`).
    pub container: String,
    /// What a DELETE does.
    pub mode: Mode,
}

/// The versioning a container's metadata holds. A location that does not decode is Swift's
/// 412 (its archive step would fail on such a name).
pub fn versioning_of(meta: &Meta) -> SwiftResult<Option<Versioning>> {
    let Some((location, mode)) = stored_location(meta) else {
        return Ok(None);
    };
    let decoded = crate::path::decode(location).map_err(|_| SwiftError::PreconditionFailed)?;
    let container = decoded.split('/').next().unwrap_or_default().to_string();
    Ok(Some(Versioning { container, mode }))
}

/// The versioning of container `c` of `a` (`None`: not versioned, or no container).
/// A container known (cached) not to use it answers without reading its metadata.
pub async fn of_container(gw: &Arc<Gateway>, a: &str, c: &str) -> SwiftResult<Option<Versioning>> {
    if vstore::cached(gw, a, c).is_some_and(|f| !f.legacy) {
        return Ok(None);
    }
    let generation = gw.version_states.generation();
    match container_meta(gw, a, c).await? {
        Some(meta) => {
            vstore::remember(gw, a, c, generation, &meta);
            versioning_of(&meta)
        }
        None => Ok(None),
    }
}

/// The prefix of every archived version of `object`.
pub fn versions_prefix(object: &str) -> String {
    format!("{:03x}{object}/", object.len())
}

/// The archive name of the version of `object` written at `ts` (Swift's internal form,
/// 16 characters).
pub fn version_name(object: &str, ts: Timestamp) -> String {
    let secs = ts.0.div_euclid(100_000);
    let frac = ts.0.rem_euclid(100_000);
    format!("{}{secs:010}.{frac:05}", versions_prefix(object))
}

/// A step in the versions container that failed: Swift answers a client error of its
/// subrequests with 412 (logged here with its cause), anything else as it is.
fn step_failed(e: SwiftError) -> SwiftError {
    if e.status().is_client_error() {
        tracing::info!(error = %e, "a versioned-writes step was refused");
        SwiftError::PreconditionFailed
    } else {
        e
    }
}

/// Hook before object `o` of `a`/`c` is overwritten (the caller may write `c`): when `c`
/// is versioned, its current version is archived first.
pub async fn before_overwrite(gw: &Arc<Gateway>, a: &str, c: &str, o: &str) -> SwiftResult<()> {
    match of_container(gw, a, c).await? {
        Some(v) => archive_current(gw, (a, c, o), &v.container).await,
        None => Ok(()),
    }
}

/// Copies the current version of the object (if any) into `vc`.
async fn archive_current(
    gw: &Arc<Gateway>,
    (a, c, o): (&str, &str, &str),
    vc: &str,
) -> SwiftResult<()> {
    let src = match load(gw, a, c, o).await {
        Err(SwiftError::NotFound) => return Ok(()),
        other => other.map_err(step_failed)?,
    };
    let name = version_name(o, src.timestamp());
    copy_verbatim(gw, &src, (a, vc, &name))
        .await
        .map_err(step_failed)?;
    Ok(())
}

/// Writes `src` as it is stored (bytes, content type, metadata, large-object keys, expiry)
/// to a new object with a new timestamp.
async fn copy_verbatim(
    gw: &Arc<Gateway>,
    src: &ObjectInfo,
    (a, c, o): (&str, &str, &str),
) -> SwiftResult<ObjectInfo> {
    let mut meta = src.meta.clone();
    for k in [keys::ETAG, keys::LENGTH, keys::TIMESTAMP, keys::MTIME] {
        meta.remove(k);
    }
    // A plain object's bytes are its ETag's; a large object's file holds its content, whose
    // listed ETag is its manifest's and is kept as it is.
    let plain = !src.is_slo() && src.dlo_file_etag().is_none();
    let spec = PutSpec {
        account: a.into(),
        container: c.into(),
        object: o.into(),
        meta,
        expected_etag: plain.then(|| src.etag().to_string()),
        expected_len: Some(src.file_size),
        if_none_match_any: false,
        stored_etag: (!plain).then(|| src.etag().to_string()),
        keep_version: None,
    };
    let whole = Segment {
        source: Source::File(src.path.clone()),
        offset: 0,
        len: src.file_size,
    };
    let stream = piece_stream(vec![Piece::Part(whole)])
        .map(|r| r.map_err(|e| SwiftError::io("read an object to version", "", e)))
        .boxed();
    write_stream(gw, spec, stream, None).await
}

/// Hook for a DELETE of `o` in a versioned container (the caller may write `c`).
pub async fn delete(
    gw: &Arc<Gateway>,
    req: &Req,
    (a, c, o): (&str, &str, &str),
    v: &Versioning,
) -> SwiftResult<Response<Body>> {
    match v.mode {
        Mode::History => {
            archive_current(gw, (a, c, o), &v.container).await?;
            write_marker(gw, a, &v.container, o).await?;
            super::object::delete(gw, req, a, c, o).await
        }
        Mode::Stack => pop(gw, req, (a, c, o), &v.container).await,
    }
}

/// [`delete`] as a subrequest of another operation (bulk delete): only the caller's token
/// carries over, as in Swift's subrequests. Returns false for a 404.
pub async fn delete_subrequest(
    gw: &Arc<Gateway>,
    req: &Req,
    (a, c, o): (&str, &str, &str),
    v: &Versioning,
) -> SwiftResult<bool> {
    let mut headers = http::HeaderMap::new();
    for name in ["x-auth-token", "x-storage-token"] {
        if let Some(v) = req.headers.get(name) {
            headers.insert(name, v.clone());
        }
    }
    let sub = Req {
        method: http::Method::DELETE,
        target: crate::path::Target::Object(a.into(), c.into(), o.into()),
        query: Vec::new(),
        headers,
        session: req.session.clone(),
        tempurl: req.tempurl.clone(),
    };
    match delete(gw, &sub, (a, c, o), v).await {
        Ok(_) => Ok(true),
        Err(SwiftError::NotFound) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Writes a history-mode delete marker for `o` into `vc`.
async fn write_marker(gw: &Arc<Gateway>, a: &str, vc: &str, o: &str) -> SwiftResult<()> {
    let name = version_name(o, Timestamp::now());
    let meta = Meta::from([(keys::CONTENT_TYPE.to_string(), DELETE_MARKER.to_string())]);
    let spec = PutSpec {
        account: a.into(),
        container: vc.into(),
        object: name,
        meta,
        expected_etag: None,
        expected_len: Some(0),
        if_none_match_any: false,
        stored_etag: None,
        keep_version: None,
    };
    let empty = futures_util::stream::empty::<SwiftResult<bytes::Bytes>>();
    write_stream(gw, spec, empty, None)
        .await
        .map_err(step_failed)?;
    Ok(())
}

/// Stack-mode DELETE, as Swift's `handle_obj_versions_delete_pop`.
async fn pop(
    gw: &Arc<Gateway>,
    req: &Req,
    (a, c, o): (&str, &str, &str),
    vc: &str,
) -> SwiftResult<Response<Body>> {
    let mut versions = Versions::new(a, vc, o);
    while let Some(newest) = versions.next(gw).await? {
        if newest.content_type != DELETE_MARKER {
            if restore(gw, (a, vc, &newest.name), (a, c, o)).await? {
                return delete_archived(gw, a, vc, &newest.name).await;
            }
            continue; // gone meanwhile: the next one
        }
        // A delete marker on top: an object written since stays and is deleted; otherwise
        // the newest version below the marker (if not another marker) comes back, and the
        // marker goes.
        if current_exists(gw, a, c, o).await? {
            break;
        }
        while let Some(older) = versions.next(gw).await? {
            if older.content_type == DELETE_MARKER {
                break;
            }
            if restore(gw, (a, vc, &older.name), (a, c, o)).await? {
                remove_archived(gw, a, vc, &older.name).await?;
                break;
            }
        }
        return delete_archived(gw, a, vc, &newest.name).await;
    }
    super::object::delete(gw, req, a, c, o).await
}

/// Whether the object exists now (Swift's HEAD before consuming a delete marker).
async fn current_exists(gw: &Arc<Gateway>, a: &str, c: &str, o: &str) -> SwiftResult<bool> {
    match load(gw, a, c, o).await {
        Ok(_) => Ok(true),
        Err(SwiftError::NotFound) => Ok(false),
        Err(e) => Err(step_failed(e)),
    }
}

/// Copies an archived version back over the object; false when it is gone.
async fn restore(
    gw: &Arc<Gateway>,
    (a, vc, name): (&str, &str, &str),
    dest: (&str, &str, &str),
) -> SwiftResult<bool> {
    let archived = match load(gw, a, vc, name).await {
        Err(SwiftError::NotFound) => return Ok(false),
        other => other.map_err(step_failed)?,
    };
    copy_verbatim(gw, &archived, dest)
        .await
        .map_err(step_failed)?;
    Ok(true)
}

/// Removes an archived version (gone already is fine).
async fn remove_archived(gw: &Arc<Gateway>, a: &str, vc: &str, name: &str) -> SwiftResult<bool> {
    let (g, a, vc, name) = (gw.clone(), a.to_string(), vc.to_string(), name.to_string());
    blocking(move || g.delete_object(&a, &vc, &name))
        .await
        .map_err(step_failed)
}

/// Removes an archived version and answers the DELETE with the outcome (204, or 404 when
/// it went meanwhile), as Swift answers with that subrequest's response.
async fn delete_archived(
    gw: &Arc<Gateway>,
    a: &str,
    vc: &str,
    name: &str,
) -> SwiftResult<Response<Body>> {
    if !remove_archived(gw, a, vc, name).await? {
        return Err(SwiftError::NotFound);
    }
    finish(
        resp(StatusCode::NO_CONTENT).header("Content-Type", "text/html; charset=UTF-8"),
        body::empty(),
    )
}

/// The archived versions of one object, newest first, read from the index page by page.
struct Versions {
    account: String,
    container: String,
    prefix: String,
    page: std::vec::IntoIter<ObjectRecord>,
    marker: Option<String>,
    done: bool,
}

impl Versions {
    fn new(a: &str, vc: &str, object: &str) -> Self {
        Versions {
            account: a.into(),
            container: vc.into(),
            prefix: versions_prefix(object),
            page: Vec::new().into_iter(),
            marker: None,
            done: false,
        }
    }

    async fn next(&mut self, gw: &Arc<Gateway>) -> SwiftResult<Option<ObjectRecord>> {
        if let Some(r) = self.page.next() {
            return Ok(Some(r));
        }
        if self.done {
            return Ok(None);
        }
        let params = ListParams {
            limit: PAGE,
            marker: self.marker.clone(),
            end_marker: None,
            prefix: Some(self.prefix.clone()),
            delimiter: None,
            reverse: true,
            path: false,
        };
        let (g, a, vc) = (gw.clone(), self.account.clone(), self.container.clone());
        let entries = blocking(move || Ok(g.index.list_objects(&a, &vc, &params)?)).await?;
        self.done = entries.len() < PAGE;
        let records: Vec<ObjectRecord> = entries
            .into_iter()
            .filter_map(|e| match e {
                Entry::Item(r) => Some(r),
                Entry::Subdir(_) => None,
            })
            .collect();
        self.marker = records.last().map(|r| r.name.clone());
        if self.marker.is_none() {
            self.done = true;
        }
        self.page = records.into_iter();
        Ok(self.page.next())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(headers: &[(&str, &str)]) -> SwiftResult<ContainerChange> {
        let owned: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        requested_change(|h| {
            owned
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(h))
                .map(|(_, v)| v.as_str())
        })
    }

    #[test]
    fn names_follow_swift() {
        let ts = Timestamp::parse("1700000000.12345").unwrap();
        assert_eq!(version_name("obj", ts), "003obj/1700000000.12345");
        assert_eq!(versions_prefix("a/b"), "003a/b/");
        // The length counts bytes, in lower-case hex.
        assert_eq!(versions_prefix("é"), "002é/");
        assert_eq!(
            versions_prefix(&"x".repeat(300)),
            format!("12c{}/", "x".repeat(300))
        );
        let early = Timestamp::parse("12.5").unwrap();
        assert_eq!(version_name("o", early), "001o/0000000012.50000");
    }

    #[test]
    fn container_headers_as_swift() {
        let set = |l: &str, mode| ContainerChange::Set {
            location: l.into(),
            mode,
        };
        assert_eq!(change(&[]).unwrap(), ContainerChange::Keep);
        assert_eq!(
            change(&[("X-Versions-Location", "v")]).unwrap(),
            set("v", Mode::Stack)
        );
        assert_eq!(
            change(&[("X-History-Location", "v")]).unwrap(),
            set("v", Mode::History)
        );
        assert_eq!(
            change(&[("X-Versions-Location", "")]).unwrap(),
            ContainerChange::Remove
        );
        assert_eq!(
            change(&[("X-History-Location", "")]).unwrap(),
            ContainerChange::Remove
        );
        let both = change(&[("X-Versions-Location", "v"), ("X-History-Location", "h")]);
        assert_eq!(both.unwrap_err().status(), StatusCode::BAD_REQUEST);
        let empty_history = change(&[("X-Versions-Location", "v"), ("X-History-Location", "")]);
        assert_eq!(empty_history.unwrap(), set("v", Mode::Stack));
        let empty_versions = change(&[("X-Versions-Location", ""), ("X-History-Location", "h")]);
        assert_eq!(empty_versions.unwrap(), set("h", Mode::History));
        let slash = change(&[("X-Versions-Location", "a/b")]).unwrap_err();
        assert_eq!(slash.status(), StatusCode::PRECONDITION_FAILED);
        // A location in the same request wins over a removal.
        let both = change(&[
            ("X-Remove-Versions-Location", "x"),
            ("X-Versions-Location", "v"),
        ]);
        assert_eq!(both.unwrap(), set("v", Mode::Stack));
        assert_eq!(
            change(&[("X-Remove-History-Location", "x")]).unwrap(),
            ContainerChange::Remove
        );
        assert_eq!(
            change(&[("X-Remove-Versions-Location", "")]).unwrap(),
            ContainerChange::Keep
        );
    }

    #[test]
    fn stored_form_round_trips() {
        let (mut set, mut rm) = (Meta::new(), Vec::new());
        let ch = ContainerChange::Set {
            location: "ver%20s".into(),
            mode: Mode::History,
        };
        apply_change(ch, &mut set, &mut rm);
        let v = versioning_of(&set).unwrap().unwrap();
        assert_eq!(v.container, "ver s");
        assert_eq!(v.mode, Mode::History);
        let b = add_location_header(http::Response::builder(), &set);
        let h = b.headers_ref().unwrap();
        assert_eq!(h.get("x-history-location").unwrap(), "ver%20s");
        assert!(h.get("x-versions-location").is_none());
        apply_change(ContainerChange::Remove, &mut set, &mut rm);
        assert_eq!(
            rm,
            vec![SYSMETA_LOCATION.to_string(), SYSMETA_MODE.to_string()]
        );
        assert!(versioning_of(&Meta::new()).unwrap().is_none());
        let bad = Meta::from([(SYSMETA_LOCATION.to_string(), "%ff".to_string())]);
        assert!(versioning_of(&bad).is_err());
    }
}
