use super::*;

fn fid(oid: u32) -> Fid {
    Fid {
        seq: 0x200000402,
        oid,
        ver: 0,
    }
}

#[test]
fn parses_records_from_the_manual() {
    let r = Record::parse("3 06UNLNK 15:15:41.305116815 2018.01.09 0x1 t=[0x200000402:0x2:0x0] j=rm.500 ef=0xf u=500:500 nid=10.128.11.159@tcp p=[0x200000402:0x1:0x0] chloe.jpg").unwrap();
    assert_eq!(r.index, 3);
    assert_eq!(r.kind, RecordType::Unlink);
    assert_eq!(r.flags, CLF_UNLINK_LAST);
    assert_eq!(r.target, fid(2));
    assert_eq!(r.parent, Some(fid(1)));
    assert_eq!(r.name.as_deref(), Some("chloe.jpg"));
    assert_eq!(r.extra["nid"], "10.128.11.159@tcp");
    assert_eq!(r.extra["j"], "rm.500");
}

#[test]
fn parses_renames_with_spaces_in_names_and_no_optional_fields() {
    let r = Record::parse("8 08RENME 20:49:36.829539913 2018.03.02 0x0 t=[0:0x0:0x0] p=[0x200000402:0x1:0x0] new name.txt s=[0x200000402:0x3:0x0] sp=[0x200000402:0x9:0x0] old name.txt").unwrap();
    assert_eq!(r.kind, RecordType::Rename);
    assert!(r.target.is_zero());
    assert_eq!(r.name.as_deref(), Some("new name.txt"));
    assert_eq!(r.source, Some(fid(3)));
    assert_eq!(r.source_parent, Some(fid(9)));
    assert_eq!(r.source_name.as_deref(), Some("old name.txt"));
    assert!(r.extra.is_empty());
}

#[test]
fn field_order_does_not_matter() {
    let a = Record::parse(
        "5 11CLOSE 10:00:00.0 2024.01.01 0x42 t=[0x200000402:0x7:0x0] ef=0xf u=0:0 nid=0@lo",
    )
    .unwrap();
    let b = Record::parse(
        "5 11CLOSE 10:00:00.0 2024.01.01 0x42 nid=0@lo u=0:0 ef=0xf t=[0x200000402:0x7:0x0]",
    )
    .unwrap();
    assert_eq!(a, b);
}

#[test]
fn malformed_lines_are_errors_not_panics() {
    for bad in [
        "",
        "x",
        "1",
        "1 01CREAT",
        "1 99NOPE 10:00 2024.01.01 0x0 t=[0x1:0x2:0x0]",
        "1 02CREAT 10:00 2024.01.01 0x0 t=[0x1:0x2:0x0] p=[0x1:0x1:0x0] a",
        "1 01CREAT 10:00 2024.01.01 zz t=[0x1:0x2:0x0] p=[0x1:0x1:0x0] a",
        "1 01CREAT 10:00 2024.01.01 0x0 p=[0x1:0x1:0x0] a",
        "1 01CREAT 10:00 2024.01.01 0x0 t=[0x1:0x2] p=[0x1:0x1:0x0] a",
        "1 01CREAT 10:00 2024.01.01 0x0 t=[0x1:0x2:0x0]",
        "1 08RENME 10:00 2024.01.01 0x0 t=[0x0:0x0:0x0] p=[0x1:0x1:0x0] b",
        "1 01CREAT 10:00 2024.01.01 0x0 t=[0x1:0xffffffffff:0x0] p=[0x1:0x1:0x0] a",
        "1 01CREAT 10:00 2024.01.01 0x0 garbage t=[0x1:0x2:0x0] p=[0x1:0x1:0x0] a",
    ] {
        assert!(Record::parse(bad).is_err(), "{bad:?} was accepted");
    }
}

fn rec(index: u64, kind: &str, t: u32, rest: &str) -> Record {
    Record::parse(&format!(
        "{index} {kind} 10:00:00.0 2024.01.01 0x0 t=[0x200000402:{t:#x}:0x0] {rest}"
    ))
    .unwrap()
}

#[test]
fn create_then_unlink_cancels() {
    let p = "p=[0x200000402:0x1:0x0] tmp";
    let b = coalesce(&[
        rec(1, "01CREAT", 5, p),
        rec(2, "11CLOSE", 5, ""),
        rec(3, "06UNLNK", 5, p),
    ]);
    assert!(b.changes.is_empty(), "{:?}", b.changes);
    assert_eq!(b.last_index, Some(3));
}

