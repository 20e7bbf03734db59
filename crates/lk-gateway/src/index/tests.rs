// SPDX-License-Identifier: Apache-2.0
//! Unit tests of the listing index.

use super::*;

fn rec(name: &str, size: u64) -> ObjectRecord {
    ObjectRecord {
        name: name.into(),
        size,
        etag: "d41d8cd98f00b204e9800998ecf8427e".into(),
        content_type: "application/octet-stream".into(),
        timestamp: "1.00000".into(),
        mtime_ns: 1,
    }
}

fn names(v: &[Entry<ObjectRecord>]) -> Vec<String> {
    v.iter()
        .map(|e| match e {
            Entry::Item(r) => r.name.clone(),
            Entry::Subdir(s) => format!("{s}*"),
        })
        .collect()
}

fn fixture() -> (tempfile::TempDir, Index) {
    let dir = tempfile::tempdir().expect("tempdir");
    let idx = Index::open(&dir.path().join("i.db")).expect("open");
    for n in ["a", "b/1", "b/2", "b/3/x", "c", "d/1", "e"] {
        idx.upsert_object("acc", "con", &rec(n, 10))
            .expect("upsert");
    }
    (dir, idx)
}

fn lp(limit: usize) -> ListParams {
    ListParams {
        limit,
        ..Default::default()
    }
}

#[test]
fn counts_follow_changes() {
    let (_d, idx) = fixture();
    let c = idx.container("acc", "con").expect("q").expect("exists");
    assert_eq!((c.object_count, c.bytes_used), (7, 70));
    idx.upsert_object("acc", "con", &rec("a", 15))
        .expect("replace");
    assert!(idx.remove_object("acc", "con", "c").expect("rm"));
    assert!(!idx.remove_object("acc", "con", "c").expect("rm twice"));
    let c = idx.container("acc", "con").expect("q").expect("exists");
    assert_eq!((c.object_count, c.bytes_used), (6, 65));
    let a = idx.account_stats("acc").expect("stats");
    assert_eq!(
        (a.container_count, a.object_count, a.bytes_used),
        (1, 6, 65)
    );
}

#[test]
fn lists_with_marker_prefix_delimiter() {
    let (_d, idx) = fixture();
    assert_eq!(
        names(&idx.list_objects("acc", "con", &lp(100)).expect("l")).len(),
        7
    );
    let p = ListParams {
        marker: Some("b/2".into()),
        limit: 2,
        ..Default::default()
    };
    assert_eq!(
        names(&idx.list_objects("acc", "con", &p).expect("l")),
        ["b/3/x", "c"]
    );
    let p = ListParams {
        delimiter: Some("/".into()),
        limit: 100,
        ..Default::default()
    };
    assert_eq!(
        names(&idx.list_objects("acc", "con", &p).expect("l")),
        ["a", "b/*", "c", "d/*", "e"]
    );
    let p = ListParams {
        delimiter: Some("/".into()),
        prefix: Some("b/".into()),
        limit: 100,
        ..Default::default()
    };
    assert_eq!(
        names(&idx.list_objects("acc", "con", &p).expect("l")),
        ["b/1", "b/2", "b/3/*"]
    );
    let p = ListParams {
        delimiter: Some("/".into()),
        marker: Some("b/".into()),
        limit: 2,
        ..Default::default()
    };
    assert_eq!(
        names(&idx.list_objects("acc", "con", &p).expect("l")),
        ["c", "d/*"]
    );
    let p = ListParams {
        end_marker: Some("c".into()),
        prefix: Some("b".into()),
        limit: 100,
        ..Default::default()
    };
    assert_eq!(
        names(&idx.list_objects("acc", "con", &p).expect("l")),
        ["b/1", "b/2", "b/3/x"]
    );
}

