//! Reading a topology file and turning model errors into compiler-style lines
//! (`FILE:LINE:COL: FIELD: MESSAGE`) that editors can jump to.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use lk_model::{ModelError, Topology};

/// The topology file is unusable; carries every problem found.
#[derive(Debug)]
pub struct InvalidTopology {
    pub file: PathBuf,
    pub error: ModelError,
}

impl InvalidTopology {
    pub fn lines(&self) -> Vec<String> {
        let file = self.file.display();
        self.error
            .diagnostics()
            .iter()
            .map(|d| {
                let at = match (d.line, d.column) {
                    (Some(l), Some(c)) => format!("{file}:{l}:{c}"),
                    _ => file.to_string(),
                };
                if d.path.is_empty() {
                    format!("{at}: {}", d.message)
                } else {
                    format!("{at}: {}: {}", d.path, d.message)
                }
            })
            .collect()
    }
}

impl fmt::Display for InvalidTopology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.error {
            ModelError::Malformed(_) => write!(
                f,
                "{} is not a valid LustreCluster document",
                self.file.display()
            ),
            ModelError::Invalid(_) => write!(f, "{}: {}", self.file.display(), self.error),
        }
    }
}

impl std::error::Error for InvalidTopology {}

/// Reads and validates a topology file (`-` reads standard input).
pub fn load(path: &Path) -> anyhow::Result<Topology> {
    let bytes = if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)
            .context("cannot read standard input")?;
        buf
    } else {
        std::fs::read(path)
            .with_context(|| format!("cannot read topology file {}", path.display()))?
    };
    lk_model::load(&bytes).map_err(|error| {
        InvalidTopology {
            file: path.to_path_buf(),
            error,
        }
        .into()
    })
}
