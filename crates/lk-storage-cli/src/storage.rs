//! What `lustrekit volume` and `lustrekit share` share: `--root` (a Lustre client mount, or a
//! plain directory standing in for one, which a note on stderr points out), `--json`, size
//! parsing, and JSON/text printing.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use lk_volume::lustre::Backend;
use serde::Serialize;

#[derive(Debug, clap::Args)]
pub struct RootArgs {
    /// The storage root: a directory on a Lustre client mount, or any directory to use the
    /// stand-in (which records striping, quotas and nodemaps without enforcing them).
    #[arg(long, global = true, env = "LUSTREKIT_ROOT", value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Print JSON on stdout.
    #[arg(long, global = true)]
    pub json: bool,
}

impl RootArgs {
    /// Opens the root and says on stderr when it is the stand-in.
    pub fn open(&self) -> anyhow::Result<lk_volume::Root> {
        let dir = self
            .root
            .as_ref()
            .context("--root DIR is required (or LUSTREKIT_ROOT): the Lustre mount, or a directory standing in for one")?;
        let root = lk_volume::open(dir)
            .with_context(|| format!("cannot open storage root {}", dir.display()))?;
        if root.backend() == Backend::StandIn {
            let mut err = anstream::stderr();
            let _ = writeln!(
                err,
                "lustrekit: note: {} is not on Lustre: using the directory stand-in (striping, quotas and nodemaps are recorded in {}, not enforced)",
                root.path.display(),
                Path::new(lk_volume::STATE_DIR).join("standin-lustre.json").display()
            );
        }
        Ok(root)
    }
}

/// clap value parser for sizes (`10GiB`, `512M`, `4096`).
pub fn parse_size(s: &str) -> Result<u64, String> {
    lk_volume::size::parse(s).map_err(|e| e.to_string())
}

/// Prints `value` as pretty JSON, or `text` as it is.
pub fn print<T: Serialize>(
    json: bool,
    value: &T,
    text: impl FnOnce() -> String,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, value)?;
        writeln!(out)?;
    } else {
        out.write_all(text().as_bytes())?;
    }
    Ok(())
}

/// A one-line JSON answer for commands that change something: `{"ok": true, ...}`.
#[derive(Debug, Serialize)]
pub struct Done<'a> {
    pub ok: bool,
    pub message: &'a str,
}

pub fn done(json: bool, message: &str) -> anyhow::Result<()> {
    print(json, &Done { ok: true, message }, || format!("{message}\n"))
}

pub fn human(bytes: u64) -> String {
    lk_volume::size::human(bytes)
}
