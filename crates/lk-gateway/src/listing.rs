// SPDX-License-Identifier: Apache-2.0
//! Pure listing logic: query parameters -> [`ListParams`] + [`Format`], and entries ->
//! response bodies in Swift's json / xml / plain forms.

use serde_json::json;

use crate::error::{SwiftError, SwiftResult};
use crate::index::{ContainerRecord, Entry, ListParams, ObjectRecord};
use crate::path::query_get;
use crate::time::Timestamp;

/// Listing body format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One name per line.
    Plain,
    /// JSON array.
    Json,
    /// XML document.
    Xml,
}

impl Format {
    /// Content-Type of the body.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Plain => "text/plain; charset=utf-8",
            Format::Json => "application/json; charset=utf-8",
            Format::Xml => "application/xml; charset=utf-8",
        }
    }

    /// `?format=` wins, then the Accept header; plain by default.
    pub fn choose(query: &[(String, String)], accept: Option<&str>) -> SwiftResult<Format> {
        if let Some(f) = query_get(query, "format") {
            return match f.to_ascii_lowercase().as_str() {
                "json" => Ok(Format::Json),
                "xml" => Ok(Format::Xml),
                "plain" | "" => Ok(Format::Plain),
                _ => Err(SwiftError::bad("format must be json, xml or plain")),
            };
        }
        let a = accept.unwrap_or("").to_ascii_lowercase();
        Ok(if a.contains("application/json") {
            Format::Json
        } else if a.contains("application/xml") || a.contains("text/xml") {
            Format::Xml
        } else {
            Format::Plain
        })
    }
}

/// Parses limit/marker/end_marker/prefix/delimiter/reverse as Swift does: a limit above
/// `max` is 412, one that is not all digits is ignored (`5000.0` lists up to `max`), a
/// delimiter may be several characters.
pub fn parse_params(query: &[(String, String)], max: usize) -> SwiftResult<ListParams> {
    let limit = match query_get(query, "limit") {
        None | Some("") => max,
        Some(l) if !l.bytes().all(|b| b.is_ascii_digit()) => max,
        Some(l) => {
            let n = l.parse::<usize>().unwrap_or(usize::MAX);
            if n > max {
                return Err(SwiftError::PreconditionFailed);
            }
            n
        }
    };
    let opt = |k: &str| {
        query_get(query, k)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    // `path=P` (Swift's container server): the names directly below `P/`, whatever
    // `prefix` and `delimiter` say.
    let path = query_get(query, "path").map(|p| match p {
        "" => String::new(),
        p => format!("{}/", p.trim_end_matches('/')),
    });
    let delimiter = if path.is_some() {
        Some("/".to_string())
    } else {
        opt("delimiter")
    };
    let reverse = matches!(
        query_get(query, "reverse")
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("true" | "1" | "yes" | "on" | "t" | "y")
    );
    Ok(ListParams {
        limit,
        marker: opt("marker"),
        end_marker: opt("end_marker"),
        prefix: match &path {
            Some(p) => Some(p.clone()).filter(|p| !p.is_empty()),
            None => opt("prefix"),
        },
        delimiter,
        reverse,
        path: path.is_some(),
    })
}

fn xml_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c => o.push(c),
        }
    }
    o
}

fn iso(ts: &str) -> String {
    Timestamp::parse(ts).unwrap_or(Timestamp(0)).iso()
}

/// A symlink's JSON listing fields, as Swift's symlink middleware adds them: `symlink_path`
/// (`/v1/ACCOUNT/container/object`, the link's own `account` unless it names another) and,
/// for a static link, `symlink_etag` and `symlink_bytes`.
fn add_symlink_fields(o: &mut serde_json::Value, r: &ObjectRecord, account: &str) {
    let Some(target) = r.param("symlink_target") else {
        return;
    };
    // Listed decoded, as Swift's container records give it back (the headers keep it quoted).
    let plain = |v: &str| {
        percent_encoding::percent_decode_str(v)
            .decode_utf8_lossy()
            .into_owned()
    };
    let acct = r
        .param("symlink_target_account")
        .map_or_else(|| account.to_string(), plain);
    o["symlink_path"] = json!(format!("/v1/{acct}/{}", plain(target)));
    if let Some(e) = r.param("symlink_target_etag") {
        o["symlink_etag"] = json!(e);
    }
    if let Some(b) = r
        .param("symlink_target_bytes")
        .and_then(|b| b.parse::<u64>().ok())
    {
        o["symlink_bytes"] = json!(b);
    }
}

