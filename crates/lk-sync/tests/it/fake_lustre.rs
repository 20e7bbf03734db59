// SPDX-License-Identifier: Apache-2.0
//! A stand-in Lustre for the changelog tests: a real tree under a fake mount, the FID of
//! every entry, and the changelog records a Lustre MDT would write for each change, printed
//! by `tests/fake-lfs.sh` (`lfs changelog`, `fid2path`, `changelog_clear`) from files it
//! reads.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use lk_gateway::index::Index;
use lk_lustre::changelog::Fid;

use crate::common::{index_listing, tree_listing, write};

pub(crate) const MDT: &str = "lustre-MDT0000";
const OPTIONAL: &str = " j=cp.500 ef=0xf u=500:500 nid=10.128.11.159@tcp";

pub(crate) struct Lustre {
    _dir: tempfile::TempDir,
    pub(crate) mount: PathBuf,
    pub(crate) root: PathBuf,
    pub(crate) fake: PathBuf,
    /// FID -> paths under the mount (several for hard links).
    pub(crate) fids: BTreeMap<Fid, Vec<String>>,
    pub(crate) records: BTreeMap<String, Vec<String>>,
    pub(crate) next_oid: u32,
    pub(crate) next_index: u64,
    pub(crate) optional_fields: bool,
}

fn fake_lfs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fake-lfs.sh")
}

impl Lustre {
    pub(crate) fn new(optional_fields: bool) -> Lustre {
        let dir = tempfile::tempdir().expect("tempdir");
        let mount = dir.path().join("mnt");
        let fake = dir.path().join("fake");
        std::fs::create_dir_all(&fake).expect("mkdir");
        let mut l = Lustre {
            root: mount.join("swift"),
            mount,
            fake,
            fids: BTreeMap::new(),
            records: BTreeMap::new(),
            next_oid: 1,
            next_index: 1,
            optional_fields,
            _dir: dir,
        };
        for d in [
            "",
            "swift",
            "swift/acct",
            "swift/acct/cont",
            "swift/acct/other",
        ] {
            std::fs::create_dir_all(l.mount.join(d)).expect("mkdir");
            let f = l.new_fid();
            l.fids.insert(f, vec![d.to_string()]);
        }
        l
    }

    pub(crate) fn new_fid(&mut self) -> Fid {
        self.next_oid += 1;
        Fid {
            seq: 0x200000402,
            oid: self.next_oid,
            ver: 0,
        }
    }

    /// FID of a path under the mount.
    pub(crate) fn fid(&self, path: &str) -> Fid {
        *self
            .fids
            .iter()
            .find(|(_, ps)| ps.iter().any(|p| p == path))
            .unwrap_or_else(|| panic!("no FID for {path}"))
            .0
    }

    pub(crate) fn parent(path: &str) -> (&str, &str) {
        path.rsplit_once('/').unwrap_or(("", path))
    }

    pub(crate) fn record_on(
        &mut self,
        mdt: &str,
        kind: &str,
        flags: u32,
        t: Fid,
        tail: &str,
    ) -> u64 {
        let i = self.next_index;
        self.next_index += 1;
        let opt = if self.optional_fields { OPTIONAL } else { "" };
        let tail = if tail.is_empty() {
            String::new()
        } else {
            format!(" {tail}")
        };
        self.records
            .entry(mdt.to_string())
            .or_default()
            .push(format!(
                "{i} {kind} 15:15:41.305116815 2018.01.09 {flags:#x} t={t}{opt}{tail}"
            ));
        i
    }

    pub(crate) fn record(&mut self, kind: &str, flags: u32, t: Fid, tail: &str) -> u64 {
        self.record_on(MDT, kind, flags, t, tail)
    }

    pub(crate) fn entry(&self, path: &str) -> String {
        let (p, n) = Self::parent(path);
        format!("p={} {n}", self.fid(p))
    }

    pub(crate) fn creat(&mut self, path: &str, content: &str) -> Fid {
        write(&self.mount.join(path), content.as_bytes());
        let f = self.new_fid();
        self.fids.insert(f, vec![path.to_string()]);
        let e = self.entry(path);
        self.record("01CREAT", 0, f, &e);
        self.record("11CLOSE", 0x42, f, "");
        f
    }

