//! `lfs changelog`, `changelog_clear` and `fid2path` command lines, and fid2path output.

use super::record::Fid;

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
