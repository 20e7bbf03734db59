//! The per-cluster ledger: an append-only JSON-lines file, each record synced to disk before
//! the call it announces. `intent` is written before a create, `done` after it, `undone`
//! after its undo. Whatever has an intent and no `undone` may exist in libvirt.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// One object the engine creates.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Step {
    /// Host folder shared over 9p (created with its subfolders).
    Shared {
        path: String,
    },
    Network {
        name: String,
    },
    Pool {
        name: String,
    },
    Volume {
        pool: String,
        name: String,
    },
    Domain {
        name: String,
    },
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::Shared { path } => write!(f, "shared folder {path}"),
            Step::Network { name } => write!(f, "network {name}"),
            Step::Pool { name } => write!(f, "pool {name}"),
            Step::Volume { pool, name } => write!(f, "volume {pool}/{name}"),
            Step::Domain { name } => write!(f, "domain {name}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Intent,
    Done,
    /// Done by finding the object already there (ours): a failure of this run leaves it.
    Adopted,
    Failed,
    Undone,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub run: String,
    pub phase: Phase,
    #[serde(flatten)]
    pub step: Step,
}

pub struct Ledger {
    path: PathBuf,
    file: File,
}

/// Ends a torn last line (a crash mid-write) with a newline, so that the next record starts
/// on a line of its own instead of being glued to the fragment and lost with it.
fn end_torn_line(file: &mut File, path: &Path) -> Result<(), Error> {
    use std::io::{Read, Seek, SeekFrom};
    let len = file.metadata().map_err(Error::io("stat", path))?.len();
    if len == 0 {
        return Ok(());
    }
    let mut last = [0u8; 1];
    file.seek(SeekFrom::Start(len - 1))
        .and_then(|_| file.read_exact(&mut last))
        .map_err(Error::io("read", path))?;
    if last[0] != b'\n' {
        file.write_all(b"\n")
            .and_then(|()| file.sync_data())
            .map_err(Error::io("append to", path))?;
    }
    Ok(())
}

impl Ledger {
    /// `<cluster_dir>/ledger.jsonl`.
    pub fn path_in(cluster_dir: &Path) -> PathBuf {
        cluster_dir.join("ledger.jsonl")
    }

    /// Opens (creating) the ledger for appending; the directory entry is synced too, so the
    /// file survives a crash right after creation.
    pub fn open(cluster_dir: &Path) -> Result<Ledger, Error> {
        std::fs::create_dir_all(cluster_dir).map_err(Error::io("create", cluster_dir))?;
        let path = Self::path_in(cluster_dir);
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&path)
            .map_err(Error::io("open ledger", &path))?;
        end_torn_line(&mut file, &path)?;
        File::open(cluster_dir)
            .and_then(|dir| dir.sync_all())
            .map_err(Error::io("sync", cluster_dir))?;
        Ok(Ledger { path, file })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record and syncs it to disk before returning.
    pub fn record(&mut self, run: &str, phase: Phase, step: &Step) -> Result<(), Error> {
        let rec = Record {
            run: run.to_string(),
            phase,
            step: step.clone(),
        };
        // An empty line would announce nothing and the create would go unrecorded.
        let mut line = serde_json::to_string(&rec).map_err(|source| Error::Json {
            action: "serialise a record for",
            path: self.path.clone(),
            source,
        })?;
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .map_err(Error::io("append to", &self.path))?;
        self.file.sync_data().map_err(Error::io("sync", &self.path))
    }