    pub(crate) fn mkdir(&mut self, path: &str) -> Fid {
        std::fs::create_dir(self.mount.join(path)).expect("mkdir");
        let f = self.new_fid();
        self.fids.insert(f, vec![path.to_string()]);
        let e = self.entry(path);
        self.record("02MKDIR", 0, f, &e);
        f
    }

    pub(crate) fn hlink(&mut self, existing: &str, path: &str) {
        std::fs::hard_link(self.mount.join(existing), self.mount.join(path)).expect("link");
        let f = self.fid(existing);
        self.fids.entry(f).or_default().push(path.to_string());
        let e = self.entry(path);
        self.record("03HLINK", 0, f, &e);
    }

    pub(crate) fn slink(&mut self, target: &str, path: &str) {
        std::os::unix::fs::symlink(target, self.mount.join(path)).expect("symlink");
        let f = self.new_fid();
        self.fids.insert(f, vec![path.to_string()]);
        let e = self.entry(path);
        self.record("04SLINK", 0, f, &e);
    }

    pub(crate) fn mknod(&mut self, path: &str) {
        let ok = Command::new("mkfifo")
            .arg(self.mount.join(path))
            .status()
            .expect("mkfifo")
            .success();
        assert!(ok);
        let f = self.new_fid();
        self.fids.insert(f, vec![path.to_string()]);
        let e = self.entry(path);
        self.record("05MKNOD", 0, f, &e);
    }

    pub(crate) fn unlink(&mut self, path: &str) {
        std::fs::remove_file(self.mount.join(path)).expect("unlink");
        let f = self.fid(path);
        let e = self.entry(path);
        let paths = self.fids.get_mut(&f).expect("known");
        paths.retain(|p| p != path);
        let last = paths.is_empty();
        if last {
            self.fids.remove(&f);
        }
        self.record("06UNLNK", u32::from(last), f, &e);
    }

    pub(crate) fn rmdir(&mut self, path: &str) {
        std::fs::remove_dir(self.mount.join(path)).expect("rmdir");
        let f = self.fid(path);
        let e = self.entry(path);
        self.fids.remove(&f);
        self.record("07RMDIR", 1, f, &e);
    }

    pub(crate) fn rename(&mut self, from: &str, to: &str) {
        let overwritten = self
            .fids
            .iter()
            .find(|(_, ps)| ps.iter().any(|p| p == to))
            .map(|(f, _)| *f);
        let src = self.fid(from);
        let (sp, sn) = Self::parent(from);
        let tail = format!("{} s={src} sp={} {sn}", self.entry(to), self.fid(sp));
        std::fs::rename(self.mount.join(from), self.mount.join(to)).expect("rename");
        if let Some(o) = overwritten {
            self.fids.remove(&o);
        }
        for ps in self.fids.values_mut() {
            for p in ps.iter_mut() {
                if p == from {
                    *p = to.to_string();
                } else if let Some(rest) = p.strip_prefix(&format!("{from}/")) {
                    *p = format!("{to}/{rest}");
                }
            }
        }
        self.record(
            "08RENME",
            u32::from(overwritten.is_some()),
            overwritten.unwrap_or(Fid::ZERO),
            &tail,
        );
    }

    pub(crate) fn fids_file(&self) -> String {
        let mut s = String::new();
        for (f, ps) in &self.fids {
            for p in ps {
                s.push_str(&format!("{f} {p}\n"));
            }
        }
        s
    }

    pub(crate) fn save(&self) {
        std::fs::write(self.fake.join("fids"), self.fids_file()).expect("fids");
        for (mdt, lines) in &self.records {
            let mut text = lines.join("\n");
            text.push('\n');
            std::fs::write(self.fake.join(format!("{mdt}.records")), text).expect("records");
        }
    }

    pub(crate) fn args(&self, mdts: &[&str]) -> Vec<String> {
        self.args_as(Some("cl1"), mdts)
    }

