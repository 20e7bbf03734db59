//! Running one build command with its output on the spinner and its tail kept for errors.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::mpsc;

use indicatif::ProgressBar;

use crate::error::ImageError;

/// Runs a command, showing its latest output line on the spinner; on failure the error holds
/// the last 30 lines of combined output.
pub(crate) fn run(
    step: &'static str,
    mut cmd: Command,
    pb: &ProgressBar,
) -> Result<(), ImageError> {
    let shown = format!("{cmd:?}").replace('"', "");
    // No PATH at all: only the directories added below are searched.
    let path = std::env::var("PATH").unwrap_or_default();
    cmd.env("PATH", format!("{path}:/usr/sbin:/sbin:/usr/bin:/bin"))
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|source| ImageError::Spawn {
        step,
        command: shown.clone(),
        source,
    })?;
    let (tx, rx) = mpsc::channel::<String>();
    let mut readers = Vec::new();
    let out: Option<Box<dyn Read + Send>> = child
        .stdout
        .take()
        .map(|s| Box::new(s) as Box<dyn Read + Send>);
    let err: Option<Box<dyn Read + Send>> = child
        .stderr
        .take()
        .map(|s| Box::new(s) as Box<dyn Read + Send>);
    for stream in [out, err].into_iter().flatten() {
        let tx = tx.clone();
        readers.push(std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        }));
    }
    drop(tx);
    let mut tail: std::collections::VecDeque<String> = std::collections::VecDeque::new();
    for line in rx {
        pb.set_message(line.chars().take(120).collect::<String>());
        if tail.len() == 30 {
            tail.pop_front();
        }
        tail.push_back(line);
    }
    for r in readers {
        let _ = r.join();
    }
    let status = child.wait().map_err(|source| ImageError::Spawn {
        step,
        command: shown.clone(),
        source,
    })?;
    if status.success() {
        return Ok(());
    }
    Err(ImageError::Command {
        step,
        command: shown,
        status: status.to_string(),
        tail: tail.into_iter().collect::<Vec<_>>().join("\n"),
    })
}
