// SPDX-License-Identifier: Apache-2.0
use super::*;

fn obj(name: &str) -> ObjectRecord {
    ObjectRecord {
        name: name.into(),
        size: 1,
        etag: "e".into(),
        content_type: "t".into(),
        timestamp: "1.00000".into(),
        mtime_ns: 0,
    }
}

fn kept(name: &str, id: &str, marker: bool) -> VersionRecord {
    VersionRecord {
        name: name.into(),
        version_id: id.into(),
        size: 1,
        etag: "e".into(),
        content_type: "t".into(),
        timestamp: "1.00000".into(),
        marker,
    }
}

fn q(marker: Option<&str>, version_marker: Option<&str>, reverse: bool) -> VersionsQuery {
    VersionsQuery {
        params: ListParams {
            limit: 100,
            marker: marker.map(Into::into),
            reverse,
            ..ListParams::default()
        },
        version_marker: version_marker.map(Into::into),
    }
}

fn ids(lines: &[Line]) -> Vec<(String, String, bool)> {
    lines
        .iter()
        .map(|l| match l {
            Line::Version(i) => (
                i.name.clone(),
                i.version_id.clone().unwrap_or_else(|| "null".into()),
                i.is_latest,
            ),
            Line::Subdir(s) => (s.clone(), String::new(), false),
        })
        .collect()
}

fn t(n: &str, id: &str, latest: bool) -> (String, String, bool) {
    (n.into(), id.into(), latest)
}

#[test]
fn null_first_then_newest_and_markers_latest_only_without_current() {
    let objects = [obj("a"), obj("b")];
    let current = HashMap::from([("b".to_string(), "1".to_string())]);
    let kept = [
        kept("a", "2", false),
        kept("b", "2", false),
        kept("c", "1", true),
        kept("c", "3", true),
    ];
    let lines = merge(&q(None, None, false), &objects, &current, &kept);
    assert_eq!(
        ids(&lines),
        [
            t("a", "null", true),
            t("a", "2", false),
            t("b", "1", true),
            t("b", "2", false),
            t("c", "1", true),
            t("c", "3", false)
        ]
    );
    // reverse: names descend, within a name versions oldest first (Swift's stable sort).
    let lines = merge(&q(None, None, true), &objects, &current, &kept);
    assert_eq!(
        ids(&lines),
        [
            t("c", "3", false),
            t("c", "1", true),
            t("b", "2", false),
            t("b", "1", true),
            t("a", "null", true),
            t("a", "2", false)
        ]
    );
}

#[test]
fn markers_position_pages() {
    let kept = [
        kept("a", "1", false),
        kept("a", "2", false),
        kept("b", "1", false),
    ];
    let lines = merge(&q(Some("a"), None, false), &[], &HashMap::new(), &kept);
    assert_eq!(ids(&lines), [t("b", "1", false)]);
    let lines = merge(&q(Some("a"), Some("1"), false), &[], &HashMap::new(), &kept);
    assert_eq!(ids(&lines), [t("a", "2", false), t("b", "1", false)]);
    let lines = merge(&q(Some("b"), Some("1"), true), &[], &HashMap::new(), &kept);
    assert_eq!(ids(&lines), [t("a", "2", false), t("a", "1", false)]);
}

#[test]
fn delimiter_rolls_up() {
    let mut query = q(None, None, false);
    query.params.delimiter = Some("/".into());
    let kept = [
        kept("d/x", "1", false),
        kept("d/y", "1", false),
        kept("e", "1", false),
    ];
    let lines = merge(&query, &[], &HashMap::new(), &kept);
    assert_eq!(ids(&lines), [t("d/", "", false), t("e", "1", false)]);
}

#[test]
fn quotes_paths_as_python() {
    assert_eq!(
        quote_path("test", "c", "a b/%ff"),
        "/v1/AUTH_test/c/a%20b/%25ff"
    );
}