    /// All records. A torn line (a crash mid-write: JSON that ends early) is ignored; any
    /// other damaged line is an error: skipping it could hide an intent, and `down` would
    /// then leave that object behind.
    pub fn read(cluster_dir: &Path) -> Result<Vec<Record>, Error> {
        let path = Self::path_in(cluster_dir);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("open ledger", &path)(e)),
        };
        let mut records = Vec::new();
        for line in BufReader::new(file).lines() {
            let line = line.map_err(Error::io("read", &path))?;
            match serde_json::from_str::<Record>(&line) {
                Ok(r) => records.push(r),
                Err(e) if e.is_eof() => {}
                Err(source) => return Err(Error::Damaged { file: path, source }),
            }
        }
        Ok(records)
    }

    /// What a failed run must undo: the steps it announced and did not merely adopt.
    pub fn made_by(records: &[Record], run: &str) -> Vec<Step> {
        let mine: Vec<Record> = records.iter().filter(|r| r.run == run).cloned().collect();
        let adopted: Vec<&Step> = mine
            .iter()
            .filter(|r| r.phase == Phase::Adopted)
            .map(|r| &r.step)
            .collect();
        Self::outstanding(&mine)
            .into_iter()
            .filter(|s| !adopted.contains(&s))
            .collect()
    }

    /// Steps that may exist: an intent without a later `undone`, in first-intent order.
    pub fn outstanding(records: &[Record]) -> Vec<Step> {
        let mut live: Vec<Step> = Vec::new();
        for r in records {
            match r.phase {
                Phase::Intent => {
                    if !live.contains(&r.step) {
                        live.push(r.step.clone());
                    }
                }
                Phase::Undone => live.retain(|s| s != &r.step),
                Phase::Done | Phase::Adopted | Phase::Failed => {}
            }
        }
        live
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outstanding_tracks_intent_and_undo() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut l = Ledger::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let a = Step::Network {
            name: "c-tcp0".into(),
        };
        let b = Step::Pool { name: "c".into() };
        let c = Step::Domain {
            name: "c-n1".into(),
        };
        for (p, s) in [
            (Phase::Intent, &a),
            (Phase::Done, &a),
            (Phase::Intent, &b),
            (Phase::Done, &b),
            (Phase::Intent, &c),
            (Phase::Undone, &b),
        ] {
            l.record("r1", p, s).unwrap_or_else(|e| panic!("{e}"));
        }
        // A torn line from a crash mid-write.
        std::fs::OpenOptions::new()
            .append(true)
            .open(l.path())
            .and_then(|mut f| f.write_all(b"{\"run\":\"r1\",\"pha"))
            .unwrap_or_else(|e| panic!("{e}"));
        let recs = Ledger::read(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(recs.len(), 6);
        assert_eq!(Ledger::outstanding(&recs), vec![a.clone(), c.clone()]);

        // The next run starts a line of its own after the fragment.
        drop(l);
        let mut l = Ledger::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        l.record("r2", Phase::Undone, &a)
            .unwrap_or_else(|e| panic!("{e}"));
        let recs = Ledger::read(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(Ledger::outstanding(&recs), vec![c]);

        // A damaged line that is not a torn write is an error, never skipped.
        std::fs::OpenOptions::new()
            .append(true)
            .open(l.path())
            .and_then(|mut f| f.write_all(b"{\"run\":1}\n"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            Ledger::read(dir.path()),
            Err(Error::Damaged { .. })
        ));
    }

    #[test]
    fn a_failed_run_undoes_what_it_made_not_what_it_adopted() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut l = Ledger::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let net = Step::Network {
            name: "c-tcp0".into(),
        };
        let dom = Step::Domain {
            name: "c-n1".into(),
        };
        for (run, p, s) in [
            ("r1", Phase::Intent, &net),
            ("r1", Phase::Done, &net),
            ("r2", Phase::Intent, &net),
            ("r2", Phase::Adopted, &net),
            ("r2", Phase::Intent, &dom),
        ] {
            l.record(run, p, s).unwrap_or_else(|e| panic!("{e}"));
        }
        let recs = Ledger::read(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(Ledger::made_by(&recs, "r2"), vec![dom.clone()]);
        assert_eq!(Ledger::outstanding(&recs), vec![net, dom]);
    }
}
