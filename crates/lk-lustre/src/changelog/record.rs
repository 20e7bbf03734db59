//! One changelog line: FIDs, record types and the key-based record parser.

use std::collections::BTreeMap;
use std::fmt;

/// Why a text is not a FID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FidError {
    #[error("`{text}` is not a FID: expected [0xSEQ:0xOID:0xVER]")]
    NotAFid { text: String },
    #[error("FID `{text}` lacks its {what}")]
    MissingPart { text: String, what: &'static str },
    #[error("FID `{text}`: {what} `{part}` is not 0x-hex")]
    NotHex {
        text: String,
        what: &'static str,
        part: String,
    },
    #[error("FID `{text}`: {what} too large")]
    TooLarge { text: String, what: &'static str },
    #[error("FID `{text}` has more than three parts")]
    TooManyParts { text: String },
}

/// Why a line is not a changelog record (the consumer logs it and skips the record).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("missing {0}")]
    Missing(&'static str),
    #[error("record index is not a number")]
    BadIndex,
    #[error("record type `{0}` lacks its number")]
    TypeNumber(String),
    #[error("unknown record type `{0}`")]
    UnknownType(String),
    #[error("flags `{0}` are not 0x-hex")]
    BadFlags(String),
    #[error("field `{0}` is not key=value")]
    NotKeyValue(String),
    #[error("field `{0}` has no key")]
    NoKey(String),
    #[error("missing t= (target FID)")]
    MissingTarget,
    #[error("{0} record lacks p=PARENT NAME")]
    MissingEntry(&'static str),
    #[error("RENME record lacks s=SOURCE sp=SOURCE_PARENT NAME")]
    MissingSource,
    #[error(transparent)]
    Fid(#[from] FidError),
}

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

    pub fn parse(text: &str) -> Result<Fid, FidError> {
        let inner = text
            .strip_prefix('[')
            .and_then(|t| t.strip_suffix(']'))
            .ok_or_else(|| FidError::NotAFid { text: text.into() })?;
        let mut parts = inner.split(':');
        let mut next = |what: &'static str| -> Result<u64, FidError> {
            let p = parts.next().ok_or_else(|| FidError::MissingPart {
                text: text.into(),
                what,
            })?;
            let not_hex = || FidError::NotHex {
                text: text.into(),
                what,
                part: p.into(),
            };
            // printf's %#llx prints zero as a bare `0`: `[0:0x0:0x0]` is a valid FID.
            let hex = match p {
                "0" => "0",
                _ => p.strip_prefix("0x").ok_or_else(not_hex)?,
            };
            u64::from_str_radix(hex, 16).map_err(|_| not_hex())
        };
        let too_large = |what| FidError::TooLarge {
            text: text.into(),
            what,
        };
        let seq = next("sequence")?;
        let oid = u32::try_from(next("object id")?).map_err(|_| too_large("object id"))?;
        let ver = u32::try_from(next("version")?).map_err(|_| too_large("version"))?;
        if parts.next().is_some() {
            return Err(FidError::TooManyParts { text: text.into() });
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
    pub fn parse(text: &str) -> Result<RecordType, RecordError> {
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (num, name) = text.split_at(split);
        let num: u8 = num
            .parse()
            .map_err(|_| RecordError::TypeNumber(text.into()))?;
        Self::ALL
            .iter()
            .find(|(n, s, _)| *n == num && *s == name)
            .map(|(_, _, t)| *t)
            .ok_or_else(|| RecordError::UnknownType(text.into()))
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
    pub fn parse(line: &str) -> Result<Record, RecordError> {
        let line = line.trim_end_matches(['\n', '\r']);
        let mut head = line.splitn(6, ' ');
        let mut field = |what: &'static str| {
            head.next()
                .filter(|s| !s.is_empty())
                .ok_or(RecordError::Missing(what))
        };
        let index: u64 = field("record index")?
            .parse()
            .map_err(|_| RecordError::BadIndex)?;
        let kind = RecordType::parse(field("record type")?)?;
        let time = format!("{} {}", field("time")?, field("date")?);
        let flags_text = field("flags")?;
        let flags = flags_text
            .strip_prefix("0x")
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .ok_or_else(|| RecordError::BadFlags(flags_text.into()))?;
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
                .ok_or_else(|| RecordError::NotKeyValue(token.into()))?;
            match key {
                "t" => {
                    record.target = Fid::parse(value)?;
                    saw_target = true;
                }
                "" => return Err(RecordError::NoKey(token.into())),
                _ => {
                    record.extra.insert(key.to_string(), value.to_string());
                }
            }
        }
        if !saw_target {
            return Err(RecordError::MissingTarget);
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
            return Err(RecordError::MissingEntry(kind.name()));
        }
        if kind == RecordType::Rename && (record.source.is_none() || record.source_name.is_none()) {
            return Err(RecordError::MissingSource);
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