#[test]
fn repeated_modifications_merge() {
    let b = coalesce(&[
        rec(1, "11CLOSE", 5, ""),
        rec(2, "17MTIME", 5, ""),
        rec(3, "13TRUNC", 5, ""),
        rec(4, "11CLOSE", 6, ""),
    ]);
    assert_eq!(
        b.changes,
        vec![
            Change::Modified { fid: fid(5) },
            Change::Modified { fid: fid(6) }
        ]
    );
}

#[test]
fn content_records_merge_into_one_modification() {
    for kind in [
        "13TRUNC", "14SATTR", "15XATTR", "17MTIME", "21FLRW", "22RESYNC", "12LYOUT",
    ] {
        let b = coalesce(&[rec(1, kind, 5, ""), rec(2, "11CLOSE", 5, "")]);
        assert_eq!(b.changes, vec![Change::Modified { fid: fid(5) }], "{kind}");
    }
    let b = coalesce(&[rec(1, "10OPEN", 5, ""), rec(2, "19ATIME", 5, "")]);
    assert!(b.changes.is_empty());
}

#[test]
fn command_lines_and_fid2path_output() {
    assert_eq!(
        changelog_args("fs-MDT0000", true, Some(7)),
        ["changelog", "--follow", "fs-MDT0000", "7"]
    );
    assert_eq!(
        changelog_args("fs-MDT0001", false, None),
        ["changelog", "fs-MDT0001"]
    );
    assert_eq!(changelog_clear_args("fs-MDT0000", "cl1", 0), None);
    assert_eq!(
        changelog_clear_args("fs-MDT0000", "cl1", 42).unwrap(),
        ["changelog_clear", "fs-MDT0000", "cl1", "42"]
    );
    assert_eq!(
        fid2path_args("/mnt/fs", &[fid(1), fid(2)]),
        [
            "fid2path",
            "--print-fid",
            "/mnt/fs",
            "[0x200000402:0x1:0x0]",
            "[0x200000402:0x2:0x0]"
        ]
    );
    let (ok, bad) = parse_fid2path(
        "[0x200000402:0x1:0x0] /mnt/fs/a b\n[0x200000402:0x1:0x0] /mnt/fs/c\n[bad] x\n",
        None,
    );
    assert_eq!(
        ok,
        vec![
            (fid(1), "/mnt/fs/a b".to_string()),
            (fid(1), "/mnt/fs/c".to_string())
        ]
    );
    assert_eq!(bad, ["[bad] x"]);
    let (ok, _) = parse_fid2path("/mnt/fs/plain\n", Some(fid(3)));
    assert_eq!(ok, vec![(fid(3), "/mnt/fs/plain".to_string())]);
    assert_eq!(leading_index("17 garbage"), Some(17));
    assert_eq!(leading_index("garbage"), None);
}

#[test]
fn rename_over_an_existing_file_keeps_order() {
    let b = coalesce(&[
        rec(1, "01CREAT", 5, "p=[0x200000402:0x1:0x0] a"),
        rec(
            2,
            "08RENME",
            6,
            "p=[0x200000402:0x1:0x0] b s=[0x200000402:0x5:0x0] sp=[0x200000402:0x1:0x0] a",
        ),
    ]);
    assert_eq!(b.changes.len(), 2);
    assert!(
        matches!(&b.changes[1], Change::Renamed { overwritten: Some(f), name, .. } if *f == fid(6) && name == "b")
    );
}

/// Every line that Lustre 2.17.0 printed for the common POSIX operations parses, with the
/// fields the sync relies on.
#[test]
fn parses_real_2_17_0_output() {
    let text = include_str!("fixtures/2.17.0/mdt0001-posix-ops.txt");
    let records: Vec<Record> = text
        .lines()
        .map(|l| Record::parse(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    assert_eq!(records.len(), 23);
    assert!(records.windows(2).all(|w| w[0].index + 1 == w[1].index));
    let over = records
        .iter()
        .find(|r| r.index == 2025)
        .expect("the rename over an existing file");
    assert_eq!(over.kind, RecordType::Rename);
    assert_eq!(over.name.as_deref(), Some("with space"));
    assert_eq!(over.source_name.as_deref(), Some("over"));
    assert!(!over.target.is_zero(), "the overwritten file is t=");
    let across = records.iter().find(|r| r.index == 2032).expect("rename");
    assert_ne!(across.parent, across.source_parent);
    let sattr = records.iter().find(|r| r.index == 2028).expect("SATTR");
    assert_eq!((sattr.parent, sattr.name.as_deref()), (None, None));
}
