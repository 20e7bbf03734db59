// SPDX-License-Identifier: Apache-2.0
//! `GET ?versions`: every version of the container's objects as Swift's `object_versioning`
//! lists them (JSON only; `version_id`, `is_latest`; `marker` with `version_marker`;
//! `prefix`, `delimiter`, `reverse`, `limit`), including its ordering quirks: per name the
//! null version first, then versions newest first (in `reverse`, names descend but a
//! name's entries keep the null version first and list versions oldest first).
//!
//! The entries under the prefix are gathered from the index (current objects, their version
//! ids, kept versions and delete markers) and merged in memory, so a page costs the whole
//! prefix: fine for the versions of one object or a modest container, not for millions.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::json;

use super::Req;
use crate::error::{SwiftError, SwiftResult};
use crate::gateway::{blocking, Gateway};
use crate::index::{Entry, ListParams, ObjectRecord, VersionRecord};
use crate::listing::parse_params;
use crate::time::Timestamp;
use crate::versioning::{VersionId, NULL_VERSION};

/// What a `?versions` listing asks for, checked.
#[derive(Debug, Clone)]
pub struct VersionsQuery {
    params: ListParams,
    /// `version_marker` (normalized), with `marker`.
    version_marker: Option<String>,
}

/// Swift's checks: JSON only (406), `version_marker` needs `marker` and a valid id, no
/// digit or `.` in the delimiter (400).
pub fn parse_query(req: &Req, max: usize) -> SwiftResult<VersionsQuery> {
    let json_format = match req.q("format") {
        Some(f) => f.eq_ignore_ascii_case("json"),
        None => req.header("accept").is_none_or(accepts_json),
    };
    if !json_format {
        return Err(SwiftError::NotAcceptable);
    }
    let params = parse_params(&req.query, max)?;
    let version_marker = match req.q("version_marker") {
        None => None,
        Some(_) if params.marker.is_none() => {
            return Err(SwiftError::bad("version_marker param requires marker"))
        }
        Some(NULL_VERSION) => None,
        Some(v) => Some(
            VersionId::parse(v)
                .ok_or_else(|| SwiftError::bad("invalid version_marker param"))?
                .as_string(),
        ),
    };
    if params
        .delimiter
        .as_deref()
        .is_some_and(|d| d.chars().any(|ch| ch.is_ascii_digit() || ch == '.'))
    {
        return Err(SwiftError::bad("invalid delimiter param"));
    }
    Ok(VersionsQuery {
        params,
        version_marker,
    })
}

fn accepts_json(accept: &str) -> bool {
    accept.split(',').any(|item| {
        let mt = item
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        matches!(mt.as_str(), "application/json" | "application/*" | "*/*")
    })
}

/// One listed version.
#[derive(Debug, Clone, PartialEq)]
struct Item {
    name: String,
    /// `None`: the null version.
    version_id: Option<String>,
    size: u64,
    hash: String,
    content_type: String,
    timestamp: String,
    is_latest: bool,
}

/// A listing line: a version or a rolled-up prefix.
#[derive(Debug, Clone, PartialEq)]
enum Line {
    Version(Item),
    Subdir(String),
}

impl Line {
    fn key(&self) -> &str {
        match self {
            Line::Version(i) => &i.name,
            Line::Subdir(s) => s,
        }
    }
}

fn item(r: &ObjectRecord, version_id: Option<String>) -> Item {
    Item {
        name: r.name.clone(),
        version_id,
        size: r.size,
        hash: r.hash().to_string(),
        content_type: r.content_type.clone(),
        timestamp: r.timestamp.clone(),
        is_latest: true,
    }
}

