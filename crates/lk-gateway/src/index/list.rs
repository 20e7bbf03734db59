// SPDX-License-Identifier: Apache-2.0
//! Swift's listing loop over the index, and row mapping.

use rusqlite::{params, Connection};

use super::{q, ContainerRecord, Entry, IResult, ListParams, ObjectRecord};

pub(super) fn row_to_object(r: &rusqlite::Row<'_>) -> rusqlite::Result<ObjectRecord> {
    Ok(ObjectRecord {
        name: r.get(0)?,
        size: r.get::<_, i64>(1)? as u64,
        etag: r.get(2)?,
        content_type: r.get(3)?,
        timestamp: r.get(4)?,
        mtime_ns: r.get(5)?,
    })
}

pub(super) fn row_to_container(r: &rusqlite::Row<'_>) -> rusqlite::Result<ContainerRecord> {
    Ok(ContainerRecord {
        name: r.get(0)?,
        object_count: r.get::<_, i64>(1)? as u64,
        bytes_used: r.get::<_, i64>(2)? as u64,
        put_timestamp: r.get(3)?,
    })
}

/// The smallest string greater than every string starting with `prefix` (by code point, which
/// is UTF-8 byte order); `None` when there is none.
pub fn successor(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let mut n = last as u32 + 1;
        if (0xD800..0xE000).contains(&n) {
            n = 0xE000;
        }
        if let Some(c) = char::from_u32(n) {
            chars.push(c);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// Swift's listing loop (container/backend.py `list_objects_iter`): page through the
/// range, rolling names up at the delimiter, re-querying past each rolled-up prefix so a
/// directory with a million files costs one query, not a million rows.
pub(super) fn list_generic<T>(
    conn: &Connection,
    sql_base: &str,
    account: &str,
    container: &str,
    p: &ListParams,
    map: fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    name_of: fn(&T) -> &String,
) -> IResult<Vec<Entry<T>>> {
    let prefix = p.prefix.clone().unwrap_or_default();
    // lower: exclusive lower bound; upper: exclusive upper bound, whatever the direction.
    let (mut lower, mut upper) = if p.reverse {
        (p.end_marker.clone(), p.marker.clone())
    } else {
        (p.marker.clone(), p.end_marker.clone())
    };
    let orig_marker = p.marker.clone();
    let prefix_upper = if prefix.is_empty() {
        None
    } else {
        successor(&prefix)
    };
    let mut out: Vec<Entry<T>> = Vec::new();
    let order = if p.reverse { "DESC" } else { "ASC" };
    let sql = format!(
        "{sql_base} AND (?3 IS NULL OR name > ?3) AND (?4 IS NULL OR name < ?4)
         AND name >= ?5 AND (?6 IS NULL OR name < ?6) ORDER BY name {order} LIMIT ?7"
    );
    let mut st = conn
        .prepare_cached(&sql)
        .map_err(q("preparing a listing"))?;
    'outer: while out.len() < p.limit {
        let want = (p.limit - out.len()) as i64;
        let rows = st
            .query_map(
                params![account, container, lower, upper, prefix, prefix_upper, want],
                map,
            )
            .map_err(q("listing"))?;
        let mut got = 0;
        for row in rows {
            let item = row.map_err(q("listing"))?;
            got += 1;
            let name = name_of(&item).clone();
            if p.path && name == prefix {
                advance(&mut lower, &mut upper, p.reverse, name);
                continue;
            }
            if let Some(d) = p.delimiter.as_deref().filter(|d| !d.is_empty()) {
                let below = name[prefix.len()..]
                    .find(d)
                    .filter(|pos| !p.path || prefix.len() + pos + d.len() < name.len());
                if let Some(pos) = below {
                    let end = prefix.len() + pos;
                    let dir = name[..end + d.len()].to_string();
                    if p.reverse && p.path {
                        // The marker `dir` itself is an object here: bound just above it
                        // (no name holds a NUL).
                        upper = Some(format!("{dir}\u{0}"));
                    } else if p.reverse {
                        // Exclusive: `d` itself (before `d/`) still comes next.
                        upper = Some(dir.clone());
                    } else {
                        // Past every name starting with `dir`: the delimiter's last
                        // character bumped by one (Swift's container backend).
                        let (head, last) =
                            d.split_at(d.len() - d.chars().last().map_or(0, char::len_utf8));
                        let bumped = last
                            .chars()
                            .next()
                            .and_then(|c| char::from_u32(c as u32 + 1))
                            .map_or_else(|| last.to_string(), String::from);
                        lower = Some(format!("{}{head}{bumped}", &name[..end]));
                    }
                    if !p.path && Some(&dir) != orig_marker.as_ref() {
                        out.push(Entry::Subdir(dir));
                    }
                    continue 'outer;
                }
            }
            advance(&mut lower, &mut upper, p.reverse, name);
            out.push(Entry::Item(item));
        }
        if got < want {
            break;
        }
    }
    Ok(out)
}

/// Moves the listing's open bound past `name`.
fn advance(lower: &mut Option<String>, upper: &mut Option<String>, reverse: bool, name: String) {
    if reverse {
        *upper = Some(name);
    } else {
        *lower = Some(name);
    }
}
