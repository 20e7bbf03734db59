// SPDX-License-Identifier: Apache-2.0
//! Running external tools (`qemu-img`, `lfs`, `lctl`, `mount`) through one seam.
//!
//! [`CommandRunner`] takes an argument vector and returns what the command printed. The
//! library never builds a shell line: [`LocalRunner`] executes directly; a runner that goes
//! through lustrekit's guest exec (a VM's QEMU guest agent) can implement the same trait.
//! [`Recorder`] and [`FaultRunner`] are for tests: the first records argv and answers from a
//! script, the second makes the n-th command fail.

use std::collections::VecDeque;
use std::io;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use thiserror::Error;

/// What a finished command left: its exit code (`None` when killed by a signal) and output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandOutput {
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl CommandOutput {
    pub fn ok(stdout: impl Into<Vec<u8>>) -> Self {
        Self {
            code: Some(0),
            stdout: stdout.into(),
            stderr: Vec::new(),
        }
    }

    pub fn failed(code: i32, stderr: impl Into<Vec<u8>>) -> Self {
        Self {
            code: Some(code),
            stdout: Vec::new(),
            stderr: stderr.into(),
        }
    }

    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

/// Runs one command given as an argument vector (`argv[0]` is the program).
pub trait CommandRunner: Send + Sync {
    /// Runs `argv` to completion. An `Err` means it could not be started at all; a non-zero
    /// exit is an `Ok` output for the caller to judge.
    fn run(&self, argv: &[String]) -> io::Result<CommandOutput>;
}

/// A command that could not run or exited non-zero, with the command line and the last
/// lines of its stderr.
#[derive(Debug, Error)]
pub enum CommandError {
    #[error("could not run `{command}`")]
    Spawn {
        command: String,
        #[source]
        source: io::Error,
    },
    #[error("`{command}` {status}{}", stderr_suffix(.stderr))]
    Failed {
        command: String,
        status: String,
        stderr: String,
    },
}

fn stderr_suffix(stderr: &str) -> String {
    if stderr.is_empty() {
        String::new()
    } else {
        format!(": {stderr}")
    }
}

impl CommandError {
    /// The exit code, when the command ran and exited.
    pub fn code(&self) -> Option<i32> {
        match self {
            Self::Failed { status, .. } => status
                .strip_prefix("exited with code ")
                .and_then(|c| c.parse().ok()),
            Self::Spawn { .. } => None,
        }
    }
}

/// Runs `argv` and turns a failure to start or a non-zero exit into a [`CommandError`].
pub fn run_checked(
    runner: &dyn CommandRunner,
    argv: &[String],
) -> Result<CommandOutput, CommandError> {
    let command = lk_lustre::shell::join(argv);
    let out = runner.run(argv).map_err(|source| CommandError::Spawn {
        command: command.clone(),
        source,
    })?;
    if out.success() {
        return Ok(out);
    }
    let status = match out.code {
        Some(c) => format!("exited with code {c}"),
        None => "was killed by a signal".to_string(),
    };
    Err(CommandError::Failed {
        command,
        status,
        stderr: tail(&out.stderr, 5),
    })
}

/// The last `lines` non-empty lines of `bytes`, joined with "; ".
fn tail(bytes: &[u8], lines: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let all: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    all[all.len().saturating_sub(lines)..].join("; ")
}

/// Runs commands on this host with [`std::process::Command`] (no shell).
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalRunner;

impl CommandRunner for LocalRunner {
    fn run(&self, argv: &[String]) -> io::Result<CommandOutput> {
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty argv"))?;
        let out = Command::new(program).args(args).output()?;
        Ok(CommandOutput {
            code: out.status.code(),
            stdout: out.stdout,
            stderr: out.stderr,
        })
    }
}

/// Test aid: records every argv and answers from a queue of outputs (success with empty
/// output once the queue is empty). Clones share the record.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    calls: Arc<Mutex<Vec<Vec<String>>>>,
    answers: Arc<Mutex<VecDeque<CommandOutput>>>,
}

impl Recorder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues the output of the next unanswered call.
    pub fn answer(&self, out: CommandOutput) {
        if let Ok(mut q) = self.answers.lock() {
            q.push_back(out);
        }
    }

    /// Every argv run so far, in order.
    pub fn calls(&self) -> Vec<Vec<String>> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// Every command run so far as a shell line (for snapshots).
    pub fn lines(&self) -> Vec<String> {
        self.calls()
            .iter()
            .map(|a| lk_lustre::shell::join(a))
            .collect()
    }
}

impl CommandRunner for Recorder {
    fn run(&self, argv: &[String]) -> io::Result<CommandOutput> {
        if let Ok(mut c) = self.calls.lock() {
            c.push(argv.to_vec());
        }
        let next = self.answers.lock().ok().and_then(|mut q| q.pop_front());
        Ok(next.unwrap_or_else(|| CommandOutput::ok(Vec::new())))
    }
}

/// Test aid: passes commands to `inner` and makes the `fail_at`-th one (0-based) fail with
/// exit code 1 without running it. [`FaultRunner::count`] tells how many were asked for, so a
/// test can fail each step in turn.
pub struct FaultRunner<R> {
    inner: R,
    fail_at: Option<usize>,
    seen: AtomicUsize,
}

impl<R: CommandRunner> FaultRunner<R> {
    pub fn new(inner: R, fail_at: Option<usize>) -> Self {
        Self {
            inner,
            fail_at,
            seen: AtomicUsize::new(0),
        }
    }

    pub fn count(&self) -> usize {
        self.seen.load(Ordering::SeqCst)
    }
}

impl<R: CommandRunner> CommandRunner for FaultRunner<R> {
    fn run(&self, argv: &[String]) -> io::Result<CommandOutput> {
        let n = self.seen.fetch_add(1, Ordering::SeqCst);
        if self.fail_at == Some(n) {
            return Ok(CommandOutput::failed(1, "injected failure\n"));
        }
        self.inner.run(argv)
    }
}

impl<T: CommandRunner + ?Sized> CommandRunner for Arc<T> {
    fn run(&self, argv: &[String]) -> io::Result<CommandOutput> {
        (**self).run(argv)
    }
}

/// Builds an argv from string-likes.
pub fn argv<I, S>(words: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    words.into_iter().map(Into::into).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_carries_command_code_and_stderr_tail() {
        let r = Recorder::new();
        r.answer(CommandOutput::failed(2, "line1\n\nline2\n"));
        let err = run_checked(&r, &argv(["lfs", "setstripe", "a b"])).expect_err("fails");
        assert_eq!(
            err.to_string(),
            "`lfs setstripe 'a b'` exited with code 2: line1; line2"
        );
        assert_eq!(err.code(), Some(2));
    }

    #[test]
    fn local_runner_reports_missing_program() {
        let err = run_checked(&LocalRunner, &argv(["/nonexistent/lk-tool"])).expect_err("no such");
        assert!(err
            .to_string()
            .starts_with("could not run `/nonexistent/lk-tool`"));
        assert!(run_checked(&LocalRunner, &[]).is_err());
    }

    #[test]
    fn fault_runner_fails_only_the_chosen_call() {
        let f = FaultRunner::new(Recorder::new(), Some(1));
        assert!(f.run(&argv(["a"])).expect("runs").success());
        assert!(!f.run(&argv(["b"])).expect("runs").success());
        assert!(f.run(&argv(["c"])).expect("runs").success());
        assert_eq!(f.count(), 3);
    }
}