/// Merges current objects (with their version ids) and kept versions into the listing.
fn merge(
    q: &VersionsQuery,
    objects: &[ObjectRecord],
    current: &HashMap<String, String>,
    kept: &[VersionRecord],
) -> Vec<Line> {
    let p = &q.params;
    let (marker, rev) = (p.marker.as_deref(), p.reverse);
    // A name's current object (of either kind) is its latest; otherwise its newest delete
    // marker is.
    let mut latest: HashSet<&str> = objects.iter().map(|o| o.name.as_str()).collect();
    let (mut nulls, mut versions) = (Vec::new(), Vec::new());
    for o in objects {
        let in_range = marker.is_none_or(|m| {
            if rev {
                o.name.as_str() < m
            } else {
                o.name.as_str() > m
            }
        }) && p.end_marker.as_deref().is_none_or(|e| {
            if rev {
                o.name.as_str() > e
            } else {
                o.name.as_str() < e
            }
        });
        match current.get(&o.name) {
            None if in_range => nulls.push(item(o, None)),
            None => {}
            Some(id) => versions.push(item(o, Some(id.clone()))),
        }
    }
    for v in kept {
        let is_latest = v.marker && latest.insert(v.name.as_str());
        versions.push(Item {
            name: v.name.clone(),
            version_id: Some(v.version_id.clone()),
            size: v.size,
            hash: v
                .etag
                .split(crate::index::SLO_ETAG_PARAM)
                .next()
                .unwrap_or("")
                .to_string(),
            content_type: v.content_type.clone(),
            timestamp: v.timestamp.clone(),
            is_latest,
        });
    }
    versions.retain(|i| versioned_in_range(q, i));
    versions.sort_by(|x, y| {
        let k = (&x.name, &x.version_id).cmp(&(&y.name, &y.version_id));
        if rev {
            k.reverse()
        } else {
            k
        }
    });
    let mut lines: Vec<Line> = Vec::new();
    let mut subdirs = HashSet::new();
    for i in nulls.into_iter().chain(versions) {
        match rolled_up(p, &i.name) {
            Some(s) if subdirs.insert(s.clone()) => lines.push(Line::Subdir(s)),
            Some(_) => {}
            None => lines.push(Line::Version(i)),
        }
    }
    // Stable: equal names keep the order above, in both directions (Swift's sort).
    lines.sort_by(|x, y| {
        if rev {
            y.key().cmp(x.key())
        } else {
            x.key().cmp(y.key())
        }
    });
    lines.truncate(p.limit);
    lines
}

/// Swift's bounds on the versions container: `marker` alone skips past all versions of that
/// name (but in `reverse` keeps them), with `version_marker` it is the exact position.
fn versioned_in_range(q: &VersionsQuery, i: &Item) -> bool {
    let Some(m) = q.params.marker.as_deref() else {
        return true;
    };
    let rev = q.params.reverse;
    match &q.version_marker {
        Some(vm) => {
            let here = (i.name.as_str(), i.version_id.as_deref().unwrap_or(""));
            if rev {
                here < (m, vm.as_str())
            } else {
                here > (m, vm.as_str())
            }
        }
        None if rev => i.name.as_str() <= m,
        None => i.name.as_str() > m,
    }
}

fn rolled_up(p: &ListParams, name: &str) -> Option<String> {
    let d = p.delimiter.as_deref()?;
    let prefix = p.prefix.as_deref().unwrap_or("");
    let rest = name.strip_prefix(prefix)?;
    let at = rest.find(d)?;
    Some(format!("{prefix}{}", &rest[..at + d.len()]))
}

fn render(lines: &[Line]) -> Vec<u8> {
    let v: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| match l {
            Line::Subdir(s) => json!({ "subdir": s }),
            Line::Version(i) => json!({
                "name": i.name,
                "bytes": i.size,
                "hash": i.hash,
                "content_type": i.content_type,
                "last_modified": Timestamp::parse(&i.timestamp).unwrap_or(Timestamp(0)).iso(),
                "version_id": i.version_id.as_deref().unwrap_or(NULL_VERSION),
                "is_latest": i.is_latest,
            }),
        })
        .collect();
    serde_json::Value::Array(v).to_string().into_bytes()
}

/// The JSON body of a `?versions` listing.
pub async fn body(gw: &Arc<Gateway>, a: &str, c: &str, q: VersionsQuery) -> SwiftResult<Vec<u8>> {
    let (g, a, c) = (gw.clone(), a.to_string(), c.to_string());
    blocking(move || {
        let prefix = q.params.prefix.clone().unwrap_or_default();
        let all = ListParams {
            limit: i64::MAX as usize,
            prefix: q.params.prefix.clone(),
            ..ListParams::default()
        };
        let current: HashMap<String, String> = g
            .index
            .current_versions_under(&a, &c, &prefix)?
            .into_iter()
            .collect();
        // A current object with a version id that has expired is listed until the expirer
        // removes it (and keeps it as a version); an expired null version is not, as in a
        // plain listing.
        let live: HashSet<String> = g
            .list_objects_hashed(&a, &c, &all)?
            .into_iter()
            .filter_map(|e| match e {
                Entry::Item(r) => Some(r.name),
                Entry::Subdir(_) => None,
            })
            .collect();
        let objects: Vec<ObjectRecord> = g
            .list_objects_hashed_with_expired(&a, &c, &all)?
            .into_iter()
            .filter_map(|e| match e {
                Entry::Item(r) if live.contains(&r.name) || current.contains_key(&r.name) => {
                    Some(r)
                }
                _ => None,
            })
            .collect();
        let kept = g.index.versions_under(&a, &c, &prefix)?;
        Ok(render(&merge(&q, &objects, &current, &kept)))
    })
    .await
}

/// `/v1/AUTH_a/c/o` percent-encoded as Python's `quote` (`/` kept), for `Content-Location`.
pub fn quote_path(a: &str, c: &str, o: &str) -> String {
    let path = format!("/v1/AUTH_{a}/{c}/{o}");
    crate::path::quote(&path)
}

#[cfg(test)]
mod tests;
