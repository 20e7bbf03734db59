//! MDT changelog records as `lfs changelog` prints them, and coalescing of a batch.
//!
//! A record line reads `INDEX TYPE TIME DATE FLAGS key=value... [p=PARENT NAME [s=SRC sp=SRCPARENT
//! SRCNAME]]`, e.g.
//! `3 06UNLNK 15:15:41.305116815 2018.01.09 0x1 t=[0x200000402:0x2:0x0] ef=0xf u=500:500
//! nid=10.128.11.159@tcp p=[0x200000402:0x1:0x0] chloe.jpg`.
//! Fields are found by key, never by column, because optional fields (`j=`, `ef=`, `u=`,
//! `nid=`, `m=`, `x=`) come and go with the changelog mask and Lustre version. Parsing is
//! strict: a line that does not fit is an error naming why, never a panic.

use std::collections::BTreeMap;
use std::fmt;

/// A Lustre file identifier, `[0xSEQ:0xOID:0xVER]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fid {
    pub seq: u64,
    pub oid: u32,
    pub ver: u32,
}

impl Fid {
    /// `[0x0:0x0:0x0]`: no object (e.g. the target of a rename that overwrote nothing).
    pub const ZERO: Fid = Fid {
        seq: 0,
        oid: 0,
        ver: 0,
    };

    pub fn parse(text: &str) -> Result<Fid, String> {
        let inner = text
            .strip_prefix('[')
            .and_then(|t| t.strip_suffix(']'))
            .ok_or_else(|| format!("`{text}` is not a FID: expected [0xSEQ:0xOID:0xVER]"))?;
        let mut parts = inner.split(':');
        let mut next = |what: &str| -> Result<u64, String> {
            let p = parts
                .next()
                .ok_or_else(|| format!("FID `{text}` lacks its {what}"))?;
            // printf's %#llx prints zero as a bare `0`: `[0:0x0:0x0]` is a valid FID.
            let hex = match p {
                "0" => "0",
                _ => p
                    .strip_prefix("0x")
                    .ok_or_else(|| format!("FID `{text}`: {what} `{p}` is not 0x-hex"))?,
            };
            u64::from_str_radix(hex, 16)
                .map_err(|_| format!("FID `{text}`: {what} `{p}` is not 0x-hex"))
        };
        let seq = next("sequence")?;
        let oid = u32::try_from(next("object id")?)
            .map_err(|_| format!("FID `{text}`: object id too large"))?;
        let ver = u32::try_from(next("version")?)
            .map_err(|_| format!("FID `{text}`: version too large"))?;
        if parts.next().is_some() {
            return Err(format!("FID `{text}` has more than three parts"));
        }
        Ok(Fid { seq, oid, ver })
    }

    pub fn is_zero(&self) -> bool {
        *self == Fid::ZERO
    }
}

impl fmt::Display for Fid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{:#x}:{:#x}:{:#x}]", self.seq, self.oid, self.ver)
    }
}

/// Changelog record types, numbered as Lustre numbers them (`01CREAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RecordType {
    Mark,
    Create,
    Mkdir,
    Hardlink,
    Softlink,
    Mknod,
    Unlink,
    Rmdir,
    Rename,
    RenameTo,
    Open,
    Close,
    Layout,
    Truncate,
    Setattr,
    Xattr,
    Hsm,
    Mtime,
    Ctime,
    Atime,
    Migrate,
    FlrWrite,
    Resync,
    GetXattr,
    DenyOpen,
}

impl RecordType {
    const ALL: [(u8, &'static str, RecordType); 25] = [
        (0, "MARK", RecordType::Mark),
        (1, "CREAT", RecordType::Create),
        (2, "MKDIR", RecordType::Mkdir),
        (3, "HLINK", RecordType::Hardlink),
        (4, "SLINK", RecordType::Softlink),
        (5, "MKNOD", RecordType::Mknod),
        (6, "UNLNK", RecordType::Unlink),
        (7, "RMDIR", RecordType::Rmdir),
        (8, "RENME", RecordType::Rename),
        (9, "RNMTO", RecordType::RenameTo),
        (10, "OPEN", RecordType::Open),
        (11, "CLOSE", RecordType::Close),
        (12, "LYOUT", RecordType::Layout),
        (13, "TRUNC", RecordType::Truncate),
        (14, "SATTR", RecordType::Setattr),
        (15, "XATTR", RecordType::Xattr),
        (16, "HSM", RecordType::Hsm),
        (17, "MTIME", RecordType::Mtime),
        (18, "CTIME", RecordType::Ctime),
        (19, "ATIME", RecordType::Atime),
        (20, "MIGRT", RecordType::Migrate),
        (21, "FLRW", RecordType::FlrWrite),
        (22, "RESYNC", RecordType::Resync),
        (23, "GXATR", RecordType::GetXattr),
        (24, "NOPEN", RecordType::DenyOpen),
    ];

    /// Parses `01CREAT`: the number and the name must agree.
    pub fn parse(text: &str) -> Result<RecordType, String> {
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (num, name) = text.split_at(split);
        let num: u8 = num
            .parse()
            .map_err(|_| format!("record type `{text}` lacks its number"))?;
        Self::ALL
            .iter()
            .find(|(n, s, _)| *n == num && *s == name)
            .map(|(_, _, t)| *t)
            .ok_or_else(|| format!("unknown record type `{text}`"))
    }

    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, _, t)| *t == self)
            .map(|(_, s, _)| *s)
            .unwrap_or("?")
    }
}

