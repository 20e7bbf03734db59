//! Runs the per-node scripts the operator sends (`POST /v1/phases/<name>`), one at a time, and
//! remembers each phase's last outcome in `<state dir>/phases.json` so a restarted agent still
//! knows what is done. Scripts are kept in `<state dir>/scripts/`, output in `<state dir>/logs/`.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use crate::report::{PhaseRecord, PhaseState};
use crate::AgentError;

/// Bytes of output kept in a phase record.
const TAIL_BYTES: usize = 2048;

/// How a script is executed: bash for real, a stand-in in tests.
pub trait Executor: Send + Sync + 'static {
    /// Runs `script` with its output appended to `log`; returns the exit code (None when
    /// killed by a signal) and the end of the output.
    fn execute(&self, phase: &str, script: &Path, log: &Path) -> (Option<i32>, String);
}

/// Runs scripts with `bash`.
pub struct Bash;

impl Executor for Bash {
    fn execute(&self, _phase: &str, script: &Path, log: &Path) -> (Option<i32>, String) {
        let file = match std::fs::File::create(log) {
            Ok(f) => f,
            Err(e) => return (None, format!("cannot create {}: {e}", log.display())),
        };
        let err = match file.try_clone() {
            Ok(f) => f,
            Err(e) => return (None, format!("cannot open {}: {e}", log.display())),
        };
        let status = Command::new("bash")
            .arg(script)
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err)
            .status();
        let tail = tail_of(log);
        match status {
            Ok(s) => (s.code(), tail),
            Err(e) => (None, format!("cannot run bash: {e}")),
        }
    }
}

fn tail_of(path: &Path) -> String {
    let mut buf = Vec::new();
    if let Ok(mut f) = std::fs::File::open(path) {
        let _ = f.read_to_end(&mut buf);
    }
    let start = buf.len().saturating_sub(TAIL_BYTES);
    String::from_utf8_lossy(&buf[start..]).into_owned()
}

pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub fn digest(script: &str) -> String {
    let mut h = Sha256::new();
    h.update(script.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

pub fn valid_phase_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

pub struct Runner {
    dir: PathBuf,
    records: Mutex<BTreeMap<String, PhaseRecord>>,
    /// Held while a script runs: one script at a time per node.
    busy: Arc<Mutex<()>>,
    exec: Arc<dyn Executor>,
}

impl Runner {
    /// Opens the state directory. A phase recorded as running belonged to an agent that died:
    /// it is marked failed.
    pub fn open(dir: &Path, exec: Arc<dyn Executor>) -> Result<Arc<Self>, AgentError> {
        let io = |source| AgentError::Io {
            path: dir.to_path_buf(),
            source,
        };
        for sub in ["scripts", "logs"] {
            std::fs::create_dir_all(dir.join(sub)).map_err(io)?;
        }
        // No file is a fresh agent; an unreadable or corrupt one is an error, since reading
        // it as "no phase ever ran" would run every phase again.
        let file = dir.join("phases.json");
        let mut records: BTreeMap<String, PhaseRecord> = match std::fs::read(&file) {
            Ok(b) => serde_json::from_slice(&b)
                .map_err(|source| AgentError::PhasesFile { path: file, source })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(source) => return Err(AgentError::Io { path: file, source }),
        };
        for r in records.values_mut() {
            if r.state == PhaseState::Running {
                r.state = PhaseState::Failed;
                r.output_tail = "the agent restarted while this phase ran".into();
            }
        }
        Ok(Arc::new(Runner {
            dir: dir.to_path_buf(),
            records: Mutex::new(records),
            busy: Arc::new(Mutex::new(())),
            exec,
        }))
    }

    pub fn records(&self) -> BTreeMap<String, PhaseRecord> {
        // A poisoned lock still holds the last records written; they are not lost.
        match self.records.lock() {
            Ok(r) => r.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn save(&self, records: &BTreeMap<String, PhaseRecord>) {
        let path = self.dir.join("phases.json");
        let tmp = self.dir.join("phases.json.tmp");
        if let Ok(bytes) = serde_json::to_vec_pretty(records) {
            if std::fs::write(&tmp, bytes).is_ok() {
                let _ = std::fs::rename(&tmp, &path);
            }
        }
    }

    /// Starts `name` with `script` unless the same script already succeeded or is running
    /// (then the existing record is returned). `force` runs it again regardless.
    pub fn start(
        self: &Arc<Self>,
        name: &str,
        script: &str,
        force: bool,
    ) -> Result<PhaseRecord, AgentError> {
        if !valid_phase_name(name) {
            return Err(AgentError::PhaseName(name.to_string()));
        }
        let digest = digest(script);
        let mut records = self
            .records
            .lock()
            .map_err(|_| AgentError::PhaseName("<poisoned>".into()))?;
        if let Some(r) = records.get(name) {
            let same = r.digest == digest;
            if r.state == PhaseState::Running
                || (same && r.state == PhaseState::Succeeded && !force)
            {
                return Ok(r.clone());
            }
        }
        let path = self.dir.join("scripts").join(format!("{name}.sh"));
        std::fs::write(&path, script).map_err(|source| AgentError::Io {
            path: path.clone(),
            source,
        })?;
        let record = PhaseRecord {
            digest,
            state: PhaseState::Running,
            exit_code: None,
            output_tail: String::new(),
            started_unix: now_unix(),
            finished_unix: None,
        };
        records.insert(name.to_string(), record.clone());
        self.save(&records);
        drop(records);
        let this = Arc::clone(self);
        let name = name.to_string();
        tokio::task::spawn_blocking(move || {
            let log = this.dir.join("logs").join(format!("{name}.log"));
            let (code, tail) = {
                let _one_at_a_time = this.busy.lock();
                this.exec.execute(&name, &path, &log)
            };
            if let Ok(mut records) = this.records.lock() {
                if let Some(r) = records.get_mut(&name) {
                    r.state = if code == Some(0) {
                        PhaseState::Succeeded
                    } else {
                        PhaseState::Failed
                    };
                    r.exit_code = code;
                    r.output_tail = tail;
                    r.finished_unix = Some(now_unix());
                }
                this.save(&records);
            }
        });
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn wait_done(r: &Runner, name: &str) -> PhaseRecord {
        for _ in 0..200 {
            if let Some(rec) = r.records().get(name) {
                if rec.state != PhaseState::Running {
                    return rec.clone();
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("{name} did not finish");
    }

    #[tokio::test]
    async fn runs_scripts_and_remembers() {
        let dir = tempfile::tempdir().unwrap();
        let r = Runner::open(dir.path(), Arc::new(Bash)).unwrap();
        r.start("lnet", "echo hello; exit 0\n", false).unwrap();
        let rec = wait_done(&r, "lnet").await;
        assert_eq!(rec.state, PhaseState::Succeeded);
        assert!(rec.output_tail.contains("hello"));
        // Same script: not run again.
        let again = r.start("lnet", "echo hello; exit 0\n", false).unwrap();
        assert_eq!(again, rec);
        r.start("format", "echo oops >&2; exit 3\n", false).unwrap();
        let rec = wait_done(&r, "format").await;
        assert_eq!((rec.state, rec.exit_code), (PhaseState::Failed, Some(3)));
        assert!(rec.output_tail.contains("oops"));
        // A reopened runner remembers.
        let r2 = Runner::open(dir.path(), Arc::new(Bash)).unwrap();
        assert_eq!(r2.records().len(), 2);
        assert!(r.start("Bad Name", "", false).is_err());
    }

    #[test]
    fn corrupt_phase_records_are_an_error_not_a_fresh_start() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("phases.json"), "{not json").unwrap();
        let err = Runner::open(dir.path(), Arc::new(Bash)).err();
        assert!(
            matches!(err, Some(AgentError::PhasesFile { .. })),
            "{err:?}"
        );
    }
}