#[test]
fn lists_in_reverse() {
    let (_d, idx) = fixture();
    let p = ListParams {
        reverse: true,
        limit: 3,
        ..Default::default()
    };
    assert_eq!(
        names(&idx.list_objects("acc", "con", &p).expect("l")),
        ["e", "d/1", "c"]
    );
    let p = ListParams {
        reverse: true,
        delimiter: Some("/".into()),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(
        names(&idx.list_objects("acc", "con", &p).expect("l")),
        ["e", "d/*", "c", "b/*", "a"]
    );
    let p = ListParams {
        reverse: true,
        marker: Some("c".into()),
        end_marker: Some("a".into()),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(
        names(&idx.list_objects("acc", "con", &p).expect("l")),
        ["b/3/x", "b/2", "b/1"]
    );
}

#[test]
fn renames_prefix_and_keeps_cursor() {
    let (_d, idx) = fixture();
    idx.batch(|b| {
        let n = b.rename_prefix("acc", "con", "b/", "z/")?;
        assert_eq!(n, 3);
        b.set_cursor("changelog", "42")
    })
    .expect("batch");
    let p = ListParams {
        prefix: Some("z/".into()),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(
        names(&idx.list_objects("acc", "con", &p).expect("l")),
        ["z/1", "z/2", "z/3/x"]
    );
    assert_eq!(idx.cursor("changelog").expect("c").as_deref(), Some("42"));
    let c = idx.container("acc", "con").expect("q").expect("exists");
    assert_eq!(c.object_count, 7);
}

#[test]
fn prefix_states_and_removal_keep_totals() {
    let (_d, idx) = fixture();
    let under = idx.object_states_under("acc", "con", "b/").expect("states");
    let mut names: Vec<_> = under.keys().cloned().collect();
    names.sort();
    assert_eq!(names, ["b/1", "b/2", "b/3/x"]);
    assert!(under["b/1"].etag_known);
    assert_eq!(
        idx.object_states_under("acc", "con", "")
            .expect("all")
            .len(),
        7
    );
    let n = idx
        .batch(|b| b.remove_prefix("acc", "con", "b/"))
        .expect("remove");
    assert_eq!(n, 3);
    assert_eq!(
        idx.batch(|b| b.remove_prefix("acc", "con", "zz/"))
            .expect("none"),
        0
    );
    let c = idx.container("acc", "con").expect("q").expect("exists");
    assert_eq!((c.object_count, c.bytes_used), (4, 40));
}

#[test]
fn successor_is_an_upper_bound() {
    assert_eq!(successor("ab").as_deref(), Some("ac"));
    assert_eq!(successor("a\u{10FFFF}").as_deref(), Some("b"));
    assert_eq!(successor(""), None);
}

/// Issue 14: a name equal to a rolled-up prefix's stem (`test` next to `test-bar`) is still
/// listed in reverse, and delimiters may be several characters (Swift's backend).
#[test]
fn delimiter_rollups_reverse_and_multi_character() {
    let dir = tempfile::tempdir().expect("tempdir");
    let idx = Index::open(&dir.path().join("i.db")).expect("open");
    for n in ["test", "test-&bar", "test-&foo", "test-'baz", "tesu"] {
        idx.upsert_object("acc", "con", &rec(n, 1)).expect("upsert");
    }
    let p = |d: &str, reverse: bool| ListParams {
        limit: 100,
        delimiter: Some(d.into()),
        reverse,
        ..Default::default()
    };
    let list =
        |d: &str, reverse: bool| names(&idx.list_objects("acc", "con", &p(d, reverse)).expect("l"));
    assert_eq!(list("-", false), ["test", "test-*", "tesu"]);
    assert_eq!(list("-", true), ["tesu", "test-*", "test"]);
    assert_eq!(list("-&", false), ["test", "test-&*", "test-'baz", "tesu"]);
    assert_eq!(list("-&", true), ["tesu", "test-'baz", "test-&*", "test"]);
}

/// Whether the view of `acc/con/dlo` is dirty (`None`: no view).
fn dirty(idx: &Index) -> Option<bool> {
    idx.dlo_views()
        .expect("views")
        .into_iter()
        .find(|(v, _)| v.name == "dlo")
        .map(|(_, d)| d)
}

#[test]
fn a_dlo_view_is_marked_by_every_change_under_its_prefix_and_only_those() {
    let (_d, idx) = fixture();
    idx.upsert_object("acc", "con", &rec("dlo", 0))
        .expect("manifest");
    idx.batch(|b| b.set_dlo_view("acc", "con", "dlo", Some(("con", "b/"))))
        .expect("view");
    assert_eq!(dirty(&idx), Some(true), "a new view is dirty");
    assert_eq!(idx.take_dirty_dlo_views(10).expect("take").len(), 1);
    assert_eq!(dirty(&idx), Some(false));
    // Recording the same view again keeps it clean.
    idx.batch(|b| b.set_dlo_view("acc", "con", "dlo", Some(("con", "b/"))))
        .expect("view");
    assert_eq!(dirty(&idx), Some(false));

    // Outside the prefix, another container, the manifest's own row: no mark.
    idx.upsert_object("acc", "con", &rec("c", 11)).expect("c");
    idx.upsert_object("acc", "other", &rec("b/9", 1))
        .expect("other");
    idx.upsert_object("acc", "con", &rec("dlo", 20))
        .expect("own");
    assert_eq!(dirty(&idx), Some(false));

    type Change = Box<dyn Fn(&Index)>;
    let changes: [(&str, Change); 4] = [
        (
            "added",
            Box::new(|i| i.upsert_object("acc", "con", &rec("b/4", 1)).expect("add")),
        ),
        (
            "changed",
            Box::new(|i| i.upsert_object("acc", "con", &rec("b/1", 5)).expect("chg")),
        ),
        (
            "removed",
            Box::new(|i| assert!(i.remove_object("acc", "con", "b/2").expect("rm"))),
        ),
        (
            "renamed",
            Box::new(|i| {
                i.rename_prefix("acc", "con", "b/3/", "z/").expect("mv");
            }),
        ),
    ];
    for (what, change) in changes {
        change(&idx);
        assert_eq!(dirty(&idx), Some(true), "a segment {what}");
        idx.take_dirty_dlo_views(10).expect("take");
    }
    // A changed manifest value makes the view dirty; the manifest leaving the index drops it.
    idx.batch(|b| b.set_dlo_view("acc", "con", "dlo", Some(("con", "e"))))
        .expect("view");
    assert_eq!(dirty(&idx), Some(true));
    assert!(idx.remove_object("acc", "con", "dlo").expect("rm"));
    assert_eq!(dirty(&idx), None);
}

#[test]
fn path_lists_only_what_is_directly_below() {
    let (_d, idx) = fixture();
    for n in ["b/", "b/3/", "b/4/", "b/4/y"] {
        idx.upsert_object("acc", "con", &rec(n, 1)).expect("upsert");
    }
    let path = |p: &str, limit: usize, reverse: bool| {
        let q = [("path".to_string(), p.to_string())];
        let mut lp = crate::listing::parse_params(&q, 10_000).expect("params");
        lp.limit = limit;
        lp.reverse = reverse;
        names(&idx.list_objects("acc", "con", &lp).expect("l"))
    };
    // No subdirs, not `b/` itself; the markers `b/3/` and `b/4/` are objects directly below.
    assert_eq!(path("b", 100, false), ["b/1", "b/2", "b/3/", "b/4/"]);
    assert_eq!(path("b/", 100, false), path("b", 100, false));
    // Subdirs do not count against the limit.
    assert_eq!(path("b", 3, false), ["b/1", "b/2", "b/3/"]);
    assert_eq!(path("b", 100, true), ["b/4/", "b/3/", "b/2", "b/1"]);
    assert_eq!(path("", 100, false), ["a", "b/", "c", "e"]);
    // `/` is the names below an empty first component, as in Swift.
    idx.upsert_object("acc", "con", &rec("/top", 1))
        .expect("upsert");
    assert_eq!(path("/", 100, false), ["/top"]);
}

/// A batch that reads, then writes, while another process's connection writes in between:
/// the batch holds the write lock from its start, so the other writer waits for it instead
/// of the batch failing with "database is locked" (what a deferred transaction did, seen
/// between the sync daemon and the gateway's DLO refresher).
#[test]
fn a_batch_that_reads_then_writes_is_not_failed_by_another_writer() {
    let (dir, idx) = fixture();
    let other = Index::open(&dir.path().join("i.db")).expect("second connection");
    let out = idx.batch(|b| {
        let n: i64 =
            b.tx.query_row("SELECT COUNT(*) FROM objects", [], |r| r.get(0))
                .map_err(q("counting"))?;
        let writer = std::thread::spawn(move || other.upsert_object("acc", "con", &rec("z", 1)));
        // Gives the other writer its chance to get in first (it cannot: it waits).
        std::thread::sleep(std::time::Duration::from_millis(300));
        b.upsert_object("acc", "con", &rec("y", 1))?;
        Ok((n, writer))
    });
    let (n, writer) = out.expect("the batch commits");
    assert_eq!(n, 7);
    writer
        .join()
        .expect("thread")
        .expect("the other writer went after it");
    let all = idx.list_objects("acc", "con", &lp(100)).expect("list");
    assert_eq!(names(&all).len(), 9, "{:?}", names(&all));
}