/// One changelog record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub index: u64,
    pub kind: RecordType,
    /// `HH:MM:SS.nnnnnnnnn YYYY.MM.DD` as printed.
    pub time: String,
    pub flags: u32,
    /// `t=`: the object the record is about (for a rename: the overwritten target, or zero).
    pub target: Fid,
    /// `p=` and the name after it: the (new) parent and entry name.
    pub parent: Option<Fid>,
    pub name: Option<String>,
    /// `s=`, `sp=` and the name after them (renames): the moved object and where it was.
    pub source: Option<Fid>,
    pub source_parent: Option<Fid>,
    pub source_name: Option<String>,
    /// Other `key=value` fields (`j=`, `ef=`, `u=`, `nid=`, `m=`, `x=`, ...), as printed.
    pub extra: BTreeMap<String, String>,
}

/// UNLNK/RMDIR flag: the last link of the object went away.
pub const CLF_UNLINK_LAST: u32 = 0x1;
/// RENME flag: the rename overwrote an existing target, whose last link went away.
pub const CLF_RENAME_LAST: u32 = 0x1;

impl Record {
    /// Parses one line of `lfs changelog` output.
    pub fn parse(line: &str) -> Result<Record, String> {
        let line = line.trim_end_matches(['\n', '\r']);
        let mut head = line.splitn(6, ' ');
        let mut field = |what: &str| {
            head.next()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| format!("missing {what}"))
        };
        let index: u64 = field("record index")?
            .parse()
            .map_err(|_| "record index is not a number".to_string())?;
        let kind = RecordType::parse(field("record type")?)?;
        let time = format!("{} {}", field("time")?, field("date")?);
        let flags_text = field("flags")?;
        let flags = flags_text
            .strip_prefix("0x")
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .ok_or_else(|| format!("flags `{flags_text}` are not 0x-hex"))?;
        let rest = head.next().unwrap_or("");

        // Names may contain spaces, so split the tail at the name-carrying keys first:
        // `... p=[PFID] NAME` and, for renames, `... s=[SFID] sp=[SPFID] SRCNAME`.
        let (fields, new_entry, src_entry) = split_entries(rest);
        let mut record = Record {
            index,
            kind,
            time,
            flags,
            target: Fid::ZERO,
            parent: None,
            name: None,
            source: None,
            source_parent: None,
            source_name: None,
            extra: BTreeMap::new(),
        };
        let mut saw_target = false;
        for token in fields.split(' ').filter(|t| !t.is_empty()) {
            let (key, value) = token
                .split_once('=')
                .ok_or_else(|| format!("field `{token}` is not key=value"))?;
            match key {
                "t" => {
                    record.target = Fid::parse(value)?;
                    saw_target = true;
                }
                "" => return Err(format!("field `{token}` has no key")),
                _ => {
                    record.extra.insert(key.to_string(), value.to_string());
                }
            }
        }
        if !saw_target {
            return Err("missing t= (target FID)".into());
        }
        if let Some((fid, name)) = new_entry {
            record.parent = Some(Fid::parse(fid)?);
            record.name = Some(name.to_string()).filter(|n| !n.is_empty());
        }
        if let Some((sfid, spfid, sname)) = src_entry {
            record.source = Some(Fid::parse(sfid)?);
            record.source_parent = Some(Fid::parse(spfid)?);
            record.source_name = Some(sname.to_string()).filter(|n| !n.is_empty());
        }
        let needs_entry = matches!(
            kind,
            RecordType::Create
                | RecordType::Mkdir
                | RecordType::Hardlink
                | RecordType::Softlink
                | RecordType::Mknod
                | RecordType::Unlink
                | RecordType::Rmdir
                | RecordType::Rename
        );
        if needs_entry && record.name.is_none() {
            return Err(format!("{} record lacks p=PARENT NAME", kind.name()));
        }
        if kind == RecordType::Rename && (record.source.is_none() || record.source_name.is_none()) {
            return Err("RENME record lacks s=SOURCE sp=SOURCE_PARENT NAME".into());
        }
        Ok(record)
    }
}