/// Renders a container listing. `None` for plain with no entries (Swift answers 204).
pub fn render_objects(
    entries: &[Entry<ObjectRecord>],
    format: Format,
    account: &str,
    container: &str,
) -> Option<Vec<u8>> {
    match format {
        Format::Plain => {
            if entries.is_empty() {
                return None;
            }
            let mut s = String::new();
            for e in entries {
                match e {
                    Entry::Item(r) => s.push_str(&r.name),
                    Entry::Subdir(d) => s.push_str(d),
                }
                s.push('\n');
            }
            Some(s.into_bytes())
        }
        Format::Json => {
            let v: Vec<serde_json::Value> = entries
                .iter()
                .map(|e| match e {
                    Entry::Item(r) => {
                        let mut o = json!({
                            "hash": r.hash(),
                            "last_modified": iso(&r.timestamp),
                            "bytes": r.size,
                            "name": r.name,
                            "content_type": r.content_type,
                        });
                        if let Some(slo) = r.slo_etag() {
                            o["slo_etag"] = json!(format!("\"{slo}\""));
                        }
                        add_symlink_fields(&mut o, r, account);
                        o
                    }
                    Entry::Subdir(d) => json!({ "subdir": d }),
                })
                .collect();
            // Display of a JSON value cannot fail (unlike serialising arbitrary types).
            Some(serde_json::Value::Array(v).to_string().into_bytes())
        }
        Format::Xml => {
            let mut s = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<container name=\"{}\">",
                xml_escape(container)
            );
            for e in entries {
                match e {
                    Entry::Item(r) => s.push_str(&format!(
                        "<object><name>{}</name><hash>{}</hash><bytes>{}</bytes>\
                         <content_type>{}</content_type><last_modified>{}</last_modified>{}</object>",
                        xml_escape(&r.name),
                        r.hash(),
                        r.size,
                        xml_escape(&r.content_type),
                        iso(&r.timestamp),
                        r.slo_etag()
                            .map(|e| format!("<slo_etag>&quot;{e}&quot;</slo_etag>"))
                            .unwrap_or_default()
                    )),
                    Entry::Subdir(d) => {
                        let d = xml_escape(d);
                        s.push_str(&format!("<subdir name=\"{d}\"><name>{d}</name></subdir>"))
                    }
                }
            }
            s.push_str("</container>");
            Some(s.into_bytes())
        }
    }
}

