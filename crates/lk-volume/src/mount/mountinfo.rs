// SPDX-License-Identifier: Apache-2.0
//! `/proc/self/mountinfo` (proc(5)): one mount per line,
//! `ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTIONS`,
//! with space, tab, newline and backslash written as octal escapes (`\040`).

use std::path::{Path, PathBuf};

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("mountinfo line {line}: {reason}")]
pub struct ParseError {
    pub line: usize,
    pub reason: String,
}

/// One mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    pub id: u32,
    pub parent: u32,
    /// The directory of the filesystem mounted here.
    pub root: String,
    pub mount_point: PathBuf,
    pub options: String,
    pub fstype: String,
    pub source: String,
    pub super_options: String,
}

/// Parses the whole table; any malformed line is an error naming it.
pub fn parse(text: &str) -> Result<Vec<MountEntry>, ParseError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            parse_line(l).map_err(|reason| ParseError {
                line: i + 1,
                reason,
            })
        })
        .collect()
}

fn parse_line(line: &str) -> Result<MountEntry, String> {
    let fields: Vec<&str> = line.split(' ').collect();
    let sep = fields
        .iter()
        .position(|f| *f == "-")
        .ok_or("no ' - ' separator")?;
    if sep < 6 {
        return Err(format!(
            "{sep} fields before the separator, at least 6 expected"
        ));
    }
    let after = &fields[sep + 1..];
    if after.len() < 3 {
        return Err(format!(
            "{} fields after the separator, 3 expected",
            after.len()
        ));
    }
    let num = |s: &str, what: &str| {
        s.parse::<u32>()
            .map_err(|_| format!("{what} {s:?} is not a number"))
    };
    Ok(MountEntry {
        id: num(fields[0], "mount ID")?,
        parent: num(fields[1], "parent ID")?,
        root: unescape(fields[3]),
        mount_point: PathBuf::from(unescape(fields[4])),
        options: fields[5].to_string(),
        fstype: unescape(after[0]),
        source: unescape(after[1]),
        super_options: after[2].to_string(),
    })
}

/// Decodes `\NNN` octal escapes (anything else is kept as it is).
fn unescape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let digits = bytes.get(i + 1..i + 4);
        if bytes[i] == b'\\' {
            if let Some(d) = digits.filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b))) {
                let v = (u32::from(d[0] - b'0') << 6)
                    | (u32::from(d[1] - b'0') << 3)
                    | u32::from(d[2] - b'0');
                if let Ok(v) = u8::try_from(v) {
                    out.push(v);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The mount at `mount_point` (the last one, if mounts are stacked).
pub fn at<'a>(entries: &'a [MountEntry], mount_point: &Path) -> Option<&'a MountEntry> {
    entries.iter().rev().find(|e| e.mount_point == mount_point)
}

/// The Lustre client mount holding `path` (the longest mount point that is a prefix) and
/// the directory of the filesystem mounted there (`/sub` for `mgs@tcp:/fs/sub`, empty for
/// the whole filesystem).
pub fn lustre_mount_of(text: &str, path: &Path) -> Option<(PathBuf, String)> {
    let entries = parse(text).ok()?;
    let best = entries
        .iter()
        .filter(|e| e.fstype == "lustre" && path.starts_with(&e.mount_point))
        .max_by_key(|e| e.mount_point.components().count())?;
    let prefix = source_subdir(&best.source).unwrap_or_default();
    Some((best.mount_point.clone(), prefix))
}

/// `/sub/dir` of `NIDS:/fsname/sub/dir`; empty for `NIDS:/fsname`.
pub fn source_subdir(source: &str) -> Option<String> {
    let (_, path) = source.rsplit_once(":/")?;
    Some(match path.split_once('/') {
        Some((_, sub)) if !sub.is_empty() => format!("/{}", sub.trim_end_matches('/')),
        _ => String::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Written in proc(5)'s format with Lustre client lines as `mount.lustre` leaves them (not
    /// a capture: the host cannot mount Lustre; replace with one from a client VM when at hand).
    const RECORDED: &str = "\
22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
23 1 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
25 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw,errors=remount-ro
71 25 0:45 / /mnt/lustre rw,relatime shared:40 - lustre 192.168.122.10@tcp:/lustre rw,checksum,flock,nouser_xattr,lruresize,lazystatfs,nouser_fid2path,verbose,noencrypt,statfs_project
72 25 0:46 / /mnt/with\\040space rw,relatime - lustre 10.0.0.1@tcp:10.0.0.2@tcp:/fs2/projects/a rw,flock
";

    #[test]
    fn parses_recorded_table() {
        let e = parse(RECORDED).expect("parses");
        assert_eq!(e.len(), 5);
        let l = at(&e, Path::new("/mnt/lustre")).expect("lustre");
        assert_eq!(l.fstype, "lustre");
        assert_eq!(l.source, "192.168.122.10@tcp:/lustre");
        assert_eq!(l.parent, 25);
        assert!(at(&e, Path::new("/mnt/with space")).is_some());
    }

    #[test]
    fn finds_the_lustre_mount_and_its_subdirectory() {
        let (m, p) =
            lustre_mount_of(RECORDED, Path::new("/mnt/lustre/cloud/shares")).expect("found");
        assert_eq!((m.as_path(), p.as_str()), (Path::new("/mnt/lustre"), ""));
        let (m, p) = lustre_mount_of(RECORDED, Path::new("/mnt/with space/x")).expect("found");
        assert_eq!(
            (m.as_path(), p.as_str()),
            (Path::new("/mnt/with space"), "/projects/a")
        );
        assert!(lustre_mount_of(RECORDED, Path::new("/srv")).is_none());
    }

    #[test]
    fn malformed_lines_name_themselves() {
        let err = parse("1 2 3:4 / /x rw\n").expect_err("no separator");
        assert_eq!(err.line, 1);
        assert!(parse("x 2 3:4 / /x rw - ext4 /dev/a rw").is_err());
        assert!(parse("1 2 3:4 / /x rw - ext4").is_err());
        assert!(parse("1 2 - ext4 /dev/a rw").is_err());
        assert_eq!(unescape("a\\134b\\011"), "a\\b\t");
        assert_eq!(unescape("trailing\\04"), "trailing\\04");
    }
}