type Entry<'a> = Option<(&'a str, &'a str)>;
type SourceEntry<'a> = Option<(&'a str, &'a str, &'a str)>;

/// Splits the tail of a record into plain fields, the `p=` entry and the `s=`/`sp=` entry.
fn split_entries(rest: &str) -> (&str, Entry<'_>, SourceEntry<'_>) {
    let p_at = find_key(rest, "p=[");
    let Some(p_at) = p_at else {
        return (rest, None, None);
    };
    let fields = &rest[..p_at];
    let after_p = &rest[p_at + 2..];
    let (pfid, tail) = take_fid(after_p);
    let tail = tail.strip_prefix(' ').unwrap_or(tail);
    match find_key(tail, "s=[") {
        None => (fields, Some((pfid, tail)), None),
        Some(s_at) => {
            let name = tail[..s_at].trim_end_matches(' ');
            let (sfid, after_s) = take_fid(&tail[s_at + 2..]);
            let after_s = after_s.trim_start_matches(' ');
            let (spfid, sname) = match after_s.strip_prefix("sp=") {
                Some(sp) => {
                    let (f, n) = take_fid(sp);
                    (f, n.strip_prefix(' ').unwrap_or(n))
                }
                None => ("", after_s),
            };
            (fields, Some((pfid, name)), Some((sfid, spfid, sname)))
        }
    }
}

/// Position of ` KEY` at a token boundary (or at the start).
fn find_key(s: &str, key: &str) -> Option<usize> {
    if s.starts_with(key) {
        return Some(0);
    }
    s.find(&format!(" {key}")).map(|i| i + 1)
}

/// Splits `[...]rest` after the closing bracket.
fn take_fid(s: &str) -> (&str, &str) {
    match s.find(']') {
        Some(end) => (&s[..=end], &s[end + 1..]),
        None => (s, ""),
    }
}

/// A namespace change after coalescing, keyed by FIDs; paths are resolved by the consumer
/// (`lfs fid2path`, or parent FID + name for entries that are gone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A file, link or node appeared at `parent/name`.
    Created {
        fid: Fid,
        parent: Fid,
        name: String,
        directory: bool,
    },
    /// The entry `parent/name` went away.
    Removed {
        fid: Fid,
        parent: Fid,
        name: String,
        directory: bool,
    },
    /// `old_parent/old_name` moved to `parent/name`; `overwritten` is the replaced object.
    Renamed {
        fid: Fid,
        old_parent: Fid,
        old_name: String,
        parent: Fid,
        name: String,
        overwritten: Option<Fid>,
    },
    /// Content or attributes changed (close after write, truncate, mtime, setattr, xattr,
    /// mirror write or resync), or the object moved to another MDT (migrate: new FID, same
    /// name).
    Modified { fid: Fid },
}

/// The outcome of a batch: the changes to apply, and the last record index they cover (clear
/// the changelog up to it only after the changes are committed).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Batch {
    pub changes: Vec<Change>,
    pub last_index: Option<u64>,
}