/// Renders an account listing. `None` for plain with no entries.
pub fn render_containers(
    entries: &[Entry<ContainerRecord>],
    format: Format,
    account: &str,
) -> Option<Vec<u8>> {
    match format {
        Format::Plain => {
            if entries.is_empty() {
                return None;
            }
            let mut s = String::new();
            for e in entries {
                match e {
                    Entry::Item(r) => s.push_str(&r.name),
                    Entry::Subdir(d) => s.push_str(d),
                }
                s.push('\n');
            }
            Some(s.into_bytes())
        }
        Format::Json => {
            let v: Vec<serde_json::Value> = entries
                .iter()
                .map(|e| match e {
                    Entry::Item(r) => json!({
                        "name": r.name,
                        "count": r.object_count,
                        "bytes": r.bytes_used,
                        "last_modified": iso(&r.put_timestamp),
                    }),
                    Entry::Subdir(d) => json!({ "subdir": d }),
                })
                .collect();
            // Display of a JSON value cannot fail (unlike serialising arbitrary types).
            Some(serde_json::Value::Array(v).to_string().into_bytes())
        }
        Format::Xml => {
            let mut s = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<account name=\"{}\">",
                xml_escape(account)
            );
            for e in entries {
                match e {
                    Entry::Item(r) => s.push_str(&format!(
                        "<container><name>{}</name><count>{}</count><bytes>{}</bytes>\
                         <last_modified>{}</last_modified></container>",
                        xml_escape(&r.name),
                        r.object_count,
                        r.bytes_used,
                        iso(&r.put_timestamp)
                    )),
                    Entry::Subdir(d) => {
                        let d = xml_escape(d);
                        s.push_str(&format!("<subdir name=\"{d}\"><name>{d}</name></subdir>"))
                    }
                }
            }
            s.push_str("</account>");
            Some(s.into_bytes())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Vec<(String, String)> {
        crate::path::parse_query(Some(s)).expect("query")
    }

    #[test]
    fn params() {
        let p = parse_params(&q("limit=2&marker=a&delimiter=/&reverse=true"), 10_000).expect("ok");
        assert_eq!(p.limit, 2);
        assert_eq!(p.marker.as_deref(), Some("a"));
        assert_eq!(p.delimiter.as_deref(), Some("/"));
        assert!(p.reverse);
        assert_eq!(parse_params(&q(""), 100).expect("ok").limit, 100);
        assert!(matches!(
            parse_params(&q("limit=101"), 100),
            Err(SwiftError::PreconditionFailed)
        ));
        assert_eq!(parse_params(&q("limit=50.0"), 100).expect("ok").limit, 100);
        assert!(matches!(
            parse_params(&q("limit=99999999999999999999999"), 100),
            Err(SwiftError::PreconditionFailed)
        ));
        let p = parse_params(&q("delimiter=-%26"), 100).expect("ok");
        assert_eq!(p.delimiter.as_deref(), Some("-&"));
    }

    #[test]
    fn formats() {
        assert_eq!(
            Format::choose(&q("format=json"), None).expect("ok"),
            Format::Json
        );
        assert_eq!(
            Format::choose(&q(""), Some("application/xml")).expect("ok"),
            Format::Xml
        );
        assert_eq!(
            Format::choose(&q(""), Some("*/*")).expect("ok"),
            Format::Plain
        );
        assert!(Format::choose(&q("format=yaml"), None).is_err());
    }

    #[test]
    fn renders() {
        let r = ObjectRecord {
            name: "a<b".into(),
            size: 3,
            etag: "e".into(),
            content_type: "text/plain".into(),
            timestamp: "1700000000.12345".into(),
            mtime_ns: 0,
        };
        let e = vec![Entry::Item(r), Entry::Subdir("d/".into())];
        let j = render_objects(&e, Format::Json, "AUTH_a", "c").expect("body");
        let v: serde_json::Value = serde_json::from_slice(&j).expect("json");
        assert_eq!(v[0]["last_modified"], "2023-11-14T22:13:20.123450");
        assert_eq!(v[0]["bytes"], 3);
        assert_eq!(v[1]["subdir"], "d/");
        let x = String::from_utf8(render_objects(&e, Format::Xml, "AUTH_a", "c").expect("body"))
            .expect("utf8");
        assert!(x.contains("<name>a&lt;b</name>"));
        assert!(x.contains("<subdir name=\"d/\"><name>d/</name></subdir>"));
        assert_eq!(
            render_objects(&e, Format::Plain, "AUTH_a", "c").expect("body"),
            b"a<b\nd/\n"
        );
        assert!(render_objects(&[], Format::Plain, "AUTH_a", "c").is_none());
        assert_eq!(
            render_objects(&[], Format::Json, "AUTH_a", "c").expect("body"),
            b"[]"
        );
    }

    #[test]
    fn symlink_fields_in_json_only() {
        let rec = |etag: &str| {
            Entry::Item(ObjectRecord {
                name: "l".into(),
                size: 0,
                etag: etag.into(),
                content_type: "application/symlink".into(),
                timestamp: "1700000000.12345".into(),
                mtime_ns: 0,
            })
        };
        let e = vec![
            rec("d41d8cd98f00b204e9800998ecf8427e; symlink_target=c/o%20x"),
            rec(
                "d41d8cd98f00b204e9800998ecf8427e; slo_etag=s1; symlink_target=c/m; \
                 symlink_target_account=AUTH_b; symlink_target_etag=e1; symlink_target_bytes=7",
            ),
        ];
        let j = render_objects(&e, Format::Json, "AUTH_a", "c").expect("body");
        let v: serde_json::Value = serde_json::from_slice(&j).expect("json");
        assert_eq!(v[0]["hash"], "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(v[0]["symlink_path"], "/v1/AUTH_a/c/o x");
        assert!(v[0].get("symlink_etag").is_none());
        assert_eq!(v[1]["symlink_path"], "/v1/AUTH_b/c/m");
        assert_eq!(v[1]["symlink_etag"], "e1");
        assert_eq!(v[1]["symlink_bytes"], 7);
        assert_eq!(v[1]["slo_etag"], "\"s1\"");
        let x = render_objects(&e, Format::Xml, "AUTH_a", "c").expect("body");
        assert!(!String::from_utf8(x).expect("utf8").contains("symlink_"));
    }
}