    /// The arguments with `--changelog-user` `default_user` (none: not given) and `--mdt`
    /// values as given (`MDT` or `MDT=USER`).
    pub(crate) fn args_as(&self, default_user: Option<&str>, mdts: &[&str]) -> Vec<String> {
        let mut a = vec![
            "--backend".to_string(),
            "changelog".into(),
            "--root".into(),
            self.root.display().to_string(),
            "--mount".into(),
            self.mount.display().to_string(),
            "--lfs".into(),
            fake_lfs().display().to_string(),
            "--no-etag".into(),
        ];
        if let Some(u) = default_user {
            a.extend(["--changelog-user".to_string(), u.to_string()]);
        }
        for m in mdts {
            a.push("--mdt".into());
            a.push(m.to_string());
        }
        a
    }

    /// Runs `lk-sync --once` over what was recorded; returns (success, stderr).
    pub(crate) fn sync_once(&self) -> (bool, String) {
        let mdts: Vec<&str> = self.records.keys().map(String::as_str).collect();
        self.sync_once_with(self.args(&mdts))
    }

    /// Runs `lk-sync ARGS --once` over what was recorded; returns (success, stderr).
    pub(crate) fn sync_once_with(&self, args: Vec<String>) -> (bool, String) {
        self.save();
        let o = Command::new(crate::common::bin())
            .args(args)
            .arg("--once")
            .env("FAKE_LFS_DIR", &self.fake)
            .output()
            .expect("run lk-sync");
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    }

    pub(crate) fn sync_ok(&self) -> String {
        let (ok, err) = self.sync_once();
        assert!(ok, "lk-sync failed:\n{err}");
        err
    }

    pub(crate) fn state(&self) -> PathBuf {
        self.root.join(".lustrekit-gateway")
    }

    pub(crate) fn assert_converged(&self) {
        assert_eq!(tree_listing(&self.root), index_listing(&self.state()));
    }

    pub(crate) fn index(&self) -> Index {
        Index::open(&self.state().join("index.sqlite3")).expect("index")
    }

    pub(crate) fn cursor(&self, mdt: &str) -> Option<String> {
        self.index()
            .cursor(&format!("changelog:{mdt}"))
            .expect("cursor")
    }

    pub(crate) fn clears(&self) -> Vec<String> {
        std::fs::read_to_string(self.fake.join("clears"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Waits (at most a minute) until `mdt`'s changelog is cleared up to record `last`:
    /// records may come in more than one batch, each cleared when committed, so this waits
    /// for the clear of the last one, not for the first clear. `log` is shown on failure.
    pub(crate) fn wait_cleared(&self, mdt: &str, last: u64, log: &dyn Fn() -> String) {
        let done = format!("{mdt} cl1 {last}");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !self.clears().contains(&done) {
            assert!(
                std::time::Instant::now() < deadline,
                "no clear up to {last} ({:?}):\n{}",
                self.clears(),
                log()
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    /// The clears of `mdt`: never 0, never going back, the last one at `last` (batches may
    /// split differently from run to run, and each start clears up to the cursor again).
    pub(crate) fn assert_clears(&self, mdt: &str, last: u64) -> Vec<u64> {
        self.assert_clears_as(mdt, "cl1", last)
    }

    /// As [`Lustre::assert_clears`], every clear of `mdt` being for `user`.
    pub(crate) fn assert_clears_as(&self, mdt: &str, user: &str, last: u64) -> Vec<u64> {
        let clears = self.clears();
        let ends: Vec<u64> = clears
            .iter()
            .filter_map(|c| c.strip_prefix(&format!("{mdt} ")))
            .map(|rest| {
                let (u, e) = rest.split_once(' ').expect("USER ENDREC");
                assert_eq!(u, user, "a clear of {mdt} for another user: {clears:?}");
                e.parse().expect("number")
            })
            .collect();
        assert!(!ends.is_empty(), "no clear of {mdt}");
        assert!(ends.iter().all(|e| *e > 0), "{ends:?}");
        assert!(ends.windows(2).all(|w| w[0] <= w[1]), "{ends:?}");
        assert_eq!(ends.last(), Some(&last), "{ends:?}");
        ends
    }

    pub(crate) fn names(&self) -> Vec<String> {
        index_listing(&self.state())
            .into_keys()
            .map(|(a, c, n)| format!("{a}/{c}/{n}"))
            .collect()
    }
}