/// Coalesces records (in changelog order): a create followed by the unlink of the same object
/// cancels; repeated close/mtime/truncate/setattr of one object merge into one `Modified`, as
/// does a modification of an object created in the same batch. Order among the remaining
/// changes is kept, because renames depend on it.
pub fn coalesce(records: &[Record]) -> Batch {
    let mut changes: Vec<Option<Change>> = Vec::new();
    // FID -> index in `changes` of its Created entry (still pending), and of its Modified entry.
    let mut created: BTreeMap<Fid, usize> = BTreeMap::new();
    let mut modified: BTreeMap<Fid, usize> = BTreeMap::new();
    let mut last_index = None;
    for r in records {
        last_index = Some(last_index.map_or(r.index, |l: u64| l.max(r.index)));
        let entry = || {
            (
                r.parent.unwrap_or(Fid::ZERO),
                r.name.clone().unwrap_or_default(),
            )
        };
        match r.kind {
            RecordType::Create
            | RecordType::Mkdir
            | RecordType::Hardlink
            | RecordType::Softlink
            | RecordType::Mknod => {
                let (parent, name) = entry();
                created.insert(r.target, changes.len());
                changes.push(Some(Change::Created {
                    fid: r.target,
                    parent,
                    name,
                    directory: r.kind == RecordType::Mkdir,
                }));
            }
            RecordType::Unlink | RecordType::Rmdir => {
                let (parent, name) = entry();
                let directory = r.kind == RecordType::Rmdir;
                // Cancel only a create of the same entry that nothing else refers to since.
                let cancels = created.get(&r.target).copied().filter(|&i| {
                    matches!(&changes[i], Some(Change::Created { parent: p, name: n, .. }) if *p == parent && *n == name)
                });
                if let Some(i) = cancels {
                    changes[i] = None;
                    created.remove(&r.target);
                    if let Some(m) = modified.remove(&r.target) {
                        changes[m] = None;
                    }
                } else {
                    if let Some(m) = modified.remove(&r.target) {
                        changes[m] = None;
                    }
                    changes.push(Some(Change::Removed {
                        fid: r.target,
                        parent,
                        name,
                        directory,
                    }));
                }
            }
            RecordType::Rename => {
                let (parent, name) = entry();
                let fid = r.source.unwrap_or(Fid::ZERO);
                created.remove(&fid);
                let overwritten = (!r.target.is_zero()).then_some(r.target);
                if let Some(o) = overwritten {
                    if let Some(m) = modified.remove(&o) {
                        changes[m] = None;
                    }
                }
                changes.push(Some(Change::Renamed {
                    fid,
                    old_parent: r.source_parent.unwrap_or(Fid::ZERO),
                    old_name: r.source_name.clone().unwrap_or_default(),
                    parent,
                    name,
                    overwritten,
                }));
            }
            RecordType::Close
            | RecordType::Truncate
            | RecordType::Mtime
            | RecordType::Setattr
            | RecordType::Xattr
            | RecordType::Layout
            | RecordType::FlrWrite
            | RecordType::Resync
            | RecordType::Migrate
                // A file created in this batch is read fresh anyway; otherwise one Modified.
                if !created.contains_key(&r.target) && !modified.contains_key(&r.target) =>
            {
                modified.insert(r.target, changes.len());
                changes.push(Some(Change::Modified { fid: r.target }));
            }
            _ => {}
        }
    }
    Batch {
        changes: changes.into_iter().flatten().collect(),
        last_index,
    }
}

/// The record index at the start of a line, for a line that [`Record::parse`] rejected: a
/// consumer skips the malformed record but may still move its cursor past it.
pub fn leading_index(line: &str) -> Option<u64> {
    line.split(' ').next()?.parse().ok()
}

/// `lfs changelog [--follow] MDT [STARTREC]` (after the program name).
pub fn changelog_args(mdt: &str, follow: bool, startrec: Option<u64>) -> Vec<String> {
    let mut v = vec!["changelog".to_string()];
    if follow {
        v.push("--follow".into());
    }
    v.push(mdt.to_string());
    if let Some(s) = startrec {
        v.push(s.to_string());
    }
    v
}

/// `lfs changelog_clear MDT USER ENDREC`: records up to and including `ENDREC` are no longer
/// needed by `USER`. `None` for an `ENDREC` of 0, which Lustre reads as "up to the current last
/// record", clearing records nobody has processed.
pub fn changelog_clear_args(mdt: &str, user: &str, endrec: u64) -> Option<Vec<String>> {
    (endrec > 0).then(|| {
        vec![
            "changelog_clear".to_string(),
            mdt.to_string(),
            user.to_string(),
            endrec.to_string(),
        ]
    })
}

/// `lfs fid2path --print-fid MOUNT FID...`: every path (hard link) of each FID, one per line,
/// each preceded by its FID.
pub fn fid2path_args(mount: &str, fids: &[Fid]) -> Vec<String> {
    let mut v = vec![
        "fid2path".to_string(),
        "--print-fid".to_string(),
        mount.to_string(),
    ];
    v.extend(fids.iter().map(Fid::to_string));
    v
}

/// Parses `lfs fid2path --print-fid` output: lines `[FID] PATH`. A line without a FID (an
/// `lfs` that ignores `--print-fid`) belongs to `only` when exactly one FID was asked for;
/// other lines are returned in `rejected`.
pub fn parse_fid2path(text: &str, only: Option<Fid>) -> (Vec<(Fid, String)>, Vec<String>) {
    let mut out = Vec::new();
    let mut rejected = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let parsed = line
            .split_once(' ')
            .and_then(|(f, p)| Some((Fid::parse(f).ok()?, p)));
        match (parsed, only) {
            (Some((fid, path)), _) if !path.is_empty() => out.push((fid, path.to_string())),
            (None, Some(fid)) if !line.starts_with('[') => out.push((fid, line.to_string())),
            _ => rejected.push(line.to_string()),
        }
    }
    (out, rejected)
}

#[cfg(test)]
mod tests {
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
}
